package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/factor/totp"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// TestKeysRotateReencryptsSecretsWhileAServerKeepsRunning enrolls an
// authenticator app through a running App, rotates the key from the command
// line, and checks that the stored secret moved to the new key and that the
// App — which loaded only the old key — still verifies codes.
func TestKeysRotateReencryptsSecretsWhileAServerKeepsRunning(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, dir, "", "org", "create", "--slug", "acme", "--name", "Acme Corp")
	mustRun(t, dir, testPassword+"\n", "user", "create", "--org", "acme", "--username", "alice", "--password-stdin")
	a := open(t, dir) // the running server
	ctx := context.Background()
	r, err := login(t, a, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Signin.Authenticate(ctx, r.SessionToken)
	if err != nil {
		t.Fatal(err)
	}
	e, err := a.Signin.StartTOTP(ctx, p, "Phone", signin.Client{})
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := totp.DecodeSecret(e.Secret)
	v := totp.Default()
	now := time.Now()
	if _, err := a.Signin.ConfirmTOTP(ctx, p, e.FactorID, v.Code(secret, v.Step(now)), signin.Client{}); err != nil {
		t.Fatal(err)
	}
	before, _ := a.Store.GetFactor(ctx, e.FactorID)

	out := mustRun(t, dir, "", "keys", "rotate")
	if !strings.Contains(out, "1 secrets re-encrypted") {
		t.Fatalf("keys rotate said:\n%s", out)
	}
	after, _ := a.Store.GetFactor(ctx, e.FactorID)
	if after.KeyID == before.KeyID || string(after.Secret) == string(before.Secret) {
		t.Fatalf("the secret stayed under key %s", before.KeyID)
	}
	keyFile, err := os.ReadFile(filepath.Join(dir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	var first string
	for _, line := range strings.Split(string(keyFile), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			first, _, _ = strings.Cut(line, ":")
			break
		}
	}
	if first != after.KeyID {
		t.Fatalf("active key in the file is %q, secret is under %q", first, after.KeyID)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "secret.key")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v after rotation", fi.Mode().Perm())
	}

	// The running App never saw the new key; it must still sign alice in.
	r, err = login(t, a, testPassword)
	if err != nil || r.Status != signin.StatusMFARequired {
		t.Fatalf("login after rotation: %v %q", err, r.Status)
	}
	// The next step's code: within the ±1 window, and not a replay.
	if _, err := a.Signin.Verify(ctx, r.FlowToken, totp.Kind, v.Code(secret, v.Step(now)+1), signin.Client{}); err != nil {
		t.Fatalf("verify after rotation on the running server: %v", err)
	}
	evs, _ := a.Store.ListAudit(ctx, store.AuditFilter{Event: "keys.rotate"})
	if len(evs) != 1 {
		t.Fatalf("%d keys.rotate audit events", len(evs))
	}
}

// `twofold keys rotate` also seals the OpenID Connect signing keys under
// the new secret key; a running server, which loaded only the old secret
// key, keeps signing with them.
func TestKeysRotateResealsTheOIDCSigningKeys(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, dir, "", "org", "create", "--slug", "acme", "--name", "Acme Corp")
	a := open(t, dir) // the running server
	ctx := context.Background()
	if err := a.SigningKeys().Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	before, err := a.Store.ListSigningKeys(ctx)
	if err != nil || len(before) != 2 {
		t.Fatalf("signing keys: %d, %v", len(before), err)
	}
	signer, err := a.SigningKeys().Active(ctx)
	if err != nil {
		t.Fatal(err)
	}

	out := mustRun(t, dir, "", "keys", "rotate")
	if !strings.Contains(out, "2 secrets re-encrypted") {
		t.Fatalf("keys rotate said:\n%s", out)
	}
	after, err := a.Store.ListSigningKeys(ctx)
	if err != nil || len(after) != 2 {
		t.Fatalf("signing keys after: %d, %v", len(after), err)
	}
	for i := range after {
		if after[i].ID != before[i].ID || after[i].KeyID == before[i].KeyID {
			t.Errorf("signing key %s is still under secret key %s", after[i].ID, after[i].KeyID)
		}
	}
	// A fresh view of the keys (no cache) opens them under the new key,
	// which the running App reads from the key file.
	again, err := a.SigningKeys().Active(ctx)
	if err != nil {
		t.Fatalf("opening the resealed key on the running server: %v", err)
	}
	if again.ID() != signer.ID() {
		t.Errorf("the signing key changed: %s → %s", signer.ID(), again.ID())
	}
	// Nothing left to move: a second rotation reseals the two again, not more.
	out = mustRun(t, dir, "", "keys", "rotate")
	if !strings.Contains(out, "2 secrets re-encrypted") {
		t.Fatalf("second keys rotate said:\n%s", out)
	}
}
