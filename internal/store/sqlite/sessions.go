package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

const sessionCols = `id, token_hash, user_id, created_at, last_seen_at, expires_at, amr, mfa_at, ip, user_agent,
	revoked_at, revoke_reason, user_version`

func scanSession(sc scanner) (store.Session, error) {
	var (
		x                      store.Session
		created, seen, expires int64
		amr                    sql.NullString
		mfaAt, revokedAt       sql.NullInt64
	)
	err := sc.Scan(&x.ID, &x.TokenHash, &x.UserID, &created, &seen, &expires, &amr, &mfaAt, &x.IP, &x.UserAgent,
		&revokedAt, &x.RevokeReason, &x.UserVersion)
	if err != nil {
		return store.Session{}, mapErr(err)
	}
	if x.AMR, err = decodeList(amr); err != nil {
		return store.Session{}, err
	}
	x.CreatedAt, x.LastSeenAt, x.ExpiresAt = fromMicro(created), fromMicro(seen), fromMicro(expires)
	x.MFAAt, x.RevokedAt = fromNullMicro(mfaAt), fromNullMicro(revokedAt)
	return x, nil
}

// CreateSession inserts x (ID generated when empty; CreatedAt and
// LastSeenAt now when zero) in one transaction with the check that its
// user exists (else store.ErrNotFound) and is not disabled (else
// store.ErrStale). A duplicate token hash is store.ErrConflict.
func (s *Store) CreateSession(ctx context.Context, x store.Session) (store.Session, error) {
	var out store.Session
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := userLive(ctx, tx, x.UserID, x.UserVersion); err != nil {
			return err
		}
		var err error
		out, err = s.insertSession(ctx, tx, x)
		return err
	})
	return out, err
}

// userLive returns store.ErrNotFound for an unknown user and
// store.ErrStale for a disabled one or one whose security_version is not
// version. Inside a transaction on the writer, the answer holds until the
// transaction ends.
func userLive(ctx context.Context, tx *sql.Tx, userID string, version int64) error {
	var (
		disabled bool
		current  int64
	)
	if err := tx.QueryRowContext(ctx, `SELECT disabled, security_version FROM users WHERE id = ?`, userID).Scan(&disabled, &current); err != nil {
		return mapErr(err)
	}
	if disabled || current != version {
		return store.ErrStale
	}
	return nil
}

// execer is what *sql.DB and *sql.Tx have in common for writes.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (s *Store) insertSession(ctx context.Context, ex execer, x store.Session) (store.Session, error) {
	if x.ID == "" {
		x.ID = store.NewID()
	}
	x.CreatedAt = s.orNow(x.CreatedAt)
	if x.LastSeenAt.IsZero() {
		x.LastSeenAt = x.CreatedAt
	}
	x.LastSeenAt, x.ExpiresAt = norm(x.LastSeenAt), norm(x.ExpiresAt)
	x.MFAAt, x.RevokedAt = normPtr(x.MFAAt), normPtr(x.RevokedAt)
	amr := x.AMR
	if amr == nil {
		amr = []string{}
	}
	_, err := ex.ExecContext(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		x.ID, x.TokenHash, x.UserID, micro(x.CreatedAt), micro(x.LastSeenAt), micro(x.ExpiresAt), encodeList(amr),
		microPtr(x.MFAAt), x.IP, x.UserAgent, microPtr(x.RevokedAt), x.RevokeReason, x.UserVersion)
	if err != nil {
		return store.Session{}, mapErr(err)
	}
	return x, nil
}

// GetSessionByTokenHash returns the session, revoked or not, or
// store.ErrNotFound.
func (s *Store) GetSessionByTokenHash(ctx context.Context, hash []byte) (store.Session, error) {
	return scanSession(s.r.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE token_hash = ?`, hash))
}

// GetSession returns the session with the given id, or store.ErrNotFound.
func (s *Store) GetSession(ctx context.Context, id string) (store.Session, error) {
	return scanSession(s.r.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE id = ?`, id))
}

// ListSessions returns the user's sessions that are not revoked and expire
// after now, newest first.
func (s *Store) ListSessions(ctx context.Context, userID string, now time.Time) ([]store.Session, error) {
	return queryAll(ctx, s.r, scanSession, `SELECT `+sessionCols+` FROM sessions
		WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY created_at DESC, id DESC`, userID, micro(now))
}

