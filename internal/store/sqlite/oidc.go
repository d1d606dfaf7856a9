package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/twofold-id/twofold/internal/store"
)

var (
	_ store.Clients = (*Store)(nil)
	_ store.OIDC    = (*Store)(nil)
)

// isFK reports whether err is a violated foreign key.
func isFK(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// listOrEmpty stores a list that must not be NULL.
func listOrEmpty(l []string) any {
	if l == nil {
		l = []string{}
	}
	return encodeList(l)
}

const clientCols = `c.id, c.org_id, c.name, c.kind, c.redirect_uris, c.post_logout_redirect_uris, c.scopes,
	c.require_mfa, c.secret_hash, c.created_by, c.created_at, c.updated_at, c.rules, c.id_token_signed_response_alg,
	(SELECT json_group_array(host) FROM (SELECT h.host FROM client_hosts h WHERE h.client_id = c.id ORDER BY h.host)), c.device_rules`

func scanClient(sc scanner) (store.Client, error) {
	var (
		c                       store.Client
		redirects, post, scopes sql.NullString
		rules, hosts            sql.NullString
		created, updated        int64
		devRules                string
	)
	err := sc.Scan(&c.ID, &c.OrgID, &c.Name, &c.Kind, &redirects, &post, &scopes, &c.RequireMFA, &c.SecretHash,
		&c.CreatedBy, &created, &updated, &rules, &c.IDTokenAlg, &hosts, &devRules)
	if err != nil {
		return store.Client{}, mapErr(err)
	}
	if c.DeviceRules, err = store.DecodeDeviceRules(devRules); err != nil {
		return store.Client{}, err
	}
	c.CreatedAt, c.UpdatedAt = fromMicro(created), fromMicro(updated)
	if c.RedirectURIs, err = decodeList(redirects); err != nil {
		return store.Client{}, err
	}
	if c.PostLogoutRedirectURIs, err = decodeList(post); err != nil {
		return store.Client{}, err
	}
	if c.Scopes, err = decodeList(scopes); err != nil {
		return store.Client{}, err
	}
	if c.Hosts, err = decodeList(hosts); err != nil {
		return store.Client{}, err
	}
	if len(c.Hosts) == 0 {
		c.Hosts = nil
	}
	if rules.Valid {
		if err := json.Unmarshal([]byte(rules.String), &c.Rules); err != nil {
			return store.Client{}, fmt.Errorf("client %s rules: %w", c.ID, err)
		}
	}
	if len(c.SecretHash) == 0 {
		c.SecretHash = nil
	}
	return c, nil
}

// encodeRules stores a rule list as JSON; nil is NULL.
func encodeRules(r []store.ProxyRule) (any, error) {
	if r == nil {
		return nil, nil
	}
	b, err := json.Marshal(r)
	return string(b), err
}

// putHosts makes hosts the hosts of client id inside tx. A host another
// client has is store.ErrConflict.
func putHosts(ctx context.Context, tx *sql.Tx, id string, hosts []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM client_hosts WHERE client_id = ?`, id); err != nil {
		return mapErr(err)
	}
	for _, h := range hosts {
		if _, err := tx.ExecContext(ctx, `INSERT INTO client_hosts (host, client_id) VALUES (?, ?)`, h, id); err != nil {
			return mapErr(err)
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
	c.CreatedAt = s.orNow(c.CreatedAt)
	c.UpdatedAt = s.orNow(c.UpdatedAt)
	if c.RedirectURIs == nil {
		c.RedirectURIs = []string{}
	}
	if c.PostLogoutRedirectURIs == nil {
		c.PostLogoutRedirectURIs = []string{}
	}
	rules, err := encodeRules(c.Rules)
	if err != nil {
		return store.Client{}, err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO clients (id, org_id, name, kind, redirect_uris, post_logout_redirect_uris,
			scopes, require_mfa, secret_hash, created_by, created_at, updated_at, rules, device_rules, id_token_signed_response_alg)
			VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
			c.ID, c.OrgID, c.Name, string(c.Kind), encodeList(c.RedirectURIs), encodeList(c.PostLogoutRedirectURIs),
			encodeList(c.Scopes), c.RequireMFA, orEmptyBytes(c.SecretHash), c.CreatedBy, micro(c.CreatedAt), micro(c.UpdatedAt), rules,
			store.EncodeDeviceRules(c.DeviceRules), c.IDTokenAlg)
		if isFK(err) {
			return fmt.Errorf("%w: org %s", store.ErrNotFound, c.OrgID)
		}
		if err != nil {
			return mapErr(err)
		}
		return putHosts(ctx, tx, c.ID, c.Hosts)
	})
	if err != nil {
		return store.Client{}, err
	}
	return s.getClientW(ctx, c.ID)
}

func orEmptyBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// GetClient returns the client, or store.ErrNotFound.
func (s *Store) GetClient(ctx context.Context, id string) (store.Client, error) {
	return scanClient(s.r.QueryRowContext(ctx, `SELECT `+clientCols+` FROM clients c WHERE c.id = ?`, id))
}

// GetClientByHost returns the client that has host, or store.ErrNotFound.
func (s *Store) GetClientByHost(ctx context.Context, host string) (store.Client, error) {
	return scanClient(s.r.QueryRowContext(ctx, `SELECT `+clientCols+` FROM client_hosts x JOIN clients c ON c.id = x.client_id
		WHERE x.host = ?`, host))
}

// ListClients returns the clients of the subtree at orgPath, by name.
func (s *Store) ListClients(ctx context.Context, orgPath string) ([]store.Client, error) {
	cond, args := prefixCond("o.path", orgPath)
	return queryAll(ctx, s.r, scanClient, `SELECT `+clientCols+` FROM clients c JOIN orgs o ON o.id = c.org_id
		WHERE `+cond+` ORDER BY c.name, c.id`, args...)
}

// UpdateClient stores the mutable fields of c and its hosts.
func (s *Store) UpdateClient(ctx context.Context, c store.Client) (store.Client, error) {
	c.UpdatedAt = s.orNow(c.UpdatedAt)
	if c.RedirectURIs == nil {
		c.RedirectURIs = []string{}
	}
	if c.PostLogoutRedirectURIs == nil {
		c.PostLogoutRedirectURIs = []string{}
	}
	rules, err := encodeRules(c.Rules)
	if err != nil {
		return store.Client{}, err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE clients SET name = ?, redirect_uris = ?, post_logout_redirect_uris = ?, scopes = ?,
			require_mfa = ?, secret_hash = ?, updated_at = ?, rules = ?, device_rules = ?, id_token_signed_response_alg = ? WHERE id = ?`,
			c.Name, encodeList(c.RedirectURIs), encodeList(c.PostLogoutRedirectURIs), encodeList(c.Scopes), c.RequireMFA,
			orEmptyBytes(c.SecretHash), micro(c.UpdatedAt), rules, store.EncodeDeviceRules(c.DeviceRules), c.IDTokenAlg, c.ID)
		if err != nil {
			return mapErr(err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return cmp.Or(mapErr(err), store.ErrNotFound)
		}
		return putHosts(ctx, tx, c.ID, c.Hosts)
	})
	if err != nil {
		return store.Client{}, err
	}
	return s.getClientW(ctx, c.ID)
}

