package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/twofold-id/twofold/internal/store"
)

var _ store.Devices = (*Store)(nil)

const deviceColumns = `id, user_id, client_id, kind, name, platform, flow_id, created_at, registered_at, last_used_at,
	last_ip, passcode_hash, passcode_failures, revoked_at, revoke_reason`

func scanDevice(row pgx.Row) (store.Device, error) {
	var (
		d    store.Device
		kind string
	)
	err := row.Scan(&d.ID, &d.UserID, &d.ClientID, &kind, &d.Name, &d.Platform, &d.FlowID, &d.CreatedAt, &d.RegisteredAt,
		&d.LastUsedAt, &d.LastIP, &d.PasscodeHash, &d.PasscodeFailures, &d.RevokedAt, &d.RevokeReason)
	if err != nil {
		return store.Device{}, mapErr("scan device", err)
	}
	d.Kind = store.DeviceKind(kind)
	d.CreatedAt = ts(d.CreatedAt)
	d.RegisteredAt, d.LastUsedAt, d.RevokedAt = tsp(d.RegisteredAt), tsp(d.LastUsedAt), tsp(d.RevokedAt)
	return d, nil
}

// CreateDevice inserts the pending registration d.
func (s *Store) CreateDevice(ctx context.Context, d store.Device) (store.Device, error) {
	if d.ID == "" {
		d.ID = store.NewID()
	}
	d.CreatedAt = s.orNow(d.CreatedAt)
	d.RegisteredAt, d.LastUsedAt, d.RevokedAt = nil, nil, nil
	_, err := s.pool.Exec(ctx, `INSERT INTO devices (id, user_id, client_id, kind, name, platform, flow_id, created_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`, d.ID, d.UserID, d.ClientID, string(d.Kind), d.Name, d.Platform, d.FlowID, d.CreatedAt)
	if err != nil {
		return store.Device{}, mapErr("create device", err)
	}
	return d, nil
}

// PendingDevice returns the pending registration waiting on flowID.
func (s *Store) PendingDevice(ctx context.Context, flowID string) (store.Device, error) {
	if flowID == "" {
		return store.Device{}, store.ErrNotFound
	}
	return scanDevice(s.pool.QueryRow(ctx, `SELECT `+deviceColumns+` FROM devices
		WHERE flow_id = $1 AND registered_at IS NULL AND revoked_at IS NULL`, flowID))
}

// RegisterDevice turns a pending device into a registered one. The user's
// row is locked (FOR SHARE) before the device's, the order every writer of
// both follows.
func (s *Store) RegisterDevice(ctx context.Context, id string, userVersion int64, first store.DeviceToken, sessionID, ip string, at time.Time) (store.Device, error) {
	var out store.Device
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var userID string
		if err := tx.QueryRow(ctx, `SELECT user_id FROM devices WHERE id = $1`, id).Scan(&userID); err != nil {
			return mapErr("register device", err)
		}
		if err := userLive(ctx, tx, userID, userVersion); err != nil {
			return err
		}
		at := ts(at)
		d, err := scanDevice(tx.QueryRow(ctx, `UPDATE devices SET registered_at = $2, last_used_at = $2, last_ip = $3, flow_id = ''
			WHERE id = $1 AND registered_at IS NULL AND revoked_at IS NULL RETURNING `+deviceColumns, id, at, ip))
		if err != nil {
			return err
		}
		first.DeviceID = id
		if err := s.insertDeviceToken(ctx, tx, first); err != nil {
			return err
		}
		if sessionID != "" {
			if _, err := tx.Exec(ctx, `INSERT INTO device_sessions (session_id, device_id) VALUES ($1,$2)`, sessionID, id); err != nil {
				return mapErr("link device session", err)
			}
		}
		out = d
		return nil
	})
	return out, err
}

func (s *Store) insertDeviceToken(ctx context.Context, q querier, t store.DeviceToken) error {
	if t.ID == "" {
		t.ID = store.NewID()
	}
	_, err := q.Exec(ctx, `INSERT INTO device_tokens (id, device_id, token_hash, created_at) VALUES ($1,$2,$3,$4)`,
		t.ID, t.DeviceID, t.TokenHash, s.orNow(t.CreatedAt))
	return mapErr("insert device token", err)
}

