package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

// mustReset creates a reset link for u with the given token (used as its
// hash), made under u's current security version.
func mustReset(t *testing.T, s store.Store, u store.User, token string, created, expires time.Time) store.PasswordReset {
	t.Helper()
	r, err := s.CreatePasswordReset(ctx(t), store.PasswordReset{UserID: u.ID, TokenHash: []byte(token),
		UserVersion: u.SecurityVersion, CreatedAt: created, ExpiresAt: expires})
	noErr(t, "CreatePasswordReset", err)
	return r
}

// mustInvitation creates an invitation to org for email with the given
// token (used as its hash).
func mustInvitation(t *testing.T, s store.Store, org store.Org, email, token string, created, expires time.Time) store.Invitation {
	t.Helper()
	i, err := s.CreateInvitation(ctx(t), store.Invitation{OrgID: org.ID, Email: email, Name: "New Person", Role: store.RoleMember,
		InvitedBy: "admin-id", TokenHash: []byte(token), CreatedAt: created, ExpiresAt: expires})
	noErr(t, "CreateInvitation", err)
	return i
}

func invitee(name string) store.User {
	return store.User{Username: name, UsernameNorm: name, Email: name + "@example.com", Role: store.RoleMember,
		PasswordHash: "hash-" + name, CreatedAt: at(0), UpdatedAt: at(0)}
}

