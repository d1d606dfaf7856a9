package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

const deviceAuthCols = `id, client_id, device_code_hash, user_code, scopes, created_at, expires_at, last_poll_at, decided_at,
	approved, user_id, session_id, amr, auth_time, redeemed_at`

func scanDeviceAuth(sc scanner) (store.DeviceAuthorization, error) {
	var (
		a                                   store.DeviceAuthorization
		scopes, amr                         sql.NullString
		created, expires                    int64
		poll, decided, authTime, redeemedAt sql.NullInt64
	)
	err := sc.Scan(&a.ID, &a.ClientID, &a.DeviceCodeHash, &a.UserCode, &scopes, &created, &expires, &poll, &decided,
		&a.Approved, &a.UserID, &a.SessionID, &amr, &authTime, &redeemedAt)
	if err != nil {
		return store.DeviceAuthorization{}, mapErr(err)
	}
	if a.Scopes, err = decodeList(scopes); err != nil {
		return store.DeviceAuthorization{}, err
	}
	if a.AMR, err = decodeList(amr); err != nil {
		return store.DeviceAuthorization{}, err
	}
	a.CreatedAt, a.ExpiresAt = fromMicro(created), fromMicro(expires)
	a.LastPollAt, a.DecidedAt, a.AuthTime, a.RedeemedAt = fromNullMicro(poll), fromNullMicro(decided), fromNullMicro(authTime), fromNullMicro(redeemedAt)
	return a, nil
}

// CreateDeviceAuthorization inserts a.
func (s *Store) CreateDeviceAuthorization(ctx context.Context, a store.DeviceAuthorization) error {
	if a.ID == "" {
		a.ID = store.NewID()
	}
	_, err := s.exec(ctx, `INSERT INTO device_authorizations (id, client_id, device_code_hash, user_code, scopes, created_at, expires_at)
		VALUES (?,?,?,?,?,?,?)`, a.ID, a.ClientID, a.DeviceCodeHash, a.UserCode, listOrEmpty(a.Scopes), micro(s.orNow(a.CreatedAt)), micro(a.ExpiresAt))
	if isFK(err) {
		return store.ErrNotFound
	}
	return err
}

// GetDeviceAuthorizationByUserCode returns the authorization of a user code.
func (s *Store) GetDeviceAuthorizationByUserCode(ctx context.Context, userCode string) (store.DeviceAuthorization, error) {
	return scanDeviceAuth(s.r.QueryRowContext(ctx, `SELECT `+deviceAuthCols+` FROM device_authorizations WHERE user_code = ?`, userCode))
}

// PollDeviceAuthorization records a poll unless it comes too fast.
func (s *Store) PollDeviceAuthorization(ctx context.Context, clientID string, hash []byte, at time.Time, interval time.Duration) (store.DeviceAuthorization, bool, error) {
	var (
		out     store.DeviceAuthorization
		tooFast bool
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		a, err := scanDeviceAuth(tx.QueryRowContext(ctx, `SELECT `+deviceAuthCols+` FROM device_authorizations
			WHERE device_code_hash = ? AND client_id = ?`, hash, clientID))
		if err != nil {
			return err
		}
		at := norm(at)
		if a.LastPollAt != nil && at.Sub(*a.LastPollAt) < interval {
			out, tooFast = a, true
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE device_authorizations SET last_poll_at = ? WHERE id = ?`, micro(at), a.ID); err != nil {
			return mapErr(err)
		}
		a.LastPollAt = &at
		out = a
		return nil
	})
	return out, tooFast, err
}

// DecideDeviceAuthorization records the user's decision once.
func (s *Store) DecideDeviceAuthorization(ctx context.Context, id string, approve bool, userID, sessionID string, amr []string, authTime, at time.Time) (bool, error) {
	n, err := s.exec(ctx, `UPDATE device_authorizations SET decided_at = ?, approved = ?, user_id = ?, session_id = ?, amr = ?, auth_time = ?
		WHERE id = ? AND decided_at IS NULL AND expires_at > ?`, micro(norm(at)), approve, userID, sessionID, listOrEmpty(amr),
		micro(norm(authTime)), id, micro(norm(at)))
	return n == 1, err
}

// RedeemDeviceAuthorization turns an approved authorization into a grant, once.
func (s *Store) RedeemDeviceAuthorization(ctx context.Context, id string, at time.Time, g store.Grant, a store.AccessToken, rt *store.RefreshToken) (bool, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE device_authorizations SET redeemed_at = ?
			WHERE id = ? AND approved = 1 AND redeemed_at IS NULL`, micro(norm(at)), id)
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
