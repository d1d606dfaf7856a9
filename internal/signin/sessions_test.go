package signin_test

import (
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/factor/backup"
	"github.com/twofold-id/twofold/internal/factor/totp"
	"github.com/twofold-id/twofold/internal/signin"
)

func TestASessionEndsAfterAnHourUnused(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	w.user("acme", "alice")
	r := w.mustLogin("acme", "alice", signin.StatusAuthenticated)
	w.clock.Advance(59 * time.Minute)
	w.principal(r.SessionToken) // use refreshes the idle timer
	w.clock.Advance(59 * time.Minute)
	w.principal(r.SessionToken)
	w.clock.Advance(time.Hour)
	_, err := w.signin.Authenticate(w.ctx, r.SessionToken)
	wantCode(t, err, "unauthenticated")
}

func TestASessionEndsAfterADayEvenWhenUsed(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	w.user("acme", "alice")
	r := w.mustLogin("acme", "alice", signin.StatusAuthenticated)
	start := w.clock.Now()
	for w.clock.Now().Sub(start) < 24*time.Hour-50*time.Minute {
		w.clock.Advance(50 * time.Minute)
		w.principal(r.SessionToken)
	}
	w.clock.Advance(start.Add(24 * time.Hour).Sub(w.clock.Now()))
	_, err := w.signin.Authenticate(w.ctx, r.SessionToken)
	wantCode(t, err, "unauthenticated")
}

func TestEverySignInGetsANewToken(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	w.user("acme", "alice")
	a := w.mustLogin("acme", "alice", signin.StatusAuthenticated)
	b := w.mustLogin("acme", "alice", signin.StatusAuthenticated)
	if a.SessionToken == b.SessionToken || a.Session.ID == b.Session.ID {
		t.Fatal("two sign-ins share a session")
	}
	if len(a.SessionToken) < 4+22 { // prefix + 128 bits in base64
		t.Fatalf("session token %d characters long, too short for 128 bits", len(a.SessionToken))
	}
	sess, err := w.store.GetSession(w.ctx, a.Session.ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(sess.TokenHash) == a.SessionToken {
		t.Fatal("the store keeps the session token itself")
	}
}

func TestLogoutRevokesTheSession(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	w.user("acme", "alice")
	r := w.mustLogin("acme", "alice", signin.StatusAuthenticated)
	other := w.mustLogin("acme", "alice", signin.StatusAuthenticated)
	if err := w.signin.Logout(w.ctx, w.principal(r.SessionToken), client); err != nil {
		t.Fatal(err)
	}
	_, err := w.signin.Authenticate(w.ctx, r.SessionToken)
	wantCode(t, err, "unauthenticated")
	// The user's other session lives on.
	w.principal(other.SessionToken)
}

func TestRevokingAnotherUsersSessionIsNotFound(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	w.user("acme", "alice")
	w.user("acme", "mallory")
	alice := w.mustLogin("acme", "alice", signin.StatusAuthenticated)
	mallory := w.mustLogin("acme", "mallory", signin.StatusAuthenticated)
	err := w.signin.RevokeSession(w.ctx, w.principal(mallory.SessionToken), alice.Session.ID, client)
	wantCode(t, err, "not_found")
	w.principal(alice.SessionToken)
	err = w.signin.RevokeSession(w.ctx, w.principal(mallory.SessionToken), "no-such-session", client)
	wantCode(t, err, "not_found")

	// Her own she can.
	second := w.mustLogin("acme", "mallory", signin.StatusAuthenticated)
	if err := w.signin.RevokeSession(w.ctx, w.principal(mallory.SessionToken), second.Session.ID, client); err != nil {
		t.Fatal(err)
	}
	_, err = w.signin.Authenticate(w.ctx, second.SessionToken)
	wantCode(t, err, "unauthenticated")
	ss, err := w.signin.Sessions(w.ctx, w.principal(mallory.SessionToken))
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 1 || ss[0].ID != mallory.Session.ID {
		t.Fatalf("sessions after revoking one: %+v", ss)
	}
}

func TestResetMFARemovesFactorsAndBackupCodesAndRevokesSessions(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	u, a, codes := w.enrolledUser("acme", "alice")
	s := w.fullSession("acme", "alice", a)
	w.guess(a) // a failure on the counter, cleared by the reset
	if err := w.admin.ResetMFA(w.ctx, w.sys, u.ID, client); err != nil {
		t.Fatal(err)
	}
	_, err := w.signin.Authenticate(w.ctx, s.SessionToken)
	wantCode(t, err, "unauthenticated")
	fs, _ := w.store.ListFactors(w.ctx, u.ID)
	bcs, _ := w.store.ListBackupCodes(w.ctx, u.ID)
	if len(fs) != 0 || len(bcs) != 0 {
		t.Fatalf("after reset: %d factors, %d backup codes", len(fs), len(bcs))
	}
	if got := w.attempts(u).Failures; got != 0 {
		t.Fatalf("failures after reset = %d", got)
	}
	// Password alone now signs in (MFA is optional here), and the old
	// backup codes are worthless.
	r := w.mustLogin("acme", "alice", signin.StatusAuthenticated)
	_, err = w.signin.Reauthenticate(w.ctx, w.principal(r.SessionToken), backup.Kind, codes[0], client)
	wantCode(t, err, "no_factor")
}

func TestChangingThePasswordRevokesEveryOtherSession(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	u := w.user("acme", "alice")
	here := w.mustLogin("acme", "alice", signin.StatusAuthenticated)
	elsewhere := w.mustLogin("acme", "alice", signin.StatusAuthenticated)
	err := w.signin.ChangePassword(w.ctx, w.principal(here.SessionToken), "wrong current", "a new password", "", client)
	wantCode(t, err, "invalid_credentials")
	w.principal(elsewhere.SessionToken)

	if err := w.signin.ChangePassword(w.ctx, w.principal(here.SessionToken), testPassword, "a new password", "", client); err != nil {
		t.Fatal(err)
	}
	w.principal(here.SessionToken)
	_, err = w.signin.Authenticate(w.ctx, elsewhere.SessionToken)
	wantCode(t, err, "unauthenticated")
	_, err = w.login("acme", "alice", testPassword)
	wantCode(t, err, "invalid_credentials")

	// An admin setting the password signs the user out everywhere.
	if err := w.admin.SetPassword(w.ctx, w.sys, u.ID, testPassword, client); err != nil {
		t.Fatal(err)
	}
	_, err = w.signin.Authenticate(w.ctx, here.SessionToken)
	wantCode(t, err, "unauthenticated")
	w.mustLogin("acme", "alice", signin.StatusAuthenticated)
}

func TestAReauthenticationReplacesTheSessionToken(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	_, a, _ := w.enrolledUser("acme", "alice")
	s := w.fullSession("acme", "alice", a)
	r, err := w.signin.Reauthenticate(w.ctx, w.principal(s.SessionToken), totp.Kind, a.code(w.clock.Now(), 0), client)
	if err != nil {
		t.Fatal(err)
	}
	if r.SessionToken == s.SessionToken {
		t.Fatal("step-up kept the old token")
	}
	_, err = w.signin.Authenticate(w.ctx, s.SessionToken)
	wantCode(t, err, "unauthenticated")
	w.principal(r.SessionToken)
}
