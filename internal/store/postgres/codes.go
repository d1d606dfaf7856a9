package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/twofold-id/twofold/internal/store"
)

var _ store.CodeStore = (*Store)(nil)

const challengeColumns = `id, user_id, factor_id, flow_id, purpose, code_hash,
	created_at, expires_at, attempts, used_at`

func scanChallenge(row pgx.Row) (store.Challenge, error) {
	var c store.Challenge
	err := row.Scan(&c.ID, &c.UserID, &c.FactorID, &c.FlowID, &c.Purpose, &c.CodeHash,
		&c.CreatedAt, &c.ExpiresAt, &c.Attempts, &c.UsedAt)
	return c, err
}

// PutChallenge stores c as the one live challenge for its (UserID, FlowID,
// Purpose), deleting any earlier one in the same transaction. ID is
// generated when empty; CreatedAt defaults to now. An unknown user or
// factor is store.ErrNotFound.
//
// Two concurrent puts for the same three both delete the old row, and the
// later insert would then collide with the earlier one's row; ON CONFLICT
// lets the later put replace it instead, so the last put wins and neither
// fails.
func (s *Store) PutChallenge(ctx context.Context, c store.Challenge) (store.Challenge, error) {
	if c.ID == "" {
		c.ID = store.NewID()
	}
	c.CreatedAt = s.orNow(c.CreatedAt)
	c.ExpiresAt = ts(c.ExpiresAt)
	c.UsedAt = tsp(c.UsedAt)
	if c.CodeHash == nil {
		c.CodeHash = []byte{}
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM challenges
			WHERE user_id = $1 AND flow_id = $2 AND purpose = $3`, c.UserID, c.FlowID, c.Purpose); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO challenges (`+challengeColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (user_id, flow_id, purpose) DO UPDATE SET
				id = EXCLUDED.id, factor_id = EXCLUDED.factor_id, code_hash = EXCLUDED.code_hash,
				created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at,
				attempts = EXCLUDED.attempts, used_at = EXCLUDED.used_at`,
			c.ID, c.UserID, c.FactorID, c.FlowID, c.Purpose, c.CodeHash,
			c.CreatedAt, c.ExpiresAt, c.Attempts, c.UsedAt)
		return err
	})
	if err != nil {
		return store.Challenge{}, mapErr("put challenge", err)
	}
	return c, nil
}

// GetChallenge returns the live challenge for (userID, flowID, purpose),
// used or not, or store.ErrNotFound.
func (s *Store) GetChallenge(ctx context.Context, userID, flowID, purpose string) (store.Challenge, error) {
	c, err := scanChallenge(s.pool.QueryRow(ctx, `SELECT `+challengeColumns+` FROM challenges
		WHERE user_id = $1 AND flow_id = $2 AND purpose = $3`, userID, flowID, purpose))
	return c, mapErr("get challenge", err)
}

// AddChallengeAttempt increments Attempts in one statement and returns the
// new count; an unknown challenge is store.ErrNotFound.
func (s *Store) AddChallengeAttempt(ctx context.Context, id string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx,
		`UPDATE challenges SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts`, id).Scan(&n)
	return n, mapErr("add challenge attempt", err)
}

// UseChallenge marks the challenge used at now, in one conditional
// statement, if it is unused, has fewer than maxAttempts attempts and
// expires after now; it reports whether this call used it. The row lock
// the UPDATE takes makes a concurrent AddChallengeAttempt either count
// before the check or after the use, never in between.
func (s *Store) UseChallenge(ctx context.Context, id string, now time.Time, maxAttempts int) (bool, error) {
	return s.execOK(ctx, "use challenge", `UPDATE challenges SET used_at = $2
		WHERE id = $1 AND used_at IS NULL AND attempts < $3 AND expires_at > $2`, id, now, maxAttempts)
}

// DeleteExpiredChallenges removes challenges that expired before cutoff and
// returns how many.
func (s *Store) DeleteExpiredChallenges(ctx context.Context, cutoff time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM challenges WHERE expires_at < $1`, cutoff)
	if err != nil {
		return 0, mapErr("delete expired challenges", err)
	}
	return int(tag.RowsAffected()), nil
}

