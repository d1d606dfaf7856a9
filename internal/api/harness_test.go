package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/app"
	"github.com/twofold-id/twofold/internal/cli"
	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/factor/backup"
	"github.com/twofold-id/twofold/internal/factor/totp"
	"github.com/twofold-id/twofold/internal/password"
	"github.com/twofold-id/twofold/internal/secretbox"
	"github.com/twofold-id/twofold/internal/store/postgres/pgtest"
)

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

// syncBuffer is a bytes.Buffer safe for the server's concurrent log writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// server is the whole Twofold handler tree over a real SQLite file, behind
// httptest. The CLI acts on the same data directory.
type server struct {
	t      testing.TB
	cfg    config.Config
	clock  *clock
	opts   app.Options
	app    *app.App
	srv    *httptest.Server
	logs   *syncBuffer
	nextIP atomic.Int64
	// phones holds the authenticator apps adminSession set up, by
	// "org/user".
	phones map[string]phone
}

// newServer starts a server with cheap password hashing.
func newServer(t testing.TB) *server {
	pp := password.TestParams()
	return newServerWith(t, &pp)
}

// newServerWith starts a server; pp nil means the real default argon2id
// parameters.
func newServerWith(t testing.TB, pp *password.Params) *server {
	t.Helper()
	return startServer(t, pp, nil)
}

// newServerConfig is newServer (cheap hashing) with a hook that adjusts the
// configuration before the app is built.
func newServerConfig(t testing.TB, change func(*config.Config)) *server {
	pp := password.TestParams()
	return startServer(t, &pp, change)
}

// newServerOn starts a server on the store named by dsn (SQLite in a
// temporary data directory when empty, else a PostgreSQL database, as from
// pgtest.NewDatabase, with a key file in the data directory that the
// command line shares); pp nil means the real default argon2id parameters;
// change, if set, adjusts the configuration before the app is built.
func newServerOn(t testing.TB, dsn string, pp *password.Params, change func(*config.Config)) *server {
	t.Helper()
	return startServer(t, pp, func(c *config.Config) {
		if dsn != "" {
			c.DatabaseURL, c.KeyFile = dsn, filepath.Join(c.DataDir, "secret.key")
			if _, err := secretbox.LoadOrCreate(c.KeyFile); err != nil {
				t.Fatal(err)
			}
		}
		if change != nil {
			change(c)
		}
	})
}

// onEachStoreDSN runs fn as a subtest per store: "sqlite" always, and
// "postgres" on a database of its own when TWOFOLD_TEST_POSTGRES_DSN is set
// (skipped otherwise, failed when TWOFOLD_REQUIRE_POSTGRES=1). fn gets the
// dsn to hand to newServerOn, for tests that build their server themselves
// (onEachStore hands over a ready one).
func onEachStoreDSN(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, "") })
	t.Run("postgres", func(t *testing.T) { fn(t, pgtest.NewDatabase(t)) })
}

