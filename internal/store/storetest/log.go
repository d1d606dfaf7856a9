package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

var attemptTests = []subtest{
	{"unknown user has the zero state", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		a, err := s.GetAttempts(ctx(t), u.ID)
		noErr(t, "GetAttempts", err)
		if a.UserID != u.ID || a.Failures != 0 || a.LastFailureAt != nil || a.LockedUntil != nil {
			t.Errorf("GetAttempts = %+v, want the zero state with UserID set", a)
		}
		var seen store.Attempts
		_, err = s.UpdateAttempts(ctx(t), u.ID, func(a store.Attempts) (store.Attempts, error) {
			seen = a
			return a, nil
		})
		noErr(t, "UpdateAttempts", err)
		if seen.UserID != u.ID || seen.Failures != 0 || seen.LastFailureAt != nil || seen.LockedUntil != nil {
			t.Errorf("fn saw %+v, want the zero state with UserID set", seen)
		}
	}},
	{"update persists every field", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		got, err := s.UpdateAttempts(ctx(t), u.ID, func(a store.Attempts) (store.Attempts, error) {
			a.Failures = 7
			a.LastFailureAt = ptr(at(time.Minute))
			a.LockedUntil = ptr(at(time.Hour))
			return a, nil
		})
		noErr(t, "UpdateAttempts", err)
		if got.Failures != 7 || got.UserID != u.ID {
			t.Errorf("UpdateAttempts returned %+v", got)
		}
		a, err := s.GetAttempts(ctx(t), u.ID)
		noErr(t, "GetAttempts", err)
		if a.Failures != 7 || a.UserID != u.ID {
			t.Errorf("GetAttempts = %+v", a)
		}
		samePtrTime(t, "LastFailureAt", a.LastFailureAt, ptr(at(time.Minute)))
		samePtrTime(t, "LockedUntil", a.LockedUntil, ptr(at(time.Hour)))

		// fn sees the stored state; a reset clears it.
		_, err = s.UpdateAttempts(ctx(t), u.ID, func(a store.Attempts) (store.Attempts, error) {
			if a.Failures != 7 || a.LockedUntil == nil {
				return a, fmt.Errorf("fn saw %+v, want the stored state", a)
			}
			return store.Attempts{UserID: a.UserID}, nil
		})
		noErr(t, "UpdateAttempts(reset)", err)
		a, _ = s.GetAttempts(ctx(t), u.ID)
		if a.Failures != 0 || a.LastFailureAt != nil || a.LockedUntil != nil {
			t.Errorf("after reset: %+v", a)
		}
	}},
	{"an error from fn stores nothing", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		_, err := s.UpdateAttempts(ctx(t), u.ID, func(a store.Attempts) (store.Attempts, error) {
			a.Failures = 2
			return a, nil
		})
		noErr(t, "UpdateAttempts", err)
		boom := errors.New("boom")
		_, err = s.UpdateAttempts(ctx(t), u.ID, func(a store.Attempts) (store.Attempts, error) {
			a.Failures = 99
			a.LockedUntil = ptr(at(time.Hour))
			return a, boom
		})
		if !errors.Is(err, boom) {
			t.Errorf("UpdateAttempts error = %v, want fn's error", err)
		}
		a, _ := s.GetAttempts(ctx(t), u.ID)
		if a.Failures != 2 || a.LockedUntil != nil {
			t.Errorf("after a failed update: %+v, want Failures 2 and no lock", a)
		}
	}},
	{"counters are per user", func(t *testing.T, s store.Store) {
		root, u := mustFixture(t, s)
		other := mustUser(t, s, root, "bob")
		_, err := s.UpdateAttempts(ctx(t), u.ID, func(a store.Attempts) (store.Attempts, error) { a.Failures = 5; return a, nil })
		noErr(t, "UpdateAttempts", err)
		a, _ := s.GetAttempts(ctx(t), other.ID)
		if a.Failures != 0 {
			t.Errorf("other user's Failures = %d, want 0", a.Failures)
		}
	}},
}

