package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/twofold-id/twofold/internal/store"
)

var _ store.RateLimits = (*Store)(nil)

// asyncCommit begins a transaction whose commit does not wait for the disk.
var asyncCommit = pgx.TxOptions{BeginQuery: "BEGIN; SET LOCAL synchronous_commit = off"}

// TakeRate implements store.RateLimits with one upsert: a new key is
// inserted admitted, an existing one is advanced only when the WHERE clause
// admits the request; the row lock of ON CONFLICT serializes concurrent
// callers. A refusal reads the state once more to say how long to wait.
func (s *Store) TakeRate(ctx context.Context, key string, now time.Time, interval time.Duration, burst int) (bool, time.Duration, error) {
	n, iv, limit := now.UnixMicro(), interval.Microseconds(), int64(burst)*interval.Microseconds()
	var tat int64
	// The commit does not wait for the WAL to reach the disk: a crash may
	// forget the last few requests' counts (the limit is a throttle, not a
	// record), and no sign-in waits for a disk flush to be counted.
	err := pgx.BeginTxFunc(ctx, s.pool, asyncCommit, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO rate_limits (key, tat) VALUES ($1, $2::bigint + $3::bigint)
			ON CONFLICT (key) DO UPDATE SET tat = GREATEST(rate_limits.tat, $2::bigint) + $3::bigint
			WHERE GREATEST(rate_limits.tat, $2::bigint) + $3::bigint - $2::bigint <= $4::bigint
			RETURNING tat`, key, n, iv, limit).Scan(&tat)
	})
	if err == nil {
		return true, 0, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return false, 0, mapErr("take rate", err)
	}
	err = s.pool.QueryRow(ctx, `SELECT tat FROM rate_limits WHERE key = $1`, key).Scan(&tat)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return false, 0, mapErr("take rate", err)
	}
	return false, store.RateRetry(tat, now, interval, burst), nil
}

// DeleteOldRates implements store.RateLimits.
func (s *Store) DeleteOldRates(ctx context.Context, cutoff time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM rate_limits WHERE tat < $1`, cutoff.UnixMicro())
	if err != nil {
		return 0, mapErr("delete old rates", err)
	}
	return int(tag.RowsAffected()), nil
}
