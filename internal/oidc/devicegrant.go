package oidc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/problem"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// The device authorization grant (RFC 8628) for agents on machines without
// a browser. op serves the device authorization endpoint, the user code,
// the token endpoint's polling answers (authorization_pending, slow_down,
// expired_token, access_denied) and the tokens; Twofold stores the
// requests (store.DeviceAuthorization, only the device code's hash), and
// the portal's /device page lets the user, signed in with both factors,
// see which client asks for what and approve or deny (DeviceRequest,
// DecideDevice). Approving registers a device (kind agent) whose session
// anchors the grant: removing the device ends the grant.

// DevicePath is the portal page where users enter a user code.
const DevicePath = "/device"

// Errors of the device page.
var (
	ErrUnknownUserCode = problem.Define(404, "invalid_user_code", "That code is not valid or has expired. Start again on the device.")
)

// normalizeUserCode upper-cases a user code and drops dashes and spaces,
// so that "bcdf-ghjk" and "BCDFGHJK" are the same code.
func normalizeUserCode(s string) string {
	s = strings.ToUpper(s)
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, s)
}

// StoreDeviceAuthorization stores a device authorization request of an
// agent client (others are refused: unauthorized_client).
func (s storage) StoreDeviceAuthorization(ctx context.Context, clientID, deviceCode, userCode string, expires time.Time, scopes []string) error {
	cl, err := s.store.GetClient(ctx, clientID)
	if err != nil {
		return oidc.ErrInvalidClient()
	}
	if cl.Kind != store.ClientAgent {
		return oidc.ErrUnauthorizedClient().WithDescription("only agent clients may use the device authorization grant")
	}
	allowed := allowedScopes(cl, admin.ClientScopes)
	for _, sc := range scopes {
		if !slices.Contains(allowed, sc) {
			return oidc.ErrInvalidScope().WithDescription("scope %s is not allowed for this client", sc)
		}
	}
	return s.store.CreateDeviceAuthorization(ctx, store.DeviceAuthorization{ClientID: clientID, DeviceCodeHash: hash(deviceCode),
		UserCode: normalizeUserCode(userCode), Scopes: scopes, CreatedAt: s.now().UTC(), ExpiresAt: expires.UTC()})
}

// GetDeviceAuthorizatonState answers a poll. A poll sooner than the
// interval after the last is slow_down (op turns a deadline error into
// it); a device code that already yielded tokens is refused.
func (s storage) GetDeviceAuthorizatonState(ctx context.Context, clientID, deviceCode string) (*op.DeviceAuthorizationState, error) {
	a, fast, err := s.store.PollDeviceAuthorization(ctx, clientID, hash(deviceCode), s.now().UTC(), s.opts.DevicePollInterval)
	if err != nil {
		return nil, err
	}
	if fast {
		return nil, fmt.Errorf("oidc: polling faster than the interval: %w", context.DeadlineExceeded)
	}
	if a.RedeemedAt != nil {
		return nil, errors.New("oidc: device code already used")
	}
	st := &op.DeviceAuthorizationState{ClientID: a.ClientID, Scopes: a.Scopes, Expires: a.ExpiresAt}
	if a.DecidedAt != nil {
		if !a.Approved {
			st.Denied = true
			return st, nil
		}
		st.Done, st.Subject, st.AMR = true, a.UserID, a.AMR
		if a.AuthTime != nil {
			st.AuthTime = *a.AuthTime
		}
		s.deviceStates.Store(st, a) // redeemed by the token creation of this same request
	}
	return st, nil
}

