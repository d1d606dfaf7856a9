// Package bench holds Twofold's performance benchmarks and load checks:
// the second-factor step, full sign-in throughput against the password-hash
// bound, policy resolution in deep org trees, and concurrency on SQLite.
// Results are written down in docs/benchmarks.md; nothing here asserts a
// time.
//
//	go test ./internal/bench -run '^$' -bench . -benchtime 2000x
//
// PostgreSQL variants run when TWOFOLD_TEST_POSTGRES_DSN is set.
package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/app"
	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/factor/backup"
	"github.com/twofold-id/twofold/internal/factor/totp"
	"github.com/twofold-id/twofold/internal/password"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
	"github.com/twofold-id/twofold/internal/store/postgres/pgtest"
)

var cheapBackup = backup.Params{Memory: 64, Time: 1, Threads: 1}

// fixedClock stands still, so every prepared code stays valid.
var t0 = time.Now().Truncate(30 * time.Second).Add(10 * time.Second)

func fixedNow() time.Time { return t0 }

// newApp opens an App on SQLite (backend "sqlite") or on a fresh PostgreSQL
// database (backend "postgres"), with the given password parameters.
func newApp(tb testing.TB, backend string, pp password.Params) *app.App {
	tb.Helper()
	cfg := config.Default()
	cfg.DataDir = tb.TempDir()
	cfg.LogLevel = "error"
	if backend == "postgres" {
		cfg.DatabaseURL = pgtest.NewDatabase(tb)
		cfg.SecretKey = "k1:" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.Open(context.Background(), cfg, log, app.Options{Now: fixedNow, PasswordParams: &pp, BackupParams: &cheapBackup})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { a.Close() })
	if _, _, err := a.EnsureRoot(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return a
}

// fixture is a set of users who each have one confirmed authenticator app.
type fixture struct {
	app     *app.App
	org     store.Org
	users   []store.User
	secrets [][]byte
	v       totp.Verifier
}

const benchPassword = "correct horse battery staple"

// newFixture creates n users with a TOTP factor each, directly through the
// store (setup is not what is measured). All share one password hash made
// with pp, so verifying it costs what a real one does.
func newFixture(tb testing.TB, a *app.App, n int, pp password.Params) *fixture {
	tb.Helper()
	ctx := context.Background()
	root, err := a.Store.RootOrg(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	org, err := a.Store.CreateOrg(ctx, store.Org{ParentID: root.ID, Slug: "bench", Name: "Bench"})
	if err != nil {
		tb.Fatal(err)
	}
	hash, err := password.NewHasher(pp, 0).Hash(ctx, benchPassword)
	if err != nil {
		tb.Fatal(err)
	}
	f := &fixture{app: a, org: org, v: totp.Default()}
	for i := range n {
		name := fmt.Sprintf("user%06d", i)
		u, err := a.Store.CreateUser(ctx, store.User{OrgID: org.ID, Username: name, UsernameNorm: name, Role: store.RoleMember, PasswordHash: hash})
		if err != nil {
			tb.Fatal(err)
		}
		secret, _ := totp.GenerateSecret()
		id := store.NewID()
		sealed, keyID, err := a.Keys.Seal(secret, signin.FactorAD(u.ID, id))
		if err != nil {
			tb.Fatal(err)
		}
		now := t0.Add(-time.Hour)
		if _, err := a.Store.CreateFactor(ctx, store.Factor{ID: id, UserID: u.ID, Kind: "totp", Label: "phone", Secret: sealed, KeyID: keyID,
			LastStep: 1, ConfirmedAt: &now, CreatedAt: now}); err != nil {
			tb.Fatal(err)
		}
		f.users = append(f.users, u)
		f.secrets = append(f.secrets, secret)
	}
	return f
}

func (f *fixture) code(i int) string { return f.v.Code(f.secrets[i], f.v.Step(t0)) }

var client = signin.Client{IP: "127.0.0.1", UserAgent: "bench"}

// latencies collects per-operation durations for percentiles.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B) {
	if len(l.d) == 0 {
		return
	}
	slices.Sort(l.d)
	p := func(q float64) float64 { return float64(l.d[int(q*float64(len(l.d)-1))].Microseconds()) / 1000 }
	b.ReportMetric(p(0.50), "p50-ms")
	b.ReportMetric(p(0.99), "p99-ms")
}

// BenchmarkVerifyTOTP measures the second step alone: one valid TOTP code
// per request, including decrypting the secret, the atomic replay update,
// the failure-counter reservation and reset, consuming the flow, creating
// the session and the audit events. Flows are created before the timer.
func BenchmarkVerifyTOTP(b *testing.B) {
	for _, backend := range backends(b) {
		b.Run(backend, func(b *testing.B) {
			pp := password.TestParams()
			a := newApp(b, backend, pp)
			n := b.N
			f := newFixture(b, a, n, pp)
			ctx := context.Background()
			flows := make([]string, n)
			for i, u := range f.users {
				r, err := a.Signin.Login(ctx, signin.LoginRequest{Org: f.org.Slug, Username: u.Username, Password: benchPassword}, client)
				if err != nil || r.Status != signin.StatusMFARequired {
					b.Fatalf("login: %v %q", err, r.Status)
				}
				flows[i] = r.FlowToken
			}
			var next atomic.Int64
			var errs atomic.Int64
			var lat latencies
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := int(next.Add(1) - 1)
					start := time.Now()
					r, err := a.Signin.Verify(ctx, flows[i], totp.Kind, f.code(i), client)
					lat.add(time.Since(start))
					if err != nil || r.Status != signin.StatusAuthenticated {
						errs.Add(1)
					}
				}
			})
			b.StopTimer()
			lat.report(b)
			if errs.Load() > 0 {
				b.Fatalf("%d verifications failed", errs.Load())
			}
		})
	}
}

