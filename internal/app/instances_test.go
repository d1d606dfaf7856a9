package app_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/app"
	"github.com/twofold-id/twofold/internal/cli"
	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/factor/backup"
	"github.com/twofold-id/twofold/internal/factor/totp"
	"github.com/twofold-id/twofold/internal/password"
	"github.com/twofold-id/twofold/internal/store/postgres/pgtest"
)

const testPassword = "correct horse battery staple"

// clock is a clock both instances share; it moves only when the test moves it.
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

// instance is one Twofold server process, reduced to its handler tree.
type instance struct {
	t   *testing.T
	url string
}

type reply struct {
	status int
	body   map[string]any
	raw    string
}

func (in instance) call(method, path, token string, body any) reply {
	in.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, in.url+path, r)
	if err != nil {
		in.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		in.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := reply{status: res.StatusCode, raw: string(raw)}
	json.Unmarshal(raw, &out.body)
	return out
}

func (r reply) str(key string) string { s, _ := r.body[key].(string); return s }

func (r reply) code() string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// cluster is two instances on one PostgreSQL database, sharing nothing
// else but the key (each has its own, empty, data directory), with a
// platform admin created at the command line.
type cluster struct {
	one, two instance
	root     string // the platform admin's session token
	clk      *clock
}

// newCluster starts a cluster; tweak, when set, adjusts both instances'
// configuration and options.
func newCluster(t *testing.T, tweak func(*config.Config, *app.Options)) cluster {
	dsn := pgtest.NewDatabase(t)
	var key [32]byte
	rand.Read(key[:])
	secretKey := "k1:" + base64.StdEncoding.EncodeToString(key[:])
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 15, 0, time.UTC)}
	pp := password.TestParams()
	opts := app.Options{Now: clk.Now, PasswordParams: &pp, BackupParams: &backup.Params{Memory: 64, Time: 1, Threads: 1}}
	base := config.Default()
	base.DatabaseURL = dsn
	base.SecretKey = secretKey
	base.AdminMFARequired = false // the platform admin here works with a password; the rule has its own tests
	if tweak != nil {
		tweak(&base, &opts)
	}
	start := func() instance {
		cfg := base
		cfg.DataDir = t.TempDir()
		a, err := app.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		if _, _, err := a.EnsureRoot(context.Background()); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(a.Handler())
		t.Cleanup(srv.Close)
		return instance{t: t, url: srv.URL}
	}
	one, two := start(), start()

	// The operator creates an admin at the command line, against the database.
	var stdout, stderr bytes.Buffer
	env := cli.Env{Stdin: strings.NewReader(testPassword + "\n"), Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" },
		Open: func(ctx context.Context, cfg config.Config, log *slog.Logger) (*app.App, error) {
			return app.Open(ctx, cfg, log, opts)
		}}
	if code := cli.Main([]string{"user", "create", "--org", "platform", "--username", "root", "--role", "superadmin", "--password-stdin",
		"--database-url", dsn, "--secret-key", secretKey, "--data-dir", t.TempDir()}, env); code != 0 {
		t.Fatalf("cli: %d %s", code, stderr.String())
	}
	root := one.call("POST", "/api/v1/auth/login", "", map[string]string{"org": "platform", "username": "root", "password": testPassword}).str("session_token")
	if root == "" {
		t.Fatal("root cannot sign in on instance 1")
	}
	return cluster{one: one, two: two, root: root, clk: clk}
}

func TestTwoInstancesOnOnePostgreSQLShareUsersSessionsAndReplayState(t *testing.T) {
	c := newCluster(t, nil)
	one, two, root, clk := c.one, c.two, c.root, c.clk

	// A user created through instance 1 signs in through instance 2.
	if r := one.call("POST", "/api/v1/orgs", root, map[string]string{"slug": "acme", "name": "Acme Corp"}); r.status != http.StatusCreated {
		t.Fatalf("create org on 1: %d %s", r.status, r.raw)
	}
	if r := one.call("POST", "/api/v1/users", root, map[string]string{"org": "acme", "username": "alice", "password": testPassword}); r.status != http.StatusCreated {
		t.Fatalf("create user on 1: %d %s", r.status, r.raw)
	}
	login := func(in instance) reply {
		t.Helper()
		r := in.call("POST", "/api/v1/auth/login", "", map[string]string{"org": "acme", "username": "alice", "password": testPassword})
		if r.status != http.StatusOK {
			t.Fatalf("login: %d %s", r.status, r.raw)
		}
		return r
	}
	if r := login(two); r.str("status") != "authenticated" {
		t.Fatalf("login on 2: %s", r.raw)
	}

	// A session made on 1 works on 2; revoked on 2, it is refused on 1.
	sess := login(one).str("session_token")
	if r := two.call("GET", "/api/v1/me", sess, nil); r.status != http.StatusOK {
		t.Fatalf("session of 1 on 2: %d %s", r.status, r.raw)
	}
	if r := two.call("POST", "/api/v1/auth/logout", sess, nil); r.status != http.StatusNoContent {
		t.Fatalf("logout on 2: %d %s", r.status, r.raw)
	}
	if r := one.call("GET", "/api/v1/me", sess, nil); r.status != http.StatusUnauthorized || r.code() != "unauthenticated" {
		t.Fatalf("revoked session on 1: %d %s", r.status, r.raw)
	}

	// An authenticator enrolled through 1 ...
	sess = login(one).str("session_token")
	st := one.call("POST", "/api/v1/me/factors/totp", sess, map[string]string{"label": "Phone"})
	if st.status != http.StatusCreated {
		t.Fatalf("start TOTP on 1: %d %s", st.status, st.raw)
	}
	secret, err := totp.DecodeSecret(st.str("secret"))
	if err != nil {
		t.Fatal(err)
	}
	v := totp.Default()
	now := func() string { return v.Code(secret, v.Step(clk.Now())) }
	// ... is confirmed through 2, which opens the secret with the shared key.
	if r := two.call("POST", "/api/v1/me/factors/"+st.str("factor_id")+"/confirm", sess, map[string]string{"code": now()}); r.status != http.StatusOK {
		t.Fatalf("confirm on 2: %d %s", r.status, r.raw)
	}
	clk.Advance(30 * time.Second)

	// A code accepted on 1 is refused on 2.
	code := now()
	f1 := login(one).str("flow_token")
	f2 := login(two).str("flow_token")
	if r := one.call("POST", "/api/v1/auth/verify", "", map[string]string{"flow_token": f1, "method": "totp", "code": code}); r.status != http.StatusOK {
		t.Fatalf("verify on 1: %d %s", r.status, r.raw)
	}
	if r := two.call("POST", "/api/v1/auth/verify", "", map[string]string{"flow_token": f2, "method": "totp", "code": code}); r.status != http.StatusUnauthorized || r.code() != "invalid_code" {
		t.Fatalf("replay on 2: %d %s", r.status, r.raw)
	}
	// The failure on 2 counts on the account both share: four more anywhere
	// and the next attempt on 1 must wait.
	for i := 0; i < 4; i++ {
		in := []instance{one, two}[i%2]
		f := login(in).str("flow_token")
		in.call("POST", "/api/v1/auth/verify", "", map[string]string{"flow_token": f, "method": "totp", "code": code})
	}
	f := login(one).str("flow_token")
	if r := one.call("POST", "/api/v1/auth/verify", "", map[string]string{"flow_token": f, "method": "totp", "code": code}); r.status != http.StatusTooManyRequests {
		t.Fatalf("sixth failure across instances: %d %s", r.status, r.raw)
	}
}
