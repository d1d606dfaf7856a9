package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/store"
	"github.com/twofold-id/twofold/internal/store/storetest"
)

// newTestStore opens and migrates a fresh database file in t's temp dir.
func newTestStore(t testing.TB) *Store { return newTestStoreAt(t, nil) }

// newTestStoreAt is newTestStore with the clock now (nil: the wall clock).
func newTestStoreAt(t testing.TB, now func() time.Time) *Store {
	t.Helper()
	s, err := OpenWith(context.Background(), filepath.Join(t.TempDir(), "twofold.db"), Options{Now: now})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		s.Close()
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.RunTests(t, func(t *testing.T) store.Store { return newTestStore(t) })
}

func TestTheStoreKeepsItsOwnClock(t *testing.T) {
	storetest.RunClockTests(t, func(t *testing.T, now func() time.Time) store.Store { return newTestStoreAt(t, now) })
}

func TestReopenSeesCommittedData(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "twofold.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	root, err := s.CreateOrg(ctx, store.Org{Slug: "root", Name: "Root"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateOrg(ctx, store.Org{ID: root.ID, Name: "Renamed", Policy: store.OrgPolicy{AllowedMethods: []string{}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate after reopen: %v", err)
	}
	got, err := s.RootOrg(ctx)
	if err != nil {
		t.Fatalf("RootOrg after reopen: %v", err)
	}
	if got.ID != root.ID || got.Name != "Renamed" || got.Policy.AllowedMethods == nil {
		t.Errorf("after reopen: %+v, want the renamed root with an empty method list", got)
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	s := newTestStore(t)
	defer s.Close()
	for range 2 {
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate again: %v", err)
		}
	}
	if _, err := s.CreateOrg(t.Context(), store.Org{Slug: "r", Name: "R"}); err != nil {
		t.Fatalf("CreateOrg after repeated Migrate: %v", err)
	}
}

func TestOpenDoesNotMigrate(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "twofold.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.RootOrg(t.Context()); err == nil {
		t.Error("RootOrg on an unmigrated database succeeded")
	}
}

func TestPragmas(t *testing.T) {
	s := newTestStore(t)
	defer s.Close()
	for _, c := range []struct {
		db    string
		query string
		want  string
	}{
		{"writer", "PRAGMA journal_mode", "wal"},
		{"writer", "PRAGMA foreign_keys", "1"},
		{"writer", "PRAGMA busy_timeout", "10000"},
		{"writer", "PRAGMA synchronous", "1"},
		{"reader", "PRAGMA query_only", "1"},
		{"reader", "PRAGMA busy_timeout", "10000"},
	} {
		db := s.w
		if c.db == "reader" {
			db = s.r
		}
		var got string
		if err := db.QueryRowContext(t.Context(), c.query).Scan(&got); err != nil {
			t.Fatalf("%s %s: %v", c.db, c.query, err)
		}
		if got != c.want {
			t.Errorf("%s %s = %q, want %q", c.db, c.query, got, c.want)
		}
	}
}

func TestPrefixEnd(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"/a/", "/a0", true},
		{"signin.", "signin/", true},
		{"a\xff", "b", true},
		{"\xff\xff", "", false},
	} {
		got, ok := prefixEnd(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("prefixEnd(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

var benchSink time.Time

func BenchmarkGetSessionByTokenHash(b *testing.B) {
	s, hash, _ := benchFixture(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			x, err := s.GetSessionByTokenHash(ctx, hash)
			if err != nil {
				b.Fatal(err)
			}
			benchSink = x.ExpiresAt
		}
	})
}

func BenchmarkAdvanceStep(b *testing.B) {
	s, _, factorID := benchFixture(b)
	ctx := context.Background()
	b.ReportAllocs()
	step := int64(0)
	for b.Loop() {
		step++
		ok, err := s.AdvanceStep(ctx, factorID, step, time.Now())
		if err != nil || !ok {
			b.Fatalf("AdvanceStep(%d) = %v, %v", step, ok, err)
		}
	}
}

// benchFixture is a store with one user holding a session and a factor.
func benchFixture(b *testing.B) (s *Store, tokenHash []byte, factorID string) {
	s = newTestStore(b)
	b.Cleanup(func() { s.Close() })
	ctx := context.Background()
	root, err := s.CreateOrg(ctx, store.Org{Slug: "root", Name: "Root"})
	if err != nil {
		b.Fatal(err)
	}
	u, err := s.CreateUser(ctx, store.User{OrgID: root.ID, Username: "u", UsernameNorm: "u", Role: store.RoleMember})
	if err != nil {
		b.Fatal(err)
	}
	tokenHash = []byte("0123456789abcdef0123456789abcdef")
	if _, err := s.CreateSession(ctx, store.Session{TokenHash: tokenHash, UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		b.Fatal(err)
	}
	f, err := s.CreateFactor(ctx, store.Factor{UserID: u.ID, Kind: "totp", Secret: []byte("s"), KeyID: "k"})
	if err != nil {
		b.Fatal(err)
	}
	return s, tokenHash, f.ID
}

func TestSecondRootIsConflict(t *testing.T) {
	s := newTestStore(t)
	defer s.Close()
	if _, err := s.CreateOrg(t.Context(), store.Org{Slug: "a", Name: "A"}); err != nil {
		t.Fatal(err)
	}
	_, err := s.CreateOrg(t.Context(), store.Org{Slug: "b", Name: "B"})
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("second root: %v, want ErrConflict", err)
	}
}

func TestPanicInUpdateAttemptsReleasesWriter(t *testing.T) {
	s := newTestStore(t)
	defer s.Close()
	root, err := s.CreateOrg(t.Context(), store.Org{Slug: "r", Name: "R"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateUser(t.Context(), store.User{OrgID: root.ID, Username: "u", UsernameNorm: "u", Role: store.RoleMember})
	if err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() { recover() }()
		s.UpdateAttempts(t.Context(), u.ID, func(store.Attempts) (store.Attempts, error) { panic("boom") })
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := s.AppendAudit(ctx, store.AuditEvent{Event: "x.y"}); err != nil {
		t.Fatalf("write after a panicking updater: %v", err)
	}
}

// TestTwoStoresOnOneFile stands in for two server processes sharing one
// database: their writers contend for SQLite's lock, and busy_timeout with
// IMMEDIATE transactions must keep every call from failing.
func TestTwoStoresOnOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "twofold.db")
	a, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	b, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	root, err := a.CreateOrg(t.Context(), store.Org{Slug: "r", Name: "R"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 32 {
		for j, s := range []*Store{a, b} {
			wg.Go(func() {
				name := fmt.Sprintf("u%d-%d", i, j)
				u, err := s.CreateUser(t.Context(), store.User{OrgID: root.ID, Username: name, UsernameNorm: name, Role: store.RoleMember})
				if err == nil {
					_, err = s.UpdateAttempts(t.Context(), u.ID, func(at store.Attempts) (store.Attempts, error) { at.Failures++; return at, nil })
				}
				if err == nil {
					err = s.AppendAudit(t.Context(), store.AuditEvent{Event: "user.create", ActorUserID: u.ID})
				}
				if err == nil {
					_, err = s.ListUsers(t.Context(), store.UserFilter{Limit: 10})
				}
				if err != nil {
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	users, err := b.ListUsers(t.Context(), store.UserFilter{Limit: 1000})
	if err != nil || len(users) != 64 {
		t.Errorf("ListUsers = %d users, %v; want 64", len(users), err)
	}
}
