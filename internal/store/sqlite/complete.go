package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

var _ store.SignInCompleter = (*Store)(nil)

// errFlowGone stops the completion transaction when the flow was consumed.
var errFlowGone = errors.New("flow consumed")

// CompleteSignIn consumes the flow, clears the failure counter, inserts
// the session and appends the events in one transaction on the writer,
// unless the user is gone, disabled, or at another security version than
// the flow and the session.
func (s *Store) CompleteSignIn(ctx context.Context, flowID string, at time.Time, sess store.Session, events []store.AuditEvent) (store.Session, bool, error) {
	var out store.Session
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		switch err := userLive(ctx, tx, sess.UserID, sess.UserVersion); {
		case errors.Is(err, store.ErrStale), errors.Is(err, store.ErrNotFound):
			return errFlowGone
		case err != nil:
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE flows SET consumed_at = ? WHERE id = ? AND consumed_at IS NULL AND user_version = ?`,
			micro(at), flowID, sess.UserVersion)
		if err != nil {
			return mapErr(err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return errors.Join(errFlowGone, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE mfa_attempts SET failures = 0, last_failure_at = NULL, locked_until = NULL WHERE user_id = ?`, sess.UserID); err != nil {
			return mapErr(err)
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
