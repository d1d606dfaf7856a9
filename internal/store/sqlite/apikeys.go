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

var _ store.APIKeys = (*Store)(nil)

const apiKeyCols = `k.id, k.org_id, k.created_by, k.name, k.role, k.token_hash, k.created_at, k.last_used_at,
	k.revoked_at, k.expires_at`

func scanAPIKey(sc scanner) (store.APIKey, error) {
	var (
		k                      store.APIKey
		created                int64
		used, revoked, expires sql.NullInt64
	)
	err := sc.Scan(&k.ID, &k.OrgID, &k.CreatedBy, &k.Name, &k.Role, &k.TokenHash, &created, &used, &revoked, &expires)
	if err != nil {
		return store.APIKey{}, mapErr(err)
	}
	k.CreatedAt = fromMicro(created)
	k.LastUsedAt, k.RevokedAt, k.ExpiresAt = fromNullMicro(used), fromNullMicro(revoked), fromNullMicro(expires)
	return k, nil
}

// CreateAPIKey inserts k (ID generated when empty; CreatedAt now when zero).
// A token hash already in use is store.ErrConflict; an unknown org is
// store.ErrNotFound.
func (s *Store) CreateAPIKey(ctx context.Context, k store.APIKey) (store.APIKey, error) {
	if k.ID == "" {
		k.ID = store.NewID()
	}
	k.CreatedAt = s.orNow(k.CreatedAt)
	k.LastUsedAt, k.RevokedAt, k.ExpiresAt = normPtr(k.LastUsedAt), normPtr(k.RevokedAt), normPtr(k.ExpiresAt)
	if k.TokenHash == nil {
		k.TokenHash = []byte{}
	}
	_, err := s.exec(ctx, `INSERT INTO api_keys (id, org_id, created_by, name, role, token_hash, created_at,
		last_used_at, revoked_at, expires_at) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		k.ID, k.OrgID, k.CreatedBy, k.Name, string(k.Role), k.TokenHash, micro(k.CreatedAt),
		microPtr(k.LastUsedAt), microPtr(k.RevokedAt), microPtr(k.ExpiresAt))
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
		return store.APIKey{}, fmt.Errorf("%w: org %s", store.ErrNotFound, k.OrgID)
	}
	if err != nil {
		return store.APIKey{}, err
	}
	return k, nil
}

// GetAPIKeyByTokenHash returns the key, revoked, expired or not, or
// store.ErrNotFound.
func (s *Store) GetAPIKeyByTokenHash(ctx context.Context, hash []byte) (store.APIKey, error) {
	return scanAPIKey(s.r.QueryRowContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys k WHERE k.token_hash = ?`, hash))
}

// GetAPIKey returns the key with the given id, or store.ErrNotFound.
func (s *Store) GetAPIKey(ctx context.Context, id string) (store.APIKey, error) {
	return scanAPIKey(s.r.QueryRowContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys k WHERE k.id = ?`, id))
}

// ListAPIKeys returns the keys of the orgs whose Path starts with orgPath
// ("" for all), newest first.
func (s *Store) ListAPIKeys(ctx context.Context, orgPath string) ([]store.APIKey, error) {
	cond, args := prefixCond("o.path", orgPath)
	return queryAll(ctx, s.r, scanAPIKey, `SELECT `+apiKeyCols+` FROM api_keys k JOIN orgs o ON o.id = k.org_id
		WHERE `+cond+` ORDER BY k.created_at DESC, k.id DESC`, args...)
}

// RevokeAPIKey marks the key revoked at at, keeping an earlier revocation;
// an unknown key is store.ErrNotFound.
func (s *Store) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	return s.execOne(ctx, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?`, micro(at), id)
}

// TouchAPIKey sets LastUsedAt; an unknown key is store.ErrNotFound.
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	return s.execOne(ctx, `UPDATE api_keys SET last_used_at = ? WHERE id = ?`, micro(at), id)
}
