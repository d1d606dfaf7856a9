package postgres_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/pressly/goose/v3"

	"github.com/twofold-id/twofold/internal/store"
	"github.com/twofold-id/twofold/internal/store/postgres"
	"github.com/twofold-id/twofold/internal/store/postgres/pgtest"
	"github.com/twofold-id/twofold/internal/store/storetest"
)

// open opens a store on dsn and closes it when tb ends.
func open(tb testing.TB, dsn string) *postgres.Store {
	tb.Helper()
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// newStore returns a migrated store on a database of its own.
func newStore(tb testing.TB) *postgres.Store {
	tb.Helper()
	s := open(tb, pgtest.NewDatabase(tb))
	if err := s.Migrate(context.Background()); err != nil {
		tb.Fatalf("Migrate: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	pgtest.ServerDSN(t) // skip early rather than in every subtest
	storetest.RunTests(t, func(t *testing.T) store.Store { return newStore(t) })
}

func TestTheStoreKeepsItsOwnClock(t *testing.T) {
	pgtest.ServerDSN(t)
	storetest.RunClockTests(t, func(t *testing.T, now func() time.Time) store.Store {
		s, err := postgres.OpenWith(context.Background(), pgtest.NewDatabase(t), postgres.Options{Now: now})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		return s
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	s := newStore(t)
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
}

func TestMigrateConcurrently(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	// Two pools play two server processes starting at the same moment.
	stores := []*postgres.Store{open(t, dsn), open(t, dsn)}
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() { errs[i] = s.Migrate(t.Context()) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate #%d: %v", i, err)
		}
	}
	if _, err := stores[1].CreateOrg(t.Context(), store.Org{Slug: "root", Name: "Root"}); err != nil {
		t.Fatalf("CreateOrg after concurrent migrations: %v", err)
	}
}

func TestOpenDoesNotMigrate(t *testing.T) {
	s := open(t, pgtest.NewDatabase(t))
	if _, err := s.RootOrg(t.Context()); err == nil {
		t.Fatal("RootOrg on an unmigrated database succeeded")
	}
}

func TestTwoInstancesShareOneDatabase(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.NewDatabase(t)
	a, b := open(t, dsn), open(t, dsn)
	if err := a.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	root, err := a.CreateOrg(ctx, store.Org{Slug: "root", Name: "Root"})
	if err != nil {
		t.Fatalf("CreateOrg: %v", err)
	}
	u, err := a.CreateUser(ctx, store.User{OrgID: root.ID, Username: "alice", UsernameNorm: "alice", Role: store.RoleMember})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	now := time.Now()
	hash := bytes.Repeat([]byte{7}, 32)
	sess, err := a.CreateSession(ctx, store.Session{TokenHash: hash, UserID: u.ID, ExpiresAt: now.Add(time.Hour)})
	if err != nil {
		t.Fatalf("CreateSession: %v", err)
	}

	// A session created through one instance is valid through the other...
	got, err := b.GetSessionByTokenHash(ctx, hash)
	if err != nil || got.ID != sess.ID || got.RevokedAt != nil {
		t.Fatalf("B GetSessionByTokenHash = %+v, %v; want the live session", got, err)
	}
	// ...and once revoked through the other, it is revoked for both at once.
	if err := b.RevokeSession(ctx, sess.ID, now, "signout"); err != nil {
		t.Fatalf("B RevokeSession: %v", err)
	}
	got, err = a.GetSessionByTokenHash(ctx, hash)
	if err != nil || got.RevokedAt == nil || got.RevokeReason != "signout" {
		t.Fatalf("A GetSessionByTokenHash after B revoked = %+v, %v; want revoked", got, err)
	}

	// Single-use records stay single-use across instances.
	f, err := a.CreateFactor(ctx, store.Factor{UserID: u.ID, Kind: "totp"})
	if err != nil {
		t.Fatalf("CreateFactor: %v", err)
	}
	okA, errA := a.AdvanceStep(ctx, f.ID, 100, now)
	okB, errB := b.AdvanceStep(ctx, f.ID, 100, now)
	if errA != nil || errB != nil || !okA || okB {
		t.Fatalf("AdvanceStep A = %v, %v; B = %v, %v; want only A to succeed", okA, errA, okB, errB)
	}
}

func BenchmarkGetSessionByTokenHash(b *testing.B) {
	ctx := context.Background()
	s := newStore(b)
	root, err := s.CreateOrg(ctx, store.Org{Slug: "root", Name: "Root"})
	if err != nil {
		b.Fatal(err)
	}
	u, err := s.CreateUser(ctx, store.User{OrgID: root.ID, Username: "u", UsernameNorm: "u", Role: store.RoleMember})
	if err != nil {
		b.Fatal(err)
	}
	hash := bytes.Repeat([]byte{1}, 32)
	if _, err := s.CreateSession(ctx, store.Session{TokenHash: hash, UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.GetSessionByTokenHash(ctx, hash); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAdvanceStep(b *testing.B) {
	ctx := context.Background()
	s := newStore(b)
	root, err := s.CreateOrg(ctx, store.Org{Slug: "root", Name: "Root"})
	if err != nil {
		b.Fatal(err)
	}
	u, err := s.CreateUser(ctx, store.User{OrgID: root.ID, Username: "u", UsernameNorm: "u", Role: store.RoleMember})
	if err != nil {
		b.Fatal(err)
	}
	f, err := s.CreateFactor(ctx, store.Factor{UserID: u.ID, Kind: "totp"})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	var step int64
	for b.Loop() {
		step++
		if ok, err := s.AdvanceStep(ctx, f.ID, step, now); err != nil || !ok {
			b.Fatalf("AdvanceStep(%d) = %v, %v", step, ok, err)
		}
	}
}

// TestMoveOrgRacesCreateOrg checks that an org created below a subtree while
// the subtree moves never keeps a path computed from the old location.
func TestMoveOrgRacesCreateOrg(t *testing.T) {
	ctx := t.Context()
	s := newStore(t)
	root, err := s.CreateOrg(ctx, store.Org{Slug: "root", Name: "Root"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.CreateOrg(ctx, store.Org{ParentID: root.ID, Slug: "a", Name: "A"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.CreateOrg(ctx, store.Org{ParentID: root.ID, Slug: "b", Name: "B"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			slug := "c" + strconv.Itoa(i)
			if _, err := s.CreateOrg(ctx, store.Org{ParentID: b.ID, Slug: slug, Name: slug}); err != nil {
				t.Errorf("CreateOrg(%s): %v", slug, err)
			}
		})
		if i == 10 {
			wg.Go(func() {
				if _, err := s.MoveOrg(ctx, b.ID, a.ID); err != nil {
					t.Errorf("MoveOrg: %v", err)
				}
			})
		}
	}
	wg.Wait()
	all, err := s.ListOrgs(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]store.Org{}
	for _, o := range all {
		byID[o.ID] = o
	}
	for _, o := range all {
		if o.ParentID == "" {
			continue
		}
		p := byID[o.ParentID]
		if o.Path != p.Path+o.ID+"/" || o.Depth != p.Depth+1 {
			t.Errorf("org %s: path %q depth %d, but parent path %q depth %d", o.Slug, o.Path, o.Depth, p.Path, p.Depth)
		}
	}
}

// TestUpgradeKeepsTheMeaningOfExistingLocks migrates a database that holds
// locks from before 00004_policy_locks: each keeps binding only the org's
// descendants, with its origin unknown.
func TestUpgradeKeepsTheMeaningOfExistingLocks(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.NewDatabase(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, os.DirFS("migrations"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 3); err != nil {
		t.Fatal(err)
	}
	for _, row := range [][]any{
		{"root", nil, "platform", "/root/", 0, false},
		{"res", "root", "reseller", "/root/res/", 1, true},
		{"acme", "res", "acme", "/root/res/acme/", 2, false},
	} {
		if _, err := db.ExecContext(ctx, `INSERT INTO orgs (id, parent_id, slug, name, path, depth, mfa, locked, created_at, updated_at)
			VALUES ($1, $2, $3, $3, $4, $5, 'required', $6, now(), now())`, row...); err != nil {
			t.Fatal(err)
		}
	}
	s := open(t, dsn)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := s.GetOrg(ctx, "res")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Policy.Locked || res.Policy.Lock.Scope != store.LockDescendants || res.Policy.Enforced() ||
		res.Policy.Lock.OrgID != "" || res.Policy.Lock.At != nil {
		t.Errorf("an existing lock after the upgrade: %+v, want scope descendants with no origin", res.Policy)
	}
	acme, err := s.GetOrg(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if acme.Policy.Locked || acme.Policy.Lock.Scope != "" || acme.Policy.Lock.OrgID != "" || acme.Policy.Lock.At != nil {
		t.Errorf("an unlocked org after the upgrade: %+v, want no lock", acme.Policy)
	}
}
