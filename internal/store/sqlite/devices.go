package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

var _ store.Devices = (*Store)(nil)

const deviceCols = `id, user_id, client_id, kind, name, platform, flow_id, created_at, registered_at, last_used_at,
	last_ip, passcode_hash, passcode_failures, revoked_at, revoke_reason`

func scanDevice(sc scanner) (store.Device, error) {
	var (
		d                        store.Device
		created                  int64
		registered, used, revoke sql.NullInt64
	)
	err := sc.Scan(&d.ID, &d.UserID, &d.ClientID, &d.Kind, &d.Name, &d.Platform, &d.FlowID, &created, &registered, &used,
		&d.LastIP, &d.PasscodeHash, &d.PasscodeFailures, &revoke, &d.RevokeReason)
	if err != nil {
		return store.Device{}, mapErr(err)
	}
	d.CreatedAt = fromMicro(created)
	d.RegisteredAt, d.LastUsedAt, d.RevokedAt = fromNullMicro(registered), fromNullMicro(used), fromNullMicro(revoke)
	return d, nil
}

// CreateDevice inserts the pending registration d.
func (s *Store) CreateDevice(ctx context.Context, d store.Device) (store.Device, error) {
	if d.ID == "" {
		d.ID = store.NewID()
	}
	d.CreatedAt = s.orNow(d.CreatedAt)
	d.RegisteredAt, d.LastUsedAt, d.RevokedAt = nil, nil, nil
	_, err := s.exec(ctx, `INSERT INTO devices (id, user_id, client_id, kind, name, platform, flow_id, created_at)
		VALUES (?,?,?,?,?,?,?,?)`, d.ID, d.UserID, d.ClientID, string(d.Kind), d.Name, d.Platform, d.FlowID, micro(d.CreatedAt))
	if isFK(err) {
		return store.Device{}, store.ErrNotFound
	}
	if err != nil {
		return store.Device{}, err
	}
	return d, nil
}

// PendingDevice returns the pending registration waiting on flowID.
func (s *Store) PendingDevice(ctx context.Context, flowID string) (store.Device, error) {
	if flowID == "" {
		return store.Device{}, store.ErrNotFound
	}
	return scanDevice(s.r.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM devices
		WHERE flow_id = ? AND registered_at IS NULL AND revoked_at IS NULL`, flowID))
}

// RegisterDevice turns a pending device into a registered one.
func (s *Store) RegisterDevice(ctx context.Context, id string, userVersion int64, first store.DeviceToken, sessionID, ip string, at time.Time) (store.Device, error) {
	var out store.Device
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		d, err := scanDevice(tx.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM devices WHERE id = ?`, id))
		if err != nil {
			return err
		}
		if d.RegisteredAt != nil || d.RevokedAt != nil {
			return store.ErrNotFound
		}
		if err := userLive(ctx, tx, d.UserID, userVersion); err != nil {
			return err
		}
		at := norm(at)
		if _, err := tx.ExecContext(ctx, `UPDATE devices SET registered_at = ?, last_used_at = ?, last_ip = ?, flow_id = ''
			WHERE id = ?`, micro(at), micro(at), ip, id); err != nil {
			return mapErr(err)
		}
		first.DeviceID = id
		if err := s.insertDeviceToken(ctx, tx, first); err != nil {
			return err
		}
		if sessionID != "" {
			if _, err := tx.ExecContext(ctx, `INSERT INTO device_sessions (session_id, device_id) VALUES (?,?)`, sessionID, id); err != nil {
				return mapErr(err)
			}
		}
		d.RegisteredAt, d.LastUsedAt, d.LastIP, d.FlowID = &at, &at, ip, ""
		out = d
		return nil
	})
	return out, err
}

func (s *Store) insertDeviceToken(ctx context.Context, ex execer, t store.DeviceToken) error {
	if t.ID == "" {
		t.ID = store.NewID()
	}
	_, err := ex.ExecContext(ctx, `INSERT INTO device_tokens (id, device_id, token_hash, created_at) VALUES (?,?,?,?)`,
		t.ID, t.DeviceID, t.TokenHash, micro(s.orNow(t.CreatedAt)))
	return mapErr(err)
}

