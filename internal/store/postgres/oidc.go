package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/twofold-id/twofold/internal/store"
)

var (
	_ store.Clients = (*Store)(nil)
	_ store.OIDC    = (*Store)(nil)
)

// orEmpty keeps NOT NULL list and byte columns non-null.
func orEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func orEmptyBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

const clientColumns = `c.id, c.org_id, c.name, c.kind, c.redirect_uris, c.post_logout_redirect_uris, c.scopes,
	c.require_mfa, c.secret_hash, c.created_by, c.created_at, c.updated_at, c.rules, c.id_token_signed_response_alg,
	ARRAY(SELECT h.host FROM client_hosts h WHERE h.client_id = c.id ORDER BY h.host), c.device_rules`

func scanClient(row pgx.Row) (store.Client, error) {
	var (
		c        store.Client
		rules    []byte
		devRules string
	)
	err := row.Scan(&c.ID, &c.OrgID, &c.Name, &c.Kind, &c.RedirectURIs, &c.PostLogoutRedirectURIs, &c.Scopes,
		&c.RequireMFA, &c.SecretHash, &c.CreatedBy, &c.CreatedAt, &c.UpdatedAt, &rules, &c.IDTokenAlg, &c.Hosts, &devRules)
	if err != nil {
		return store.Client{}, err
	}
	if len(c.SecretHash) == 0 {
		c.SecretHash = nil
	}
	if len(c.Hosts) == 0 {
		c.Hosts = nil
	}
	if rules != nil {
		if err := json.Unmarshal(rules, &c.Rules); err != nil {
			return store.Client{}, fmt.Errorf("client %s rules: %w", c.ID, err)
		}
	}
	if c.DeviceRules, err = store.DecodeDeviceRules(devRules); err != nil {
		return store.Client{}, err
	}
	return c, nil
}

// encodeRules stores a rule list as JSON; nil is NULL.
func encodeRules(r []store.ProxyRule) ([]byte, error) {
	if r == nil {
		return nil, nil
	}
	return json.Marshal(r)
}

// putHosts makes hosts the hosts of client id inside tx. A host another
// client has is store.ErrConflict.
func putHosts(ctx context.Context, tx pgx.Tx, id string, hosts []string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM client_hosts WHERE client_id = $1`, id); err != nil {
		return mapErr("client hosts", err)
	}
	for _, h := range hosts {
		if _, err := tx.Exec(ctx, `INSERT INTO client_hosts (host, client_id) VALUES ($1, $2)`, h, id); err != nil {
			return mapErr("client hosts", err)
		}
	}
	return nil
}

// CreateClient inserts c with its hosts; an unknown org is
// store.ErrNotFound, a host another client has store.ErrConflict.
func (s *Store) CreateClient(ctx context.Context, c store.Client) (store.Client, error) {
	if c.ID == "" {
		c.ID = store.NewID()
	}
	c.CreatedAt, c.UpdatedAt = s.orNow(c.CreatedAt), s.orNow(c.UpdatedAt)
	c.RedirectURIs, c.PostLogoutRedirectURIs = orEmpty(c.RedirectURIs), orEmpty(c.PostLogoutRedirectURIs)
	rules, err := encodeRules(c.Rules)
	if err != nil {
		return store.Client{}, err
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO clients (id, org_id, name, kind, redirect_uris, post_logout_redirect_uris,
			scopes, require_mfa, secret_hash, created_by, created_at, updated_at, rules, device_rules, id_token_signed_response_alg)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)`,
			c.ID, c.OrgID, c.Name, string(c.Kind), c.RedirectURIs, c.PostLogoutRedirectURIs, c.Scopes, c.RequireMFA,
			orEmptyBytes(c.SecretHash), c.CreatedBy, c.CreatedAt, c.UpdatedAt, rules, store.EncodeDeviceRules(c.DeviceRules), c.IDTokenAlg)
		if err != nil {
			return mapErr("create client", err)
		}
		return putHosts(ctx, tx, c.ID, c.Hosts)
	})
	if err != nil {
		return store.Client{}, mapErr("create client", err)
	}
	return s.GetClient(ctx, c.ID)
}

