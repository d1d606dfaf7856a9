package oidc_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"
)

// Every bad input answers as RFC 6749 says, with the right status, and
// never a 500 (tokenCall and the browser fail the test on any 5xx).
func TestBadTokenRequestsAnswerAsTheRFCSays(t *testing.T) {
	r, p, ph, id, secret := setup(t)
	b := r.browser()
	a := p.authorize()
	cb := b.through(b.get(a.url), "acme", "alice", &ph)
	code := cb.Query().Get("code")
	good := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rpCallback}, "code_verifier": {a.verifier}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for kk, vv := range good {
			f[kk] = vv
		}
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f
	}
	for _, c := range []struct {
		name       string
		id, secret string
		form       url.Values
		status     int
		code       string
	}{
		{"an unknown grant type", id, secret, with("grant_type", "password"), 400, "unsupported_grant_type"},
		{"no code", id, secret, with("code", ""), 400, "invalid_request"},
		{"a wrong secret", id, "tfc_wrong", good, 401, "invalid_client"},
		{"an unknown client", "nope", secret, good, 401, "invalid_client"},
		{"an unknown code", id, secret, with("code", "not-a-code"), 400, "invalid_grant"},
		{"another redirect URI", id, secret, with("redirect_uri", "http://127.0.0.1:9/other"), 400, "invalid_grant"},
		{"a wrong PKCE verifier", id, secret, with("code_verifier", oauth2.GenerateVerifier()), 400, "invalid_grant"},
	} {
		st, m := r.tokenCall("/oauth2/token", c.id, c.secret, c.form)
		wantOAuthError(t, c.name, st, m, c.status, c.code)
	}
	// The code still works once, then never again; the second redemption
	// revokes what the first issued.
	st, m := r.tokenCall("/oauth2/token", id, secret, good)
	if st != 200 || m["refresh_token"] == nil {
		t.Fatalf("redemption: %d %v", st, m)
	}
	st, m2 := r.tokenCall("/oauth2/token", id, secret, good)
	wantOAuthError(t, "second redemption", st, m2, 400, "invalid_grant")
	st, m3 := r.tokenCall("/oauth2/token", id, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {m["refresh_token"].(string)}})
	wantOAuthError(t, "refresh after a code replay", st, m3, 400, "invalid_grant")

	// A refresh may not widen the scope.
	a = p.authorize()
	tok, _, _ := p.finish(a, b.through(b.get(a.url), "", "", nil))
	st, m = r.tokenCall("/oauth2/token", id, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken},
		"scope": {"openid phone"}})
	wantOAuthError(t, "a wider scope at refresh", st, m, 400, "invalid_scope")
}

func TestBadAuthorizationRequestsNeverRedirectToAnUncheckedURI(t *testing.T) {
	r, p, _, id, _ := setup(t)
	pub, _ := r.client("acme", "spa")
	b := r.browser()
	auth := func(q url.Values) page { return b.get("/oauth2/authorize?" + q.Encode()) }
	base := func(client string) url.Values {
		return url.Values{"client_id": {client}, "redirect_uri": {rpCallback}, "response_type": {"code"},
			"scope": {"openid"}, "state": {"st"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())},
			"code_challenge_method": {"S256"}}
	}
	// A protected app behind forward-auth is no OpenID Connect client.
	var proxyID string
	for _, l := range strings.Split(r.cli("", "client", "create", "--org", "acme", "--name", "Wiki", "--kind", "proxy",
		"--host", "127.0.0.1", "--rule", "/=mfa"), "\n") {
		if v, ok := strings.CutPrefix(l, "client_id: "); ok {
			proxyID = v
		}
	}
	if proxyID == "" {
		t.Fatal("no proxy client registered")
	}
	// Unknown client, unregistered redirect: an error page, no redirect.
	for name, q := range map[string]url.Values{
		"unknown client":        func() url.Values { q := base("nope"); return q }(),
		"a proxy client":        base(proxyID),
		"unregistered redirect": func() url.Values { q := base(id); q.Set("redirect_uri", "https://evil.example/cb"); return q }(),
		"a redirect on another port for a web app": func() url.Values {
			q := base(id)
			q.Set("redirect_uri", "http://127.0.0.1:10/cb")
			return q
		}(),
	} {
		pg := auth(q)
		if pg.loc != nil || pg.status != http.StatusBadRequest {
			t.Errorf("%s: %d, redirect %v", name, pg.status, pg.loc)
		}
	}
	// Every other error goes back to the app as RFC 6749 §4.1.2.1 says.
	for _, c := range []struct {
		name string
		q    url.Values
		code string
	}{
		{"a public client without PKCE", func() url.Values {
			q := base(pub)
			q.Del("code_challenge")
			q.Del("code_challenge_method")
			return q
		}(), "invalid_request"},
		{"PKCE plain", func() url.Values { q := base(pub); q.Set("code_challenge_method", "plain"); return q }(), "invalid_request"},
		{"no openid scope", func() url.Values { q := base(id); q.Set("scope", "profile"); return q }(), "invalid_scope"},
		{"a scope the client may not have", nil, "invalid_scope"},
		{"the implicit flow", func() url.Values { q := base(id); q.Set("response_type", "token"); return q }(), "unauthorized_client"},
	} {
		if c.q == nil {
			limited, _ := r.client("acme", "web", "--scopes", "openid,profile")
			c.q = base(limited)
			c.q.Set("scope", "openid offline_access")
		}
		pg := auth(c.q)
		if pg.loc == nil || pg.loc.Query().Get("error") != c.code || pg.loc.Query().Get("state") != "st" ||
			!strings.HasPrefix(pg.loc.String(), rpCallback) {
			t.Errorf("%s: %d %v %s", c.name, pg.status, pg.loc, pg.body)
		}
	}
	_ = p
}

