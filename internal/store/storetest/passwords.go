package storetest

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

var passwordAttemptTests = []subtest{
	{"a counter starts at zero and keeps what is stored", func(t *testing.T, s store.Store) {
		a, err := s.GetPasswordAttempts(ctx(t), "k1")
		noErr(t, "GetPasswordAttempts", err)
		if a.Failures != 0 || a.LastFailureAt != nil || a.LockedUntil != nil {
			t.Errorf("fresh counter = %+v", a)
		}
		got, err := s.UpdatePasswordAttempts(ctx(t), "k1", func(a store.Attempts) (store.Attempts, error) {
			a.Failures, a.LastFailureAt, a.LockedUntil = 3, ptr(at(time.Minute)), ptr(at(time.Hour))
			return a, nil
		})
		noErr(t, "UpdatePasswordAttempts", err)
		if got.Failures != 3 {
			t.Errorf("UpdatePasswordAttempts returned %+v", got)
		}
		a, err = s.GetPasswordAttempts(ctx(t), "k1")
		noErr(t, "GetPasswordAttempts", err)
		if a.Failures != 3 {
			t.Errorf("Failures = %d, want 3", a.Failures)
		}
		samePtrTime(t, "LastFailureAt", a.LastFailureAt, ptr(at(time.Minute)))
		samePtrTime(t, "LockedUntil", a.LockedUntil, ptr(at(time.Hour)))
		if other, _ := s.GetPasswordAttempts(ctx(t), "k2"); other.Failures != 0 {
			t.Errorf("another key shares the counter: %+v", other)
		}
		// A refusing fn stores nothing.
		_, err = s.UpdatePasswordAttempts(ctx(t), "k1", func(a store.Attempts) (store.Attempts, error) {
			a.Failures = 99
			return a, errRefused
		})
		wantErr(t, "UpdatePasswordAttempts(refused)", err, errRefused)
		if a, _ := s.GetPasswordAttempts(ctx(t), "k1"); a.Failures != 3 {
			t.Errorf("a refused update was stored: %+v", a)
		}
		noErr(t, "DeletePasswordAttempts", s.DeletePasswordAttempts(ctx(t), "k1", "nope"))
		if a, _ := s.GetPasswordAttempts(ctx(t), "k1"); a.Failures != 0 || a.LockedUntil != nil {
			t.Errorf("after DeletePasswordAttempts: %+v", a)
		}
		noErr(t, "DeletePasswordAttempts(none)", s.DeletePasswordAttempts(ctx(t)))
	}},
	{"old counters are swept, live locks stay", func(t *testing.T, s store.Store) {
		set := func(key string, last, locked *time.Time) {
			_, err := s.UpdatePasswordAttempts(ctx(t), key, func(a store.Attempts) (store.Attempts, error) {
				a.Failures, a.LastFailureAt, a.LockedUntil = 1, last, locked
				return a, nil
			})
			noErr(t, "UpdatePasswordAttempts", err)
		}
		set("old", ptr(at(0)), nil)
		set("recent", ptr(at(2*time.Hour)), nil)
		set("locked", ptr(at(0)), ptr(at(3*time.Hour)))
		n, err := s.DeleteOldPasswordAttempts(ctx(t), at(time.Hour))
		noErr(t, "DeleteOldPasswordAttempts", err)
		if n != 1 {
			t.Errorf("swept %d counters, want 1", n)
		}
		for key, want := range map[string]int{"old": 0, "recent": 1, "locked": 1} {
			if a, _ := s.GetPasswordAttempts(ctx(t), key); a.Failures != want {
				t.Errorf("%s: Failures = %d, want %d", key, a.Failures, want)
			}
		}
	}},
	{"parallel reservations against a limit: exactly the limit succeeds", func(t *testing.T, s store.Store) {
		const limit = 10
		for r := range rounds {
			ceiling := (r + 1) * limit
			var ok atomic.Int64
			errs := parallel(racers, func(int) error {
				_, err := s.UpdatePasswordAttempts(ctx(t), "name", func(a store.Attempts) (store.Attempts, error) {
					if a.Failures >= ceiling {
						return a, errRefused
					}
					a.Failures++
					return a, nil
				})
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, errRefused):
					return nil
				}
				return err
			})
			noErrs(t, "UpdatePasswordAttempts", errs)
			if ok.Load() != limit {
				t.Fatalf("round %d: %d reservations succeeded, want exactly %d", r, ok.Load(), limit)
			}
		}
	}},
}
