package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/app"
	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/forwardauth"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
	"github.com/twofold-id/twofold/internal/web"
)

// proxyPortal is a portal with a protected app "Wiki" of acme on
// wiki.example.test: /admin needs a second factor of at most 5 minutes,
// /public a password, /vault a phishing-resistant factor, the rest a
// second factor. alice (acme) has an authenticator app, dave (acme/sales)
// none, eve belongs to globex.
func proxyPortal(t *testing.T) (*portal, []byte) {
	t.Helper()
	p := newPortal(t)
	ctx := context.Background()
	sys, err := p.app.Admin.System(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p.addOrg("acme", store.OrgPolicy{})
	p.addOrg("globex", store.OrgPolicy{})
	if _, err := p.app.Admin.CreateOrg(ctx, sys, admin.NewOrg{Slug: "sales", Name: "Sales", ParentSlug: "acme"}, signin.Client{}); err != nil {
		t.Fatal(err)
	}
	p.addUser("acme", "alice", pw)
	p.addUser("sales", "dave", pw)
	p.addUser("globex", "eve", pw)
	_, _, err = p.app.Admin.CreateClient(ctx, sys, admin.NewClient{OrgSlug: "acme", Name: "Wiki", Kind: store.ClientProxy,
		Hosts: []string{"wiki.example.test"}, Rules: []forwardauth.RuleInput{
			{PathPrefix: "/admin", ACR: "mfa", MaxAge: "5m"}, {PathPrefix: "/", ACR: "mfa"},
			{PathPrefix: "/public", ACR: "pwd"}, {PathPrefix: "/vault", ACR: "phr"}}}, signin.Client{})
	if err != nil {
		t.Fatal(err)
	}
	b := p.browser()
	expect(t, b.login("acme", "alice", pw), 200, "/")
	secret := b.addTOTP()
	expect(t, b.post("/logout", nil), 200, "/login")
	return p, secret
}

// ask sends a proxy's question about url for the browser b (with its
// cookies) to endpoint, as nginx would (X-Original-URL) or as Traefik
// would (X-Forwarded-*), with extra headers.
func (b *browser) ask(endpoint, target string, extra map[string]string) *http.Response {
	b.p.t.Helper()
	req, err := http.NewRequest("GET", b.p.srv.URL+endpoint, nil)
	if err != nil {
		b.p.t.Fatal(err)
	}
	u, err := url.Parse(target)
	if err != nil {
		b.p.t.Fatal(err)
	}
	if endpoint == "/forward-auth/auth-request" {
		req.Header.Set("X-Original-URL", target)
	} else {
		req.Header.Set("X-Forwarded-Method", "GET")
		req.Header.Set("X-Forwarded-Proto", u.Scheme)
		req.Header.Set("X-Forwarded-Host", u.Host)
		req.Header.Set("X-Forwarded-Uri", u.RequestURI())
	}
	for k, v := range extra {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	portal, _ := url.Parse(b.p.srv.URL)
	for _, c := range b.c.Jar.Cookies(portal) {
		req.AddCookie(c)
	}
	// The proxy does not follow redirects.
	resp, err := (&http.Transport{}).RoundTrip(req)
	if err != nil {
		b.p.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

const (
	authReq  = "/forward-auth/auth-request"
	redirect = "/forward-auth/redirect"
)

func wantStatus(t *testing.T, what string, resp *http.Response, status int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s: status %d, want %d (Location %q)", what, resp.StatusCode, status, resp.Header.Get("Location"))
	}
	if status != http.StatusOK && resp.Header.Get("Remote-User") != "" {
		t.Fatalf("%s: Remote-User on a %d answer", what, status)
	}
}

var continueLink = regexp.MustCompile(`<a href="([^"]+)" id="app-continue"`)

func TestForwardAuthSignsInStepsUpAndDecidesFromCurrentData(t *testing.T) {
	p, secret := proxyPortal(t)
	b := p.browser()
	const docs = "http://wiki.example.test/docs?page=1&x=%2F"

	// Without a session: nginx gets 401 with the sign-in address to send
	// the browser to; Traefik a 302 there (a POST gets 401).
	r := b.ask(authReq, docs, nil)
	wantStatus(t, "no session, auth-request", r, http.StatusUnauthorized)
	wantLogin := p.app.Config.BaseURL() + "/login?rd=" + url.QueryEscape(docs)
	if r.Header.Get("Location") != wantLogin {
		t.Fatalf("Location = %q, want %q", r.Header.Get("Location"), wantLogin)
	}
	r = b.ask(redirect, docs, nil)
	wantStatus(t, "no session, redirect", r, http.StatusFound)
	if r.Header.Get("Location") != wantLogin {
		t.Fatalf("redirect Location = %q", r.Header.Get("Location"))
	}
	wantStatus(t, "no session, POST through Traefik", b.ask(redirect, docs, map[string]string{"X-Forwarded-Method": "POST"}), http.StatusUnauthorized)

	// The browser follows it: password, code, and back to the app.
	lp := b.get("/login?rd=" + url.QueryEscape(docs))
	expect(t, lp, 200, "/login/proxy", "Sign in to continue to Wiki.")
	expect(t, b.login("acme", "alice", pw), 200, "/login/verify")
	back := b.post("/login/verify", url.Values{"method": {"totp"}, "code": {p.code(secret)}})
	expect(t, back, 200, "/login/proxy", `id="app-continue"`)
	if m := continueLink.FindStringSubmatch(back.body); m == nil || m[1] != "http://wiki.example.test/docs?page=1&amp;x=%2F" {
		t.Fatalf("continue link: %v\n%s", m, back.body)
	}

	// The hand-back is in the audit log, once (not for every proxy question).
	wantProxyAudit(t, p, "success", 1)

	// Now the proxy lets the browser through, with the headers.
	for _, ep := range []string{authReq, redirect} {
		r = b.ask(ep, docs, nil)
		wantStatus(t, ep+" signed in", r, http.StatusOK)
		for k, want := range map[string]string{"Remote-User": "alice", "Remote-Name": "alice", "Remote-Org": "acme",
			"Remote-Groups": app.RootSlug + ",acme", "Remote-Email": ""} {
			if got := r.Header.Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", ep, k, got, want)
			}
		}
	}
	// A path made to look like another one is judged as the app will read it.
	wantStatus(t, "/%61dmin, fresh", b.ask(authReq, "http://wiki.example.test/%61dmin/x", nil), http.StatusOK)

	// /admin wants a second factor of at most 5 minutes.
	const adm = "http://wiki.example.test/admin/users"
	wantStatus(t, "/admin fresh", b.ask(authReq, adm, nil), http.StatusOK)
	p.clock.Advance(6 * time.Minute)
	wantStatus(t, "/admin after 6 min", b.ask(authReq, adm, nil), http.StatusUnauthorized)
	wantStatus(t, "/%61dmin after 6 min", b.ask(authReq, "http://wiki.example.test/%61dmin/x", nil), http.StatusUnauthorized)
	wantStatus(t, "/public/../admin after 6 min", b.ask(redirect, "http://wiki.example.test/public/../admin", nil), http.StatusFound)
	wantStatus(t, "the rest after 6 min", b.ask(authReq, docs, nil), http.StatusOK)
	sessionBefore := b.c.Jar.Cookies(mustURL(t, p.srv.URL))

	// Step-up: a fresh code on the same session, not a new sign-in.
	up := b.get("/login?rd=" + url.QueryEscape(adm))
	expect(t, up, 200, "/login/proxy", "Confirm it is you", `action="/login/proxy/confirm"`)
	bad := b.post("/login/proxy/confirm", url.Values{"code": {"000000"}})
	expect(t, bad, http.StatusUnauthorized, "/login/proxy/confirm", signin.ErrInvalidCode.Message)
	ok := b.post("/login/proxy/confirm", url.Values{"code": {p.code(secret)}})
	expect(t, ok, 200, "/login/proxy/confirm", `id="app-continue"`, "http://wiki.example.test/admin/users")
	wantStatus(t, "/admin after step-up", b.ask(authReq, adm, nil), http.StatusOK)
	if after := b.c.Jar.Cookies(mustURL(t, p.srv.URL)); cookieValue(after, "twofold_session") == "" || cookieValue(after, "twofold_session") != cookieValue(sessionBefore, "twofold_session") {
		t.Errorf("the step-up replaced the session cookie: %v → %v", sessionBefore, after)
	}

	// phr cannot be reached today: the portal says so instead of looping.
	const vault = "http://wiki.example.test/vault"
	wantStatus(t, "/vault", b.ask(authReq, vault, nil), http.StatusUnauthorized)
	expect(t, b.get("/login?rd="+url.QueryEscape(vault)), http.StatusForbidden, "/login/proxy", "security key", "cannot check those yet")

	// A host no client has, and a path no rule covers.
	wantStatus(t, "unknown host", b.ask(authReq, "http://other.example.test/", nil), http.StatusForbidden)

	// Current data: disabling alice ends her access at the next request.
	ctx := context.Background()
	sys, _ := p.app.Admin.System(ctx)
	yes := true
	if _, err := p.app.Admin.UpdateUser(ctx, sys, p.userID("acme", "alice"), admin.Change{Disabled: &yes}, signin.Client{}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "disabled user", b.ask(authReq, docs, nil), http.StatusUnauthorized)
}

func TestForwardAuthOrgsEnrollmentAndRuleChanges(t *testing.T) {
	p, _ := proxyPortal(t)
	ctx := context.Background()
	sys, _ := p.app.Admin.System(ctx)

	// eve of globex: a session, but the app belongs to acme.
	eve := p.browser()
	expect(t, eve.login("globex", "eve", pw), 200, "/")
	wantStatus(t, "eve, public", eve.ask(authReq, "http://wiki.example.test/public", nil), http.StatusForbidden)
	wantStatus(t, "eve, through Traefik", eve.ask(redirect, "http://wiki.example.test/", nil), http.StatusForbidden)
	expect(t, eve.get("/login?rd="+url.QueryEscape("http://wiki.example.test/")), http.StatusForbidden, "/login/proxy", "may not open")
	wantProxyAudit(t, p, "denied", 1)

	// dave of acme/sales (below the app's org) has no factor: /public
	// passes, the rest needs setup first.
	dave := p.browser()
	expect(t, dave.login("sales", "dave", pw), 200, "/")
	r := dave.ask(authReq, "http://wiki.example.test/public/page", nil)
	wantStatus(t, "dave, public", r, http.StatusOK)
	if r.Header.Get("Remote-Org") != "sales" || r.Header.Get("Remote-Groups") != app.RootSlug+",acme,sales" {
		t.Errorf("dave's headers: %v", r.Header)
	}
	wantStatus(t, "dave, docs", dave.ask(authReq, "http://wiki.example.test/docs", nil), http.StatusUnauthorized)
	expect(t, dave.get("/login?rd="+url.QueryEscape("http://wiki.example.test/docs")), 200, "/login/proxy", "Set up two-step sign-in first",
		`href="/login/proxy"`)

	// A policy that now requires a second factor: dave's password-only
	// session lacks it, so even /public sends him to the portal, which
	// leads him into setup.
	if _, err := p.app.Admin.SetPolicy(ctx, sys, "sales", store.OrgPolicy{MFA: store.MFARequired}, signin.Client{}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "dave, public, after MFA became required", dave.ask(authReq, "http://wiki.example.test/public/page", nil), http.StatusUnauthorized)
	expect(t, dave.get("/login?rd="+url.QueryEscape("http://wiki.example.test/public/page")), 200, "/login/enroll")
	dave = p.browser()
	if _, err := p.app.Admin.SetPolicy(ctx, sys, "sales", store.OrgPolicy{}, signin.Client{}); err != nil {
		t.Fatal(err)
	}
	expect(t, dave.login("sales", "dave", pw), 200, "/")

	// A rule change applies at the next request.
	cl := clientByName(t, p, "Wiki")
	rules := []forwardauth.RuleInput{{PathPrefix: "/", ACR: "pwd"}}
	if _, err := p.app.Admin.UpdateClient(ctx, sys, cl.ID, admin.ClientPatch{Rules: &rules}, signin.Client{}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "dave, docs after the rule change", dave.ask(authReq, "http://wiki.example.test/docs", nil), http.StatusOK)

	// Moving sales out from under acme takes the app away from dave.
	if _, err := p.app.Admin.MoveOrg(ctx, sys, "sales", "globex", signin.Client{}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "dave after the move", dave.ask(authReq, "http://wiki.example.test/docs", nil), http.StatusForbidden)

	// Signing out ends it too.
	expect(t, eve.post("/logout", nil), 200, "/login")
	wantStatus(t, "eve signed out", eve.ask(redirect, "http://wiki.example.test/", nil), http.StatusFound)
}

// TestForwardAuthRefusesForgedAndAmbiguousHeaders: what a browser talking
// to the proxy (or to Twofold directly) can put in the headers never
// decides about another URL than the one requested.
func TestForwardAuthRefusesForgedAndAmbiguousHeaders(t *testing.T) {
	p, secret := proxyPortal(t)
	b := p.browser()
	expect(t, b.login("acme", "alice", pw), 200, "/login/verify")
	expect(t, b.post("/login/verify", url.Values{"method": {"totp"}, "code": {p.code(secret)}}), 200, "/")
	p.clock.Advance(10 * time.Minute) // /admin now needs a step-up; / does not

	// nginx sets X-Original-URL; a forwarded triple that disagrees came
	// from the browser: refused.
	wantStatus(t, "X-Original-URL and X-Forwarded-* disagree", b.ask(authReq, "http://wiki.example.test/", map[string]string{
		"X-Forwarded-Proto": "http", "X-Forwarded-Host": "wiki.example.test", "X-Forwarded-Uri": "/admin"}), http.StatusForbidden)
	// nginx may send the forwarded triple alone.
	r := b.ask(authReq, "http://wiki.example.test/", map[string]string{"X-Original-URL": "",
		"X-Forwarded-Proto": "http", "X-Forwarded-Host": "wiki.example.test", "X-Forwarded-Uri": "/docs"})
	wantStatus(t, "auth-request with X-Forwarded-* only", r, http.StatusOK)
	if r.Header.Get("Remote-User") != "alice" {
		t.Errorf("Remote-User = %q", r.Header.Get("Remote-User"))
	}
	wantStatus(t, "auth-request with X-Forwarded-* only, /admin", b.ask(authReq, "http://wiki.example.test/", map[string]string{"X-Original-URL": "",
		"X-Forwarded-Proto": "http", "X-Forwarded-Host": "wiki.example.test", "X-Forwarded-Uri": "/admin"}), http.StatusUnauthorized)
	// Traefik and Caddy pass the browser's X-Original-URL on untouched: it
	// is ignored, and /admin is judged as /admin.
	wantStatus(t, "forged X-Original-URL through Traefik", b.ask(redirect, "http://wiki.example.test/admin",
		map[string]string{"X-Original-URL": "http://wiki.example.test/"}), http.StatusFound)
	// A header sent twice (a proxy that appends) is refused.
	req, _ := http.NewRequest("GET", p.srv.URL+redirect, nil)
	req.Header.Add("X-Forwarded-Proto", "http")
	req.Header.Add("X-Forwarded-Host", "evil.example")
	req.Header.Add("X-Forwarded-Host", "wiki.example.test")
	req.Header.Set("X-Forwarded-Uri", "/")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	wantStatus(t, "two X-Forwarded-Host", resp, http.StatusForbidden)
	wantStatus(t, "a list in X-Forwarded-Host", b.ask(redirect, "http://wiki.example.test/", map[string]string{"X-Forwarded-Host": "evil.example, wiki.example.test"}), http.StatusForbidden)
	wantStatus(t, "no headers at all", b.ask(authReq, "http://wiki.example.test/", map[string]string{"X-Original-URL": ""}), http.StatusForbidden)
	wantStatus(t, "user info in the URL", b.ask(authReq, "http://alice@wiki.example.test/", nil), http.StatusForbidden)
	// The 302 of the redirect endpoint always points at the portal.
	r = b.ask(redirect, "http://wiki.example.test/admin", map[string]string{"X-Forwarded-Host": "wiki.example.test"})
	if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, p.app.Config.BaseURL()+"/login?rd=") {
		t.Errorf("Location %q does not point at the portal", loc)
	}
}

// TestLoginRefusesReturnAddressesOfOtherHosts is the open-redirect check of
// the portal: rd must name a protected app's host, whatever the spelling.
func TestLoginRefusesReturnAddressesOfOtherHosts(t *testing.T) {
	p, secret := proxyPortal(t)
	b := p.browser()
	expect(t, b.login("acme", "alice", pw), 200, "/login/verify")
	expect(t, b.post("/login/verify", url.Values{"method": {"totp"}, "code": {p.code(secret)}}), 200, "/")
	for _, rd := range []string{"https://evil.example/", "//evil.example/", "/\\evil.example", "http://wiki.example.test@evil.example/",
		"http://evil.example#@wiki.example.test/", "javascript:alert(1)//wiki.example.test", "http://wiki.example.test.evil.example/",
		"http://wiki.example.test:8080/", "http:/\\wiki.example.test/"} {
		pg := b.get("/login?rd=" + url.QueryEscape(rd))
		expect(t, pg, http.StatusBadRequest, "/login", "Return address refused")
		if strings.Contains(pg.body, "evil.example") || strings.Contains(pg.body, `id="app-continue"`) {
			t.Errorf("rd %q: the page links on:\n%s", rd, pg.body)
		}
	}
	// The good one, in another spelling, ends at the canonical URL.
	pg := b.get("/login?rd=" + url.QueryEscape("HTTP://WIKI.Example.Test:80/docs"))
	if m := continueLink.FindStringSubmatch(pg.body); m == nil || m[1] != "http://wiki.example.test/docs" {
		t.Fatalf("continue link: %v\n%s", m, pg.body)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func cookieValue(cs []*http.Cookie, name string) string {
	for _, c := range cs {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func clientByName(t *testing.T, p *portal, name string) store.Client {
	t.Helper()
	ctx := context.Background()
	sys, _ := p.app.Admin.System(ctx)
	rows, err := p.app.Admin.ListClients(ctx, sys, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Client.Name == name {
			return r.Client
		}
	}
	t.Fatalf("no client %q", name)
	return store.Client{}
}

// TestCookieDomainScopesOnlyTheSessionCookie: with --cookie-domain over
// TLS, the session cookie is __Secure- with the domain; the flow cookie
// stays a __Host- cookie of the portal.
func TestCookieDomainScopesOnlyTheSessionCookie(t *testing.T) {
	p := newPortalWith(t, func(c *config.Config) {
		c.PublicURL = "https://id.example.test"
		c.CookieDomain = "example.test"
	})
	p.addOrg("acme", store.OrgPolicy{})
	p.addUser("acme", "alice", pw)
	login := func() *http.Response {
		req, _ := http.NewRequest("POST", p.srv.URL+"/login", strings.NewReader(url.Values{"org": {"acme"}, "username": {"alice"},
			"password": {pw}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := login()
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == web.SessionCookieName(true, "example.test") {
			session = c
		}
	}
	if session == nil || session.Name != "__Secure-twofold_session" || session.Domain != "example.test" || !session.Secure ||
		!session.HttpOnly || session.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie %+v; all: %v", session, resp.Header.Values("Set-Cookie"))
	}
	// Signing out clears the cookie on the same domain.
	req, _ := http.NewRequest("POST", p.srv.URL+"/logout", nil)
	req.AddCookie(&http.Cookie{Name: session.Name, Value: session.Value})
	out, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	out.Body.Close()
	cleared := false
	for _, c := range out.Cookies() {
		cleared = cleared || (c.Name == session.Name && c.Domain == "example.test" && c.MaxAge < 0)
	}
	if !cleared {
		t.Errorf("logout did not clear the domain cookie: %v", out.Header.Values("Set-Cookie"))
	}

	// With a second factor, the flow cookie is the portal's own.
	p.addOrg("corp", store.OrgPolicy{MFA: store.MFARequired})
	p.addUser("corp", "bob", pw)
	req, _ = http.NewRequest("POST", p.srv.URL+"/login", strings.NewReader(url.Values{"org": {"corp"}, "username": {"bob"},
		"password": {pw}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	flow, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	flow.Body.Close()
	found := false
	for _, c := range flow.Cookies() {
		if strings.Contains(c.Name, "flow") {
			found = true
			if c.Name != "__Host-twofold_flow" || c.Domain != "" {
				t.Errorf("flow cookie %+v", c)
			}
		}
	}
	if !found {
		t.Errorf("no flow cookie: %v", flow.Header.Values("Set-Cookie"))
	}
}

// wantProxyAudit checks how many forward_auth.return events with outcome
// the audit log holds.
func wantProxyAudit(t *testing.T, p *portal, outcome string, n int) {
	t.Helper()
	evs, err := p.app.Store.ListAudit(context.Background(), store.AuditFilter{Event: audit.ProxyReturn})
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, e := range evs {
		if e.Outcome == outcome {
			got++
		}
	}
	if got != n {
		t.Errorf("%d %s forward_auth.return events, want %d: %+v", got, outcome, n, evs)
	}
}

// TestForwardAuthAnswersAnyMethod: a proxy that asks with the method and
// the cross-origin headers of the browser's POST to the app gets the same
// answer as for a GET, not the portal's cross-origin refusal.
func TestForwardAuthAnswersAnyMethod(t *testing.T) {
	p, secret := proxyPortal(t)
	b := p.browser()
	expect(t, b.login("acme", "alice", pw), 200, "/login/verify")
	expect(t, b.post("/login/verify", url.Values{"method": {"totp"}, "code": {p.code(secret)}}), 200, "/")
	req, _ := http.NewRequest("POST", p.srv.URL+authReq, strings.NewReader("x=1"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Original-URL", "http://wiki.example.test/docs")
	req.Header.Set("Origin", "http://wiki.example.test")
	req.Header.Set("Sec-Fetch-Site", "same-site")
	for _, c := range b.c.Jar.Cookies(mustURL(t, p.srv.URL)) {
		req.AddCookie(c)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	wantStatus(t, "POST with cross-site headers", resp, http.StatusOK)
	if resp.Header.Get("Remote-User") != "alice" {
		t.Errorf("Remote-User = %q", resp.Header.Get("Remote-User"))
	}
}
