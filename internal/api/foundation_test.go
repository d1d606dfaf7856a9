package api_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAUserCreatedAtTheCommandLineSignsInSeesHerselfAndSignsOut(t *testing.T) {
	s := newServer(t)
	s.orgAndUser()

	r := s.login("alice", "authenticated")
	tok := r.str(t, "session_token")
	exp, err := time.Parse(time.RFC3339, r.str(t, "expires_at"))
	if tok == "" || err != nil {
		t.Fatalf("login answer %s", r.body)
	}
	if want := s.clock.Now().Add(24 * time.Hour); !exp.Equal(want) {
		t.Fatalf("expires_at %s, want %s", exp, want)
	}

	me := s.get("/api/v1/me", tok)
	if me.status != http.StatusOK {
		t.Fatalf("GET /me: %d %s", me.status, me.body)
	}
	m := me.json(t)
	user, _ := m["user"].(map[string]any)
	org, _ := m["org"].(map[string]any)
	if user["username"] != "alice" || user["role"] != "member" || user["email"] != "alice@example.com" || org["slug"] != "acme" || org["name"] != "Acme Corp" {
		t.Fatalf("GET /me: %s", me.body)
	}
	if strings.Contains(string(me.body), "argon2") || strings.Contains(string(me.body), tok) {
		t.Fatalf("GET /me leaks the password hash or the token: %s", me.body)
	}

	ss := s.get("/api/v1/me/sessions", tok)
	if ss.status != http.StatusOK {
		t.Fatalf("GET /me/sessions: %d %s", ss.status, ss.body)
	}
	list, _ := ss.json(t)["sessions"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["current"] != true {
		t.Fatalf("sessions: %s", ss.body)
	}

	out := s.post("/api/v1/auth/logout", tok, nil)
	if out.status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", out.status, out.body)
	}
	for _, path := range []string{"/api/v1/me", "/api/v1/me/sessions"} {
		again := s.get(path, tok)
		if again.status != http.StatusUnauthorized || again.errorCode(t) != "unauthenticated" {
			t.Fatalf("GET %s after logout: %d %s", path, again.status, again.body)
		}
	}
	if again := s.post("/api/v1/auth/logout", tok, nil); again.status != http.StatusUnauthorized {
		t.Fatalf("second logout: %d", again.status)
	}
}

func TestRevokingOneOfOnesSessionsOverTheAPI(t *testing.T) {
	s := newServer(t)
	s.orgAndUser()
	s.cli(testPassword+"\n", "user", "create", "--org", "acme", "--username", "mallory", "--password-stdin")
	a := s.login("alice", "authenticated").str(t, "session_token")
	b := s.login("alice", "authenticated").str(t, "session_token")
	m := s.login("mallory", "authenticated").str(t, "session_token")

	var ids []string
	for _, x := range s.get("/api/v1/me/sessions", a).json(t)["sessions"].([]any) {
		ids = append(ids, x.(map[string]any)["id"].(string))
	}
	if len(ids) != 2 {
		t.Fatalf("alice has %d sessions, want 2", len(ids))
	}
	for _, id := range ids {
		r := s.do(request{method: http.MethodDelete, path: "/api/v1/me/sessions/" + id, token: m})
		if r.status != http.StatusNotFound || r.errorCode(t) != "not_found" {
			t.Fatalf("mallory revoking alice's session: %d %s", r.status, r.body)
		}
	}
	if r := s.get("/api/v1/me", b); r.status != http.StatusOK {
		t.Fatal("alice's session died from mallory's attempt")
	}
	// From session a, alice revokes the other one (b).
	for _, x := range s.get("/api/v1/me/sessions", a).json(t)["sessions"].([]any) {
		if sess := x.(map[string]any); sess["current"] != true {
			if r := s.do(request{method: http.MethodDelete, path: "/api/v1/me/sessions/" + sess["id"].(string), token: a}); r.status != http.StatusNoContent {
				t.Fatalf("alice revoking her own session: %d %s", r.status, r.body)
			}
		}
	}
	if r := s.get("/api/v1/me", b); r.status != http.StatusUnauthorized {
		t.Fatalf("revoked session still works: %d", r.status)
	}
	if r := s.get("/api/v1/me", a); r.status != http.StatusOK {
		t.Fatalf("the session that revoked the other died: %d", r.status)
	}
}

func TestUnknownOrgUnknownUserAndWrongPasswordGetTheSameAnswer(t *testing.T) {
	s := newServer(t)
	s.orgAndUser()
	s.cli("", "org", "create", "--slug", "other", "--name", "Other")
	var first response
	for i, body := range []map[string]string{
		{"org": "nosuch", "username": "alice", "password": testPassword},
		{"org": "acme", "username": "bob", "password": testPassword},
		{"org": "other", "username": "alice", "password": testPassword},
		{"org": "acme", "username": "alice", "password": "wrong password"},
	} {
		r := s.post("/api/v1/auth/login", "", body)
		if r.status != http.StatusUnauthorized || r.errorCode(t) != "invalid_credentials" {
			t.Fatalf("%v: %d %s", body, r.status, r.body)
		}
		if i == 0 {
			first = r
		} else if string(r.body) != string(first.body) {
			t.Fatalf("answers differ:\n%s\n%s", first.body, r.body)
		}
	}
	// Case and width do not make another account.
	for _, name := range []string{"Alice", "ALICE", "ａｌｉｃｅ"} {
		s.login(name, "authenticated")
	}
}

func TestFiftyParallelSignInsOfOneUserAllSucceedWithRealPasswordHashing(t *testing.T) {
	if testing.Short() {
		t.Skip("uses real argon2id parameters")
	}
	s := newServerWith(t, nil) // m=19 MiB, t=2, p=1
	s.orgAndUser()
	const n = 50
	statuses := make([]int, n)
	tokens := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := s.post("/api/v1/auth/login", "", map[string]string{"org": "acme", "username": "alice", "password": testPassword})
			statuses[i] = r.status
			if r.status == http.StatusOK {
				tokens[i] = r.str(t, "session_token")
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, st := range statuses {
		if st != http.StatusOK || tokens[i] == "" || seen[tokens[i]] {
			t.Fatalf("sign-in %d: status %d (all: %v)", i, st, statuses)
		}
		seen[tokens[i]] = true
	}
	list := s.get("/api/v1/me/sessions", tokens[0]).json(t)["sessions"].([]any)
	if len(list) != n {
		t.Fatalf("%d sessions, want %d", len(list), n)
	}
}

func TestHealthAndReadinessAnswer(t *testing.T) {
	s := newServer(t)
	s.post("/api/v1/auth/login", "", map[string]string{"org": "x", "username": "y", "password": "z"})
	for _, path := range []string{"/healthz", "/readyz"} {
		r := s.get(path, "")
		if r.status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, r.status, r.body)
		}
	}
	if err := s.app.Store.Close(); err != nil {
		t.Fatal(err)
	}
	if r := s.get("/readyz", ""); r.status != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with the database closed: %d", r.status)
	}
}

func TestAnUnknownAPIPathIsAJSONNotFound(t *testing.T) {
	s := newServer(t)
	r := s.get("/api/v1/nosuch", "")
	if r.status != http.StatusNotFound || r.errorCode(t) != "not_found" {
		t.Fatalf("%d %s", r.status, r.body)
	}
}
