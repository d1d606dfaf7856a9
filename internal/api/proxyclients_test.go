package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestProxyClientsHaveHostsAndRulesAndOwnTheirHosts registers a protected
// app as the issue writes it, and checks what an admin would get wrong.
func TestProxyClientsHaveHostsAndRulesAndOwnTheirHosts(t *testing.T) {
	s := newServer(t)
	s.apiKeyTree()
	out := s.cli("", "apikey", "create", "--org", "acme", "--name", "deploy")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	key := lines[len(lines)-1]

	r := s.post("/api/v1/orgs/acme/clients", key, map[string]any{"name": "Wiki", "kind": "proxy",
		"hosts": []string{"Wiki.Example.TEST", "wiki.example.test:443"},
		"rules": []map[string]any{{"path_prefix": "/admin", "acr": "mfa", "max_age": "5m"}, {"path_prefix": "/", "acr": "mfa"}}})
	if r.status != http.StatusCreated {
		t.Fatalf("create proxy client: %d %s", r.status, r.body)
	}
	m := r.json(t)
	id := m["client_id"].(string)
	if _, ok := m["client_secret"]; ok || m["confidential"] != false || m["kind"] != "proxy" {
		t.Errorf("proxy client: %s", r.body)
	}
	if !strings.Contains(string(r.body), `"hosts":["wiki.example.test"]`) ||
		!strings.Contains(string(r.body), `"rules":[{"path_prefix":"/admin","acr":"mfa","max_age":"5m0s"},{"path_prefix":"/","acr":"mfa"}]`) {
		t.Errorf("hosts and rules not as stored: %s", r.body)
	}

	// A second app may not take the host, in any spelling.
	taken := s.post("/api/v1/orgs/sales/clients", key, map[string]any{"name": "Other", "kind": "proxy",
		"hosts": []string{"WIKI.example.test"}, "rules": []map[string]any{{"path_prefix": "/", "acr": "pwd"}}})
	if taken.status != http.StatusConflict || taken.errorCode(t) != "host_taken" {
		t.Errorf("second client on the same host: %d %s", taken.status, taken.body)
	}

	for _, c := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"no hosts", map[string]any{"name": "x", "kind": "proxy", "rules": []map[string]any{{"path_prefix": "/", "acr": "mfa"}}}, "hosts"},
		{"a URL as host", map[string]any{"name": "x", "kind": "proxy", "hosts": []string{"https://x.example.test/"},
			"rules": []map[string]any{{"path_prefix": "/", "acr": "mfa"}}}, "hosts"},
		{"a wildcard host", map[string]any{"name": "x", "kind": "proxy", "hosts": []string{"*.example.test"},
			"rules": []map[string]any{{"path_prefix": "/", "acr": "mfa"}}}, "hosts"},
		{"no rules", map[string]any{"name": "x", "kind": "proxy", "hosts": []string{"x.example.test"}}, "rules"},
		{"an unknown level", map[string]any{"name": "x", "kind": "proxy", "hosts": []string{"x.example.test"},
			"rules": []map[string]any{{"path_prefix": "/", "acr": "high"}}}, "rules"},
		{"a bad max_age", map[string]any{"name": "x", "kind": "proxy", "hosts": []string{"x.example.test"},
			"rules": []map[string]any{{"path_prefix": "/", "acr": "mfa", "max_age": "soon"}}}, "rules"},
		{"redirect URIs on a proxy client", map[string]any{"name": "x", "kind": "proxy", "hosts": []string{"x.example.test"},
			"redirect_uris": []string{"https://x.example.test/cb"}, "rules": []map[string]any{{"path_prefix": "/", "acr": "mfa"}}}, "kind"},
		{"hosts on a web client", map[string]any{"name": "x", "kind": "web", "hosts": []string{"x.example.test"},
			"redirect_uris": []string{"https://x.example.test/cb"}}, "hosts"},
	} {
		r := s.post("/api/v1/orgs/acme/clients", key, c.body)
		if r.status != http.StatusBadRequest || r.errorCode(t) != "invalid_request" || !strings.Contains(string(r.body), `"field":"`+c.field+`"`) {
			t.Errorf("%s: %d %s", c.name, r.status, r.body)
		}
	}

	// Changing the rules and hosts; a proxy client takes no OIDC fields.
	p := s.do(request{method: http.MethodPatch, path: "/api/v1/clients/" + id, token: key, body: map[string]any{
		"hosts": []string{"wiki.example.test", "docs.example.test:8443"}, "rules": []map[string]any{{"path_prefix": "/", "acr": "pwd"}}}})
	if p.status != http.StatusOK || !strings.Contains(string(p.body), `"hosts":["docs.example.test:8443","wiki.example.test"]`) ||
		!strings.Contains(string(p.body), `"rules":[{"path_prefix":"/","acr":"pwd"}]`) {
		t.Errorf("patch: %d %s", p.status, p.body)
	}
	p = s.do(request{method: http.MethodPatch, path: "/api/v1/clients/" + id, token: key, body: map[string]any{"require_mfa": true}})
	if p.status != http.StatusBadRequest || p.errorCode(t) != "invalid_request" {
		t.Errorf("patch require_mfa on a proxy client: %d %s", p.status, p.body)
	}
	wantKeyErr(t, "rotate a proxy client's secret", s.post("/api/v1/clients/"+id+"/secret", key, nil), http.StatusBadRequest, "invalid_request")
}

func TestProxyClientsFromTheCommandLine(t *testing.T) {
	s := newServer(t)
	s.apiKeyTree()
	out := s.cli("", "client", "create", "--org", "acme", "--name", "Wiki", "--kind", "proxy",
		"--host", "Wiki.Example.Test", "--host", "docs.example.test:8443", "--rule", "/admin=mfa,5m", "--rule", "/=mfa")
	if !strings.Contains(out, `registered protected app "Wiki" for acme on docs.example.test:8443, wiki.example.test (rules: /admin=mfa,5m0s /=mfa)`) ||
		strings.Contains(out, "client_secret") {
		t.Fatalf("client create printed %q", out)
	}
	list := s.cli("", "client", "list", "--org", "acme")
	if !strings.Contains(list, "proxy") || !strings.Contains(list, "docs.example.test:8443,wiki.example.test /admin=mfa,5m0s /=mfa") {
		t.Fatalf("client list printed %q", list)
	}
	for _, bad := range [][]string{
		{"--host", "wiki2.example.test"},                         // no rule
		{"--rule", "/=mfa"},                                      // no host
		{"--host", "wiki.example.test", "--rule", "/=mfa"},       // taken
		{"--host", "x.example.test", "--rule", "/admin"},         // no level
		{"--host", "x.example.test", "--rule", "/=mfa,whenever"}, // bad age
		{"--host", "https://x.example.test/", "--rule", "/=mfa"}, // a URL
	} {
		args := append([]string{"client", "create", "--org", "acme", "--name", "x", "--kind", "proxy"}, bad...)
		if _, errOut, code := s.runCLI("", args...); code == 0 {
			t.Errorf("%v: accepted: %s", bad, errOut)
		}
	}
}
