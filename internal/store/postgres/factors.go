package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/twofold-id/twofold/internal/store"
)

const factorColumns = `id, user_id, kind, label, secret, key_id, target,
	last_step, confirmed_at, created_at, last_used_at`

func scanFactor(row pgx.Row) (store.Factor, error) {
	var f store.Factor
	err := row.Scan(&f.ID, &f.UserID, &f.Kind, &f.Label, &f.Secret, &f.KeyID, &f.Target,
		&f.LastStep, &f.ConfirmedAt, &f.CreatedAt, &f.LastUsedAt)
	return f, err
}

func (s *Store) queryFactors(ctx context.Context, op, sql string, args ...any) ([]store.Factor, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, mapErr(op, err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Factor, error) { return scanFactor(r) })
	return list, mapErr(op, err)
}

// execOne runs a statement meant to change one row and reports
// store.ErrNotFound when it changed none.
func (s *Store) execOne(ctx context.Context, op, sql string, args ...any) error {
	tag, err := s.pool.Exec(ctx, sql, args...)
	if err != nil {
		return mapErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound(op)
	}
	return nil
}

// execOK runs a conditional statement on one row and reports whether it
// changed it.
func (s *Store) execOK(ctx context.Context, op, sql string, args ...any) (bool, error) {
	tag, err := s.pool.Exec(ctx, sql, args...)
	if err != nil {
		return false, mapErr(op, err)
	}
	return tag.RowsAffected() > 0, nil
}

// CreateFactor inserts f, generating ID when it is empty; CreatedAt
// defaults to now. An unknown user is store.ErrNotFound.
func (s *Store) CreateFactor(ctx context.Context, f store.Factor) (store.Factor, error) {
	if f.ID == "" {
		f.ID = store.NewID()
	}
	f.CreatedAt = s.orNow(f.CreatedAt)
	f.ConfirmedAt = tsp(f.ConfirmedAt)
	f.LastUsedAt = tsp(f.LastUsedAt)
	_, err := s.pool.Exec(ctx, `INSERT INTO factors (id, user_id, kind, label, secret,
			key_id, target, last_step, confirmed_at, created_at, last_used_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		f.ID, f.UserID, f.Kind, f.Label, f.Secret, f.KeyID, f.Target,
		f.LastStep, f.ConfirmedAt, f.CreatedAt, f.LastUsedAt)
	if err != nil {
		return store.Factor{}, mapErr("create factor", err)
	}
	return f, nil
}

// GetFactor returns the factor with the given id, or store.ErrNotFound.
func (s *Store) GetFactor(ctx context.Context, id string) (store.Factor, error) {
	f, err := scanFactor(s.pool.QueryRow(ctx, `SELECT `+factorColumns+` FROM factors WHERE id = $1`, id))
	return f, mapErr("get factor", err)
}

// ListFactors returns all factors of the user, confirmed or not, oldest first.
func (s *Store) ListFactors(ctx context.Context, userID string) ([]store.Factor, error) {
	return s.queryFactors(ctx, "list factors",
		`SELECT `+factorColumns+` FROM factors WHERE user_id = $1 ORDER BY created_at, id`, userID)
}

// ConfirmFactor activates a pending factor at at and records step as its
// last accepted TOTP step, in one statement; it reports false if the factor
// was already confirmed or does not exist.
func (s *Store) ConfirmFactor(ctx context.Context, id string, step int64, at time.Time) (bool, error) {
	return s.execOK(ctx, "confirm factor", `UPDATE factors
		SET confirmed_at = $3, last_step = $2
		WHERE id = $1 AND confirmed_at IS NULL`, id, step, at)
}

// ConfirmFirstFactor activates a pending factor only while its user has no
// confirmed factor, and then increments the user's security_version and
// deletes the user's flows except keepFlow (brought up to date), replaces
// the user's backup codes with codes (unless nil) and appends events, in one
// transaction. The user's row is locked first, so that of concurrent first
// confirmations the later ones see the winner's factor.
func (s *Store) ConfirmFirstFactor(ctx context.Context, id string, step int64, at time.Time, keepFlow string, codes []store.BackupCode, events []store.AuditEvent) (bool, error) {
	won := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var userID string
		err := tx.QueryRow(ctx, `SELECT u.id FROM users u JOIN factors f ON f.user_id = u.id WHERE f.id = $1 FOR UPDATE OF u`, id).Scan(&userID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE factors SET confirmed_at = $3, last_step = $2
			WHERE id = $1 AND confirmed_at IS NULL
			  AND NOT EXISTS (SELECT 1 FROM factors o WHERE o.user_id = $4 AND o.confirmed_at IS NOT NULL)`, id, step, at, userID)
		if err != nil || tag.RowsAffected() != 1 {
			return err
		}
		won = true
		if _, err := tx.Exec(ctx, `UPDATE users SET security_version = security_version + 1 WHERE id = $1`, userID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM flows WHERE user_id = $1 AND id <> $2`, userID, keepFlow); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE flows SET user_version = (SELECT security_version FROM users WHERE id = $1)
			WHERE id = $2 AND user_id = $1`, userID, keepFlow); err != nil {
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
		return false, mapErr("confirm first factor", err)
	}
	return won, nil
}

