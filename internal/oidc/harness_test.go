package oidc_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/twofold-id/twofold/internal/app"
	"github.com/twofold-id/twofold/internal/cli"
	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/factor/backup"
	"github.com/twofold-id/twofold/internal/factor/totp"
	"github.com/twofold-id/twofold/internal/password"
)

const testPassword = "correct horse battery staple"

// rpCallback is the relying party's redirect URI. Nothing listens there:
// the browser stops at the redirect and the test reads the code from it.
const rpCallback = "http://127.0.0.1:9/cb"

// rig is a whole Twofold server (SQLite) behind httptest whose public URL
// is its own address, so the issuer is real. Its clock is real time plus
// an offset tests can move forward (for max_age and fresh TOTP steps);
// signatures and expiry inside zitadel's op use real time.
type rig struct {
	t      testing.TB
	cfg    config.Config
	opts   app.Options
	app    *app.App
	srv    *httptest.Server
	issuer string // the public URL (the same for every instance of one deployment)
	base   string // this instance's own address
	offset *atomic.Int64
	logs   *bytes.Buffer
}

func (r *rig) now() time.Time          { return time.Now().Add(time.Duration(r.offset.Load())) }
func (r *rig) advance(d time.Duration) { r.offset.Add(int64(d)) }

func newRig(t testing.TB, adjust func(*config.Config)) *rig {
	t.Helper()
	return startRig(t, adjust, "", nil)
}

// startRig starts an instance whose public URL is issuer (its own address
// when ""), with a clock offset shared with other instances (a fresh one
// when nil).
func startRig(t testing.TB, adjust func(*config.Config), issuer string, offset *atomic.Int64) *rig {
	t.Helper()
	if offset == nil {
		offset = new(atomic.Int64)
	}
	r := &rig{t: t, logs: &bytes.Buffer{}, offset: offset}
	srv := httptest.NewUnstartedServer(nil)
	r.base = "http://" + srv.Listener.Addr().String()
	r.issuer = issuer
	if r.issuer == "" {
		r.issuer = r.base
	}
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.PublicURL = r.issuer
	cfg.AdminMFARequired = false // as the other harnesses: admins have their own tests
	cfg.TrustProxy = true
	if adjust != nil {
		adjust(&cfg)
	}
	pp := password.TestParams()
	r.cfg = cfg
	r.opts = app.Options{Now: r.now, PasswordParams: &pp, BackupParams: &backup.Params{Memory: 64, Time: 1, Threads: 1}}
	a, err := app.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), r.opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if _, _, err := a.EnsureRoot(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.app = a
	srv.Config.Handler = a.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	r.srv = srv
	return r
}

// cli runs a twofold command on the rig's data and requires success.
func (r *rig) cli(stdin string, args ...string) string {
	r.t.Helper()
	var stdout, stderr bytes.Buffer
	env := cli.Env{Stdin: strings.NewReader(stdin), Stdout: &stdout, Stderr: &stderr,
		Getenv: func(string) string { return "" },
		Open: func(ctx context.Context, cfg config.Config, log *slog.Logger) (*app.App, error) {
			return app.Open(ctx, cfg, log, r.opts)
		}}
	args = append(args, "--data-dir", r.cfg.DataDir)
	if r.cfg.DatabaseURL != "" {
		args = append(args, "--database-url", r.cfg.DatabaseURL, "--secret-key", r.cfg.SecretKey)
	}
	if code := cli.Main(args, env); code != 0 {
		r.t.Fatalf("twofold %s: exit %d: %s", strings.Join(args, " "), code, stderr.String())
	}
	return stdout.String()
}

// user creates a user with testPassword.
func (r *rig) user(org, name string, extra ...string) {
	r.t.Helper()
	r.cli(testPassword+"\n", append([]string{"user", "create", "--org", org, "--username", name,
		"--email", name + "@example.com", "--password-stdin"}, extra...)...)
}

// client registers an app and returns its id and secret ("" for public).
func (r *rig) client(org, kind string, extra ...string) (string, string) {
	r.t.Helper()
	out := r.cli("", append([]string{"client", "create", "--org", org, "--name", "App " + kind, "--kind", kind,
		"--redirect-uris", rpCallback, "--post-logout-redirect-uris", "http://127.0.0.1:9/bye"}, extra...)...)
	var id, secret string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if v, ok := strings.CutPrefix(l, "client_id: "); ok {
			id = v
		}
		if strings.HasPrefix(l, "tfc_") {
			secret = l
		}
	}
	return id, secret
}

