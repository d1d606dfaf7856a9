package api_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

var apiKeyToken = regexp.MustCompile(`^tfk_[A-Za-z0-9_-]{43}$`)

// apiKeyTree creates acme with its child sales, and globex beside acme:
// ada admins acme, alice is a member of acme, sam of sales, gina of
// globex, and gus admins globex. All have testPassword and no MFA.
func (s *server) apiKeyTree() {
	s.t.Helper()
	s.cli("", "org", "create", "--slug", "acme", "--name", "Acme Corp")
	s.cli("", "org", "create", "--slug", "sales", "--name", "Sales", "--parent", "acme")
	s.cli("", "org", "create", "--slug", "globex", "--name", "Globex")
	for _, u := range []struct{ org, name, role string }{
		{"acme", "ada", "admin"}, {"acme", "alice", "member"}, {"sales", "sam", "member"},
		{"globex", "gina", "member"}, {"globex", "gus", "admin"},
	} {
		s.cli(testPassword+"\n", "user", "create", "--org", u.org, "--username", u.name, "--role", u.role, "--password-stdin")
	}
}

// signInTo signs a user without MFA in to org and returns the session token.
func (s *server) keySignIn(org, user string) string {
	s.t.Helper()
	r := s.post("/api/v1/auth/login", "", map[string]string{"org": org, "username": user, "password": testPassword})
	if r.status != http.StatusOK || r.str(s.t, "status") != "authenticated" {
		s.t.Fatalf("login %s/%s: %d %s", org, user, r.status, r.body)
	}
	return r.str(s.t, "session_token")
}

// createKey creates an API key with the session tok and requires 201.
func (s *server) newAPIKey(tok string, body map[string]any) (id, token string) {
	s.t.Helper()
	r := s.post("/api/v1/api-keys", tok, body)
	if r.status != http.StatusCreated {
		s.t.Fatalf("create API key %v: %d %s", body, r.status, r.body)
	}
	m := r.json(s.t)
	return m["id"].(string), m["token"].(string)
}

// wantError fails unless r has status and error code.
func wantKeyErr(t *testing.T, what string, r response, status int, code string) {
	t.Helper()
	if r.status != status || r.errorCode(t) != code {
		t.Fatalf("%s: %d %s, want %d %s", what, r.status, r.body, status, code)
	}
}

// keyIn returns the key with the given id from GET /api/v1/api-keys.
func listedKey(t *testing.T, r response, id string) map[string]any {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("list API keys: %d %s", r.status, r.body)
	}
	for _, k := range r.json(t)["api_keys"].([]any) {
		if m := k.(map[string]any); m["id"] == id {
			return m
		}
	}
	t.Fatalf("key %s not listed: %s", id, r.body)
	return nil
}

