package store

import (
	"context"
	"errors"
	"time"
)

// ErrDeviceRevoked is returned when a device credential is presented for a
// device that has been removed (by its user, an admin, a password change,
// an MFA reset, disabling, too many wrong passcodes or a reused token).
var ErrDeviceRevoked = errors.New("store: device revoked")

// ErrTokenReused is returned by RotateDeviceToken when the presented device
// token was already used: its family is compromised, and the store revoked
// the device in the same transaction.
var ErrTokenReused = errors.New("store: device token reused")

// DeviceKind says what sort of program a device registration is.
type DeviceKind string

// The kinds of devices. Each is also the kind of the client it registers
// through (ClientAgent, ClientAddIn, ClientMobile).
const (
	DeviceAgent  DeviceKind = "agent"
	DeviceAddIn  DeviceKind = "add-in"
	DeviceMobile DeviceKind = "mobile"
)

// Valid reports whether k is one of the known device kinds.
func (k DeviceKind) Valid() bool {
	return k == DeviceAgent || k == DeviceAddIn || k == DeviceMobile
}

// A Device is the registration of one program on one machine for one user.
// It holds a refresh-token family (DeviceToken, only hashes stored) and,
// for mobile apps, an app passcode (only its hash stored).
//
// A device is pending from CreateDevice until RegisterDevice: it waits on
// the sign-in flow FlowID to pass its second step, and nothing can use it.
type Device struct {
	ID       string
	UserID   string
	ClientID string
	Kind     DeviceKind
	Name     string // what the user calls it: "Alice's MacBook — sync agent"
	Platform string // "iOS 18", "Windows 11"
	// FlowID is the sign-in flow a pending registration waits on; "" once
	// registered.
	FlowID       string
	CreatedAt    time.Time
	RegisteredAt *time.Time // nil while pending
	LastUsedAt   *time.Time
	LastIP       string
	// PasscodeHash is the password hash of the app passcode; "" when none
	// is set. PasscodeFailures counts wrong passcodes in a row.
	PasscodeHash     string
	PasscodeFailures int
	RevokedAt        *time.Time
	RevokeReason     string
}

// Live reports whether the device is registered and not revoked.
func (d Device) Live() bool { return d.RegisteredAt != nil && d.RevokedAt == nil }

// A DeviceToken is one link of a device's refresh-token family: used once,
// then replaced. Only its SHA-256 hash is stored.
type DeviceToken struct {
	ID        string
	DeviceID  string
	TokenHash []byte
	CreatedAt time.Time
	UsedAt    *time.Time
}

