package ratelimit

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// IPLimiter limits requests per client address with a token bucket each.
// It is the in-memory Limiter: per process; buckets idle for a while are dropped.
// The zero value is not usable; use NewIPLimiter.
type IPLimiter struct {
	rate  rate.Limit
	burst int
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// NewIPLimiter allows perMinute requests a minute per address on average,
// with bursts of up to burst.
func NewIPLimiter(perMinute float64, burst int, now func() time.Time) *IPLimiter {
	return &IPLimiter{rate: rate.Limit(perMinute / 60), burst: burst, now: now, buckets: map[string]*bucket{}}
}

// Allow reports whether a request from ip may go ahead now; when it may not,
// it also returns how long until one would. It never fails.
func (l *IPLimiter) Allow(_ context.Context, ip string) (bool, time.Duration, error) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.seen) > 10*time.Minute {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b := l.buckets[ip]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(l.rate, l.burst)}
		l.buckets[ip] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d, nil
	}
	return true, 0, nil
}

// Blocked reports, without taking a token, whether key's bucket is empty
// now, and if so how long until it holds one again. Used with Allow as a
// failure counter: Allow takes a token for each failure, Blocked refuses
// attempts while the failures used the bucket up.
func (l *IPLimiter) Blocked(key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		return false, 0
	}
	tokens := b.lim.TokensAt(now)
	if tokens >= 1 {
		return false, 0
	}
	wait := time.Duration((1 - tokens) / float64(l.rate) * float64(time.Second))
	return true, max(wait, time.Second)
}
