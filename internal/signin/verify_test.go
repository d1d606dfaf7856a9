package signin_test

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/factor/backup"
	"github.com/twofold-id/twofold/internal/factor/totp"
	"github.com/twofold-id/twofold/internal/ratelimit"
	"github.com/twofold-id/twofold/internal/signin"
)

func TestARightCodeGivesASessionThatRecordsOTP(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	u, a, _ := w.enrolledUser("acme", "alice")
	r, err := w.signin.Verify(w.ctx, w.flow("acme", "alice"), totp.Kind, a.code(w.clock.Now(), 0), client)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != signin.StatusAuthenticated || r.SessionToken == "" {
		t.Fatalf("result %+v, want a session", r)
	}
	p := w.principal(r.SessionToken)
	if p.User.ID != u.ID {
		t.Fatalf("session of %s, want %s", p.User.ID, u.ID)
	}
	for _, m := range []string{"pwd", "mfa", "otp"} {
		if !slices.Contains(p.Session.AMR, m) {
			t.Errorf("amr %v lacks %q", p.Session.AMR, m)
		}
	}
	if p.Session.MFAAt == nil {
		t.Error("session has no second-factor time")
	}
	// The factor records its use.
	f, err := w.store.GetFactor(w.ctx, a.factorID)
	if err != nil {
		t.Fatal(err)
	}
	if f.LastUsedAt == nil {
		t.Error("factor has no last-used time after a sign-in")
	}
}

func TestACodeIsAcceptedOnlyOnce(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	_, a, _ := w.enrolledUser("acme", "bob")
	code := a.code(w.clock.Now(), 0)
	if _, err := w.signin.Verify(w.ctx, w.flow("acme", "bob"), totp.Kind, code, client); err != nil {
		t.Fatal(err)
	}
	// A new sign-in with the same code, still inside its step.
	_, err := w.signin.Verify(w.ctx, w.flow("acme", "bob"), totp.Kind, code, client)
	wantCode(t, err, "invalid_code")
}

func TestAnEarlierStepsCodeIsRefusedAfterALaterOneWasAccepted(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	_, a, _ := w.enrolledUser("acme", "alice")
	now := w.clock.Now()
	// The phone runs a step ahead; its code is accepted (±1 step).
	if _, err := w.signin.Verify(w.ctx, w.flow("acme", "alice"), totp.Kind, a.code(now, +1), client); err != nil {
		t.Fatalf("code of the next step: %v", err)
	}
	for _, off := range []int64{0, -1, +1} {
		_, err := w.signin.Verify(w.ctx, w.flow("acme", "alice"), totp.Kind, a.code(now, off), client)
		wantCode(t, err, "invalid_code")
	}
}

func TestSpacedAndDashedSpellingsOfAUsedCodeCannotSlipPastReplay(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	_, a, _ := w.enrolledUser("acme", "alice")
	code := a.code(w.clock.Now(), 0)
	spaced := code[:3] + " " + code[3:]
	if _, err := w.signin.Verify(w.ctx, w.flow("acme", "alice"), totp.Kind, spaced, client); err != nil {
		t.Fatalf("%q: %v", spaced, err)
	}
	for _, c := range []string{code, code[:3] + "-" + code[3:], " " + code + " ", code[:2] + " " + code[2:4] + "-" + code[4:]} {
		_, err := w.signin.Verify(w.ctx, w.flow("acme", "alice"), totp.Kind, c, client)
		wantCode(t, err, "invalid_code")
	}
	// Dashed works as well as spaced for a fresh code.
	w.clock.Advance(30 * time.Second)
	next := a.code(w.clock.Now(), 0)
	if _, err := w.signin.Verify(w.ctx, w.flow("acme", "alice"), totp.Kind, next[:3]+"-"+next[3:], client); err != nil {
		t.Fatalf("dashed code: %v", err)
	}
}

func TestNonASCIIDigitsAreRefusedAndCounted(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	u, a, _ := w.enrolledUser("acme", "alice")
	code := a.code(w.clock.Now(), 0)
	fullWidth := toDigits(code, '０')
	arabicIndic := toDigits(code, '٠')
	devanagari := toDigits(code, '०')
	for i, c := range []string{fullWidth, arabicIndic, devanagari} {
		_, err := w.signin.Verify(w.ctx, w.flow("acme", "alice"), totp.Kind, c, client)
		wantCode(t, err, "invalid_code")
		if got := w.attempts(u).Failures; got != i+1 {
			t.Fatalf("after %q failures = %d, want %d", c, got, i+1)
		}
	}
	// The ASCII code itself was never consumed by those attempts.
	if _, err := w.signin.Verify(w.ctx, w.flow("acme", "alice"), totp.Kind, code, client); err != nil {
		t.Fatalf("ASCII code after the refused spellings: %v", err)
	}
}

