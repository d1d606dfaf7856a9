package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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
	// Every statement goes to the server in one batch (one round trip
	// between BEGIN and COMMIT, instead of one per statement); the
	// outcomes are looked at afterwards, and a stale user or a consumed
	// flow rolls the whole transaction back, the session insert included.
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		var gone bool
		// The user's row first, under a share lock (see CreateSession).
		b.Queue(`SELECT disabled, security_version FROM users WHERE id = $1 FOR SHARE`, sess.UserID).QueryRow(func(r pgx.Row) error {
			var (
				disabled bool
				current  int64
			)
			err := r.Scan(&disabled, &current)
			if errors.Is(err, pgx.ErrNoRows) || err == nil && (disabled || current != sess.UserVersion) {
				gone = true
				return nil
			}
			return mapErr("check user", err)
		})
		b.Queue(`UPDATE flows SET consumed_at = $2 WHERE id = $1 AND consumed_at IS NULL AND user_version = $3`,
			flowID, at, sess.UserVersion).Exec(func(tag pgconn.CommandTag) error {
			if tag.RowsAffected() != 1 {
				gone = true
			}
			return nil
		})
		b.Queue(`UPDATE mfa_attempts SET failures = 0, last_failure_at = NULL, locked_until = NULL WHERE user_id = $1`, sess.UserID)
		var err error
		if out, err = s.insertSession(ctx, batchExec{b}, sess); err != nil {
			return err
		}
		for _, e := range events {
			if err := s.insertAudit(ctx, batchExec{b}, e); err != nil {
				return err
			}
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return mapErr("complete sign-in", err)
		}
		if gone {
			return errFlowGone
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
