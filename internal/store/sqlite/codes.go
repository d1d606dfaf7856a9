package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

var _ store.CodeStore = (*Store)(nil)

const challengeCols = `id, user_id, factor_id, flow_id, purpose, code_hash, created_at, expires_at, attempts, used_at`

func scanChallenge(sc scanner) (store.Challenge, error) {
	var (
		c                store.Challenge
		created, expires int64
		used             sql.NullInt64
	)
	err := sc.Scan(&c.ID, &c.UserID, &c.FactorID, &c.FlowID, &c.Purpose, &c.CodeHash, &created, &expires, &c.Attempts, &used)
	if err != nil {
		return store.Challenge{}, mapErr(err)
	}
	c.CreatedAt, c.ExpiresAt, c.UsedAt = fromMicro(created), fromMicro(expires), fromNullMicro(used)
	return c, nil
}

// PutChallenge stores c as the one live challenge for its (UserID, FlowID,
// Purpose), deleting any earlier one in the same transaction (ID generated
// when empty; CreatedAt now when zero).
func (s *Store) PutChallenge(ctx context.Context, c store.Challenge) (store.Challenge, error) {
	if c.ID == "" {
		c.ID = store.NewID()
	}
	c.CreatedAt, c.ExpiresAt, c.UsedAt = s.orNow(c.CreatedAt), norm(c.ExpiresAt), normPtr(c.UsedAt)
	if c.CodeHash == nil {
		c.CodeHash = []byte{}
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM challenges WHERE user_id = ? AND flow_id = ? AND purpose = ?`,
			c.UserID, c.FlowID, c.Purpose); err != nil {
			return mapErr(err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO challenges (`+challengeCols+`) VALUES (?,?,?,?,?,?,?,?,?,?)`,
			c.ID, c.UserID, c.FactorID, c.FlowID, c.Purpose, c.CodeHash, micro(c.CreatedAt), micro(c.ExpiresAt),
			c.Attempts, microPtr(c.UsedAt))
		return mapErr(err)
	})
	if err != nil {
		return store.Challenge{}, err
	}
	return c, nil
}

// GetChallenge returns the live challenge for (userID, flowID, purpose),
// used or not, or store.ErrNotFound.
func (s *Store) GetChallenge(ctx context.Context, userID, flowID, purpose string) (store.Challenge, error) {
	return scanChallenge(s.r.QueryRowContext(ctx, `SELECT `+challengeCols+` FROM challenges
		WHERE user_id = ? AND flow_id = ? AND purpose = ?`, userID, flowID, purpose))
}

// AddChallengeAttempt increments Attempts in one statement and returns the
// new count; an unknown challenge is store.ErrNotFound.
func (s *Store) AddChallengeAttempt(ctx context.Context, id string) (int, error) {
	var n int
	err := s.w.QueryRowContext(ctx, `UPDATE challenges SET attempts = attempts + 1 WHERE id = ? RETURNING attempts`, id).Scan(&n)
	return n, mapErr(err)
}

// UseChallenge marks the challenge used at now, in one conditional
// statement, if it is unused, has fewer than maxAttempts attempts and
// expires after now; it reports whether this call used it.
func (s *Store) UseChallenge(ctx context.Context, id string, now time.Time, maxAttempts int) (bool, error) {
	n, err := s.exec(ctx, `UPDATE challenges SET used_at = ?
		WHERE id = ? AND used_at IS NULL AND attempts < ? AND expires_at > ?`,
		micro(now), id, maxAttempts, micro(now))
	return n == 1, err
}

// DeleteExpiredChallenges removes challenges that expired before cutoff,
// and returns how many.
func (s *Store) DeleteExpiredChallenges(ctx context.Context, cutoff time.Time) (int, error) {
	n, err := s.exec(ctx, `DELETE FROM challenges WHERE expires_at < ?`, micro(cutoff))
	return int(n), err
}

const emailConfirmationCols = `id, user_id, email, token_hash, created_at, expires_at, used_at`