func TestAnAPIKeyActsAsAnAdminOfItsSubtreeAndNoFurther(t *testing.T) {
	s := newServer(t)
	s.apiKeyTree()
	ada := s.adminSession("acme", "ada")
	ph, _ := enrollOverHTTP(t, s, ada, "phone")

	s.clock.Advance(20 * time.Minute)
	r := s.post("/api/v1/api-keys", ada, map[string]any{"org": "acme", "name": "ci"})
	wantKeyErr(t, "create with a stale second factor", r, http.StatusForbidden, "reauthentication_required")
	r = s.post("/api/v1/auth/reauthenticate", ada, map[string]string{"code": ph.code(s.clock.Now())})
	if r.status != http.StatusOK {
		t.Fatalf("reauthenticate: %d %s", r.status, r.body)
	}
	ada = r.str(t, "session_token") // a step-up yields a new session
	r = s.post("/api/v1/api-keys", ada, map[string]any{"org": "acme", "name": "ci"})
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	created := r.json(t)
	id, key := created["id"].(string), created["token"].(string)
	if !apiKeyToken.MatchString(key) || created["role"] != "admin" || created["last_used_at"] != nil ||
		created["org"].(map[string]any)["slug"] != "acme" {
		t.Fatalf("created key: %s", r.body)
	}

	t.Run("lists the users of its subtree only", func(t *testing.T) {
		body := string(s.get("/api/v1/users", key).body)
		for _, name := range []string{"ada", "alice", "sam"} {
			if !strings.Contains(body, `"`+name+`"`) {
				t.Errorf("%s missing from %s", name, body)
			}
		}
		if strings.Contains(body, "gina") || strings.Contains(body, "gus") {
			t.Errorf("a sibling org's users are listed: %s", body)
		}
	})
	t.Run("cannot see a sibling org", func(t *testing.T) {
		wantKeyErr(t, "GET /orgs/globex", s.get("/api/v1/orgs/globex", key), http.StatusNotFound, "not_found")
		wantKeyErr(t, "GET /users?org=globex", s.get("/api/v1/users?org=globex", key), http.StatusNotFound, "not_found")
	})
	t.Run("cannot grant a role above its own, but passes the fresh-session rule", func(t *testing.T) {
		r := s.post("/api/v1/users", key, map[string]any{"org": "sales", "username": "sue", "role": "superadmin"})
		wantKeyErr(t, "create a superadmin", r, http.StatusForbidden, "role_too_high")
		s.clock.Advance(20 * time.Minute) // ada's session is stale again; the key does not care
		if r := s.post("/api/v1/users", key, map[string]any{"org": "sales", "username": "sue", "role": "admin"}); r.status != http.StatusCreated {
			t.Fatalf("create an admin with the key: %d %s", r.status, r.body)
		}
	})
	t.Run("is no session", func(t *testing.T) {
		r := s.get("/api/v1/me", key)
		wantKeyErr(t, "GET /me", r, http.StatusUnauthorized, "unauthenticated")
		if r.header.Get("WWW-Authenticate") != `Bearer realm="twofold"` {
			t.Errorf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
		}
		wantKeyErr(t, "GET /api-keys", s.get("/api/v1/api-keys", key), http.StatusUnauthorized, "unauthenticated")
		wantKeyErr(t, "POST /api-keys", s.post("/api/v1/api-keys", key, map[string]any{"org": "acme", "name": "child"}),
			http.StatusUnauthorized, "unauthenticated")
	})
	t.Run("the list never shows the token and records the last use", func(t *testing.T) {
		r := s.get("/api/v1/api-keys", ada)
		if strings.Contains(string(r.body), key) || strings.Contains(string(r.body), `"token"`) || strings.Contains(string(r.body), "hash") {
			t.Fatalf("the list reveals the token: %s", r.body)
		}
		if k := listedKey(t, r, id); k["last_used_at"] == nil || k["created_by"] == nil || k["revoked_at"] != nil {
			t.Errorf("listed key: %v", k)
		}
	})
	t.Run("its work is audited under its own name", func(t *testing.T) {
		body := string(s.get("/api/v1/audit?event=user.create", ada).body)
		if !strings.Contains(body, `"actor_user_id":"apikey:`+id+`"`) {
			t.Errorf("user.create by the key not attributed to it: %s", body)
		}
		body = string(s.get("/api/v1/audit?event=apikey.", ada).body)
		if !strings.Contains(body, `"event":"apikey.create"`) || strings.Contains(body, key) {
			t.Errorf("apikey.create not audited, or audited with its token: %s", body)
		}
	})
	t.Run("an admin of another subtree cannot revoke it", func(t *testing.T) {
		gus := s.adminSession("globex", "gus")
		r := s.do(request{method: http.MethodDelete, path: "/api/v1/api-keys/" + id, token: gus})
		wantKeyErr(t, "revoke by gus", r, http.StatusNotFound, "not_found")
		if r := s.get("/api/v1/users", key); r.status != http.StatusOK {
			t.Fatalf("the key stopped working: %d %s", r.status, r.body)
		}
	})
	t.Run("a revoked key is refused like an invalid session", func(t *testing.T) {
		for range 2 { // revoking twice is fine
			if r := s.do(request{method: http.MethodDelete, path: "/api/v1/api-keys/" + id, token: ada}); r.status != http.StatusNoContent {
				t.Fatalf("revoke: %d %s", r.status, r.body)
			}
		}
		wantKeyErr(t, "revoked key", s.get("/api/v1/users", key), http.StatusUnauthorized, "unauthenticated")
		if k := listedKey(t, s.get("/api/v1/api-keys", ada), id); k["revoked_at"] == nil {
			t.Errorf("revoked key listed as %v", k)
		}
	})
	t.Run("unknown and malformed keys are refused alike", func(t *testing.T) {
		for _, tok := range []string{"tfk_" + strings.Repeat("A", 43), "tfk_short", "tfk_" + strings.Repeat("A", 44), key[:len(key)-1] + "!"} {
			wantKeyErr(t, "key "+tok, s.get("/api/v1/users", tok), http.StatusUnauthorized, "unauthenticated")
		}
	})
}

func TestAnExpiredAPIKeyIsRefused(t *testing.T) {
	s := newServer(t)
	s.apiKeyTree()
	ada := s.adminSession("acme", "ada")
	id, key := s.newAPIKey(ada, map[string]any{"org": "sales", "name": "nightly", "expires_in": "1h"})
	if k := listedKey(t, s.get("/api/v1/api-keys", ada), id); k["expires_at"] != "2026-03-01T13:01:15Z" {
		t.Errorf("expires_at = %v", k["expires_at"])
	}
	if r := s.get("/api/v1/orgs/sales", key); r.status != http.StatusOK {
		t.Fatalf("fresh key: %d %s", r.status, r.body)
	}
	wantKeyErr(t, "the key's parent org", s.get("/api/v1/orgs/acme", key), http.StatusNotFound, "not_found")
	s.clock.Advance(time.Hour - time.Second)
	if r := s.get("/api/v1/orgs/sales", key); r.status != http.StatusOK {
		t.Fatalf("key a second before expiry: %d %s", r.status, r.body)
	}
	s.clock.Advance(time.Second)
	wantKeyErr(t, "expired key", s.get("/api/v1/orgs/sales", key), http.StatusUnauthorized, "unauthenticated")

	r := s.post("/api/v1/api-keys", s.adminSession("acme", "ada"), map[string]any{"org": "acme", "name": "x", "expires_in": "soon"})
	wantKeyErr(t, "expires_in not a duration", r, http.StatusBadRequest, "invalid_type")
}

