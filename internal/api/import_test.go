package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/twofold-id/twofold/internal/factor/totp"
	"github.com/twofold-id/twofold/internal/password"
	"github.com/twofold-id/twofold/internal/store"
)

// importKey creates org acme and an admin API key for it.
func (s *server) importKey() string {
	s.t.Helper()
	s.cli("", "org", "create", "--slug", "acme", "--name", "Acme Corp")
	out := s.cli("", "apikey", "create", "--org", "acme", "--name", "import")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

func TestImportedUsersSignInWithTheirOwnPasswordHashAndAuthenticatorApp(t *testing.T) {
	s := newServer(t)
	key := s.importKey()
	argon, err := password.HashWith(password.TestParams(), testPassword)
	if err != nil {
		t.Fatal(err)
	}
	bc, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := totp.GenerateSecret()
	app := phone{secret: secret, v: totp.Default()}
	r := s.post("/api/v1/users/import", key, map[string]any{"org": "acme", "users": []map[string]any{
		{"username": "ann", "email": "ann@example.com", "password_hash": argon,
			"totp": []map[string]string{{"secret": strings.ToLower(totp.FormatSecret(secret)), "label": "Old phone"}}},
		{"username": "bob", "password_hash": string(bc)},
	}})
	if r.status != http.StatusOK || r.json(t)["imported"].(float64) != 2 {
		t.Fatalf("import: %d %s", r.status, r.body)
	}

	// ann has her app: the password step asks for a code. A code of the
	// step of the import was possibly seen before it and is refused.
	flow := s.signIn("acme", "ann", "mfa_required")["flow_token"].(string)
	v := s.post("/api/v1/auth/verify", "", map[string]string{"flow_token": flow, "method": "totp", "code": app.code(s.clock.Now())})
	if v.status != http.StatusUnauthorized || v.errorCode(t) != "invalid_code" {
		t.Fatalf("a code of the import's step: %d %s", v.status, v.body)
	}
	s.clock.Advance(30 * time.Second)
	v = s.post("/api/v1/auth/verify", "", map[string]string{"flow_token": flow, "method": "totp", "code": app.code(s.clock.Now())})
	if v.status != http.StatusOK || v.str(t, "status") != "authenticated" {
		t.Fatalf("verify ann: %d %s", v.status, v.body)
	}
	me := s.get("/api/v1/me/factors", v.str(t, "session_token"))
	if me.status != http.StatusOK || !strings.Contains(string(me.body), `"Old phone"`) {
		t.Fatalf("ann's factors: %d %s", me.status, me.body)
	}

	// bob's bcrypt hash works once, and is replaced by argon2id.
	s.session("acme", "bob")
	u, err := s.app.Store.GetUserByName(t.Context(), mustOrgID(t, s, "acme"), "bob")
	if err != nil || !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		t.Fatalf("bob's hash after sign-in: %q, %v", u.PasswordHash, err)
	}
	evs, _ := s.app.Store.ListAudit(t.Context(), store.AuditFilter{Event: "user.import"})
	if len(evs) != 2 {
		t.Errorf("%d user.import events, want 2", len(evs))
	}
}

func mustOrgID(t *testing.T, s *server, slug string) string {
	t.Helper()
	o, err := s.app.Store.GetOrgBySlug(t.Context(), slug)
	if err != nil {
		t.Fatal(err)
	}
	return o.ID
}

