package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

const userCols = `u.id, u.org_id, u.username, u.username_norm, u.email, u.email_confirmed_at, u.role,
	u.password_hash, u.mfa_required, u.disabled, u.created_at, u.updated_at, u.mfa_required_since, u.security_version`

func scanUser(sc scanner) (store.User, error) {
	var (
		u                store.User
		confirmed, since sql.NullInt64
		created, update  int64
	)
	err := sc.Scan(&u.ID, &u.OrgID, &u.Username, &u.UsernameNorm, &u.Email, &confirmed, &u.Role,
		&u.PasswordHash, &u.MFARequired, &u.Disabled, &created, &update, &since, &u.SecurityVersion)
	if err != nil {
		return store.User{}, mapErr(err)
	}
	u.EmailConfirmedAt, u.MFARequiredSince = fromNullMicro(confirmed), fromNullMicro(since)
	u.CreatedAt, u.UpdatedAt = fromMicro(created), fromMicro(update)
	return u, nil
}

// CreateUser inserts u (ID generated when empty; CreatedAt now when zero);
// a superadmin also deletes the setup token, in the same transaction. A
// second user with the same UsernameNorm in the same org is
// store.ErrConflict.
func (s *Store) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	var out store.User
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.insertUser(ctx, tx, u)
		return err
	})
	return out, err
}

// insertUser inserts u inside tx; see CreateUser.
func (s *Store) insertUser(ctx context.Context, tx *sql.Tx, u store.User) (store.User, error) {
	if u.ID == "" {
		u.ID = store.NewID()
	}
	u.CreatedAt = s.orNow(u.CreatedAt)
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = u.CreatedAt
	}
	u.UpdatedAt = norm(u.UpdatedAt)
	u.EmailConfirmedAt, u.MFARequiredSince = normPtr(u.EmailConfirmedAt), normPtr(u.MFARequiredSince)
	if u.Role == store.RoleSuperadmin {
		if _, err := tx.ExecContext(ctx, `DELETE FROM setup_tokens`); err != nil {
			return store.User{}, mapErr(err)
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO users (id, org_id, username, username_norm, email, email_confirmed_at, role,
		password_hash, mfa_required, disabled, created_at, updated_at, mfa_required_since, security_version)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		u.ID, u.OrgID, u.Username, u.UsernameNorm, u.Email, microPtr(u.EmailConfirmedAt), string(u.Role),
		u.PasswordHash, u.MFARequired, u.Disabled, micro(u.CreatedAt), micro(u.UpdatedAt), microPtr(u.MFARequiredSince),
		u.SecurityVersion)
	if err != nil {
		return store.User{}, mapErr(err)
	}
	return u, nil
}

// GetUser returns the user with the given id, or store.ErrNotFound.
func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	return scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users u WHERE u.id = ?`, id))
}

// GetUserByName looks a user up by org id and normalized username.
func (s *Store) GetUserByName(ctx context.Context, orgID, usernameNorm string) (store.User, error) {
	return scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users u WHERE u.org_id = ? AND u.username_norm = ?`,
		orgID, usernameNorm))
}

// ListUsers returns the users matching f ordered by ID, at most f.Limit
// (100 when zero), starting after f.AfterID. Query matches a substring of
// Username, UsernameNorm or Email, case-sensitively; Prefix a prefix of
// UsernameNorm or the lowercased Email (served by the users_*_prefix
// indexes).
func (s *Store) ListUsers(ctx context.Context, f store.UserFilter) ([]store.User, error) {
	q, args := listUsersQuery(f)
	return queryAll(ctx, s.r, scanUser, q, args...)
}

