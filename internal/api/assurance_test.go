package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/api"
	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/factor/totp"
)

// The assurance rule (issue 10.1): every request made with a session
// compares what the session proved with what the user's current policy
// demands. These tests open sessions, change the policy under them in every
// way the product allows, and then try every route the API registers.

// lackingOK lists, independently of the code's own table, what a session
// that lacks a second factor may still call: what a sign-in flow in the
// same state could do.
var lackingOK = map[string]map[string]bool{
	"mfa_enrollment_required": {
		"GET /api/v1/me": true, "POST /api/v1/auth/logout": true, "POST /api/v1/auth/resume": true,
		"GET /api/v1/me/factors": true, "POST /api/v1/me/factors/totp": true, "POST /api/v1/me/factors/email": true,
		"POST /api/v1/me/factors/sms": true, "POST /api/v1/me/factors/webauthn": true, "POST /api/v1/me/factors/{id}/confirm": true,
		"POST /api/v1/me/factors/{id}/resend": true, "POST /api/v1/me/email-confirmation": true,
	},
	"mfa_verification_required": {
		"GET /api/v1/me": true, "POST /api/v1/auth/logout": true, "POST /api/v1/auth/resume": true,
		"GET /api/v1/me/factors": true, "POST /api/v1/auth/reauthenticate": true, "POST /api/v1/me/codes": true,
	},
}

// checkEveryRoute calls every registered route with tok, whose session
// lacks what code names, and requires 403 code on every route that needs a
// session, except those lackingOK allows (which must not answer code).
// Routes that end or replace the session are checked last, by the caller.
func checkEveryRoute(t *testing.T, s *server, tok, code string) {
	t.Helper()
	routes, _ := api.RegisteredRoutes(t)
	checked := 0
	for _, rt := range routes {
		method, path, _ := strings.Cut(rt, " ")
		if rt == "POST /api/v1/auth/logout" || rt == "POST /api/v1/auth/resume" || rt == "POST /api/v1/auth/reauthenticate" {
			continue // they end or replace the session; see the callers
		}
		concrete := strings.NewReplacer("{id}", "0123456789abcdef0123456789abcdef", "{slug}", "acme").Replace(path)
		if r := s.do(request{method: method, path: concrete, body: map[string]any{}}); r.status != http.StatusUnauthorized {
			continue // open without a session: sign-in steps, the OpenAPI file
		}
		checked++
		r := s.do(request{method: method, path: concrete, token: tok, body: map[string]any{}})
		got := ""
		if r.status >= 400 {
			got = r.errorCode(t)
		}
		if lackingOK[code][rt] {
			if got == code {
				t.Errorf("%s: %d %s, but a session that lacks a second factor may do this", rt, r.status, r.body)
			}
			continue
		}
		if r.status != http.StatusForbidden || got != code {
			t.Errorf("%s with a session that now lacks a second factor: %d %s, want 403 %s", rt, r.status, r.body, code)
		}
	}
	if checked < 30 {
		t.Fatalf("only %d routes needed a session; has route registration changed?", checked)
	}
}

// staleAdmin builds org acme (optional) with admin ada and member bob, both
// signed in with a password alone, and returns their tokens.
func staleAdmin(t *testing.T, s *server) (ada, bob string) {
	t.Helper()
	s.cli("", "org", "create", "--slug", "acme", "--name", "Acme Corp", "--mfa", "optional")
	s.cli(testPassword+"\n", "user", "create", "--org", "acme", "--username", "ada", "--role", "admin", "--email", "ada@example.com", "--password-stdin")
	s.cli(testPassword+"\n", "user", "create", "--org", "acme", "--username", "bob", "--password-stdin")
	ada, bob = s.session("acme", "ada"), s.session("acme", "bob")
	if r := s.get("/api/v1/users", ada); r.status != http.StatusOK {
		t.Fatalf("ada lists users before any change: %d %s", r.status, r.body)
	}
	return ada, bob
}

