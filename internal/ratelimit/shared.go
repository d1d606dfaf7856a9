package ratelimit

import (
	"context"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

// Shared returns the backend that keeps limits in the store
// (store.RateLimits), so every instance on one database shares them. Each
// check is one statement on the database.
func Shared(st store.RateLimits, now func() time.Time) Backend { return shared{st, now} }

type shared struct {
	st  store.RateLimits
	now func() time.Time
}

func (s shared) Limiter(name string, r Rate) Limiter {
	return &storeLimiter{st: s.st, now: s.now, prefix: name + "|", interval: r.Interval(), burst: r.Burst}
}

type storeLimiter struct {
	st       store.RateLimits
	now      func() time.Time
	prefix   string
	interval time.Duration
	burst    int
}

func (l *storeLimiter) Allow(ctx context.Context, key string) (bool, time.Duration, error) {
	return l.st.TakeRate(ctx, l.prefix+key, l.now(), l.interval, l.burst)
}
