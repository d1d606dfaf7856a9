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
	"github.com/twofold-id/twofold/internal/forwardauth/nginxtest"
	"github.com/twofold-id/twofold/internal/password"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// nginxConf is the configuration of docs/forward-auth.md, with the test's
// upstreams: auth.example.test is the portal, wiki.example.test the app
// behind auth_request.
const nginxConf = `
    # The app gets the browser's cookies without Twofold's session.
    map $http_cookie $tf_app_cookie {
        default $http_cookie;
        "~^(?<tf_pre>.*?)(?:;\s*)?(?:__Secure-)?twofold_session=[^;]*(?<tf_post>.*)$" "$tf_pre$tf_post";
    }

    server {
        listen 127.0.0.1:PORT;
        server_name auth.example.test;
        location / {
            proxy_pass http://TWOFOLD;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
        }
    }
    server {
        listen 127.0.0.1:PORT;
        server_name wiki.example.test;

        location = /twofold-auth {
            internal;
            proxy_pass http://TWOFOLD/forward-auth/auth-request;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URL http://wiki.example.test:PORT$request_uri;
            proxy_set_header X-Forwarded-Method $request_method;
            proxy_set_header X-Forwarded-Proto "";
            proxy_set_header X-Forwarded-Host "";
            proxy_set_header X-Forwarded-Uri "";
            proxy_set_header X-Forwarded-For $remote_addr;
        }

        location / {
            auth_request /twofold-auth;
            auth_request_set $tf_user $upstream_http_remote_user;
            auth_request_set $tf_email $upstream_http_remote_email;
            auth_request_set $tf_name $upstream_http_remote_name;
            auth_request_set $tf_org $upstream_http_remote_org;
            auth_request_set $tf_groups $upstream_http_remote_groups;
            auth_request_set $tf_signin $upstream_http_location;
            error_page 401 =302 $tf_signin;

            proxy_set_header Remote-User $tf_user;
            proxy_set_header Remote-Email $tf_email;
            proxy_set_header Remote-Name $tf_name;
            proxy_set_header Remote-Org $tf_org;
            proxy_set_header Remote-Groups $tf_groups;
            proxy_set_header Cookie $tf_app_cookie;
            proxy_set_header Host $http_host;
            proxy_pass http://APP;
        }
    }
`

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

// seen is what the app behind nginx received.
type seen struct {
	hits   atomic.Int64
	mu     sync.Mutex
	header http.Header
	path   string
}

