package signin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"time"

	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/factor"
	"github.com/twofold-id/twofold/internal/normalize"
	"github.com/twofold-id/twofold/internal/notice"
	"github.com/twofold-id/twofold/internal/problem"
	"github.com/twofold-id/twofold/internal/store"
)

// Errors of sent codes; their codes are part of the public API.
var (
	ErrResendTooSoon    = problem.Define(http.StatusTooManyRequests, "resend_too_soon", "A code was sent a moment ago. Please wait before asking for a new one.")
	ErrSendQuota        = problem.Define(http.StatusTooManyRequests, "send_quota_exceeded", "Too many codes were sent. Please try again later.")
	ErrDelivery         = problem.Define(http.StatusBadGateway, "delivery_failed", "The code could not be sent. Please try again, or use another method.")
	ErrNoDelivery       = problem.Define(http.StatusBadRequest, "method_not_configured", "This server cannot send codes by that method.")
	ErrEmailUnconfirmed = problem.Define(http.StatusConflict, "email_not_confirmed", "Confirm your email address first; then it can be used for two-factor sign-in.")
	ErrInvalidPhone     = problem.Define(http.StatusBadRequest, "invalid_phone", "Enter the phone number with its country code, e.g. +44 20 7946 0958.")
	ErrNoSMSProvider    = errors.New("signin: no SMS provider configured")
)

// Sent describes a code that was just sent.
type Sent struct {
	SentTo    string // masked address or number
	ExpiresIn time.Duration
	ResendIn  time.Duration // the earliest a new code may be asked for
	FactorID  string        // the factor the code confirms (enrollment)
	Notice    string        // said once when a restricted method (sms) is set up
}

// sentEnabled refuses a method whose codes are not sent, and sending on a
// server without a code store or delivery.
func (s *Service) sentEnabled(kind string) error {
	if s.codes == nil || s.deliver == nil {
		return ErrNoDelivery
	}
	if t, ok := s.methods.TraitsOf(kind); !ok || !factor.Sent(t) {
		return ErrMethodUnavailable.WithField("method")
	}
	return nil
}

// canSend says whether this server can deliver challenges over ch (nil) or
// why not; methods whose challenge is not sent always can.
func (s *Service) canSend(ch factor.Channel) error {
	if ch == factor.NotSent {
		return nil
	}
	if s.codes == nil || s.deliver == nil || (ch == factor.BySMS && !s.deliver.SMSConfigured()) {
		return ErrNoDelivery
	}
	return nil
}

// channel is how codes of kind are sent.
func (s *Service) channel(kind string) factor.Channel {
	t, _ := s.methods.TraitsOf(kind)
	return t.Channel
}

// codeHash is the stored form of a sent code, bound to its challenge.
func codeHash(challengeID, code string) []byte {
	h := sha256.Sum256([]byte("twofold/sent-code/v1|" + challengeID + "|" + code))
	return h[:]
}

// sixDigits returns a uniformly random six-digit code.
func sixDigits() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000))
	return fmt.Sprintf("%06d", n.Int64())
}

