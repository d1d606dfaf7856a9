// Package ratelimit protects code checks from brute force: a per-account
// failure counter with growing delays and a hard lock (Lockout), and
// per-client-address request limits (Limiter), counted in this process
// (Memory, IPLimiter), in the database (Shared) or in Redis (Redis) so
// that several instances share them.
//
// Lockout is pure: it turns the stored attempt state and the current time
// into a decision. The caller runs it inside store.UpdateAttempts so that
// reserving an attempt is atomic across goroutines and server instances.
package ratelimit

import (
	"errors"
	"fmt"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

// Lockout is the brute-force policy for second-factor codes.
//
// Every code check first reserves an attempt (Reserve), which counts as a
// failure until the check succeeds and calls Reset. Counting before checking
// means a burst of parallel requests can never make more guesses than the
// limits allow.
type Lockout struct {
	FreeFailures int           // failures allowed without delay (default 5)
	BaseDelay    time.Duration // delay after the first failure past FreeFailures (default 1 s)
	MaxDelay     time.Duration // ceiling of the growing delay (default 60 s)
	Threshold    int           // consecutive failures that lock (default 100, the NIST cap)
	Cooldown     time.Duration // how long a lock lasts (default 15 min)
}

// DefaultLockout returns the default policy.
func DefaultLockout() Lockout {
	return Lockout{FreeFailures: 5, BaseDelay: time.Second, MaxDelay: time.Minute, Threshold: 100, Cooldown: 15 * time.Minute}
}

// ErrDelayed is returned (wrapped in *DelayError) when the next attempt must wait.
var ErrDelayed = errors.New("ratelimit: too many attempts, wait")

// ErrLocked is returned (wrapped in *DelayError) when the account's second factor is locked.
var ErrLocked = errors.New("ratelimit: second factor locked")

// A DelayError says how long the caller must wait. It matches ErrDelayed or
// ErrLocked with errors.Is.
type DelayError struct {
	Kind       error // ErrDelayed or ErrLocked
	RetryAfter time.Duration
	Until      time.Time
}

func (e *DelayError) Error() string {
	return fmt.Sprintf("%v (retry after %s)", e.Kind, e.RetryAfter.Round(time.Second))
}

// Is lets errors.Is(err, ErrLocked) and errors.Is(err, ErrDelayed) work.
func (e *DelayError) Is(target error) bool { return target == e.Kind }

// Delay returns how long to wait after the given number of consecutive failures.
func (l Lockout) Delay(failures int) time.Duration {
	if failures < l.FreeFailures {
		return 0
	}
	d := l.BaseDelay
	for i := l.FreeFailures; i < failures && d < l.MaxDelay; i++ {
		d *= 2
	}
	return min(d, l.MaxDelay)
}

// Reserve decides whether one more attempt may be made now and, if so,
// returns the state with that attempt counted. It returns a *DelayError when
// the account is locked or must wait. A lock whose cooldown has passed is
// lifted here, which is how locks end by themselves.
func (l Lockout) Reserve(a store.Attempts, now time.Time) (store.Attempts, bool, error) {
	newlyLocked := false
	if a.LockedUntil != nil {
		if now.Before(*a.LockedUntil) {
			return a, false, &DelayError{Kind: ErrLocked, RetryAfter: a.LockedUntil.Sub(now), Until: *a.LockedUntil}
		}
		a.LockedUntil = nil
		a.Failures = 0
	}
	if a.Failures >= l.Threshold {
		// Defensive: a counter at the cap without a lock (e.g. threshold
		// lowered by configuration) locks now.
		until := now.Add(l.Cooldown)
		a.LockedUntil = &until
		return a, true, &DelayError{Kind: ErrLocked, RetryAfter: l.Cooldown, Until: until}
	}
	if d := l.Delay(a.Failures); d > 0 && a.LastFailureAt != nil {
		if next := a.LastFailureAt.Add(d); now.Before(next) {
			return a, false, &DelayError{Kind: ErrDelayed, RetryAfter: next.Sub(now), Until: next}
		}
	}
	a.Failures++
	t := now
	a.LastFailureAt = &t
	if a.Failures >= l.Threshold {
		// This attempt is the last one allowed. If it fails, the lock holds;
		// if it succeeds, Reset lifts it.
		until := now.Add(l.Cooldown)
		a.LockedUntil = &until
		newlyLocked = true
	}
	return a, newlyLocked, nil
}

// Reset returns the state after a successful check: no failures, no lock.
func Reset(a store.Attempts) store.Attempts {
	return store.Attempts{UserID: a.UserID}
}
