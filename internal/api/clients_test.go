package api_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

var clientSecretPattern = regexp.MustCompile(`^tfc_[A-Za-z0-9_-]{43}$`)

func TestRegisteredClientsAreScopedValidatedAndShowTheirSecretOnce(t *testing.T) {
	s := newServer(t)
	s.apiKeyTree()
	out := s.cli("", "apikey", "create", "--org", "acme", "--name", "deploy")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	key := lines[len(lines)-1]
	out = s.cli("", "apikey", "create", "--org", "globex", "--name", "other")
	lines = strings.Split(strings.TrimSpace(out), "\n")
	globexKey := lines[len(lines)-1]

	web := s.post("/api/v1/orgs/sales/clients", key, map[string]any{"name": "Wiki", "kind": "web",
		"redirect_uris": []string{"https://wiki.example/cb"}, "post_logout_redirect_uris": []string{"https://wiki.example/"},
		"require_mfa": true})
	if web.status != http.StatusCreated {
		t.Fatalf("create web client: %d %s", web.status, web.body)
	}
	m := web.json(t)
	id := m["client_id"].(string)
	if !clientSecretPattern.MatchString(m["client_secret"].(string)) || m["require_mfa"] != true || m["confidential"] != true {
		t.Fatalf("created client: %s", web.body)
	}
	got := s.get("/api/v1/clients/"+id, key)
	if got.status != http.StatusOK || strings.Contains(string(got.body), "client_secret") || !strings.Contains(string(got.body), `"sales"`) {
		t.Fatalf("get client: %d %s", got.status, got.body)
	}
	spa := s.post("/api/v1/orgs/acme/clients", key, map[string]any{"name": "Dash", "kind": "native",
		"redirect_uris": []string{"http://127.0.0.1/callback", "com.example.dash:/cb"}})
	if spa.status != http.StatusCreated || strings.Contains(string(spa.body), "client_secret") {
		t.Fatalf("create native client: %d %s", spa.status, spa.body)
	}
	spaID := spa.str(t, "client_id")

	for _, c := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"a wildcard", map[string]any{"name": "x", "kind": "web", "redirect_uris": []string{"https://*.example/cb"}}, "redirect_uris"},
		{"plain http", map[string]any{"name": "x", "kind": "web", "redirect_uris": []string{"http://app.example/cb"}}, "redirect_uris"},
		{"a fragment", map[string]any{"name": "x", "kind": "spa", "redirect_uris": []string{"https://app.example/cb#x"}}, "redirect_uris"},
		{"a custom scheme for a web app", map[string]any{"name": "x", "kind": "web", "redirect_uris": []string{"com.example:/cb"}}, "redirect_uris"},
		{"no redirect", map[string]any{"name": "x", "kind": "web"}, "redirect_uris"},
		{"an unknown kind", map[string]any{"name": "x", "kind": "robot", "redirect_uris": []string{"https://a/cb"}}, "kind"},
		{"an unknown scope", map[string]any{"name": "x", "kind": "web", "redirect_uris": []string{"https://a/cb"}, "scopes": []string{"openid", "admin"}}, "scopes"},
	} {
		r := s.post("/api/v1/orgs/acme/clients", key, c.body)
		if r.status != http.StatusBadRequest || r.errorCode(t) != "invalid_request" || !strings.Contains(string(r.body), c.field) {
			t.Errorf("%s: %d %s", c.name, r.status, r.body)
		}
	}

	// Another org's admin sees none of them and cannot touch them.
	if r := s.get("/api/v1/clients", globexKey); r.status != http.StatusOK || strings.Contains(string(r.body), id) {
		t.Fatalf("globex lists: %d %s", r.status, r.body)
	}
	wantKeyErr(t, "globex reads acme's client", s.get("/api/v1/clients/"+id, globexKey), http.StatusNotFound, "not_found")
	wantKeyErr(t, "globex registers in acme", s.post("/api/v1/orgs/acme/clients", globexKey,
		map[string]any{"name": "x", "kind": "spa", "redirect_uris": []string{"https://a/cb"}}), http.StatusNotFound, "not_found")
	wantKeyErr(t, "globex rotates acme's secret", s.post("/api/v1/clients/"+id+"/secret", globexKey, nil), http.StatusNotFound, "not_found")

	list := s.get("/api/v1/orgs/acme/clients", key)
	if list.status != http.StatusOK || !strings.Contains(string(list.body), id) || !strings.Contains(string(list.body), spaID) {
		t.Fatalf("list acme: %d %s", list.status, list.body)
	}
	rot := s.post("/api/v1/clients/"+id+"/secret", key, nil)
	if rot.status != http.StatusOK || !clientSecretPattern.MatchString(rot.str(t, "client_secret")) || rot.str(t, "client_secret") == m["client_secret"] {
		t.Fatalf("rotate: %d %s", rot.status, rot.body)
	}
	wantKeyErr(t, "rotate a public client", s.post("/api/v1/clients/"+spaID+"/secret", key, nil), http.StatusBadRequest, "invalid_request")

	patch := s.do(request{method: http.MethodPatch, path: "/api/v1/clients/" + id, token: key,
		body: map[string]any{"name": "Wiki 2", "require_mfa": false}})
	if patch.status != http.StatusOK || patch.str(t, "name") != "Wiki 2" || patch.json(t)["require_mfa"] != false {
		t.Fatalf("patch: %d %s", patch.status, patch.body)
	}
	if r := s.do(request{method: http.MethodDelete, path: "/api/v1/clients/" + id, token: key}); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	wantKeyErr(t, "deleted client", s.get("/api/v1/clients/"+id, key), http.StatusNotFound, "not_found")

	// Every change is in the audit log.
	audit := s.get("/api/v1/audit?event=client.", key)
	for _, ev := range []string{"client.create", "client.secret", "client.update", "client.delete"} {
		if !strings.Contains(string(audit.body), ev) {
			t.Errorf("audit log lacks %s: %s", ev, audit.body)
		}
	}
}

func TestClientsFromTheCommandLine(t *testing.T) {
	s := newServer(t)
	s.apiKeyTree()
	out := s.cli("", "client", "create", "--org", "acme", "--name", "Portal", "--kind", "web",
		"--redirect-uris", "https://portal.example/cb", "--require-mfa")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	secret := lines[len(lines)-1]
	if !clientSecretPattern.MatchString(secret) || !strings.Contains(out, "require_mfa=true") {
		t.Fatalf("client create printed %q", out)
	}
	id := strings.TrimPrefix(lines[1], "client_id: ")
	list := s.cli("", "client", "list", "--org", "acme")
	if !strings.Contains(list, id) || !strings.Contains(list, "Portal") || strings.Contains(list, secret) {
		t.Fatalf("client list printed %q", list)
	}
	rot := s.cli("", "client", "rotate-secret", "--id", id)
	if !strings.Contains(rot, "tfc_") || strings.Contains(rot, secret) {
		t.Fatalf("rotate-secret printed %q", rot)
	}
	s.cli("", "client", "delete", "--id", id)
	if list := s.cli("", "client", "list"); strings.Contains(list, id) {
		t.Fatalf("client list after delete printed %q", list)
	}
	if _, errOut, code := s.runCLI("", "client", "create", "--org", "acme", "--name", "x", "--kind", "spa", "--redirect-uris", "http://evil.example/cb"); code == 0 || !strings.Contains(errOut, "invalid_request") {
		t.Fatalf("bad redirect: exit %d, %s", code, errOut)
	}
}
