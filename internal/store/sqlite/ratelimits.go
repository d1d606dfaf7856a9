package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

var _ store.RateLimits = (*Store)(nil)

// TakeRate implements store.RateLimits with one upsert on the writer
// connection (see the PostgreSQL store); a refusal reads the state once
// more to say how long to wait.
func (s *Store) TakeRate(ctx context.Context, key string, now time.Time, interval time.Duration, burst int) (bool, time.Duration, error) {
	n, iv, limit := now.UnixMicro(), interval.Microseconds(), int64(burst)*interval.Microseconds()
	var tat int64
	err := s.w.QueryRowContext(ctx, `INSERT INTO rate_limits (key, tat) VALUES (?1, ?2 + ?3)
		ON CONFLICT (key) DO UPDATE SET tat = MAX(rate_limits.tat, ?2) + ?3
		WHERE MAX(rate_limits.tat, ?2) + ?3 - ?2 <= ?4
		RETURNING tat`, key, n, iv, limit).Scan(&tat)
	if err == nil {
		return true, 0, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return false, 0, mapErr(err)
	}
	err = s.w.QueryRowContext(ctx, `SELECT tat FROM rate_limits WHERE key = ?`, key).Scan(&tat)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, 0, mapErr(err)
	}
	return false, store.RateRetry(tat, now, interval, burst), nil
}

// DeleteOldRates implements store.RateLimits.
func (s *Store) DeleteOldRates(ctx context.Context, cutoff time.Time) (int, error) {
	n, err := s.exec(ctx, `DELETE FROM rate_limits WHERE tat < ?`, micro(cutoff))
	return int(n), err
}