// getClientW reads a client on the writer, so it sees the write just made.
func (s *Store) getClientW(ctx context.Context, id string) (store.Client, error) {
	return scanClient(s.w.QueryRowContext(ctx, `SELECT `+clientCols+` FROM clients c WHERE c.id = ?`, id))
}

// DeleteClient removes the client and everything issued to it.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	return s.execOne(ctx, `DELETE FROM clients WHERE id = ?`, id)
}

const authReqCols = `id, client_id, params, created_at, expires_at, user_id, session_id, amr, auth_time, done_at,
	code_hash, code_expires_at, redeemed_at`

func scanAuthRequest(sc scanner) (store.AuthRequest, error) {
	var (
		r                                 store.AuthRequest
		created, expires                  int64
		amr                               sql.NullString
		authTime, done, codeExp, redeemed sql.NullInt64
	)
	err := sc.Scan(&r.ID, &r.ClientID, &r.Params, &created, &expires, &r.UserID, &r.SessionID, &amr, &authTime, &done,
		&r.CodeHash, &codeExp, &redeemed)
	if err != nil {
		return store.AuthRequest{}, mapErr(err)
	}
	r.CreatedAt, r.ExpiresAt = fromMicro(created), fromMicro(expires)
	r.AuthTime, r.DoneAt, r.CodeExpiresAt, r.RedeemedAt = fromNullMicro(authTime), fromNullMicro(done), fromNullMicro(codeExp), fromNullMicro(redeemed)
	if r.AMR, err = decodeList(amr); err != nil {
		return store.AuthRequest{}, err
	}
	return r, nil
}

