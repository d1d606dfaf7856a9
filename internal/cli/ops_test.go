package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twofold-id/twofold/internal/app"
	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/factor/backup"
	"github.com/twofold-id/twofold/internal/password"
)

// runWith runs one twofold command with env vars and cheap hashing.
func runWith(t *testing.T, vars map[string]string, stdin string, args ...string) (string, string, int) {
	t.Helper()
	pp := password.TestParams()
	var stdout, stderr bytes.Buffer
	env := Env{Stdin: strings.NewReader(stdin), Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return vars[k] },
		Environ: func() []string {
			var out []string
			for k, v := range vars {
				out = append(out, k+"="+v)
			}
			return out
		},
		Open: func(ctx context.Context, cfg config.Config, log *slog.Logger) (*app.App, error) {
			return app.Open(ctx, cfg, log, app.Options{PasswordParams: &pp, BackupParams: &backup.Params{Memory: 64, Time: 1, Threads: 1}})
		}}
	code := Main(args, env)
	return stdout.String(), stderr.String(), code
}

func TestVersionPrintsTextAndJSON(t *testing.T) {
	out, _, code := runWith(t, nil, "", "version")
	if code != 0 || !strings.HasPrefix(out, "twofold ") || !strings.Contains(out, "go1.") {
		t.Fatalf("version: exit %d: %q", code, out)
	}
	out, _, code = runWith(t, nil, "", "--version", "--json")
	var v struct {
		Version   string `json:"version"`
		GoVersion string `json:"go_version"`
	}
	if err := json.Unmarshal([]byte(out), &v); code != 0 || err != nil || v.Version == "" || v.GoVersion == "" {
		t.Fatalf("version --json: exit %d, %v: %q", code, err, out)
	}
}

