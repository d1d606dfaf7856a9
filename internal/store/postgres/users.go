package postgres

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/twofold-id/twofold/internal/store"
)

const userColumns = `u.id, u.org_id, u.username, u.username_norm, u.email,
	u.email_confirmed_at, u.role, u.password_hash, u.mfa_required, u.disabled,
	u.created_at, u.updated_at, u.mfa_required_since, u.security_version`

func scanUser(row pgx.Row) (store.User, error) {
	var u store.User
	var role string
	err := row.Scan(&u.ID, &u.OrgID, &u.Username, &u.UsernameNorm, &u.Email,
		&u.EmailConfirmedAt, &role, &u.PasswordHash, &u.MFARequired, &u.Disabled,
		&u.CreatedAt, &u.UpdatedAt, &u.MFARequiredSince, &u.SecurityVersion)
	u.Role = store.Role(role)
	return u, err
}

// CreateUser inserts u, generating ID when it is empty; CreatedAt and
// UpdatedAt default to now. A superadmin also deletes the setup token, in
// the same transaction and before the insert, so that it waits for (or
// holds up) a CreateFirstAdmin that has the token locked. A second user with
// the same UsernameNorm in the same org is store.ErrConflict; an unknown org
// is store.ErrNotFound.
func (s *Store) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	var out store.User
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = s.insertUser(ctx, tx, u)
		return err
	})
	if err != nil {
		return store.User{}, mapErr("create user", err)
	}
	return out, nil
}

// insertUser inserts u inside tx; see CreateUser.
func (s *Store) insertUser(ctx context.Context, tx pgx.Tx, u store.User) (store.User, error) {
	if u.ID == "" {
		u.ID = store.NewID()
	}
	u.CreatedAt = s.orNow(u.CreatedAt)
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = u.CreatedAt
	}
	u.UpdatedAt = ts(u.UpdatedAt)
	u.EmailConfirmedAt = tsp(u.EmailConfirmedAt)
	u.MFARequiredSince = tsp(u.MFARequiredSince)
	if u.Role == store.RoleSuperadmin {
		if _, err := tx.Exec(ctx, `DELETE FROM setup_tokens`); err != nil {
			return store.User{}, err
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO users (id, org_id, username, username_norm,
			email, email_confirmed_at, role, password_hash, mfa_required, disabled,
			created_at, updated_at, mfa_required_since, security_version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		u.ID, u.OrgID, u.Username, u.UsernameNorm, u.Email, u.EmailConfirmedAt,
		string(u.Role), u.PasswordHash, u.MFARequired, u.Disabled,
		u.CreatedAt, u.UpdatedAt, u.MFARequiredSince, u.SecurityVersion)
	if err != nil {
		return store.User{}, err
	}
	return u, nil
}

// GetUser returns the user with the given id, or store.ErrNotFound.
func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = $1`, id))
	return u, mapErr("get user", err)
}

// GetUserByName returns the user of org orgID whose normalized username is
// usernameNorm, or store.ErrNotFound.
func (s *Store) GetUserByName(ctx context.Context, orgID, usernameNorm string) (store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx,
		`SELECT `+userColumns+` FROM users u WHERE u.org_id = $1 AND u.username_norm = $2`,
		orgID, usernameNorm))
	return u, mapErr("get user by name", err)
}

// listUsersQuery is the statement of ListUsers (its indexes are shown by
// EXPLAIN in a test).
func listUsersQuery(f store.UserFilter) (string, []any) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	q := `SELECT ` + userColumns + ` FROM users u`
	if f.OrgPath != "" {
		q += ` JOIN orgs o ON o.id = u.org_id`
		where = append(where, `o.path LIKE `+arg(likePrefix(f.OrgPath)))
	}
	if f.OrgID != "" {
		where = append(where, `u.org_id = `+arg(f.OrgID))
	}
	if f.Role != "" {
		where = append(where, `u.role = `+arg(string(f.Role)))
	}
	if f.Query != "" {
		p := arg(likeContains(f.Query))
		where = append(where, `(u.username ILIKE `+p+` OR u.username_norm ILIKE `+p+` OR u.email ILIKE `+p+`)`)
	}
	if f.Prefix != "" {
		lo, hi := store.PrefixRange(f.Prefix)
		l, h := arg(lo), arg(hi)
		where = append(where, `((u.username_norm COLLATE "C" >= `+l+` AND u.username_norm COLLATE "C" < `+h+`) OR (lower(u.email) COLLATE "C" >= `+l+` AND lower(u.email) COLLATE "C" < `+h+`))`)
	}
	if f.AfterID != "" {
		where = append(where, `u.id > `+arg(f.AfterID))
	}
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY u.id LIMIT ` + arg(limitOr(f.Limit, 100))
	return q, args
}

// ListUsers returns the users matching f, ordered by ID, at most f.Limit
// (100 when zero) of them, starting after f.AfterID. f.Query matches a
// substring of the username or the email, ignoring case; f.Prefix a prefix
// of either (served by the users_*_prefix indexes).
func (s *Store) ListUsers(ctx context.Context, f store.UserFilter) ([]store.User, error) {
	q, args := listUsersQuery(f)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, mapErr("list users", err)
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.User, error) { return scanUser(r) })
	return users, mapErr("list users", err)
}

