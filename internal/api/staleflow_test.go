package api_test

// Concurrent sign-in flows of one user (issue 10, item 2): what a flow
// decided at the password step — may skip, may enroll — is decided again
// from the account's current state whenever the flow acts.

import (
	"context"
	"net/http"
	"sync"
	"testing"
)

// graceServer has org acme requiring MFA with a 72 h grace period and
// alice without a factor.
func graceServer(t *testing.T, dsn string) *server {
	s := newServerOn(t, dsn, ptr(testParams()), nil)
	s.cli("", "org", "create", "--slug", "acme", "--name", "Acme Corp")
	s.cli("", "org", "set-policy", "--org", "acme", "--mfa", "required", "--grace", "72h")
	s.cli(testPassword+"\n", "user", "create", "--org", "acme", "--username", "alice", "--password-stdin")
	return s
}

// confirmedFactors counts alice's confirmed factors in the store.
func (s *server) confirmedFactors(id string) int {
	s.t.Helper()
	fs, err := s.app.Store.ListFactors(context.Background(), id)
	if err != nil {
		s.t.Fatal(err)
	}
	n := 0
	for _, f := range fs {
		if f.Confirmed() {
			n++
		}
	}
	return n
}

func TestAStaleEnrollmentFlowCanNeitherSkipNorEnrollOnceAFactorExists(t *testing.T) {
	onEachStoreDSN(t, func(t *testing.T, dsn string) {
		s := graceServer(t, dsn)
		id := s.userID("acme", "alice")
		// Two partial sign-ins: the user's, and an attacker's who knows the
		// password.
		user := s.signIn("acme", "alice", "enrollment_required")["flow_token"].(string)
		attacker := s.signIn("acme", "alice", "enrollment_required")["flow_token"].(string)
		pending := s.enrollStart(attacker) // set up before the user enrolls
		if pending.status != http.StatusCreated {
			t.Fatalf("attacker's enroll/totp: %d", pending.status)
		}

		s.enrollInFlow(user)

		if r := s.post("/api/v1/auth/enroll/skip", "", map[string]string{"flow_token": attacker}); r.status == http.StatusOK {
			t.Fatalf("the stale flow skipped enrollment into a session (amr %v) of an account with a second factor", amr(t, s, r.str(t, "session_token")))
		}
		if r := s.enrollStart(attacker); r.status == http.StatusCreated {
			t.Fatal("the stale flow started setting up another factor")
		}
		if r := s.confirmIn(attacker, pending); r.status == http.StatusOK {
			t.Fatal("the stale flow confirmed a factor it had started before the user enrolled")
		}
		if n := s.confirmedFactors(id); n != 1 {
			t.Fatalf("%d confirmed factors, want the user's one", n)
		}
		s.signIn("acme", "alice", "mfa_required")
	})
}

func TestTwoEnrollmentFlowsConfirmingAtOnceAddOneFactor(t *testing.T) {
	onEachStoreDSN(t, func(t *testing.T, dsn string) {
		s := graceServer(t, dsn)
		id := s.userID("acme", "alice")
		const n = 8
		flows := make([]string, n)
		starts := make([]response, n)
		for i := range n {
			flows[i] = s.signIn("acme", "alice", "enrollment_required")["flow_token"].(string)
			if starts[i] = s.enrollStart(flows[i]); starts[i].status != http.StatusCreated {
				t.Fatalf("enroll/totp %d: %d", i, starts[i].status)
			}
		}
		// Every flow confirms its own factor at the same moment.
		codes := make([]string, n)
		for i := range n {
			codes[i] = s.confirmCode(starts[i])
		}
		ok := 0
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				r, err := s.call(context.Background(), http.MethodPost, "/api/v1/auth/enroll/totp/confirm", "",
					map[string]string{"flow_token": flows[i], "factor_id": starts[i].str(t, "factor_id"), "code": codes[i]}, nil)
				if err == nil && r.status == http.StatusOK {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			})
		}
		close(start)
		wg.Wait()
		if ok != 1 || s.confirmedFactors(id) != 1 {
			t.Fatalf("%d confirmations succeeded and %d factors are confirmed, want exactly one each", ok, s.confirmedFactors(id))
		}
		// No flow of the race can skip to a password-only session now.
		for i, f := range flows {
			if r := s.post("/api/v1/auth/enroll/skip", "", map[string]string{"flow_token": f}); r.status == http.StatusOK {
				t.Fatalf("flow %d skipped enrollment after a factor was confirmed", i)
			}
		}
	})
}

func TestAFlowOpenedInAGracePeriodCannotSkipOnceTheGraceIsWithdrawn(t *testing.T) {
	onEachStoreDSN(t, func(t *testing.T, dsn string) {
		s := graceServer(t, dsn)
		flow := s.signIn("acme", "alice", "enrollment_required")
		if _, ok := flow["enrollment_deadline"]; !ok {
			t.Fatal("no deadline in a grace period")
		}
		s.cli("", "org", "set-policy", "--org", "acme", "--grace", "0s")
		r := s.post("/api/v1/auth/enroll/skip", "", map[string]string{"flow_token": flow["flow_token"].(string)})
		if r.status != http.StatusForbidden || r.errorCode(t) != "enrollment_deadline_passed" {
			t.Fatalf("skip after the grace period was withdrawn: %d %s", r.status, r.body)
		}
	})
}
