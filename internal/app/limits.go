package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/ratelimit"
	"github.com/twofold-id/twofold/internal/store"
)

// openLimits chooses where the per-address request limits are counted:
// in Redis when --redis-url is set, in PostgreSQL when that is the store
// (both shared by every instance), otherwise in this process (one SQLite
// server is one instance). A Redis that does not answer at start is an
// error, so that a wrong URL is found at once rather than at the first
// sign-in.
func openLimits(ctx context.Context, cfg config.Config, st store.Store, backend string, o Options) (ratelimit.Backend, *redis.Client, error) {
	switch {
	case cfg.RedisURL != "":
		ro, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			// Not err: it may repeat the URL, password and all.
			return nil, nil, errors.New("redis-url is not a valid redis:// URL")
		}
		rc := redis.NewClient(ro)
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := rc.Ping(pctx).Err(); err != nil {
			rc.Close()
			return nil, nil, fmt.Errorf("redis at %s: %w", ro.Addr, err)
		}
		return ratelimit.Redis(rc, o.RedisPrefix, o.Now), rc, nil
	case backend == "postgres":
		return ratelimit.Shared(st, o.Now), nil, nil
	default:
		return ratelimit.Memory(o.Now), nil, nil
	}
}
