package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

func userID(u store.User) string { return u.ID }

var userTests = []subtest{
	{"create and get round trip", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		in := store.User{
			OrgID: root.ID, Username: "Alice", UsernameNorm: "alice", Email: "alice@example.com",
			EmailConfirmedAt: ptr(at(time.Minute)), Role: store.RoleAdmin, PasswordHash: "$argon2id$x",
			MFARequired: true, Disabled: true, CreatedAt: at(0), UpdatedAt: at(time.Second),
			MFARequiredSince: ptr(at(2 * time.Minute)),
		}
		u, err := s.CreateUser(ctx(t), in)
		noErr(t, "CreateUser", err)
		if u.ID == "" {
			t.Fatal("CreateUser did not generate an ID")
		}
		check := func(what string, got store.User) {
			t.Helper()
			if got.ID != u.ID || got.OrgID != root.ID || got.Username != "Alice" || got.UsernameNorm != "alice" ||
				got.Email != in.Email || got.Role != store.RoleAdmin || got.PasswordHash != in.PasswordHash ||
				!got.MFARequired || !got.Disabled {
				t.Errorf("%s = %+v, want %+v", what, got, in)
			}
			samePtrTime(t, what+".EmailConfirmedAt", got.EmailConfirmedAt, in.EmailConfirmedAt)
			samePtrTime(t, what+".MFARequiredSince", got.MFARequiredSince, in.MFARequiredSince)
			sameTime(t, what+".CreatedAt", got.CreatedAt, in.CreatedAt)
			isUTC(t, what+".CreatedAt", got.CreatedAt)
		}
		got, err := s.GetUser(ctx(t), u.ID)
		noErr(t, "GetUser", err)
		check("GetUser", got)
		got, err = s.GetUserByName(ctx(t), root.ID, "alice")
		noErr(t, "GetUserByName", err)
		check("GetUserByName", got)

		_, err = s.GetUser(ctx(t), store.NewID())
		wantErr(t, "GetUser(unknown)", err, store.ErrNotFound)
		_, err = s.GetUserByName(ctx(t), root.ID, "Alice")
		wantErr(t, "GetUserByName(unnormalized)", err, store.ErrNotFound)
		_, err = s.GetUserByName(ctx(t), root.ID, "bob")
		wantErr(t, "GetUserByName(unknown)", err, store.ErrNotFound)
	}},
	{"create keeps a given id and nil times", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		id := store.NewID()
		u, err := s.CreateUser(ctx(t), store.User{ID: id, OrgID: root.ID, Username: "x", UsernameNorm: "x", Role: store.RoleMember})
		noErr(t, "CreateUser", err)
		if u.ID != id {
			t.Errorf("ID = %q, want %q", u.ID, id)
		}
		got, err := s.GetUser(ctx(t), id)
		noErr(t, "GetUser", err)
		if got.EmailConfirmedAt != nil || got.MFARequiredSince != nil || got.MFARequired || got.Disabled {
			t.Errorf("GetUser = %+v, want nil times and false flags", got)
		}
	}},
	{"same normalized name in one org is a conflict", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		other := mustOrg(t, s, root, "other")
		mustUser(t, s, root, "alice")
		_, err := s.CreateUser(ctx(t), store.User{OrgID: root.ID, Username: "ALICE", UsernameNorm: "alice", Role: store.RoleMember})
		wantErr(t, "CreateUser(same norm, same org)", err, store.ErrConflict)
		u2, err := s.CreateUser(ctx(t), store.User{OrgID: other.ID, Username: "ALICE", UsernameNorm: "alice", Role: store.RoleMember})
		noErr(t, "CreateUser(same norm, other org)", err)
		got, err := s.GetUserByName(ctx(t), other.ID, "alice")
		noErr(t, "GetUserByName(other)", err)
		if got.ID != u2.ID {
			t.Errorf("GetUserByName(other org) = %q, want %q", got.ID, u2.ID)
		}
	}},
	{"create in an unknown org fails", func(t *testing.T, s store.Store) {
		mustRoot(t, s)
		_, err := s.CreateUser(ctx(t), store.User{OrgID: store.NewID(), Username: "x", UsernameNorm: "x", Role: store.RoleMember})
		if err == nil {
			t.Fatal("CreateUser in an unknown org succeeded")
		}
	}},
	{"patch writes the named fields and nothing else", func(t *testing.T, s store.Store) {
		root, u := mustFixture(t, s)
		confirmed, err := s.ConfirmUserEmail(ctx(t), u.ID, u.Email, at(time.Minute))
		noErr(t, "ConfirmUserEmail", err)
		if !confirmed {
			t.Fatal("ConfirmUserEmail of the current address reported false")
		}
		_, err = s.SetMFARequiredSince(ctx(t), u.ID, at(2*time.Minute))
		noErr(t, "SetMFARequiredSince", err)

		before, after, err := s.PatchUser(ctx(t), u.ID, store.UserChange{Role: ptr(store.RoleSuperadmin), Disabled: ptr(true)}, at(time.Hour))
		noErr(t, "PatchUser", err)
		if before.Role != store.RoleMember || before.Disabled {
			t.Errorf("before = %+v, want the stored member", before)
		}
		got, err := s.GetUser(ctx(t), u.ID)
		noErr(t, "GetUser", err)
		if !reflect.DeepEqual(got, after) {
			t.Errorf("PatchUser returned %+v, GetUser %+v", after, got)
		}
		if got.Role != store.RoleSuperadmin || !got.Disabled || got.Email != u.Email || got.PasswordHash != u.PasswordHash ||
			got.Username != u.Username || got.OrgID != root.ID || got.MFARequired {
			t.Errorf("after PatchUser(role, disabled): %+v", got)
		}
		samePtrTime(t, "EmailConfirmedAt (not named)", got.EmailConfirmedAt, ptr(at(time.Minute)))
		samePtrTime(t, "MFARequiredSince (not named)", got.MFARequiredSince, ptr(at(2*time.Minute)))
		sameTime(t, "UpdatedAt", got.UpdatedAt, at(time.Hour))

		// The same address keeps its confirmation; another clears it.
		_, got, err = s.PatchUser(ctx(t), u.ID, store.UserChange{Email: ptr(u.Email)}, at(time.Hour))
		noErr(t, "PatchUser(same email)", err)
		samePtrTime(t, "EmailConfirmedAt (same address)", got.EmailConfirmedAt, ptr(at(time.Minute)))
		_, got, err = s.PatchUser(ctx(t), u.ID, store.UserChange{Email: ptr("new@example.com"), MFARequired: ptr(true)}, at(time.Hour))
		noErr(t, "PatchUser(email, mfa required)", err)
		if got.Email != "new@example.com" || got.EmailConfirmedAt != nil || !got.MFARequired || got.MFARequiredSince == nil {
			t.Errorf("after a new address and mfa_required: %+v", got)
		}
		// Un-requiring MFA forgets when it became required.
		_, got, err = s.PatchUser(ctx(t), u.ID, store.UserChange{MFARequired: ptr(false), Disabled: ptr(false), Role: ptr(store.RoleMember)}, at(time.Hour))
		noErr(t, "PatchUser(clear)", err)
		if got.MFARequired || got.MFARequiredSince != nil || got.Disabled || got.Role != store.RoleMember {
			t.Errorf("after clearing: %+v", got)
		}

		_, _, err = s.PatchUser(ctx(t), store.NewID(), store.UserChange{Disabled: ptr(true)}, at(0))
		wantErr(t, "PatchUser(unknown)", err, store.ErrNotFound)
	}},
	{"MFA required since is set once", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		got, err := s.SetMFARequiredSince(ctx(t), u.ID, at(time.Minute))
		noErr(t, "SetMFARequiredSince", err)
		samePtrTime(t, "MFARequiredSince", got.MFARequiredSince, ptr(at(time.Minute)))
		got, err = s.SetMFARequiredSince(ctx(t), u.ID, at(time.Hour))
		noErr(t, "SetMFARequiredSince(again)", err)
		samePtrTime(t, "MFARequiredSince after a second call", got.MFARequiredSince, ptr(at(time.Minute)))
		if got.Role != u.Role || got.Email != u.Email {
			t.Errorf("SetMFARequiredSince returned %+v", got)
		}
		_, err = s.SetMFARequiredSince(ctx(t), store.NewID(), at(0))
		wantErr(t, "SetMFARequiredSince(unknown)", err, store.ErrNotFound)
	}},
	{"an address is confirmed only while it is the user's", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		ok, err := s.ConfirmUserEmail(ctx(t), u.ID, "old@example.com", at(0))
		noErr(t, "ConfirmUserEmail(other address)", err)
		if ok {
			t.Error("an address the user does not have was confirmed")
		}
		ok, err = s.ConfirmUserEmail(ctx(t), u.ID, u.Email, at(time.Minute))
		noErr(t, "ConfirmUserEmail", err)
		if !ok {
			t.Error("ConfirmUserEmail of the current address reported false")
		}
		ok, err = s.ConfirmUserEmail(ctx(t), u.ID, u.Email, at(time.Hour))
		noErr(t, "ConfirmUserEmail(again)", err)
		got, _ := s.GetUser(ctx(t), u.ID)
		if ok {
			t.Error("a confirmed address was confirmed again")
		}
		samePtrTime(t, "EmailConfirmedAt", got.EmailConfirmedAt, ptr(at(time.Minute)))
	}},
	{"no session or flow for a disabled user", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		_, _, err := s.PatchUser(ctx(t), u.ID, store.UserChange{Disabled: ptr(true)}, at(0))
		noErr(t, "PatchUser(disable)", err)
		_, err = s.CreateSession(ctx(t), store.Session{TokenHash: []byte("s"), UserID: u.ID, CreatedAt: at(0), ExpiresAt: at(time.Hour)})
		wantErr(t, "CreateSession(disabled user)", err, store.ErrStale)
		_, err = s.CreateFlow(ctx(t), store.Flow{TokenHash: []byte("f"), UserID: u.ID, Kind: store.FlowMFA, CreatedAt: at(0), ExpiresAt: at(time.Hour)})
		wantErr(t, "CreateFlow(disabled user)", err, store.ErrStale)
		if l, _ := s.ListSessions(ctx(t), u.ID, at(0)); len(l) != 0 {
			t.Errorf("%d sessions stored for a disabled user", len(l))
		}

		// A flow begun before the disable cannot complete after it.
		_, enabled, err := s.PatchUser(ctx(t), u.ID, store.UserChange{Disabled: ptr(false)}, at(0))
		noErr(t, "PatchUser(enable)", err)
		f, err := s.CreateFlow(ctx(t), store.Flow{TokenHash: []byte("f2"), UserID: u.ID, Kind: store.FlowMFA, CreatedAt: at(0),
			ExpiresAt: at(time.Hour), UserVersion: enabled.SecurityVersion})
		noErr(t, "CreateFlow(enabled)", err)
		_, _, err = s.PatchUser(ctx(t), u.ID, store.UserChange{Disabled: ptr(true)}, at(0))
		noErr(t, "PatchUser(disable)", err)
		_, ok, err := s.CompleteSignIn(ctx(t), f.ID, at(time.Minute), store.Session{TokenHash: []byte("s2"), UserID: u.ID,
			CreatedAt: at(time.Minute), ExpiresAt: at(time.Hour), UserVersion: enabled.SecurityVersion}, nil)
		noErr(t, "CompleteSignIn(disabled user)", err)
		if ok {
			t.Error("CompleteSignIn issued a session to a disabled user")
		}
		if l, _ := s.ListSessions(ctx(t), u.ID, at(0)); len(l) != 0 {
			t.Errorf("%d sessions stored for a disabled user", len(l))
		}
	}},
	{"a password change, MFA reset, new role or disable ends the user's flows", func(t *testing.T, s store.Store) {
		root, u := mustFixture(t, s)
		other := mustUser(t, s, root, "bob")
		for _, c := range []struct {
			name string
			do   func() error
		}{
			{"SetPassword", func() error { return s.SetPassword(ctx(t), u.ID, "new-hash", at(time.Hour)) }},
			{"ResetUserMFA", func() error { return s.ResetUserMFA(ctx(t), u.ID, at(time.Hour)) }},
			{"PatchUser(role)", func() error {
				_, _, err := s.PatchUser(ctx(t), u.ID, store.UserChange{Role: ptr(store.RoleAdmin)}, at(time.Hour))
				return err
			}},
			{"PatchUser(disable)", func() error {
				_, _, err := s.PatchUser(ctx(t), u.ID, store.UserChange{Disabled: ptr(true)}, at(time.Hour))
				if err == nil {
					_, _, err = s.PatchUser(ctx(t), u.ID, store.UserChange{Disabled: ptr(false)}, at(time.Hour))
				}
				return err
			}},
		} {
			cur, err := s.GetUser(ctx(t), u.ID)
			noErr(t, "GetUser", err)
			f, err := s.CreateFlow(ctx(t), store.Flow{TokenHash: []byte("f-" + c.name), UserID: u.ID, Kind: store.FlowEnroll,
				CreatedAt: at(0), ExpiresAt: at(2 * time.Hour), UserVersion: cur.SecurityVersion})
			noErr(t, "CreateFlow", err)
			bobs := mustFlow(t, s, other, "bob-"+c.name, at(2*time.Hour))
			noErr(t, c.name, c.do())

			after, err := s.GetUser(ctx(t), u.ID)
			noErr(t, "GetUser", err)
			if after.SecurityVersion <= cur.SecurityVersion {
				t.Errorf("%s: SecurityVersion %d → %d, want it incremented", c.name, cur.SecurityVersion, after.SecurityVersion)
			}
			if _, err := s.GetFlowByTokenHash(ctx(t), f.TokenHash); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: the user's flow is still there (%v)", c.name, err)
			}
			if _, err := s.GetFlowByTokenHash(ctx(t), bobs.TokenHash); err != nil {
				t.Errorf("%s: another user's flow went too: %v", c.name, err)
			}
			// Nothing can be begun for the old version any more.
			_, err = s.CreateFlow(ctx(t), store.Flow{TokenHash: []byte("late-" + c.name), UserID: u.ID, Kind: store.FlowMFA,
				CreatedAt: at(0), ExpiresAt: at(2 * time.Hour), UserVersion: cur.SecurityVersion})
			wantErr(t, c.name+": CreateFlow(old version)", err, store.ErrStale)
			_, err = s.CreateSession(ctx(t), store.Session{TokenHash: []byte("late-" + c.name), UserID: u.ID, CreatedAt: at(0),
				ExpiresAt: at(2 * time.Hour), UserVersion: cur.SecurityVersion})
			wantErr(t, c.name+": CreateSession(old version)", err, store.ErrStale)
			s2, err := s.CreateSession(ctx(t), store.Session{TokenHash: []byte("now-" + c.name), UserID: u.ID, CreatedAt: at(0),
				ExpiresAt: at(2 * time.Hour), UserVersion: after.SecurityVersion})
			noErr(t, c.name+": CreateSession(current version)", err)
			if s2.UserVersion != after.SecurityVersion {
				t.Errorf("%s: session UserVersion = %d, want %d", c.name, s2.UserVersion, after.SecurityVersion)
			}
		}
		got, _ := s.GetUser(ctx(t), u.ID)
		if got.PasswordHash != "new-hash" || got.Role != store.RoleAdmin || got.Disabled {
			t.Errorf("after the changes: %+v", got)
		}
		wantErr(t, "SetPassword(unknown)", s.SetPassword(ctx(t), store.NewID(), "h", at(0)), store.ErrNotFound)
		wantErr(t, "ResetUserMFA(unknown)", s.ResetUserMFA(ctx(t), store.NewID(), at(0)), store.ErrNotFound)
	}},
	{"other changes keep the flows", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		f := mustFlow(t, s, u, "f", at(time.Hour))
		_, got, err := s.PatchUser(ctx(t), u.ID, store.UserChange{Email: ptr("x@example.com"), MFARequired: ptr(true),
			Role: ptr(store.RoleMember), Disabled: ptr(false)}, at(0))
		noErr(t, "PatchUser", err)
		_, err = s.SetMFARequiredSince(ctx(t), u.ID, at(0))
		noErr(t, "SetMFARequiredSince", err)
		ok, err := s.SetPasswordHash(ctx(t), u.ID, u.PasswordHash, "rehashed")
		noErr(t, "SetPasswordHash", err)
		if !ok || got.SecurityVersion != u.SecurityVersion {
			t.Errorf("SetPasswordHash ok=%v; SecurityVersion %d → %d", ok, u.SecurityVersion, got.SecurityVersion)
		}
		if _, err := s.GetFlowByTokenHash(ctx(t), f.TokenHash); err != nil {
			t.Errorf("the flow went with a change that does not end sign-ins: %v", err)
		}
		after, _ := s.GetUser(ctx(t), u.ID)
		if after.SecurityVersion != u.SecurityVersion {
			t.Errorf("SecurityVersion %d → %d without a change that ends sign-ins", u.SecurityVersion, after.SecurityVersion)
		}
	}},
	{"MFA reset removes factors, codes and the failure counter", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		mustFactor(t, s, u, "k", at(0))
		noErr(t, "ReplaceBackupCodes", s.ReplaceBackupCodes(ctx(t), u.ID, backupCodes(u, 3)))
		_, err := s.UpdateAttempts(ctx(t), u.ID, func(a store.Attempts) (store.Attempts, error) {
			a.Failures = 7
			return a, nil
		})
		noErr(t, "UpdateAttempts", err)
		noErr(t, "ResetUserMFA", s.ResetUserMFA(ctx(t), u.ID, at(0)))
		if fs, _ := s.ListFactors(ctx(t), u.ID); len(fs) != 0 {
			t.Errorf("%d factors after the reset", len(fs))
		}
		if cs, _ := s.ListBackupCodes(ctx(t), u.ID); len(cs) != 0 {
			t.Errorf("%d backup codes after the reset", len(cs))
		}
		if a, _ := s.GetAttempts(ctx(t), u.ID); a.Failures != 0 || a.LockedUntil != nil {
			t.Errorf("attempts after the reset: %+v", a)
		}
	}},
	{"a flow of an old version does not complete", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		f := mustFlow(t, s, u, "f", at(time.Hour))
		// A session claiming a newer version than the flow's does not help.
		noErr(t, "SetPassword", s.SetPassword(ctx(t), u.ID, "h2", at(0)))
		f2, err := s.CreateFlow(ctx(t), store.Flow{TokenHash: []byte("f2"), UserID: u.ID, Kind: store.FlowMFA, CreatedAt: at(0),
			ExpiresAt: at(time.Hour), UserVersion: 1})
		noErr(t, "CreateFlow(current)", err)
		_, ok, err := s.CompleteSignIn(ctx(t), f.ID, at(time.Minute), store.Session{TokenHash: []byte("s"), UserID: u.ID,
			CreatedAt: at(time.Minute), ExpiresAt: at(time.Hour), UserVersion: 1}, nil)
		noErr(t, "CompleteSignIn(old flow)", err)
		if ok {
			t.Error("a flow begun before the password change completed")
		}
		_, ok, err = s.CompleteSignIn(ctx(t), f2.ID, at(time.Minute), store.Session{TokenHash: []byte("s2"), UserID: u.ID,
			CreatedAt: at(time.Minute), ExpiresAt: at(time.Hour), UserVersion: 1}, nil)
		noErr(t, "CompleteSignIn(current flow)", err)
		if !ok {
			t.Error("a current flow did not complete")
		}
	}},
	{"set password hash is compare and swap", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		ok, err := s.SetPasswordHash(ctx(t), u.ID, "wrong-old", "h2")
		noErr(t, "SetPasswordHash(wrong old)", err)
		if ok {
			t.Error("SetPasswordHash with a stale old hash reported success")
		}
		got, _ := s.GetUser(ctx(t), u.ID)
		if got.PasswordHash != u.PasswordHash {
			t.Errorf("hash changed to %q by a refused swap", got.PasswordHash)
		}
		ok, err = s.SetPasswordHash(ctx(t), u.ID, u.PasswordHash, "h2")
		noErr(t, "SetPasswordHash", err)
		if !ok {
			t.Error("SetPasswordHash with the current hash reported false")
		}
		got, _ = s.GetUser(ctx(t), u.ID)
		if got.PasswordHash != "h2" {
			t.Errorf("hash = %q, want h2", got.PasswordHash)
		}
		ok, _ = s.SetPasswordHash(ctx(t), u.ID, u.PasswordHash, "h3")
		if ok {
			t.Error("second swap from the old hash reported success")
		}
		ok, _ = s.SetPasswordHash(ctx(t), store.NewID(), "x", "y")
		if ok {
			t.Error("SetPasswordHash on an unknown user reported success")
		}
	}},
	{"delete", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		noErr(t, "DeleteUser", s.DeleteUser(ctx(t), u.ID))
		_, err := s.GetUser(ctx(t), u.ID)
		wantErr(t, "GetUser(deleted)", err, store.ErrNotFound)
		wantErr(t, "DeleteUser(again)", s.DeleteUser(ctx(t), u.ID), store.ErrNotFound)
	}},
	{"delete removes dependent records but keeps audit", func(t *testing.T, s store.Store) {
		root, u := mustFixture(t, s)
		sess := mustSession(t, s, u, "s1", at(0), at(time.Hour))
		fl := mustFlow(t, s, u, "f1", at(time.Hour))
		fa := mustFactor(t, s, u, "k1", at(0))
		noErr(t, "ReplaceBackupCodes", s.ReplaceBackupCodes(ctx(t), u.ID, []store.BackupCode{{ID: store.NewID(), UserID: u.ID, Hash: "c", CreatedAt: at(0)}}))
		_, err := s.UpdateAttempts(ctx(t), u.ID, func(a store.Attempts) (store.Attempts, error) { a.Failures = 3; return a, nil })
		noErr(t, "UpdateAttempts", err)
		noErr(t, "AppendAudit", s.AppendAudit(ctx(t), store.AuditEvent{At: at(0), ActorUserID: u.ID, OrgID: root.ID, Event: "user.create", Outcome: "success"}))

		noErr(t, "DeleteUser", s.DeleteUser(ctx(t), u.ID))
		if _, err := s.GetSession(ctx(t), sess.ID); err == nil {
			t.Error("session survived its user")
		}
		if _, err := s.GetFlowByTokenHash(ctx(t), fl.TokenHash); err == nil {
			t.Error("flow survived its user")
		}
		if _, err := s.GetFactor(ctx(t), fa.ID); err == nil {
			t.Error("factor survived its user")
		}
		if codes, _ := s.ListBackupCodes(ctx(t), u.ID); len(codes) != 0 {
			t.Errorf("%d backup codes survived their user", len(codes))
		}
		if a, err := s.GetAttempts(ctx(t), u.ID); err == nil && a.Failures != 0 {
			t.Errorf("attempt counter survived its user: %+v", a)
		}
		ev, err := s.ListAudit(ctx(t), store.AuditFilter{UserID: u.ID})
		noErr(t, "ListAudit", err)
		if len(ev) != 1 {
			t.Errorf("audit events of the deleted user: %d, want 1 (the log is kept)", len(ev))
		}
	}},
	{"list filters", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		a := mustOrg(t, s, root, "a")
		a1 := mustOrg(t, s, a, "a1")
		b := mustOrg(t, s, root, "b")
		mk := func(org store.Org, name string, role store.Role, email string) store.User {
			u, err := s.CreateUser(ctx(t), store.User{OrgID: org.ID, Username: name, UsernameNorm: name, Email: email, Role: role})
			noErr(t, "CreateUser", err)
			return u
		}
		r1 := mk(root, "root-admin", store.RoleSuperadmin, "boss@corp.example")
		a1u := mk(a, "anna", store.RoleAdmin, "anna@a.example")
		a2u := mk(a, "arthur", store.RoleMember, "arthur@a.example")
		a11u := mk(a1, "amy", store.RoleMember, "amy@deep.example")
		b1u := mk(b, "bert", store.RoleAdmin, "bert@b.example")

		cases := []struct {
			name string
			f    store.UserFilter
			want []store.User
		}{
			{"no filter lists everyone", store.UserFilter{}, []store.User{r1, a1u, a2u, a11u, b1u}},
			{"org path covers the subtree", store.UserFilter{OrgPath: a.Path}, []store.User{a1u, a2u, a11u}},
			{"org path of a leaf", store.UserFilter{OrgPath: a1.Path}, []store.User{a11u}},
			{"org id is exact", store.UserFilter{OrgID: a.ID}, []store.User{a1u, a2u}},
			{"role", store.UserFilter{Role: store.RoleAdmin}, []store.User{a1u, b1u}},
			{"role within subtree", store.UserFilter{OrgPath: a.Path, Role: store.RoleMember}, []store.User{a2u, a11u}},
			{"query matches username", store.UserFilter{Query: "rth"}, []store.User{a2u}},
			{"query matches email", store.UserFilter{Query: "deep.exa"}, []store.User{a11u}},
			{"query matches nothing", store.UserFilter{Query: "zzz"}, nil},
			{"query is not a pattern", store.UserFilter{Query: "%"}, nil},
			{"query underscore is literal", store.UserFilter{Query: "a_n"}, nil},
			{"unknown org path", store.UserFilter{OrgPath: "/" + store.NewID() + "/"}, nil},
		}
		for _, c := range cases {
			got, err := s.ListUsers(ctx(t), c.f)
			noErr(t, "ListUsers("+c.name+")", err)
			sameIDSet(t, "ListUsers("+c.name+")", ids(got, userID), ids(c.want, userID))
		}
	}},
	{"list pages by id", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		var all []string
		for i := range 7 {
			all = append(all, mustUser(t, s, root, fmt.Sprintf("user%d", i)).ID)
		}
		slices.Sort(all)
		var seen []string
		after := ""
		for page := 0; ; page++ {
			if page > 10 {
				t.Fatal("paging does not terminate")
			}
			got, err := s.ListUsers(ctx(t), store.UserFilter{Limit: 3, AfterID: after})
			noErr(t, "ListUsers", err)
			if len(got) > 3 {
				t.Fatalf("page has %d users, limit 3", len(got))
			}
			if len(got) == 0 {
				break
			}
			for _, u := range got {
				if u.ID <= after {
					t.Errorf("user %q listed after %q", u.ID, after)
				}
			}
			seen = append(seen, ids(got, userID)...)
			after = got[len(got)-1].ID
		}
		sameIDs(t, "all pages", seen, all)

		got, err := s.ListUsers(ctx(t), store.UserFilter{Limit: 2})
		noErr(t, "ListUsers(limit 2)", err)
		sameIDs(t, "first page", ids(got, userID), all[:2])
	}},
	{"list limit defaults to 100", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		for i := range 103 {
			_, err := s.CreateUser(ctx(t), store.User{OrgID: root.ID, Username: fmt.Sprint(i), UsernameNorm: fmt.Sprint(i), Role: store.RoleMember})
			noErr(t, "CreateUser", err)
		}
		got, err := s.ListUsers(ctx(t), store.UserFilter{})
		noErr(t, "ListUsers", err)
		if len(got) != 100 {
			t.Errorf("ListUsers with Limit 0 returned %d users, want 100", len(got))
		}
	}},
}
