package signin_test

import (
	"slices"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/factor/totp"
	"github.com/twofold-id/twofold/internal/signin"
)

func TestConfirmingTheFirstAuthenticatorIssuesTenBackupCodes(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	u, _, codes := w.enrolledUser("acme", "alice")
	if len(codes) != 10 {
		t.Fatalf("got %d backup codes, want 10", len(codes))
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if seen[c] {
			t.Fatalf("backup code %q issued twice", c)
		}
		seen[c] = true
	}
	left, err := w.store.ListBackupCodes(w.ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 10 {
		t.Fatalf("store holds %d backup codes, want 10", len(left))
	}
	for _, bc := range left {
		for _, c := range codes {
			if bc.Hash == c {
				t.Fatalf("backup code %q stored in plaintext", c)
			}
		}
	}
	r := w.mustLogin("acme", "alice", signin.StatusMFARequired)
	if !slices.Equal(r.Methods, []string{"totp", "backup_code"}) {
		t.Fatalf("methods = %v, want [totp backup_code]", r.Methods)
	}
}

func TestAPendingAuthenticatorDoesNothingBeforeConfirmation(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	u := w.user("acme", "alice")
	r := w.mustLogin("acme", "alice", signin.StatusAuthenticated)
	if _, err := w.signin.StartTOTP(w.ctx, w.principal(r.SessionToken), "Phone", client); err != nil {
		t.Fatal(err)
	}
	// Still a password-only account: no challenge, no backup codes.
	w.mustLogin("acme", "alice", signin.StatusAuthenticated)
	if codes, _ := w.store.ListBackupCodes(w.ctx, u.ID); len(codes) != 0 {
		t.Fatalf("a pending factor issued %d backup codes", len(codes))
	}
	ov, err := w.signin.Overview(w.ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if ov.Enrolled {
		t.Fatal("Overview says enrolled with only a pending factor")
	}
}

func TestAPendingAuthenticatorOlderThanTenMinutesCannotBeConfirmed(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	w.user("acme", "alice")
	r := w.mustLogin("acme", "alice", signin.StatusAuthenticated)
	p := w.principal(r.SessionToken)
	e, err := w.signin.StartTOTP(w.ctx, p, "Phone", client)
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := totp.DecodeSecret(e.Secret)
	a := authenticator{factorID: e.FactorID, secret: secret, v: w.totp}

	w.clock.Advance(10*time.Minute + time.Second)
	p = w.principal(r.SessionToken)
	_, err = w.signin.ConfirmTOTP(w.ctx, p, e.FactorID, a.code(w.clock.Now(), 0), client)
	wantCode(t, err, "factor_not_pending")
	w.mustLogin("acme", "alice", signin.StatusAuthenticated)

	// A fresh one, confirmed in time, works.
	e2, err := w.signin.StartTOTP(w.ctx, p, "Phone", client)
	if err != nil {
		t.Fatal(err)
	}
	secret2, _ := totp.DecodeSecret(e2.Secret)
	w.clock.Advance(9 * time.Minute)
	if _, err := w.signin.ConfirmTOTP(w.ctx, w.principal(r.SessionToken), e2.FactorID, w.totp.Code(secret2, w.totp.Step(w.clock.Now())), client); err != nil {
		t.Fatalf("confirm within ten minutes: %v", err)
	}
	w.mustLogin("acme", "alice", signin.StatusMFARequired)
}

func TestConfirmingWithAWrongCodeLeavesTheFactorPending(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	w.user("acme", "alice")
	r := w.mustLogin("acme", "alice", signin.StatusAuthenticated)
	p := w.principal(r.SessionToken)
	e, err := w.signin.StartTOTP(w.ctx, p, "", client)
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := totp.DecodeSecret(e.Secret)
	codes, err := w.signin.ConfirmTOTP(w.ctx, p, e.FactorID, wrongCode(authenticator{secret: secret, v: w.totp}, w.clock.Now()), client)
	wantCode(t, err, "invalid_code")
	if codes != nil {
		t.Fatal("a wrong confirmation code returned backup codes")
	}
	w.mustLogin("acme", "alice", signin.StatusAuthenticated)
}

func TestAUserCanHaveTwoAuthenticatorAppsWithLabels(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	u, phone, codes := w.enrolledUser("acme", "alice")

	// Adding a second app needs a recent second-factor check: a full
	// sign-in gives one.
	s := w.fullSession("acme", "alice", phone)
	tablet, more := w.enroll(s.SessionToken, "Tablet")
	if more != nil {
		t.Fatalf("confirming a second factor issued %d new backup codes", len(more))
	}
	ov, err := w.signin.Overview(w.ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, f := range ov.Factors {
		if !f.Confirmed() {
			t.Fatalf("factor %s not confirmed", f.ID)
		}
		if f.Secret != nil {
			t.Fatal("Overview exposes a sealed secret")
		}
		labels = append(labels, f.Label)
	}
	if !slices.Equal(labels, []string{"Phone", "Tablet"}) {
		t.Fatalf("labels = %v, want [Phone Tablet]", labels)
	}
	if ov.BackupCodesLeft != len(codes) {
		t.Fatalf("backup codes left = %d, want %d", ov.BackupCodesLeft, len(codes))
	}
	// Either app's code completes a sign-in.
	for _, a := range []authenticator{phone, tablet} {
		r := w.fullSession("acme", "alice", a)
		if r.Status != signin.StatusAuthenticated {
			t.Fatalf("status %q", r.Status)
		}
	}
}

func TestAddingASecondAppWithoutARecentCodeCheckIsRefused(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	_, phone, _ := w.enrolledUser("acme", "alice")
	s := w.fullSession("acme", "alice", phone)
	w.clock.Advance(16 * time.Minute)
	_, err := w.signin.StartTOTP(w.ctx, w.principal(s.SessionToken), "Tablet", client)
	wantCode(t, err, "reauthentication_required")
}

func TestAFlowTokenIsNotASession(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	w.enrolledUser("acme", "alice")
	flow := w.flow("acme", "alice")
	_, err := w.signin.Authenticate(w.ctx, flow)
	wantCode(t, err, "unauthenticated")
	// Nor can an MFA flow set up a factor.
	_, err = w.signin.EnrollTOTP(w.ctx, flow, "Attacker phone", client)
	wantCode(t, err, "invalid_flow")
	// And the flow still answers its challenge afterwards.
	if _, err := w.signin.Flow(w.ctx, flow); err != nil {
		t.Fatalf("flow after refused misuse: %v", err)
	}
}

func TestAnEnrollmentFlowCannotAddAFactorOnceTheAccountHasOne(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	w.newUser(admin.NewUser{OrgSlug: "acme", Username: "alice", Password: testPassword, MFARequired: true})
	first := w.mustLogin("acme", "alice", signin.StatusEnrollmentRequired)
	second := w.mustLogin("acme", "alice", signin.StatusEnrollmentRequired)
	if _, err := w.signin.Authenticate(w.ctx, first.FlowToken); errCode(err) != "unauthenticated" {
		t.Fatalf("an enrollment flow authenticated as a session: %v", err)
	}

	// The first flow enrolls the account's first factor.
	e, err := w.signin.EnrollTOTP(w.ctx, first.FlowToken, "Phone", client)
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := totp.DecodeSecret(e.Secret)
	res, err := w.signin.EnrollConfirm(w.ctx, first.FlowToken, e.FactorID, w.totp.Code(secret, w.totp.Step(w.clock.Now())), client)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != signin.StatusAuthenticated || len(res.BackupCodes) != 10 {
		t.Fatalf("enroll confirm: status %q with %d backup codes", res.Status, len(res.BackupCodes))
	}

	// The other partial sign-in may no longer add anything: the first
	// factor ended it.
	_, err = w.signin.EnrollTOTP(w.ctx, second.FlowToken, "Attacker phone", client)
	wantCode(t, err, "invalid_flow")
	_, err = w.signin.EnrollTOTP(w.ctx, first.FlowToken, "Again", client)
	wantCode(t, err, "invalid_flow")
	w.mustLogin("acme", "alice", signin.StatusMFARequired)
}

func TestAnEnrollmentFlowCannotConfirmAFactorStartedElsewhereOnceOneIsConfirmed(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	w.newUser(admin.NewUser{OrgSlug: "acme", Username: "alice", Password: testPassword, MFARequired: true})
	first := w.mustLogin("acme", "alice", signin.StatusEnrollmentRequired)
	second := w.mustLogin("acme", "alice", signin.StatusEnrollmentRequired)
	// Both partial sign-ins start a factor before either confirms.
	e1, err := w.signin.EnrollTOTP(w.ctx, first.FlowToken, "Phone", client)
	if err != nil {
		t.Fatal(err)
	}
	e2, err := w.signin.EnrollTOTP(w.ctx, second.FlowToken, "Other", client)
	if err != nil {
		t.Fatal(err)
	}
	s1, _ := totp.DecodeSecret(e1.Secret)
	s2, _ := totp.DecodeSecret(e2.Secret)
	if _, err := w.signin.EnrollConfirm(w.ctx, first.FlowToken, e1.FactorID, w.totp.Code(s1, w.totp.Step(w.clock.Now())), client); err != nil {
		t.Fatal(err)
	}
	_, err = w.signin.EnrollConfirm(w.ctx, second.FlowToken, e2.FactorID, w.totp.Code(s2, w.totp.Step(w.clock.Now())), client)
	wantCode(t, err, "invalid_flow") // the first factor ended every other sign-in in flight
}
