package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/twofold-id/twofold/internal/store"
)

const ceremonyColumns = `id, challenge_hash, purpose, binding, user_id, session, created_at, expires_at, used_at`

func scanCeremony(row pgx.Row) (store.Ceremony, error) {
	var c store.Ceremony
	err := row.Scan(&c.ID, &c.ChallengeHash, &c.Purpose, &c.Binding, &c.UserID, &c.Session, &c.CreatedAt, &c.ExpiresAt, &c.UsedAt)
	return c, err
}

// PutCeremony stores c (ID generated when empty; CreatedAt now when zero).
func (s *Store) PutCeremony(ctx context.Context, c store.Ceremony) (store.Ceremony, error) {
	if c.ID == "" {
		c.ID = store.NewID()
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.now()
	}
	c.CreatedAt, c.ExpiresAt = c.CreatedAt.UTC().Truncate(time.Microsecond), c.ExpiresAt.UTC().Truncate(time.Microsecond)
	_, err := s.pool.Exec(ctx, `INSERT INTO webauthn_ceremonies (`+ceremonyColumns+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
		c.ID, c.ChallengeHash, c.Purpose, c.Binding, c.UserID, c.Session, c.CreatedAt, c.ExpiresAt, c.UsedAt)
	if err != nil {
		return store.Ceremony{}, mapErr("put ceremony", err)
	}
	return c, nil
}

// ConsumeCeremony marks the matching ceremony used in one conditional
// statement; see store.Ceremonies.
func (s *Store) ConsumeCeremony(ctx context.Context, challengeHash []byte, purpose, binding string, now time.Time) (store.Ceremony, bool, error) {
	c, err := scanCeremony(s.pool.QueryRow(ctx, `UPDATE webauthn_ceremonies SET used_at = $5
		WHERE challenge_hash = $1 AND purpose = $2 AND binding = $3 AND used_at IS NULL AND expires_at > $4
		RETURNING `+ceremonyColumns, challengeHash, purpose, binding, now, now.UTC().Truncate(time.Microsecond)))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Ceremony{}, false, nil
	}
	if err != nil {
		return store.Ceremony{}, false, mapErr("consume ceremony", err)
	}
	return c, true, nil
}

// DeleteExpiredCeremonies removes ceremonies that expired before cutoff.
func (s *Store) DeleteExpiredCeremonies(ctx context.Context, cutoff time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM webauthn_ceremonies WHERE expires_at < $1`, cutoff)
	if err != nil {
		return 0, mapErr("delete expired ceremonies", err)
	}
	return int(tag.RowsAffected()), nil
}

// SetPendingFactorSecret replaces secret, key id and target of a pending
// factor; a credential id already registered is store.ErrConflict.
func (s *Store) SetPendingFactorSecret(ctx context.Context, id string, secret []byte, keyID, target string) (bool, error) {
	return s.execOK(ctx, "set pending factor secret", `UPDATE factors SET secret = $2, key_id = $3, target = $4
		WHERE id = $1 AND confirmed_at IS NULL`, id, secret, keyID, target)
}