// TestNginxInFrontOfAnAppSignsInStepsUpAndNeverPassesForgedHeaders runs
// the whole journey through a real nginx: unauthenticated → the portal's
// sign-in with password and TOTP → the app sees who it is; /admin demands a
// fresh factor and steps up; a Remote-User sent by the browser never
// reaches the app; a return address on a foreign host is refused.
func TestNginxInFrontOfAnAppSignsInStepsUpAndNeverPassesForgedHeaders(t *testing.T) {
	nginxtest.Binary(t) // skip early when there is no nginx
	port := nginxtest.FreePort(t)
	portal := fmt.Sprintf("http://auth.example.test:%d", port)
	wiki := fmt.Sprintf("http://wiki.example.test:%d", port)

	// The app: it answers with what it got.
	var got seen
	appSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.hits.Add(1)
		got.mu.Lock()
		got.header, got.path = r.Header.Clone(), r.URL.Path
		got.mu.Unlock()
		fmt.Fprintf(w, "hello %s\n", r.Header.Get("Remote-User"))
	}))
	defer appSrv.Close()

	// Twofold, with the session cookie on the parent domain.
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.PublicURL = portal
	cfg.CookieDomain = "example.test"
	cfg.AdminMFARequired = false
	clk := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	pp := password.TestParams()
	ctx := context.Background()
	a, err := app.Open(ctx, cfg, slog.New(slog.DiscardHandler), app.Options{Now: clk.Now, PasswordParams: &pp,
		BackupParams: &backup.Params{Memory: 64, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, _, err := a.EnsureRoot(ctx); err != nil {
		t.Fatal(err)
	}
	tf := httptest.NewServer(a.Handler())
	defer tf.Close()

	sys, err := a.Admin.System(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Admin.CreateOrg(ctx, sys, admin.NewOrg{Slug: "acme", Name: "Acme"}, signin.Client{}); err != nil {
		t.Fatal(err)
	}
	const pw = "correct horse battery"
	if _, err := a.Admin.CreateUser(ctx, sys, admin.NewUser{OrgSlug: "acme", Username: "alice", Password: pw}, signin.Client{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Admin.CreateClient(ctx, sys, admin.NewClient{OrgSlug: "acme", Name: "Wiki", Kind: store.ClientProxy,
		Hosts: []string{fmt.Sprintf("wiki.example.test:%d", port)},
		Rules: []forwardauth.RuleInput{{PathPrefix: "/admin", ACR: "mfa", MaxAge: "5m"}, {PathPrefix: "/", ACR: "mfa"}}}, signin.Client{}); err != nil {
		t.Fatal(err)
	}

	ng := nginxtest.Start(t, port, strings.NewReplacer("TWOFOLD", strings.TrimPrefix(tf.URL, "http://"),
		"APP", strings.TrimPrefix(appSrv.URL, "http://")).Replace(nginxConf))

	// The browser: every *.example.test name is nginx.
	jar, _ := cookiejar.New(nil)
	dialer := &net.Dialer{}
	b := &http.Client{Jar: jar, Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if strings.HasSuffix(strings.Split(addr, ":")[0], ".example.test") {
			addr = fmt.Sprintf("127.0.0.1:%d", port)
		}
		return dialer.DialContext(ctx, network, addr)
	}}}
	get := func(u string, hdr ...string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", u, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := b.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v\n%s", u, err, ng.ErrorLog())
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(body)
	}
	post := func(u string, form url.Values) (*http.Response, string) {
		t.Helper()
		resp, err := b.PostForm(u, form)
		if err != nil {
			t.Fatalf("POST %s: %v", u, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(body)
	}
	code := func(secret []byte) string {
		clk.Advance(30 * time.Second)
		v := totp.Default()
		return v.Code(secret, v.Step(clk.Now()))
	}
	at := func(resp *http.Response, body string, status int, path string, contains ...string) {
		t.Helper()
		if resp.StatusCode != status || resp.Request.URL.Path != path {
			t.Fatalf("got %d at %s, want %d at %s:\n%s", resp.StatusCode, resp.Request.URL, status, path, body)
		}
		for _, c := range contains {
			if !strings.Contains(body, c) {
				t.Fatalf("%s lacks %q:\n%s", path, c, body)
			}
		}
	}

	// alice sets up an authenticator app at the portal (through nginx).
	resp, body := post(portal+"/login", url.Values{"org": {"acme"}, "username": {"alice"}, "password": {pw}})
	at(resp, body, 200, "/")
	resp, body = post(portal+"/security/totp", url.Values{"label": {"phone"}})
	secretM := regexp.MustCompile(`id="secret"[^>]*>([A-Z2-7 ]+)</code>`).FindStringSubmatch(body)
	factorM := regexp.MustCompile(`name="factor_id" value="([^"]+)"`).FindStringSubmatch(body)
	if secretM == nil || factorM == nil {
		t.Fatalf("no TOTP setup page:\n%s", body)
	}
	secret, err := totp.DecodeSecret(secretM[1])
	if err != nil {
		t.Fatal(err)
	}
	resp, body = post(portal+"/security/totp/confirm", url.Values{"factor_id": {factorM[1]}, "code": {code(secret)}})
	at(resp, body, 200, "/security/totp/confirm", "backup-codes")
	resp, body = post(portal+"/logout", nil)
	at(resp, body, 200, "/login")

	// 1. Unauthenticated, with forged identity headers: nginx sends the
	// browser to the portal; the app is never reached.
	resp, body = get(wiki+"/docs?x=1", "Remote-User", "mallory", "Remote-Groups", "admins")
	at(resp, body, 200, "/login/proxy", "Sign in to continue to Wiki.")
	if n := got.hits.Load(); n != 0 {
		t.Fatalf("the app was reached %d times without a session", n)
	}
	// The session cookie is scoped to the parent domain.
	for _, c := range jar.Cookies(&url.URL{Scheme: "http", Host: "wiki.example.test"}) {
		if c.Name == "twofold_session" {
			t.Fatalf("a session cookie before the sign-in: %v", c)
		}
	}

	// 2. Password and TOTP, then back to the app, which sees alice.
	resp, body = post(portal+"/login", url.Values{"org": {"acme"}, "username": {"alice"}, "password": {pw}})
	at(resp, body, 200, "/login/verify")
	resp, body = post(portal+"/login/verify", url.Values{"method": {"totp"}, "code": {code(secret)}})
	at(resp, body, 200, "/login/proxy", `id="app-continue"`)
	link := regexp.MustCompile(`<a href="([^"]+)" id="app-continue"`).FindStringSubmatch(body)
	if link == nil || strings.ReplaceAll(link[1], "&amp;", "&") != wiki+"/docs?x=1" {
		t.Fatalf("continue link %v, want %s", link, wiki+"/docs?x=1")
	}
	sessionAt := func() string {
		for _, c := range jar.Cookies(&url.URL{Scheme: "http", Host: "wiki.example.test"}) {
			if c.Name == "twofold_session" {
				return c.Value
			}
		}
		return ""
	}
	if sessionAt() == "" {
		t.Fatal("the session cookie does not reach wiki.example.test")
	}
	jar.SetCookies(&url.URL{Scheme: "http", Host: "wiki.example.test"}, []*http.Cookie{{Name: "wiki_pref", Value: "dark"}})
	resp, body = get(wiki+"/docs?x=1", "Remote-User", "mallory", "Remote-Groups", "admins", "Remote-Org", "globex")
	at(resp, body, 200, "/docs", "hello alice")
	got.mu.Lock()
	if c := got.header.Get("Cookie"); strings.Contains(c, "twofold_session") || !strings.Contains(c, "wiki_pref=dark") {
		t.Errorf("the app's Cookie header: %q (want its own cookie, not Twofold's session)", c)
	}
	for k, want := range map[string]string{"Remote-User": "alice", "Remote-Name": "alice", "Remote-Org": "acme",
		"Remote-Groups": app.RootSlug + ",acme", "Remote-Email": ""} {
		if v := got.header.Values(k); len(v) > 1 || got.header.Get(k) != want {
			t.Errorf("the app got %s = %q, want %q", k, v, want)
		}
	}
	got.mu.Unlock()

	// A form posted to the app passes too (nginx passes the browser's Origin
	// and Sec-Fetch-Site into its subrequest).
	req, _ := http.NewRequest("POST", wiki+"/docs/edit", strings.NewReader("text=hi"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", wiki)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	presp, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	pbody, _ := io.ReadAll(presp.Body)
	presp.Body.Close()
	at(presp, string(pbody), 200, "/docs/edit", "hello alice")

	// 3. /admin wants a factor of at most 5 minutes: after 6 the browser
	// is sent to a step-up (a code, not a new sign-in), then passes.
	resp, body = get(wiki + "/admin/settings")
	at(resp, body, 200, "/admin/settings", "hello alice")
	clk.Advance(6 * time.Minute)
	hits := got.hits.Load()
	before := sessionAt()
	resp, body = get(wiki + "/%61dmin/settings") // the same path, spelled otherwise
	at(resp, body, 200, "/login/proxy", "Confirm it is you")
	resp, body = get(wiki+"/admin/settings", "X-Forwarded-Uri", "/docs", "X-Forwarded-Host", "wiki.example.test") // nor do these
	at(resp, body, 200, "/login/proxy", "Confirm it is you")
	resp, body = get(wiki+"/admin/settings", "X-Original-URL", wiki+"/docs") // a forged URL decides nothing
	at(resp, body, 200, "/login/proxy", "Confirm it is you", `action="/login/proxy/confirm"`)
	if got.hits.Load() != hits {
		t.Fatal("the app was reached with a stale second factor")
	}
	resp, body = post(portal+"/login/proxy/confirm", url.Values{"code": {code(secret)}})
	at(resp, body, 200, "/login/proxy/confirm", `id="app-continue"`, wiki+"/admin/settings")
	if sessionAt() != before {
		t.Error("the step-up replaced the session instead of confirming it")
	}
	resp, body = get(wiki+"/admin/settings", "Remote-User", "root")
	at(resp, body, 200, "/admin/settings", "hello alice")

	// 4. A return address on a foreign host is refused, never followed.
	for _, rd := range []string{"http://evil.example/", fmt.Sprintf("http://evil.example.test:%d/", port), "//evil.example/",
		wiki + "@evil.example/", fmt.Sprintf("http://wiki.example.test:%d/", port+1)} {
		resp, body = get(portal + "/login?rd=" + url.QueryEscape(rd))
		at(resp, body, http.StatusBadRequest, "/login", "Return address refused")
	}

	// 5. Signing out at the portal ends access through nginx at once.
	resp, body = post(portal+"/logout", nil)
	at(resp, body, 200, "/login")
	hits = got.hits.Load()
	resp, body = get(wiki + "/docs")
	at(resp, body, 200, "/login/proxy", "Sign in to continue to Wiki.")
	if got.hits.Load() != hits {
		t.Fatal("the app was reached after signing out")
	}
}
