package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/factor/totp"
)

// adminSession returns a session of org/user whose second factor was
// checked just now, as sensitive admin actions need: on the first call it
// sets up an authenticator app for the user (at sign-in when policy asks
// for one, on the security API otherwise) and keeps it in s.phones; later
// calls sign in with a code from it.
func (s *server) adminSession(org, user string) string {
	s.t.Helper()
	if s.phones == nil {
		s.phones = map[string]phone{}
	}
	key := org + "/" + user
	res := s.post("/api/v1/auth/login", "", map[string]string{"org": org, "username": user, "password": testPassword})
	if res.status != http.StatusOK {
		s.t.Fatalf("login %s: %d %s", key, res.status, res.body)
	}
	s.clock.Advance(30 * time.Second) // a code of a step not used before
	switch st := res.str(s.t, "status"); st {
	case "enrollment_required":
		p, out := s.enrollInFlow(res.str(s.t, "flow_token"))
		s.phones[key] = p
		return out["session_token"].(string)
	case "mfa_required":
		p, ok := s.phones[key]
		if !ok {
			s.t.Fatalf("login %s: asks for a code, but adminSession set up no app for it", key)
		}
		v := s.post("/api/v1/auth/verify", "", map[string]string{"flow_token": res.str(s.t, "flow_token"), "method": "totp", "code": p.code(s.clock.Now())})
		if v.status != http.StatusOK {
			s.t.Fatalf("verify %s: %d %s", key, v.status, v.body)
		}
		return v.str(s.t, "session_token")
	case "authenticated":
		tok := res.str(s.t, "session_token")
		r := s.post("/api/v1/me/factors/totp", tok, map[string]string{"label": "admin phone"})
		if r.status != http.StatusCreated {
			s.t.Fatalf("add totp %s: %d %s", key, r.status, r.body)
		}
		secret, err := totp.DecodeSecret(r.str(s.t, "secret"))
		if err != nil {
			s.t.Fatal(err)
		}
		p := phone{secret: secret, v: totp.Default()}
		s.phones[key] = p
		c := s.post("/api/v1/me/factors/"+r.str(s.t, "factor_id")+"/confirm", tok, map[string]string{"code": p.code(s.clock.Now())})
		if c.status != http.StatusOK {
			s.t.Fatalf("confirm totp %s: %d %s", key, c.status, c.body)
		}
		s.clock.Advance(30 * time.Second)
		ra := s.post("/api/v1/auth/reauthenticate", tok, map[string]string{"code": p.code(s.clock.Now())})
		if ra.status != http.StatusOK {
			s.t.Fatalf("reauthenticate %s: %d %s", key, ra.status, ra.body)
		}
		return ra.str(s.t, "session_token")
	default:
		s.t.Fatalf("login %s: status %q", key, st)
	}
	return ""
}