// AdvanceStep sets LastStep = step and LastUsedAt = at only if step is
// greater than LastStep, in one statement; it reports whether it did, so of
// several callers presenting the same step exactly one gets true. This is
// the TOTP replay guard. An unknown factor reports false.
func (s *Store) AdvanceStep(ctx context.Context, id string, step int64, at time.Time) (bool, error) {
	return s.execOK(ctx, "advance step",
		`UPDATE factors SET last_step = $2, last_used_at = $3 WHERE id = $1 AND last_step < $2`,
		id, step, at)
}

// TouchFactor sets LastUsedAt; an unknown factor is store.ErrNotFound.
func (s *Store) TouchFactor(ctx context.Context, id string, at time.Time) error {
	return s.execOne(ctx, "touch factor", `UPDATE factors SET last_used_at = $2 WHERE id = $1`, id, at)
}

// UpdateFactorLabel renames a factor; an unknown factor is store.ErrNotFound.
func (s *Store) UpdateFactorLabel(ctx context.Context, id, label string) error {
	return s.execOne(ctx, "update factor label", `UPDATE factors SET label = $2 WHERE id = $1`, id, label)
}

// UpdateFactorSecret replaces the sealed secret and its key id only if the
// key id is still oldKeyID, in one statement; it reports whether it did.
func (s *Store) UpdateFactorSecret(ctx context.Context, id, oldKeyID string, secret []byte, keyID string) (bool, error) {
	return s.execOK(ctx, "update factor secret",
		`UPDATE factors SET secret = $3, key_id = $4 WHERE id = $1 AND key_id = $2`,
		id, oldKeyID, secret, keyID)
}

// ListFactorsNotUnderKey returns up to limit (100 when not positive)
// factors that hold a non-empty sealed secret under a key other than keyID,
// ordered by ID.
func (s *Store) ListFactorsNotUnderKey(ctx context.Context, keyID string, limit int) ([]store.Factor, error) {
	return s.queryFactors(ctx, "list factors not under key", `SELECT `+factorColumns+` FROM factors
		WHERE key_id <> $1 AND length(secret) > 0
		ORDER BY id LIMIT $2`, keyID, limitOr(limit, 100))
}

// DeleteFactor removes one factor; an unknown factor is store.ErrNotFound.
func (s *Store) DeleteFactor(ctx context.Context, id string) error {
	return s.execOne(ctx, "delete factor", `DELETE FROM factors WHERE id = $1`, id)
}

// DeleteUserFactors removes every factor and backup code of the user in one
// transaction.
func (s *Store) DeleteUserFactors(ctx context.Context, userID string) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM factors WHERE user_id = $1`, userID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM backup_codes WHERE user_id = $1`, userID)
		return err
	})
	return mapErr("delete user factors", err)
}

// DeletePendingFactors removes the unconfirmed factors created before cutoff
// and returns how many.
func (s *Store) DeletePendingFactors(ctx context.Context, cutoff time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx,
		`DELETE FROM factors WHERE confirmed_at IS NULL AND created_at < $1`, cutoff)
	if err != nil {
		return 0, mapErr("delete pending factors", err)
	}
	return int(tag.RowsAffected()), nil
}