// toDigits writes an ASCII digit string with the digits starting at zero.
func toDigits(code string, zero rune) string {
	out := make([]rune, 0, len(code))
	for _, c := range code {
		out = append(out, zero+(c-'0'))
	}
	return string(out)
}

// parallel runs f n times at once and returns the error codes, in no order.
func parallel(n int, f func(i int) error) []string {
	codes := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			codes[i] = errCode(f(i))
		}()
	}
	close(start)
	wg.Wait()
	return codes
}

func count(codes []string, want string) int {
	n := 0
	for _, c := range codes {
		if c == want {
			n++
		}
	}
	return n
}

// lenient lets every attempt of a burst reach the code check, so that the
// replay guard alone must stop the race.
func lenient() ratelimit.Lockout {
	l := ratelimit.DefaultLockout()
	l.FreeFailures = 1000
	l.Threshold = 1000
	return l
}

func TestFiftyParallelVerificationsOfOneCodeLetExactlyOneIn(t *testing.T) {
	for _, c := range []struct {
		name string
		lock ratelimit.Lockout
	}{{"default limits", ratelimit.DefaultLockout()}, {"no delays", lenient()}} {
		t.Run(c.name, func(t *testing.T) { fiftyParallelVerifications(t, newWorldWith(t, c.lock)) })
	}
}

func fiftyParallelVerifications(t *testing.T, w *world) {
	w.org("acme")
	_, a, _ := w.enrolledUser("acme", "alice")
	flows := make([]string, 50)
	for i := range flows {
		flows[i] = w.flow("acme", "alice")
	}
	code := a.code(w.clock.Now(), 0)
	results := parallel(len(flows), func(i int) error {
		_, err := w.signin.Verify(w.ctx, flows[i], totp.Kind, code, client)
		return err
	})
	if n := count(results, ""); n != 1 {
		t.Fatalf("%d of 50 parallel verifications succeeded, want exactly 1 (results %v)", n, results)
	}
	for _, c := range results {
		if c != "" && c != "invalid_code" && c != "too_many_attempts" {
			t.Fatalf("unexpected answer %q among %v", c, results)
		}
	}
}

func TestABackupCodeWorksOnceAndTheCountGoesDown(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	u, _, codes := w.enrolledUser("acme", "alice")
	r, err := w.signin.Verify(w.ctx, w.flow("acme", "alice"), backup.Kind, codes[0], client)
	if err != nil {
		t.Fatal(err)
	}
	if p := w.principal(r.SessionToken); !slices.Contains(p.Session.AMR, "backup_code") {
		t.Fatalf("amr %v lacks backup_code", p.Session.AMR)
	}
	ov, err := w.signin.Overview(w.ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if ov.BackupCodesLeft != 9 {
		t.Fatalf("backup codes left = %d, want 9", ov.BackupCodesLeft)
	}
	_, err = w.signin.Verify(w.ctx, w.flow("acme", "alice"), backup.Kind, codes[0], client)
	wantCode(t, err, "invalid_code")
	// Typed differently (upper case, without the dash) it is the same used code.
	_, err = w.signin.Verify(w.ctx, w.flow("acme", "alice"), backup.Kind, strings.ToUpper(strings.ReplaceAll(codes[0], "-", "")), client)
	wantCode(t, err, "invalid_code")
	// Another one still works, typed in upper case with spaces.
	if _, err := w.signin.Verify(w.ctx, w.flow("acme", "alice"), backup.Kind, " "+strings.ToUpper(strings.ReplaceAll(codes[1], "-", " "))+" ", client); err != nil {
		t.Fatalf("second backup code: %v", err)
	}
	if ov, _ := w.signin.Overview(w.ctx, u); ov.BackupCodesLeft != 8 {
		t.Fatalf("backup codes left = %d, want 8", ov.BackupCodesLeft)
	}
}

func TestFiftyParallelUsesOfOneBackupCodeLetExactlyOneIn(t *testing.T) {
	for _, c := range []struct {
		name string
		lock ratelimit.Lockout
	}{{"default limits", ratelimit.DefaultLockout()}, {"no delays", lenient()}} {
		t.Run(c.name, func(t *testing.T) { fiftyParallelBackupCodes(t, newWorldWith(t, c.lock)) })
	}
}

func fiftyParallelBackupCodes(t *testing.T, w *world) {
	w.org("acme")
	u, _, codes := w.enrolledUser("acme", "alice")
	flows := make([]string, 50)
	for i := range flows {
		flows[i] = w.flow("acme", "alice")
	}
	results := parallel(len(flows), func(i int) error {
		_, err := w.signin.Verify(w.ctx, flows[i], backup.Kind, codes[3], client)
		return err
	})
	if n := count(results, ""); n != 1 {
		t.Fatalf("%d of 50 parallel uses of one backup code succeeded, want exactly 1 (results %v)", n, results)
	}
	left, err := w.store.ListBackupCodes(w.ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 9 {
		t.Fatalf("%d backup codes left, want 9", len(left))
	}
}
