package forwardauth

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

// hostStore knows the proxy clients by host; nothing else of the store is
// used by CheckReturn.
type hostStore struct {
	store.Store
	byHost map[string]store.Client
}

func (s hostStore) GetClientByHost(_ context.Context, host string) (store.Client, error) {
	if c, ok := s.byHost[host]; ok {
		return c, nil
	}
	return store.Client{}, store.ErrNotFound
}

func testGate() *Gate {
	wiki := store.Client{ID: "wiki", Kind: store.ClientProxy, Hosts: []string{"wiki.example.test", "app.example.test:8443"}}
	web := store.Client{ID: "oidc", Kind: store.ClientWeb}
	return &Gate{Store: hostStore{byHost: map[string]store.Client{
		"wiki.example.test": wiki, "app.example.test:8443": wiki, "oidc.example.test": web,
		"xn--wki-zma.example.test": wiki, // registered IDN host (wïki)
	}}}
}

// TestCheckReturnRefusesEveryHostileURL is the open-redirect table: only
// URLs on a registered proxy host pass, and what passes is re-serialized.
func TestCheckReturnRefusesEveryHostileURL(t *testing.T) {
	g := testGate()
	refused := []string{
		"",
		"/",
		"/admin",
		"//evil.example",
		"///evil.example",
		"/\\evil.example",
		"\\\\evil.example",
		"https://evil.example/",
		"https://evil.example/wiki.example.test",
		"https://wiki.example.test.evil.example/",
		"https://evilwiki.example.test/",
		"https://wiki.example.test@evil.example/",
		"https://evil.example@wiki.example.test/", // user info is refused even towards a good host
		"https://wiki.example.test:x@evil.example/",
		"https://evil.example#@wiki.example.test/",
		"https://evil.example?@wiki.example.test/",
		"https://evil.example\\@wiki.example.test/",
		"https://wiki.example.test\\@evil.example/",
		"https:\\\\wiki.example.test/",
		"https:/wiki.example.test/",
		"https:wiki.example.test/",
		"https:///wiki.example.test/",
		"javascript://wiki.example.test/%0aalert(1)",
		"javascript:alert(1)//wiki.example.test",
		"data:text/html,<script>alert(1)</script>",
		"ftp://wiki.example.test/",
		"file://wiki.example.test/etc/passwd",
		" https://wiki.example.test/",
		"https://wiki.example.test/\r\nLocation: https://evil.example/",
		"https://wiki.example.test/%0d%0aSet-Cookie:x=1",
		"https://wiki.example.test:8443/", // that port is not registered for this host
		"https://wiki.example.test:80/",   // not the default port of https
		"https://wiki.example.test:0443/",
		"https://app.example.test/", // registered only on :8443
		"https://wiki.example.test./",
		"https://oidc.example.test/", // a client, but not a proxy client
		"https://%77iki.example.test/",
		"https://wiki%2eexample.test/",
		"https://wіki.example.test/", // Cyrillic і: another host
		"https://[::1]/",
		"https://127.0.0.1/",
		"http://wiki.example.test/", // plain http while the portal is on https
		"https://wiki.example.test//evil.example/",
	}
	for _, rd := range refused {
		if tgt, _, err := g.CheckReturn(t.Context(), rd, false); !errors.Is(err, ErrReturnRefused) {
			t.Errorf("CheckReturn(%q) = %v, %v; want it refused", rd, tgt.URL, err)
		}
	}
	accepted := map[string]string{
		"https://wiki.example.test/":                      "https://wiki.example.test/",
		"https://wiki.example.test":                       "https://wiki.example.test/",
		"HTTPS://WIKI.Example.TEST/Page?x=1&y=%2F":        "https://wiki.example.test/Page?x=1&y=%2F",
		"https://wiki.example.test:443/a/b":               "https://wiki.example.test/a/b",
		"https://app.example.test:8443/x":                 "https://app.example.test:8443/x",
		"https://wïki.example.test/":                      "https://xn--wki-zma.example.test/",
		"https://ｗｉｋｉ.example.test/":                      "https://wiki.example.test/", // fullwidth: what a browser resolves too
		"https://wiki.example.test/a%20b?c=d#frag":        "https://wiki.example.test/a%20b?c=d",
		"https://wiki.example.test/redirect?to=//evil.ex": "https://wiki.example.test/redirect?to=//evil.ex",
	}
	for rd, want := range accepted {
		tgt, cl, err := g.CheckReturn(t.Context(), rd, false)
		if err != nil || tgt.URL.String() != want || cl.ID != "wiki" {
			t.Errorf("CheckReturn(%q) = %v, %q, %v; want %q of wiki", rd, tgt.URL, cl.ID, err, want)
		}
	}
	if _, _, err := g.CheckReturn(t.Context(), "http://wiki.example.test/", true); err != nil {
		t.Errorf("http refused with allowHTTP (a portal without TLS): %v", err)
	}
}