// auditFixture appends a small event log and returns it in append order.
func auditFixture(t *testing.T, s store.Store) (orgs map[string]store.Org, users map[string]store.User, events []store.AuditEvent) {
	t.Helper()
	root := mustRoot(t, s)
	a := mustOrg(t, s, root, "a")
	a1 := mustOrg(t, s, a, "a1")
	b := mustOrg(t, s, root, "b")
	orgs = map[string]store.Org{"root": root, "a": a, "a1": a1, "b": b}
	users = map[string]store.User{"alice": mustUser(t, s, a, "alice"), "bob": mustUser(t, s, b, "bob"), "amy": mustUser(t, s, a1, "amy")}
	add := func(min int, actor, target, org, event, outcome string) {
		e := store.AuditEvent{At: at(time.Duration(min) * time.Minute), ActorUserID: users[actor].ID, TargetUserID: users[target].ID,
			OrgID: orgs[org].ID, IP: "192.0.2.7", UserAgent: "ua", Event: event, Outcome: outcome, Detail: fmt.Sprintf("event %d", len(events)),
			RequestID: fmt.Sprintf("req-%d", len(events)%3)}
		noErr(t, "AppendAudit", s.AppendAudit(ctx(t), e))
		events = append(events, e)
	}
	add(1, "alice", "", "a", "signin.password", "success")      // 0
	add(2, "alice", "", "a", "signin.totp", "failure")          // 1
	add(3, "bob", "", "b", "signin.password", "success")        // 2
	add(4, "alice", "amy", "a1", "user.update", "success")      // 3
	add(5, "", "bob", "b", "session.revoke", "success")         // 4
	add(6, "amy", "", "a1", "signinx.other", "success")         // 5
	add(7, "", "", "root", "setup.complete", "success")         // 6
	add(8, "bob", "alice", "a", "session.revoke.all", "denied") // 7
	add(9, "", "", "", "signin.password", "failure")            // 8
	return orgs, users, events
}

var auditTests = []subtest{
	{"append and list newest first", func(t *testing.T, s store.Store) {
		_, _, events := auditFixture(t, s)
		got, err := s.ListAudit(ctx(t), store.AuditFilter{})
		noErr(t, "ListAudit", err)
		if len(got) != len(events) {
			t.Fatalf("ListAudit returned %d events, want %d", len(got), len(events))
		}
		for i, g := range got {
			w := events[len(events)-1-i]
			if g.ID == 0 || g.Detail != w.Detail || g.Event != w.Event || g.Outcome != w.Outcome || g.ActorUserID != w.ActorUserID ||
				g.TargetUserID != w.TargetUserID || g.OrgID != w.OrgID || g.IP != w.IP || g.UserAgent != w.UserAgent ||
				g.RequestID != w.RequestID {
				t.Errorf("event %d = %+v, want %+v", i, g, w)
			}
			sameTime(t, "At", g.At, w.At)
			if i > 0 && g.ID >= got[i-1].ID {
				t.Errorf("ids not descending: %d after %d", g.ID, got[i-1].ID)
			}
		}
		isUTC(t, "At", got[0].At)
	}},
	{"filters", func(t *testing.T, s store.Store) {
		orgs, users, ev := auditFixture(t, s)
		cases := []struct {
			name string
			f    store.AuditFilter
			want []int // indexes into the fixture, newest first
		}{
			{"org path covers the subtree", store.AuditFilter{OrgPath: orgs["a"].Path}, []int{7, 5, 3, 1, 0}},
			{"org path of a leaf", store.AuditFilter{OrgPath: orgs["a1"].Path}, []int{5, 3}},
			{"org path of the root", store.AuditFilter{OrgPath: orgs["root"].Path}, []int{7, 6, 5, 4, 3, 2, 1, 0}},
			{"user as actor or target", store.AuditFilter{UserID: users["alice"].ID}, []int{7, 3, 1, 0}},
			{"user as target only", store.AuditFilter{UserID: users["bob"].ID}, []int{7, 4, 2}},
			{"exact event", store.AuditFilter{Event: "session.revoke"}, []int{4}},
			{"event prefix", store.AuditFilter{Event: "signin."}, []int{8, 2, 1, 0}},
			{"event prefix covers deeper names", store.AuditFilter{Event: "session."}, []int{7, 4}},
			{"event without dot is exact", store.AuditFilter{Event: "signin"}, nil},
			{"event prefix is not a pattern", store.AuditFilter{Event: "%."}, nil},
			{"since", store.AuditFilter{Since: at(6*time.Minute + 30*time.Second)}, []int{8, 7, 6}},
			{"until", store.AuditFilter{Until: at(2*time.Minute + 30*time.Second)}, []int{1, 0}},
			{"since and until", store.AuditFilter{Since: at(3*time.Minute + 30*time.Second), Until: at(5*time.Minute + 30*time.Second)}, []int{4, 3}},
			{"combined", store.AuditFilter{OrgPath: orgs["a"].Path, Event: "signin.", UserID: users["alice"].ID}, []int{1, 0}},
			{"limit", store.AuditFilter{Limit: 3}, []int{8, 7, 6}},
			{"limit with filter", store.AuditFilter{Event: "signin.", Limit: 2}, []int{8, 2}},
		}
		for _, c := range cases {
			got, err := s.ListAudit(ctx(t), c.f)
			noErr(t, "ListAudit("+c.name+")", err)
			var gotD, wantD []string
			for _, g := range got {
				gotD = append(gotD, g.Detail)
			}
			for _, i := range c.want {
				wantD = append(wantD, ev[i].Detail)
			}
			sameIDs(t, "ListAudit("+c.name+")", gotD, wantD)
		}
	}},
	{"pages with before id", func(t *testing.T, s store.Store) {
		_, _, events := auditFixture(t, s)
		var seen []string
		var before int64
		for page := 0; ; page++ {
			if page > 10 {
				t.Fatal("paging does not terminate")
			}
			got, err := s.ListAudit(ctx(t), store.AuditFilter{Limit: 4, BeforeID: before})
			noErr(t, "ListAudit", err)
			if len(got) == 0 {
				break
			}
			for _, g := range got {
				if before != 0 && g.ID >= before {
					t.Errorf("event %d listed before id %d", g.ID, before)
				}
				seen = append(seen, g.Detail)
			}
			before = got[len(got)-1].ID
		}
		var want []string
		for i := len(events) - 1; i >= 0; i-- {
			want = append(want, events[i].Detail)
		}
		sameIDs(t, "all pages", seen, want)
	}},
	{"limit defaults to 100", func(t *testing.T, s store.Store) {
		for i := range 105 {
			noErr(t, "AppendAudit", s.AppendAudit(ctx(t), store.AuditEvent{At: at(time.Duration(i) * time.Second), Event: "x.y", Outcome: "success"}))
		}
		got, err := s.ListAudit(ctx(t), store.AuditFilter{})
		noErr(t, "ListAudit", err)
		if len(got) != 100 {
			t.Errorf("ListAudit with Limit 0 returned %d events, want 100", len(got))
		}
	}},
}