// CreateAuthRequest inserts r; an unknown client is store.ErrNotFound.
func (s *Store) CreateAuthRequest(ctx context.Context, r store.AuthRequest) (store.AuthRequest, error) {
	if r.ID == "" {
		r.ID = store.NewID()
	}
	r.CreatedAt, r.ExpiresAt = s.orNow(r.CreatedAt), norm(r.ExpiresAt)
	_, err := s.exec(ctx, `INSERT INTO oidc_auth_requests (id, client_id, params, created_at, expires_at)
		VALUES (?,?,?,?,?)`, r.ID, r.ClientID, orEmptyBytes(r.Params), micro(r.CreatedAt), micro(r.ExpiresAt))
	if isFK(err) {
		return store.AuthRequest{}, fmt.Errorf("%w: client %s", store.ErrNotFound, r.ClientID)
	}
	if err != nil {
		return store.AuthRequest{}, err
	}
	return r, nil
}

// GetAuthRequest returns the request, or store.ErrNotFound. It reads on
// the writer: a request is read right after a step changed it.
func (s *Store) GetAuthRequest(ctx context.Context, id string) (store.AuthRequest, error) {
	return scanAuthRequest(s.w.QueryRowContext(ctx, `SELECT `+authReqCols+` FROM oidc_auth_requests WHERE id = ?`, id))
}

// GetAuthRequestByCode returns the request whose code hashes to hash.
func (s *Store) GetAuthRequestByCode(ctx context.Context, hash []byte) (store.AuthRequest, error) {
	return scanAuthRequest(s.r.QueryRowContext(ctx, `SELECT `+authReqCols+` FROM oidc_auth_requests WHERE code_hash = ?`, hash))
}

// CompleteAuthRequest records the sign-in on a request that is not done.
func (s *Store) CompleteAuthRequest(ctx context.Context, id, userID, sessionID string, amr []string, authTime, at time.Time) (bool, error) {
	n, err := s.exec(ctx, `UPDATE oidc_auth_requests SET user_id = ?, session_id = ?, amr = ?, auth_time = ?, done_at = ?
		WHERE id = ? AND done_at IS NULL AND code_hash IS NULL`,
		userID, sessionID, listOrEmpty(amr), micro(authTime), micro(at), id)
	return n == 1, err
}

// SetAuthCode stores the code's hash once, on a done request.
func (s *Store) SetAuthCode(ctx context.Context, id string, hash []byte, expiresAt time.Time) (bool, error) {
	n, err := s.exec(ctx, `UPDATE oidc_auth_requests SET code_hash = ?, code_expires_at = ?
		WHERE id = ? AND done_at IS NOT NULL AND code_hash IS NULL`, hash, micro(expiresAt), id)
	return n == 1, err
}

// errLost stops a transaction whose single-use step lost the race.
var errLost = errors.New("lost the race")

// RedeemAuthCode consumes the code and inserts the grant and its tokens.
func (s *Store) RedeemAuthCode(ctx context.Context, requestID string, at time.Time, g store.Grant, a store.AccessToken, rt *store.RefreshToken) (bool, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE oidc_auth_requests SET redeemed_at = ?
			WHERE id = ? AND redeemed_at IS NULL AND code_hash IS NOT NULL`, micro(at), requestID)
		if err != nil {
			return mapErr(err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return errors.Join(errLost, err)
		}
		g.CreatedAt = s.orNow(g.CreatedAt)
		if _, err := tx.ExecContext(ctx, `INSERT INTO oidc_grants (id, client_id, user_id, session_id, scopes, amr,
			auth_time, created_at) VALUES (?,?,?,?,?,?,?,?)`, g.ID, g.ClientID, g.UserID, g.SessionID,
			listOrEmpty(g.Scopes), listOrEmpty(g.AMR), micro(g.AuthTime), micro(g.CreatedAt)); err != nil {
			return mapErr(err)
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

func (s *Store) insertAccessToken(ctx context.Context, tx *sql.Tx, a store.AccessToken) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO oidc_access_tokens (id, grant_id, created_at, expires_at) VALUES (?,?,?,?)`,
		a.ID, a.GrantID, micro(s.orNow(a.CreatedAt)), micro(a.ExpiresAt))
	if isFK(err) {
		return fmt.Errorf("%w: grant %s", store.ErrNotFound, a.GrantID)
	}
	return mapErr(err)
}