func TestAnImportWithBadEntriesWritesNothingUnlessPartial(t *testing.T) {
	s := newServer(t)
	key := s.importKey()
	s.cli(testPassword+"\n", "user", "create", "--org", "acme", "--username", "taken", "--password-stdin")
	s.cli("", "org", "create", "--slug", "globex", "--name", "Globex")
	secret, _ := totp.GenerateSecret()
	users := []map[string]any{
		{"username": "good"},
		{"username": "taken", "totp": []map[string]string{{"secret": totp.EncodeSecret(secret)}}},
		{"username": "badhash", "password_hash": "md5:5f4dcc3b5aa765d61d8327deb882cf99"},
		{"username": "shortsecret", "totp": []map[string]string{{"secret": "JBSWY3DPEHPK3PXP"}}},
		{"username": "good"},
		{"username": "elsewhere", "org": "globex"},
		{"username": "boss", "role": "superadmin"},
		{"username": "with space"},
	}
	r := s.post("/api/v1/users/import", key, map[string]any{"org": "acme", "users": users})
	if r.status != http.StatusBadRequest || r.errorCode(t) != "import_rejected" {
		t.Fatalf("import: %d %s", r.status, r.body)
	}
	want := []struct {
		index       int
		code, field string
	}{
		{1, "conflict", "username"}, {2, "invalid_request", "password_hash"}, {3, "invalid_request", "totp.secret"},
		{4, "conflict", "username"}, {5, "not_found", "org"}, {6, "role_too_high", "role"}, {7, "invalid_request", "username"},
	}
	problems := r.json(t)["problems"].([]any)
	if len(problems) != len(want) {
		t.Fatalf("problems = %v", problems)
	}
	for i, w := range want {
		p := problems[i].(map[string]any)
		if int(p["index"].(float64)) != w.index || p["code"] != w.code || p["field"] != w.field || p["message"] == "" {
			t.Errorf("problem %d = %v, want %+v", i, p, w)
		}
	}
	if _, err := s.app.Store.GetUserByName(t.Context(), mustOrgID(t, s, "acme"), "good"); err == nil {
		t.Fatal("a rejected import wrote a user")
	}
	// The existing user got no factor.
	taken, _ := s.app.Store.GetUserByName(t.Context(), mustOrgID(t, s, "acme"), "taken")
	if fs, _ := s.app.Store.ListFactors(t.Context(), taken.ID); len(fs) != 0 {
		t.Fatalf("an import added %d factors to an existing user", len(fs))
	}

	r = s.post("/api/v1/users/import", key, map[string]any{"org": "acme", "partial": true, "users": users})
	if r.status != http.StatusOK || r.json(t)["imported"].(float64) != 1 || len(r.json(t)["problems"].([]any)) != len(want) {
		t.Fatalf("partial import: %d %s", r.status, r.body)
	}
	if _, err := s.app.Store.GetUserByName(t.Context(), mustOrgID(t, s, "acme"), "good"); err != nil {
		t.Fatalf("a partial import did not write the good entry: %v", err)
	}
}

func TestImportIsASensitiveAdminAction(t *testing.T) {
	s := newServer(t)
	s.apiKeyTree()
	alice := s.keySignIn("acme", "alice")
	one := map[string]any{"org": "acme", "users": []map[string]any{{"username": "new"}}}
	wantKeyErr(t, "a member imports", s.post("/api/v1/users/import", alice, one), http.StatusForbidden, "forbidden")
	ada := s.keySignIn("acme", "ada") // password only, no second factor
	if r := s.post("/api/v1/users/import", ada, one); r.status != http.StatusForbidden {
		t.Fatalf("an admin without a recent second factor imports: %d %s", r.status, r.body)
	}
	ada = s.adminSession("acme", "ada")
	if r := s.post("/api/v1/users/import", ada, one); r.status != http.StatusOK {
		t.Fatalf("an admin with a fresh second factor imports: %d %s", r.status, r.body)
	}
	if r := s.post("/api/v1/users/import", ada, map[string]any{"org": "acme", "users": []map[string]any{}}); r.status != http.StatusBadRequest {
		t.Fatalf("an empty import: %d %s", r.status, r.body)
	}
}

func TestUserImportAtTheCommandLineReportsBadLinesByNumber(t *testing.T) {
	s := newServer(t)
	s.cli("", "org", "create", "--slug", "acme", "--name", "Acme Corp")
	hash, _ := password.HashWith(password.TestParams(), testPassword)
	secret, _ := totp.GenerateSecret()
	file := strings.Join([]string{
		`{"username":"ann","password_hash":"` + hash + `","totp":[{"secret":"` + totp.EncodeSecret(secret) + `"}]}`,
		`# a comment`,
		`{"username":"ben","password_hash":"plaintext!"}`,
		`{"username":"cy","org":"nowhere"}`,
		`not json`,
		`{"username":"ANN"}`,
		`{"username":"dee","password_hash":"` + hash + `"}`,
	}, "\n")
	out, errOut, code := s.runCLI(file, "user", "import", "--org", "acme")
	if code == 0 {
		t.Fatalf("an import with bad lines succeeded: %s", out)
	}
	for _, want := range []string{"line 3: password_hash", "line 4: org", "line 5: not a JSON object", "line 6: username: the same user as line 1", "nothing was imported"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, "line 1:") || strings.Contains(errOut, "line 7:") {
		t.Errorf("good lines reported:\n%s", errOut)
	}
	if _, err := s.app.Store.GetUserByName(t.Context(), mustOrgID(t, s, "acme"), "ann"); err == nil {
		t.Fatal("a rejected import wrote a user")
	}

	out = s.cli(file, "user", "import", "--org", "acme", "--partial")
	if !strings.Contains(out, "imported 2 users; skipped 4 bad lines") {
		t.Fatalf("partial import printed %q", out)
	}
	flow := s.signIn("acme", "ann", "mfa_required")["flow_token"].(string)
	s.clock.Advance(30 * time.Second)
	v := s.post("/api/v1/auth/verify", "", map[string]string{"flow_token": flow, "method": "totp", "code": phone{secret: secret, v: totp.Default()}.code(s.clock.Now())})
	if v.status != http.StatusOK {
		t.Fatalf("imported ann verifies: %d %s", v.status, v.body)
	}
}
