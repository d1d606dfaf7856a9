package forwardauth_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/forwardauth/caddytest"
	"github.com/twofold-id/twofold/internal/forwardauth/nginxtest"
)

// docCaddyfile returns the Caddy example of docs/forward-auth.md, so that
// the test runs exactly what the documentation shows.
func docCaddyfile(t *testing.T) string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/forward-auth.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```caddyfile\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/forward-auth.md has no ```caddyfile block")
	}
	return string(m[1])
}

// TestCaddyInFrontOfAnAppSignsInStepsUpAndNeverPassesForgedHeaders runs
// the journey through a real Caddy with the documentation's Caddyfile
// (forward_auth against /forward-auth/redirect), its names and upstreams
// replaced by the test's: unauthenticated → the portal's sign-in with
// password and TOTP → the app sees who it is, and neither the browser's
// Remote-* headers nor Twofold's session cookie; /admin demands a fresh
// factor and steps up on the same session; forged X-Forwarded-* and
// X-Original-URL decide nothing; signing out ends access.
func TestCaddyInFrontOfAnAppSignsInStepsUpAndNeverPassesForgedHeaders(t *testing.T) {
	caddytest.Binary(t) // skip early when there is no caddy
	j := newJourney(t, nginxtest.FreePort(t))
	sites := strings.NewReplacer(
		"id.example.com", fmt.Sprintf("http://auth.example.test:%d", j.port),
		"wiki.example.com", fmt.Sprintf("http://wiki.example.test:%d", j.port),
		"twofold:8080", j.twofoldAddr,
		"wiki:3000", j.appAddr,
	).Replace(docCaddyfile(t))
	cd := caddytest.Start(t, j.port, sites)
	j.proxyLog = cd.Log
	j.enrollTOTP()
	wiki := j.wiki

	// 1. Unauthenticated, with forged identity headers: Caddy passes
	// Twofold's 302 to the browser; the app is never reached.
	resp, body := j.get(wiki+"/docs?x=1", "Remote-User", "mallory", "Remote-Groups", "admins")
	j.at(resp, body, 200, "/login/proxy", "Sign in to continue to Wiki.")
	if n := j.got.hits.Load(); n != 0 {
		t.Fatalf("the app was reached %d times without a session", n)
	}
	// A form posted without a session is answered 401, not redirected (a
	// redirect would turn it into a GET).
	req, _ := http.NewRequest("POST", wiki+"/docs/edit", strings.NewReader("text=hi"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, body = j.do(req)
	j.at(resp, body, http.StatusUnauthorized, "/docs/edit")

	// 2. Password and TOTP, then back to the app, which sees alice (each
	// header once, the browser's forgeries replaced) and its own cookie
	// without Twofold's session.
	j.signIn(wiki + "/docs?x=1")
	j.jar.SetCookies(&url.URL{Scheme: "http", Host: "wiki.example.test"}, []*http.Cookie{{Name: "wiki_pref", Value: "dark"}})
	resp, body = j.get(wiki+"/docs?x=1", "Remote-User", "mallory", "Remote-Groups", "admins", "Remote-Org", "globex",
		"Remote-Email", "mallory@evil.example")
	j.at(resp, body, 200, "/docs", "hello alice")
	j.appGot()

	// Every twofold_session cookie is taken out, wherever it stands, and
	// nothing else.
	for _, c := range []struct{ sent, want string }{
		{"a=1; twofold_session=SESSION; __Secure-twofold_session=x; b=2", "a=1; b=2"},
		{"twofold_session=SESSION; my_twofold_session=3", "my_twofold_session=3"},
		{"a=1;twofold_session=SESSION", "a=1"},
		{"a=1; twofold_session=SESSION; b=2; __Secure-twofold_session=y", "a=1; b=2"},
	} {
		req, _ := http.NewRequest("GET", wiki+"/docs", nil)
		req.Header.Set("Cookie", strings.ReplaceAll(c.sent, "SESSION", j.session()))
		resp, err := (&http.Client{Transport: j.b.Transport}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		j.got.mu.Lock()
		if resp.StatusCode != 200 || j.got.header.Get("Cookie") != c.want {
			t.Errorf("Cookie %q: %d, the app got %q, want %q", c.sent, resp.StatusCode, j.got.header.Get("Cookie"), c.want)
		}
		j.got.mu.Unlock()
	}

	// A form posted to the app passes too.
	req, _ = http.NewRequest("POST", wiki+"/docs/edit", strings.NewReader("text=hi"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", wiki)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, body = j.do(req)
	j.at(resp, body, 200, "/docs/edit", "hello alice")

	// 3. /admin wants a factor of at most 5 minutes: after 6 the browser
	// is sent to a step-up, then passes on the same session.
	resp, body = j.get(wiki + "/admin/settings")
	j.at(resp, body, 200, "/admin/settings", "hello alice")
	j.clk.Advance(6 * time.Minute)
	hits := j.got.hits.Load()
	before := j.session()
	resp, body = j.get(wiki + "/%61dmin/settings") // the same path, spelled otherwise
	j.at(resp, body, 200, "/login/proxy", "Confirm it is you")
	// The browser's X-Forwarded-* and X-Original-URL decide nothing: Caddy
	// writes its own (it trusts no client's) and the endpoint ignores
	// X-Original-URL.
	resp, body = j.get(wiki+"/admin/settings", "X-Forwarded-Uri", "/docs", "X-Forwarded-Host", "wiki.example.test",
		"X-Forwarded-Proto", "https", "X-Forwarded-Method", "OPTIONS")
	j.at(resp, body, 200, "/login/proxy", "Confirm it is you")
	resp, body = j.get(wiki+"/admin/settings", "X-Original-URL", wiki+"/docs")
	j.at(resp, body, 200, "/login/proxy", "Confirm it is you", `action="/login/proxy/confirm"`)
	if j.got.hits.Load() != hits {
		t.Fatal("the app was reached with a stale second factor")
	}
	resp, body = j.post(j.portal+"/login/proxy/confirm", url.Values{"code": {j.code()}})
	j.at(resp, body, 200, "/login/proxy/confirm", `id="app-continue"`, wiki+"/admin/settings")
	if j.session() != before {
		t.Error("the step-up replaced the session instead of confirming it")
	}
	resp, body = j.get(wiki+"/admin/settings", "Remote-User", "root")
	j.at(resp, body, 200, "/admin/settings", "hello alice")
	j.appGot()

	// 4. A return address on a foreign host is refused at the portal
	// behind Caddy too.
	for _, rd := range []string{"http://evil.example/", fmt.Sprintf("http://evil.example.test:%d/", j.port)} {
		resp, body = j.get(j.portal + "/login?rd=" + url.QueryEscape(rd))
		j.at(resp, body, http.StatusBadRequest, "/login", "Return address refused")
	}

	// 5. Signing out at the portal ends access through Caddy at once.
	resp, body = j.post(j.portal+"/logout", nil)
	j.at(resp, body, 200, "/login")
	hits = j.got.hits.Load()
	resp, body = j.get(wiki + "/docs")
	j.at(resp, body, 200, "/login/proxy", "Sign in to continue to Wiki.")
	if j.got.hits.Load() != hits {
		t.Fatal("the app was reached after signing out")
	}
}
