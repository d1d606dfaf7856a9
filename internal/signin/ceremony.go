package signin

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/factor"
	"github.com/twofold-id/twofold/internal/problem"
	"github.com/twofold-id/twofold/internal/store"
)

// ErrInvalidPasskey refuses a sign-in with a passkey alone: unknown or
// expired request, a credential no account holds, a disabled account, a
// failed verification — one answer for all, naming no account.
var ErrInvalidPasskey = problem.Define(http.StatusUnauthorized, "invalid_passkey",
	"That passkey was not accepted. Try again, or sign in with your password.")

// passkeyPrefix starts the token of a sign-in with a passkey alone; it is
// no flow token (there is no user yet) and only finds its ceremony.
const passkeyPrefix = "tfp_"

// Ceremony is what the browser needs to add a security key or passkey: the
// pending factor and the options for navigator.credentials.create.
type Ceremony struct {
	FactorID string
	Options  json.RawMessage
}

// ceremonial returns the method of kind when its enrollment is a ceremony.
func (s *Service) ceremonial(kind string) (factor.Ceremonial, bool) {
	m, ok := s.methods.Lookup(kind)
	if !ok {
		return nil, false
	}
	c, ok := m.(factor.Ceremonial)
	return c, ok && m.Traits().Enrollment == factor.Ceremony
}

// errNoRelyingParty refuses ceremonies on a server without a relying party.
var errNoRelyingParty = ErrNoDelivery.WithMessage("This server is not set up for security keys: its public URL needs a domain name.")

// configured returns the ceremonial method of kind, or the error to answer.
func (s *Service) configured(kind string) (factor.Ceremonial, error) {
	m, ok := s.ceremonial(kind)
	if !ok {
		return nil, ErrMethodUnavailable.WithField("method")
	}
	if !m.Configured() {
		return nil, errNoRelyingParty
	}
	return m, nil
}

// IsCeremony reports whether kind is answered with a WebAuthn credential
// rather than a typed code.
func (s *Service) IsCeremony(kind string) bool {
	_, ok := s.ceremonial(kind)
	return ok
}

// passkeyMethod is the first ceremonial method: the one a passkey alone
// signs in with.
func (s *Service) passkeyMethod() (factor.Ceremonial, bool) {
	for _, m := range s.methods.All() {
		if c, ok := s.ceremonial(m.Kind()); ok {
			return c, true
		}
	}
	return nil, false
}

// StartCeremony begins adding a security key (passkey: a discoverable one
// with user verification) for a signed-in user. When the user already has
// a factor, the session must have passed a second-factor check within the
// re-authentication window. ConfirmFactor with the created credential
// activates it.
func (s *Service) StartCeremony(ctx context.Context, p Principal, kind, label string, passkey bool, c Client) (Ceremony, error) {
	if s.hasConfirmedFactor(ctx, p.User.ID) && !p.MFAFresh(s.now(), s.opts.ReauthWindow) {
		return Ceremony{}, ErrReauthRequired
	}
	return s.startCeremony(ctx, p.User, kind, label, passkey, store.Flow{}, c)
}

// EnrollCeremony begins adding a first security key in an enrollment flow;
// EnrollConfirm with the created credential finishes it.
func (s *Service) EnrollCeremony(ctx context.Context, flowTok, kind, label string, passkey bool, c Client) (Ceremony, error) {
	f, u, err := s.flow(ctx, flowTok, store.FlowEnroll)
	if err != nil {
		return Ceremony{}, err
	}
	if s.hasConfirmedFactor(ctx, u.ID) {
		return Ceremony{}, ErrEnrollNotAllowed
	}
	return s.startCeremony(ctx, u, kind, label, passkey, f, c)
}

func (s *Service) startCeremony(ctx context.Context, u store.User, kind, label string, passkey bool, flow store.Flow, c Client) (Ceremony, error) {
	m, err := s.configured(kind)
	if err != nil {
		return Ceremony{}, err
	}
	pol, err := s.Policy(ctx, u)
	if err != nil {
		return Ceremony{}, err
	}
	if !pol.CanEnroll(kind) {
		return Ceremony{}, ErrMethodNotAllowed
	}
	if strings.TrimSpace(label) == "" {
		label = m.Traits().DefaultLabel
	}
	if label, err = cleanLabel(label); err != nil {
		return Ceremony{}, err
	}
	now := s.now().UTC()
	until := now.Add(s.opts.PendingFactorTTL)
	if flow.ID != "" && flow.ExpiresAt.Before(until) {
		until = flow.ExpiresAt
	}
	f, err := s.store.CreateFactor(ctx, store.Factor{UserID: u.ID, Kind: kind, Label: label, CreatedAt: now})
	if err != nil {
		return Ceremony{}, err
	}
	opts, err := m.BeginRegistration(ctx, s.env(), u, f, passkey, until)
	if err != nil {
		return Ceremony{}, err
	}
	s.record(ctx, store.AuditEvent{ActorUserID: u.ID, TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.FactorAdded, Outcome: audit.Success,
		Detail: kind + " factor " + f.ID + " pending confirmation"}, c)
	return Ceremony{FactorID: f.ID, Options: opts}, nil
}