// PatchUser applies ch to the user in one transaction that holds the row
// locked: only the columns ch names are written; a new role or disabling
// also increments security_version and deletes the user's flows; the
// superadmin role deletes the setup token. It returns the user before and
// after; an unknown user is store.ErrNotFound.
func (s *Store) PatchUser(ctx context.Context, id string, ch store.UserChange, at time.Time) (before, after store.User, err error) {
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if before, err = scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = $1 FOR UPDATE`, id)); err != nil {
			return err
		}
		var set []string
		args := []any{id}
		arg := func(v any) string {
			args = append(args, v)
			return "$" + strconv.Itoa(len(args))
		}
		if ch.Email != nil && *ch.Email != before.Email {
			set = append(set, "email = "+arg(*ch.Email), "email_confirmed_at = NULL")
		}
		if ch.Role != nil {
			set = append(set, "role = "+arg(string(*ch.Role)))
		}
		if ch.Disabled != nil {
			set = append(set, "disabled = "+arg(*ch.Disabled))
		}
		if ch.MFARequired != nil {
			set = append(set, "mfa_required = "+arg(*ch.MFARequired))
			if !*ch.MFARequired {
				set = append(set, "mfa_required_since = NULL")
			}
		}
		set = append(set, "updated_at = "+arg(ts(at)))
		ends := (ch.Role != nil && *ch.Role != before.Role) || (ch.Disabled != nil && *ch.Disabled && !before.Disabled)
		if ends {
			set = append(set, "security_version = u.security_version + 1")
		}
		after, err = scanUser(tx.QueryRow(ctx, `UPDATE users u SET `+strings.Join(set, ", ")+` WHERE u.id = $1 RETURNING `+userColumns, args...))
		if err != nil {
			return err
		}
		if ends {
			if _, err := tx.Exec(ctx, `DELETE FROM flows WHERE user_id = $1`, id); err != nil {
				return err
			}
		}
		if ch.Disabled != nil && *ch.Disabled && !before.Disabled {
			if err := revokeUserDevicesAudited(ctx, tx, id, at, "user disabled"); err != nil {
				return err
			}
		}
		if ch.Role != nil && *ch.Role == store.RoleSuperadmin {
			_, err = tx.Exec(ctx, `DELETE FROM setup_tokens`)
		}
		return err
	})
	if err != nil {
		return store.User{}, store.User{}, mapErr("patch user", err)
	}
	return before, after, nil
}

// SetMFARequiredSince sets mfa_required_since to at unless it is set, in
// one statement, and returns the stored user; an unknown user is
// store.ErrNotFound.
func (s *Store) SetMFARequiredSince(ctx context.Context, id string, at time.Time) (store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `UPDATE users u SET mfa_required_since = coalesce(u.mfa_required_since, $2)
		WHERE u.id = $1 RETURNING `+userColumns, id, ts(at)))
	return u, mapErr("set mfa required since", err)
}

// ConfirmUserEmail sets email_confirmed_at to at only if the address is
// still email and unconfirmed, in one statement; it reports whether it did.
func (s *Store) ConfirmUserEmail(ctx context.Context, id, email string, at time.Time) (bool, error) {
	return s.execOK(ctx, "confirm user email",
		`UPDATE users SET email_confirmed_at = $3 WHERE id = $1 AND email = $2 AND email_confirmed_at IS NULL`, id, email, ts(at))
}

// SetPasswordHash replaces the user's password hash with new only if it
// still equals old, in one statement; it reports whether it did. An unknown
// user reports false.
func (s *Store) SetPasswordHash(ctx context.Context, userID, old, new string) (bool, error) {
	tag, err := s.pool.Exec(ctx,
		`UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2`,
		userID, old, new)
	if err != nil {
		return false, mapErr("set password hash", err)
	}
	return tag.RowsAffected() == 1, nil
}

// SetPassword stores a new password hash, increments security_version and
// deletes the user's flows in one transaction; an unknown user is
// store.ErrNotFound.
func (s *Store) SetPassword(ctx context.Context, userID, hash string, at time.Time) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := endSignIns(ctx, tx, userID, at, "password_hash = $3", hash); err != nil {
			return err
		}
		return revokeUserDevicesAudited(ctx, tx, userID, at, "password changed")
	})
	return mapErr("set password", err)
}

// ResetUserMFA removes the user's factors and backup codes, clears its
// failure counter, increments security_version and deletes its flows, in
// one transaction; an unknown user is store.ErrNotFound.
func (s *Store) ResetUserMFA(ctx context.Context, userID string, at time.Time) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := endSignIns(ctx, tx, userID, at, ""); err != nil {
			return err
		}
		if err := revokeUserDevicesAudited(ctx, tx, userID, at, "mfa reset"); err != nil {
			return err
		}
		for _, q := range []string{`DELETE FROM factors WHERE user_id = $1`, `DELETE FROM backup_codes WHERE user_id = $1`,
			`UPDATE mfa_attempts SET failures = 0, last_failure_at = NULL, locked_until = NULL WHERE user_id = $1`} {
			if _, err := tx.Exec(ctx, q, userID); err != nil {
				return err
			}
		}
		return nil
	})
	return mapErr("reset user mfa", err)
}

// endSignIns increments the user's security_version (with the extra column
// assignment set, whose arguments start at $3, when set is not empty) and
// deletes the user's flows, inside tx. The update locks the user's row
// first, like every writer that touches a user and its flows, so they never
// deadlock. An unknown user is store.ErrNotFound.
func endSignIns(ctx context.Context, tx pgx.Tx, userID string, at time.Time, set string, args ...any) error {
	q := `UPDATE users SET security_version = security_version + 1, updated_at = $2`
	if set != "" {
		q += ", " + set
	}
	tag, err := tx.Exec(ctx, q+` WHERE id = $1`, append([]any{userID, ts(at)}, args...)...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return notFound("end sign-ins")
	}
	_, err = tx.Exec(ctx, `DELETE FROM flows WHERE user_id = $1`, userID)
	return err
}

// DeleteUser removes the user and, by cascade, its sessions, flows, factors,
// backup codes and attempt counters. Audit events stay. An unknown user is
// store.ErrNotFound.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
	if err != nil {
		return mapErr("delete user", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("delete user")
	}
	return nil
}
