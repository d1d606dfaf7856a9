package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/twofold-id/twofold/internal/store"
)

var (
	_ store.UserImporter = (*Store)(nil)
	_ store.AuditPruner  = (*Store)(nil)
)

// ImportUsers inserts users with their factors and appends events in one
// transaction on the writer.
func (s *Store) ImportUsers(ctx context.Context, users []store.ImportedUser, events []store.AuditEvent) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		us, err := tx.PrepareContext(ctx, `INSERT INTO users (id, org_id, username, username_norm, email, email_confirmed_at, role,
			password_hash, mfa_required, disabled, created_at, updated_at, mfa_required_since) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`)
		if err != nil {
			return mapErr(err)
		}
		defer us.Close()
		fs, err := tx.PrepareContext(ctx, `INSERT INTO factors (`+factorCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?)`)
		if err != nil {
			return mapErr(err)
		}
		defer fs.Close()
		for _, iu := range users {
			u := iu.User
			if u.ID == "" {
				return errors.New("sqlite: import users: a user without an id")
			}
			created := s.orNow(u.CreatedAt)
			updated := created
			if !u.UpdatedAt.IsZero() {
				updated = norm(u.UpdatedAt)
			}
			if _, err := us.ExecContext(ctx, u.ID, u.OrgID, u.Username, u.UsernameNorm, u.Email, microPtr(u.EmailConfirmedAt), string(u.Role),
				u.PasswordHash, u.MFARequired, u.Disabled, micro(created), micro(updated), microPtr(u.MFARequiredSince)); err != nil {
				return importErr(err)
			}
			for _, f := range iu.Factors {
				if f.ID == "" {
					return errors.New("sqlite: import users: a factor without an id")
				}
				if _, err := fs.ExecContext(ctx, f.ID, u.ID, f.Kind, f.Label, f.Secret, f.KeyID, f.Target, f.LastStep,
					microPtr(f.ConfirmedAt), micro(s.orNow(f.CreatedAt)), microPtr(f.LastUsedAt)); err != nil {
					return mapErr(err)
				}
			}
		}
		for _, e := range events {
			if err := s.insertAudit(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
}

// importErr maps an insert error of ImportUsers: a missing org (foreign
// key) is ErrNotFound.
func importErr(err error) error {
	err = mapErr(err)
	if errors.Is(err, store.ErrConflict) {
		return err
	}
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
		return fmt.Errorf("%w: %v", store.ErrNotFound, err)
	}
	return err
}

// DeleteAuditBefore deletes up to limit of the oldest events before cutoff
// in one transaction (through the index on at).
func (s *Store) DeleteAuditBefore(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	n, err := s.exec(ctx, `DELETE FROM audit_events WHERE id IN
		(SELECT id FROM audit_events WHERE at < ? ORDER BY at LIMIT ?)`, micro(cutoff), limit)
	return int(n), err
}
