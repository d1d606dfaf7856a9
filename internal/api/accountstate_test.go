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
