package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

const factorCols = `id, user_id, kind, label, secret, key_id, target, last_step, confirmed_at, created_at, last_used_at`

func scanFactor(sc scanner) (store.Factor, error) {
	var (
		f               store.Factor
		created         int64
		confirmed, used sql.NullInt64
	)
	err := sc.Scan(&f.ID, &f.UserID, &f.Kind, &f.Label, &f.Secret, &f.KeyID, &f.Target, &f.LastStep, &confirmed, &created, &used)
	if err != nil {
		return store.Factor{}, mapErr(err)
	}
	f.CreatedAt, f.ConfirmedAt, f.LastUsedAt = fromMicro(created), fromNullMicro(confirmed), fromNullMicro(used)
	return f, nil
}

// CreateFactor inserts f (ID generated when empty; CreatedAt now when zero).
func (s *Store) CreateFactor(ctx context.Context, f store.Factor) (store.Factor, error) {
	if f.ID == "" {
		f.ID = store.NewID()
	}
	f.CreatedAt, f.ConfirmedAt, f.LastUsedAt = s.orNow(f.CreatedAt), normPtr(f.ConfirmedAt), normPtr(f.LastUsedAt)
	_, err := s.exec(ctx, `INSERT INTO factors (`+factorCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
		f.ID, f.UserID, f.Kind, f.Label, f.Secret, f.KeyID, f.Target, f.LastStep, microPtr(f.ConfirmedAt),
		micro(f.CreatedAt), microPtr(f.LastUsedAt))
	if err != nil {
		return store.Factor{}, err
	}
	return f, nil
}

// GetFactor returns the factor with the given id, or store.ErrNotFound.
func (s *Store) GetFactor(ctx context.Context, id string) (store.Factor, error) {
	return scanFactor(s.r.QueryRowContext(ctx, `SELECT `+factorCols+` FROM factors WHERE id = ?`, id))
}

// ListFactors returns all factors of the user, confirmed or not, oldest first.
func (s *Store) ListFactors(ctx context.Context, userID string) ([]store.Factor, error) {
	return queryAll(ctx, s.r, scanFactor, `SELECT `+factorCols+` FROM factors WHERE user_id = ? ORDER BY created_at, id`, userID)
}

// ConfirmFactor activates a pending factor with step as its last accepted
// step; it reports false if the factor was already confirmed or does not
// exist.
func (s *Store) ConfirmFactor(ctx context.Context, id string, step int64, at time.Time) (bool, error) {
	n, err := s.exec(ctx, `UPDATE factors SET confirmed_at = ?, last_step = ? WHERE id = ? AND confirmed_at IS NULL`,
		micro(at), step, id)
	return n == 1, err
}

// ConfirmFirstFactor activates a pending factor only while its user has no
// confirmed factor, and then increments the user's security_version,
// deletes the user's flows except keepFlow (brought up to date), replaces
// the user's backup codes with codes (unless nil) and appends events, in
// one transaction on the writer.
func (s *Store) ConfirmFirstFactor(ctx context.Context, id string, step int64, at time.Time, keepFlow string, codes []store.BackupCode, events []store.AuditEvent) (bool, error) {
	won := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var userID string
		err := tx.QueryRowContext(ctx, `UPDATE factors SET confirmed_at = ?, last_step = ?
			WHERE id = ? AND confirmed_at IS NULL
			  AND NOT EXISTS (SELECT 1 FROM factors o WHERE o.user_id = factors.user_id AND o.confirmed_at IS NOT NULL)
			RETURNING user_id`, micro(at), step, id).Scan(&userID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return mapErr(err)
		}
		won = true
		if err := firstFactorEndsSignIns(ctx, tx, userID, keepFlow); err != nil {
			return err
		}
		if codes != nil {
			if err := s.replaceBackupCodes(ctx, tx, userID, codes); err != nil {
				return err
			}
		}
		for _, e := range events {
			if err := s.insertAudit(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	return won, nil
}

// firstFactorEndsSignIns increments the user's security_version and deletes
// its flows except keepFlow, whose user_version follows.
func firstFactorEndsSignIns(ctx context.Context, tx *sql.Tx, userID, keepFlow string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE users SET security_version = security_version + 1 WHERE id = ?`, userID); err != nil {
		return mapErr(err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM flows WHERE user_id = ? AND id <> ?`, userID, keepFlow); err != nil {
		return mapErr(err)
	}
	_, err := tx.ExecContext(ctx, `UPDATE flows SET user_version = (SELECT security_version FROM users WHERE id = ?)
		WHERE id = ? AND user_id = ?`, userID, keepFlow, userID)
	return mapErr(err)
}

// AdvanceStep sets LastStep = step and LastUsedAt = at in one statement,
// only if step > LastStep; it reports whether it did. This is the TOTP
// replay guard: of callers presenting the same step, exactly one wins.
func (s *Store) AdvanceStep(ctx context.Context, id string, step int64, at time.Time) (bool, error) {
	n, err := s.exec(ctx, `UPDATE factors SET last_step = ?, last_used_at = ? WHERE id = ? AND last_step < ?`,
		step, micro(at), id, step)
	return n == 1, err
}

// TouchFactor sets LastUsedAt; an unknown factor is store.ErrNotFound.
func (s *Store) TouchFactor(ctx context.Context, id string, at time.Time) error {
	return s.execOne(ctx, `UPDATE factors SET last_used_at = ? WHERE id = ?`, micro(at), id)
}

// UpdateFactorLabel renames a factor; an unknown factor is store.ErrNotFound.
func (s *Store) UpdateFactorLabel(ctx context.Context, id, label string) error {
	return s.execOne(ctx, `UPDATE factors SET label = ? WHERE id = ?`, label, id)
}

// UpdateFactorSecret replaces the sealed secret only if its key id is still
// oldKeyID; it reports whether it did.
func (s *Store) UpdateFactorSecret(ctx context.Context, id, oldKeyID string, secret []byte, keyID string) (bool, error) {
	n, err := s.exec(ctx, `UPDATE factors SET secret = ?, key_id = ? WHERE id = ? AND key_id = ?`, secret, keyID, id, oldKeyID)
	return n == 1, err
}

// ListFactorsNotUnderKey returns up to limit factors that hold a non-empty
// sealed secret under a key other than keyID.
func (s *Store) ListFactorsNotUnderKey(ctx context.Context, keyID string, limit int) ([]store.Factor, error) {
	return queryAll(ctx, s.r, scanFactor, `SELECT `+factorCols+` FROM factors
		WHERE key_id <> ? AND length(secret) > 0 ORDER BY id LIMIT ?`, keyID, limit)
}

// DeleteFactor removes one factor; an unknown factor is store.ErrNotFound.
func (s *Store) DeleteFactor(ctx context.Context, id string) error {
	return s.execOne(ctx, `DELETE FROM factors WHERE id = ?`, id)
}

// DeleteUserFactors removes every factor and backup code of the user in one
// transaction.
func (s *Store) DeleteUserFactors(ctx context.Context, userID string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM factors WHERE user_id = ?`, userID); err != nil {
			return mapErr(err)
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM backup_codes WHERE user_id = ?`, userID)
		return mapErr(err)
	})
}