// GetClient returns the client, or store.ErrNotFound.
func (s *Store) GetClient(ctx context.Context, id string) (store.Client, error) {
	c, err := scanClient(s.pool.QueryRow(ctx, `SELECT `+clientColumns+` FROM clients c WHERE c.id = $1`, id))
	return c, mapErr("get client", err)
}

// GetClientByHost returns the client that has host, or store.ErrNotFound.
func (s *Store) GetClientByHost(ctx context.Context, host string) (store.Client, error) {
	c, err := scanClient(s.pool.QueryRow(ctx, `SELECT `+clientColumns+` FROM client_hosts x JOIN clients c ON c.id = x.client_id
		WHERE x.host = $1`, host))
	return c, mapErr("get client by host", err)
}

// ListClients returns the clients of the subtree at orgPath, by name.
func (s *Store) ListClients(ctx context.Context, orgPath string) ([]store.Client, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+clientColumns+` FROM clients c JOIN orgs o ON o.id = c.org_id
		WHERE o.path LIKE $1 ORDER BY c.name, c.id`, likePrefix(orgPath))
	if err != nil {
		return nil, mapErr("list clients", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Client, error) { return scanClient(r) })
	return list, mapErr("list clients", err)
}

// UpdateClient stores the mutable fields of c and its hosts.
func (s *Store) UpdateClient(ctx context.Context, c store.Client) (store.Client, error) {
	c.UpdatedAt = s.orNow(c.UpdatedAt)
	rules, err := encodeRules(c.Rules)
	if err != nil {
		return store.Client{}, err
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE clients SET name = $2, redirect_uris = $3, post_logout_redirect_uris = $4,
			scopes = $5, require_mfa = $6, secret_hash = $7, updated_at = $8, rules = $9, device_rules = $10,
			id_token_signed_response_alg = $11 WHERE id = $1`,
			c.ID, c.Name, orEmpty(c.RedirectURIs), orEmpty(c.PostLogoutRedirectURIs), c.Scopes, c.RequireMFA,
			orEmptyBytes(c.SecretHash), c.UpdatedAt, rules, store.EncodeDeviceRules(c.DeviceRules), c.IDTokenAlg)
		if err != nil {
			return mapErr("update client", err)
		}
		if tag.RowsAffected() == 0 {
			return notFound("update client")
		}
		return putHosts(ctx, tx, c.ID, c.Hosts)
	})
	if err != nil {
		return store.Client{}, mapErr("update client", err)
	}
	return s.GetClient(ctx, c.ID)
}

// DeleteClient removes the client and everything issued to it.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM clients WHERE id = $1`, id)
	if err != nil {
		return mapErr("delete client", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("delete client")
	}
	return nil
}

const authReqColumns = `id, client_id, params, created_at, expires_at, user_id, session_id, amr, auth_time, done_at,
	code_hash, code_expires_at, redeemed_at`

func scanAuthRequest(row pgx.Row) (store.AuthRequest, error) {
	var r store.AuthRequest
	err := row.Scan(&r.ID, &r.ClientID, &r.Params, &r.CreatedAt, &r.ExpiresAt, &r.UserID, &r.SessionID, &r.AMR,
		&r.AuthTime, &r.DoneAt, &r.CodeHash, &r.CodeExpiresAt, &r.RedeemedAt)
	return r, err
}

// CreateAuthRequest inserts r; an unknown client is store.ErrNotFound.
func (s *Store) CreateAuthRequest(ctx context.Context, r store.AuthRequest) (store.AuthRequest, error) {
	if r.ID == "" {
		r.ID = store.NewID()
	}
	r.CreatedAt, r.ExpiresAt = s.orNow(r.CreatedAt), ts(r.ExpiresAt)
	_, err := s.pool.Exec(ctx, `INSERT INTO oidc_auth_requests (id, client_id, params, created_at, expires_at)
		VALUES ($1,$2,$3,$4,$5)`, r.ID, r.ClientID, orEmptyBytes(r.Params), r.CreatedAt, r.ExpiresAt)
	if err != nil {
		return store.AuthRequest{}, mapErr("create auth request", err)
	}
	return r, nil
}

// GetAuthRequest returns the request, or store.ErrNotFound.
func (s *Store) GetAuthRequest(ctx context.Context, id string) (store.AuthRequest, error) {
	r, err := scanAuthRequest(s.pool.QueryRow(ctx, `SELECT `+authReqColumns+` FROM oidc_auth_requests WHERE id = $1`, id))
	return r, mapErr("get auth request", err)
}

// GetAuthRequestByCode returns the request whose code hashes to hash.
func (s *Store) GetAuthRequestByCode(ctx context.Context, hash []byte) (store.AuthRequest, error) {
	r, err := scanAuthRequest(s.pool.QueryRow(ctx, `SELECT `+authReqColumns+` FROM oidc_auth_requests WHERE code_hash = $1`, hash))
	return r, mapErr("get auth request by code", err)
}

// CompleteAuthRequest records the sign-in on a request that is not done.
func (s *Store) CompleteAuthRequest(ctx context.Context, id, userID, sessionID string, amr []string, authTime, at time.Time) (bool, error) {
	return s.execOK(ctx, "complete auth request", `UPDATE oidc_auth_requests SET user_id = $2, session_id = $3, amr = $4,
		auth_time = $5, done_at = $6 WHERE id = $1 AND done_at IS NULL AND code_hash IS NULL`,
		id, userID, sessionID, orEmpty(amr), ts(authTime), ts(at))
}

// SetAuthCode stores the code's hash once, on a done request.
func (s *Store) SetAuthCode(ctx context.Context, id string, hash []byte, expiresAt time.Time) (bool, error) {
	return s.execOK(ctx, "set auth code", `UPDATE oidc_auth_requests SET code_hash = $2, code_expires_at = $3
		WHERE id = $1 AND done_at IS NOT NULL AND code_hash IS NULL`, id, hash, ts(expiresAt))
}

// errLost stops a transaction whose single-use step lost the race.
var errLost = errors.New("lost the race")

// RedeemAuthCode consumes the code and inserts the grant and its tokens.
func (s *Store) RedeemAuthCode(ctx context.Context, requestID string, at time.Time, g store.Grant, a store.AccessToken, rt *store.RefreshToken) (bool, error) {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE oidc_auth_requests SET redeemed_at = $2
			WHERE id = $1 AND redeemed_at IS NULL AND code_hash IS NOT NULL`, requestID, ts(at))
		if err != nil {
			return mapErr("redeem auth code", err)
		}
		if tag.RowsAffected() != 1 {
			return errLost
		}
		if _, err := tx.Exec(ctx, `INSERT INTO oidc_grants (id, client_id, user_id, session_id, scopes, amr, auth_time,
			created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`, g.ID, g.ClientID, g.UserID, g.SessionID, orEmpty(g.Scopes),
			orEmpty(g.AMR), ts(g.AuthTime), s.orNow(g.CreatedAt)); err != nil {
			return mapErr("redeem auth code: grant", err)
		}
		if err := s.insertAccessToken(ctx, tx, a); err != nil {
			return err
		}
		if rt != nil {
			return s.insertRefreshToken(ctx, tx, *rt)
		}
		return nil
	})
	if errors.Is(err, errLost) {
		return false, nil
	}
	return err == nil, err
}

func (s *Store) insertAccessToken(ctx context.Context, q querier, a store.AccessToken) error {
	_, err := q.Exec(ctx, `INSERT INTO oidc_access_tokens (id, grant_id, created_at, expires_at) VALUES ($1,$2,$3,$4)`,
		a.ID, a.GrantID, s.orNow(a.CreatedAt), ts(a.ExpiresAt))
	return mapErr("insert access token", err)
}

func (s *Store) insertRefreshToken(ctx context.Context, q querier, rt store.RefreshToken) error {
	_, err := q.Exec(ctx, `INSERT INTO oidc_refresh_tokens (id, grant_id, token_hash, created_at, expires_at)
		VALUES ($1,$2,$3,$4,$5)`, rt.ID, rt.GrantID, rt.TokenHash, s.orNow(rt.CreatedAt), ts(rt.ExpiresAt))
	return mapErr("insert refresh token", err)
}

// DeleteExpiredAuthRequests removes requests that expired unredeemed, and
// redeemed ones whose grant is gone.
func (s *Store) DeleteExpiredAuthRequests(ctx context.Context, cutoff time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM oidc_auth_requests r WHERE r.expires_at < $1 AND (r.redeemed_at IS NULL
		OR NOT EXISTS (SELECT 1 FROM oidc_grants g WHERE g.id = r.id))`, ts(cutoff))
	if err != nil {
		return 0, mapErr("delete expired auth requests", err)
	}
	return int(tag.RowsAffected()), nil
}

const grantColumns = `id, client_id, user_id, session_id, scopes, amr, auth_time, created_at, revoked_at, revoke_reason`

func scanGrant(row pgx.Row) (store.Grant, error) {
	var g store.Grant
	err := row.Scan(&g.ID, &g.ClientID, &g.UserID, &g.SessionID, &g.Scopes, &g.AMR, &g.AuthTime, &g.CreatedAt,
		&g.RevokedAt, &g.RevokeReason)
	return g, err
}

// GetGrant returns the grant, or store.ErrNotFound.
func (s *Store) GetGrant(ctx context.Context, id string) (store.Grant, error) {
	g, err := scanGrant(s.pool.QueryRow(ctx, `SELECT `+grantColumns+` FROM oidc_grants WHERE id = $1`, id))
	return g, mapErr("get grant", err)
}

// ListUserGrants returns the user's live grants, newest first.
func (s *Store) ListUserGrants(ctx context.Context, userID string) ([]store.Grant, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+grantColumns+` FROM oidc_grants WHERE user_id = $1 AND revoked_at IS NULL
		ORDER BY created_at DESC, id DESC`, userID)
	if err != nil {
		return nil, mapErr("list user grants", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Grant, error) { return scanGrant(r) })
	return list, mapErr("list user grants", err)
}