// GetDevice returns the device, or store.ErrNotFound.
func (s *Store) GetDevice(ctx context.Context, id string) (store.Device, error) {
	return scanDevice(s.pool.QueryRow(ctx, `SELECT `+deviceColumns+` FROM devices WHERE id = $1`, id))
}

// GetDeviceToken returns the device's token with the given hash.
func (s *Store) GetDeviceToken(ctx context.Context, deviceID string, hash []byte) (store.DeviceToken, error) {
	var t store.DeviceToken
	err := s.pool.QueryRow(ctx, `SELECT id, device_id, token_hash, created_at, used_at FROM device_tokens
		WHERE token_hash = $1 AND device_id = $2`, hash, deviceID).Scan(&t.ID, &t.DeviceID, &t.TokenHash, &t.CreatedAt, &t.UsedAt)
	if err != nil {
		return store.DeviceToken{}, mapErr("get device token", err)
	}
	t.CreatedAt, t.UsedAt = ts(t.CreatedAt), tsp(t.UsedAt)
	return t, nil
}

// ListDevices returns the user's live devices, newest first.
func (s *Store) ListDevices(ctx context.Context, userID string) ([]store.Device, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+deviceColumns+` FROM devices
		WHERE user_id = $1 AND registered_at IS NOT NULL AND revoked_at IS NULL ORDER BY registered_at DESC, id`, userID)
	if err != nil {
		return nil, mapErr("list devices", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Device, error) { return scanDevice(r) })
	return list, mapErr("list devices", err)
}

// errReused carries a reuse whose revocation must be committed out of fn.
var errReused = errors.New("reused")

// OpenDeviceSession uses a device token and opens sess with it. The token's
// row is locked first (so of several callers with one token exactly one
// sees it unused), then the user's (FOR SHARE), then the device's.
func (s *Store) OpenDeviceSession(ctx context.Context, deviceID string, hash []byte, next store.DeviceToken, sess store.Session, at time.Time) (store.Session, error) {
	var (
		out    store.Session
		reused bool
	)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var used *time.Time
		if err := tx.QueryRow(ctx, `SELECT used_at FROM device_tokens WHERE token_hash = $1 AND device_id = $2 FOR UPDATE`,
			hash, deviceID).Scan(&used); err != nil {
			return mapErr("open device session", err)
		}
		var userID string
		if err := tx.QueryRow(ctx, `SELECT user_id FROM devices WHERE id = $1`, deviceID).Scan(&userID); err != nil {
			return mapErr("open device session", err)
		}
		if used == nil {
			if err := userLive(ctx, tx, userID, sess.UserVersion); err != nil {
				return err
			}
		}
		d, err := scanDevice(tx.QueryRow(ctx, `SELECT `+deviceColumns+` FROM devices WHERE id = $1 FOR UPDATE`, deviceID))
		if err != nil {
			return err
		}
		if !d.Live() {
			return store.ErrDeviceRevoked
		}
		if used != nil {
			reused = true
			_, err := revokeDevices(ctx, tx, `id = $3`, at, "device token reused", deviceID)
			return err // committed: the reuse revokes the family
		}
		if _, err := tx.Exec(ctx, `UPDATE device_tokens SET used_at = $2 WHERE token_hash = $1`, hash, ts(at)); err != nil {
			return mapErr("use device token", err)
		}
		next.DeviceID = deviceID
		if err := s.insertDeviceToken(ctx, tx, next); err != nil {
			return err
		}
		if out, err = s.insertSession(ctx, tx, sess); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO device_sessions (session_id, device_id) VALUES ($1,$2)`, out.ID, deviceID); err != nil {
			return mapErr("link device session", err)
		}
		_, err = tx.Exec(ctx, `UPDATE devices SET last_used_at = $2, last_ip = $3 WHERE id = $1`, deviceID, ts(at), sess.IP)
		return mapErr("touch device", err)
	})
	if err == nil && reused {
		return store.Session{}, store.ErrTokenReused
	}
	return out, err
}

// revokeDevices revokes the devices matching where (whose arguments start
// at $3) that are not revoked yet, and every session opened with them; it
// returns how many devices it revoked.
func revokeDevices(ctx context.Context, tx pgx.Tx, where string, at time.Time, reason string, args ...any) (int, error) {
	a := append([]any{ts(at), reason}, args...)
	tag, err := tx.Exec(ctx, `UPDATE devices SET revoked_at = $1, revoke_reason = $2 WHERE revoked_at IS NULL AND `+where, a...)
	if err != nil {
		return 0, mapErr("revoke devices", err)
	}
	n := int(tag.RowsAffected())
	if n == 0 {
		return 0, nil
	}
	_, err = tx.Exec(ctx, `UPDATE sessions SET revoked_at = $1, revoke_reason = 'device removed: ' || $2::text
		WHERE revoked_at IS NULL AND id IN (SELECT ds.session_id FROM device_sessions ds JOIN devices d ON d.id = ds.device_id
		WHERE d.revoked_at = $1 AND d.`+where+`)`, a...)
	return n, mapErr("revoke device sessions", err)
}

// UpdateDevice runs fn on the device with its row locked.
func (s *Store) UpdateDevice(ctx context.Context, id string, fn func(store.Device) (store.Device, error)) (store.Device, error) {
	var out store.Device
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		d, err := scanDevice(tx.QueryRow(ctx, `SELECT `+deviceColumns+` FROM devices WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return err
		}
		n, err := fn(d)
		if err != nil {
			return err
		}
		n.ID = d.ID
		if _, err := tx.Exec(ctx, `UPDATE devices SET passcode_hash = $2, passcode_failures = $3, name = $4 WHERE id = $1`,
			id, n.PasscodeHash, n.PasscodeFailures, n.Name); err != nil {
			return mapErr("update device", err)
		}
		if d.RevokedAt == nil && n.RevokedAt != nil {
			if _, err := revokeDevices(ctx, tx, `id = $3`, *n.RevokedAt, n.RevokeReason, id); err != nil {
				return err
			}
			n.RevokedAt = tsp(n.RevokedAt)
		} else {
			n.RevokedAt, n.RevokeReason = d.RevokedAt, d.RevokeReason
		}
		out = n
		return nil
	})
	return out, err
}