func TestNormalizePathDefeatsPrefixTricks(t *testing.T) {
	for in, want := range map[string]string{
		"":                     "/",
		"/":                    "/",
		"/admin":               "/admin",
		"/%61dmin":             "/admin",
		"/public/../admin":     "/admin",
		"/public/%2e%2e/admin": "/admin",
		"//admin":              "/admin",
		"/./admin/":            "/admin/",
		"/admin%2Fusers":       "/admin/users",
		"/a/b/../../..":        "/",
	} {
		if got, err := NormalizePath(in); err != nil || got != want {
			t.Errorf("NormalizePath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"admin", "/%zz", "/a%00b", "/a%5cb", "/a%0a"} {
		if got, err := NormalizePath(in); err == nil {
			t.Errorf("NormalizePath(%q) = %q, want an error", in, got)
		}
	}
}

func TestMatchTakesTheLongestPrefixAtSegmentBoundaries(t *testing.T) {
	rules := []store.ProxyRule{
		{PathPrefix: "/", ACR: "pwd"},
		{PathPrefix: "/admin", ACR: "mfa", MaxAge: 5 * time.Minute},
		{PathPrefix: "/admin/audit", ACR: "phr"},
		{PathPrefix: "/files/", ACR: "mfa"},
	}
	for p, want := range map[string]string{
		"/":                 "/",
		"/wiki/Page":        "/",
		"/admin":            "/admin",
		"/admin/":           "/admin",
		"/admin/users":      "/admin",
		"/administrator":    "/",
		"/admin/audit":      "/admin/audit",
		"/admin/audit/2026": "/admin/audit",
		"/admin/auditorium": "/admin",
		"/files/report.pdf": "/files/",
		"/files":            "/",
	} {
		got, ok := Match(rules, p)
		if !ok || got.PathPrefix != want {
			t.Errorf("Match(%q) = %q, %v; want %q", p, got.PathPrefix, ok, want)
		}
	}
	if _, ok := Match(rules[1:], "/wiki"); ok {
		t.Error("a path no rule covers matched")
	}
}

func TestCleanRulesAndHosts(t *testing.T) {
	rules, err := CleanRules([]RuleInput{{PathPrefix: "/admin/../admin", ACR: "mfa", MaxAge: "5m"}, {PathPrefix: "/", ACR: "mfa"}})
	if err != nil || rules[0].PathPrefix != "/admin" || rules[0].MaxAge != 5*time.Minute || rules[1].MaxAge != 0 {
		t.Errorf("CleanRules = %+v, %v", rules, err)
	}
	for _, bad := range [][]RuleInput{
		nil,
		{{PathPrefix: "admin", ACR: "mfa"}},
		{{PathPrefix: "/a*", ACR: "mfa"}},
		{{PathPrefix: "/", ACR: "strong"}},
		{{PathPrefix: "/", ACR: "mfa", MaxAge: "forever"}},
		{{PathPrefix: "/", ACR: "mfa", MaxAge: "-5m"}},
		{{PathPrefix: "/", ACR: "mfa", MaxAge: "48h"}},
		{{PathPrefix: "/", ACR: "pwd", MaxAge: "5m"}},
		{{PathPrefix: "/a", ACR: "mfa"}, {PathPrefix: "/a/", ACR: "pwd"}, {PathPrefix: "/b/../a", ACR: "pwd"}},
	} {
		if _, err := CleanRules(bad); err == nil {
			t.Errorf("CleanRules(%+v) accepted", bad)
		} else if re, ok := IsRuleError(err); !ok || re.Field != "rules" {
			t.Errorf("CleanRules(%+v) = %v, not a rules error", bad, err)
		}
	}
	hosts, err := CleanHosts([]string{"Wiki.Example.TEST", "wiki.example.test:443", "wiki.example.test:8443", "wïki.example.test"})
	if err != nil || len(hosts) != 3 || hosts[0] != "wiki.example.test" || hosts[1] != "wiki.example.test:8443" || hosts[2] != "xn--wki-zma.example.test" {
		t.Errorf("CleanHosts = %q, %v", hosts, err)
	}
	for _, bad := range []string{"", "https://wiki.example.test", "wiki.example.test/", "*.example.test", "user@wiki", "wiki:0",
		"wiki:99999", "wiki:", "wiki.example.test.", "a b", "wiki\\x"} {
		if _, err := CleanHosts([]string{bad}); err == nil {
			t.Errorf("CleanHosts(%q) accepted", bad)
		}
	}
}
