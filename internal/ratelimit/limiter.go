package ratelimit

import (
	"context"
	"time"
)

// A Limiter admits requests under a key — a client address — at a steady
// rate with bursts. An error means the shared state could not be reached;
// callers refuse the request (fail closed) rather than let it through
// unlimited.
type Limiter interface {
	Allow(ctx context.Context, key string) (ok bool, retryAfter time.Duration, err error)
}

// Rate is a limit: PerMinute requests a minute on average, bursts of up to
// Burst at once.
type Rate struct {
	PerMinute float64
	Burst     int
}

// Interval is the time one request costs: a minute over PerMinute.
func (r Rate) Interval() time.Duration {
	return time.Duration(float64(time.Minute) / r.PerMinute)
}

// A Backend makes the limiters of a process. Limiters of the same name and
// rate made by backends that share their state (one PostgreSQL database,
// one Redis) share their counts: N instances allow what one would.
type Backend interface {
	Limiter(name string, r Rate) Limiter
}

// Memory returns the in-process backend: each limiter counts in this
// process alone. It fits one instance (SQLite, or one PostgreSQL
// instance); several instances need Shared or Redis.
func Memory(now func() time.Time) Backend { return memory{now} }

type memory struct{ now func() time.Time }

func (m memory) Limiter(_ string, r Rate) Limiter { return NewIPLimiter(r.PerMinute, r.Burst, m.now) }
