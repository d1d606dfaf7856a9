package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/twofold-id/twofold/internal/store"
)

var _ store.PasswordCounters = (*Store)(nil)

// GetPasswordAttempts returns the password failure state under key, or the
// zero state if none is stored.
func (s *Store) GetPasswordAttempts(ctx context.Context, key string) (store.Attempts, error) {
	var a store.Attempts
	err := s.pool.QueryRow(ctx, `SELECT failures, last_failure_at, locked_until
		FROM password_attempts WHERE key = $1`, key).Scan(&a.Failures, &a.LastFailureAt, &a.LockedUntil)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Attempts{}, nil
	}
	return a, mapErr("get password attempts", err)
}

// UpdatePasswordAttempts runs fn on the state under key inside one
// transaction that holds the row locked, and stores what fn returns;
// concurrent calls for one key, from any process, are serialized. The row
// is made to exist and locked by one upsert statement (ON CONFLICT DO
// UPDATE locks the row it finds), so a concurrent DELETE (a reset, the
// sweep) can never leave the transaction without a row. If fn returns an
// error nothing is stored and that error is returned unwrapped.
func (s *Store) UpdatePasswordAttempts(ctx context.Context, key string, fn func(store.Attempts) (store.Attempts, error)) (store.Attempts, error) {
	var out store.Attempts
	var fnErr error
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var cur store.Attempts
		if err := tx.QueryRow(ctx, `INSERT INTO password_attempts AS p (key) VALUES ($1)
			ON CONFLICT (key) DO UPDATE SET key = p.key
			RETURNING p.failures, p.last_failure_at, p.locked_until`, key).
			Scan(&cur.Failures, &cur.LastFailureAt, &cur.LockedUntil); err != nil {
			return err
		}
		next, err := fn(cur)
		if err != nil {
			fnErr = err
			return err // rolls back, the inserted row included
		}
		next.UserID = ""
		next.LastFailureAt, next.LockedUntil = tsp(next.LastFailureAt), tsp(next.LockedUntil)
		if _, err := tx.Exec(ctx, `UPDATE password_attempts SET failures = $2, last_failure_at = $3, locked_until = $4
			WHERE key = $1`, key, next.Failures, next.LastFailureAt, next.LockedUntil); err != nil {
			return err
		}
		out = next
		return nil
	})
	if fnErr != nil {
		return store.Attempts{}, fnErr
	}
	if err != nil {
		return store.Attempts{}, mapErr("update password attempts", err)
	}
	return out, nil
}

// DeletePasswordAttempts removes the counters under keys.
func (s *Store) DeletePasswordAttempts(ctx context.Context, keys ...string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM password_attempts WHERE key = ANY($1)`, keys)
	return mapErr("delete password attempts", err)
}

// DeleteOldPasswordAttempts removes counters whose last failure and lock
// lie before cutoff.
func (s *Store) DeleteOldPasswordAttempts(ctx context.Context, cutoff time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM password_attempts
		WHERE coalesce(last_failure_at, '-infinity') < $1 AND coalesce(locked_until, '-infinity') < $1`, cutoff)
	if err != nil {
		return 0, mapErr("delete old password attempts", err)
	}
	return int(tag.RowsAffected()), nil
}
