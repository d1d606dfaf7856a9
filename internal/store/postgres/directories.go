package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/twofold-id/twofold/internal/store"
)

var _ store.Directories = (*Store)(nil)

const directoryColumns = `org_id, url, start_tls, ca_cert, bind_dn, bind_password, key_id, user_base_dn,
	username_attribute, user_filter, email_attribute, name_attribute, admin_group_dn, created_at, updated_at`

func scanDirectory(row pgx.Row) (store.Directory, error) {
	var d store.Directory
	err := row.Scan(&d.OrgID, &d.URL, &d.StartTLS, &d.CACert, &d.BindDN, &d.BindPassword, &d.KeyID, &d.UserBaseDN,
		&d.UsernameAttribute, &d.UserFilter, &d.EmailAttribute, &d.NameAttribute, &d.AdminGroupDN,
		&d.CreatedAt, &d.UpdatedAt)
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return d, err
}

// PutDirectory creates or replaces the directory of d.OrgID, keeping
// CreatedAt on replace. An unknown org is store.ErrNotFound.
func (s *Store) PutDirectory(ctx context.Context, d store.Directory) (store.Directory, error) {
	d.UpdatedAt = s.orNow(d.UpdatedAt)
	if d.BindPassword == nil {
		d.BindPassword = []byte{}
	}
	out, err := scanDirectory(s.pool.QueryRow(ctx, `INSERT INTO directories (`+directoryColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)
		ON CONFLICT (org_id) DO UPDATE SET url = excluded.url, start_tls = excluded.start_tls,
			ca_cert = excluded.ca_cert, bind_dn = excluded.bind_dn, bind_password = excluded.bind_password,
			key_id = excluded.key_id, user_base_dn = excluded.user_base_dn,
			username_attribute = excluded.username_attribute, user_filter = excluded.user_filter,
			email_attribute = excluded.email_attribute, name_attribute = excluded.name_attribute,
			admin_group_dn = excluded.admin_group_dn, updated_at = excluded.updated_at
		RETURNING `+directoryColumns,
		d.OrgID, d.URL, d.StartTLS, d.CACert, d.BindDN, d.BindPassword, d.KeyID, d.UserBaseDN,
		d.UsernameAttribute, d.UserFilter, d.EmailAttribute, d.NameAttribute, d.AdminGroupDN, d.UpdatedAt))
	if err != nil {
		return store.Directory{}, mapErr("put directory", err)
	}
	return out, nil
}

// GetDirectory returns the org's own directory, or store.ErrNotFound.
func (s *Store) GetDirectory(ctx context.Context, orgID string) (store.Directory, error) {
	d, err := scanDirectory(s.pool.QueryRow(ctx, `SELECT `+directoryColumns+` FROM directories WHERE org_id = $1`, orgID))
	return d, mapErr("get directory", err)
}

// DeleteDirectory removes the org's own directory, or is store.ErrNotFound.
func (s *Store) DeleteDirectory(ctx context.Context, orgID string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM directories WHERE org_id = $1`, orgID)
	if err != nil {
		return mapErr("delete directory", err)
	}
	if tag.RowsAffected() == 0 {
		return mapErr("delete directory", pgx.ErrNoRows)
	}
	return nil
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
	u.UpdatedAt = ts(u.UpdatedAt)
	u.EmailConfirmedAt = tsp(u.EmailConfirmedAt)
	u.MFARequiredSince = tsp(u.MFARequiredSince)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO users (id, org_id, username, username_norm,
				email, email_confirmed_at, role, password_hash, mfa_required, disabled,
				created_at, updated_at, mfa_required_since)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			u.ID, u.OrgID, u.Username, u.UsernameNorm, u.Email, u.EmailConfirmedAt,
			string(u.Role), u.PasswordHash, u.MFARequired, u.Disabled,
			u.CreatedAt, u.UpdatedAt, u.MFARequiredSince)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO directory_users (user_id, org_id, entry_id) VALUES ($1, $2, $3)`,
			u.ID, u.OrgID, entryID)
		return err
	})
	if err != nil {
		return store.User{}, mapErr("create directory user", err)
	}
	return u, nil
}

// GetDirectoryUser returns the user of org orgID linked to entryID, or
// store.ErrNotFound.
func (s *Store) GetDirectoryUser(ctx context.Context, orgID, entryID string) (store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users u
		JOIN directory_users d ON d.user_id = u.id WHERE d.org_id = $1 AND d.entry_id = $2`, orgID, entryID))
	return u, mapErr("get directory user", err)
}

// DirectoryEntryOf returns the entry id the user is linked to, or
// store.ErrNotFound for a local user.
func (s *Store) DirectoryEntryOf(ctx context.Context, userID string) (string, error) {
	var id string
	err := s.pool.QueryRow(ctx, `SELECT entry_id FROM directory_users WHERE user_id = $1`, userID).Scan(&id)
	return id, mapErr("directory entry of", err)
}

// RenameDirectoryUser renames a directory user (only one linked to an
// entry); a taken name is store.ErrConflict.
func (s *Store) RenameDirectoryUser(ctx context.Context, userID, username, usernameNorm string, at time.Time) (store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `UPDATE users u SET username = $2, username_norm = $3, updated_at = $4
		WHERE u.id = $1 AND u.id IN (SELECT user_id FROM directory_users)
		RETURNING `+userColumns, userID, username, usernameNorm, ts(at)))
	return u, mapErr("rename directory user", err)
}
