package store

import (
	"context"
	"time"
)

// RateLimits keeps request-rate state that several server instances share
// (per-address limits of sign-in and code requests). Each key has one
// number, its theoretical arrival time (the generic cell rate algorithm,
// GCRA): a request at now is admitted when max(tat, now) + interval lies no
// more than burst intervals after now, and then tat becomes that time. So a
// key allows burst requests at once and one more per interval after that,
// whichever instance they reach.
type RateLimits interface {
	// TakeRate admits one request under key at now, or refuses it and
	// returns how long until one would be admitted. The decision and the
	// update are one atomic statement: parallel callers on any number of
	// instances together get no more than the limit allows.
	TakeRate(ctx context.Context, key string, now time.Time, interval time.Duration, burst int) (ok bool, retryAfter time.Duration, err error)
	// DeleteOldRates removes the state of keys whose theoretical arrival
	// time is before cutoff (their bucket is full again: absent and present
	// mean the same) and returns how many.
	DeleteOldRates(ctx context.Context, cutoff time.Time) (int, error)
}

// RateRetry is the wait a store returns when TakeRate refuses: tat is the
// key's theoretical arrival time (unix microseconds) as stored.
func RateRetry(tat int64, now time.Time, interval time.Duration, burst int) time.Duration {
	next := max(tat, now.UnixMicro()) + interval.Microseconds()
	return time.Duration(next-now.UnixMicro()-int64(burst)*interval.Microseconds()) * time.Microsecond
}
