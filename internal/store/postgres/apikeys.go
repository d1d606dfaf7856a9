package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/twofold-id/twofold/internal/store"
)

var _ store.APIKeys = (*Store)(nil)

const apiKeyColumns = `k.id, k.org_id, k.created_by, k.name, k.role, k.token_hash,
	k.created_at, k.last_used_at, k.revoked_at, k.expires_at`

func scanAPIKey(row pgx.Row) (store.APIKey, error) {
	var k store.APIKey
	err := row.Scan(&k.ID, &k.OrgID, &k.CreatedBy, &k.Name, &k.Role, &k.TokenHash,
		&k.CreatedAt, &k.LastUsedAt, &k.RevokedAt, &k.ExpiresAt)
	return k, err
}

// CreateAPIKey inserts k, generating ID when it is empty; CreatedAt defaults
// to now. A token hash already in use is store.ErrConflict; an unknown org
// is store.ErrNotFound.
func (s *Store) CreateAPIKey(ctx context.Context, k store.APIKey) (store.APIKey, error) {
	if k.ID == "" {
		k.ID = store.NewID()
	}
	k.CreatedAt = s.orNow(k.CreatedAt)
	k.LastUsedAt, k.RevokedAt, k.ExpiresAt = tsp(k.LastUsedAt), tsp(k.RevokedAt), tsp(k.ExpiresAt)
	if k.TokenHash == nil {
		k.TokenHash = []byte{}
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO api_keys (id, org_id, created_by, name, role, token_hash,
			created_at, last_used_at, revoked_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		k.ID, k.OrgID, k.CreatedBy, k.Name, string(k.Role), k.TokenHash,
		k.CreatedAt, k.LastUsedAt, k.RevokedAt, k.ExpiresAt)
	if err != nil {
		return store.APIKey{}, mapErr("create api key", err)
	}
	return k, nil
}

// GetAPIKeyByTokenHash returns the key whose token hashes to hash, revoked,
// expired or not, or store.ErrNotFound.
func (s *Store) GetAPIKeyByTokenHash(ctx context.Context, hash []byte) (store.APIKey, error) {
	k, err := scanAPIKey(s.pool.QueryRow(ctx,
		`SELECT `+apiKeyColumns+` FROM api_keys k WHERE k.token_hash = $1`, hash))
	return k, mapErr("get api key by token hash", err)
}

// GetAPIKey returns the key with the given id, or store.ErrNotFound.
func (s *Store) GetAPIKey(ctx context.Context, id string) (store.APIKey, error) {
	k, err := scanAPIKey(s.pool.QueryRow(ctx,
		`SELECT `+apiKeyColumns+` FROM api_keys k WHERE k.id = $1`, id))
	return k, mapErr("get api key", err)
}

// ListAPIKeys returns the keys of the orgs whose Path starts with orgPath
// ("" for all), newest first.
func (s *Store) ListAPIKeys(ctx context.Context, orgPath string) ([]store.APIKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+apiKeyColumns+` FROM api_keys k
		JOIN orgs o ON o.id = k.org_id
		WHERE o.path LIKE $1
		ORDER BY k.created_at DESC, k.id DESC`, likePrefix(orgPath))
	if err != nil {
		return nil, mapErr("list api keys", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.APIKey, error) { return scanAPIKey(r) })
	return list, mapErr("list api keys", err)
}

// RevokeAPIKey marks the key revoked at at. Revoking a revoked key keeps
// the first time and is not an error; an unknown key is store.ErrNotFound.
func (s *Store) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	// COALESCE keeps the first revocation; the row is matched either way,
	// so zero rows affected means the key does not exist.
	tag, err := s.pool.Exec(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1`, id, at)
	if err != nil {
		return mapErr("revoke api key", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("revoke api key")
	}
	return nil
}

// TouchAPIKey sets the key's LastUsedAt to at; an unknown key is
// store.ErrNotFound.
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE api_keys SET last_used_at = $2 WHERE id = $1`, id, at)
	if err != nil {
		return mapErr("touch api key", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("touch api key")
	}
	return nil
}