func TestAUserOfAnotherOrgIsDenied(t *testing.T) {
	r, p, _, _, _ := setup(t)
	r.cli("", "org", "create", "--slug", "globex", "--name", "Globex")
	r.user("globex", "gina")
	b := r.browser()
	a := p.authorize()
	cb := b.through(b.get(a.url), "globex", "gina", nil)
	if cb.Query().Get("error") != "access_denied" || cb.Query().Get("state") != a.state || cb.Query().Get("iss") != r.issuer {
		t.Fatalf("gina of globex at an acme app: %s", cb)
	}
	// A user of an org below the client's may sign in.
	r.cli("", "org", "create", "--slug", "sales", "--name", "Sales", "--parent", "acme")
	r.user("sales", "sam")
	b = r.browser()
	a = p.authorize()
	_, c, _ := p.finish(a, b.through(b.get(a.url), "sales", "sam", nil))
	if c.Org.Slug != "sales" {
		t.Errorf("sam's org claim %+v", c.Org)
	}
}

// 50 parallel redemptions of one code, and 50 parallel refreshes of one
// refresh token: exactly one succeeds each.
func TestParallelRedemptionsAndRefreshes(t *testing.T) {
	r, p, ph, id, secret := setup(t)
	b := r.browser()
	a := p.authorize()
	cb := b.through(b.get(a.url), "acme", "alice", &ph)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {cb.Query().Get("code")}, "redirect_uri": {rpCallback},
		"code_verifier": {a.verifier}}
	ok := race(t, r, 50, id, secret, form)
	if len(ok) != 1 {
		t.Fatalf("%d of 50 parallel redemptions of one code succeeded", len(ok))
	}
	// The winner's tokens were revoked by the losers (a code presented
	// twice is a stolen code). Take a fresh grant for the refresh race.
	a = p.authorize()
	tok, _, _ := p.finish(a, b.through(b.get(a.url), "", "", nil))
	ok = race(t, r, 50, id, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
	if len(ok) != 1 {
		t.Fatalf("%d of 50 parallel refreshes of one token succeeded", len(ok))
	}
}

func race(t *testing.T, r *rig, n int, id, secret string, form url.Values) []map[string]any {
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		ok  []map[string]any
		bad []int
	)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			req, _ := http.NewRequest("POST", r.base+"/oauth2/token", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(id, secret)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer res.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			switch res.StatusCode {
			case 200:
				ok = append(ok, map[string]any{})
			case 400:
			default:
				bad = append(bad, res.StatusCode)
			}
		})
	}
	close(start)
	wg.Wait()
	if len(bad) > 0 {
		t.Errorf("statuses other than 200 and 400: %v", bad)
	}
	return ok
}
