package cli_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/twofold-id/twofold/internal/app"
	"github.com/twofold-id/twofold/internal/cli"
	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/factor/backup"
	"github.com/twofold-id/twofold/internal/password"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

const testPassword = "correct horse battery staple"

// run runs one twofold command on dir with cheap hashing.
func run(t *testing.T, dir, stdin string, args ...string) (string, string, int) {
	t.Helper()
	pp := password.TestParams()
	var stdout, stderr bytes.Buffer
	env := cli.Env{Stdin: strings.NewReader(stdin), Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" },
		Open: func(ctx context.Context, cfg config.Config, log *slog.Logger) (*app.App, error) {
			return app.Open(ctx, cfg, log, app.Options{PasswordParams: &pp, BackupParams: &backup.Params{Memory: 64, Time: 1, Threads: 1}})
		}}
	code := cli.Main(append(args, "--data-dir", dir), env)
	return stdout.String(), stderr.String(), code
}

func mustRun(t *testing.T, dir, stdin string, args ...string) string {
	t.Helper()
	out, errOut, code := run(t, dir, stdin, args...)
	if code != 0 {
		t.Fatalf("twofold %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// open opens the App the commands acted on.
func open(t *testing.T, dir string) *app.App {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = dir
	pp := password.TestParams()
	a, err := app.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), app.Options{PasswordParams: &pp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func login(t *testing.T, a *app.App, pw string) (signin.Result, error) {
	t.Helper()
	return a.Signin.Login(context.Background(), signin.LoginRequest{Org: "acme", Username: "alice", Password: pw}, signin.Client{IP: "192.0.2.1"})
}

func TestTheOperatorCreatesOrgsAndUsersThatCanSignIn(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, dir, "", "org", "create", "--slug", "reseller", "--name", "Reseller")
	mustRun(t, dir, "", "org", "create", "--slug", "acme", "--name", "Acme Corp", "--parent", "reseller")
	mustRun(t, dir, testPassword+"\n", "user", "create", "--org", "acme", "--username", "Alice", "--email", "alice@example.com", "--password-stdin")
	if out := mustRun(t, dir, "", "org", "list"); !strings.Contains(out, "acme") || !strings.Contains(out, "reseller") {
		t.Fatalf("org list:\n%s", out)
	}
	if out := mustRun(t, dir, "", "user", "list", "--org", "acme"); !strings.Contains(out, "Alice") || !strings.Contains(out, "alice@example.com") {
		t.Fatalf("user list:\n%s", out)
	}
	// A second "alice" is the same name.
	if _, errOut, code := run(t, dir, testPassword+"\n", "user", "create", "--org", "acme", "--username", "ALICE", "--password-stdin"); code == 0 {
		t.Fatal("a second user ALICE was created next to Alice")
	} else if strings.Contains(errOut, "panic") {
		t.Fatal(errOut)
	}
	for _, bad := range [][]string{
		{"org", "create", "--slug", "Bad Slug!", "--name", "x"},
		{"org", "create", "--slug", "acme", "--name", "Again"},
		{"user", "create", "--org", "nosuch", "--username", "bob"},
	} {
		if _, _, code := run(t, dir, "", bad...); code == 0 {
			t.Errorf("twofold %s succeeded", strings.Join(bad, " "))
		}
	}
	a := open(t, dir)
	r, err := login(t, a, testPassword)
	if err != nil || r.Status != signin.StatusAuthenticated {
		t.Fatalf("login: %v %+v", err, r.Status)
	}
	// The changes are in the audit log.
	evs, err := a.Store.ListAudit(context.Background(), store.AuditFilter{Event: "user.create"})
	if err != nil || len(evs) != 1 {
		t.Fatalf("user.create events: %d %v", len(evs), err)
	}
}

func TestSetPasswordFromTheCommandLineSignsTheUserOut(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, dir, "", "org", "create", "--slug", "acme", "--name", "Acme Corp")
	mustRun(t, dir, testPassword+"\n", "user", "create", "--org", "acme", "--username", "alice", "--password-stdin")
	a := open(t, dir)
	r, err := login(t, a, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	mustRun(t, dir, "a brand new password\n", "user", "set-password", "--org", "acme", "--username", "alice", "--password-stdin")
	if _, err := a.Signin.Authenticate(context.Background(), r.SessionToken); err == nil {
		t.Fatal("the session survived a password change")
	}
	if _, err := login(t, a, testPassword); err == nil {
		t.Fatal("the old password still works")
	}
	if _, err := login(t, a, "a brand new password"); err != nil {
		t.Fatal(err)
	}
	if _, _, code := run(t, dir, "short\n", "user", "set-password", "--org", "acme", "--username", "alice", "--password-stdin"); code == 0 {
		t.Fatal("a 5-character password was accepted")
	}
}

func TestResetMFAAndUnlockFromTheCommandLine(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, dir, "", "org", "create", "--slug", "acme", "--name", "Acme Corp")
	mustRun(t, dir, testPassword+"\n", "user", "create", "--org", "acme", "--username", "alice", "--password-stdin")
	a := open(t, dir)
	ctx := context.Background()
	r, err := login(t, a, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Signin.Authenticate(ctx, r.SessionToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Signin.StartTOTP(ctx, p, "Phone", signin.Client{}); err != nil {
		t.Fatal(err)
	}
	// Stand alice's counter at a lock.
	if _, err := a.Store.UpdateAttempts(ctx, p.User.ID, func(at store.Attempts) (store.Attempts, error) {
		at.Failures = 100
		return at, nil
	}); err != nil {
		t.Fatal(err)
	}
	mustRun(t, dir, "", "user", "unlock", "--org", "acme", "--username", "alice")
	if at, _ := a.Store.GetAttempts(ctx, p.User.ID); at.Failures != 0 || at.LockedUntil != nil {
		t.Fatalf("after unlock: %+v", at)
	}
	if out := mustRun(t, dir, "", "user", "factors", "--org", "acme", "--username", "alice"); !strings.Contains(out, "Phone") {
		t.Fatalf("user factors:\n%s", out)
	}
	mustRun(t, dir, "", "user", "reset-mfa", "--org", "acme", "--username", "alice")
	if fs, _ := a.Store.ListFactors(ctx, p.User.ID); len(fs) != 0 {
		t.Fatalf("%d factors after reset-mfa", len(fs))
	}
	if _, err := a.Signin.Authenticate(ctx, r.SessionToken); err == nil {
		t.Fatal("the session survived reset-mfa")
	}
	evs, _ := a.Store.ListAudit(ctx, store.AuditFilter{UserID: p.User.ID, Event: "mfa."})
	var names []string
	for _, e := range evs {
		names = append(names, e.Event)
	}
	if !strings.Contains(strings.Join(names, " "), "mfa.reset") || !strings.Contains(strings.Join(names, " "), "mfa.unlock") {
		t.Fatalf("audit events %v lack mfa.reset and mfa.unlock", names)
	}
}