// GetDevice returns the device, or store.ErrNotFound.
func (s *Store) GetDevice(ctx context.Context, id string) (store.Device, error) {
	return scanDevice(s.r.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM devices WHERE id = ?`, id))
}

// GetDeviceToken returns the device's token with the given hash.
func (s *Store) GetDeviceToken(ctx context.Context, deviceID string, hash []byte) (store.DeviceToken, error) {
	var (
		t       store.DeviceToken
		created int64
		used    sql.NullInt64
	)
	err := s.r.QueryRowContext(ctx, `SELECT id, device_id, token_hash, created_at, used_at FROM device_tokens
		WHERE token_hash = ? AND device_id = ?`, hash, deviceID).Scan(&t.ID, &t.DeviceID, &t.TokenHash, &created, &used)
	if err != nil {
		return store.DeviceToken{}, mapErr(err)
	}
	t.CreatedAt, t.UsedAt = fromMicro(created), fromNullMicro(used)
	return t, nil
}

// ListDevices returns the user's live devices, newest first.
func (s *Store) ListDevices(ctx context.Context, userID string) ([]store.Device, error) {
	return queryAll(ctx, s.r, scanDevice, `SELECT `+deviceCols+` FROM devices
		WHERE user_id = ? AND registered_at IS NOT NULL AND revoked_at IS NULL ORDER BY registered_at DESC, id`, userID)
}

// errReused carries a committed reuse revocation out of inTx.
var errReused = errors.New("reused")

// OpenDeviceSession uses a device token and opens sess with it.
func (s *Store) OpenDeviceSession(ctx context.Context, deviceID string, hash []byte, next store.DeviceToken, sess store.Session, at time.Time) (store.Session, error) {
	var out store.Session
	err := s.inTxKeep(ctx, errReused, func(tx *sql.Tx) error {
		var used sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT used_at FROM device_tokens WHERE token_hash = ? AND device_id = ?`,
			hash, deviceID).Scan(&used); err != nil {
			return mapErr(err)
		}
		d, err := scanDevice(tx.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM devices WHERE id = ?`, deviceID))
		if err != nil {
			return err
		}
		if !d.Live() {
			return store.ErrDeviceRevoked
		}
		if used.Valid {
			if err := revokeDevices(ctx, tx, `id = ?`, at, "device token reused", deviceID); err != nil {
				return err
			}
			return errReused // commit the revocation
		}
		if err := userLive(ctx, tx, d.UserID, sess.UserVersion); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE device_tokens SET used_at = ? WHERE token_hash = ?`, micro(norm(at)), hash); err != nil {
			return mapErr(err)
		}
		next.DeviceID = deviceID
		if err := s.insertDeviceToken(ctx, tx, next); err != nil {
			return err
		}
		if out, err = s.insertSession(ctx, tx, sess); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO device_sessions (session_id, device_id) VALUES (?,?)`, out.ID, deviceID); err != nil {
			return mapErr(err)
		}
		_, err = tx.ExecContext(ctx, `UPDATE devices SET last_used_at = ?, last_ip = ? WHERE id = ?`, micro(norm(at)), sess.IP, deviceID)
		return mapErr(err)
	})
	if errors.Is(err, errReused) {
		return store.Session{}, store.ErrTokenReused
	}
	return out, err
}

// inTxKeep is inTx that commits what fn wrote when fn returns keep, and
// still returns keep.
func (s *Store) inTxKeep(ctx context.Context, keep error, fn func(tx *sql.Tx) error) error {
	var kept error
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		err := fn(tx)
		if errors.Is(err, keep) {
			kept = err
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	return kept
}

// revokeDevicesN revokes the devices matching where (with args) that are
// not revoked yet, and every session opened with them; it returns how many
// devices it revoked.
func revokeDevicesN(ctx context.Context, tx *sql.Tx, where string, at time.Time, reason string, args ...any) (int, error) {
	a := append([]any{micro(norm(at)), reason}, args...)
	res, err := tx.ExecContext(ctx, `UPDATE devices SET revoked_at = ?, revoke_reason = ? WHERE revoked_at IS NULL AND `+where, a...)
	if err != nil {
		return 0, mapErr(err)
	}
	n, _ := res.RowsAffected()
	if n == 0 {
		return 0, nil
	}
	_, err = tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ?, revoke_reason = ? WHERE revoked_at IS NULL AND id IN
		(SELECT ds.session_id FROM device_sessions ds JOIN devices d ON d.id = ds.device_id WHERE d.revoked_at = ? AND d.`+where+`)`,
		append([]any{micro(norm(at)), "device removed: " + reason, micro(norm(at))}, args...)...)
	return int(n), mapErr(err)
}

