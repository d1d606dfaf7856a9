package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

const ceremonyCols = `id, challenge_hash, purpose, binding, user_id, session, created_at, expires_at, used_at`

func scanCeremony(sc scanner) (store.Ceremony, error) {
	var (
		c                store.Ceremony
		created, expires int64
		used             sql.NullInt64
	)
	if err := sc.Scan(&c.ID, &c.ChallengeHash, &c.Purpose, &c.Binding, &c.UserID, &c.Session, &created, &expires, &used); err != nil {
		return store.Ceremony{}, mapErr(err)
	}
	c.CreatedAt, c.ExpiresAt, c.UsedAt = fromMicro(created), fromMicro(expires), fromNullMicro(used)
	return c, nil
}

// PutCeremony stores c (ID generated when empty; CreatedAt now when zero).
func (s *Store) PutCeremony(ctx context.Context, c store.Ceremony) (store.Ceremony, error) {
	if c.ID == "" {
		c.ID = store.NewID()
	}
	c.CreatedAt, c.ExpiresAt, c.UsedAt = s.orNow(c.CreatedAt), norm(c.ExpiresAt), normPtr(c.UsedAt)
	_, err := s.exec(ctx, `INSERT INTO webauthn_ceremonies (`+ceremonyCols+`) VALUES (?,?,?,?,?,?,?,?,?)`,
		c.ID, c.ChallengeHash, c.Purpose, c.Binding, c.UserID, c.Session, micro(c.CreatedAt), micro(c.ExpiresAt), microPtr(c.UsedAt))
	if err != nil {
		return store.Ceremony{}, err
	}
	return c, nil
}

// ConsumeCeremony marks the matching ceremony used in one conditional
// statement; see store.Ceremonies.
func (s *Store) ConsumeCeremony(ctx context.Context, challengeHash []byte, purpose, binding string, now time.Time) (store.Ceremony, bool, error) {
	c, err := scanCeremony(s.w.QueryRowContext(ctx, `UPDATE webauthn_ceremonies SET used_at = ?
		WHERE challenge_hash = ? AND purpose = ? AND binding = ? AND used_at IS NULL AND expires_at > ?
		RETURNING `+ceremonyCols, micro(now), challengeHash, purpose, binding, micro(now)))
	if errors.Is(err, store.ErrNotFound) {
		return store.Ceremony{}, false, nil
	}
	if err != nil {
		return store.Ceremony{}, false, err
	}
	return c, true, nil
}

// DeleteExpiredCeremonies removes ceremonies that expired before cutoff.
func (s *Store) DeleteExpiredCeremonies(ctx context.Context, cutoff time.Time) (int, error) {
	n, err := s.exec(ctx, `DELETE FROM webauthn_ceremonies WHERE expires_at < ?`, micro(cutoff))
	return int(n), err
}

// SetPendingFactorSecret replaces secret, key id and target of a pending
// factor; a credential id already registered is store.ErrConflict.
func (s *Store) SetPendingFactorSecret(ctx context.Context, id string, secret []byte, keyID, target string) (bool, error) {
	n, err := s.exec(ctx, `UPDATE factors SET secret = ?, key_id = ?, target = ? WHERE id = ? AND confirmed_at IS NULL`,
		secret, keyID, target, id)
	return n == 1, err
}
