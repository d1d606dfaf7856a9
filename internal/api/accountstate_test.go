package api_test

// Sign-ins racing admin changes of the same account (issue 19, item 7):
// a sign-in must never write back the copy of the user it read before the
// password hash was checked, and no flow or session may come out of an
// account that was disabled meanwhile.

import (
	"context"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/factor/totp"
	"github.com/twofold-id/twofold/internal/password"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// burst signs user of org in n times at once and returns the answers.
// When the first request is on its way, after is called 10–50 ms later in
// its own goroutine (the admin's change racing the sign-ins).
func (s *server) burst(org, user string, n int, after func()) []response {
	s.t.Helper()
	out := make([]response, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			out[i], errs[i] = s.call(context.Background(), http.MethodPost, "/api/v1/auth/login", "",
				map[string]string{"org": org, "username": user, "password": testPassword}, nil)
		})
	}
	wg.Go(func() {
		<-start
		time.Sleep(time.Duration(10+rand.IntN(41)) * time.Millisecond)
		after()
	})
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			s.t.Fatalf("sign-in %d: %v", i, err)
		}
	}
	return out
}

// storedUser reads a user straight from the store.
func (s *server) storedUser(id string) store.User {
	s.t.Helper()
	u, err := s.app.Store.GetUser(context.Background(), id)
	if err != nil {
		s.t.Fatal(err)
	}
	return u
}

// liveSessions counts the user's sessions that are neither revoked nor expired.
func (s *server) liveSessions(id string) int {
	s.t.Helper()
	l, err := s.app.Store.ListSessions(context.Background(), id, s.clock.Now())
	if err != nil {
		s.t.Fatal(err)
	}
	return len(l)
}

// adminChange applies ch to a user as the operator (admin.Service with the
// command line's actor), the way the API and the portal do after their
// own checks.
func (s *server) adminChange(id string, ch admin.Change) {
	s.t.Helper()
	sys, err := s.app.Admin.System(context.Background())
	if err == nil {
		_, err = s.app.Admin.UpdateUser(context.Background(), sys, id, ch, signin.Client{IP: "192.0.2.1", UserAgent: "admin"})
	}
	if err != nil {
		s.t.Errorf("admin change: %v", err)
	}
}

func TestASignInBurstNeverUndoesAConcurrentDisableOrDemotion(t *testing.T) {
	if testing.Short() {
		t.Skip("uses real argon2id parameters")
	}
	for _, tc := range []struct {
		name   string
		policy []string // org set-policy flags
		role   string
		change admin.Change
	}{
		// In a grace period the password step records when MFA became
		// required: the write that used to carry the stale copy back.
		{"disable during a grace period", []string{"--mfa", "required", "--grace", "72h"}, "member", admin.Change{Disabled: ptr(true)}},
		{"disable, password-only sessions", []string{"--mfa", "optional"}, "member", admin.Change{Disabled: ptr(true)}},
		{"demote during a grace period", []string{"--mfa", "required", "--grace", "72h"}, "admin", admin.Change{Role: ptr(store.RoleMember)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			onEachStoreDSN(t, func(t *testing.T, dsn string) {
				s := newServerOn(t, dsn, nil, nil) // m=19 MiB, t=2: the hash takes long enough to race
				s.cli("", "org", "create", "--slug", "acme", "--name", "Acme Corp")
				s.cli("", append([]string{"org", "set-policy", "--org", "acme"}, tc.policy...)...)
				s.cli(testPassword+"\n", "user", "create", "--org", "acme", "--username", "alice", "--role", tc.role, "--password-stdin")
				id := s.userID("acme", "alice")

				answers := s.burst("acme", "alice", 18, func() { s.adminChange(id, tc.change) })

				u := s.storedUser(id)
				if tc.change.Disabled != nil && !u.Disabled {
					t.Fatalf("after the burst alice is enabled again: a sign-in wrote back its stale copy")
				}
				if tc.change.Role != nil && u.Role != *tc.change.Role {
					t.Fatalf("after the burst alice is %s again: a sign-in wrote back its stale copy", u.Role)
				}
				if tc.change.Disabled == nil {
					return
				}
				// Nothing that came out of the burst opens the account now.
				for i, r := range answers {
					if r.status != http.StatusOK {
						continue
					}
					if tok := r.str(t, "session_token"); tok != "" {
						if me := s.get("/api/v1/me", tok); me.status != http.StatusUnauthorized {
							t.Errorf("session %d of the burst still works: %d", i, me.status)
						}
					}
					if flow := r.str(t, "flow_token"); flow != "" {
						if sk := s.post("/api/v1/auth/enroll/skip", "", map[string]string{"flow_token": flow}); sk.status == http.StatusOK {
							t.Errorf("flow %d of the burst skipped enrollment into a session after the disable", i)
						}
					}
				}
				if n := s.liveSessions(id); n != 0 {
					t.Fatalf("%d sessions of the disabled user are live (not revoked): one was issued after the disable", n)
				}
				// Enabling the account again must not revive anything from
				// the burst either.
				s.adminChange(id, admin.Change{Disabled: ptr(false)})
				if n := s.liveSessions(id); n != 0 {
					t.Fatalf("re-enabled: %d sessions from the burst came back to life", n)
				}
			})
		})
	}
}

func ptr[T any](v T) *T { return &v }

// testParams are the cheap password-hash parameters of newServer.
func testParams() password.Params { return password.TestParams() }

// enrollSecret starts an authenticator-app setup in an enrollment flow and
// returns the answer.
func (s *server) enrollStart(flow string) response {
	s.t.Helper()
	return s.post("/api/v1/auth/enroll/totp", "", map[string]string{"flow_token": flow})
}

