package postgres

import (
	"context"
	"time"
)

// PutSetupToken stores the hash of the setup token valid until expiresAt,
// replacing any other (the table holds at most one row).
func (s *Store) PutSetupToken(ctx context.Context, hash []byte, expiresAt time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO setup_tokens (id, hash, expires_at) VALUES (1, $1, $2)
		ON CONFLICT (id) DO UPDATE SET hash = EXCLUDED.hash, expires_at = EXCLUDED.expires_at`,
		hash, expiresAt)
	return mapErr("put setup token", err)
}

// ConsumeSetupToken deletes the token if hash matches and it expires after
// now, in one statement; it reports whether it did, so exactly one of
// several concurrent callers gets true.
func (s *Store) ConsumeSetupToken(ctx context.Context, hash []byte, now time.Time) (bool, error) {
	return s.execOK(ctx, "consume setup token",
		`DELETE FROM setup_tokens WHERE hash = $1 AND expires_at > $2`, hash, now)
}
