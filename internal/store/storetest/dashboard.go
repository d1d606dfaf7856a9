package storetest

import (
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/store"
)

var dashboardTests = []subtest{
	{"an org's counts cover its subtree and nothing beside it", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		acme := mustOrg(t, s, root, "acme")
		sales := mustOrg(t, s, acme, "sales")
		other := mustOrg(t, s, root, "other")

		app := mustUser(t, s, acme, "app")    // authenticator app
		both := mustUser(t, s, sales, "both") // app and email
		mustUser(t, s, sales, "none")         // nothing, never asked
		late := mustUser(t, s, sales, "late") // asked to set up, has not
		gone := mustUser(t, s, acme, "gone")  // disabled, with a factor
		locked := mustUser(t, s, acme, "locked")
		mustUser(t, s, other, "stranger")

		confirmed := func(u store.User, kind string) {
			f, err := s.CreateFactor(ctx(t), store.Factor{ID: store.NewID(), UserID: u.ID, Kind: kind, Label: kind, CreatedAt: at(0)})
			noErr(t, "CreateFactor", err)
			ok, err := s.ConfirmFactor(ctx(t), f.ID, 1, at(time.Minute))
			noErr(t, "ConfirmFactor", err)
			if !ok {
				t.Fatal("factor not confirmed")
			}
		}
		confirmed(app, "totp")
		confirmed(both, "totp")
		confirmed(both, "email")
		confirmed(gone, "totp")
		confirmed(locked, "sms")
		// A pending factor is not an enrollment.
		_, err := s.CreateFactor(ctx(t), store.Factor{ID: store.NewID(), UserID: late.ID, Kind: "totp", CreatedAt: at(0)})
		noErr(t, "CreateFactor", err)
		_, err = s.SetMFARequiredSince(ctx(t), late.ID, at(2*time.Hour))
		noErr(t, "SetMFARequiredSince", err)
		_, _, err = s.PatchUser(ctx(t), gone.ID, store.UserChange{Disabled: ptr(true)}, at(0))
		noErr(t, "PatchUser", err)
		_, err = s.UpdateAttempts(ctx(t), locked.ID, func(a store.Attempts) (store.Attempts, error) {
			a.LockedUntil = ptr(at(3 * time.Hour))
			return a, nil
		})
		noErr(t, "UpdateAttempts", err)

		c, err := s.OrgCounts(ctx(t), acme.Path, at(time.Hour))
		noErr(t, "OrgCounts", err)
		if c.Users != 5 || c.Disabled != 1 || c.Enrolled != 3 || c.Locked != 1 {
			t.Errorf("acme: users %d disabled %d enrolled %d locked %d, want 5, 1, 3, 1", c.Users, c.Disabled, c.Enrolled, c.Locked)
		}
		if c.ByMethod["totp"] != 2 || c.ByMethod["email"] != 1 || c.ByMethod["sms"] != 1 || len(c.ByMethod) != 3 {
			t.Errorf("acme by method: %v, want totp 2, email 1, sms 1", c.ByMethod)
		}
		if len(c.Waiting) != 1 || c.Waiting[0].OrgID != sales.ID || c.Waiting[0].Users != 1 || !c.Waiting[0].Earliest.Equal(at(2*time.Hour)) {
			t.Errorf("acme waiting: %+v, want one user of sales since %v", c.Waiting, at(2*time.Hour))
		}
		// The lock has ended by then.
		if c, err := s.OrgCounts(ctx(t), acme.Path, at(4*time.Hour)); err != nil || c.Locked != 0 {
			t.Errorf("after the lock ended: locked %d (%v), want 0", c.Locked, err)
		}
		if c, err := s.OrgCounts(ctx(t), sales.Path, at(time.Hour)); err != nil || c.Users != 3 || c.Enrolled != 1 {
			t.Errorf("sales: %+v (%v), want 3 users, 1 enrolled", c, err)
		}
		if c, err := s.OrgCounts(ctx(t), other.Path, at(time.Hour)); err != nil || c.Users != 1 || c.Enrolled != 0 || len(c.ByMethod) != 0 {
			t.Errorf("other: %+v (%v), want 1 user, none enrolled", c, err)
		}
	}},
	{"sign-ins and failures are counted per UTC day for the subtree", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		acme := mustOrg(t, s, root, "acme")
		sales := mustOrg(t, s, acme, "sales")
		other := mustOrg(t, s, root, "other")
		day0 := time.Date(2030, 5, 1, 0, 0, 0, 0, time.UTC)
		add := func(org store.Org, when time.Time, event, outcome string) {
			noErr(t, "AppendAudit", s.AppendAudit(ctx(t), store.AuditEvent{At: when, OrgID: org.ID, Event: event, Outcome: outcome}))
		}
		add(acme, day0.Add(-time.Hour), audit.SignInCompleted, audit.Success) // before since
		add(acme, day0.Add(time.Hour), audit.SignInCompleted, audit.Success)
		add(sales, day0.Add(23*time.Hour), audit.SignInCompleted, audit.Success)
		add(sales, day0.Add(2*time.Hour), audit.SignInPassword, audit.Failure)
		add(acme, day0.Add(2*time.Hour), audit.SignInPassword, audit.Success) // a password step that passed
		add(acme, day0.Add(50*time.Hour), audit.SignInSecondFactor, audit.Failure)
		add(acme, day0.Add(50*time.Hour), audit.FactorAdded, audit.Success) // not a sign-in
		add(other, day0.Add(time.Hour), audit.SignInCompleted, audit.Success)

		got, err := s.SignInsByDay(ctx(t), acme.Path, day0)
		noErr(t, "SignInsByDay", err)
		want := []store.DayCount{{Day: day0, SignIns: 2, Failures: 1}, {Day: day0.Add(48 * time.Hour), SignIns: 0, Failures: 1}}
		if len(got) != len(want) {
			t.Fatalf("days %+v, want %+v", got, want)
		}
		for i := range want {
			if !got[i].Day.Equal(want[i].Day) || got[i].SignIns != want[i].SignIns || got[i].Failures != want[i].Failures {
				t.Errorf("day %d: %+v, want %+v", i, got[i], want[i])
			}
		}
	}},
}