// BenchmarkFullSignIn measures password + TOTP sign-ins with the real
// argon2id parameters (m=19 MiB, t=2, p=1), and beside it the bound those
// parameters set: password verifications alone, on all cores.
func BenchmarkFullSignIn(b *testing.B) {
	pp := password.DefaultParams()
	for _, backend := range backends(b) {
		b.Run(backend+"/signin", func(b *testing.B) {
			a := newApp(b, backend, pp)
			f := newFixture(b, a, b.N, pp)
			ctx := context.Background()
			var next, errs atomic.Int64
			// 16 clients at once, as a server sees them: while some wait on
			// the database, others keep the cores busy hashing.
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := int(next.Add(1) - 1)
					r, err := a.Signin.Login(ctx, signin.LoginRequest{Org: f.org.Slug, Username: f.users[i].Username, Password: benchPassword}, client)
					if err == nil {
						r, err = a.Signin.Verify(ctx, r.FlowToken, totp.Kind, f.code(i), client)
					}
					if err != nil || r.Status != signin.StatusAuthenticated {
						errs.Add(1)
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signins/s")
			if errs.Load() > 0 {
				b.Fatalf("%d sign-ins failed", errs.Load())
			}
		})
	}
	b.Run("hash-bound", func(b *testing.B) {
		h := password.NewHasher(pp, 0)
		hash, _ := h.Hash(context.Background(), benchPassword)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				h.Verify(context.Background(), benchPassword, hash)
			}
		})
		b.StopTimer()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
	})
}

// backends lists the stores to measure: SQLite always, PostgreSQL when a
// test server is configured.
func backends(tb testing.TB) []string {
	if os.Getenv(pgtest.EnvDSN) != "" {
		return []string{"sqlite", "postgres"}
	}
	return []string{"sqlite"}
}

