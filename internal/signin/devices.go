package signin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/notice"
	"github.com/twofold-id/twofold/internal/problem"
	"github.com/twofold-id/twofold/internal/store"
)

// Devices (issue 14): an agent, a mail add-in or a mobile app registers
// through the JSON sign-in with a second factor, and then holds a device
// token — a refresh-token family rotated at every use, only hashes stored —
// with which it opens new sessions. The rules per kind:
//
//   - agent: nothing more than the device token;
//   - add-in: a fresh second-factor code at every new session;
//   - mobile: an app passcode, required when the user's effective policy
//     requires a second factor, optional otherwise; 5 wrong passcodes in a
//     row remove the device.
//
// Registering never skips the second factor: a sign-in that passed only
// the password cannot register a device (ErrMFASetupRequired). A password
// change, an MFA reset or disabling the user revokes every device in the
// store's own transaction; the device's sessions go with it.

// The errors of devices. Their codes are part of the public API.
var (
	ErrMFASetupRequired = problem.Define(http.StatusForbidden, "mfa_setup_required",
		"Set up two-step sign-in in the portal before registering this device.")
	ErrPasscodeRequired = problem.Define(http.StatusForbidden, "passcode_required",
		"This app needs an app passcode: set one before opening a session.")
	ErrInvalidPasscode = problem.Define(http.StatusUnauthorized, "invalid_passcode",
		"That passcode is not correct.")
	ErrSecondFactorRequired = problem.Define(http.StatusUnauthorized, "second_factor_required",
		"A new session of this add-in needs a current two-step code.")
	ErrDeviceRevoked = problem.Define(http.StatusUnauthorized, "device_revoked",
		"This device has been removed. Sign in again with both factors to register it.")
	ErrInvalidDevice = problem.Define(http.StatusBadRequest, "invalid_device",
		"The client or device description is not valid for a device registration.")
)

// MaxPasscodeFailures is how many wrong passcodes in a row remove a device.
const MaxPasscodeFailures = 5

// devicePrefix marks device tokens.
const devicePrefix = "tfd_"

// DeviceRequest describes the device a sign-in registers.
type DeviceRequest struct {
	ClientID string
	Kind     store.DeviceKind // "" = the client's kind
	Name     string
	Platform string
}

// DeviceResult is a finished device registration.
type DeviceResult struct {
	Result
	Device           store.Device
	DeviceToken      string // the long-lived credential, shown once
	PasscodeRequired bool
}

// DeviceSession is a session a registered device opened.
type DeviceSession struct {
	AccessToken string
	DeviceToken string // the successor of the token presented
	Session     store.Session
}