// api calls the JSON API.
func (r *rig) api(method, path, token string, body any) (int, map[string]any) {
	r.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, r.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer res.Body.Close()
	m := map[string]any{}
	json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

// phone is an authenticator app.
type phone struct {
	r      *rig
	secret []byte
}

// code returns the code of the current step and moves the clock to the
// next step, so no code is ever replayed.
func (p phone) code() string {
	v := totp.Default()
	c := v.Code(p.secret, v.Step(p.r.now()))
	p.r.advance(30 * time.Second)
	return c
}

// enrollTOTP gives a user without a factor an authenticator app, through
// the API.
func (r *rig) enrollTOTP(org, name string) phone {
	r.t.Helper()
	st, m := r.api("POST", "/api/v1/auth/login", "", map[string]string{"org": org, "username": name, "password": testPassword})
	if st != 200 {
		r.t.Fatalf("login %s: %d %v", name, st, m)
	}
	var sec string
	var confirm func(code string) (int, map[string]any)
	switch m["status"] {
	case "enrollment_required":
		flow := m["flow_token"].(string)
		_, e := r.api("POST", "/api/v1/auth/enroll/totp", "", map[string]string{"flow_token": flow})
		sec = e["secret"].(string)
		confirm = func(code string) (int, map[string]any) {
			return r.api("POST", "/api/v1/auth/enroll/totp/confirm", "", map[string]string{"flow_token": flow,
				"factor_id": e["factor_id"].(string), "code": code})
		}
	case "authenticated":
		tok := m["session_token"].(string)
		_, e := r.api("POST", "/api/v1/me/factors/totp", tok, map[string]string{"label": "phone"})
		sec = e["secret"].(string)
		confirm = func(code string) (int, map[string]any) {
			return r.api("POST", "/api/v1/me/factors/"+e["factor_id"].(string)+"/confirm", tok, map[string]string{"code": code})
		}
	default:
		r.t.Fatalf("login %s: %v", name, m)
	}
	secret, err := totp.DecodeSecret(sec)
	if err != nil {
		r.t.Fatal(err)
	}
	p := phone{r: r, secret: secret}
	if st, m := confirm(p.code()); st != 200 {
		r.t.Fatalf("confirm totp %s: %d %v", name, st, m)
	}
	return p
}

// browser is a cookie jar that follows redirects within Twofold only.
type browser struct {
	r *rig
	c *http.Client
}

func (r *rig) browser() *browser {
	jar, _ := cookiejar.New(nil)
	host := r.srv.Listener.Addr().String()
	return &browser{r: r, c: &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != host {
			return http.ErrUseLastResponse
		}
		return nil
	}}}
}

// page is a response as the browser saw it.
type page struct {
	status int
	url    *url.URL // where it ended
	loc    *url.URL // a redirect out of Twofold, if it stopped at one
	body   string
}

func (b *browser) do(req *http.Request) page {
	b.r.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.r.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	p := page{status: res.StatusCode, url: res.Request.URL, body: string(body)}
	if loc := res.Header.Get("Location"); loc != "" && res.StatusCode/100 == 3 {
		p.loc, _ = res.Request.URL.Parse(loc)
	}
	if p.status >= 500 {
		b.r.t.Fatalf("%s %s: %d %s", req.Method, req.URL, p.status, body)
	}
	return p
}

