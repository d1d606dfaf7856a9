package signin_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/factor/backup"
	"github.com/twofold-id/twofold/internal/factor/totp"
	"github.com/twofold-id/twofold/internal/password"
	"github.com/twofold-id/twofold/internal/problem"
	"github.com/twofold-id/twofold/internal/ratelimit"
	"github.com/twofold-id/twofold/internal/secretbox"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
	"github.com/twofold-id/twofold/internal/store/sqlite"
)

// testPassword is the password every test user gets.
const testPassword = "correct horse battery staple"

// clock is an injected clock that only moves when a test moves it.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// logBuffer collects every log line the system under test writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// world is a sign-in service over a real SQLite file, with an injected
// clock, cheap hashing, and a captured log.
type world struct {
	t      *testing.T
	ctx    context.Context
	clock  *clock
	store  *sqlite.Store
	path   string
	signin *signin.Service
	admin  *admin.Service
	sys    access.Actor
	log    *logBuffer
	totp   totp.Verifier
	keys   *secretbox.Keyring
	hasher *password.Hasher // the service's: every argon2id computation takes its slots
}

var client = signin.Client{IP: "192.0.2.10", UserAgent: "signin-test"}

// newWorld builds the service. The clock starts in the middle of a TOTP
// step, so ±1 step arithmetic in tests never straddles a boundary by
// accident.
func newWorld(t *testing.T) *world {
	t.Helper()
	return newWorldWith(t, ratelimit.DefaultLockout())
}

// newWorldWith builds the service with another brute-force policy.
func newWorldWith(t *testing.T, lock ratelimit.Lockout) *world {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "twofold.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 15, 0, time.UTC)}
	logs := &logBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	al := audit.New(st, log, clk.Now)
	keys := secretbox.Generate()
	hasher := password.NewHasher(password.TestParams(), 0)
	sg := signin.New(signin.Deps{
		Store: st, Hasher: hasher, Keys: keys, Audit: al, Log: log,
		Lockout: lock, TOTP: totp.Default(),
		Backup: backup.Params{Memory: 64, Time: 1, Threads: 1}, Now: clk.Now,
	}, signin.Options{})
	w := &world{t: t, ctx: ctx, clock: clk, store: st, path: path, signin: sg, log: logs, totp: totp.Default(), keys: keys, hasher: hasher,
		admin: admin.New(st, sg, al, log, clk.Now)}
	// The root org as app.EnsureRoot creates it on first start.
	if _, err := st.CreateOrg(ctx, store.Org{Slug: "platform", Name: "Platform", CreatedAt: clk.Now(), UpdatedAt: clk.Now(),
		Policy: store.OrgPolicy{MFA: store.MFAOptional, AllowedMethods: []string{"totp", "email", "sms"}}}); err != nil {
		t.Fatal(err)
	}
	if w.sys, err = w.admin.System(ctx); err != nil {
		t.Fatal(err)
	}
	return w
}

// org creates an org below the root through the admin service.
func (w *world) org(slug string) store.Org {
	w.t.Helper()
	o, err := w.admin.CreateOrg(w.ctx, w.sys, admin.NewOrg{Slug: slug, Name: slug + " Corp"}, client)
	if err != nil {
		w.t.Fatal(err)
	}
	return o
}

// user creates a member with testPassword through the admin service.
func (w *world) user(org, name string) store.User {
	w.t.Helper()
	return w.newUser(admin.NewUser{OrgSlug: org, Username: name, Password: testPassword})
}

func (w *world) newUser(n admin.NewUser) store.User {
	w.t.Helper()
	u, err := w.admin.CreateUser(w.ctx, w.sys, n, client)
	if err != nil {
		w.t.Fatal(err)
	}
	return u
}

func (w *world) login(org, name, pw string) (signin.Result, error) {
	return w.signin.Login(w.ctx, signin.LoginRequest{Org: org, Username: name, Password: pw}, client)
}

