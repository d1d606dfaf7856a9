package signin_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/store"
)

// EachUserRow is what exports read: it must page through every user, not
// stop at the first page, and keep only the status asked for.
func TestEachUserRowPagesThroughEveryMatchingUser(t *testing.T) {
	w := newWorld(t)
	acme := w.org("acme")
	var want []string
	for i := range 7 {
		want = append(want, w.user("acme", fmt.Sprintf("user%d", i)).Username)
	}
	enrolled, _, _ := w.enrolledUser("acme", "alice")

	var got []string
	err := w.admin.EachUserRow(w.ctx, w.sys, store.UserFilter{OrgPath: acme.Path, Limit: 2}, admin.StatusNotEnrolled, func(r admin.UserRow) bool {
		got = append(got, r.User.Username)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("not enrolled, two per page: %v, want %v (not %s)", got, want, enrolled.Username)
	}
	n := 0
	if err := w.admin.EachUserRow(w.ctx, w.sys, store.UserFilter{OrgPath: acme.Path, Limit: 3}, "", func(admin.UserRow) bool { n++; return n < 4 }); err != nil || n != 4 {
		t.Errorf("stopping after four: %d users read (%v)", n, err)
	}
	if err := w.admin.EachUserRow(w.ctx, w.sys, store.UserFilter{}, "bogus", func(admin.UserRow) bool { return true }); err == nil {
		t.Error("a bogus status was accepted")
	}
}
