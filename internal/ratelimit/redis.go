package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis returns the backend that keeps limits in Redis (--redis-url), so
// every instance using that Redis shares them. Each check is one script
// call, atomic in Redis. Keys expire once their bucket is full again.
//
// The time is the instance's clock, as for the other backends; instances
// whose clocks differ by a second allow about a second's worth of requests
// more or less.
//
// Keys are prefix + "rate:" + the limiter's name + ":" + the key; an empty
// prefix is "twofold:".
func Redis(c redis.UniversalClient, prefix string, now func() time.Time) Backend {
	if prefix == "" {
		prefix = "twofold:"
	}
	return redisBackend{c, prefix, now}
}

type redisBackend struct {
	c      redis.UniversalClient
	prefix string
	now    func() time.Time
}

func (b redisBackend) Limiter(name string, r Rate) Limiter {
	return &redisLimiter{c: b.c, now: b.now, prefix: b.prefix + "rate:" + name + ":", interval: r.Interval(), burst: r.Burst}
}

type redisLimiter struct {
	c        redis.UniversalClient
	now      func() time.Time
	prefix   string
	interval time.Duration
	burst    int
}

// gcra is the generic cell rate algorithm on one key holding the
// theoretical arrival time in unix microseconds. ARGV: now, interval,
// burst × interval (all microseconds). It returns 0 when the request is
// admitted, otherwise the microseconds until one would be.
var gcra = redis.NewScript(`
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local nexttat = tat + interval
if nexttat - now > limit then
  return nexttat - now - limit
end
redis.call('SET', KEYS[1], string.format('%d', nexttat), 'PX', math.ceil((nexttat - now) / 1000) + 1000)
return 0
`)

func (l *redisLimiter) Allow(ctx context.Context, key string) (bool, time.Duration, error) {
	now := l.now().UnixMicro()
	iv := l.interval.Microseconds()
	wait, err := gcra.Run(ctx, l.c, []string{l.prefix + key}, now, iv, int64(l.burst)*iv).Int64()
	if err != nil {
		return false, 0, fmt.Errorf("ratelimit: redis: %w", err)
	}
	if wait > 0 {
		return false, time.Duration(wait) * time.Microsecond, nil
	}
	return true, 0, nil
}
