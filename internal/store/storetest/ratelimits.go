package storetest

import (
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

var rateLimitTests = []subtest{
	{"TakeRate admits a burst, then one per interval, per key", func(t *testing.T, s store.Store) {
		const burst, iv = 3, 10 * time.Second
		take := func(key string, now time.Time) (bool, time.Duration) {
			t.Helper()
			ok, wait, err := s.TakeRate(ctx(t), key, now, iv, burst)
			noErr(t, "TakeRate", err)
			return ok, wait
		}
		for i := range burst {
			if ok, _ := take("a", at(0)); !ok {
				t.Fatalf("request %d of a burst of %d refused", i+1, burst)
			}
		}
		ok, wait := take("a", at(0))
		if ok || wait != iv {
			t.Fatalf("request past the burst: ok=%v wait=%s, want refused, wait %s", ok, wait, iv)
		}
		// A refusal costs nothing: still refused a moment later, with less to wait.
		if ok, wait := take("a", at(4*time.Second)); ok || wait != 6*time.Second {
			t.Fatalf("4 s later: ok=%v wait=%s, want refused, wait 6s", ok, wait)
		}
		if ok, _ := take("b", at(0)); !ok {
			t.Fatal("another key shares the bucket")
		}
		if ok, _ := take("a", at(iv)); !ok {
			t.Fatal("one interval later: refused")
		}
		if ok, _ := take("a", at(iv)); ok {
			t.Fatal("one interval later: two admitted")
		}
		// After burst intervals of quiet the whole burst is back, no more.
		later := at(iv + burst*iv)
		for i := range burst {
			if ok, _ := take("a", later); !ok {
				t.Fatalf("after quiet: request %d refused", i+1)
			}
		}
		if ok, _ := take("a", later); ok {
			t.Fatal("after quiet: more than the burst admitted")
		}
	}},
	{"race: parallel TakeRate admits exactly the burst", func(t *testing.T, s store.Store) {
		const burst = 7
		for r := range 5 {
			key := "race" + string(rune('a'+r))
			wins := countWins(t, racers, func(int) (bool, error) {
				ok, _, err := s.TakeRate(ctx(t), key, at(0), time.Minute, burst)
				return ok, err
			})
			if wins != burst {
				t.Fatalf("round %d: %d of %d parallel requests admitted, want %d", r, wins, racers, burst)
			}
		}
	}},
	{"DeleteOldRates removes only keys whose bucket is full again", func(t *testing.T, s store.Store) {
		for _, k := range []string{"x", "y"} {
			_, _, err := s.TakeRate(ctx(t), k, at(0), time.Second, 5)
			noErr(t, "TakeRate", err)
		}
		_, _, err := s.TakeRate(ctx(t), "z", at(time.Hour), time.Second, 5)
		noErr(t, "TakeRate", err)
		n, err := s.DeleteOldRates(ctx(t), at(time.Minute))
		noErr(t, "DeleteOldRates", err)
		if n != 2 {
			t.Fatalf("DeleteOldRates = %d, want 2", n)
		}
	}},
}