const emailConfirmationColumns = `id, user_id, email, token_hash, created_at, expires_at, used_at`

func scanEmailConfirmation(row pgx.Row) (store.EmailConfirmation, error) {
	var ec store.EmailConfirmation
	err := row.Scan(&ec.ID, &ec.UserID, &ec.Email, &ec.TokenHash, &ec.CreatedAt, &ec.ExpiresAt, &ec.UsedAt)
	return ec, err
}

// CreateEmailConfirmation stores ec (ID generated when empty; CreatedAt
// defaults to now). A token hash already in use is store.ErrConflict; an
// unknown user is store.ErrNotFound.
func (s *Store) CreateEmailConfirmation(ctx context.Context, ec store.EmailConfirmation) (store.EmailConfirmation, error) {
	if ec.ID == "" {
		ec.ID = store.NewID()
	}
	ec.CreatedAt = s.orNow(ec.CreatedAt)
	ec.ExpiresAt = ts(ec.ExpiresAt)
	ec.UsedAt = tsp(ec.UsedAt)
	_, err := s.pool.Exec(ctx, `INSERT INTO email_confirmations (`+emailConfirmationColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		ec.ID, ec.UserID, ec.Email, ec.TokenHash, ec.CreatedAt, ec.ExpiresAt, ec.UsedAt)
	if err != nil {
		return store.EmailConfirmation{}, mapErr("create email confirmation", err)
	}
	return ec, nil
}

// ConsumeEmailConfirmation marks the confirmation with tokenHash used at
// now, in one conditional statement, if it is unused and expires after now,
// and returns it; ok is false when there is no such confirmation, so
// exactly one of several concurrent callers gets true.
func (s *Store) ConsumeEmailConfirmation(ctx context.Context, tokenHash []byte, now time.Time) (store.EmailConfirmation, bool, error) {
	ec, err := scanEmailConfirmation(s.pool.QueryRow(ctx, `UPDATE email_confirmations SET used_at = $2
		WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
		RETURNING `+emailConfirmationColumns, tokenHash, now))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.EmailConfirmation{}, false, nil
	}
	if err != nil {
		return store.EmailConfirmation{}, false, mapErr("consume email confirmation", err)
	}
	return ec, true, nil
}

// LatestEmailConfirmation returns the newest confirmation created for the
// user, or store.ErrNotFound.
func (s *Store) LatestEmailConfirmation(ctx context.Context, userID string) (store.EmailConfirmation, error) {
	ec, err := scanEmailConfirmation(s.pool.QueryRow(ctx, `SELECT `+emailConfirmationColumns+`
		FROM email_confirmations WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1`, userID))
	return ec, mapErr("latest email confirmation", err)
}

// CountSend adds one to the counter named key for the window starting at
// window, in one statement, and returns the new count.
func (s *Store) CountSend(ctx context.Context, key string, window time.Time) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `INSERT INTO send_counters (key, window_start, count) VALUES ($1, $2, 1)
		ON CONFLICT (key, window_start) DO UPDATE SET count = send_counters.count + 1
		RETURNING count`, key, window).Scan(&n)
	return n, mapErr("count send", err)
}

// DeleteOldSendCounts removes the counters of windows that started before
// cutoff and returns how many. The store does not know how long a window
// is: callers pass a cutoff at least one window length in the past.
func (s *Store) DeleteOldSendCounts(ctx context.Context, cutoff time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM send_counters WHERE window_start < $1`, cutoff)
	if err != nil {
		return 0, mapErr("delete old send counts", err)
	}
	return int(tag.RowsAffected()), nil
}

// DeleteExpiredEmailConfirmations removes confirmations that expired before
// cutoff and returns how many.
func (s *Store) DeleteExpiredEmailConfirmations(ctx context.Context, cutoff time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM email_confirmations WHERE expires_at < $1`, cutoff)
	if err != nil {
		return 0, mapErr("delete expired email confirmations", err)
	}
	return int(tag.RowsAffected()), nil
}