func TestSessionsFollowTheCurrentPolicyOnEveryRoute(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(s *server)
	}{
		{"org set to required", func(s *server) { s.cli("", "org", "set-policy", "--org", "acme", "--mfa", "required") }},
		{"required by an ancestor's lock", func(s *server) {
			s.cli("", "org", "set-policy", "--org", "platform", "--mfa", "required", "--locked=true")
		}},
		{"required for the user personally", func(s *server) {
			s.cli("", "user", "set", "--org", "acme", "--username", "ada", "--mfa-required=true")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t)
			ada, _ := staleAdmin(t, s)
			tc.change(s)
			// The Kratos CVE-2024-45042 shape: the old session must not
			// keep the assurance of the policy it was born under.
			if r := s.get("/api/v1/users", ada); r.status != http.StatusForbidden || r.errorCode(t) != "mfa_enrollment_required" {
				t.Fatalf("GET /users with the stale session: %d %s", r.status, r.body)
			}
			r := s.post("/api/v1/users", ada, map[string]any{"org": "acme", "username": "mallory", "password": testPassword})
			if r.status != http.StatusForbidden || r.errorCode(t) != "mfa_enrollment_required" {
				t.Fatalf("POST /users with the stale session: %d %s", r.status, r.body)
			}
			checkEveryRoute(t, s, ada, "mfa_enrollment_required")
			if me := s.get("/api/v1/me", ada); me.status != http.StatusOK {
				t.Fatalf("GET /me: %d %s", me.status, me.body)
			}

			// What a flow in the same state could do: set up a first
			// factor. Afterwards the same session is complete.
			st := s.post("/api/v1/me/factors/totp", ada, map[string]string{"label": "phone"})
			if st.status != http.StatusCreated {
				t.Fatalf("start totp: %d %s", st.status, st.body)
			}
			secret, _ := totp.DecodeSecret(st.str(t, "secret"))
			p := phone{secret: secret, v: totp.Default()}
			if c := s.post("/api/v1/me/factors/"+st.str(t, "factor_id")+"/confirm", ada, map[string]string{"code": p.code(s.clock.Now())}); c.status != http.StatusOK {
				t.Fatalf("confirm: %d %s", c.status, c.body)
			}
			if r := s.get("/api/v1/users", ada); r.status != http.StatusOK {
				t.Fatalf("GET /users after enrolling in the session: %d %s", r.status, r.body)
			}
		})
	}
}

func TestASessionThatNeverCheckedAnExistingFactorMustStepUp(t *testing.T) {
	s := newServer(t)
	ada, _ := staleAdmin(t, s)
	// ada adds an app while MFA is optional: her session stays
	// password-only (it checked the new app's code, not a second step).
	st := s.post("/api/v1/me/factors/totp", ada, map[string]string{"label": "phone"})
	secret, _ := totp.DecodeSecret(st.str(t, "secret"))
	p := phone{secret: secret, v: totp.Default()}
	if c := s.post("/api/v1/me/factors/"+st.str(t, "factor_id")+"/confirm", ada, map[string]string{"code": p.code(s.clock.Now())}); c.status != http.StatusOK {
		t.Fatalf("confirm: %d %s", c.status, c.body)
	}
	s.cli("", "org", "set-policy", "--org", "acme", "--mfa", "required")
	checkEveryRoute(t, s, ada, "mfa_verification_required")

	// resume answers what a new sign-in would: the second step.
	flow := s.post("/api/v1/auth/resume", ada, nil)
	if flow.status != http.StatusOK || flow.str(t, "status") != "mfa_required" {
		t.Fatalf("resume: %d %s", flow.status, flow.body)
	}
	if r := s.get("/api/v1/me", ada); r.status != http.StatusUnauthorized {
		t.Fatalf("the resumed session still works: %d", r.status)
	}
	s.clock.Advance(30 * time.Second)
	v := s.post("/api/v1/auth/verify", "", map[string]string{"flow_token": flow.str(t, "flow_token"), "method": "totp", "code": p.code(s.clock.Now())})
	if v.status != http.StatusOK {
		t.Fatalf("verify: %d %s", v.status, v.body)
	}
	if r := s.get("/api/v1/users", v.str(t, "session_token")); r.status != http.StatusOK {
		t.Fatalf("GET /users after the second step: %d %s", r.status, r.body)
	}
}

func TestAStepUpSatisfiesTheNewPolicy(t *testing.T) {
	s := newServer(t)
	ada, _ := staleAdmin(t, s)
	st := s.post("/api/v1/me/factors/totp", ada, map[string]string{"label": "phone"})
	secret, _ := totp.DecodeSecret(st.str(t, "secret"))
	p := phone{secret: secret, v: totp.Default()}
	s.post("/api/v1/me/factors/"+st.str(t, "factor_id")+"/confirm", ada, map[string]string{"code": p.code(s.clock.Now())})
	s.cli("", "user", "set", "--org", "acme", "--username", "ada", "--mfa-required=true")
	s.clock.Advance(30 * time.Second)
	re := s.post("/api/v1/auth/reauthenticate", ada, map[string]string{"code": p.code(s.clock.Now())})
	if re.status != http.StatusOK {
		t.Fatalf("reauthenticate: %d %s", re.status, re.body)
	}
	if r := s.get("/api/v1/users", re.str(t, "session_token")); r.status != http.StatusOK {
		t.Fatalf("after the step-up: %d %s", r.status, r.body)
	}
}