// mustLogin signs in and requires the given status.
func (w *world) mustLogin(org, name, status string) signin.Result {
	w.t.Helper()
	r, err := w.login(org, name, testPassword)
	if err != nil {
		w.t.Fatalf("login %s/%s: %v", org, name, err)
	}
	if r.Status != status {
		w.t.Fatalf("login %s/%s: status %q, want %q", org, name, r.Status, status)
	}
	return r
}

// principal authenticates a session token.
func (w *world) principal(tok string) signin.Principal {
	w.t.Helper()
	p, err := w.signin.Authenticate(w.ctx, tok)
	if err != nil {
		w.t.Fatalf("authenticate: %v", err)
	}
	return p
}

// authenticator is an enrolled authenticator app as the phone holds it.
type authenticator struct {
	factorID string
	secret   []byte
	v        totp.Verifier
}

// code returns the code the phone shows at now, offset by steps.
func (a authenticator) code(now time.Time, steps int64) string {
	return a.v.Code(a.secret, a.v.Step(now)+steps)
}

// enroll adds and confirms an authenticator app for the user of session
// tok, and returns it with the backup codes the confirmation issued. The
// clock moves one step on afterwards, so that the next code is fresh.
func (w *world) enroll(tok, label string) (authenticator, []string) {
	w.t.Helper()
	p := w.principal(tok)
	e, err := w.signin.StartTOTP(w.ctx, p, label, client)
	if err != nil {
		w.t.Fatalf("StartTOTP: %v", err)
	}
	secret, err := totp.DecodeSecret(e.Secret)
	if err != nil {
		w.t.Fatal(err)
	}
	a := authenticator{factorID: e.FactorID, secret: secret, v: w.totp}
	codes, err := w.signin.ConfirmTOTP(w.ctx, p, e.FactorID, a.code(w.clock.Now(), 0), client)
	if err != nil {
		w.t.Fatalf("ConfirmTOTP: %v", err)
	}
	w.clock.Advance(30 * time.Second)
	return a, codes
}

// enrolledUser creates a user, signs in, enrolls one authenticator app,
// and returns the user, the app and the backup codes.
func (w *world) enrolledUser(org, name string) (store.User, authenticator, []string) {
	w.t.Helper()
	u := w.user(org, name)
	r := w.mustLogin(org, name, signin.StatusAuthenticated)
	a, codes := w.enroll(r.SessionToken, "Phone")
	return u, a, codes
}

// flow signs in with the password and requires an MFA challenge.
func (w *world) flow(org, name string) string {
	w.t.Helper()
	return w.mustLogin(org, name, signin.StatusMFARequired).FlowToken
}

// fullSession signs in with password and a current code.
func (w *world) fullSession(org, name string, a authenticator) signin.Result {
	w.t.Helper()
	r, err := w.signin.Verify(w.ctx, w.flow(org, name), totp.Kind, a.code(w.clock.Now(), 0), client)
	if err != nil {
		w.t.Fatalf("verify: %v", err)
	}
	w.clock.Advance(30 * time.Second)
	return r
}

// errCode returns the public code of err ("" for nil, "internal" for an
// error without a public face).
func errCode(err error) string {
	if err == nil {
		return ""
	}
	if p := problem.As(err); p != nil {
		return p.Code
	}
	return "internal"
}

// wantCode fails unless err carries the public code want.
func wantCode(t *testing.T, err error, want string) {
	t.Helper()
	if got := errCode(err); got != want {
		t.Fatalf("error = %v (code %q), want code %q", err, got, want)
	}
}

// wrongCode returns a well-formed code that is not valid for a around now.
func wrongCode(a authenticator, now time.Time) string {
	for n := 0; ; n++ {
		c := []byte("000000")
		for i, x := 5, n; i >= 0; i, x = i-1, x/10 {
			c[i] = byte('0' + x%10)
		}
		if _, ok := a.v.Match(a.secret, string(c), now, math.MinInt64); !ok {
			return string(c)
		}
	}
}

// attempts returns the stored failure state of u.
func (w *world) attempts(u store.User) store.Attempts {
	w.t.Helper()
	a, err := w.store.GetAttempts(w.ctx, u.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		w.t.Fatal(err)
	}
	return a
}
