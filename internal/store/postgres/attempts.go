package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/twofold-id/twofold/internal/store"
)

// GetAttempts returns the user's second-factor failure state, or the zero
// state with UserID set if none is stored.
func (s *Store) GetAttempts(ctx context.Context, userID string) (store.Attempts, error) {
	a := store.Attempts{UserID: userID}
	err := s.pool.QueryRow(ctx, `SELECT failures, last_failure_at, locked_until
		FROM mfa_attempts WHERE user_id = $1`, userID).
		Scan(&a.Failures, &a.LastFailureAt, &a.LockedUntil)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, nil
	}
	return a, mapErr("get attempts", err)
}

// UpdateAttempts runs fn on the user's current state (the zero state with
// UserID set if none is stored) inside one transaction that holds the row
// locked (an upsert … RETURNING), and stores what fn returns, so concurrent
// calls for one user, from any process, are serialized. fn may run while
// other callers wait: it must be quick and must not use the store. If fn
// returns an error nothing is stored and that error is returned unwrapped.
// An unknown user is store.ErrNotFound.
func (s *Store) UpdateAttempts(ctx context.Context, userID string, fn func(store.Attempts) (store.Attempts, error)) (store.Attempts, error) {
	var out store.Attempts
	var fnErr error
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// One statement makes sure the row exists, locks it (an upsert
		// that updates locks the row like FOR UPDATE) and reads it.
		cur := store.Attempts{UserID: userID}
		if err := tx.QueryRow(ctx, `INSERT INTO mfa_attempts (user_id) VALUES ($1)
			ON CONFLICT (user_id) DO UPDATE SET user_id = EXCLUDED.user_id
			RETURNING failures, last_failure_at, locked_until`, userID).
			Scan(&cur.Failures, &cur.LastFailureAt, &cur.LockedUntil); err != nil {
			return err
		}
		next, err := fn(cur)
		if err != nil {
			fnErr = err
			return err // rolls back, the inserted row included
		}
		next.UserID = userID
		next.LastFailureAt = tsp(next.LastFailureAt)
		next.LockedUntil = tsp(next.LockedUntil)
		if _, err := tx.Exec(ctx, `UPDATE mfa_attempts
			SET failures = $2, last_failure_at = $3, locked_until = $4
			WHERE user_id = $1`, userID, next.Failures, next.LastFailureAt, next.LockedUntil); err != nil {
			return err
		}
		out = next
		return nil
	})
	if fnErr != nil {
		return store.Attempts{}, fnErr
	}
	if err != nil {
		return store.Attempts{}, mapErr("update attempts", err)
	}
	return out, nil
}