var onboardingTests = []subtest{
	{"a reset link works once, sets the password and ends sign-ins", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		r := mustReset(t, s, u, "tok-a", at(0), at(30*time.Minute))
		isUTC(t, "CreatedAt", r.CreatedAt)
		got, err := s.GetPasswordReset(ctx(t), []byte("tok-a"), at(time.Minute))
		noErr(t, "GetPasswordReset", err)
		if got.ID != r.ID || got.UserID != u.ID || got.UserVersion != u.SecurityVersion {
			t.Errorf("GetPasswordReset = %+v, want %+v", got, r)
		}
		sameTime(t, "ExpiresAt", got.ExpiresAt, at(30*time.Minute))
		latest, err := s.LatestPasswordReset(ctx(t), u.ID)
		noErr(t, "LatestPasswordReset", err)
		if latest.ID != r.ID {
			t.Errorf("LatestPasswordReset = %s, want %s", latest.ID, r.ID)
		}
		mustFlow(t, s, u, "flow-tok", at(time.Hour))
		used, ok, err := s.ResetPassword(ctx(t), []byte("tok-a"), at(time.Minute), "new-hash")
		noErr(t, "ResetPassword", err)
		if !ok || used.ID != r.ID {
			t.Fatalf("ResetPassword = %+v, %v; want the link, true", used, ok)
		}
		samePtrTime(t, "UsedAt", used.UsedAt, ptr(at(time.Minute)))
		after, _ := s.GetUser(ctx(t), u.ID)
		if after.PasswordHash != "new-hash" || after.SecurityVersion != u.SecurityVersion+1 {
			t.Errorf("after reset: hash %q version %d, want new-hash and %d", after.PasswordHash, after.SecurityVersion, u.SecurityVersion+1)
		}
		if _, err := s.GetFlowByTokenHash(ctx(t), []byte("flow-tok")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the user's flow survived a password reset: %v", err)
		}
		if _, ok, err := s.ResetPassword(ctx(t), []byte("tok-a"), at(2*time.Minute), "other"); ok || err != nil {
			t.Errorf("second ResetPassword = %v, %v; want false, nil", ok, err)
		}
		_, err = s.GetPasswordReset(ctx(t), []byte("tok-a"), at(2*time.Minute))
		wantErr(t, "GetPasswordReset after use", err, store.ErrNotFound)
	}},
	{"a reset link stops working when it expires, after any security change, and for a disabled user", func(t *testing.T, s store.Store) {
		root, u := mustFixture(t, s)
		mustReset(t, s, u, "tok-exp", at(0), at(30*time.Minute))
		if _, ok, _ := s.ResetPassword(ctx(t), []byte("tok-exp"), at(30*time.Minute), "x"); ok {
			t.Error("an expired link reset the password")
		}
		mustReset(t, s, u, "tok-old", at(0), at(30*time.Minute))
		mustReset(t, s, u, "tok-new", at(time.Second), at(30*time.Minute))
		_, ok, err := s.ResetPassword(ctx(t), []byte("tok-new"), at(time.Minute), "h1")
		if !ok || err != nil {
			t.Fatalf("ResetPassword(new) = %v, %v", ok, err)
		}
		if _, ok, _ := s.ResetPassword(ctx(t), []byte("tok-old"), at(time.Minute), "h2"); ok {
			t.Error("an older link still worked after the password was reset with another")
		}
		v := mustUser(t, s, root, "bob")
		mustReset(t, s, v, "tok-bob", at(0), at(30*time.Minute))
		_, _, err = s.PatchUser(ctx(t), v.ID, store.UserChange{Disabled: ptr(true)}, at(time.Second))
		noErr(t, "PatchUser", err)
		_, err = s.GetPasswordReset(ctx(t), []byte("tok-bob"), at(time.Minute))
		wantErr(t, "GetPasswordReset of a disabled user", err, store.ErrNotFound)
		if _, ok, _ := s.ResetPassword(ctx(t), []byte("tok-bob"), at(time.Minute), "h"); ok {
			t.Error("a disabled user's link reset the password")
		}
		_, err = s.CreatePasswordReset(ctx(t), store.PasswordReset{UserID: "nobody", TokenHash: []byte("x"), ExpiresAt: at(time.Hour)})
		wantErr(t, "CreatePasswordReset for an unknown user", err, store.ErrNotFound)
		n, err := s.DeleteExpiredPasswordResets(ctx(t), at(31*time.Minute))
		noErr(t, "DeleteExpiredPasswordResets", err)
		if n != 4 {
			t.Errorf("DeleteExpiredPasswordResets removed %d, want 4", n)
		}
	}},
	{"users are found by address within one org", func(t *testing.T, s store.Store) {
		root, u := mustFixture(t, s)
		other := mustOrg(t, s, root, "other")
		mustUser(t, s, other, "alice2")
		_, _, err := s.PatchUser(ctx(t), mustUser(t, s, root, "carol").ID, store.UserChange{Email: ptr("alice@example.com")}, at(time.Second))
		noErr(t, "PatchUser", err)
		got, err := s.UsersByEmail(ctx(t), root.ID, "alice@example.com")
		noErr(t, "UsersByEmail", err)
		if len(got) != 2 || (got[0].ID != u.ID && got[1].ID != u.ID) {
			t.Errorf("UsersByEmail = %d users, want alice and carol", len(got))
		}
		got, _ = s.UsersByEmail(ctx(t), root.ID, "Alice@EXAMPLE.com")
		if len(got) != 2 {
			t.Errorf("UsersByEmail(other case) = %d users, want 2", len(got))
		}
		got, _ = s.UsersByEmail(ctx(t), root.ID, "nobody@example.com")
		if len(got) != 0 {
			t.Errorf("UsersByEmail(unknown) = %v", got)
		}
	}},
	{"an invitation is listed, renewed, revoked", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		a := mustInvitation(t, s, root, "a@example.com", "tok-a", at(0), at(7*24*time.Hour))
		b := mustInvitation(t, s, root, "b@example.com", "tok-b", at(time.Second), at(time.Hour))
		got, err := s.GetInvitation(ctx(t), a.ID)
		noErr(t, "GetInvitation", err)
		if got.Email != "a@example.com" || got.Role != store.RoleMember || got.Name != "New Person" || got.InvitedBy != "admin-id" {
			t.Errorf("GetInvitation = %+v", got)
		}
		sameTime(t, "SentAt", got.SentAt, at(0))
		list, err := s.ListInvitations(ctx(t), root.ID)
		noErr(t, "ListInvitations", err)
		if len(list) != 2 || list[0].ID != b.ID {
			t.Fatalf("ListInvitations = %v, want b then a", list)
		}
		r, err := s.RenewInvitation(ctx(t), b.ID, []byte("tok-b2"), at(time.Minute), at(8*24*time.Hour))
		noErr(t, "RenewInvitation", err)
		sameTime(t, "renewed ExpiresAt", r.ExpiresAt, at(8*24*time.Hour))
		_, err = s.InvitationByToken(ctx(t), []byte("tok-b"), at(2*time.Minute))
		wantErr(t, "old token after resend", err, store.ErrNotFound)
		_, err = s.InvitationByToken(ctx(t), []byte("tok-b2"), at(2*time.Minute))
		noErr(t, "new token after resend", err)
		noErr(t, "RevokeInvitation", s.RevokeInvitation(ctx(t), b.ID, at(3*time.Minute)))
		wantErr(t, "second RevokeInvitation", s.RevokeInvitation(ctx(t), b.ID, at(3*time.Minute)), store.ErrNotFound)
		_, err = s.RenewInvitation(ctx(t), b.ID, []byte("tok-b3"), at(4*time.Minute), at(time.Hour))
		wantErr(t, "RenewInvitation of a revoked one", err, store.ErrNotFound)
		_, err = s.InvitationByToken(ctx(t), []byte("tok-b2"), at(4*time.Minute))
		wantErr(t, "revoked token", err, store.ErrNotFound)
		list, _ = s.ListInvitations(ctx(t), root.ID)
		if len(list) != 1 || list[0].ID != a.ID {
			t.Errorf("ListInvitations after revoke = %v, want only a", list)
		}
		_, err = s.CreateInvitation(ctx(t), store.Invitation{OrgID: "nope", Email: "x@example.com", Role: store.RoleMember,
			TokenHash: []byte("t"), ExpiresAt: at(time.Hour)})
		wantErr(t, "CreateInvitation in an unknown org", err, store.ErrNotFound)
	}},
	{"accepting an invitation creates the user once, in the invitation's org", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		org := mustOrg(t, s, root, "acme")
		mustUser(t, s, org, "taken")
		inv := mustInvitation(t, s, org, "new@example.com", "tok", at(0), at(time.Hour))
		_, _, err := s.AcceptInvitation(ctx(t), []byte("tok"), at(time.Minute), invitee("taken"))
		wantErr(t, "AcceptInvitation with a taken username", err, store.ErrConflict)
		_, err = s.InvitationByToken(ctx(t), []byte("tok"), at(time.Minute))
		noErr(t, "invitation still pending after a conflict", err)
		got, u, err := s.AcceptInvitation(ctx(t), []byte("tok"), at(time.Minute), invitee("newbie"))
		noErr(t, "AcceptInvitation", err)
		if u.OrgID != org.ID || got.UserID != u.ID || got.ID != inv.ID {
			t.Errorf("accepted %+v as %+v", got, u)
		}
		samePtrTime(t, "AcceptedAt", got.AcceptedAt, ptr(at(time.Minute)))
		if _, err := s.GetUserByName(ctx(t), org.ID, "newbie"); err != nil {
			t.Errorf("the new user is not in the org: %v", err)
		}
		_, _, err = s.AcceptInvitation(ctx(t), []byte("tok"), at(time.Minute), invitee("again"))
		wantErr(t, "second AcceptInvitation", err, store.ErrNotFound)
		mustInvitation(t, s, org, "late@example.com", "late", at(0), at(time.Hour))
		_, _, err = s.AcceptInvitation(ctx(t), []byte("late"), at(time.Hour), invitee("late"))
		wantErr(t, "AcceptInvitation after expiry", err, store.ErrNotFound)
		n, err := s.DeleteOldInvitations(ctx(t), at(2*time.Hour))
		noErr(t, "DeleteOldInvitations", err)
		if n != 1 {
			t.Errorf("DeleteOldInvitations removed %d, want 1 (the accepted one stays)", n)
		}
	}},
	{"50 parallel uses of one reset link: exactly one wins", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		for r := range 5 {
			cur, _ := s.GetUser(ctx(t), u.ID)
			tok := fmt.Sprintf("race-%d", r)
			mustReset(t, s, cur, tok, at(0), at(time.Hour))
			wins := countWins(t, racers, func(i int) (bool, error) {
				_, ok, err := s.ResetPassword(ctx(t), []byte(tok), at(time.Minute), fmt.Sprintf("h%d", i))
				return ok, err
			})
			if wins != 1 {
				t.Fatalf("round %d: %d of %d ResetPassword calls won, want 1", r, wins, racers)
			}
		}
	}},
	{"50 parallel accepts of one invitation: exactly one user is created", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		for r := range 5 {
			tok := fmt.Sprintf("inv-%d", r)
			mustInvitation(t, s, root, "x@example.com", tok, at(0), at(time.Hour))
			wins := countWins(t, racers, func(i int) (bool, error) {
				_, _, err := s.AcceptInvitation(ctx(t), []byte(tok), at(time.Minute), invitee(fmt.Sprintf("u%d-%d", r, i)))
				if errors.Is(err, store.ErrNotFound) {
					return false, nil
				}
				return err == nil, err
			})
			if wins != 1 {
				t.Fatalf("round %d: %d of %d AcceptInvitation calls won, want 1", r, wins, racers)
			}
		}
	}},
}
