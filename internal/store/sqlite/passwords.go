package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

var _ store.PasswordCounters = (*Store)(nil)

func getPasswordAttempts(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, key string) (store.Attempts, error) {
	var (
		a            store.Attempts
		last, locked sql.NullInt64
	)
	err := q.QueryRowContext(ctx, `SELECT failures, last_failure_at, locked_until FROM password_attempts WHERE key = ?`,
		key).Scan(&a.Failures, &last, &locked)
	if errors.Is(err, sql.ErrNoRows) {
		return a, nil
	}
	if err != nil {
		return store.Attempts{}, mapErr(err)
	}
	a.LastFailureAt, a.LockedUntil = fromNullMicro(last), fromNullMicro(locked)
	return a, nil
}

// GetPasswordAttempts returns the password failure state under key: the
// zero state when none is stored.
func (s *Store) GetPasswordAttempts(ctx context.Context, key string) (store.Attempts, error) {
	return getPasswordAttempts(ctx, s.r, key)
}

// UpdatePasswordAttempts runs fn on the state under key and stores what it
// returns, in one IMMEDIATE transaction on the writer (which serializes
// every caller, in this process and in others).
func (s *Store) UpdatePasswordAttempts(ctx context.Context, key string, fn func(store.Attempts) (store.Attempts, error)) (store.Attempts, error) {
	var out store.Attempts
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		cur, err := getPasswordAttempts(ctx, tx, key)
		if err != nil {
			return err
		}
		next, err := fn(cur)
		if err != nil {
			return err
		}
		next.UserID = ""
		next.LastFailureAt, next.LockedUntil = normPtr(next.LastFailureAt), normPtr(next.LockedUntil)
		_, err = tx.ExecContext(ctx, `INSERT INTO password_attempts (key, failures, last_failure_at, locked_until) VALUES (?,?,?,?)
			ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,
				last_failure_at = excluded.last_failure_at, locked_until = excluded.locked_until`,
			key, next.Failures, microPtr(next.LastFailureAt), microPtr(next.LockedUntil))
		if err != nil {
			return mapErr(err)
		}
		out = next
		return nil
	})
	return out, err
}

// DeletePasswordAttempts removes the counters under keys.
func (s *Store) DeletePasswordAttempts(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	_, err := s.exec(ctx, `DELETE FROM password_attempts WHERE key IN (?`+strings.Repeat(",?", len(keys)-1)+`)`, args...)
	return err
}

// DeleteOldPasswordAttempts removes counters whose last failure and lock
// lie before cutoff.
func (s *Store) DeleteOldPasswordAttempts(ctx context.Context, cutoff time.Time) (int, error) {
	n, err := s.exec(ctx, `DELETE FROM password_attempts
		WHERE coalesce(last_failure_at, 0) < ? AND coalesce(locked_until, 0) < ?`, micro(cutoff), micro(cutoff))
	return int(n), err
}