// DeleteOldGrants removes old grants with their tokens, and expired tokens.
func (s *Store) DeleteOldGrants(ctx context.Context, revokedBefore, createdBefore time.Time) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM oidc_grants WHERE revoked_at < $1 OR created_at < $2`, ts(revokedBefore), ts(createdBefore))
		if err != nil {
			return mapErr("delete old grants", err)
		}
		n = tag.RowsAffected()
		for _, q := range []string{`DELETE FROM oidc_access_tokens WHERE expires_at < $1`, `DELETE FROM oidc_refresh_tokens WHERE expires_at < $1`} {
			if _, err := tx.Exec(ctx, q, ts(revokedBefore)); err != nil {
				return mapErr("delete expired tokens", err)
			}
		}
		return nil
	})
	return int(n), err
}

// RevokeGrant marks the grant revoked, keeping an earlier revocation.
func (s *Store) RevokeGrant(ctx context.Context, id string, at time.Time, reason string) error {
	_, err := s.pool.Exec(ctx, `UPDATE oidc_grants SET revoked_at = $2, revoke_reason = $3
		WHERE id = $1 AND revoked_at IS NULL`, id, ts(at), reason)
	return mapErr("revoke grant", err)
}

// GetRefreshToken returns the refresh token whose value hashes to hash.
func (s *Store) GetRefreshToken(ctx context.Context, hash []byte) (store.RefreshToken, error) {
	var rt store.RefreshToken
	err := s.pool.QueryRow(ctx, `SELECT id, grant_id, token_hash, created_at, expires_at, used_at
		FROM oidc_refresh_tokens WHERE token_hash = $1`, hash).
		Scan(&rt.ID, &rt.GrantID, &rt.TokenHash, &rt.CreatedAt, &rt.ExpiresAt, &rt.UsedAt)
	return rt, mapErr("get refresh token", err)
}

// RotateRefreshToken uses the token once and inserts its successor.
func (s *Store) RotateRefreshToken(ctx context.Context, hash []byte, at time.Time, next store.RefreshToken, a store.AccessToken) (bool, error) {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE oidc_refresh_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL
			AND grant_id IN (SELECT id FROM oidc_grants WHERE revoked_at IS NULL)`, hash, ts(at))
		if err != nil {
			return mapErr("rotate refresh token", err)
		}
		if tag.RowsAffected() != 1 {
			return errLost
		}
		if err := s.insertRefreshToken(ctx, tx, next); err != nil {
			return err
		}
		return s.insertAccessToken(ctx, tx, a)
	})
	if errors.Is(err, errLost) {
		return false, nil
	}
	return err == nil, err
}