func scanEmailConfirmation(sc scanner) (store.EmailConfirmation, error) {
	var (
		ec               store.EmailConfirmation
		created, expires int64
		used             sql.NullInt64
	)
	if err := sc.Scan(&ec.ID, &ec.UserID, &ec.Email, &ec.TokenHash, &created, &expires, &used); err != nil {
		return store.EmailConfirmation{}, mapErr(err)
	}
	ec.CreatedAt, ec.ExpiresAt, ec.UsedAt = fromMicro(created), fromMicro(expires), fromNullMicro(used)
	return ec, nil
}

// CreateEmailConfirmation stores ec (ID generated when empty; CreatedAt now
// when zero). A token hash already in use is store.ErrConflict.
func (s *Store) CreateEmailConfirmation(ctx context.Context, ec store.EmailConfirmation) (store.EmailConfirmation, error) {
	if ec.ID == "" {
		ec.ID = store.NewID()
	}
	ec.CreatedAt, ec.ExpiresAt, ec.UsedAt = s.orNow(ec.CreatedAt), norm(ec.ExpiresAt), normPtr(ec.UsedAt)
	_, err := s.exec(ctx, `INSERT INTO email_confirmations (`+emailConfirmationCols+`) VALUES (?,?,?,?,?,?,?)`,
		ec.ID, ec.UserID, ec.Email, ec.TokenHash, micro(ec.CreatedAt), micro(ec.ExpiresAt), microPtr(ec.UsedAt))
	if err != nil {
		return store.EmailConfirmation{}, err
	}
	return ec, nil
}

// ConsumeEmailConfirmation marks the confirmation with tokenHash used at
// now, in one conditional statement, if it is unused and expires after now,
// and returns it; ok is false when there is no such confirmation.
func (s *Store) ConsumeEmailConfirmation(ctx context.Context, tokenHash []byte, now time.Time) (store.EmailConfirmation, bool, error) {
	ec, err := scanEmailConfirmation(s.w.QueryRowContext(ctx, `UPDATE email_confirmations SET used_at = ?
		WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?
		RETURNING `+emailConfirmationCols, micro(now), tokenHash, micro(now)))
	if errors.Is(err, store.ErrNotFound) {
		return store.EmailConfirmation{}, false, nil
	}
	if err != nil {
		return store.EmailConfirmation{}, false, err
	}
	return ec, true, nil
}

// LatestEmailConfirmation returns the newest confirmation created for the
// user, or store.ErrNotFound.
func (s *Store) LatestEmailConfirmation(ctx context.Context, userID string) (store.EmailConfirmation, error) {
	return scanEmailConfirmation(s.r.QueryRowContext(ctx, `SELECT `+emailConfirmationCols+` FROM email_confirmations
		WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT 1`, userID))
}

// CountSend adds one to the counter named key for the window starting at
// window, in one statement, and returns the new count.
func (s *Store) CountSend(ctx context.Context, key string, window time.Time) (int, error) {
	var n int
	err := s.w.QueryRowContext(ctx, `INSERT INTO send_counters (key, window_start, count) VALUES (?, ?, 1)
		ON CONFLICT (key, window_start) DO UPDATE SET count = send_counters.count + 1
		RETURNING count`, key, micro(window)).Scan(&n)
	return n, mapErr(err)
}

// DeleteOldSendCounts removes the counters of windows that started before
// cutoff, and returns how many. The store does not know how long a window
// is: callers pass a cutoff at least one window length in the past.
func (s *Store) DeleteOldSendCounts(ctx context.Context, cutoff time.Time) (int, error) {
	n, err := s.exec(ctx, `DELETE FROM send_counters WHERE window_start < ?`, micro(cutoff))
	return int(n), err
}

// DeleteExpiredEmailConfirmations removes confirmations that expired before
// cutoff and returns how many.
func (s *Store) DeleteExpiredEmailConfirmations(ctx context.Context, cutoff time.Time) (int, error) {
	n, err := s.exec(ctx, `DELETE FROM email_confirmations WHERE expires_at < ?`, micro(cutoff))
	return int(n), err
}
