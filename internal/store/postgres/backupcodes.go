package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/twofold-id/twofold/internal/store"
)

// ReplaceBackupCodes deletes every backup code of the user and inserts
// codes (IDs generated when empty, CreatedAt defaulting to now), in one
// transaction. An unknown user is store.ErrNotFound.
func (s *Store) ReplaceBackupCodes(ctx context.Context, userID string, codes []store.BackupCode) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error { return s.replaceBackupCodes(ctx, tx, userID, codes) })
	return mapErr("replace backup codes", err)
}

// replaceBackupCodes is ReplaceBackupCodes inside the transaction tx.
func (s *Store) replaceBackupCodes(ctx context.Context, tx pgx.Tx, userID string, codes []store.BackupCode) error {
	if _, err := tx.Exec(ctx, `DELETE FROM backup_codes WHERE user_id = $1`, userID); err != nil {
		return err
	}
	now := ts(s.now())
	rows := make([][]any, 0, len(codes))
	for _, c := range codes {
		if c.ID == "" {
			c.ID = store.NewID()
		}
		if c.CreatedAt.IsZero() {
			c.CreatedAt = now
		}
		rows = append(rows, []any{c.ID, userID, c.Hash, c.CreatedAt, c.UsedAt})
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"backup_codes"},
		[]string{"id", "user_id", "hash", "created_at", "used_at"}, pgx.CopyFromRows(rows))
	return err
}

// ListBackupCodes returns the user's unused codes, oldest first.
func (s *Store) ListBackupCodes(ctx context.Context, userID string) ([]store.BackupCode, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, user_id, hash, created_at, used_at
		FROM backup_codes WHERE user_id = $1 AND used_at IS NULL
		ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, mapErr("list backup codes", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.BackupCode, error) {
		var c store.BackupCode
		err := r.Scan(&c.ID, &c.UserID, &c.Hash, &c.CreatedAt, &c.UsedAt)
		return c, err
	})
	return list, mapErr("list backup codes", err)
}

// UseBackupCode marks the code used at at if it is unused, in one
// statement; it reports whether this call used it, so exactly one of
// several concurrent callers gets true. An unknown code reports false.
func (s *Store) UseBackupCode(ctx context.Context, id string, at time.Time) (bool, error) {
	return s.execOK(ctx, "use backup code",
		`UPDATE backup_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL`, id, at)
}
