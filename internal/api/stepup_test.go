package api_test

// Step-up (re-authentication) replaces the session token but never the
// session's lifetime (issue 19, item 3).

import (
	"net/http"
	"testing"
	"time"
)

func TestStepUpNeverExtendsASessionsAbsoluteLifetime(t *testing.T) {
	onEachStoreDSN(t, func(t *testing.T, dsn string) {
		s := newServerOn(t, dsn, ptr(testParams()), nil)
		s.orgAndUser()
		p, _ := enrollOverHTTP(t, s, s.login("alice", "authenticated").str(t, "session_token"), "Phone")
		flow := s.login("alice", "mfa_required").str(t, "flow_token")
		v := s.post("/api/v1/auth/verify", "", map[string]string{"flow_token": flow, "method": "totp", "code": p.code(s.clock.Now())})
		if v.status != http.StatusOK {
			t.Fatalf("verify: %d %s", v.status, v.body)
		}
		tok := v.str(t, "session_token")
		first := s.get("/api/v1/me", tok).json(t)["session"].(map[string]any)
		expires, created := first["expires_at"].(string), first["created_at"].(string)

		// An attacker holding the session keeps it busy and steps up every
		// few hours, hoping to keep it alive past its absolute timeout.
		for i := range 12 {
			for range 4 { // stay within the idle timeout
				s.clock.Advance(30 * time.Minute)
				if r := s.get("/api/v1/me", tok); r.status != http.StatusOK {
					if s.clock.Now().Before(mustTime(t, expires)) {
						t.Fatalf("step-up %d: the session died before its absolute expiry: %d", i, r.status)
					}
					return
				}
			}
			r := s.post("/api/v1/auth/reauthenticate", tok, map[string]string{"method": "totp", "code": p.code(s.clock.Now())})
			if r.status != http.StatusOK {
				if s.clock.Now().Before(mustTime(t, expires)) {
					t.Fatalf("step-up %d: %d %s", i, r.status, r.body)
				}
				return
			}
			if got := r.str(t, "expires_at"); got != expires {
				t.Fatalf("step-up %d at %s moved expires_at from %s to %s", i, s.clock.Now().Format(time.RFC3339), expires, got)
			}
			tok = r.str(t, "session_token")
			sess := s.get("/api/v1/me", tok).json(t)["session"].(map[string]any)
			if sess["created_at"] != created || sess["expires_at"] != expires {
				t.Fatalf("step-up %d: session created %v expires %v, want the original %s and %s", i, sess["created_at"], sess["expires_at"], created, expires)
			}
			if sess["mfa_at"] != s.clock.Now().UTC().Format(time.RFC3339) {
				t.Fatalf("step-up %d: mfa_at = %v, want now", i, sess["mfa_at"])
			}
		}
		t.Fatalf("the session was still alive at %s, past its absolute expiry %s", s.clock.Now().Format(time.RFC3339), expires)
	})
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}