// Devices keeps device registrations. A device goes with its user and its
// client; revoking a device revokes every session opened with it.
type Devices interface {
	// CreateDevice inserts the pending registration d (ID generated when
	// empty; d.FlowID must be set and RegisteredAt nil). An unknown user or
	// client is ErrNotFound.
	CreateDevice(ctx context.Context, d Device) (Device, error)
	// PendingDevice returns the pending registration waiting on flowID, or
	// ErrNotFound.
	PendingDevice(ctx context.Context, flowID string) (Device, error)
	// RegisterDevice turns the pending device id into a registered one in
	// one transaction: it sets RegisteredAt, LastUsedAt and LastIP, clears
	// FlowID, inserts the first token and links sessionID (when not "") to
	// the device. It is ErrStale when the user is disabled or its
	// SecurityVersion is not userVersion, and ErrNotFound when the device
	// is not pending (exactly one of several concurrent callers wins).
	RegisterDevice(ctx context.Context, id string, userVersion int64, first DeviceToken, sessionID, ip string, at time.Time) (Device, error)
	// GetDevice returns the device, pending, live or revoked, or ErrNotFound.
	GetDevice(ctx context.Context, id string) (Device, error)
	// GetDeviceToken returns the token of device deviceID whose value hashes
	// to hash, used or not, or ErrNotFound.
	GetDeviceToken(ctx context.Context, deviceID string, hash []byte) (DeviceToken, error)
	// ListDevices returns the user's registered devices that are not
	// revoked, newest first.
	ListDevices(ctx context.Context, userID string) ([]Device, error)
	// OpenDeviceSession uses the token of device deviceID that hashes to
	// hash and opens sess with it, in one transaction: the token is marked
	// used, next is inserted, sess is inserted and linked to the device,
	// and LastUsedAt/LastIP are set from at and sess.IP. Errors, each
	// leaving the token and sessions unchanged: ErrNotFound (no such token
	// for this device), ErrDeviceRevoked (the device is revoked or
	// pending), ErrStale (the user is disabled or its SecurityVersion is
	// not sess.UserVersion), ErrTokenReused (the token was used before:
	// the device is revoked in the same transaction, and its sessions
	// with it). Of several concurrent calls with one token, exactly one
	// succeeds.
	OpenDeviceSession(ctx context.Context, deviceID string, hash []byte, next DeviceToken, sess Session, at time.Time) (Session, error)
	// UpdateDevice runs fn on the stored device inside one transaction
	// that holds its row locked and stores the PasscodeHash,
	// PasscodeFailures, Name, RevokedAt and RevokeReason fn returns (and,
	// when fn revokes the device, revokes its sessions). If fn returns an
	// error nothing is stored and the error is returned. Concurrent calls
	// for one device are serialized. An unknown device is ErrNotFound.
	UpdateDevice(ctx context.Context, id string, fn func(Device) (Device, error)) (Device, error)
	// RevokeDevice revokes a live or pending device and every session
	// opened with it; it reports whether this call revoked it.
	RevokeDevice(ctx context.Context, id string, at time.Time, reason string) (bool, error)
	// RevokeUserDevices revokes every device of the user that is not
	// revoked yet, with their sessions, and returns how many it revoked.
	// SetPassword, ResetUserMFA and PatchUser (disabling) do the same in
	// their own transaction.
	RevokeUserDevices(ctx context.Context, userID string, at time.Time, reason string) (int, error)
	// SessionDevice returns the id of the device the session was opened
	// with (or registered), or ErrNotFound for any other session.
	SessionDevice(ctx context.Context, sessionID string) (string, error)
	// CreateDeviceAuthorization inserts a (RFC 8628). A user code already
	// in use is ErrConflict; an unknown client is ErrNotFound.
	CreateDeviceAuthorization(ctx context.Context, a DeviceAuthorization) error
	// GetDeviceAuthorizationByUserCode returns the authorization with the
	// given (normalized) user code, or ErrNotFound.
	GetDeviceAuthorizationByUserCode(ctx context.Context, userCode string) (DeviceAuthorization, error)
	// PollDeviceAuthorization records a poll of client clientID with the
	// device code that hashes to hash at at, and returns the
	// authorization. tooFast is true (and nothing is recorded) when the
	// last recorded poll lies less than interval before at. An unknown
	// code, or one of another client, is ErrNotFound.
	PollDeviceAuthorization(ctx context.Context, clientID string, hash []byte, at time.Time, interval time.Duration) (a DeviceAuthorization, tooFast bool, err error)
	// DecideDeviceAuthorization records the user's approval (with the
	// session that stands for the device, its amr and auth time) or
	// denial, once, and only before the authorization expires at at; it
	// reports whether it did.
	DecideDeviceAuthorization(ctx context.Context, id string, approve bool, userID, sessionID string, amr []string, authTime, at time.Time) (bool, error)
	// RedeemDeviceAuthorization marks an approved authorization redeemed
	// and inserts the grant g, the access token a and the refresh token rt
	// (if not nil), in one transaction. Exactly one caller wins; the
	// others get false and nothing is written.
	RedeemDeviceAuthorization(ctx context.Context, id string, at time.Time, g Grant, a AccessToken, rt *RefreshToken) (bool, error)
	// DeleteOldDevices removes pending registrations created before
	// cutoff and devices revoked before cutoff, with their tokens, and
	// device authorizations that expired before cutoff; it returns how
	// many devices it removed.
	DeleteOldDevices(ctx context.Context, cutoff time.Time) (int, error)
}

// A DeviceAuthorization is an OAuth 2.0 device authorization request
// (RFC 8628): an agent without a browser holds the device code (only its
// hash is stored) and polls; the user enters the user code in the portal,
// signs in with both factors and approves or denies.
type DeviceAuthorization struct {
	ID             string
	ClientID       string
	DeviceCodeHash []byte
	UserCode       string // normalized: upper case, without the dash
	Scopes         []string
	CreatedAt      time.Time
	ExpiresAt      time.Time
	LastPollAt     *time.Time
	// Set by DecideDeviceAuthorization.
	DecidedAt *time.Time
	Approved  bool
	UserID    string
	SessionID string // the session that stands for the approved device
	AMR       []string
	AuthTime  *time.Time
	// RedeemedAt is set when the device code yielded tokens (once).
	RedeemedAt *time.Time
}
