package signin_test

import (
	"bytes"
	"encoding/base32"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/factor/totp"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

func TestTOTPSecretsAreNotStoredInPlaintext(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	_, a, codes := w.enrolledUser("acme", "alice")
	f, err := w.store.GetFactor(w.ctx, a.factorID)
	if err != nil {
		t.Fatal(err)
	}
	b32 := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(a.secret)
	if bytes.Contains(f.Secret, a.secret) || bytes.Contains(f.Secret, []byte(b32)) || f.KeyID == "" {
		t.Fatalf("factor row holds the secret in the clear (key id %q)", f.KeyID)
	}
	// Nor anywhere in the database files.
	for _, p := range []string{w.path, w.path + "-wal"} {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if bytes.Contains(data, a.secret) || bytes.Contains(data, []byte(b32)) || bytes.Contains(bytes.ToLower(data), []byte(strings.ToLower(b32))) {
			t.Fatalf("%s contains the TOTP secret", p)
		}
		for _, c := range codes {
			if bytes.Contains(data, []byte(c)) || bytes.Contains(data, []byte(strings.ReplaceAll(c, "-", ""))) {
				t.Fatalf("%s contains backup code %q", p, c)
			}
		}
	}
}

func TestASealedSecretCopiedToAnotherFactorDoesNotOpen(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	_, alice, _ := w.enrolledUser("acme", "alice")
	_, bob, _ := w.enrolledUser("acme", "bob")
	fa, err := w.store.GetFactor(w.ctx, alice.factorID)
	if err != nil {
		t.Fatal(err)
	}
	fb, err := w.store.GetFactor(w.ctx, bob.factorID)
	if err != nil {
		t.Fatal(err)
	}
	// Someone with write access to the database gives Bob's factor the
	// ciphertext of Alice's, hoping to sign in as Bob with Alice's phone.
	if ok, err := w.store.UpdateFactorSecret(w.ctx, fb.ID, fb.KeyID, fa.Secret, fa.KeyID); err != nil || !ok {
		t.Fatalf("tamper: %v %v", ok, err)
	}
	for name, a := range map[string]authenticator{"alice's phone": alice, "bob's phone": bob} {
		r, err := w.signin.Verify(w.ctx, w.flow("acme", "bob"), totp.Kind, a.code(w.clock.Now(), 0), client)
		t.Logf("%s: %v", name, err)
		if err == nil || r.SessionToken != "" {
			t.Fatalf("%s's code signed Bob in with a moved ciphertext", name)
		}
	}
	// Alice's own factor is untouched.
	if _, err := w.signin.Verify(w.ctx, w.flow("acme", "alice"), totp.Kind, alice.code(w.clock.Now(), 0), client); err != nil {
		t.Fatalf("alice: %v", err)
	}
}

func TestTheAuditLogTellsTheStoryOfASignInWithoutItsSecrets(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	u := w.user("acme", "alice")
	first := w.mustLogin("acme", "alice", signin.StatusAuthenticated)
	p := w.principal(first.SessionToken)
	e, err := w.signin.StartTOTP(w.ctx, p, "Phone", client)
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := totp.DecodeSecret(e.Secret)
	a := authenticator{factorID: e.FactorID, secret: secret, v: w.totp}
	confirm := a.code(w.clock.Now(), 0)
	backupCodes, err := w.signin.ConfirmTOTP(w.ctx, p, e.FactorID, confirm, client)
	if err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(30 * time.Second)

	flow := w.flow("acme", "alice")
	bad := wrongCode(a, w.clock.Now())
	_, err = w.signin.Verify(w.ctx, flow, totp.Kind, bad, client)
	wantCode(t, err, "invalid_code")
	good := a.code(w.clock.Now(), 0)
	r, err := w.signin.Verify(w.ctx, flow, totp.Kind, good, client)
	if err != nil {
		t.Fatal(err)
	}

	evs, err := w.store.ListAudit(w.ctx, store.AuditFilter{UserID: u.ID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	has := func(event, outcome string) bool {
		for _, e := range evs {
			if e.Event == event && e.Outcome == outcome && e.TargetUserID == u.ID && e.IP == client.IP {
				return true
			}
		}
		return false
	}
	for _, want := range [][2]string{
		{"signin.password", "success"},
		{"signin.second_factor", "failure"},
		{"signin.second_factor", "success"},
		{"signin.completed", "success"},
		{"factor.add", "success"},
		{"factor.confirm", "success"},
		{"backup_code.regenerate", "success"},
	} {
		if !has(want[0], want[1]) {
			t.Errorf("no %s %s event for alice in the audit log", want[0], want[1])
		}
	}

	secrets := []string{testPassword, e.Secret, e.SecretGrouped, strings.ToLower(e.Secret), confirm, bad, good,
		first.SessionToken, r.SessionToken, flow}
	secrets = append(secrets, backupCodes...)
	logs := w.log.String()
	if !strings.Contains(logs, "signin.second_factor") {
		t.Fatal("the captured log has no audit lines; the check below would prove nothing")
	}
	for _, s := range secrets {
		for _, e := range evs {
			if strings.Contains(e.Detail, s) || strings.Contains(e.UserAgent, s) {
				t.Errorf("audit event %s detail %q contains a secret", e.Event, e.Detail)
			}
		}
		if strings.Contains(logs, s) {
			t.Errorf("the log contains the secret %.6q…", s)
		}
	}
}