// confirmIn confirms a pending factor of an enrollment flow with the code
// of the secret the start answer gave.
func (s *server) confirmIn(flow string, start response) response {
	s.t.Helper()
	return s.post("/api/v1/auth/enroll/totp/confirm", "", map[string]string{"flow_token": flow,
		"factor_id": start.str(s.t, "factor_id"), "code": s.confirmCode(start)})
}

// confirmCode is the current code of the secret an enroll/totp answer gave.
func (s *server) confirmCode(start response) string {
	s.t.Helper()
	secret, err := totp.DecodeSecret(start.str(s.t, "secret"))
	if err != nil {
		s.t.Fatal(err)
	}
	return phone{secret: secret, v: totp.Default()}.code(s.clock.Now())
}

// wantDeadFlow fails unless every way to continue an enrollment flow
// answers 401 invalid_flow.
func (s *server) wantDeadFlow(what, flow string, pending response) {
	s.t.Helper()
	for _, r := range []struct {
		step string
		r    response
	}{
		{"enroll/totp", s.enrollStart(flow)},
		{"enroll/totp/confirm", s.confirmIn(flow, pending)},
		{"enroll/skip", s.post("/api/v1/auth/enroll/skip", "", map[string]string{"flow_token": flow})},
	} {
		if r.r.status != http.StatusUnauthorized || r.r.errorCode(s.t) != "invalid_flow" {
			s.t.Fatalf("%s: %s in the attacker's flow: %d %.200s, want 401 invalid_flow", what, r.step, r.r.status, r.r.body)
		}
	}
}

func TestPasswordMFAResetRoleAndDisableEndPendingSignInFlows(t *testing.T) {
	const newPassword = "a brand new passphrase"
	for _, tc := range []struct {
		name   string
		change func(s *server, id, aliceSession string)
	}{
		{"admin sets the password (command line)", func(s *server, id, _ string) {
			s.cli(newPassword+"\n", "user", "set-password", "--org", "acme", "--username", "alice", "--password-stdin")
		}},
		{"the user changes her password", func(s *server, _, tok string) {
			r := s.post("/api/v1/me/password", tok, map[string]string{"current_password": testPassword, "new_password": newPassword})
			if r.status != http.StatusNoContent && r.status != http.StatusOK {
				s.t.Fatalf("change password: %d %s", r.status, r.body)
			}
		}},
		{"admin resets MFA", func(s *server, _, _ string) {
			s.cli("", "user", "reset-mfa", "--org", "acme", "--username", "alice")
		}},
		{"admin changes the role", func(s *server, _, _ string) {
			s.cli("", "user", "set", "--org", "acme", "--username", "alice", "--role", "admin")
		}},
		{"admin disables and enables the account again", func(s *server, _, _ string) {
			s.cli("", "user", "set", "--org", "acme", "--username", "alice", "--disabled=true")
			s.cli("", "user", "set", "--org", "acme", "--username", "alice", "--disabled=false")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			onEachStoreDSN(t, func(t *testing.T, dsn string) {
				s := newServerOn(t, dsn, ptr(testParams()), nil)
				s.cli("", "org", "create", "--slug", "acme", "--name", "Acme Corp")
				s.cli("", "org", "set-policy", "--org", "acme", "--mfa", "required", "--grace", "72h")
				s.cli(testPassword+"\n", "user", "create", "--org", "acme", "--username", "alice", "--password-stdin")
				id := s.userID("acme", "alice")

				// The attacker knows the old password and opens an
				// enrollment flow, with a setup of their own pending.
				attacker := s.signIn("acme", "alice", "enrollment_required")["flow_token"].(string)
				pending := s.enrollStart(attacker)
				if pending.status != http.StatusCreated {
					t.Fatalf("enroll/totp: %d %s", pending.status, pending.body)
				}
				// Alice postpones setup and has a session of her own.
				own := s.signIn("acme", "alice", "enrollment_required")["flow_token"].(string)
				sk := s.post("/api/v1/auth/enroll/skip", "", map[string]string{"flow_token": own})
				if sk.status != http.StatusOK {
					t.Fatalf("skip: %d %s", sk.status, sk.body)
				}

				tc.change(s, id, sk.str(t, "session_token"))

				s.wantDeadFlow(tc.name, attacker, pending)
				if ov := s.get("/api/v1/me", sk.str(t, "session_token")); ov.status == http.StatusOK {
					if m := ov.json(t)["mfa"].(map[string]any); m["enrolled"] == true {
						t.Fatalf("the attacker's factor is enrolled on alice's account")
					}
				}
			})
		})
	}
}

func TestASignInRacingAPasswordResetLeavesNoLiveFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("uses real argon2id parameters")
	}
	onEachStoreDSN(t, func(t *testing.T, dsn string) {
		s := newServerOn(t, dsn, nil, nil)
		s.cli("", "org", "create", "--slug", "acme", "--name", "Acme Corp")
		s.cli("", "org", "set-policy", "--org", "acme", "--mfa", "required")
		s.cli(testPassword+"\n", "user", "create", "--org", "acme", "--username", "alice", "--password-stdin")
		id := s.userID("acme", "alice")
		sys, err := s.app.Admin.System(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		answers := s.burst("acme", "alice", 18, func() {
			if err := s.app.Admin.SetPassword(context.Background(), sys, id, "a brand new passphrase", signin.Client{IP: "192.0.2.1"}); err != nil {
				t.Errorf("set password: %v", err)
			}
		})
		for i, r := range answers {
			if r.status != http.StatusOK {
				continue
			}
			flow := r.str(t, "flow_token")
			if e := s.enrollStart(flow); e.status != http.StatusUnauthorized {
				t.Fatalf("flow %d of the burst (old password) still sets up a factor after the reset: %d %.200s", i, e.status, e.body)
			}
		}
	})
}