// CreateAccessToken inserts a.
func (s *Store) CreateAccessToken(ctx context.Context, a store.AccessToken) error {
	return s.insertAccessToken(ctx, s.pool, a)
}

// GetAccessToken returns the access token record, or store.ErrNotFound.
func (s *Store) GetAccessToken(ctx context.Context, id string) (store.AccessToken, error) {
	var a store.AccessToken
	err := s.pool.QueryRow(ctx, `SELECT id, grant_id, created_at, expires_at, revoked_at FROM oidc_access_tokens
		WHERE id = $1`, id).Scan(&a.ID, &a.GrantID, &a.CreatedAt, &a.ExpiresAt, &a.RevokedAt)
	return a, mapErr("get access token", err)
}

// RevokeAccessToken marks the access token revoked.
func (s *Store) RevokeAccessToken(ctx context.Context, id string, at time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE oidc_access_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1`, id, ts(at))
	return mapErr("revoke access token", err)
}

// CreateSigningKey inserts k; a duplicate id is store.ErrConflict.
func (s *Store) CreateSigningKey(ctx context.Context, k store.SigningKey) error {
	var active *time.Time
	if !k.ActiveFrom.IsZero() {
		a := ts(k.ActiveFrom)
		active = &a
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO oidc_signing_keys (id, alg, sealed, key_id, created_at, active_from) VALUES ($1,$2,$3,$4,$5,$6)`,
		k.ID, k.Alg, k.Sealed, k.KeyID, s.orNow(k.CreatedAt), active)
	return mapErr("create signing key", err)
}