// An admin without a second factor of their own cannot be re-checked, so
// no action that weakens someone else's security or hands over access may
// run on their password alone (issue 10.4); the same admin with a fresh
// factor may.
func TestEveryWeakeningActionNeedsTheAdminsOwnSecondFactor(t *testing.T) {
	s := newServer(t)
	s.tree()
	s.cli("", "org", "set-policy", "--org", "customer", "--mfa", "required")
	s.cli("", "user", "set", "--org", "dept", "--username", "erin", "--mfa-required=true")
	dave, erin := s.userID("dept", "dave"), s.userID("dept", "erin")
	actions := []struct {
		name   string
		method string
		path   string
		body   any
	}{
		{"lower a policy", http.MethodPut, "/api/v1/orgs/customer/policy", map[string]any{"mfa": "off"}},
		{"reset MFA", http.MethodPost, "/api/v1/users/" + dave + "/mfa/reset", nil},
		{"set a password", http.MethodPatch, "/api/v1/users/" + dave, map[string]any{"password": "another long passphrase"}},
		{"create an admin", http.MethodPost, "/api/v1/users", map[string]any{"org": "dept", "username": "newadmin", "role": "admin", "password": testPassword}},
		{"change a role", http.MethodPatch, "/api/v1/users/" + dave, map[string]any{"role": "admin"}},
		{"stop requiring MFA", http.MethodPut, "/api/v1/users/" + erin + "/mfa-required", map[string]any{"required": false}},
		{"create an API key", http.MethodPost, "/api/v1/api-keys", map[string]any{"org": "dept", "name": "automation"}},
	}
	rita := s.session("reseller", "rita") // an admin with a password and nothing else
	for _, a := range actions {
		r := s.do(request{method: a.method, path: a.path, token: rita, body: a.body})
		if r.status != http.StatusForbidden || r.errorCode(t) != "own_factor_required" {
			t.Errorf("%s by an admin without a factor: %d %s, want 403 own_factor_required", a.name, r.status, r.body)
		}
	}
	// Nothing changed.
	if p := s.get("/api/v1/orgs/customer/policy", s.adminSession("reseller", "rita")).json(t); p["own"].(map[string]any)["mfa"] != "required" {
		t.Fatalf("policy after the refused change: %v", p["own"])
	}
	fresh := s.adminSession("reseller", "rita")
	for _, a := range actions {
		r := s.do(request{method: a.method, path: a.path, token: fresh, body: a.body})
		if r.status >= 300 {
			t.Errorf("%s by the same admin with a fresh factor: %d %s", a.name, r.status, r.body)
		}
	}
}

// An API key is bounded by its creator's current rights (issue 19.6).
func TestAnAPIKeyStopsWhenItsCreatorLosesTheRights(t *testing.T) {
	for _, tc := range []struct {
		name           string
		change, undo   []string
		worksAfterUndo bool
	}{
		{"demoted", []string{"--role", "member"}, []string{"--role", "admin"}, true},
		{"disabled", []string{"--disabled=true"}, []string{"--disabled=false"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t)
			s.apiKeyTree()
			ada := s.adminSession("acme", "ada")
			_, key := s.newAPIKey(ada, map[string]any{"org": "acme", "name": "robot"})
			if r := s.get("/api/v1/users", key); r.status != http.StatusOK {
				t.Fatalf("key before: %d %s", r.status, r.body)
			}
			s.cli("", append([]string{"user", "set", "--org", "acme", "--username", "ada"}, tc.change...)...)
			wantKeyErr(t, "GET /users with the key", s.get("/api/v1/users", key), http.StatusUnauthorized, "unauthenticated")
			wantKeyErr(t, "POST /users role admin with the key", s.post("/api/v1/users", key,
				map[string]any{"org": "acme", "username": "eve", "role": "admin", "password": testPassword}), http.StatusUnauthorized, "unauthenticated")
			s.cli("", append([]string{"user", "set", "--org", "acme", "--username", "ada"}, tc.undo...)...)
			if r := s.get("/api/v1/users", key); (r.status == http.StatusOK) != tc.worksAfterUndo {
				t.Fatalf("key after the creator's rights came back: %d %s", r.status, r.body)
			}
		})
	}
	t.Run("deleted", func(t *testing.T) {
		s := newServer(t)
		s.apiKeyTree()
		ada := s.adminSession("acme", "ada")
		_, key := s.newAPIKey(ada, map[string]any{"org": "acme", "name": "robot"})
		s.cli(testPassword+"\n", "user", "create", "--org", "platform", "--username", "root", "--role", "superadmin", "--password-stdin")
		del := s.do(request{method: http.MethodDelete, path: "/api/v1/users/" + s.userID("acme", "ada"), token: s.adminSession("platform", "root")})
		if del.status != http.StatusNoContent {
			t.Fatalf("delete ada: %d %s", del.status, del.body)
		}
		wantKeyErr(t, "key of a deleted creator", s.get("/api/v1/users", key), http.StatusUnauthorized, "unauthenticated")
	})
}