func TestConfigCheckPassesTheExampleFileAndFailsInsecureOnes(t *testing.T) {
	dir := t.TempDir()
	out, errOut, code := runWith(t, map[string]string{"TWOFOLD_DATA_DIR": dir}, "", "config", "check", "--config", "../../deploy/twofold.env", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "configuration OK") {
		t.Fatalf("example file: exit %d\n%s%s", code, out, errOut)
	}

	bad := filepath.Join(dir, "bad.env")
	os.WriteFile(bad, []byte("TWOFOLD_LISTEN=0.0.0.0:8080\nTWOFOLD_SMTP_HOST=smtp.example.com\nTWOFOLD_SMTP_TLS=none\nTWOFOLD_SMTP_FORM=x\n"), 0o600)
	out, errOut, code = runWith(t, nil, "", "config", "check", "--config", bad)
	if code != 1 {
		t.Fatalf("insecure file: exit %d\n%s", code, out)
	}
	for _, want := range []string{
		`error: config file ` + bad + `:4: unknown key "TWOFOLD_SMTP_FORM" (did you mean TWOFOLD_SMTP_FROM?)`,
		"insecure: smtp-tls=none sends mail, codes and the SMTP password in plain text to smtp.example.com",
		"insecure: the server listens on 0.0.0.0:8080 (every interface) but its public URL is http://0.0.0.0:8080",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "problem(s) to fix") {
		t.Errorf("stderr: %q", errOut)
	}

	out, _, code = runWith(t, map[string]string{"TWOFOLD_LISTEN": "0.0.0.0:8080"}, "", "config", "check", "--json")
	var res struct {
		OK       bool `json:"ok"`
		Problems []struct {
			Severity, Key, Message string
		} `json:"problems"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 1 || res.OK || len(res.Problems) != 1 ||
		res.Problems[0].Severity != "insecure" || res.Problems[0].Key != "TWOFOLD_PUBLIC_URL" {
		t.Fatalf("--json: exit %d, %v: %s", code, err, out)
	}
}

func TestConfigCheckSeesWhatTheServerWouldRefuse(t *testing.T) {
	for _, tc := range []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{"TWOFOLD_SECRET_KEY": "not a key"}, "secret-key"},
		{map[string]string{"TWOFOLD_SMS_PROVIDER": "webhook", "TWOFOLD_SMS_WEBHOOK_URL": "https://sms.example.com"}, "sms webhook"},
		{map[string]string{"TWOFOLD_DATABASE_URL": "postgres://127.0.0.1/x", "TWOFOLD_DATA_DIR": t.TempDir()}, "same key"},
	} {
		out, _, code := runWith(t, tc.vars, "", "config", "check")
		if code != 1 || !strings.Contains(out, tc.want) {
			t.Errorf("%v: exit %d:\n%s", tc.vars, code, out)
		}
	}
}

func TestListingCommandsPrintJSON(t *testing.T) {
	dir := t.TempDir()
	must := func(stdin string, args ...string) string {
		t.Helper()
		out, errOut, code := runWith(t, nil, stdin, append(args, "--data-dir", dir)...)
		if code != 0 {
			t.Fatalf("twofold %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return out
	}
	decode := func(out string, v any) {
		t.Helper()
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
	}
	var org map[string]any
	decode(must("", "org", "create", "--slug", "acme", "--name", "Acme", "--mfa", "required", "--json"), &org)
	if org["slug"] != "acme" || org["policy"].(map[string]any)["mfa"] != "required" {
		t.Fatalf("org create --json: %v", org)
	}
	var orgs []map[string]any
	decode(must("", "org", "list", "--json"), &orgs)
	if len(orgs) != 2 || orgs[0]["slug"] != "platform" || orgs[1]["slug"] != "acme" || orgs[1]["depth"].(float64) != 1 {
		t.Fatalf("org list --json: %v", orgs)
	}
	var user map[string]any
	decode(must("a long passphrase\n", "user", "create", "--org", "acme", "--username", "alice", "--email", "alice@example.com", "--password-stdin", "--json"), &user)
	if user["username"] != "alice" || user["role"] != "member" {
		t.Fatalf("user create --json: %v", user)
	}
	var users []map[string]any
	decode(must("", "user", "list", "--org", "acme", "--json"), &users)
	if len(users) != 1 || users[0]["email"] != "alice@example.com" || users[0]["id"] != user["id"] {
		t.Fatalf("user list --json: %v", users)
	}
	decode(must("", "user", "set", "--org", "acme", "--username", "alice", "--mfa-required=true", "--json"), &user)
	if user["mfa_required"] != true {
		t.Fatalf("user set --json: %v", user)
	}
	var factors map[string]any
	decode(must("", "user", "factors", "--org", "acme", "--username", "alice", "--json"), &factors)
	if fs, ok := factors["factors"].([]any); !ok || len(fs) != 0 || factors["mfa_required"] != true {
		t.Fatalf("user factors --json: %v", factors)
	}
	var key map[string]any
	decode(must("", "apikey", "create", "--org", "acme", "--name", "ci", "--json"), &key)
	if tok, _ := key["token"].(string); !strings.HasPrefix(tok, "tfk_") || key["org"].(map[string]any)["slug"] != "acme" {
		t.Fatalf("apikey create --json: %v", key)
	}
	var keys []map[string]any
	decode(must("", "apikey", "list", "--json"), &keys)
	if len(keys) != 1 || keys[0]["id"] != key["id"] || keys[0]["token"] != nil || keys[0]["revoked_at"] != nil {
		t.Fatalf("apikey list --json: %v", keys)
	}
	decode(must("", "apikey", "revoke", "--id", key["id"].(string), "--json"), &key)
	if key["revoked_at"] == nil {
		t.Fatalf("apikey revoke --json: %v", key)
	}
	var pol map[string]any
	decode(must("", "org", "set-policy", "--org", "acme", "--mfa", "optional", "--json"), &pol)
	if pol["effective"].(map[string]any)["mfa"] != "optional" {
		t.Fatalf("org set-policy --json: %v", pol)
	}
	decode(must("", "org", "create", "--slug", "locked", "--name", "Locked", "--mfa", "required", "--locked", "--json"), &org)
	decode(must("", "org", "show", "--org", "locked", "--json"), &pol)
	if p := pol["policy"].(map[string]any); p["locked"] != true || p["lock_scope"] == "" || pol["effective"].(map[string]any)["mfa"] != "required" {
		t.Fatalf("org show --json: %v", pol)
	}
	// An empty list is [], not null.
	if out := must("", "user", "list", "--org", "platform", "--json"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("empty user list: %q", out)
	}
}

func TestTheBannerSuggestsACommandThatWorks(t *testing.T) {
	for _, tc := range []struct{ arg0, want string }{
		{"/tmp/go-build1234567/b001/exe/twofold", "go run ./cmd/twofold"},
		{`C:\Users\x\AppData\Local\Temp\go-build99\b001\exe\twofold.exe`, "go run ./cmd/twofold"},
		{"twofold", "twofold"},
		{"./twofold", "./twofold"},
		{"/usr/local/bin/twofold", "/usr/local/bin/twofold"},
		{"/opt/my tools/twofold", "'/opt/my tools/twofold'"},
	} {
		if got := selfCommand(tc.arg0); got != tc.want {
			t.Errorf("selfCommand(%q) = %q, want %q", tc.arg0, got, tc.want)
		}
	}
	kept, secret := storeFlags([]string{"--listen", ":9000", "--data-dir", "/srv/two fold", "--config=/etc/t.env", "--database-url", "postgres://u:pw@h/db", "-key-file", "k"})
	if got := strings.Join(kept, " "); got != "--data-dir '/srv/two fold' --config /etc/t.env --key-file k" || !secret {
		t.Fatalf("storeFlags = %q, secret %t", got, secret)
	}
	if strings.Contains(strings.Join(kept, " "), "pw") {
		t.Fatal("a secret is repeated")
	}
}

func TestHealthcheckAsksTheServer(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	pp := password.TestParams()
	a, err := app.Open(t.Context(), cfg, slog.New(slog.DiscardHandler), app.Options{PasswordParams: &pp})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	out, errOut, code := runWith(t, nil, "", "healthcheck", "--data-dir", dir, "--listen", "0.0.0.0:"+port)
	if code != 0 || !strings.Contains(out, `"status":"ok"`) {
		t.Fatalf("healthy server: exit %d: %s%s", code, out, errOut)
	}
	srv.Close()
	if _, errOut, code := runWith(t, nil, "", "healthcheck", "--data-dir", dir, "--listen", "127.0.0.1:"+port); code != 1 || !strings.Contains(errOut, "unhealthy") {
		t.Fatalf("stopped server: exit %d: %s", code, errOut)
	}
}

// TestTheBannerCommandRuns runs the command the start-up banner suggests,
// word for word, and finds the admin it made in the server's data.
func TestTheBannerCommandRuns(t *testing.T) {
	dir := t.TempDir()
	kept, _ := storeFlags([]string{"--listen", "127.0.0.1:9999", "--data-dir", dir})
	notice := app.SetupNotice("http://x/setup?token=t", "twofold", strings.Join(kept, " "))
	var line string
	for _, l := range strings.Split(notice, "\n") {
		if strings.Contains(l, "user create") {
			line = strings.TrimSpace(l)
		}
	}
	words := strings.Fields(line)
	if len(words) < 3 || words[0] != "twofold" {
		t.Fatalf("banner line %q", line)
	}
	if _, errOut, code := runWith(t, nil, "a long passphrase\n", words[1:]...); code != 0 {
		t.Fatalf("%s: exit %d: %s", line, code, errOut)
	}
	out, _, _ := runWith(t, nil, "", "user", "list", "--org", "platform", "--data-dir", dir)
	if !strings.Contains(out, "admin") {
		t.Fatalf("no admin in the server's data after %q:\n%s", line, out)
	}
}
