package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/twofold-id/twofold/internal/store"
)

const deviceAuthColumns = `id, client_id, device_code_hash, user_code, scopes, created_at, expires_at, last_poll_at, decided_at,
	approved, user_id, session_id, amr, auth_time, redeemed_at`

func scanDeviceAuth(row pgx.Row) (store.DeviceAuthorization, error) {
	var a store.DeviceAuthorization
	err := row.Scan(&a.ID, &a.ClientID, &a.DeviceCodeHash, &a.UserCode, &a.Scopes, &a.CreatedAt, &a.ExpiresAt, &a.LastPollAt,
		&a.DecidedAt, &a.Approved, &a.UserID, &a.SessionID, &a.AMR, &a.AuthTime, &a.RedeemedAt)
	if err != nil {
		return store.DeviceAuthorization{}, mapErr("scan device authorization", err)
	}
	a.CreatedAt, a.ExpiresAt = ts(a.CreatedAt), ts(a.ExpiresAt)
	a.LastPollAt, a.DecidedAt, a.AuthTime, a.RedeemedAt = tsp(a.LastPollAt), tsp(a.DecidedAt), tsp(a.AuthTime), tsp(a.RedeemedAt)
	return a, nil
}

// CreateDeviceAuthorization inserts a.
func (s *Store) CreateDeviceAuthorization(ctx context.Context, a store.DeviceAuthorization) error {
	if a.ID == "" {
		a.ID = store.NewID()
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO device_authorizations (id, client_id, device_code_hash, user_code, scopes, created_at, expires_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7)`, a.ID, a.ClientID, a.DeviceCodeHash, a.UserCode, orEmpty(a.Scopes), s.orNow(a.CreatedAt), ts(a.ExpiresAt))
	return mapErr("create device authorization", err)
}

// GetDeviceAuthorizationByUserCode returns the authorization of a user code.
func (s *Store) GetDeviceAuthorizationByUserCode(ctx context.Context, userCode string) (store.DeviceAuthorization, error) {
	return scanDeviceAuth(s.pool.QueryRow(ctx, `SELECT `+deviceAuthColumns+` FROM device_authorizations WHERE user_code = $1`, userCode))
}

// PollDeviceAuthorization records a poll unless it comes too fast; the
// row is locked, so of two polls at once one is too fast.
func (s *Store) PollDeviceAuthorization(ctx context.Context, clientID string, hash []byte, at time.Time, interval time.Duration) (store.DeviceAuthorization, bool, error) {
	var (
		out     store.DeviceAuthorization
		tooFast bool
	)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		a, err := scanDeviceAuth(tx.QueryRow(ctx, `SELECT `+deviceAuthColumns+` FROM device_authorizations
			WHERE device_code_hash = $1 AND client_id = $2 FOR UPDATE`, hash, clientID))
		if err != nil {
			return err
		}
		at := ts(at)
		if a.LastPollAt != nil && at.Sub(*a.LastPollAt) < interval {
			out, tooFast = a, true
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE device_authorizations SET last_poll_at = $2 WHERE id = $1`, a.ID, at); err != nil {
			return mapErr("poll device authorization", err)
		}
		a.LastPollAt = &at
		out = a
		return nil
	})
	return out, tooFast, err
}

// DecideDeviceAuthorization records the user's decision once.
func (s *Store) DecideDeviceAuthorization(ctx context.Context, id string, approve bool, userID, sessionID string, amr []string, authTime, at time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE device_authorizations SET decided_at = $2, approved = $3, user_id = $4, session_id = $5,
		amr = $6, auth_time = $7 WHERE id = $1 AND decided_at IS NULL AND expires_at > $2`, id, ts(at), approve, userID, sessionID,
		orEmpty(amr), ts(authTime))
	if err != nil {
		return false, mapErr("decide device authorization", err)
	}
	return tag.RowsAffected() == 1, nil
}

// RedeemDeviceAuthorization turns an approved authorization into a grant, once.
func (s *Store) RedeemDeviceAuthorization(ctx context.Context, id string, at time.Time, g store.Grant, a store.AccessToken, rt *store.RefreshToken) (bool, error) {
	var won bool
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE device_authorizations SET redeemed_at = $2
			WHERE id = $1 AND approved AND redeemed_at IS NULL`, id, ts(at))
		if err != nil {
			return mapErr("redeem device authorization", err)
		}
		if tag.RowsAffected() != 1 {
			return nil
		}
		won = true
		if _, err := tx.Exec(ctx, `INSERT INTO oidc_grants (id, client_id, user_id, session_id, scopes, amr, auth_time,
			created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`, g.ID, g.ClientID, g.UserID, g.SessionID, orEmpty(g.Scopes),
			orEmpty(g.AMR), ts(g.AuthTime), s.orNow(g.CreatedAt)); err != nil {
			return mapErr("insert grant", err)
		}
		if err := s.insertAccessToken(ctx, tx, a); err != nil {
			return err
		}
		if rt != nil {
			return s.insertRefreshToken(ctx, tx, *rt)
		}
		return nil
	})
	return won && err == nil, err
}
