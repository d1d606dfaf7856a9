package signin_test

import (
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/factor/backup"
	"github.com/twofold-id/twofold/internal/factor/totp"
	"github.com/twofold-id/twofold/internal/problem"
	"github.com/twofold-id/twofold/internal/ratelimit"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// guess makes one wrong TOTP guess at sign-in on a fresh flow.
func (w *world) guess(a authenticator) error {
	w.t.Helper()
	_, err := w.signin.Verify(w.ctx, w.flow("acme", "alice"), totp.Kind, wrongCode(a, w.clock.Now()), client)
	return err
}

// right signs in with a current code on a fresh flow.
func (w *world) right(a authenticator) error {
	w.t.Helper()
	_, err := w.signin.Verify(w.ctx, w.flow("acme", "alice"), totp.Kind, a.code(w.clock.Now(), 0), client)
	return err
}

func TestFiveWrongCodesAreFreeAndTheSixthMustWait(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	_, a, _ := w.enrolledUser("acme", "alice")
	free := ratelimit.DefaultLockout().FreeFailures
	for i := 1; i <= free; i++ {
		if err := w.guess(a); errCode(err) != "invalid_code" {
			t.Fatalf("failure %d answered %v, want invalid_code", i, err)
		}
	}
	err := w.right(a)
	wantCode(t, err, "too_many_attempts")
	if p := problem.As(err); p.RetryAfter <= 0 {
		t.Fatalf("too_many_attempts without a RetryAfter: %+v", p)
	}
	// Once the delay has passed, the right code gets through.
	w.clock.Advance(problem.As(err).RetryAfter)
	if err := w.right(a); err != nil {
		t.Fatalf("after waiting: %v", err)
	}
}

func TestDelaysGrowAfterTheFreeFailures(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	_, a, _ := w.enrolledUser("acme", "alice")
	for range 5 {
		w.guess(a)
	}
	var last time.Duration
	for i := range 4 {
		err := w.guess(a)
		wantCode(t, err, "too_many_attempts")
		d := problem.As(err).RetryAfter
		if i > 0 && d <= last {
			t.Fatalf("delay %d is %s, not longer than the previous %s", i, d, last)
		}
		last = d
		w.clock.Advance(d)
		wantCode(t, w.guess(a), "invalid_code")
	}
}

func TestAHundredConsecutiveFailuresLockTheSecondFactorUntilTheCooldown(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	u, a, codes := w.enrolledUser("acme", "alice")
	lock := ratelimit.DefaultLockout()
	for i := 1; i <= lock.Threshold; i++ {
		if err := w.guess(a); errCode(err) != "invalid_code" {
			t.Fatalf("failure %d answered %v, want invalid_code", i, err)
		}
		w.clock.Advance(lock.MaxDelay + time.Second)
	}
	err := w.right(a)
	wantCode(t, err, "mfa_locked")
	if d := problem.As(err).RetryAfter; d <= 0 || d > lock.Cooldown {
		t.Fatalf("lock RetryAfter = %s, want within (0, %s]", d, lock.Cooldown)
	}
	_, err = w.signin.Verify(w.ctx, w.flow("acme", "alice"), backup.Kind, codes[0], client)
	wantCode(t, err, "mfa_locked")
	ov, _ := w.signin.Overview(w.ctx, u)
	if !ov.Locked {
		t.Fatal("Overview does not show the lock")
	}
	// A lockout event is in the audit log.
	evs, err := w.store.ListAudit(w.ctx, store.AuditFilter{UserID: u.ID, Event: "mfa.lockout"})
	if err != nil || len(evs) != 1 {
		t.Fatalf("lockout audit events: %d, %v", len(evs), err)
	}

	w.clock.Advance(lock.Cooldown - 2*time.Minute)
	wantCode(t, w.right(a), "mfa_locked")
	w.clock.Advance(2 * time.Minute)
	if err := w.right(a); err != nil {
		t.Fatalf("after the cooldown: %v", err)
	}
}

func TestUnlockClearsALockAtOnce(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	u, a, _ := w.enrolledUser("acme", "alice")
	// Stand the counter at the lock, as a hundred failures leave it.
	until := w.clock.Now().Add(15 * time.Minute)
	if _, err := w.store.UpdateAttempts(w.ctx, u.ID, func(at store.Attempts) (store.Attempts, error) {
		now := w.clock.Now()
		at.Failures, at.LastFailureAt, at.LockedUntil = 100, &now, &until
		return at, nil
	}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, w.right(a), "mfa_locked")
	if err := w.signin.Unlock(w.ctx, "", u, client); err != nil {
		t.Fatal(err)
	}
	if err := w.right(a); err != nil {
		t.Fatalf("right after Unlock: %v", err)
	}
}

func TestEveryCodeCheckSharesOneFailureCounter(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	u, a, _ := w.enrolledUser("acme", "alice")
	s := w.fullSession("acme", "alice", a)
	p := w.principal(s.SessionToken)
	bad := wrongCode(a, w.clock.Now())

	checks := []struct {
		name string
		do   func() error
	}{
		{"remove factor", func() error { return w.signin.RemoveFactor(w.ctx, p, a.factorID, bad, client) }},
		{"regenerate backup codes", func() error { _, err := w.signin.RegenerateBackupCodes(w.ctx, p, bad, client); return err }},
		{"disable MFA", func() error { return w.signin.DisableMFA(w.ctx, p, bad, client) }},
		{"reauthenticate", func() error { _, err := w.signin.Reauthenticate(w.ctx, p, signin.MethodAny, bad, client); return err }},
		{"sign-in", func() error { return w.guess(a) }},
	}
	for i, c := range checks {
		wantCode(t, c.do(), "invalid_code")
		if got := w.attempts(u).Failures; got != i+1 {
			t.Fatalf("after %s: failures = %d, want %d", c.name, got, i+1)
		}
	}
	// Five failures from five places: every endpoint now waits.
	for _, c := range checks {
		if err := c.do(); errCode(err) != "too_many_attempts" {
			t.Errorf("%s after five shared failures: %v, want too_many_attempts", c.name, err)
		}
	}
	// Nothing was removed by the refused attempts.
	ov, _ := w.signin.Overview(w.ctx, u)
	if !ov.Enrolled || ov.BackupCodesLeft != 10 {
		t.Fatalf("refused checks changed the factors: %+v", ov)
	}
}

func TestASuccessResetsTheCounter(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	u, a, _ := w.enrolledUser("acme", "alice")
	for range 4 {
		wantCode(t, w.guess(a), "invalid_code")
	}
	if err := w.right(a); err != nil {
		t.Fatal(err)
	}
	if got := w.attempts(u).Failures; got != 0 {
		t.Fatalf("failures after a success = %d, want 0", got)
	}
	for i := 1; i <= 5; i++ {
		if err := w.guess(a); errCode(err) != "invalid_code" {
			t.Fatalf("failure %d after the reset: %v, want invalid_code", i, err)
		}
	}
	wantCode(t, w.guess(a), "too_many_attempts")
}

func TestAParallelBurstOfWrongCodesGetsNoMoreThanTheFreeGuesses(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	u, a, _ := w.enrolledUser("acme", "alice")
	flows := make([]string, 50)
	for i := range flows {
		flows[i] = w.flow("acme", "alice")
	}
	bad := wrongCode(a, w.clock.Now())
	results := parallel(len(flows), func(i int) error {
		_, err := w.signin.Verify(w.ctx, flows[i], totp.Kind, bad, client)
		return err
	})
	free := ratelimit.DefaultLockout().FreeFailures
	if n := count(results, "invalid_code"); n != free {
		t.Fatalf("%d guesses were compared, want exactly %d (results %v)", n, free, results)
	}
	if n := count(results, "too_many_attempts"); n != len(flows)-free {
		t.Fatalf("%d delayed, want %d (results %v)", n, len(flows)-free, results)
	}
	if got := w.attempts(u).Failures; got != free {
		t.Fatalf("stored failures = %d, want %d", got, free)
	}
}

func TestAFlowDiesAfterFiveWrongCodes(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	_, a, _ := w.enrolledUser("acme", "alice")
	flow := w.flow("acme", "alice")
	for i := 1; i <= 5; i++ {
		_, err := w.signin.Verify(w.ctx, flow, totp.Kind, wrongCode(a, w.clock.Now()), client)
		wantCode(t, err, "invalid_code")
		// Step past the account delay so only the flow limit is in play.
		w.clock.Advance(2 * time.Second)
	}
	w.clock.Advance(time.Minute)
	_, err := w.signin.Verify(w.ctx, flow, totp.Kind, a.code(w.clock.Now(), 0), client)
	wantCode(t, err, "invalid_flow")
	// A new sign-in with the same code works: the dead flow did not use it.
	if err := w.right(a); err != nil {
		t.Fatalf("new flow: %v", err)
	}
}

func TestAFlowExpiresAfterItsLifetime(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	_, a, _ := w.enrolledUser("acme", "alice")
	flow := w.flow("acme", "alice")
	w.clock.Advance(w.signin.Options().FlowTTL)
	_, err := w.signin.Verify(w.ctx, flow, totp.Kind, a.code(w.clock.Now(), 0), client)
	wantCode(t, err, "invalid_flow")

	fresh := w.flow("acme", "alice")
	w.clock.Advance(w.signin.Options().FlowTTL - time.Second)
	if _, err := w.signin.Verify(w.ctx, fresh, totp.Kind, a.code(w.clock.Now(), 0), client); err != nil {
		t.Fatalf("one second before expiry: %v", err)
	}
}

func TestAConsumedFlowCannotBeUsedAgain(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	_, a, _ := w.enrolledUser("acme", "alice")
	flow := w.flow("acme", "alice")
	if _, err := w.signin.Verify(w.ctx, flow, totp.Kind, a.code(w.clock.Now(), 0), client); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(30 * time.Second)
	_, err := w.signin.Verify(w.ctx, flow, totp.Kind, a.code(w.clock.Now(), 0), client)
	wantCode(t, err, "invalid_flow")
}