// TouchSession sets LastSeenAt; an unknown session is store.ErrNotFound.
func (s *Store) TouchSession(ctx context.Context, id string, at time.Time) error {
	return s.execOne(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id = ?`, micro(at), id)
}

// MarkSessionMFA sets amr and mfa_at of a live session; a revoked or
// unknown session is store.ErrNotFound.
func (s *Store) MarkSessionMFA(ctx context.Context, id string, amr []string, at time.Time) error {
	if amr == nil {
		amr = []string{}
	}
	return s.execOne(ctx, `UPDATE sessions SET amr = ?, mfa_at = ? WHERE id = ? AND revoked_at IS NULL`, encodeList(amr), micro(at), id)
}

// RevokeSession marks one session revoked at at with reason. Revoking a
// revoked session keeps the first revocation and is not an error; an
// unknown session is store.ErrNotFound.
func (s *Store) RevokeSession(ctx context.Context, id string, at time.Time, reason string) error {
	return s.execOne(ctx, `UPDATE sessions SET revoked_at = coalesce(revoked_at, ?),
		revoke_reason = CASE WHEN revoked_at IS NULL THEN ? ELSE revoke_reason END WHERE id = ?`, micro(at), reason, id)
}

// RevokeUserSessions revokes every live session of the user (not revoked,
// expiring after at) except exceptID, and returns how many it revoked.
func (s *Store) RevokeUserSessions(ctx context.Context, userID, exceptID string, at time.Time, reason string) (int, error) {
	n, err := s.exec(ctx, `UPDATE sessions SET revoked_at = ?, revoke_reason = ?
		WHERE user_id = ? AND id <> ? AND revoked_at IS NULL AND expires_at > ?`,
		micro(at), reason, userID, exceptID, micro(at))
	return int(n), err
}

// DeleteExpiredSessions removes sessions that expired or were revoked
// before cutoff, and returns how many.
func (s *Store) DeleteExpiredSessions(ctx context.Context, cutoff time.Time) (int, error) {
	n, err := s.exec(ctx, `DELETE FROM sessions WHERE expires_at < ? OR revoked_at < ?`, micro(cutoff), micro(cutoff))
	return int(n), err
}

const flowCols = `id, token_hash, user_id, kind, created_at, expires_at, failures, ip, user_agent, consumed_at, user_version`

func scanFlow(sc scanner) (store.Flow, error) {
	var (
		f                store.Flow
		created, expires int64
		consumed         sql.NullInt64
	)
	err := sc.Scan(&f.ID, &f.TokenHash, &f.UserID, &f.Kind, &created, &expires, &f.Failures, &f.IP, &f.UserAgent, &consumed, &f.UserVersion)
	if err != nil {
		return store.Flow{}, mapErr(err)
	}
	f.CreatedAt, f.ExpiresAt, f.ConsumedAt = fromMicro(created), fromMicro(expires), fromNullMicro(consumed)
	return f, nil
}

// CreateFlow inserts f (ID generated when empty; CreatedAt now when zero)
// in one transaction with the checks of CreateSession. A duplicate token
// hash is store.ErrConflict.
func (s *Store) CreateFlow(ctx context.Context, f store.Flow) (store.Flow, error) {
	if f.ID == "" {
		f.ID = store.NewID()
	}
	f.CreatedAt, f.ExpiresAt, f.ConsumedAt = s.orNow(f.CreatedAt), norm(f.ExpiresAt), normPtr(f.ConsumedAt)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := userLive(ctx, tx, f.UserID, f.UserVersion); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO flows (`+flowCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
			f.ID, f.TokenHash, f.UserID, string(f.Kind), micro(f.CreatedAt), micro(f.ExpiresAt), f.Failures, f.IP, f.UserAgent,
			microPtr(f.ConsumedAt), f.UserVersion)
		return mapErr(err)
	})
	if err != nil {
		return store.Flow{}, err
	}
	return f, nil
}

// GetFlowByTokenHash returns the flow, consumed or not, or store.ErrNotFound.
func (s *Store) GetFlowByTokenHash(ctx context.Context, hash []byte) (store.Flow, error) {
	return scanFlow(s.r.QueryRowContext(ctx, `SELECT `+flowCols+` FROM flows WHERE token_hash = ?`, hash))
}

// AddFlowFailure atomically increments the flow's failure count and returns
// the new count; an unknown flow is store.ErrNotFound.
func (s *Store) AddFlowFailure(ctx context.Context, id string) (int, error) {
	var n int
	err := s.w.QueryRowContext(ctx, `UPDATE flows SET failures = failures + 1 WHERE id = ? RETURNING failures`, id).Scan(&n)
	return n, mapErr(err)
}

// ConsumeFlow marks the flow consumed if it is not already, and reports
// whether this call consumed it; exactly one caller wins.
func (s *Store) ConsumeFlow(ctx context.Context, id string, at time.Time) (bool, error) {
	n, err := s.exec(ctx, `UPDATE flows SET consumed_at = ? WHERE id = ? AND consumed_at IS NULL`, micro(at), id)
	return n == 1, err
}

// DeleteExpiredFlows removes flows that expired before cutoff, and returns
// how many.
func (s *Store) DeleteExpiredFlows(ctx context.Context, cutoff time.Time) (int, error) {
	n, err := s.exec(ctx, `DELETE FROM flows WHERE expires_at < ?`, micro(cutoff))
	return int(n), err
}