// DeletePendingFactors removes unconfirmed factors created before cutoff,
// and returns how many.
func (s *Store) DeletePendingFactors(ctx context.Context, cutoff time.Time) (int, error) {
	n, err := s.exec(ctx, `DELETE FROM factors WHERE confirmed_at IS NULL AND created_at < ?`, micro(cutoff))
	return int(n), err
}

func scanBackupCode(sc scanner) (store.BackupCode, error) {
	var (
		c       store.BackupCode
		created int64
		used    sql.NullInt64
	)
	if err := sc.Scan(&c.ID, &c.UserID, &c.Hash, &created, &used); err != nil {
		return store.BackupCode{}, mapErr(err)
	}
	c.CreatedAt, c.UsedAt = fromMicro(created), fromNullMicro(used)
	return c, nil
}

// ReplaceBackupCodes deletes every backup code of the user and inserts
// codes (for userID, whatever their UserID says; ids generated when empty),
// all in one transaction: on error nothing changes.
func (s *Store) ReplaceBackupCodes(ctx context.Context, userID string, codes []store.BackupCode) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.replaceBackupCodes(ctx, tx, userID, codes) })
}

// replaceBackupCodes is ReplaceBackupCodes inside the transaction tx.
func (s *Store) replaceBackupCodes(ctx context.Context, tx *sql.Tx, userID string, codes []store.BackupCode) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM backup_codes WHERE user_id = ?`, userID); err != nil {
		return mapErr(err)
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO backup_codes (id, user_id, hash, created_at, used_at) VALUES (?,?,?,?,?)`)
	if err != nil {
		return mapErr(err)
	}
	defer stmt.Close()
	for _, c := range codes {
		if c.ID == "" {
			c.ID = store.NewID()
		}
		if _, err := stmt.ExecContext(ctx, c.ID, userID, c.Hash, micro(s.orNow(c.CreatedAt)), microPtr(c.UsedAt)); err != nil {
			return mapErr(err)
		}
	}
	return nil
}

// ListBackupCodes returns the user's unused codes, oldest first.
func (s *Store) ListBackupCodes(ctx context.Context, userID string) ([]store.BackupCode, error) {
	return queryAll(ctx, s.r, scanBackupCode, `SELECT id, user_id, hash, created_at, used_at FROM backup_codes
		WHERE user_id = ? AND used_at IS NULL ORDER BY created_at, id`, userID)
}

// UseBackupCode marks the code used if it is unused, and reports whether
// this call used it; exactly one caller wins.
func (s *Store) UseBackupCode(ctx context.Context, id string, at time.Time) (bool, error) {
	n, err := s.exec(ctx, `UPDATE backup_codes SET used_at = ? WHERE id = ? AND used_at IS NULL`, micro(at), id)
	return n == 1, err
}
