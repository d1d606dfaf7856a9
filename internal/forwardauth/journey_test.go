package forwardauth_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/app"
	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/factor/backup"
	"github.com/twofold-id/twofold/internal/factor/totp"
	"github.com/twofold-id/twofold/internal/forwardauth"
	"github.com/twofold-id/twofold/internal/password"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// The proxy journeys (nginx_test.go, caddy_test.go) share this set-up: a
// Twofold with its session cookie on example.test, the org acme with alice
// (password journeyPassword, and an authenticator app once enrollTOTP ran),
// the proxy client Wiki on wiki.example.test:port with the rules
// /admin=mfa,5m and /=mfa, an app that answers "hello <Remote-User>" and
// records what it got, and a browser whose *.example.test names all lead to
// the proxy on port.

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// seen is what the app behind the proxy received.
type seen struct {
	hits   atomic.Int64
	mu     sync.Mutex
	header http.Header
	path   string
}

const journeyPassword = "correct horse battery"

// A journey is one proxy test's world; see above.
type journey struct {
	t            *testing.T
	port         int
	portal, wiki string // the browser's URLs of the portal and the app (through the proxy)
	twofoldAddr  string // host:port of Twofold itself, for the proxy's configuration
	appAddr      string // host:port of the app itself
	got          *seen
	clk          *clock
	jar          http.CookieJar
	b            *http.Client
	secret       []byte        // alice's TOTP secret, after enrollTOTP
	proxyLog     func() string // the proxy's log, for failure messages (set by the test)
}