// RevokeDevice revokes the device and its sessions.
func (s *Store) RevokeDevice(ctx context.Context, id string, at time.Time, reason string) (bool, error) {
	var n int
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		n, err = revokeDevices(ctx, tx, `id = $3`, at, reason, id)
		return err
	})
	return n == 1, err
}

// RevokeUserDevices revokes every device of the user and their sessions.
func (s *Store) RevokeUserDevices(ctx context.Context, userID string, at time.Time, reason string) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		n, err = revokeDevices(ctx, tx, `user_id = $3`, at, reason, userID)
		return err
	})
	return n, err
}

// DeleteOldDevices removes stale pending and old revoked devices.
func (s *Store) DeleteOldDevices(ctx context.Context, cutoff time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM devices WHERE (registered_at IS NULL AND created_at < $1) OR revoked_at < $1`, ts(cutoff))
	if err != nil {
		return 0, mapErr("delete old devices", err)
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM device_authorizations WHERE expires_at < $1`, ts(cutoff)); err != nil {
		return 0, mapErr("delete old device authorizations", err)
	}
	return int(tag.RowsAffected()), nil
}

// SessionDevice returns the device the session belongs to.
func (s *Store) SessionDevice(ctx context.Context, sessionID string) (string, error) {
	var id string
	err := s.pool.QueryRow(ctx, `SELECT device_id FROM device_sessions WHERE session_id = $1`, sessionID).Scan(&id)
	return id, mapErr("session device", err)
}

// revokeUserDevicesAudited revokes every device of the user inside tx (a
// password change, an MFA reset, disabling) and appends a device.remove
// audit event for each in the same transaction, so a removal the caller
// never sees is still in the log.
func revokeUserDevicesAudited(ctx context.Context, tx pgx.Tx, userID string, at time.Time, reason string) error {
	n, err := revokeDevices(ctx, tx, `user_id = $3`, at, reason, userID)
	if err != nil || n == 0 {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO audit_events (at, target_user_id, org_id, event, outcome, detail)
		SELECT $1, d.user_id, u.org_id, 'device.remove', 'success', $2::text || '; device ' || d.id || ' (' || d.kind || ') "' || d.name || '"'
		FROM devices d JOIN users u ON u.id = d.user_id WHERE d.user_id = $3 AND d.revoked_at = $1 AND d.revoke_reason = $2`,
		ts(at), reason, userID)
	return mapErr("audit device removals", err)
}
