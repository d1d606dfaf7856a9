package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/twofold-id/twofold/internal/store"
)

const sessionColumns = `id, token_hash, user_id, created_at, last_seen_at, expires_at,
	amr, mfa_at, ip, user_agent, revoked_at, revoke_reason, user_version`

func scanSession(row pgx.Row) (store.Session, error) {
	var s store.Session
	err := row.Scan(&s.ID, &s.TokenHash, &s.UserID, &s.CreatedAt, &s.LastSeenAt,
		&s.ExpiresAt, &s.AMR, &s.MFAAt, &s.IP, &s.UserAgent, &s.RevokedAt, &s.RevokeReason, &s.UserVersion)
	return s, err
}

// CreateSession inserts sess, generating ID when it is empty; CreatedAt
// defaults to now and LastSeenAt to CreatedAt. It checks in the same
// transaction, holding a share lock on the user's row, that the user is
// not disabled (else store.ErrStale): a concurrent disable either waits for
// this session to commit (and then revokes it) or has committed first (and
// the session is refused). A token hash already in use is
// store.ErrConflict; an unknown user is store.ErrNotFound.
func (s *Store) CreateSession(ctx context.Context, sess store.Session) (store.Session, error) {
	var out store.Session
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := userLive(ctx, tx, sess.UserID, sess.UserVersion); err != nil {
			return err
		}
		var err error
		out, err = s.insertSession(ctx, tx, sess)
		return err
	})
	if err != nil {
		return store.Session{}, mapErr("create session", err)
	}
	return out, nil
}

// userLive locks the user's row against changes until tx ends (FOR SHARE:
// other sign-ins are not held up) and returns store.ErrNotFound for an
// unknown user and store.ErrStale for a disabled one or one whose
// security_version is not version.
func userLive(ctx context.Context, tx pgx.Tx, userID string, version int64) error {
	var (
		disabled bool
		current  int64
	)
	if err := tx.QueryRow(ctx, `SELECT disabled, security_version FROM users WHERE id = $1 FOR SHARE`, userID).Scan(&disabled, &current); err != nil {
		return mapErr("check user", err)
	}
	if disabled || current != version {
		return store.ErrStale
	}
	return nil
}

func (s *Store) insertSession(ctx context.Context, q execer, sess store.Session) (store.Session, error) {
	if sess.ID == "" {
		sess.ID = store.NewID()
	}
	sess.CreatedAt = s.orNow(sess.CreatedAt)
	if sess.LastSeenAt.IsZero() {
		sess.LastSeenAt = sess.CreatedAt
	}
	sess.LastSeenAt = ts(sess.LastSeenAt)
	sess.ExpiresAt = ts(sess.ExpiresAt)
	sess.MFAAt = tsp(sess.MFAAt)
	sess.RevokedAt = tsp(sess.RevokedAt)
	_, err := q.Exec(ctx, `INSERT INTO sessions (id, token_hash, user_id, created_at,
			last_seen_at, expires_at, amr, mfa_at, ip, user_agent, revoked_at, revoke_reason, user_version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		sess.ID, sess.TokenHash, sess.UserID, sess.CreatedAt, sess.LastSeenAt,
		sess.ExpiresAt, sess.AMR, sess.MFAAt, sess.IP, sess.UserAgent,
		sess.RevokedAt, sess.RevokeReason, sess.UserVersion)
	if err != nil {
		return store.Session{}, mapErr("create session", err)
	}
	return sess, nil
}

// GetSessionByTokenHash returns the session whose token hashes to hash,
// revoked or not, or store.ErrNotFound.
func (s *Store) GetSessionByTokenHash(ctx context.Context, hash []byte) (store.Session, error) {
	sess, err := scanSession(s.pool.QueryRow(ctx,
		`SELECT `+sessionColumns+` FROM sessions WHERE token_hash = $1`, hash))
	return sess, mapErr("get session by token hash", err)
}

// GetSession returns the session with the given id, or store.ErrNotFound.
func (s *Store) GetSession(ctx context.Context, id string) (store.Session, error) {
	sess, err := scanSession(s.pool.QueryRow(ctx,
		`SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, id))
	return sess, mapErr("get session", err)
}

// ListSessions returns the user's sessions that are not revoked and expire
// after now, newest first.
func (s *Store) ListSessions(ctx context.Context, userID string, now time.Time) ([]store.Session, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
		ORDER BY created_at DESC, id DESC`, userID, now)
	if err != nil {
		return nil, mapErr("list sessions", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Session, error) { return scanSession(r) })
	return list, mapErr("list sessions", err)
}

// TouchSession sets the session's LastSeenAt to at; an unknown session is
// store.ErrNotFound.
func (s *Store) TouchSession(ctx context.Context, id string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE sessions SET last_seen_at = $2 WHERE id = $1`, id, at)
	if err != nil {
		return mapErr("touch session", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("touch session")
	}
	return nil
}

// MarkSessionMFA sets amr and mfa_at of a live session; a revoked or
// unknown session is store.ErrNotFound.
func (s *Store) MarkSessionMFA(ctx context.Context, id string, amr []string, at time.Time) error {
	if amr == nil {
		amr = []string{}
	}
	tag, err := s.pool.Exec(ctx, `UPDATE sessions SET amr = $2, mfa_at = $3 WHERE id = $1 AND revoked_at IS NULL`, id, amr, at)
	if err != nil {
		return mapErr("mark session mfa", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("mark session mfa")
	}
	return nil
}

// RevokeSession marks the session revoked at at for reason. Revoking a
// revoked session is not an error and keeps the first time and reason; an
// unknown session is store.ErrNotFound.
func (s *Store) RevokeSession(ctx context.Context, id string, at time.Time, reason string) error {
	// COALESCE keeps the first revocation; the row is matched either way,
	// so zero rows affected means the session does not exist.
	tag, err := s.pool.Exec(ctx, `UPDATE sessions
		SET revoked_at = COALESCE(revoked_at, $2),
		    revoke_reason = CASE WHEN revoked_at IS NULL THEN $3 ELSE revoke_reason END
		WHERE id = $1`, id, at, reason)
	if err != nil {
		return mapErr("revoke session", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("revoke session")
	}
	return nil
}

// RevokeUserSessions revokes every session of the user that is neither
// revoked nor expired at at, except exceptID (may be ""), and returns how
// many it revoked.
func (s *Store) RevokeUserSessions(ctx context.Context, userID, exceptID string, at time.Time, reason string) (int, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE sessions SET revoked_at = $3, revoke_reason = $4
		WHERE user_id = $1 AND id <> $2 AND revoked_at IS NULL AND expires_at > $3`,
		userID, exceptID, at, reason)
	if err != nil {
		return 0, mapErr("revoke user sessions", err)
	}
	return int(tag.RowsAffected()), nil
}

// DeleteExpiredSessions removes the sessions that expired, or were revoked,
// before cutoff, and returns how many.
func (s *Store) DeleteExpiredSessions(ctx context.Context, cutoff time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx,
		`DELETE FROM sessions WHERE expires_at < $1 OR revoked_at < $1`, cutoff)
	if err != nil {
		return 0, mapErr("delete expired sessions", err)
	}
	return int(tag.RowsAffected()), nil
}