func (b *browser) get(u string) page {
	b.r.t.Helper()
	if strings.HasPrefix(u, "/") {
		u = b.r.base + u
	}
	req, _ := http.NewRequest("GET", u, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) page {
	b.r.t.Helper()
	req, _ := http.NewRequest("POST", b.r.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var hrefAttr = regexp.MustCompile(`<a href="([^"]*)" id="app-continue"`)

// through drives the portal from pg until the browser leaves Twofold
// for the app, answering the pages it meets: the password form (org,
// user), the second step and the app's fresh check (codes from ph). It
// returns the redirect out.
var appReqField = regexp.MustCompile(`name="app_req" value="([0-9a-f]{32})"`)

// withAppReq adds the page's hidden app_req field to form, as a browser
// posting the page's form does.
func withAppReq(pg page, form url.Values) url.Values {
	if m := appReqField.FindStringSubmatch(pg.body); m != nil {
		form.Set("app_req", m[1])
	}
	return form
}

func (b *browser) through(pg page, org, user string, ph *phone) *url.URL {
	b.r.t.Helper()
	for range 10 {
		switch {
		case pg.loc != nil:
			return pg.loc
		case strings.Contains(pg.body, `id="login-form"`):
			pg = b.post("/login", withAppReq(pg, url.Values{"org": {org}, "username": {user}, "password": {testPassword}}))
		case strings.Contains(pg.body, `action="/login/verify"`):
			if ph == nil {
				b.r.t.Fatalf("second step without a phone: %s", pg.body)
			}
			pg = b.post("/login/verify", withAppReq(pg, url.Values{"method": {"totp"}, "code": {ph.code()}}))
		case strings.Contains(pg.body, `id="app-confirm-form"`):
			if ph == nil {
				b.r.t.Fatalf("fresh check without a phone: %s", pg.body)
			}
			pg = b.post("/login/app/confirm", withAppReq(pg, url.Values{"code": {ph.code()}}))
		case hrefAttr.MatchString(pg.body):
			next, _ := pg.url.Parse(html.UnescapeString(hrefAttr.FindStringSubmatch(pg.body)[1]))
			if next.Host != pg.url.Host {
				return next // straight back to the app (an error answer)
			}
			pg = b.get(next.String())
		default:
			b.r.t.Fatalf("unexpected page %s (%d): %s", pg.url, pg.status, pg.body)
		}
	}
	b.r.t.Fatal("the sign-in did not end")
	return nil
}

// rp is a relying party: coreos/go-oidc with x/oauth2.
type rp struct {
	r        *rig
	provider *gooidc.Provider
	conf     oauth2.Config
	verifier *gooidc.IDTokenVerifier
}

func (r *rig) relyingParty(clientID, secret string, scopes ...string) *rp {
	r.t.Helper()
	p, err := gooidc.NewProvider(context.Background(), r.issuer)
	if err != nil {
		r.t.Fatal(err)
	}
	if len(scopes) == 0 {
		scopes = []string{gooidc.ScopeOpenID, "profile", "email", gooidc.ScopeOfflineAccess}
	}
	return &rp{r: r, provider: p, verifier: p.Verifier(&gooidc.Config{ClientID: clientID}),
		conf: oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: rpCallback, Scopes: scopes}}
}

func random() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// authorization is one authorization request of the relying party.
type authorization struct {
	url, state, nonce, verifier string
}

func (p *rp) authorize(opts ...oauth2.AuthCodeOption) authorization {
	a := authorization{state: random(), nonce: random(), verifier: oauth2.GenerateVerifier()}
	opts = append(opts, gooidc.Nonce(a.nonce), oauth2.S256ChallengeOption(a.verifier))
	a.url = p.conf.AuthCodeURL(a.state, opts...)
	return a
}

// claims are the ID token claims the tests look at.
type claims struct {
	Subject  string   `json:"sub"`
	Nonce    string   `json:"nonce"`
	ACR      string   `json:"acr"`
	AMR      []string `json:"amr"`
	AuthTime int64    `json:"auth_time"`
	SID      string   `json:"sid"`
	Email    string   `json:"email"`
	Username string   `json:"preferred_username"`
	Role     string   `json:"role"`
	Org      struct {
		ID   string   `json:"id"`
		Slug string   `json:"slug"`
		Path []string `json:"path"`
	} `json:"org"`
}

// finish checks the authorization response (state, iss) and redeems the
// code; it returns the token and the verified ID token's claims.
func (p *rp) finish(a authorization, cb *url.URL) (*oauth2.Token, claims, string) {
	p.r.t.Helper()
	q := cb.Query()
	if e := q.Get("error"); e != "" {
		p.r.t.Fatalf("authorization error %s: %s", e, q.Get("error_description"))
	}
	if q.Get("state") != a.state || q.Get("iss") != p.r.issuer {
		p.r.t.Fatalf("authorization response %s: state or iss wrong", cb)
	}
	tok, err := p.conf.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(a.verifier))
	if err != nil {
		p.r.t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := p.verifier.Verify(context.Background(), raw)
	if err != nil {
		p.r.t.Fatalf("verify ID token: %v", err)
	}
	var c claims
	if err := idt.Claims(&c); err != nil {
		p.r.t.Fatal(err)
	}
	if c.Nonce != a.nonce {
		p.r.t.Fatalf("nonce %q, want %q", c.Nonce, a.nonce)
	}
	return tok, c, raw
}

// tokenCall posts a form to the token endpoint with basic auth (when a
// secret is given) and returns the status and the JSON answer.
func (r *rig) tokenCall(path string, clientID, secret string, form url.Values) (int, map[string]any) {
	r.t.Helper()
	req, _ := http.NewRequest("POST", r.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if secret != "" {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 500 {
		r.t.Fatalf("POST %s %v: %d %s", path, form, res.StatusCode, b)
	}
	m := map[string]any{}
	json.Unmarshal(b, &m)
	return res.StatusCode, m
}

func wantOAuthError(t *testing.T, what string, status int, m map[string]any, wantStatus int, code string) {
	t.Helper()
	if status != wantStatus || m["error"] != code {
		t.Errorf("%s: %d %v, want %d %s", what, status, m, wantStatus, code)
	}
}

func base64URL(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