func (s *Store) insertRefreshToken(ctx context.Context, tx *sql.Tx, rt store.RefreshToken) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO oidc_refresh_tokens (id, grant_id, token_hash, created_at, expires_at)
		VALUES (?,?,?,?,?)`, rt.ID, rt.GrantID, rt.TokenHash, micro(s.orNow(rt.CreatedAt)), micro(rt.ExpiresAt))
	return mapErr(err)
}

// DeleteExpiredAuthRequests removes requests that expired unredeemed, and
// redeemed ones whose grant is gone.
func (s *Store) DeleteExpiredAuthRequests(ctx context.Context, cutoff time.Time) (int, error) {
	n, err := s.exec(ctx, `DELETE FROM oidc_auth_requests WHERE expires_at < ? AND (redeemed_at IS NULL
		OR NOT EXISTS (SELECT 1 FROM oidc_grants g WHERE g.id = oidc_auth_requests.id))`, micro(cutoff))
	return int(n), err
}

const grantCols = `id, client_id, user_id, session_id, scopes, amr, auth_time, created_at, revoked_at, revoke_reason`

func scanGrant(sc scanner) (store.Grant, error) {
	var (
		g                 store.Grant
		scopes, amr       sql.NullString
		authTime, created int64
		revoked           sql.NullInt64
	)
	err := sc.Scan(&g.ID, &g.ClientID, &g.UserID, &g.SessionID, &scopes, &amr, &authTime, &created, &revoked, &g.RevokeReason)
	if err != nil {
		return store.Grant{}, mapErr(err)
	}
	g.AuthTime, g.CreatedAt, g.RevokedAt = fromMicro(authTime), fromMicro(created), fromNullMicro(revoked)
	if g.Scopes, err = decodeList(scopes); err != nil {
		return store.Grant{}, err
	}
	if g.AMR, err = decodeList(amr); err != nil {
		return store.Grant{}, err
	}
	return g, nil
}

// GetGrant returns the grant, or store.ErrNotFound.
func (s *Store) GetGrant(ctx context.Context, id string) (store.Grant, error) {
	return scanGrant(s.w.QueryRowContext(ctx, `SELECT `+grantCols+` FROM oidc_grants WHERE id = ?`, id))
}

// ListUserGrants returns the user's live grants, newest first.
func (s *Store) ListUserGrants(ctx context.Context, userID string) ([]store.Grant, error) {
	return queryAll(ctx, s.r, scanGrant, `SELECT `+grantCols+` FROM oidc_grants
		WHERE user_id = ? AND revoked_at IS NULL ORDER BY created_at DESC, id DESC`, userID)
}

// DeleteOldGrants removes old grants with their tokens, and expired tokens.
func (s *Store) DeleteOldGrants(ctx context.Context, revokedBefore, createdBefore time.Time) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM oidc_grants WHERE revoked_at < ? OR created_at < ?`,
			micro(revokedBefore), micro(createdBefore))
		if err != nil {
			return mapErr(err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		for _, q := range []string{`DELETE FROM oidc_access_tokens WHERE expires_at < ?`, `DELETE FROM oidc_refresh_tokens WHERE expires_at < ?`} {
			if _, err := tx.ExecContext(ctx, q, micro(revokedBefore)); err != nil {
				return mapErr(err)
			}
		}
		return nil
	})
	return int(n), err
}

// RevokeGrant marks the grant revoked, keeping an earlier revocation.
func (s *Store) RevokeGrant(ctx context.Context, id string, at time.Time, reason string) error {
	_, err := s.exec(ctx, `UPDATE oidc_grants SET revoked_at = ?, revoke_reason = ? WHERE id = ? AND revoked_at IS NULL`,
		micro(at), reason, id)
	return err
}