func TestMembersCannotCreateAPIKeysAndMemberKeysDoNoAdminWork(t *testing.T) {
	s := newServer(t)
	s.apiKeyTree()
	alice := s.keySignIn("acme", "alice")
	wantKeyErr(t, "member creates a key", s.post("/api/v1/api-keys", alice, map[string]any{"org": "acme", "name": "mine"}),
		http.StatusForbidden, "forbidden")
	wantKeyErr(t, "member lists keys", s.get("/api/v1/api-keys", alice), http.StatusForbidden, "forbidden")

	ada := s.adminSession("acme", "ada")
	wantKeyErr(t, "admin creates a superadmin key", s.post("/api/v1/api-keys", ada, map[string]any{"org": "acme", "name": "root", "role": "superadmin"}),
		http.StatusForbidden, "role_too_high")
	wantKeyErr(t, "admin creates a key for a sibling org", s.post("/api/v1/api-keys", ada, map[string]any{"org": "globex", "name": "spy"}),
		http.StatusNotFound, "not_found")
	_, key := s.newAPIKey(ada, map[string]any{"org": "acme", "name": "reader", "role": "member"})
	wantKeyErr(t, "member key lists users", s.get("/api/v1/users", key), http.StatusForbidden, "forbidden")
}

func TestAPIKeysFromTheCommandLine(t *testing.T) {
	s := newServer(t)
	s.apiKeyTree()
	out := s.cli("", "apikey", "create", "--org", "acme", "--name", "deploy", "--expires", "720h")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	key := lines[len(lines)-1]
	if !apiKeyToken.MatchString(key) || !strings.Contains(out, "role admin") {
		t.Fatalf("apikey create printed %q", out)
	}
	r := s.get("/api/v1/orgs", key)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"sales"`) || strings.Contains(string(r.body), `"globex"`) {
		t.Fatalf("orgs with the key: %d %s", r.status, r.body)
	}
	list := s.cli("", "apikey", "list", "--org", "acme")
	// Used and expiring: neither LAST USED nor EXPIRES says "never".
	if !strings.Contains(list, "deploy") || strings.Contains(list, key) || strings.Contains(list, "never") {
		t.Fatalf("apikey list printed %q", list)
	}
	if list := s.cli("", "apikey", "list", "--org", "globex"); strings.Contains(list, "deploy") {
		t.Fatalf("apikey list --org globex printed %q", list)
	}
	id := strings.Fields(lines[0])[len(strings.Fields(lines[0]))-1]
	id = strings.TrimPrefix(id, "id=")
	s.cli("", "apikey", "revoke", "--id", id)
	wantKeyErr(t, "revoked key", s.get("/api/v1/orgs", key), http.StatusUnauthorized, "unauthenticated")
	if _, errOut, code := s.runCLI("", "apikey", "revoke", "--id", "nope"); code == 0 || !strings.Contains(errOut, "not_found") {
		t.Fatalf("revoke of an unknown key: exit %d, %s", code, errOut)
	}
}

func TestAnAPIKeyRecordsItsLastUseAtMostOnceAMinute(t *testing.T) {
	s := newServer(t)
	s.apiKeyTree()
	ada := s.adminSession("acme", "ada")
	id, key := s.newAPIKey(ada, map[string]any{"org": "acme", "name": "poller"})
	lastUsed := func() any { return listedKey(t, s.get("/api/v1/api-keys", ada), id)["last_used_at"] }
	for _, step := range []struct {
		advance time.Duration
		want    string
	}{
		{0, "2026-03-01T12:01:15Z"},                // adminSession set up ada's app a minute after the start
		{30 * time.Second, "2026-03-01T12:01:15Z"}, // within the minute: not written again
		{40 * time.Second, "2026-03-01T12:02:25Z"},
	} {
		s.clock.Advance(step.advance)
		if r := s.get("/api/v1/orgs", key); r.status != http.StatusOK {
			t.Fatalf("use: %d %s", r.status, r.body)
		}
		if got := lastUsed(); got != step.want {
			t.Errorf("after %v: last_used_at = %v, want %s", step.advance, got, step.want)
		}
	}
}