// firstAdmin tries to create the first platform admin named name with the
// setup token hash at now.
func firstAdmin(t *testing.T, s store.Store, root store.Org, hash string, now time.Time, name string) (store.User, error) {
	t.Helper()
	return s.CreateFirstAdmin(ctx(t), []byte(hash), now, store.User{OrgID: root.ID, Username: name, UsernameNorm: name,
		Role: store.RoleSuperadmin, PasswordHash: "h", CreatedAt: at(0), UpdatedAt: at(0)})
}

var setupTokenTests = []subtest{
	{"the token creates the first admin once", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		noErr(t, "PutSetupToken", s.PutSetupToken(ctx(t), []byte("h1"), at(time.Hour)))
		_, err := firstAdmin(t, s, root, "wrong", at(0), "x")
		wantErr(t, "CreateFirstAdmin(wrong hash)", err, store.ErrNotFound)
		u, err := firstAdmin(t, s, root, "h1", at(0), "first")
		noErr(t, "CreateFirstAdmin", err)
		got, err := s.GetUser(ctx(t), u.ID)
		noErr(t, "GetUser", err)
		if got.Role != store.RoleSuperadmin || got.Username != "first" {
			t.Errorf("first admin = %+v", got)
		}
		_, err = firstAdmin(t, s, root, "h1", at(0), "second")
		wantErr(t, "CreateFirstAdmin(again)", err, store.ErrNotFound)
	}},
	{"expired is refused", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		noErr(t, "PutSetupToken", s.PutSetupToken(ctx(t), []byte("h"), at(time.Hour)))
		_, err := firstAdmin(t, s, root, "h", at(2*time.Hour), "x")
		wantErr(t, "CreateFirstAdmin(expired)", err, store.ErrNotFound)
	}},
	{"put replaces the previous token", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		noErr(t, "PutSetupToken", s.PutSetupToken(ctx(t), []byte("h1"), at(time.Hour)))
		noErr(t, "PutSetupToken", s.PutSetupToken(ctx(t), []byte("h2"), at(time.Hour)))
		_, err := firstAdmin(t, s, root, "h1", at(0), "x")
		wantErr(t, "CreateFirstAdmin(replaced token)", err, store.ErrNotFound)
		_, err = firstAdmin(t, s, root, "h2", at(0), "x")
		noErr(t, "CreateFirstAdmin(current token)", err)
	}},
	{"a taken name leaves the token unspent", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		mustUser(t, s, root, "taken")
		noErr(t, "PutSetupToken", s.PutSetupToken(ctx(t), []byte("h"), at(time.Hour)))
		_, err := firstAdmin(t, s, root, "h", at(0), "taken")
		wantErr(t, "CreateFirstAdmin(taken name)", err, store.ErrConflict)
		_, err = firstAdmin(t, s, root, "h", at(0), "free")
		noErr(t, "CreateFirstAdmin(free name)", err)
	}},
	{"refused, and the token gone, when a superadmin exists", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		// The token may predate the superadmin (a database from before
		// superadmins deleted it, or a start-up check that raced).
		_, err := s.CreateUser(ctx(t), store.User{OrgID: root.ID, Username: "boss", UsernameNorm: "boss", Role: store.RoleSuperadmin})
		noErr(t, "CreateUser(superadmin)", err)
		noErr(t, "PutSetupToken", s.PutSetupToken(ctx(t), []byte("h"), at(time.Hour)))
		_, err = firstAdmin(t, s, root, "h", at(0), "evil")
		wantErr(t, "CreateFirstAdmin(superadmin exists)", err, store.ErrSetupDone)
		if _, err := s.GetUserByName(ctx(t), root.ID, "evil"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a second superadmin was created (%v)", err)
		}
		_, err = firstAdmin(t, s, root, "h", at(0), "evil")
		wantErr(t, "CreateFirstAdmin(token spent)", err, store.ErrNotFound)
	}},
	{"creating or promoting a superadmin deletes the token", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		admin, err := s.CreateUser(ctx(t), store.User{OrgID: root.ID, Username: "adm", UsernameNorm: "adm", Role: store.RoleAdmin})
		noErr(t, "CreateUser(admin)", err)
		noErr(t, "PutSetupToken", s.PutSetupToken(ctx(t), []byte("h"), at(time.Hour)))
		_, _, err = s.PatchUser(ctx(t), admin.ID, store.UserChange{Disabled: ptr(true)}, at(0))
		noErr(t, "PatchUser(other change)", err)
		mustUser(t, s, root, "member") // not a superadmin: the token stays
		_, _, err = s.PatchUser(ctx(t), admin.ID, store.UserChange{Role: ptr(store.RoleSuperadmin)}, at(0))
		noErr(t, "PatchUser(promote)", err)
		_, err = firstAdmin(t, s, root, "h", at(0), "evil")
		wantErr(t, "CreateFirstAdmin after a promotion", err, store.ErrNotFound)

		noErr(t, "PutSetupToken", s.PutSetupToken(ctx(t), []byte("h2"), at(time.Hour)))
		_, err = s.CreateUser(ctx(t), store.User{OrgID: root.ID, Username: "boss", UsernameNorm: "boss", Role: store.RoleSuperadmin})
		noErr(t, "CreateUser(superadmin)", err)
		_, err = firstAdmin(t, s, root, "h2", at(0), "evil")
		wantErr(t, "CreateFirstAdmin after CreateUser(superadmin)", err, store.ErrNotFound)
	}},
	{"concurrent setups: exactly one admin", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		noErr(t, "PutSetupToken", s.PutSetupToken(ctx(t), []byte("h"), at(time.Hour)))
		wins := countWins(t, 20, func(i int) (bool, error) {
			_, err := firstAdmin(t, s, root, "h", at(0), fmt.Sprint("a", i))
			if errors.Is(err, store.ErrNotFound) {
				return false, nil
			}
			return err == nil, err
		})
		if wins != 1 {
			t.Errorf("%d concurrent setups created an admin, want 1", wins)
		}
	}},
	{"a setup racing a superadmin created elsewhere: one superadmin", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		for r := range rounds {
			name := fmt.Sprint("boss", r)
			noErr(t, "PutSetupToken", s.PutSetupToken(ctx(t), []byte(name), at(time.Hour)))
			errs := parallel(2, func(i int) error {
				if i == 0 {
					_, err := s.CreateUser(ctx(t), store.User{OrgID: root.ID, Username: name, UsernameNorm: name, Role: store.RoleSuperadmin})
					return err
				}
				_, err := firstAdmin(t, s, root, name, at(0), "evil"+name)
				if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrSetupDone) {
					return nil
				}
				return err
			})
			noErrs(t, "racer", errs)
			if r == 0 {
				continue // with no superadmin before, either order is a legitimate first admin
			}
			if _, err := s.GetUserByName(ctx(t), root.ID, "evil"+name); err == nil {
				t.Fatalf("round %d: the setup link created a superadmin although %d existed", r, r)
			}
		}
	}},
}