// redeemDevice turns an approved device authorization into a grant with
// an access token (and a refresh token when asked), once.
func (s storage) redeemDevice(ctx context.Context, st *op.DeviceAuthorizationState, withRefresh bool) (string, string, time.Time, error) {
	v, ok := s.deviceStates.LoadAndDelete(st)
	if !ok {
		return "", "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	a := v.(store.DeviceAuthorization)
	g := store.Grant{ID: store.NewID(), ClientID: a.ClientID, UserID: a.UserID, SessionID: a.SessionID, Scopes: a.Scopes,
		AMR: a.AMR, AuthTime: st.AuthTime, CreatedAt: s.now().UTC()}
	if _, _, err := s.grantLive(ctx, g); err != nil {
		return "", "", time.Time{}, err
	}
	now := s.now().UTC()
	at := store.AccessToken{ID: store.NewID(), GrantID: g.ID, CreatedAt: now, ExpiresAt: now.Add(s.opts.AccessTTL)}
	var (
		refresh string
		rt      *store.RefreshToken
	)
	if withRefresh {
		refresh = newRefreshToken()
		rt = &store.RefreshToken{ID: store.NewID(), GrantID: g.ID, TokenHash: hash(refresh), CreatedAt: now, ExpiresAt: now.Add(s.opts.RefreshTTL)}
	}
	won, err := s.store.RedeemDeviceAuthorization(ctx, a.ID, now, g, at, rt)
	if err != nil {
		return "", "", time.Time{}, err
	}
	if !won {
		return "", "", time.Time{}, errGrantGone("device code already used")
	}
	s.audit.Record(ctx, store.AuditEvent{ActorUserID: g.UserID, TargetUserID: g.UserID, Event: audit.TokenIssued, Outcome: audit.Success,
		Detail: fmt.Sprintf("client %s grant %s (device authorization) scopes=%s refresh=%t", g.ClientID, g.ID, strings.Join(g.Scopes, " "), withRefresh)})
	return at.ID, refresh, wallExpiry(s.opts.AccessTTL), nil
}

// DeviceRequestView is what the /device page shows about a request.
type DeviceRequestView struct {
	UserCode string
	Client   string
	Scopes   []string
	Expires  time.Time
}

// liveDeviceRequest returns the undecided, unexpired request of a user
// code, or ErrUnknownUserCode.
func (p *Provider) liveDeviceRequest(ctx context.Context, userCode string) (store.DeviceAuthorization, store.Client, error) {
	code := normalizeUserCode(userCode)
	if code == "" || len(code) > 16 {
		return store.DeviceAuthorization{}, store.Client{}, ErrUnknownUserCode
	}
	a, err := p.store.GetDeviceAuthorizationByUserCode(ctx, code)
	if errors.Is(err, store.ErrNotFound) {
		return store.DeviceAuthorization{}, store.Client{}, ErrUnknownUserCode
	}
	if err != nil {
		return store.DeviceAuthorization{}, store.Client{}, err
	}
	if a.DecidedAt != nil || !time.Now().Before(a.ExpiresAt) { // op measures the lifetime on the wall clock
		return store.DeviceAuthorization{}, store.Client{}, ErrUnknownUserCode
	}
	cl, err := p.store.GetClient(ctx, a.ClientID)
	if err != nil {
		return store.DeviceAuthorization{}, store.Client{}, ErrUnknownUserCode
	}
	return a, cl, nil
}

// DeviceRequest describes the pending request of a user code.
func (p *Provider) DeviceRequest(ctx context.Context, userCode string) (DeviceRequestView, error) {
	a, cl, err := p.liveDeviceRequest(ctx, userCode)
	if err != nil {
		return DeviceRequestView{}, err
	}
	shown := a.UserCode
	if len(shown) == 8 {
		shown = shown[:4] + "-" + shown[4:] // as op handed it to the device
	}
	return DeviceRequestView{UserCode: shown, Client: cl.Name, Scopes: a.Scopes, Expires: a.ExpiresAt}, nil
}

// DecideDevice approves or denies the request of userCode for the signed-in
// user of pr. Approving needs a session that passed a second factor
// (signin.ErrMFASetupRequired for a user without one, ErrReauthRequired
// otherwise) and a client that serves the user's org; it registers an
// agent device whose session stands for the grant.
func (p *Provider) DecideDevice(ctx context.Context, pr signin.Principal, userCode, name string, approve bool, c signin.Client) error {
	a, cl, err := p.liveDeviceRequest(ctx, userCode)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	if !approve {
		ok, err := p.store.DecideDeviceAuthorization(ctx, a.ID, false, pr.User.ID, "", nil, now, now)
		if err != nil {
			return err
		}
		if !ok {
			return ErrUnknownUserCode
		}
		p.audit.Record(ctx, store.AuditEvent{ActorUserID: pr.User.ID, TargetUserID: pr.User.ID, OrgID: pr.User.OrgID, IP: c.IP,
			UserAgent: c.UserAgent, Event: audit.DeviceRegistered, Outcome: audit.Denied, Detail: "device authorization denied by the user; client " + cl.ID})
		return nil
	}
	if !slices.Contains(pr.Session.AMR, "mfa") || pr.Session.MFAAt == nil {
		if !p.signin.HasConfirmedFactor(ctx, pr.User.ID) {
			return signin.ErrMFASetupRequired
		}
		return signin.ErrReauthRequired.WithMessage("Confirm with a current code to approve a device.")
	}
	owner, err := p.store.GetOrg(ctx, cl.OrgID)
	if err != nil {
		return err
	}
	if !owner.IsAncestorOf(pr.Org) {
		return ErrUnknownUserCode
	}
	if name == "" {
		name = cl.Name
	}
	d, sess, err := p.signin.RegisterGrantDevice(ctx, pr, cl, name, p.opts.RefreshTTL, c)
	if err != nil {
		return err
	}
	ok, err := p.store.DecideDeviceAuthorization(ctx, a.ID, true, pr.User.ID, sess.ID, sess.AMR, *pr.Session.MFAAt, now)
	if err != nil || !ok {
		_, _ = p.store.RevokeDevice(ctx, d.ID, p.now().UTC(), "device authorization no longer pending")
		if err == nil {
			err = ErrUnknownUserCode
		}
		return err
	}
	return nil
}

// requiresMFA reports whether every sign-in to cl needs a second factor:
// the client says so, or it registers devices (agents, add-ins and mobile
// apps never register on the password alone).
func requiresMFA(cl store.Client) bool {
	_, device := cl.Kind.DeviceKind()
	return cl.RequireMFA || device
}

// deviceForCode registers the device of an authorization code redeemed by
// a client of a device kind (RFC 8252 apps that open the system browser):
// the grant is moved from the browser's session to the new device's, so
// that removing the device ends the grant and signing out of the portal
// does not. It returns the device id ("" for other clients).
func (s storage) deviceForCode(ctx context.Context, g *store.Grant, pr signin.Principal, cl store.Client) (string, error) {
	if _, ok := cl.Kind.DeviceKind(); !ok {
		return "", nil
	}
	d, sess, err := s.signin.RegisterGrantDevice(ctx, pr, cl, cl.Name, s.opts.RefreshTTL, signin.Client{IP: pr.Session.IP, UserAgent: pr.Session.UserAgent})
	if err != nil {
		return "", err
	}
	g.SessionID, g.AMR = sess.ID, sess.AMR
	return d.ID, nil
}
