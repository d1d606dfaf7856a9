package loadtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/app"
	"github.com/twofold-id/twofold/internal/cli"
	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/factor/backup"
	"github.com/twofold-id/twofold/internal/loadtest"
	"github.com/twofold-id/twofold/internal/password"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// server starts Twofold in this process (cheap hashing; the load client is
// a trusted proxy, so each simulated user has its own address) and returns
// its URL and an admin API key of the root org.
func server(t *testing.T) (url, key string) {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.TrustProxy = true
	pp := password.TestParams()
	a, err := app.Open(t.Context(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)),
		app.Options{PasswordParams: &pp, BackupParams: &backup.Params{Memory: 64, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if _, _, err := a.EnsureRoot(t.Context()); err != nil {
		t.Fatal(err)
	}
	sys, err := a.Admin.System(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	_, tok, err := a.Admin.CreateAPIKey(t.Context(), sys, admin.NewAPIKey{OrgSlug: app.RootSlug, Name: "load test", Role: store.RoleAdmin},
		signin.Client{IP: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return srv.URL, tok
}

// run runs `twofold loadtest … --json` and returns the report.
func run(t *testing.T, args ...string) loadtest.Report {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := cli.Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
	args = append([]string{"loadtest", "--json", "--argon-memory-kib", "8", "--argon-time", "1", "--bound-time", "200ms",
		"--server-pid", strconv.Itoa(os.Getpid())}, args...)
	if code := cli.Main(args, env); code != 0 {
		t.Fatalf("twofold %s: exit %d\n%s", strings.Join(args, " "), code, stderr.String())
	}
	var r loadtest.Report
	dec := json.NewDecoder(&stdout)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("the report is not JSON of the Report shape: %v\n%s", err, stdout.String())
	}
	return r
}

// wantShape checks what every report holds.
func wantShape(t *testing.T, r loadtest.Report, mode string, steps ...string) {
	t.Helper()
	if r.Mode != mode || r.Users == 0 || r.Org == "" || r.DurationS <= 0 {
		t.Errorf("report head: mode %q, %d users, org %q, %.1fs", r.Mode, r.Users, r.Org, r.DurationS)
	}
	if r.Completed == 0 || r.PerSecond <= 0 {
		t.Errorf("nothing completed: %d, %.1f/s", r.Completed, r.PerSecond)
	}
	if r.Bound.Cores == 0 || r.Bound.OneHashMS <= 0 || r.Bound.PerSecond <= 0 || r.Bound.ParallelPerSecond <= 0 || r.BoundAfter.PerSecond <= 0 {
		t.Errorf("hash bound: %+v, after %+v", r.Bound, r.BoundAfter)
	}
	if len(r.Steps) != len(steps) {
		t.Fatalf("steps %+v, want %v", r.Steps, steps)
	}
	for i, s := range r.Steps {
		if s.Name != steps[i] || s.Count == 0 || s.P50MS <= 0 || s.P50MS > s.P95MS || s.P95MS > s.P99MS || s.P99MS > s.MaxMS {
			t.Errorf("step %d: %+v", i, s)
		}
	}
	if r.Healthz.Count == 0 {
		t.Errorf("/healthz was not probed: %+v", r.Healthz)
	}
	if r.ErrorCount != 0 || len(r.Errors) != 0 {
		t.Errorf("%d errors: %+v", r.ErrorCount, r.Errors)
	}
	if len(r.Answers) == 0 {
		t.Error("no answers counted")
	}
	if r.Server == nil || r.Server.Error != "" || r.Server.PeakRSSMiB <= 0 || r.Server.MaxSampledRSSMiB <= 0 || r.Server.CPUSeconds <= 0 {
		t.Errorf("server: %+v", r.Server)
	}
	if r.Client.CPUSeconds <= 0 || r.Client.PercentOfOneCore <= 0 {
		t.Errorf("client: %+v", r.Client)
	}
	if len(r.LoadBefore) != 3 || len(r.LoadAfter) != 3 {
		t.Errorf("load averages %v %v", r.LoadBefore, r.LoadAfter)
	}
}

// TestLoadtestDrivesARealServerInEveryMode seeds users through the admin
// API, runs full sign-ins, then reuses the seed file for the second step
// alone and for a flood of wrong passwords: every report has its shape and
// no errors.
func TestLoadtestDrivesARealServerInEveryMode(t *testing.T) {
	url, key := server(t)
	seedFile := filepath.Join(t.TempDir(), "seed.json")

	r := run(t, "--url", url, "--token", key, "--users", "60", "--clients", "4", "--duration", "1500ms", "--seed-out", seedFile)
	wantShape(t, r, "signin", "login", "verify", "sign-in")
	if r.Seeding.Users != 60 || r.Seeding.Hashes == 0 || r.Seeding.Hashes > 2 || r.Seeding.FromFile != "" {
		t.Errorf("seeding: %+v (want one hash per batch of users)", r.Seeding)
	}
	if r.RatioToBound <= 0 || r.RatioToParallel <= 0 || r.CPURatio <= 0 || r.Bound.OneHashCPUMS <= 0 || r.Clients != 4 {
		t.Errorf("ratios %.3f %.3f %.3f, one hash %.3f ms of CPU, clients %d", r.RatioToBound, r.RatioToParallel, r.CPURatio, r.Bound.OneHashCPUMS, r.Clients)
	}
	if r.Answers[0].Status != 200 {
		t.Errorf("answers: %+v", r.Answers)
	}
	if fi, err := os.Stat(seedFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("seed file: %v %v", fi, err)
	}

	// The sign-ins used the users' codes up to the next time step; the
	// second step alone gets users of its own so as not to wait for them.
	r = run(t, "--url", url, "--token", key, "--mode", "verify", "--rate", "40", "--duration", "1s", "--clients", "4")
	wantShape(t, r, "verify", "verify")
	if r.Completed != 40 || r.Rate != 40 || r.Users != 40 {
		t.Errorf("verify: %d completed at %.0f/s scheduled, %d users", r.Completed, r.Rate, r.Users)
	}
	var sf loadtest.SeedFile
	if b, err := os.ReadFile(seedFile); err != nil || json.Unmarshal(b, &sf) != nil || len(sf.Users) != 60 || sf.Users[0].LastStep == 0 {
		t.Fatalf("the seed file does not record the steps used: %v", err)
	}

	r = run(t, "--url", url, "--seed", seedFile, "--mode", "flood", "--clients", "8", "--duration", "1s")
	wantShape(t, r, "flood", "login")
	// A flood of wrong passwords meets the server's defences: wrong
	// answers, then the per-address limit and the per-account throttle.
	// Nothing else (no 5xx, no sign-in) may come back.
	for _, a := range r.Answers {
		switch {
		case a.Status == 401 && a.Code == "invalid_credentials":
		case a.Status == 429 && (a.Code == "rate_limited" || a.Code == "too_many_attempts" || a.Code == "signin_locked"):
		default:
			t.Errorf("flood answer %+v", a)
		}
	}
}

func TestLoadtestRefusesWhatCannotWork(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  loadtest.Config
		want string
	}{
		{"no token and no seed file", loadtest.Config{URL: "http://127.0.0.1:1"}, "admin token"},
		{"an unknown mode", loadtest.Config{URL: "http://127.0.0.1:1", Token: "x", Mode: "chaos"}, "mode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadtest.Run(context.Background(), tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one about %q", err, tc.want)
			}
		})
	}
}
