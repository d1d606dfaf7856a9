package api_test

import (
	"net/http"
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
