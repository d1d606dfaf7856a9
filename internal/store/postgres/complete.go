package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/twofold-id/twofold/internal/store"
)

var _ store.SignInCompleter = (*Store)(nil)

// errFlowGone stops the completion transaction when the flow was consumed.
var errFlowGone = errors.New("flow consumed")

// CompleteSignIn consumes the flow, clears the failure counter, inserts
// the session and appends the events in one transaction (one commit, one
// WAL flush), unless the user is gone, disabled, or at another security
// version than the flow and the session.
func (s *Store) CompleteSignIn(ctx context.Context, flowID string, at time.Time, sess store.Session, events []store.AuditEvent) (store.Session, bool, error) {
	var out store.Session
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// The user's row first, under a share lock (see CreateSession).
		switch err := userLive(ctx, tx, sess.UserID, sess.UserVersion); {
		case errors.Is(err, store.ErrStale), errors.Is(err, store.ErrNotFound):
			return errFlowGone
		case err != nil:
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE flows SET consumed_at = $2 WHERE id = $1 AND consumed_at IS NULL AND user_version = $3`,
			flowID, at, sess.UserVersion)
		if err != nil {
			return mapErr("complete sign-in: consume flow", err)
		}
		if tag.RowsAffected() != 1 {
			return errFlowGone
		}
		if _, err := tx.Exec(ctx, `UPDATE mfa_attempts SET failures = 0, last_failure_at = NULL, locked_until = NULL WHERE user_id = $1`, sess.UserID); err != nil {
			return mapErr("complete sign-in: reset attempts", err)
		}
		if out, err = s.insertSession(ctx, tx, sess); err != nil {
			return err
		}
		for _, e := range events {
			if err := s.insertAudit(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errFlowGone) {
		return store.Session{}, false, nil
	}
	if err != nil {
		return store.Session{}, false, err
	}
	return out, true, nil
}
