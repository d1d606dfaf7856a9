package ratelimit

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func TestDelayGrowsAfterFreeFailuresAndStopsAtTheCeiling(t *testing.T) {
	l := DefaultLockout()
	for _, tc := range []struct {
		failures int
		want     time.Duration
	}{{0, 0}, {4, 0}, {5, time.Second}, {6, 2 * time.Second}, {7, 4 * time.Second}, {10, 32 * time.Second}, {11, time.Minute}, {99, time.Minute}} {
		if got := l.Delay(tc.failures); got != tc.want {
			t.Errorf("Delay(%d) = %s, want %s", tc.failures, got, tc.want)
		}
	}
}

func TestReserveCountsEveryAttemptBeforeTheCheck(t *testing.T) {
	l := DefaultLockout()
	a := store.Attempts{UserID: "u"}
	for i := 1; i <= 5; i++ {
		var err error
		a, _, err = l.Reserve(a, t0)
		if err != nil {
			t.Fatalf("attempt %d refused: %v", i, err)
		}
		if a.Failures != i {
			t.Fatalf("after attempt %d failures = %d", i, a.Failures)
		}
	}
	_, _, err := l.Reserve(a, t0)
	var de *DelayError
	if !errors.As(err, &de) || !errors.Is(err, ErrDelayed) || de.RetryAfter != time.Second {
		t.Fatalf("6th attempt at once: err = %v, want delayed by 1s", err)
	}
	if _, _, err := l.Reserve(a, t0.Add(time.Second)); err != nil {
		t.Fatalf("after the delay: %v", err)
	}
}

func TestReserveLocksAtTheThresholdAndUnlocksAfterTheCooldown(t *testing.T) {
	l := DefaultLockout()
	now := t0
	a := store.Attempts{UserID: "u"}
	var locked bool
	for i := 1; i <= l.Threshold; i++ {
		var err error
		a, locked, err = l.Reserve(a, now)
		if err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
		now = now.Add(l.MaxDelay)
	}
	if !locked || a.LockedUntil == nil {
		t.Fatalf("the %dth attempt did not lock", l.Threshold)
	}
	if _, _, err := l.Reserve(a, now); !errors.Is(err, ErrLocked) {
		t.Fatalf("attempt while locked: err = %v, want ErrLocked", err)
	}
	a2, _, err := l.Reserve(a, a.LockedUntil.Add(time.Second))
	if err != nil {
		t.Fatalf("after the cooldown: %v", err)
	}
	if a2.Failures != 1 || a2.LockedUntil != nil {
		t.Fatalf("after the cooldown: failures=%d locked=%v, want a fresh count", a2.Failures, a2.LockedUntil)
	}
	if r := Reset(a); r.Failures != 0 || r.LockedUntil != nil || r.UserID != "u" {
		t.Fatalf("Reset = %+v", r)
	}
}

func TestReserveLocksACounterFoundAtTheCap(t *testing.T) {
	l := DefaultLockout()
	l.Threshold = 10
	a := store.Attempts{UserID: "u", Failures: 50}
	next, locked, err := l.Reserve(a, t0)
	if !errors.Is(err, ErrLocked) || !locked || next.LockedUntil == nil {
		t.Fatalf("Reserve at cap: locked=%v err=%v until=%v", locked, err, next.LockedUntil)
	}
}

func TestIPLimiterRefusesPastTheBurstAndRefills(t *testing.T) {
	now := t0
	l := NewIPLimiter(60, 3, func() time.Time { return now })
	for i := 0; i < 3; i++ {
		if ok, _, _ := l.Allow(context.Background(), "1.2.3.4"); !ok {
			t.Fatalf("request %d refused inside the burst", i)
		}
	}
	ok, wait, _ := l.Allow(context.Background(), "1.2.3.4")
	if ok || wait <= 0 {
		t.Fatalf("4th request: ok=%v wait=%s, want refused with a wait", ok, wait)
	}
	if ok, _, _ := l.Allow(context.Background(), "5.6.7.8"); !ok {
		t.Fatal("another address was refused")
	}
	now = now.Add(time.Second)
	if ok, _, _ := l.Allow(context.Background(), "1.2.3.4"); !ok {
		t.Fatal("refused after a token refilled")
	}
}