func scanRefreshToken(sc scanner) (store.RefreshToken, error) {
	var (
		rt               store.RefreshToken
		created, expires int64
		used             sql.NullInt64
	)
	if err := sc.Scan(&rt.ID, &rt.GrantID, &rt.TokenHash, &created, &expires, &used); err != nil {
		return store.RefreshToken{}, mapErr(err)
	}
	rt.CreatedAt, rt.ExpiresAt, rt.UsedAt = fromMicro(created), fromMicro(expires), fromNullMicro(used)
	return rt, nil
}

// GetRefreshToken returns the refresh token whose value hashes to hash.
func (s *Store) GetRefreshToken(ctx context.Context, hash []byte) (store.RefreshToken, error) {
	return scanRefreshToken(s.r.QueryRowContext(ctx, `SELECT id, grant_id, token_hash, created_at, expires_at, used_at
		FROM oidc_refresh_tokens WHERE token_hash = ?`, hash))
}

// RotateRefreshToken uses the token once and inserts its successor.
func (s *Store) RotateRefreshToken(ctx context.Context, hash []byte, at time.Time, next store.RefreshToken, a store.AccessToken) (bool, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE oidc_refresh_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL
			AND grant_id IN (SELECT id FROM oidc_grants WHERE revoked_at IS NULL)`, micro(at), hash)
		if err != nil {
			return mapErr(err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return errors.Join(errLost, err)
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
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.insertAccessToken(ctx, tx, a) })
}

// GetAccessToken returns the access token record, or store.ErrNotFound.
func (s *Store) GetAccessToken(ctx context.Context, id string) (store.AccessToken, error) {
	var (
		a                store.AccessToken
		created, expires int64
		revoked          sql.NullInt64
	)
	err := s.r.QueryRowContext(ctx, `SELECT id, grant_id, created_at, expires_at, revoked_at FROM oidc_access_tokens
		WHERE id = ?`, id).Scan(&a.ID, &a.GrantID, &created, &expires, &revoked)
	if err != nil {
		return store.AccessToken{}, mapErr(err)
	}
	a.CreatedAt, a.ExpiresAt, a.RevokedAt = fromMicro(created), fromMicro(expires), fromNullMicro(revoked)
	return a, nil
}

// RevokeAccessToken marks the access token revoked.
func (s *Store) RevokeAccessToken(ctx context.Context, id string, at time.Time) error {
	_, err := s.exec(ctx, `UPDATE oidc_access_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?`, micro(at), id)
	return err
}

// CreateSigningKey inserts k; a duplicate id is store.ErrConflict.
func (s *Store) CreateSigningKey(ctx context.Context, k store.SigningKey) error {
	var active any
	if !k.ActiveFrom.IsZero() {
		active = micro(k.ActiveFrom)
	}
	_, err := s.exec(ctx, `INSERT INTO oidc_signing_keys (id, alg, sealed, key_id, created_at, active_from) VALUES (?,?,?,?,?,?)`,
		k.ID, k.Alg, k.Sealed, k.KeyID, micro(s.orNow(k.CreatedAt)), active)
	return err
}

// ResealSigningKey replaces the sealed key if it is still under oldKeyID.
func (s *Store) ResealSigningKey(ctx context.Context, id, oldKeyID string, sealed []byte, keyID string) (bool, error) {
	n, err := s.exec(ctx, `UPDATE oidc_signing_keys SET sealed = ?, key_id = ? WHERE id = ? AND key_id = ?`, sealed, keyID, id, oldKeyID)
	return n == 1, err
}

// ListSigningKeys returns every signing key, the last to start signing
// first.
func (s *Store) ListSigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	return queryAll(ctx, s.r, func(sc scanner) (store.SigningKey, error) {
		var (
			k       store.SigningKey
			created int64
			active  sql.NullInt64
		)
		if err := sc.Scan(&k.ID, &k.Alg, &k.Sealed, &k.KeyID, &created, &active); err != nil {
			return store.SigningKey{}, mapErr(err)
		}
		k.CreatedAt = fromMicro(created)
		if active.Valid {
			k.ActiveFrom = fromMicro(active.Int64)
		}
		return k, nil
	}, `SELECT id, alg, sealed, key_id, created_at, active_from FROM oidc_signing_keys
		ORDER BY coalesce(active_from, created_at) DESC, created_at DESC, id DESC`)
}

// DeleteSigningKey removes a key.
func (s *Store) DeleteSigningKey(ctx context.Context, id string) error {
	return s.execOne(ctx, `DELETE FROM oidc_signing_keys WHERE id = ?`, id)
}
