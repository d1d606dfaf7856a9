// Package storetest is the conformance suite every store.Store
// implementation runs. It is the executable form of the contracts written in
// the doc comments of package store.
//
// The suite assumes nothing about the backend beyond what package store
// promises: times are compared at microsecond precision (PostgreSQL keeps
// microseconds), every time the suite writes is in UTC, and each subtest
// gets a fresh, empty store from the caller.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

// RunTests runs the conformance suite against the store returned by
// newStore. newStore must return an initialized (migrated) but empty store
// for each call; RunTests calls it once per subtest and closes the store when
// the subtest ends. Subtests do not run in parallel with each other, but many
// of them use the store from many goroutines at once.
func RunTests(t *testing.T, newStore func(t *testing.T) store.Store) {
	groups := []struct {
		name  string
		tests []subtest
	}{
		{"Orgs", orgTests},
		{"Users", userTests},
		{"Sessions", sessionTests},
		{"Flows", flowTests},
		{"Factors", factorTests},
		{"BackupCodes", backupCodeTests},
		{"Attempts", attemptTests},
		{"PasswordAttempts", passwordAttemptTests},
		{"Audit", auditTests},
		{"SetupTokens", setupTokenTests},
		{"Codes", codeTests},
		{"Onboarding", onboardingTests},
		{"Ceremonies", ceremonyTests},
		{"APIKeys", apiKeyTests},
		{"OIDC", oidcTests},
		{"Proxy clients", proxyTests},
		{"Directories", directoryTests},
		{"Dashboards", dashboardTests},
		{"Devices", deviceTests},
		{"CompleteSignIn", completeTests},
		{"ConfirmWithCodes", confirmWithCodesTests},
		{"Import", importTests},
		{"AuditRetention", auditRetentionTests},
		{"RateLimits", rateLimitTests},
		{"UserPrefix", prefixTests},
		{"Misc", miscTests},
		{"Races", raceTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, st := range g.tests {
				t.Run(st.name, func(t *testing.T) {
					s := newStore(t)
					t.Cleanup(func() { s.Close() })
					st.run(t, s)
				})
			}
		})
	}
}

// A subtest is one named conformance test; it receives a fresh empty store.
type subtest struct {
	name string
	run  func(t *testing.T, s store.Store)
}

// base is the instant the suite's clock starts at: microsecond precision,
// UTC, and far from "now" so that no backend default can pass for it.
var base = time.Date(2031, 3, 4, 5, 6, 7, 123456000, time.UTC)

// at returns base plus d.
func at(d time.Duration) time.Time { return base.Add(d) }

// ptr returns a pointer to a copy of v.
func ptr[T any](v T) *T { return &v }

var miscTests = []subtest{
	{"Ping answers on a fresh store", func(t *testing.T, s store.Store) {
		if err := s.Ping(t.Context()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	}},
}

// ctx returns the test's context.
func ctx(t *testing.T) context.Context { return t.Context() }

// mustRoot creates the root org.
func mustRoot(t *testing.T, s store.Store) store.Org {
	t.Helper()
	o, err := s.CreateOrg(ctx(t), store.Org{Slug: "root", Name: "Root", CreatedAt: at(0), UpdatedAt: at(0)})
	if err != nil {
		t.Fatalf("CreateOrg(root): %v", err)
	}
	return o
}

// mustOrg creates an org with the given slug under parent.
func mustOrg(t *testing.T, s store.Store, parent store.Org, slug string) store.Org {
	t.Helper()
	o, err := s.CreateOrg(ctx(t), store.Org{ParentID: parent.ID, Slug: slug, Name: "Org " + slug, CreatedAt: at(0), UpdatedAt: at(0)})
	if err != nil {
		t.Fatalf("CreateOrg(%s): %v", slug, err)
	}
	return o
}

// mustUser creates a member named name in org.
func mustUser(t *testing.T, s store.Store, org store.Org, name string) store.User {
	t.Helper()
	u, err := s.CreateUser(ctx(t), store.User{
		OrgID: org.ID, Username: name, UsernameNorm: name, Email: name + "@example.com",
		Role: store.RoleMember, PasswordHash: "hash-" + name, CreatedAt: at(0), UpdatedAt: at(0),
	})
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", name, err)
	}
	return u
}

// mustFixture creates a root org and one user in it.
func mustFixture(t *testing.T, s store.Store) (store.Org, store.User) {
	t.Helper()
	root := mustRoot(t, s)
	return root, mustUser(t, s, root, "alice")
}

// wantErr fails unless err matches target.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

// noErr fails on a non-nil err.
func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// sameTime fails unless got and want are the same instant.
func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// samePtrTime fails unless got and want are both nil or the same instant.
func samePtrTime(t *testing.T, what string, got, want *time.Time) {
	t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil:
		t.Errorf("%s = %v, want %v", what, fmtPtr(got), fmtPtr(want))
	case !got.Equal(*want):
		t.Errorf("%s = %v, want %v", what, *got, *want)
	}
}

func fmtPtr(p *time.Time) string {
	if p == nil {
		return "nil"
	}
	return p.String()
}

// isUTC fails unless tm is in UTC (the stores hand out UTC times only).
func isUTC(t *testing.T, what string, tm time.Time) {
	t.Helper()
	if tm.Location() != time.UTC {
		t.Errorf("%s is in location %q, want UTC", what, tm.Location())
	}
}

// sameIDs fails unless got lists exactly the ids in want, in that order.
func sameIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// sameIDSet fails unless got and want hold the same ids in any order.
func sameIDSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Errorf("%s = %v, want (in any order) %v", what, got, want)
	}
}

// ids maps records to their ids.
func ids[T any](recs []T, id func(T) string) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = id(r)
	}
	return out
}

// parallel runs fn(i) for i in [0, n) in n goroutines started together and
// returns the errors, one per call.
func parallel(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	done := make(chan struct{})
	for i := range n {
		go func() {
			defer func() {
				if r := recover(); r != nil {
					errs[i] = fmt.Errorf("panic: %v", r)
				}
				done <- struct{}{}
			}()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	for range n {
		<-done
	}
	return errs
}

// noErrs fails if any of errs is non-nil, reporting the first few.
func noErrs(t *testing.T, what string, errs []error) {
	t.Helper()
	n := 0
	for i, err := range errs {
		if err != nil {
			if n < 5 {
				t.Errorf("%s #%d: %v", what, i, err)
			}
			n++
		}
	}
	if n > 0 {
		t.Fatalf("%s: %d of %d calls failed", what, n, len(errs))
	}
}