// sendCode sends a fresh code for factor f in scope sc, replacing any
// earlier code of that scope. It refuses while the last code of the scope
// is younger than the resend interval, and when the account's or the org's
// hourly quota is spent (both counted before sending, so failures count too).
func (s *Service) sendCode(ctx context.Context, u store.User, org store.Org, f store.Factor, sc factor.Scope, c Client) (Sent, error) {
	if err := s.sentEnabled(f.Kind); err != nil {
		return Sent{}, err
	}
	now := s.now().UTC()
	if prev, err := s.codes.GetChallenge(ctx, u.ID, sc.FlowID, sc.Purpose); err == nil {
		if wait := prev.CreatedAt.Add(s.opts.ResendInterval).Sub(now); wait > 0 {
			return Sent{}, ErrResendTooSoon.WithRetry(wait)
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return Sent{}, err
	}
	window := now.Truncate(time.Hour)
	for _, q := range []struct {
		key   string
		limit int
	}{{"user:" + u.ID, s.opts.UserSendsPerHour}, {"org:" + u.OrgID, s.opts.OrgSendsPerHour}} {
		n, err := s.codes.CountSend(ctx, q.key, window)
		if err != nil {
			return Sent{}, err
		}
		if n > q.limit {
			s.record(ctx, store.AuditEvent{ActorUserID: u.ID, TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.CodeSent, Outcome: audit.Denied,
				Detail: "quota " + q.key[:4] + " exhausted"}, c)
			return Sent{}, ErrSendQuota.WithRetry(window.Add(time.Hour).Sub(now))
		}
	}
	pol, err := s.Policy(ctx, u)
	if err != nil {
		return Sent{}, err
	}
	ttl := pol.OTPCodeTTL
	if !sc.Until.IsZero() {
		ttl = min(ttl, sc.Until.Sub(now).Truncate(time.Second))
		if ttl <= 0 {
			return Sent{}, ErrInvalidFlow
		}
	}
	code := sixDigits()
	id := store.NewID()
	var sendErr error
	if s.channel(f.Kind) == factor.ByEmail {
		sendErr = s.deliver.Email(ctx, f.Target, notice.CodeEmail(org.Name, code, ttl, sc.Purpose))
	} else {
		sendErr = s.deliver.SMS(ctx, f.Target, notice.CodeSMS(org.Name, code, ttl, s.host()))
	}
	if sendErr != nil {
		s.log.WarnContext(ctx, "code delivery failed", "user", u.ID, "kind", f.Kind, "err", sendErr)
		s.record(ctx, store.AuditEvent{ActorUserID: u.ID, TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.CodeSent, Outcome: audit.Failure,
			Detail: f.Kind + " delivery failed"}, c)
		if errors.Is(sendErr, ErrNoSMSProvider) {
			return Sent{}, ErrNoDelivery
		}
		return Sent{}, ErrDelivery.WithCause(sendErr)
	}
	if _, err := s.codes.PutChallenge(ctx, store.Challenge{ID: id, UserID: u.ID, FactorID: f.ID, FlowID: sc.FlowID, Purpose: sc.Purpose,
		CodeHash: codeHash(id, code), CreatedAt: now, ExpiresAt: now.Add(ttl)}); err != nil {
		return Sent{}, err
	}
	s.record(ctx, store.AuditEvent{ActorUserID: u.ID, TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.CodeSent, Outcome: audit.Success,
		Detail: f.Kind + " code for " + sc.Purpose}, c)
	return Sent{SentTo: s.mask(f), ExpiresIn: ttl, ResendIn: s.opts.ResendInterval, FactorID: f.ID}, nil
}

func (s *Service) mask(f store.Factor) string {
	if s.channel(f.Kind) == factor.ByEmail {
		return normalize.MaskEmail(f.Target)
	}
	return normalize.MaskPhone(f.Target)
}

// host is the host name of BaseURL, for origin-bound SMS codes.
func (s *Service) host() string {
	u, err := url.Parse(s.opts.BaseURL)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// compareSent checks code against the live sent code of scope sc, whose
// factor must be of kind (factor.Env.CompareSent). A wrong code counts
// against that code's tries; the right one is consumed atomically.
func (s *Service) compareSent(ctx context.Context, u store.User, sc factor.Scope, kind, code string) (factor.Match, bool, error) {
	if s.codes == nil {
		return factor.Match{}, false, nil
	}
	ch, err := s.codes.GetChallenge(ctx, u.ID, sc.FlowID, sc.Purpose)
	if errors.Is(err, store.ErrNotFound) {
		return factor.Match{}, false, nil
	}
	if err != nil {
		return factor.Match{}, false, err
	}
	f, err := s.store.GetFactor(ctx, ch.FactorID)
	if errors.Is(err, store.ErrNotFound) {
		return factor.Match{}, false, nil
	}
	if err != nil {
		return factor.Match{}, false, err
	}
	if f.UserID != u.ID || f.Kind != kind || (sc.Purpose != store.PurposeConfirm && !f.Confirmed()) {
		return factor.Match{}, false, nil
	}
	now := s.now()
	if ch.UsedAt != nil || !now.Before(ch.ExpiresAt) || ch.Attempts >= s.opts.CodeMaxAttempts {
		return factor.Match{}, false, nil
	}
	if subtle.ConstantTimeCompare(codeHash(ch.ID, code), ch.CodeHash) != 1 {
		if _, err := s.codes.AddChallengeAttempt(ctx, ch.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return factor.Match{}, false, err
		}
		return factor.Match{}, false, nil
	}
	won, err := s.codes.UseChallenge(ctx, ch.ID, now, s.opts.CodeMaxAttempts)
	if err != nil || !won {
		return factor.Match{}, false, err
	}
	if f.Confirmed() {
		if err := s.store.TouchFactor(ctx, f.ID, now.UTC()); err != nil {
			return factor.Match{}, false, err
		}
	}
	return factor.Match{Factor: &f}, true, nil
}

// confirmedFactor returns the user's first confirmed factor of kind, or the
// one with factorID when it is not empty.
func (s *Service) confirmedFactor(ctx context.Context, u store.User, kind, factorID string) (store.Factor, error) {
	fs, err := s.store.ListFactors(ctx, u.ID)
	if err != nil {
		return store.Factor{}, err
	}
	for _, f := range fs {
		if f.Confirmed() && (factorID == "" || f.ID == factorID) && (kind == "" || f.Kind == kind) {
			return f, nil
		}
	}
	return store.Factor{}, ErrMethodUnavailable.WithField("method")
}

// Challenge sends a code by email or text message for the second step of
// the sign-in flow tok. method is "email" or "sms"; factorID may pick one of
// several factors of that kind.
func (s *Service) Challenge(ctx context.Context, tok, method, factorID string, c Client) (Sent, error) {
	f, u, err := s.flow(ctx, tok, store.FlowMFA)
	if err != nil {
		return Sent{}, err
	}
	if err := s.sentEnabled(method); err != nil {
		return Sent{}, err
	}
	fac, err := s.confirmedFactor(ctx, u, method, factorID)
	if err != nil {
		return Sent{}, err
	}
	org, err := s.store.GetOrg(ctx, u.OrgID)
	if err != nil {
		return Sent{}, err
	}
	return s.sendCode(ctx, u, org, fac, factor.Scope{FlowID: f.ID, Purpose: store.PurposeSignIn, Until: f.ExpiresAt}, c)
}

// RequestCode sends a code by email or text message to a signed-in user,
// for a self-service action that asks for "a current code" (removing a
// factor, new backup codes, turning MFA off, re-authentication).
func (s *Service) RequestCode(ctx context.Context, p Principal, method, factorID string, c Client) (Sent, error) {
	if err := s.sentEnabled(method); err != nil {
		return Sent{}, err
	}
	fac, err := s.confirmedFactor(ctx, p.User, method, factorID)
	if err != nil {
		return Sent{}, err
	}
	return s.sendCode(ctx, p.User, p.Org, fac, selfService, c)
}

// restrictedNotice is said to every user who sets up a restricted method:
// text messages (NIST calls SMS a restricted authenticator).
const restrictedNotice = "Text messages can be intercepted or redirected by phone-number theft. An authenticator app is safer; keep one as well if you can."

// StartSentFactor begins adding an email or text-message factor for a
// signed-in user: email uses the user's confirmed address, sms the given
// number. A code is sent at once; ConfirmFactor with it activates the factor.
func (s *Service) StartSentFactor(ctx context.Context, p Principal, kind, phone, label string, c Client) (Sent, error) {
	if s.hasConfirmedFactor(ctx, p.User.ID) && !p.MFAFresh(s.now(), s.opts.ReauthWindow) {
		return Sent{}, ErrReauthRequired
	}
	return s.startSent(ctx, p.User, p.Org, kind, phone, label, store.Flow{}, c)
}

func (s *Service) startSent(ctx context.Context, u store.User, org store.Org, kind, phone, label string, flow store.Flow, c Client) (Sent, error) {
	if err := s.sentEnabled(kind); err != nil {
		return Sent{}, err
	}
	pol, err := s.Policy(ctx, u)
	if err != nil {
		return Sent{}, err
	}
	if !pol.CanEnroll(kind) {
		return Sent{}, ErrMethodNotAllowed
	}
	var target string
	t, _ := s.methods.TraitsOf(kind)
	if t.Channel == factor.ByEmail {
		if u.Email == "" || u.EmailConfirmedAt == nil {
			return Sent{}, ErrEmailUnconfirmed
		}
		target = u.Email
		if label == "" {
			label = t.DefaultLabel
		}
	} else {
		if target, err = normalize.Phone(phone); err != nil {
			return Sent{}, ErrInvalidPhone.WithField("phone")
		}
		if label == "" {
			label = t.DefaultLabel
		}
	}
	if label, err = cleanLabel(label); err != nil {
		return Sent{}, err
	}
	f, err := s.store.CreateFactor(ctx, store.Factor{UserID: u.ID, Kind: kind, Label: label, Target: target, CreatedAt: s.now().UTC()})
	if err != nil {
		return Sent{}, err
	}
	s.record(ctx, store.AuditEvent{ActorUserID: u.ID, TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.FactorAdded, Outcome: audit.Success,
		Detail: kind + " factor " + f.ID + " pending confirmation"}, c)
	sent, err := s.sendCode(ctx, u, org, f, factor.Scope{FlowID: flow.ID, Purpose: store.PurposeConfirm, Until: flow.ExpiresAt}, c)
	if err != nil {
		// Nothing was sent: the pending factor could never be confirmed.
		if derr := s.store.DeleteFactor(ctx, f.ID); derr != nil && !errors.Is(derr, store.ErrNotFound) {
			s.log.WarnContext(ctx, "removing an unconfirmable pending factor failed", "factor", f.ID, "err", derr)
		}
		return Sent{}, err
	}
	if t.Restricted {
		sent.Notice = restrictedNotice
	}
	return sent, nil
}

// ResendConfirmation sends a new code for a pending email or sms factor.
func (s *Service) ResendConfirmation(ctx context.Context, p Principal, factorID string, c Client) (Sent, error) {
	return s.resendConfirmation(ctx, p.User, p.Org, factorID, store.Flow{}, c)
}

func (s *Service) resendConfirmation(ctx context.Context, u store.User, org store.Org, factorID string, flow store.Flow, c Client) (Sent, error) {
	f, err := s.store.GetFactor(ctx, factorID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && f.UserID != u.ID) {
		return Sent{}, ErrNotFound
	}
	if err != nil {
		return Sent{}, err
	}
	if f.Confirmed() || s.channel(f.Kind) == factor.NotSent || s.now().Sub(f.CreatedAt) > s.opts.PendingFactorTTL {
		return Sent{}, ErrFactorNotPending
	}
	return s.sendCode(ctx, u, org, f, factor.Scope{FlowID: flow.ID, Purpose: store.PurposeConfirm, Until: flow.ExpiresAt}, c)
}
