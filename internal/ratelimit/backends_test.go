package ratelimit_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/ratelimit"
	"github.com/twofold-id/twofold/internal/ratelimit/redistest"
	"github.com/twofold-id/twofold/internal/store/postgres"
	"github.com/twofold-id/twofold/internal/store/postgres/pgtest"
)

// sharedBackends returns, for each backend that shares state, a function
// making the backend of one more "instance" on the same state: one
// PostgreSQL database, one Redis. (One SQLite file serves one instance; the
// store's conformance test covers its TakeRate.)
func sharedBackends(t *testing.T, now func() time.Time) map[string]func() ratelimit.Backend {
	out := map[string]func() ratelimit.Backend{}
	var (
		once sync.Once
		dsn  string
	)
	out["postgres"] = func() ratelimit.Backend {
		once.Do(func() {
			dsn = pgtest.NewDatabase(t)
			st, err := postgres.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if err := st.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
		st, err := postgres.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return ratelimit.Shared(st, now)
	}
	prefix := redistest.Prefix()
	out["redis"] = func() ratelimit.Backend {
		return ratelimit.Redis(redistest.Client(t, redistest.URL(t)), prefix, now)
	}
	return out
}

func TestSharedLimitsCountEveryInstanceTogether(t *testing.T) {
	for _, name := range []string{"postgres", "redis"} {
		t.Run(name, func(t *testing.T) {
			now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			var mu sync.Mutex
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			instance := sharedBackends(t, clock)[name]
			rate := ratelimit.Rate{PerMinute: 6, Burst: 4}
			one := instance().Limiter("login", rate)
			two := instance().Limiter("login", rate)
			other := instance().Limiter("codes", rate)
			// An attacker alternating between the instances gets the burst
			// of one instance, no more.
			admitted := 0
			for i := range 10 {
				ok, _, err := []ratelimit.Limiter{one, two}[i%2].Allow(context.Background(), "192.0.2.7")
				if err != nil {
					t.Fatal(err)
				}
				if ok {
					admitted++
				}
			}
			if admitted != rate.Burst {
				t.Fatalf("alternating between two instances: %d admitted, want %d", admitted, rate.Burst)
			}
			ok, wait, err := two.Allow(context.Background(), "192.0.2.7")
			if err != nil || ok || wait != 10*time.Second {
				t.Fatalf("past the burst: ok=%v wait=%s err=%v; want refused for 10s", ok, wait, err)
			}
			// Another address and another limiter count apart.
			if ok, _, err := one.Allow(context.Background(), "192.0.2.8"); !ok || err != nil {
				t.Fatalf("another address: %v %v", ok, err)
			}
			if ok, _, err := other.Allow(context.Background(), "192.0.2.7"); !ok || err != nil {
				t.Fatalf("another limiter: %v %v", ok, err)
			}
			// 50 parallel requests over both instances after a refill: the
			// burst again, exactly.
			mu.Lock()
			now = now.Add(time.Hour)
			mu.Unlock()
			var n atomic.Int64
			var wg sync.WaitGroup
			for i := range 50 {
				wg.Go(func() {
					ok, _, err := []ratelimit.Limiter{one, two}[i%2].Allow(context.Background(), "192.0.2.7")
					if err != nil {
						t.Error(err)
					}
					if ok {
						n.Add(1)
					}
				})
			}
			wg.Wait()
			if int(n.Load()) != rate.Burst {
				t.Fatalf("50 parallel requests on two instances: %d admitted, want %d", n.Load(), rate.Burst)
			}
		})
	}
}

func TestMemoryLimitsAreOwnedByOneProcess(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	rate := ratelimit.Rate{PerMinute: 6, Burst: 4}
	one := ratelimit.Memory(clock).Limiter("login", rate)
	two := ratelimit.Memory(clock).Limiter("login", rate)
	admitted := 0
	for i := range 10 {
		if ok, _, _ := []ratelimit.Limiter{one, two}[i%2].Allow(context.Background(), "192.0.2.7"); ok {
			admitted++
		}
	}
	// This is why several instances need a shared backend.
	if admitted != 2*rate.Burst {
		t.Fatalf("two in-memory limiters: %d admitted, want %d", admitted, 2*rate.Burst)
	}
}