// BenchmarkPolicyDeepTree resolves the effective policy (org chain from the
// store + policy.ForUser) for a user in a leaf of a 1,000-org tree six
// levels deep, against a user in a tree of one org.
func BenchmarkPolicyDeepTree(b *testing.B) {
	a := newApp(b, "sqlite", password.TestParams())
	ctx := context.Background()
	root, _ := a.Store.RootOrg(ctx)
	// 1 + 4 + 16 + 64 + 256 + 659 ≈ 1,000 orgs, six levels below the root.
	level := []store.Org{root}
	count := 0
	var leaf store.Org
	for depth := 1; depth <= 6 && count < 1000; depth++ {
		var next []store.Org
		for _, p := range level {
			for k := 0; k < 4 && count < 1000; k++ {
				pol := store.OrgPolicy{}
				if depth == 2 && k == 0 {
					pol = store.OrgPolicy{MFA: store.MFARequired, Locked: true}
				}
				o, err := a.Store.CreateOrg(ctx, store.Org{ParentID: p.ID, Slug: fmt.Sprintf("o%d-%d", depth, count), Name: "org", Policy: pol})
				if err != nil {
					b.Fatal(err)
				}
				count++
				next = append(next, o)
				leaf = o
			}
		}
		level = next
	}
	deep, err := a.Store.CreateUser(ctx, store.User{OrgID: leaf.ID, Username: "deep", UsernameNorm: "deep", Role: store.RoleMember})
	if err != nil {
		b.Fatal(err)
	}
	flat, err := a.Store.CreateUser(ctx, store.User{OrgID: root.ID, Username: "flat", UsernameNorm: "flat", Role: store.RoleMember})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("tree: %d orgs, leaf depth %d", count, leaf.Depth)
	for _, tc := range []struct {
		name string
		u    store.User
	}{{"leaf-depth-6", deep}, {"root-org", flat}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := a.Signin.Policy(ctx, tc.u); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSQLiteServes64ConcurrentClientsWithoutErrors runs 64 clients that each
// sign in with password and TOTP, read their sessions and sign out, all at
// once on one SQLite file: not one request may fail (Kratos on SQLite fails
// from two concurrent clients on).
func TestSQLiteServes64ConcurrentClientsWithoutErrors(t *testing.T) {
	pp := password.TestParams()
	a := newApp(t, "sqlite", pp)
	f := newFixture(t, a, 64, pp)
	ctx := context.Background()
	var wg sync.WaitGroup
	var errs atomic.Int64
	for i := range 64 {
		wg.Go(func() {
			r, err := a.Signin.Login(ctx, signin.LoginRequest{Org: f.org.Slug, Username: f.users[i].Username, Password: benchPassword}, client)
			if err == nil {
				r, err = a.Signin.Verify(ctx, r.FlowToken, totp.Kind, f.code(i), client)
			}
			var p signin.Principal
			if err == nil {
				p, err = a.Signin.Authenticate(ctx, r.SessionToken)
			}
			if err == nil {
				_, err = a.Signin.Sessions(ctx, p)
			}
			if err == nil {
				err = a.Signin.Logout(ctx, p, client)
			}
			if err != nil {
				errs.Add(1)
				t.Errorf("client %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if errs.Load() != 0 {
		t.Fatalf("%d of 64 clients saw errors", errs.Load())
	}
}

// BenchmarkFlood500 starts 500 sign-ins at once with the real argon2id
// parameters and reports the peak resident memory of the process: hashing
// is capped at the core count, so the rest queue instead of each holding
// 19 MiB.
func BenchmarkFlood500(b *testing.B) {
	pp := password.DefaultParams()
	a := newApp(b, "sqlite", pp)
	f := newFixture(b, a, 500, pp)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		var wg sync.WaitGroup
		for i := range 500 {
			wg.Go(func() {
				a.Signin.Login(ctx, signin.LoginRequest{Org: f.org.Slug, Username: f.users[i].Username, Password: benchPassword}, client)
			})
		}
		wg.Wait()
	}
	b.StopTimer()
	if hwm := peakRSS(); hwm > 0 {
		b.ReportMetric(float64(hwm)/(1<<20), "peak-RSS-MiB")
	}
}

// peakRSS reads VmHWM from /proc/self/status (Linux), in bytes.
func peakRSS() int64 {
	data, err := os.ReadFile(filepath.Join("/proc", "self", "status"))
	if err != nil {
		return 0
	}
	var kb int64
	for _, line := range splitLines(string(data)) {
		if n, _ := fmt.Sscanf(line, "VmHWM: %d kB", &kb); n == 1 {
			return kb << 10
		}
	}
	return 0
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := range len(s) {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}