func revokeDevices(ctx context.Context, tx *sql.Tx, where string, at time.Time, reason string, args ...any) error {
	_, err := revokeDevicesN(ctx, tx, where, at, reason, args...)
	return err
}

// UpdateDevice runs fn on the device with its row held.
func (s *Store) UpdateDevice(ctx context.Context, id string, fn func(store.Device) (store.Device, error)) (store.Device, error) {
	var out store.Device
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		d, err := scanDevice(tx.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM devices WHERE id = ?`, id))
		if err != nil {
			return err
		}
		n, err := fn(d)
		if err != nil {
			return err
		}
		n.ID = d.ID
		if _, err := tx.ExecContext(ctx, `UPDATE devices SET passcode_hash = ?, passcode_failures = ?, name = ? WHERE id = ?`,
			n.PasscodeHash, n.PasscodeFailures, n.Name, id); err != nil {
			return mapErr(err)
		}
		if d.RevokedAt == nil && n.RevokedAt != nil {
			if err := revokeDevices(ctx, tx, `id = ?`, *n.RevokedAt, n.RevokeReason, id); err != nil {
				return err
			}
			n.RevokedAt = normPtr(n.RevokedAt)
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
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = revokeDevicesN(ctx, tx, `id = ?`, at, reason, id)
		return err
	})
	return n == 1, err
}

// RevokeUserDevices revokes every device of the user and their sessions.
func (s *Store) RevokeUserDevices(ctx context.Context, userID string, at time.Time, reason string) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = revokeDevicesN(ctx, tx, `user_id = ?`, at, reason, userID)
		return err
	})
	return n, err
}

// DeleteOldDevices removes stale pending and old revoked devices.
func (s *Store) DeleteOldDevices(ctx context.Context, cutoff time.Time) (int, error) {
	n, err := s.exec(ctx, `DELETE FROM devices WHERE (registered_at IS NULL AND created_at < ?) OR revoked_at < ?`,
		micro(cutoff), micro(cutoff))
	if err != nil {
		return 0, err
	}
	_, err = s.exec(ctx, `DELETE FROM device_authorizations WHERE expires_at < ?`, micro(cutoff))
	return int(n), err
}

// SessionDevice returns the device the session belongs to.
func (s *Store) SessionDevice(ctx context.Context, sessionID string) (string, error) {
	var id string
	err := s.r.QueryRowContext(ctx, `SELECT device_id FROM device_sessions WHERE session_id = ?`, sessionID).Scan(&id)
	return id, mapErr(err)
}

// revokeUserDevicesAudited revokes every device of the user inside tx (a
// password change, an MFA reset, disabling) and appends a device.remove
// audit event for each in the same transaction, so a removal the caller
// never sees is still in the log.
func revokeUserDevicesAudited(ctx context.Context, tx *sql.Tx, userID string, at time.Time, reason string) error {
	n, err := revokeDevicesN(ctx, tx, `user_id = ?`, at, reason, userID)
	if err != nil || n == 0 {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO audit_events (at, target_user_id, org_id, event, outcome, detail)
		SELECT ?, d.user_id, u.org_id, 'device.remove', 'success', ? || '; device ' || d.id || ' (' || d.kind || ') "' || d.name || '"'
		FROM devices d JOIN users u ON u.id = d.user_id WHERE d.user_id = ? AND d.revoked_at = ? AND d.revoke_reason = ?`,
		micro(norm(at)), reason, userID, micro(norm(at)), reason)
	return mapErr(err)
}