// checkDeviceRequest validates dev against the client registry: the client
// must exist and be of a device kind, and dev.Kind (when given) must be
// that kind.
func (s *Service) checkDeviceRequest(ctx context.Context, dev *DeviceRequest) (store.Client, error) {
	if dev.ClientID == "" {
		return store.Client{}, ErrInvalidDevice.WithMessage("client_id is required to register a device.").WithField("client_id")
	}
	cl, err := s.store.GetClient(ctx, dev.ClientID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Client{}, ErrInvalidDevice.WithMessage("Unknown client_id.").WithField("client_id")
	}
	if err != nil {
		return store.Client{}, err
	}
	kind, ok := cl.Kind.DeviceKind()
	if !ok {
		return store.Client{}, ErrInvalidDevice.WithMessage("This client does not register devices (its kind is not agent, add-in or mobile).").WithField("client_id")
	}
	if dev.Kind == "" {
		dev.Kind = kind
	}
	if dev.Kind != kind {
		return store.Client{}, ErrInvalidDevice.WithMessage(fmt.Sprintf("This client registers devices of kind %s.", kind)).WithField("device.kind")
	}
	dev.Name, dev.Platform = strings.TrimSpace(dev.Name), strings.TrimSpace(dev.Platform)
	if dev.Name == "" || utf8.RuneCountInString(dev.Name) > 100 || strings.ContainsFunc(dev.Name, isControl) {
		return store.Client{}, ErrInvalidDevice.WithMessage("device.name must be 1 to 100 printable characters.").WithField("device.name")
	}
	if utf8.RuneCountInString(dev.Platform) > 100 || strings.ContainsFunc(dev.Platform, isControl) {
		return store.Client{}, ErrInvalidDevice.WithMessage("device.platform must be at most 100 printable characters.").WithField("device.platform")
	}
	return cl, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// clientServes reports whether users of org may use cl: cl belongs to org
// or one of its ancestors.
func (s *Service) clientServes(ctx context.Context, cl store.Client, org store.Org) (bool, error) {
	owner, err := s.store.GetOrg(ctx, cl.OrgID)
	if err != nil {
		return false, err
	}
	return owner.IsAncestorOf(org), nil
}

// mfaSetupRequired is ErrMFASetupRequired with the portal page where a
// factor is set up.
func (s *Service) mfaSetupRequired() error {
	return ErrMFASetupRequired.WithURL(strings.TrimRight(s.opts.BaseURL, "/") + "/security")
}

// LoginDevice is Login for a sign-in that registers the device dev. A
// correct password yields the second-factor challenge with the device
// waiting on it (VerifyDevice finishes both); a user without a confirmed
// factor is refused with ErrMFASetupRequired — whatever the policy says,
// a device is never registered on the password alone.
func (s *Service) LoginDevice(ctx context.Context, req LoginRequest, dev DeviceRequest, c Client) (Result, error) {
	cl, err := s.checkDeviceRequest(ctx, &dev)
	if err != nil {
		return Result{}, err
	}
	res, err := s.Login(ctx, req, c)
	if err != nil {
		return Result{}, err
	}
	if res.Status != StatusMFARequired {
		if res.Status == StatusAuthenticated {
			// A password-only session must not stand in for a device.
			if err := s.store.RevokeSession(ctx, res.Session.ID, s.now().UTC(), "device registration needs a second factor"); err != nil {
				return Result{}, err
			}
		}
		s.record(ctx, store.AuditEvent{ActorUserID: res.User.ID, TargetUserID: res.User.ID, OrgID: res.Org.ID,
			Event: audit.DeviceRegistered, Outcome: audit.Denied, Detail: "no second factor set up; client " + cl.ID}, c)
		return Result{}, s.mfaSetupRequired()
	}
	if err := s.addPendingDevice(ctx, res.FlowToken, res.User, res.Org, cl, dev); err != nil {
		return Result{}, err
	}
	return res, nil
}

// addPendingDevice records dev as waiting on the flow of flowTok.
func (s *Service) addPendingDevice(ctx context.Context, flowTok string, u store.User, org store.Org, cl store.Client, dev DeviceRequest) error {
	if ok, err := s.clientServes(ctx, cl, org); err != nil {
		return err
	} else if !ok {
		return ErrInvalidDevice.WithMessage("This client is not registered for your organization.").WithField("client_id")
	}
	f, err := s.store.GetFlowByTokenHash(ctx, hashToken(flowTok))
	if err != nil {
		return err
	}
	_, err = s.store.CreateDevice(ctx, store.Device{UserID: u.ID, ClientID: cl.ID, Kind: dev.Kind, Name: dev.Name,
		Platform: dev.Platform, FlowID: f.ID, CreatedAt: s.now().UTC()})
	return err
}

// VerifyDevice is Verify for a flow that registers a device: the device
// named at LoginDevice, or dev when the login named none (dev may be nil).
// When neither names a device it is plain Verify. On success the device is
// registered with its first token, the verified sign-in's session becomes
// its first session, and the user is sent a notice.
func (s *Service) VerifyDevice(ctx context.Context, flowTok, method, code string, dev *DeviceRequest, c Client) (DeviceResult, error) {
	var pending store.Device
	if wellFormed(flowTok, flowPrefix) {
		f, err := s.store.GetFlowByTokenHash(ctx, hashToken(flowTok))
		if err == nil {
			pending, err = s.store.PendingDevice(ctx, f.ID)
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return DeviceResult{}, err
		}
		if pending.ID == "" && dev != nil {
			cl, err := s.checkDeviceRequest(ctx, dev)
			if err != nil {
				return DeviceResult{}, err
			}
			if f.ID != "" && f.ConsumedAt == nil {
				u, err := s.store.GetUser(ctx, f.UserID)
				if err != nil {
					return DeviceResult{}, ErrInvalidFlow
				}
				org, err := s.store.GetOrg(ctx, u.OrgID)
				if err != nil {
					return DeviceResult{}, err
				}
				if err := s.addPendingDevice(ctx, flowTok, u, org, cl, *dev); err != nil {
					return DeviceResult{}, err
				}
				if pending, err = s.store.PendingDevice(ctx, f.ID); err != nil {
					return DeviceResult{}, err
				}
			}
		}
	}
	res, err := s.Verify(ctx, flowTok, method, code, c)
	if err != nil || pending.ID == "" {
		return DeviceResult{Result: res}, err
	}
	tok, hash := newToken(devicePrefix)
	now := s.now().UTC()
	d, err := s.store.RegisterDevice(ctx, pending.ID, res.User.SecurityVersion, store.DeviceToken{TokenHash: hash, CreatedAt: now},
		res.Session.ID, c.IP, now)
	if err != nil {
		// The sign-in session stands for a device that was not registered.
		_ = s.store.RevokeSession(ctx, res.Session.ID, now, "device registration failed")
		if errors.Is(err, store.ErrStale) || errors.Is(err, store.ErrNotFound) {
			return DeviceResult{}, ErrInvalidFlow
		}
		return DeviceResult{}, err
	}
	// The sign-in's session is the device's first: it says so in its amr,
	// which keeps it off factor and password changes (IsDeviceSession).
	res.Session.AMR = append(slices.Clone(res.Session.AMR), "swk")
	if err := s.store.MarkSessionMFA(ctx, res.Session.ID, res.Session.AMR, now); err != nil {
		return DeviceResult{}, err
	}
	pol, err := s.Policy(ctx, res.User)
	if err != nil {
		return DeviceResult{}, err
	}
	s.record(ctx, store.AuditEvent{ActorUserID: d.UserID, TargetUserID: d.UserID, OrgID: res.User.OrgID, Event: audit.DeviceRegistered,
		Outcome: audit.Success, Detail: deviceDetail(d)}, c)
	s.notify(ctx, res.User, notice.DeviceRegistered, deviceDetail(d), c) // after the commit
	required := false
	if cl, err := s.store.GetClient(ctx, d.ClientID); err == nil {
		r := effectiveRules(d.Kind, cl.DeviceRules)
		required = r.Passcode == "required" || (r.Passcode == "policy" && pol.Required)
	}
	return DeviceResult{Result: res, Device: d, DeviceToken: tok, PasscodeRequired: required}, nil
}

func deviceDetail(d store.Device) string {
	detail := fmt.Sprintf("device %s (%s) %q", d.ID, d.Kind, d.Name)
	if d.Platform != "" {
		detail += " on " + d.Platform
	}
	return detail + ", client " + d.ClientID
}

// OpenSessionRequest is what a registered device presents for a new
// session.
type OpenSessionRequest struct {
	DeviceID    string
	DeviceToken string
	Passcode    string // mobile apps
	Method      string // add-ins: the method of Code ("" = any)
	Code        string // add-ins: a current second-factor code
}

// OpenDeviceSession opens a new session for a registered device, deciding
// from current data: the device must be live, its token current (a used
// token revokes the device), its user enabled, and the rule of its kind
// met (see the package comment above). The device token is rotated; the
// answer carries its successor.
func (s *Service) OpenDeviceSession(ctx context.Context, req OpenSessionRequest, c Client) (DeviceSession, error) {
	if !wellFormed(req.DeviceToken, devicePrefix) {
		return DeviceSession{}, ErrUnauthenticated
	}
	hash := hashToken(req.DeviceToken)
	d, err := s.store.GetDevice(ctx, req.DeviceID)
	if errors.Is(err, store.ErrNotFound) {
		return DeviceSession{}, ErrUnauthenticated
	}
	if err != nil {
		return DeviceSession{}, err
	}
	if _, err := s.store.GetDeviceToken(ctx, d.ID, hash); errors.Is(err, store.ErrNotFound) {
		return DeviceSession{}, ErrUnauthenticated
	} else if err != nil {
		return DeviceSession{}, err
	}
	u, err := s.store.GetUser(ctx, d.UserID)
	if err != nil {
		return DeviceSession{}, err
	}
	refuse := func(err error, detail string) (DeviceSession, error) {
		s.record(ctx, store.AuditEvent{ActorUserID: u.ID, TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.DeviceSession, Outcome: audit.Denied,
			Detail: detail + "; device " + d.ID}, c)
		return DeviceSession{}, err
	}
	if !d.Live() {
		return refuse(ErrDeviceRevoked, "device removed")
	}
	if u.Disabled {
		return refuse(ErrDeviceRevoked, "user disabled")
	}
	if s.goneFromDirectory(ctx, u) {
		// The directory decides whether the account exists: a deleted or
		// disabled entry stops its devices at their next session.
		s.endDirectorySessions(ctx, u)
		return refuse(ErrDeviceRevoked, "gone from the directory")
	}
	cl, err := s.store.GetClient(ctx, d.ClientID)
	if err != nil {
		return DeviceSession{}, err
	}
	rules := effectiveRules(d.Kind, cl.DeviceRules)
	amr := []string{"swk", "mfa"}
	var mfaAt *time.Time
	if rules.SessionCode == "every" {
		if req.Code == "" {
			return refuse(ErrSecondFactorRequired, "new session without a code")
		}
		method := req.Method
		if method == "" {
			method = MethodAny
		}
		got, err := s.checkCode(ctx, u, method, req.Code, c, audit.DeviceSession)
		if err != nil {
			return DeviceSession{}, err
		}
		now := s.now().UTC()
		amr, mfaAt = append([]string{"swk", "mfa"}, got.amr()...), &now
	}
	if rules.Passcode != "" {
		pol, err := s.Policy(ctx, u)
		if err != nil {
			return DeviceSession{}, err
		}
		need := rules.Passcode == "required" || (rules.Passcode == "policy" && pol.Required)
		switch {
		case d.PasscodeHash == "" && need:
			return refuse(ErrPasscodeRequired, "no passcode set while one is required")
		case d.PasscodeHash != "" && req.Passcode == "":
			return refuse(ErrPasscodeRequired, "passcode missing")
		case d.PasscodeHash != "":
			if err := s.checkPasscode(ctx, u, d, req.Passcode, c); err != nil {
				return DeviceSession{}, err
			}
			amr = append([]string{"pin"}, amr...)
		}
	}
	next, nextHash := newToken(devicePrefix)
	access, rec := s.newSession(u, amr, mfaAt, c)
	now := s.now().UTC()
	if rules.SessionLifetime > 0 && now.Add(rules.SessionLifetime).Before(rec.ExpiresAt) {
		rec.ExpiresAt = now.Add(rules.SessionLifetime) // the client's session lifetime
	}
	sess, err := s.store.OpenDeviceSession(ctx, d.ID, hash, store.DeviceToken{TokenHash: nextHash, CreatedAt: now}, rec, now)
	switch {
	case errors.Is(err, store.ErrTokenReused):
		return refuse(ErrDeviceRevoked, "device token reused: device revoked")
	case errors.Is(err, store.ErrDeviceRevoked), errors.Is(err, store.ErrStale):
		return refuse(ErrDeviceRevoked, "device or account changed")
	case errors.Is(err, store.ErrNotFound):
		return DeviceSession{}, ErrUnauthenticated
	case err != nil:
		return DeviceSession{}, err
	}
	s.record(ctx, store.AuditEvent{ActorUserID: u.ID, TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.DeviceSession, Outcome: audit.Success,
		Detail: fmt.Sprintf("device %s, session %s, amr %s", d.ID, sess.ID, strings.Join(amr, " "))}, c)
	return DeviceSession{AccessToken: access, DeviceToken: next, Session: sess}, nil
}

// checkPasscode compares passcode with the device's. The failure is
// reserved on the device before the hash is computed (so parallel guesses
// cannot exceed the limit); success clears it, and the MaxPasscodeFailures-th
// failure in a row revokes the device.
func (s *Service) checkPasscode(ctx context.Context, u store.User, d store.Device, passcode string, c Client) error {
	reserved, err := s.store.UpdateDevice(ctx, d.ID, func(cur store.Device) (store.Device, error) {
		if !cur.Live() {
			return cur, ErrDeviceRevoked
		}
		cur.PasscodeFailures++
		return cur, nil
	})
	if err != nil {
		return err
	}
	ok, _, err := s.hasher.Verify(ctx, passcode, reserved.PasscodeHash)
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	if ok {
		_, err := s.store.UpdateDevice(ctx, d.ID, func(cur store.Device) (store.Device, error) {
			cur.PasscodeFailures = 0
			return cur, nil
		})
		return err
	}
	left := MaxPasscodeFailures - reserved.PasscodeFailures
	s.record(ctx, store.AuditEvent{ActorUserID: u.ID, TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.DeviceSession, Outcome: audit.Failure,
		Detail: fmt.Sprintf("wrong passcode (%d in a row); device %s", reserved.PasscodeFailures, d.ID)}, c)
	if left <= 0 {
		if _, err := s.store.RevokeDevice(ctx, d.ID, s.now().UTC(), "too many wrong passcodes"); err != nil {
			return err
		}
		s.record(ctx, store.AuditEvent{TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.DeviceRemoved, Outcome: audit.Success,
			Detail: "too many wrong passcodes; device " + d.ID}, c)
		return ErrInvalidPasscode.WithMessage("That passcode is not correct. The device has been removed; sign in again with both factors.").WithTriesLeft(0)
	}
	return ErrInvalidPasscode.WithTriesLeft(left)
}

// SetPasscodeRequest sets or changes a mobile app's passcode.
type SetPasscodeRequest struct {
	DeviceID string
	Passcode string
	// Old is the current passcode; changing a passcode needs it or a
	// current second-factor Code (with Method, "" = any).
	Old    string
	Method string
	Code   string
}

// ErrInvalidPasscodeFormat refuses a passcode that is too short or long.
var ErrInvalidPasscodeFormat = problem.Define(http.StatusBadRequest, "invalid_request",
	"A passcode is 4 to 8 digits, or a phrase of 8 to 64 characters.").WithField("passcode")

// passcodeShape reports whether p can be a passcode: 4 to 8 digits (an app
// PIN), or any phrase of 8 to 64 characters.
func passcodeShape(p string) bool {
	n := utf8.RuneCountInString(p)
	if n >= 8 && n <= 64 {
		return !strings.ContainsFunc(p, isControl)
	}
	if n < 4 {
		return false
	}
	for _, r := range p {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// SetDevicePasscode sets the passcode of the device p's session was
// opened with (or registered by). Setting the first passcode needs only
// that session; changing one needs the old passcode (counted like any
// passcode attempt) or a current second-factor code.
func (s *Service) SetDevicePasscode(ctx context.Context, p Principal, req SetPasscodeRequest, c Client) error {
	id, err := s.store.SessionDevice(ctx, p.Session.ID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && id != req.DeviceID) {
		return ErrNotFound.WithMessage("This session was not opened with that device.")
	}
	if err != nil {
		return err
	}
	d, err := s.store.GetDevice(ctx, id)
	if err != nil {
		return err
	}
	if !d.Live() {
		return ErrDeviceRevoked
	}
	cl, err := s.store.GetClient(ctx, d.ClientID)
	if err != nil {
		return err
	}
	if effectiveRules(d.Kind, cl.DeviceRules).Passcode == "" {
		return ErrInvalidDevice.WithMessage("This device has no passcode (only mobile apps, unless the client's rules say otherwise).")
	}
	if !passcodeShape(req.Passcode) {
		return ErrInvalidPasscodeFormat
	}
	if d.PasscodeHash != "" {
		switch {
		case req.Old != "":
			if err := s.checkPasscode(ctx, p.User, d, req.Old, c); err != nil {
				return err
			}
		case req.Code != "":
			method := cmpOr(req.Method, MethodAny)
			if _, err := s.checkCode(ctx, p.User, method, req.Code, c, audit.DevicePasscode); err != nil {
				return err
			}
		default:
			return ErrReauthRequired.WithMessage("Changing the passcode needs the old passcode or a current two-step code.")
		}
	}
	h, err := s.hasher.Hash(ctx, req.Passcode)
	if err != nil {
		return err
	}
	if _, err := s.store.UpdateDevice(ctx, d.ID, func(cur store.Device) (store.Device, error) {
		if !cur.Live() {
			return cur, ErrDeviceRevoked
		}
		cur.PasscodeHash, cur.PasscodeFailures = h, 0
		return cur, nil
	}); err != nil {
		return err
	}
	what := "set"
	if d.PasscodeHash != "" {
		what = "changed"
	}
	s.record(ctx, store.AuditEvent{ActorUserID: p.User.ID, TargetUserID: p.User.ID, OrgID: p.User.OrgID, Event: audit.DevicePasscode,
		Outcome: audit.Success, Detail: "passcode " + what + "; device " + d.ID}, c)
	return nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Devices lists the registered devices of the user with the given id.
func (s *Service) Devices(ctx context.Context, userID string) ([]store.Device, error) {
	return s.store.ListDevices(ctx, userID)
}

// RemoveDevice revokes the device deviceID of user u (and its sessions),
// on behalf of actorID (u itself, or an admin whose access the caller has
// checked). A device of another user, or one already removed, is
// ErrNotFound.
func (s *Service) RemoveDevice(ctx context.Context, actorID string, u store.User, deviceID string, c Client) error {
	d, err := s.store.GetDevice(ctx, deviceID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (d.UserID != u.ID || !d.Live())) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	reason := "removed by user"
	if actorID != u.ID {
		reason = "removed by admin"
	}
	ok, err := s.store.RevokeDevice(ctx, d.ID, s.now().UTC(), reason)
	if err != nil {
		return err
	}
	if !ok {
		return ErrNotFound
	}
	s.record(ctx, store.AuditEvent{ActorUserID: actorID, TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.DeviceRemoved,
		Outcome: audit.Success, Detail: reason + "; " + deviceDetail(d)}, c)
	return nil
}

// IsDeviceSession reports whether the session was opened with a device
// credential (or registered a device). Such a session may not add a
// factor or change a password; the surfaces refuse it there.
func IsDeviceSession(sess store.Session) bool { return slices.Contains(sess.AMR, "swk") }

// RegisterGrantDevice registers a device of client cl for the signed-in
// user of p through OpenID Connect: an agent approved through the device
// authorization grant (RFC 8628), or an app of a device kind that signed
// in through the system browser (RFC 8252). p's session must have passed
// a second factor (else ErrMFASetupRequired). The device gets a session of
// lifetime ttl that stands for the grant — removing the device, a password
// change, an MFA reset or disabling the user ends it, and with it every
// token of the grant — and the user a notice. The device's own token
// family is not handed out: the agent refreshes through the grant.
func (s *Service) RegisterGrantDevice(ctx context.Context, p Principal, cl store.Client, name string, ttl time.Duration, c Client) (store.Device, store.Session, error) {
	dev := DeviceRequest{ClientID: cl.ID, Name: name}
	if _, err := s.checkDeviceRequest(ctx, &dev); err != nil {
		return store.Device{}, store.Session{}, err
	}
	if !slices.Contains(p.Session.AMR, "mfa") {
		return store.Device{}, store.Session{}, s.mfaSetupRequired()
	}
	now := s.now().UTC()
	pending, err := s.store.CreateDevice(ctx, store.Device{UserID: p.User.ID, ClientID: cl.ID, Kind: dev.Kind, Name: dev.Name,
		FlowID: "grant:" + store.NewID(), CreatedAt: now})
	if err != nil {
		return store.Device{}, store.Session{}, err
	}
	amr := slices.Clone(p.Session.AMR)
	if !slices.Contains(amr, "swk") {
		amr = append(amr, "swk")
	}
	_, rec := s.newSession(p.User, amr, p.Session.MFAAt, c)
	rec.ExpiresAt = now.Add(ttl)
	rec.UserAgent = "device: " + dev.Name
	sess, err := s.store.CreateSession(ctx, rec)
	if err != nil {
		return store.Device{}, store.Session{}, err
	}
	_, hash := newToken(devicePrefix) // a family nobody holds: the grant's refresh tokens stand for it
	d, err := s.store.RegisterDevice(ctx, pending.ID, p.User.SecurityVersion, store.DeviceToken{TokenHash: hash, CreatedAt: now}, sess.ID, c.IP, now)
	if err != nil {
		_ = s.store.RevokeSession(ctx, sess.ID, now, "device registration failed")
		return store.Device{}, store.Session{}, err
	}
	s.record(ctx, store.AuditEvent{ActorUserID: p.User.ID, TargetUserID: p.User.ID, OrgID: p.User.OrgID, Event: audit.DeviceRegistered,
		Outcome: audit.Success, Detail: deviceDetail(d) + " (device authorization)"}, c)
	s.notify(ctx, p.User, notice.DeviceRegistered, deviceDetail(d), c)
	return d, sess, nil
}

// effectiveRules fills the empty fields of a client's device rules with the
// defaults of kind: a code at every new session for add-ins; the passcode
// by policy for mobile apps (and not at all for agents and add-ins).
func effectiveRules(kind store.DeviceKind, r store.DeviceRules) store.DeviceRules {
	if r.SessionCode == "" {
		r.SessionCode = "never"
		if kind == store.DeviceAddIn {
			r.SessionCode = "every"
		}
	}
	if r.Passcode == "" && kind == store.DeviceMobile {
		r.Passcode = "policy"
	}
	return r
}