func TestAGracePeriodThatEndsWhileASessionIsOpen(t *testing.T) {
	s := newServer(t)
	_, bob := staleAdmin(t, s)
	s.cli("", "org", "set-policy", "--org", "acme", "--mfa", "required", "--grace", "1h")
	// The grace period starts with the first request that finds MFA
	// required: bob may keep working until it ends, and not after.
	for _, step := range []time.Duration{0, 30 * time.Minute, 29 * time.Minute} {
		s.clock.Advance(step)
		if r := s.get("/api/v1/me/sessions", bob); r.status != http.StatusOK {
			t.Fatalf("%v into the grace period: %d %s", step, r.status, r.body)
		}
	}
	s.clock.Advance(2 * time.Minute)
	if r := s.get("/api/v1/me/sessions", bob); r.status != http.StatusForbidden || r.errorCode(t) != "mfa_enrollment_required" {
		t.Fatalf("after the deadline: %d %s, want 403 mfa_enrollment_required", r.status, r.body)
	}
	checkEveryRoute(t, s, bob, "mfa_enrollment_required")
}

func TestARoleRemovedTakesEffectOnOpenSessions(t *testing.T) {
	s := newServer(t)
	ada, _ := staleAdmin(t, s)
	s.cli("", "user", "set", "--org", "acme", "--username", "ada", "--role", "member")
	if r := s.get("/api/v1/users", ada); r.status != http.StatusUnauthorized {
		t.Fatalf("demoted admin's old session lists users: %d %s", r.status, r.body)
	}
	if r := s.get("/api/v1/users", s.session("acme", "ada")); r.status != http.StatusForbidden {
		t.Fatalf("demoted admin's new session lists users: %d %s", r.status, r.body)
	}
}

func TestAdminsNeedASecondFactorByDefault(t *testing.T) {
	s := newServerConfig(t, func(c *config.Config) { c.AdminMFARequired = true })
	// The README's first admin: created at the command line, first sign-in.
	s.cli(testPassword+"\n", "user", "create", "--org", "platform", "--username", "admin", "--role", "superadmin", "--password-stdin")
	s.signIn("platform", "admin", "enrollment_required")
	// Members are not affected: the org's policy is optional.
	s.cli("", "org", "create", "--slug", "acme", "--name", "Acme Corp")
	s.cli(testPassword+"\n", "user", "create", "--org", "acme", "--username", "bob", "--password-stdin")
	bob := s.session("acme", "bob")
	// A member promoted to admin while signed in: the session is revoked
	// with the role change, and the next sign-in asks for setup.
	s.cli("", "user", "set", "--org", "acme", "--username", "bob", "--role", "admin")
	if r := s.get("/api/v1/me", bob); r.status != http.StatusUnauthorized {
		t.Fatalf("session across a promotion: %d", r.status)
	}
	s.signIn("acme", "bob", "enrollment_required")
	// Turning the rule off (the operator's choice) lets admins in with a
	// password where their org allows it.
	off := newServerConfig(t, func(c *config.Config) { c.AdminMFARequired = false })
	off.cli(testPassword+"\n", "user", "create", "--org", "platform", "--username", "admin", "--role", "superadmin", "--password-stdin")
	off.signIn("platform", "admin", "authenticated")
}

// A factor started while its method was allowed cannot be confirmed after
// an admin disallowed the method: the policy is decided again at the
// confirmation, not trusted from the start.
func TestAMethodDisallowedBetweenStartAndConfirmCannotBeConfirmed(t *testing.T) {
	s := newServer(t)
	_, bob := staleAdmin(t, s)
	st := s.post("/api/v1/me/factors/totp", bob, map[string]string{"label": "phone"})
	if st.status != http.StatusCreated {
		t.Fatalf("start: %d %s", st.status, st.body)
	}
	s.cli("", "org", "set-policy", "--org", "acme", "--mfa", "optional", "--methods", "email")
	secret, _ := totp.DecodeSecret(st.str(t, "secret"))
	p := phone{secret: secret, v: totp.Default()}
	r := s.post("/api/v1/me/factors/"+st.str(t, "factor_id")+"/confirm", bob, map[string]string{"code": p.code(s.clock.Now())})
	if r.status != http.StatusForbidden || r.errorCode(t) != "method_not_allowed" {
		t.Fatalf("confirm after totp was disallowed: %d %s, want 403 method_not_allowed", r.status, r.body)
	}
}
