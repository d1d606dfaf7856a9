package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

// getAttempts reads the attempt state of userID with q (the reader pool or
// a transaction); without a stored row it is the zero state.
func getAttempts(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, userID string) (store.Attempts, error) {
	a := store.Attempts{UserID: userID}
	var last, locked sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT failures, last_failure_at, locked_until FROM mfa_attempts WHERE user_id = ?`,
		userID).Scan(&a.Failures, &last, &locked)
	if errors.Is(err, sql.ErrNoRows) {
		return a, nil
	}
	if err != nil {
		return store.Attempts{}, mapErr(err)
	}
	a.LastFailureAt, a.LockedUntil = fromNullMicro(last), fromNullMicro(locked)
	return a, nil
}

// GetAttempts returns the user's second-factor failure state: the zero
// state with UserID set when none is stored.
func (s *Store) GetAttempts(ctx context.Context, userID string) (store.Attempts, error) {
	return getAttempts(ctx, s.r, userID)
}

// UpdateAttempts runs fn on the user's current state inside one IMMEDIATE
// transaction on the writer connection, which serializes it with every other
// write, and stores what fn returns (its UserID is ignored). If fn returns
// an error, nothing is stored and the error is returned. fn must be quick
// and must not call the Store: it runs while the one writer connection is
// held.
func (s *Store) UpdateAttempts(ctx context.Context, userID string, fn func(store.Attempts) (store.Attempts, error)) (store.Attempts, error) {
	var out store.Attempts
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		cur, err := getAttempts(ctx, tx, userID)
		if err != nil {
			return err
		}
		next, err := fn(cur)
		if err != nil {
			return err
		}
		next.UserID = userID
		next.LastFailureAt, next.LockedUntil = normPtr(next.LastFailureAt), normPtr(next.LockedUntil)
		_, err = tx.ExecContext(ctx, `INSERT INTO mfa_attempts (user_id, failures, last_failure_at, locked_until) VALUES (?,?,?,?)
			ON CONFLICT (user_id) DO UPDATE SET failures = excluded.failures,
				last_failure_at = excluded.last_failure_at, locked_until = excluded.locked_until`,
			userID, next.Failures, microPtr(next.LastFailureAt), microPtr(next.LockedUntil))
		if err != nil {
			return mapErr(err)
		}
		out = next
		return nil
	})
	return out, err
}

// AppendAudit appends e to the event log; the store assigns its ID, and At
// is now when zero.
func (s *Store) AppendAudit(ctx context.Context, e store.AuditEvent) error {
	return s.insertAudit(ctx, s.w, e)
}

func (s *Store) insertAudit(ctx context.Context, ex execer, e store.AuditEvent) error {
	_, err := ex.ExecContext(ctx, `INSERT INTO audit_events (at, actor_user_id, target_user_id, org_id, ip, user_agent, event, outcome, detail, request_id)
		VALUES (?,?,?,?,?,?,?,?,?,?)`, micro(s.orNow(e.At)), e.ActorUserID, e.TargetUserID, e.OrgID, e.IP, e.UserAgent,
		e.Event, e.Outcome, e.Detail, e.RequestID)
	return mapErr(err)
}

// ListAudit returns the events matching f, newest (highest ID) first. Since
// is inclusive and Until exclusive.
func (s *Store) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error) {
	q, args := listAuditQuery(f)
	return queryAll(ctx, s.r, func(sc scanner) (store.AuditEvent, error) {
		var (
			e  store.AuditEvent
			at int64
		)
		err := sc.Scan(&e.ID, &at, &e.ActorUserID, &e.TargetUserID, &e.OrgID, &e.IP, &e.UserAgent, &e.Event, &e.Outcome, &e.Detail, &e.RequestID)
		e.At = fromMicro(at)
		return e, mapErr(err)
	}, q, args...)
}

// listAuditQuery is the statement of ListAudit (its indexes are shown by
// EXPLAIN QUERY PLAN in a test).
func listAuditQuery(f store.AuditFilter) (string, []any) {
	var (
		where []string
		args  []any
	)
	if f.OrgPath != "" {
		cond, a := prefixCond("path", f.OrgPath)
		where, args = append(where, "org_id IN (SELECT id FROM orgs WHERE "+cond+")"), append(args, a...)
	}
	if f.UserID != "" {
		where, args = append(where, "(actor_user_id = ? OR target_user_id = ?)"), append(args, f.UserID, f.UserID)
	}
	if strings.HasSuffix(f.Event, ".") {
		cond, a := prefixCond("event", f.Event)
		where, args = append(where, cond), append(args, a...)
	} else if f.Event != "" {
		where, args = append(where, "event = ?"), append(args, f.Event)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "at >= ?"), append(args, micro(f.Since))
	}
	if !f.Until.IsZero() {
		where, args = append(where, "at < ?"), append(args, micro(f.Until))
	}
	if f.BeforeID != 0 {
		where, args = append(where, "id < ?"), append(args, f.BeforeID)
	}
	q := `SELECT id, at, actor_user_id, target_user_id, org_id, ip, user_agent, event, outcome, detail, request_id FROM audit_events`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limitOr100(f.Limit))
	return q, args
}

// PutSetupToken stores the hash of the setup token, replacing any other.
func (s *Store) PutSetupToken(ctx context.Context, hash []byte, expiresAt time.Time) error {
	_, err := s.exec(ctx, `INSERT INTO setup_tokens (id, hash, expires_at) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET hash = excluded.hash, expires_at = excluded.expires_at`, hash, micro(expiresAt))
	return err
}

// CreateFirstAdmin spends the setup token and creates u in one transaction
// on the writer (see store.SetupTokens).
func (s *Store) CreateFirstAdmin(ctx context.Context, hash []byte, now time.Time, u store.User) (store.User, error) {
	var out store.User
	done := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM setup_tokens WHERE hash = ? AND expires_at > ?`, hash, micro(now))
		if err != nil {
			return mapErr(err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return store.ErrNotFound
		}
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE role = ?)`, string(store.RoleSuperadmin)).Scan(&exists); err != nil {
			return mapErr(err)
		}
		if exists {
			done = true // commit the deletion, create nobody
			return nil
		}
		out, err = s.insertUser(ctx, tx, u)
		return err
	})
	if err == nil && done {
		err = store.ErrSetupDone
	}
	return out, err
}