// CeremonyChallenge returns the request options for the second step of the
// sign-in flow tok with a security key; the ceremony is bound to the flow
// and ends with it.
func (s *Service) CeremonyChallenge(ctx context.Context, tok, method string) (json.RawMessage, error) {
	f, u, err := s.flow(ctx, tok, store.FlowMFA)
	if err != nil {
		return nil, err
	}
	m, err := s.configured(method)
	if err != nil {
		return nil, err
	}
	fs, err := s.store.ListFactors(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if usable, err := m.Usable(ctx, s.env(), u, fs); err != nil || !usable {
		return nil, errors.Join(err, ErrMethodUnavailable.WithField("method"))
	}
	return m.BeginAssertion(ctx, s.env(), u, factor.Scope{FlowID: f.ID, Purpose: store.PurposeSignIn, Until: f.ExpiresAt})
}

// ReauthOptions returns the request options for a signed-in user's
// self-service check with a security key (removing a factor, new backup
// codes, a step-up); the answer goes where "a current code" goes.
func (s *Service) ReauthOptions(ctx context.Context, p Principal, method string) (json.RawMessage, error) {
	m, err := s.configured(method)
	if err != nil {
		return nil, err
	}
	fs, err := s.store.ListFactors(ctx, p.User.ID)
	if err != nil {
		return nil, err
	}
	if usable, err := m.Usable(ctx, s.env(), p.User, fs); err != nil || !usable {
		return nil, errors.Join(err, ErrMethodUnavailable.WithField("method"))
	}
	return m.BeginAssertion(ctx, s.env(), p.User, selfService)
}

// PasskeyOptions begins a sign-in with a passkey alone: a token (kept by
// the client, like a flow token) and the request options, which list no
// credential and require user verification. The ceremony lasts as long as
// a flow.
func (s *Service) PasskeyOptions(ctx context.Context) (tok string, opts json.RawMessage, err error) {
	m, ok := s.passkeyMethod()
	if !ok || !m.Configured() {
		return "", nil, errNoRelyingParty
	}
	tok, hash := newToken(passkeyPrefix)
	opts, err = m.BeginDiscoverable(ctx, s.env(), hex.EncodeToString(hash), s.now().Add(s.opts.FlowTTL))
	if err != nil {
		return "", nil, err
	}
	return tok, opts, nil
}

// PasskeyVerify finishes a sign-in with a passkey alone. The credential
// names its account (user handle); the answer then goes through the one
// counted check path on that account's failure counter, in the passkey
// ceremony's scope (single use, user verification required). The session
// counts as multi-factor: possession of the key and the verified user
// (amr: the method's value, "user", "mfa"), so it satisfies a policy that
// requires MFA.
func (s *Service) PasskeyVerify(ctx context.Context, tok, credential string, c Client) (Result, error) {
	m, ok := s.passkeyMethod()
	if !ok || !m.Configured() {
		return Result{}, errNoRelyingParty
	}
	if !wellFormed(tok, passkeyPrefix) {
		return Result{}, ErrInvalidPasskey
	}
	answer, ok := m.Normalize(credential)
	if !ok {
		return Result{}, ErrInvalidPasskey
	}
	userID, ok := m.Claimant(answer)
	if !ok {
		return Result{}, ErrInvalidPasskey
	}
	u, err := s.store.GetUser(ctx, userID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled) {
		return Result{}, ErrInvalidPasskey
	}
	if err != nil {
		return Result{}, err
	}
	org, err := s.store.GetOrg(ctx, u.OrgID)
	if err != nil {
		return Result{}, err
	}
	// A passkey stands in for the password only where the account's
	// policy, read now, still allows the method.
	pol, err := s.Policy(ctx, u)
	if err != nil {
		return Result{}, err
	}
	if !slices.Contains(pol.AllowedMethods, m.Kind()) {
		return Result{}, ErrInvalidPasskey
	}
	got, _, err := s.check(ctx, u, codeCheck{method: m.Kind(), raw: answer, event: audit.SignInSecondFactor,
		scope: factor.Scope{FlowID: hex.EncodeToString(hashToken(tok)), Purpose: store.CeremonyPasskey}}, c)
	if errors.Is(err, ErrInvalidCode) {
		return Result{}, ErrInvalidPasskey
	}
	if err != nil {
		return Result{}, err
	}
	// The directory decides whether a directory user's account exists: a
	// passkey does not outlive the entry (asked only once the key proved
	// itself, so strangers cannot make Twofold query the directory).
	if s.goneFromDirectory(ctx, u) {
		s.endDirectorySessions(ctx, u)
		return Result{}, ErrInvalidPasskey
	}
	now := s.now().UTC()
	amr := append(got.amr(), "mfa")
	r, err := s.issueSession(ctx, u, org, amr, &now, c)
	if errors.Is(err, store.ErrStale) {
		return Result{}, ErrInvalidPasskey
	}
	return r, err
}