// ResealSigningKey replaces the sealed key if it is still under oldKeyID.
func (s *Store) ResealSigningKey(ctx context.Context, id, oldKeyID string, sealed []byte, keyID string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE oidc_signing_keys SET sealed = $3, key_id = $4 WHERE id = $1 AND key_id = $2`, id, oldKeyID, sealed, keyID)
	if err != nil {
		return false, mapErr("reseal signing key", err)
	}
	return tag.RowsAffected() == 1, nil
}

// ListSigningKeys returns every signing key, the last to start signing
// first.
func (s *Store) ListSigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, alg, sealed, key_id, created_at, active_from FROM oidc_signing_keys
		ORDER BY COALESCE(active_from, created_at) DESC, created_at DESC, id DESC`)
	if err != nil {
		return nil, mapErr("list signing keys", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.SigningKey, error) {
		var (
			k      store.SigningKey
			active *time.Time
		)
		err := r.Scan(&k.ID, &k.Alg, &k.Sealed, &k.KeyID, &k.CreatedAt, &active)
		if active != nil {
			k.ActiveFrom = *active
		}
		return k, err
	})
	return list, mapErr("list signing keys", err)
}

// DeleteSigningKey removes a key.
func (s *Store) DeleteSigningKey(ctx context.Context, id string) error {
	return s.execOne(ctx, "delete signing key", `DELETE FROM oidc_signing_keys WHERE id = $1`, id)
}
