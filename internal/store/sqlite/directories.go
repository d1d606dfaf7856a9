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

var _ store.Directories = (*Store)(nil)

const directoryCols = `org_id, url, start_tls, ca_cert, bind_dn, bind_password, key_id, user_base_dn,
	username_attribute, user_filter, email_attribute, name_attribute, admin_group_dn, created_at, updated_at`

func scanDirectory(sc scanner) (store.Directory, error) {
	var (
		d                store.Directory
		created, updated int64
	)
	err := sc.Scan(&d.OrgID, &d.URL, &d.StartTLS, &d.CACert, &d.BindDN, &d.BindPassword, &d.KeyID, &d.UserBaseDN,
		&d.UsernameAttribute, &d.UserFilter, &d.EmailAttribute, &d.NameAttribute, &d.AdminGroupDN, &created, &updated)
	if err != nil {
		return store.Directory{}, mapErr(err)
	}
	d.CreatedAt, d.UpdatedAt = fromMicro(created), fromMicro(updated)
	return d, nil
}

// PutDirectory creates or replaces the directory of d.OrgID, keeping
// CreatedAt on replace. An unknown org is store.ErrNotFound.
func (s *Store) PutDirectory(ctx context.Context, d store.Directory) (store.Directory, error) {
	d.UpdatedAt = s.orNow(d.UpdatedAt)
	d.CreatedAt = d.UpdatedAt
	if d.BindPassword == nil {
		d.BindPassword = []byte{}
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO directories (`+directoryCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
			ON CONFLICT (org_id) DO UPDATE SET url = excluded.url, start_tls = excluded.start_tls,
				ca_cert = excluded.ca_cert, bind_dn = excluded.bind_dn, bind_password = excluded.bind_password,
				key_id = excluded.key_id, user_base_dn = excluded.user_base_dn,
				username_attribute = excluded.username_attribute, user_filter = excluded.user_filter,
				email_attribute = excluded.email_attribute, name_attribute = excluded.name_attribute,
				admin_group_dn = excluded.admin_group_dn, updated_at = excluded.updated_at`,
			d.OrgID, d.URL, d.StartTLS, d.CACert, d.BindDN, d.BindPassword, d.KeyID, d.UserBaseDN,
			d.UsernameAttribute, d.UserFilter, d.EmailAttribute, d.NameAttribute, d.AdminGroupDN,
			micro(d.CreatedAt), micro(d.UpdatedAt))
		var se *sqlite.Error
		if errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
			return fmt.Errorf("%w: org %s", store.ErrNotFound, d.OrgID)
		}
		if err != nil {
			return mapErr(err)
		}
		d, err = scanDirectory(tx.QueryRowContext(ctx, `SELECT `+directoryCols+` FROM directories WHERE org_id = ?`, d.OrgID))
		return err
	})
	if err != nil {
		return store.Directory{}, err
	}
	return d, nil
}

// GetDirectory returns the org's own directory, or store.ErrNotFound.
func (s *Store) GetDirectory(ctx context.Context, orgID string) (store.Directory, error) {
	return scanDirectory(s.r.QueryRowContext(ctx, `SELECT `+directoryCols+` FROM directories WHERE org_id = ?`, orgID))
}

// DeleteDirectory removes the org's own directory, or is store.ErrNotFound.
func (s *Store) DeleteDirectory(ctx context.Context, orgID string) error {
	return s.execOne(ctx, `DELETE FROM directories WHERE org_id = ?`, orgID)
}

// CreateDirectoryUser inserts u linked to entryID in one transaction. The
// INSERT mirrors CreateUser's.
func (s *Store) CreateDirectoryUser(ctx context.Context, u store.User, entryID string) (store.User, error) {
	if u.ID == "" {
		u.ID = store.NewID()
	}
	u.CreatedAt = s.orNow(u.CreatedAt)
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = u.CreatedAt
	}
	u.UpdatedAt = norm(u.UpdatedAt)
	u.EmailConfirmedAt, u.MFARequiredSince = normPtr(u.EmailConfirmedAt), normPtr(u.MFARequiredSince)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (id, org_id, username, username_norm, email, email_confirmed_at, role,
			password_hash, mfa_required, disabled, created_at, updated_at, mfa_required_since) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`,
			u.ID, u.OrgID, u.Username, u.UsernameNorm, u.Email, microPtr(u.EmailConfirmedAt), string(u.Role),
			u.PasswordHash, u.MFARequired, u.Disabled, micro(u.CreatedAt), micro(u.UpdatedAt), microPtr(u.MFARequiredSince))
		if err != nil {
			return mapErr(err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO directory_users (user_id, org_id, entry_id) VALUES (?,?,?)`, u.ID, u.OrgID, entryID)
		return mapErr(err)
	})
	if err != nil {
		return store.User{}, err
	}
	return u, nil
}

// GetDirectoryUser returns the user of org orgID linked to entryID, or
// store.ErrNotFound.
func (s *Store) GetDirectoryUser(ctx context.Context, orgID, entryID string) (store.User, error) {
	return scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users u JOIN directory_users d ON d.user_id = u.id
		WHERE d.org_id = ? AND d.entry_id = ?`, orgID, entryID))
}

// DirectoryEntryOf returns the entry id the user is linked to, or
// store.ErrNotFound for a local user.
func (s *Store) DirectoryEntryOf(ctx context.Context, userID string) (string, error) {
	var id string
	err := s.r.QueryRowContext(ctx, `SELECT entry_id FROM directory_users WHERE user_id = ?`, userID).Scan(&id)
	return id, mapErr(err)
}

// RenameDirectoryUser renames a directory user (only one linked to an
// entry); a taken name is store.ErrConflict.
func (s *Store) RenameDirectoryUser(ctx context.Context, userID, username, usernameNorm string, at time.Time) (store.User, error) {
	var u store.User
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET username = ?, username_norm = ?, updated_at = ?
			WHERE id = ? AND id IN (SELECT user_id FROM directory_users)`, username, usernameNorm, micro(norm(at)), userID)
		if err != nil {
			return mapErr(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		u, err = scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM users u WHERE u.id = ?`, userID))
		return err
	})
	return u, err
}
