package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/twofold-id/twofold/internal/store"
)

// PutSetupToken stores the hash of the setup token valid until expiresAt,
// replacing any other (the table holds at most one row).
func (s *Store) PutSetupToken(ctx context.Context, hash []byte, expiresAt time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO setup_tokens (id, hash, expires_at) VALUES (1, $1, $2)
		ON CONFLICT (id) DO UPDATE SET hash = EXCLUDED.hash, expires_at = EXCLUDED.expires_at`,
		hash, expiresAt)
	return mapErr("put setup token", err)
}

// CreateFirstAdmin spends the setup token and creates u in one transaction
// (see store.SetupTokens). The token's row is deleted first, which locks it:
// a concurrent CreateUser of a superadmin (which deletes the token before it
// inserts) either waits for this transaction or has already deleted the
// token, and this one finds none.
func (s *Store) CreateFirstAdmin(ctx context.Context, hash []byte, now time.Time, u store.User) (store.User, error) {
	var out store.User
	done := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM setup_tokens WHERE hash = $1 AND expires_at > $2`, hash, now)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return notFound("create first admin")
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE role = $1)`, string(store.RoleSuperadmin)).Scan(&exists); err != nil {
			return err
		}
		if exists {
			done = true // commit the deletion, create nobody
			return nil
		}
		out, err = s.insertUser(ctx, tx, u)
		return err
	})
	if err != nil {
		return store.User{}, mapErr("create first admin", err)
	}
	if done {
		return store.User{}, store.ErrSetupDone
	}
	return out, nil
}