// listUsersQuery is the statement of ListUsers (its indexes are shown by
// EXPLAIN QUERY PLAN in a test).
func listUsersQuery(f store.UserFilter) (string, []any) {
	var (
		where []string
		args  []any
	)
	q := `SELECT ` + userCols + ` FROM users u`
	if f.OrgPath != "" {
		q += ` JOIN orgs o ON o.id = u.org_id`
		cond, a := prefixCond("o.path", f.OrgPath)
		where, args = append(where, cond), append(args, a...)
	}
	if f.OrgID != "" {
		where, args = append(where, "u.org_id = ?"), append(args, f.OrgID)
	}
	if f.Role != "" {
		where, args = append(where, "u.role = ?"), append(args, string(f.Role))
	}
	if f.Query != "" {
		// instr has no wildcards, so the query needs no escaping.
		// lower() makes the search case-insensitive for ASCII, like ILIKE
		// on PostgreSQL.
		where = append(where, "(instr(lower(u.username), lower(?)) > 0 OR instr(u.username_norm, lower(?)) > 0 OR instr(lower(u.email), lower(?)) > 0)")
		args = append(args, f.Query, f.Query, f.Query)
	}
	if f.Prefix != "" {
		lo, hi := store.PrefixRange(f.Prefix)
		where = append(where, "((u.username_norm >= ? AND u.username_norm < ?) OR (lower(u.email) >= ? AND lower(u.email) < ?))")
		args = append(args, lo, hi, lo, hi)
	}
	if f.AfterID != "" {
		where, args = append(where, "u.id > ?"), append(args, f.AfterID)
	}
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY u.id LIMIT ?`
	args = append(args, limitOr100(f.Limit))
	return q, args
}

// PatchUser applies ch to the user in one transaction on the writer: only
// the columns ch names are written; a new role or disabling also increments
// security_version and deletes the user's flows; the superadmin role
// deletes the setup token. It returns the user before and after; an unknown
// user is store.ErrNotFound.
func (s *Store) PatchUser(ctx context.Context, id string, ch store.UserChange, at time.Time) (before, after store.User, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if before, err = scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM users u WHERE u.id = ?`, id)); err != nil {
			return err
		}
		var (
			set  []string
			args []any
		)
		if ch.Email != nil && *ch.Email != before.Email {
			set, args = append(set, "email = ?", "email_confirmed_at = NULL"), append(args, *ch.Email)
		}
		if ch.Role != nil {
			set, args = append(set, "role = ?"), append(args, string(*ch.Role))
		}
		if ch.Disabled != nil {
			set, args = append(set, "disabled = ?"), append(args, *ch.Disabled)
		}
		if ch.MFARequired != nil {
			set, args = append(set, "mfa_required = ?"), append(args, *ch.MFARequired)
			if !*ch.MFARequired {
				set = append(set, "mfa_required_since = NULL")
			}
		}
		set, args = append(set, "updated_at = ?"), append(args, micro(norm(at)))
		ends := (ch.Role != nil && *ch.Role != before.Role) || (ch.Disabled != nil && *ch.Disabled && !before.Disabled)
		if ends {
			set = append(set, "security_version = security_version + 1")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET `+strings.Join(set, ", ")+` WHERE id = ?`, append(args, id)...); err != nil {
			return mapErr(err)
		}
		if ends {
			if _, err := tx.ExecContext(ctx, `DELETE FROM flows WHERE user_id = ?`, id); err != nil {
				return mapErr(err)
			}
		}
		if ch.Disabled != nil && *ch.Disabled && !before.Disabled {
			if err := revokeUserDevicesAudited(ctx, tx, id, at, "user disabled"); err != nil {
				return err
			}
		}
		if ch.Role != nil && *ch.Role == store.RoleSuperadmin {
			if _, err := tx.ExecContext(ctx, `DELETE FROM setup_tokens`); err != nil {
				return mapErr(err)
			}
		}
		after, err = scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM users u WHERE u.id = ?`, id))
		return err
	})
	if err != nil {
		return store.User{}, store.User{}, err
	}
	return before, after, nil
}

// SetMFARequiredSince sets mfa_required_since to at unless it is set, and
// returns the stored user; an unknown user is store.ErrNotFound.
func (s *Store) SetMFARequiredSince(ctx context.Context, id string, at time.Time) (store.User, error) {
	return scanUser(s.w.QueryRowContext(ctx, `UPDATE users SET mfa_required_since = coalesce(mfa_required_since, ?)
		WHERE id = ? RETURNING `+strings.ReplaceAll(userCols, "u.", ""), micro(norm(at)), id))
}

// ConfirmUserEmail sets email_confirmed_at to at only if the address is
// still email and unconfirmed; it reports whether it did.
func (s *Store) ConfirmUserEmail(ctx context.Context, id, email string, at time.Time) (bool, error) {
	n, err := s.exec(ctx, `UPDATE users SET email_confirmed_at = ? WHERE id = ? AND email = ? AND email_confirmed_at IS NULL`,
		micro(norm(at)), id, email)
	return n == 1, err
}

// SetPasswordHash replaces the stored hash only if it still equals old; it
// reports whether it did (false for an unknown user).
func (s *Store) SetPasswordHash(ctx context.Context, userID, old, new string) (bool, error) {
	n, err := s.exec(ctx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ? AND password_hash = ?`,
		new, micro(s.now()), userID, old)
	return n == 1, err
}

// SetPassword stores a new password hash, increments security_version and
// deletes the user's flows in one transaction; an unknown user is
// store.ErrNotFound.
func (s *Store) SetPassword(ctx context.Context, userID, hash string, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := endSignIns(ctx, tx, userID, at, "password_hash = ?", hash); err != nil {
			return err
		}
		return revokeUserDevicesAudited(ctx, tx, userID, at, "password changed")
	})
}

// ResetUserMFA removes the user's factors and backup codes, clears its
// failure counter, increments security_version and deletes its flows, in
// one transaction; an unknown user is store.ErrNotFound.
func (s *Store) ResetUserMFA(ctx context.Context, userID string, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := endSignIns(ctx, tx, userID, at, ""); err != nil {
			return err
		}
		if err := revokeUserDevicesAudited(ctx, tx, userID, at, "mfa reset"); err != nil {
			return err
		}
		for _, q := range []string{`DELETE FROM factors WHERE user_id = ?`, `DELETE FROM backup_codes WHERE user_id = ?`,
			`UPDATE mfa_attempts SET failures = 0, last_failure_at = NULL, locked_until = NULL WHERE user_id = ?`} {
			if _, err := tx.ExecContext(ctx, q, userID); err != nil {
				return mapErr(err)
			}
		}
		return nil
	})
}

// endSignIns increments the user's security_version (setting also the
// column assignment set with args, when set is not empty) and deletes the
// user's flows, inside tx. An unknown user is store.ErrNotFound.
func endSignIns(ctx context.Context, tx *sql.Tx, userID string, at time.Time, set string, args ...any) error {
	q := `UPDATE users SET security_version = security_version + 1, updated_at = ?`
	if set != "" {
		q += ", " + set
	}
	res, err := tx.ExecContext(ctx, q+` WHERE id = ?`, append(append([]any{micro(norm(at))}, args...), userID)...)
	if err != nil {
		return mapErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM flows WHERE user_id = ?`, userID)
	return mapErr(err)
}

// DeleteUser removes the user with its sessions, flows, factors, backup
// codes and attempt counter; audit events stay. An unknown user is
// store.ErrNotFound.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	return s.execOne(ctx, `DELETE FROM users WHERE id = ?`, id)
}