// newJourney builds the world for a proxy listening on port (not started
// here: the test starts it with twofoldAddr and appAddr).
func newJourney(t *testing.T, port int) *journey {
	t.Helper()
	j := &journey{t: t, port: port, got: &seen{}, clk: &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)},
		portal: fmt.Sprintf("http://auth.example.test:%d", port), wiki: fmt.Sprintf("http://wiki.example.test:%d", port),
		proxyLog: func() string { return "" }}

	// The app: it answers with what it got.
	appSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		j.got.hits.Add(1)
		j.got.mu.Lock()
		j.got.header, j.got.path = r.Header.Clone(), r.URL.Path
		j.got.mu.Unlock()
		fmt.Fprintf(w, "hello %s\n", r.Header.Get("Remote-User"))
	}))
	t.Cleanup(appSrv.Close)
	j.appAddr = strings.TrimPrefix(appSrv.URL, "http://")

	// Twofold, with the session cookie on the parent domain.
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.PublicURL = j.portal
	cfg.CookieDomain = "example.test"
	cfg.AdminMFARequired = false
	pp := password.TestParams()
	ctx := context.Background()
	a, err := app.Open(ctx, cfg, slog.New(slog.DiscardHandler), app.Options{Now: j.clk.Now, PasswordParams: &pp,
		BackupParams: &backup.Params{Memory: 64, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if _, _, err := a.EnsureRoot(ctx); err != nil {
		t.Fatal(err)
	}
	tf := httptest.NewServer(a.Handler())
	t.Cleanup(tf.Close)
	j.twofoldAddr = strings.TrimPrefix(tf.URL, "http://")

	sys, err := a.Admin.System(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Admin.CreateOrg(ctx, sys, admin.NewOrg{Slug: "acme", Name: "Acme"}, signin.Client{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Admin.CreateUser(ctx, sys, admin.NewUser{OrgSlug: "acme", Username: "alice", Password: journeyPassword}, signin.Client{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Admin.CreateClient(ctx, sys, admin.NewClient{OrgSlug: "acme", Name: "Wiki", Kind: store.ClientProxy,
		Hosts: []string{fmt.Sprintf("wiki.example.test:%d", port)},
		Rules: []forwardauth.RuleInput{{PathPrefix: "/admin", ACR: "mfa", MaxAge: "5m"}, {PathPrefix: "/", ACR: "mfa"}}}, signin.Client{}); err != nil {
		t.Fatal(err)
	}

	// The browser: every *.example.test name is the proxy.
	j.jar, _ = cookiejar.New(nil)
	dialer := &net.Dialer{}
	j.b = &http.Client{Jar: j.jar, Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if strings.HasSuffix(strings.Split(addr, ":")[0], ".example.test") {
			addr = fmt.Sprintf("127.0.0.1:%d", port)
		}
		return dialer.DialContext(ctx, network, addr)
	}}}
	return j
}

// get fetches u with the header pairs hdr (name, value, …), following
// redirects.
func (j *journey) get(u string, hdr ...string) (*http.Response, string) {
	j.t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return j.do(req)
}

func (j *journey) do(req *http.Request) (*http.Response, string) {
	j.t.Helper()
	resp, err := j.b.Do(req)
	if err != nil {
		j.t.Fatalf("%s %s: %v\n%s", req.Method, req.URL, err, j.proxyLog())
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

func (j *journey) post(u string, form url.Values) (*http.Response, string) {
	j.t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return j.do(req)
}

// code is a fresh TOTP code for alice (the clock moves on by a step).
func (j *journey) code() string {
	j.clk.Advance(30 * time.Second)
	v := totp.Default()
	return v.Code(j.secret, v.Step(j.clk.Now()))
}

// at fails unless resp ended with status at path and body contains every
// one of contains.
func (j *journey) at(resp *http.Response, body string, status int, path string, contains ...string) {
	j.t.Helper()
	if resp.StatusCode != status || resp.Request.URL.Path != path {
		j.t.Fatalf("got %d at %s, want %d at %s:\n%s\n%s", resp.StatusCode, resp.Request.URL, status, path, body, j.proxyLog())
	}
	for _, c := range contains {
		if !strings.Contains(body, c) {
			j.t.Fatalf("%s lacks %q:\n%s", path, c, body)
		}
	}
}

// session returns the session cookie the browser sends to the app ("" for
// none).
func (j *journey) session() string {
	for _, c := range j.jar.Cookies(&url.URL{Scheme: "http", Host: "wiki.example.test"}) {
		if c.Name == "twofold_session" {
			return c.Value
		}
	}
	return ""
}

// enrollTOTP has alice set up an authenticator app at the portal (through
// the proxy) and sign out again.
func (j *journey) enrollTOTP() {
	j.t.Helper()
	resp, body := j.post(j.portal+"/login", url.Values{"org": {"acme"}, "username": {"alice"}, "password": {journeyPassword}})
	j.at(resp, body, 200, "/")
	_, body = j.post(j.portal+"/security/totp", url.Values{"label": {"phone"}})
	secretM := regexp.MustCompile(`id="secret"[^>]*>([A-Z2-7 ]+)</code>`).FindStringSubmatch(body)
	factorM := regexp.MustCompile(`name="factor_id" value="([^"]+)"`).FindStringSubmatch(body)
	if secretM == nil || factorM == nil {
		j.t.Fatalf("no TOTP setup page:\n%s", body)
	}
	secret, err := totp.DecodeSecret(secretM[1])
	if err != nil {
		j.t.Fatal(err)
	}
	j.secret = secret
	resp, body = j.post(j.portal+"/security/totp/confirm", url.Values{"factor_id": {factorM[1]}, "code": {j.code()}})
	j.at(resp, body, 200, "/security/totp/confirm", "backup-codes")
	resp, body = j.post(j.portal+"/logout", nil)
	j.at(resp, body, 200, "/login")
}

// signIn signs alice in with password and TOTP after the proxy sent the
// browser to the portal for next, and checks the Continue link leads there.
func (j *journey) signIn(next string) {
	j.t.Helper()
	resp, body := j.post(j.portal+"/login", url.Values{"org": {"acme"}, "username": {"alice"}, "password": {journeyPassword}})
	j.at(resp, body, 200, "/login/verify")
	resp, body = j.post(j.portal+"/login/verify", url.Values{"method": {"totp"}, "code": {j.code()}})
	j.at(resp, body, 200, "/login/proxy", `id="app-continue"`)
	link := regexp.MustCompile(`<a href="([^"]+)" id="app-continue"`).FindStringSubmatch(body)
	if link == nil || strings.ReplaceAll(link[1], "&amp;", "&") != next {
		j.t.Fatalf("continue link %v, want %s", link, next)
	}
	if j.session() == "" {
		j.t.Fatal("the session cookie does not reach wiki.example.test")
	}
}

// appGot checks the identity headers and the Cookie header of the app's
// last request: alice's, each once, and the app's own cookie wiki_pref
// without Twofold's session.
func (j *journey) appGot() {
	j.t.Helper()
	j.got.mu.Lock()
	defer j.got.mu.Unlock()
	if c := j.got.header.Get("Cookie"); strings.Contains(c, "twofold_session") || !strings.Contains(c, "wiki_pref=dark") {
		j.t.Errorf("the app's Cookie header: %q (want its own cookie, not Twofold's session)", c)
	}
	for k, want := range map[string]string{"Remote-User": "alice", "Remote-Name": "alice", "Remote-Org": "acme",
		"Remote-Groups": app.RootSlug + ",acme", "Remote-Email": ""} {
		if v := j.got.header.Values(k); len(v) > 1 || j.got.header.Get(k) != want {
			j.t.Errorf("the app got %s = %q, want %q", k, v, want)
		}
	}
}
