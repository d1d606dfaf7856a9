package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/twofold-id/twofold/internal/store"
)

var (
	_ store.UserImporter = (*Store)(nil)
	_ store.AuditPruner  = (*Store)(nil)
)

// ImportUsers inserts users and their factors with COPY and appends events,
// in one transaction.
func (s *Store) ImportUsers(ctx context.Context, users []store.ImportedUser, events []store.AuditEvent) error {
	now := ts(s.now())
	urows := make([][]any, 0, len(users))
	var frows [][]any
	for _, iu := range users {
		u := iu.User
		if u.ID == "" {
			return errors.New("postgres: import users: a user without an id")
		}
		created := now
		if !u.CreatedAt.IsZero() {
			created = ts(u.CreatedAt)
		}
		updated := created
		if !u.UpdatedAt.IsZero() {
			updated = ts(u.UpdatedAt)
		}
		urows = append(urows, []any{u.ID, u.OrgID, u.Username, u.UsernameNorm, u.Email, tsp(u.EmailConfirmedAt), string(u.Role),
			u.PasswordHash, u.MFARequired, u.Disabled, created, updated, tsp(u.MFARequiredSince)})
		for _, f := range iu.Factors {
			if f.ID == "" {
				return errors.New("postgres: import users: a factor without an id")
			}
			fc := now
			if !f.CreatedAt.IsZero() {
				fc = ts(f.CreatedAt)
			}
			frows = append(frows, []any{f.ID, u.ID, f.Kind, f.Label, f.Secret, f.KeyID, f.Target, f.LastStep,
				tsp(f.ConfirmedAt), fc, tsp(f.LastUsedAt)})
		}
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"users"}, []string{"id", "org_id", "username", "username_norm", "email",
			"email_confirmed_at", "role", "password_hash", "mfa_required", "disabled", "created_at", "updated_at", "mfa_required_since"},
			pgx.CopyFromRows(urows)); err != nil {
			return err
		}
		if len(frows) > 0 {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"factors"}, []string{"id", "user_id", "kind", "label", "secret", "key_id",
				"target", "last_step", "confirmed_at", "created_at", "last_used_at"}, pgx.CopyFromRows(frows)); err != nil {
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
	return mapErr("import users", err)
}

// DeleteAuditBefore deletes up to limit of the oldest events before cutoff
// in one statement (through the index on at).
func (s *Store) DeleteAuditBefore(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM audit_events WHERE id IN
		(SELECT id FROM audit_events WHERE at < $1 ORDER BY at LIMIT $2)`, cutoff, limit)
	if err != nil {
		return 0, mapErr("delete old audit events", err)
	}
	return int(tag.RowsAffected()), nil
}