// startServer starts a server with password parameters pp (nil: the real
// defaults) after adjust (when not nil) changed the configuration.
func startServer(t testing.TB, pp *password.Params, adjust func(*config.Config)) *server {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	// The platform rule that admins need a second factor has tests of its
	// own (assurance_test.go); the others sign admins in with a password,
	// as an operator who turned the rule off would.
	cfg.AdminMFARequired = false
	// Every request comes from its own address unless a test says
	// otherwise, so per-address limits only bite where a test wants them.
	cfg.TrustProxy = true
	if adjust != nil {
		adjust(&cfg)
	}
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 15, 0, time.UTC)}
	s := &server{t: t, cfg: cfg, clock: clk, logs: &syncBuffer{},
		opts: app.Options{Now: clk.Now, PasswordParams: pp, BackupParams: &backup.Params{Memory: 64, Time: 1, Threads: 1}}}
	log := slog.New(slog.NewJSONHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := app.Open(context.Background(), cfg, log, s.opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if _, _, err := a.EnsureRoot(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.app = a
	s.srv = httptest.NewServer(a.Handler())
	t.Cleanup(s.srv.Close)
	return s
}

// cli runs a twofold command on the server's data directory, as the
// operator would, and fails the test unless it succeeds.
func (s *server) cli(stdin string, args ...string) string {
	s.t.Helper()
	out, errOut, code := s.runCLI(stdin, args...)
	if code != 0 {
		s.t.Fatalf("twofold %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

func (s *server) runCLI(stdin string, args ...string) (string, string, int) {
	var stdout, stderr bytes.Buffer
	env := cli.Env{Stdin: strings.NewReader(stdin), Stdout: &stdout, Stderr: &stderr,
		Getenv: func(string) string { return "" },
		Open: func(ctx context.Context, cfg config.Config, log *slog.Logger) (*app.App, error) {
			return app.Open(ctx, cfg, log, s.opts)
		}}
	args = append(args, "--data-dir", s.cfg.DataDir)
	if s.cfg.DatabaseURL != "" {
		args = append(args, "--database-url", s.cfg.DatabaseURL, "--key-file", s.cfg.KeyFile)
	}
	code := cli.Main(args, env)
	return stdout.String(), stderr.String(), code
}

// orgAndUser creates org acme and member alice with testPassword through
// the CLI.
func (s *server) orgAndUser() {
	s.t.Helper()
	s.cli("", "org", "create", "--slug", "acme", "--name", "Acme Corp")
	s.cli(testPassword+"\n", "user", "create", "--org", "acme", "--username", "alice", "--email", "alice@example.com", "--password-stdin")
}

// request is one API call.
type request struct {
	method, path string
	token        string
	body         any // string or []byte sent as is; anything else as JSON
	contentType  string
	ip           string // X-Forwarded-For; a fresh address when empty
}

// response is what came back.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("status %d body %q is not a JSON object: %v", r.status, r.body, err)
	}
	return m
}

func (r response) str(t testing.TB, key string) string {
	t.Helper()
	v, _ := r.json(t)[key].(string)
	return v
}

// errorCode checks the error shape and returns its code.
func (r response) errorCode(t testing.TB) string {
	t.Helper()
	var e struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error == nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("status %d: body %q is not {\"error\":{\"code\",\"message\"}}", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error with Content-Type %q", ct)
	}
	return e.Error.Code
}

func (s *server) do(req request) response {
	s.t.Helper()
	var body io.Reader
	ct := req.contentType
	switch b := req.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		body = bytes.NewReader(j)
	}
	if ct == "" && body != nil {
		ct = "application/json"
	}
	hr, err := http.NewRequest(req.method, s.srv.URL+req.path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	if ct != "" && ct != "-" {
		hr.Header.Set("Content-Type", ct)
	}
	if req.token != "" {
		hr.Header.Set("Authorization", "Bearer "+req.token)
	}
	ip := req.ip
	if ip == "" {
		n := s.nextIP.Add(1)
		ip = fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255)
	}
	hr.Header.Set("X-Forwarded-For", ip)
	res, err := s.srv.Client().Do(hr)
	if err != nil {
		s.t.Fatalf("%s %s: %v", req.method, req.path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

func (s *server) post(path, token string, body any) response {
	s.t.Helper()
	return s.do(request{method: http.MethodPost, path: path, token: token, body: body})
}

func (s *server) get(path, token string) response {
	s.t.Helper()
	return s.do(request{method: http.MethodGet, path: path, token: token})
}

// login signs alice (or another user of acme) in and requires status.
func (s *server) login(user, status string) response {
	s.t.Helper()
	r := s.post("/api/v1/auth/login", "", map[string]string{"org": "acme", "username": user, "password": testPassword})
	if r.status != http.StatusOK || r.str(s.t, "status") != status {
		s.t.Fatalf("login %s: %d %s, want status %q", user, r.status, r.body, status)
	}
	return r
}

// phone is an authenticator app holding a secret.
type phone struct {
	secret []byte
	v      totp.Verifier
}

func (p phone) code(now time.Time) string { return p.v.Code(p.secret, p.v.Step(now)) }

// wrong returns a well-formed code no step around now accepts.
func (p phone) wrong(now time.Time) string {
	for n := 0; ; n++ {
		c := fmt.Sprintf("%06d", n)
		if _, ok := p.v.Match(p.secret, c, now, -1<<63); !ok {
			return c
		}
	}
}
