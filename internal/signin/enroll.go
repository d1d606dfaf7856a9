package signin

import (
	"context"
	"errors"
	"time"

	"github.com/twofold-id/twofold/internal/notice"
	"github.com/twofold-id/twofold/internal/store"
)

// EnrollTOTP starts setting up a first authenticator app in an enrollment
// flow. It is refused when the account already has a confirmed factor: a
// partial sign-in can never add a factor to an account that has one.
func (s *Service) EnrollTOTP(ctx context.Context, flowTok, label string, c Client) (TOTPEnrollment, error) {
	_, u, err := s.flow(ctx, flowTok, store.FlowEnroll)
	if err != nil {
		return TOTPEnrollment{}, err
	}
	if s.hasConfirmedFactor(ctx, u.ID) {
		return TOTPEnrollment{}, ErrEnrollNotAllowed
	}
	org, err := s.store.GetOrg(ctx, u.OrgID)
	if err != nil {
		return TOTPEnrollment{}, err
	}
	return s.startTOTP(ctx, u, org, label, c)
}

// EnrollConfirm confirms the first factor of an enrollment flow with one
// current code, ends the flow, and signs the user in. The result carries
// the new backup codes, shown once. It is refused once the account has a
// confirmed factor, decided atomically with the confirmation: of several
// flows confirming at once, one wins.
func (s *Service) EnrollConfirm(ctx context.Context, flowTok, factorID, code string, c Client) (Result, error) {
	f, u, err := s.flow(ctx, flowTok, store.FlowEnroll)
	if err != nil {
		return Result{}, err
	}
	if s.hasConfirmedFactor(ctx, u.ID) {
		return Result{}, ErrEnrollNotAllowed
	}
	codes, err := s.confirmFactor(ctx, u, factorID, code, f.ID, c)
	if err != nil {
		if errors.Is(err, ErrInvalidCode) {
			if _, ferr := s.store.AddFlowFailure(ctx, f.ID); ferr != nil {
				return Result{}, ferr
			}
		}
		return Result{}, err
	}
	// The first factor moved the account's security version on (ending
	// every other sign-in in flight, and bringing this flow along): read
	// the account again, and finish the flow in one transaction that checks
	// it is still current.
	if u, err = s.store.GetUser(ctx, u.ID); err != nil {
		return Result{}, err
	}
	org, err := s.store.GetOrg(ctx, u.OrgID)
	if err != nil {
		return Result{}, err
	}
	now := s.now().UTC()
	amr := []string{"pwd", "mfa"}
	if fac, err := s.store.GetFactor(ctx, factorID); err == nil {
		if t, ok := s.methods.TraitsOf(fac.Kind); ok {
			amr = append(amr, t.AMR)
		}
	}
	newDevice := s.isNewDevice(ctx, u, c)
	tok, rec := s.newSession(u, amr, &now, c)
	ev := completedEvent(u, rec.ID)
	ev.IP, ev.UserAgent = c.IP, c.UserAgent
	sess, won, err := s.store.CompleteSignIn(ctx, f.ID, now, rec, []store.AuditEvent{s.audit.Prepare(ctx, ev)})
	if err != nil {
		return Result{}, err
	}
	if !won {
		return Result{}, ErrInvalidFlow
	}
	if newDevice {
		s.notify(ctx, u, notice.NewDevice, "", c) // only once the sign-in is committed
	}
	return Result{Status: StatusAuthenticated, SessionToken: tok, Session: sess, User: u, Org: org, BackupCodes: codes}, nil
}

// FlowInfo describes a live flow for the pages that continue it.
type FlowInfo struct {
	Kind      store.FlowKind
	User      store.User
	Org       store.Org
	ExpiresAt time.Time
	Methods   []string
	Deadline  *time.Time
}

// Flow returns what a page needs to continue the flow of tok.
func (s *Service) Flow(ctx context.Context, tok string) (FlowInfo, error) {
	var f store.Flow
	var u store.User
	var err error
	for _, kind := range []store.FlowKind{store.FlowMFA, store.FlowEnroll} {
		if f, u, err = s.flow(ctx, tok, kind); err == nil {
			break
		}
	}
	if err != nil {
		return FlowInfo{}, err
	}
	org, err := s.store.GetOrg(ctx, u.OrgID)
	if err != nil {
		return FlowInfo{}, err
	}
	info := FlowInfo{Kind: f.Kind, User: u, Org: org, ExpiresAt: f.ExpiresAt}
	if f.Kind == store.FlowMFA {
		fs, err := s.store.ListFactors(ctx, u.ID)
		if err != nil {
			return FlowInfo{}, err
		}
		info.Methods = s.challengeMethods(ctx, u, fs)
	} else {
		pol, err := s.Policy(ctx, u)
		if err != nil {
			return FlowInfo{}, err
		}
		info.Methods = s.enrollMethods(u, pol)
		if info.Deadline, err = s.enrollmentDeadline(ctx, &u, pol); err != nil {
			return FlowInfo{}, err
		}
	}
	return info, nil
}

// EnrollSent starts setting up a first email or text-message factor in an
// enrollment flow and sends its confirmation code. Email needs a confirmed
// address; sms takes the phone number.
func (s *Service) EnrollSent(ctx context.Context, flowTok, kind, phone, label string, c Client) (Sent, error) {
	f, u, err := s.flow(ctx, flowTok, store.FlowEnroll)
	if err != nil {
		return Sent{}, err
	}
	if s.hasConfirmedFactor(ctx, u.ID) {
		return Sent{}, ErrEnrollNotAllowed
	}
	org, err := s.store.GetOrg(ctx, u.OrgID)
	if err != nil {
		return Sent{}, err
	}
	return s.startSent(ctx, u, org, kind, phone, label, f, c)
}

// EnrollResend sends a new confirmation code for the pending factor of an
// enrollment flow.
func (s *Service) EnrollResend(ctx context.Context, flowTok, factorID string, c Client) (Sent, error) {
	f, u, err := s.flow(ctx, flowTok, store.FlowEnroll)
	if err != nil {
		return Sent{}, err
	}
	if s.hasConfirmedFactor(ctx, u.ID) {
		return Sent{}, ErrEnrollNotAllowed
	}
	org, err := s.store.GetOrg(ctx, u.OrgID)
	if err != nil {
		return Sent{}, err
	}
	return s.resendConfirmation(ctx, u, org, factorID, f, c)
}
