package signin

import (
	"context"
	"errors"
	"fmt"

	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/factor"
	"github.com/twofold-id/twofold/internal/notice"
	"github.com/twofold-id/twofold/internal/ratelimit"
	"github.com/twofold-id/twofold/internal/store"
)

// MethodAny, given as the method of a code check, accepts a current code
// from any of the user's methods that the typed code could be an answer of;
// used by self-service actions that ask for "a current code".
const MethodAny = "any"

// selfService is the scope of codes checked for a signed-in user's action.
var selfService = factor.Scope{Purpose: store.PurposeReauth}

// checked is a successful code check.
type checked struct {
	method factor.Method
	factor.Match
}

// amr is what the check records in a session's amr: the method's value,
// and what the answer proved beside it (user verification).
func (c checked) amr() []string { return append([]string{c.method.Traits().AMR}, c.AMR...) }

// codeCheck is one counted code check.
type codeCheck struct {
	method string // a registered kind, or MethodAny
	raw    string // the code as typed
	scope  factor.Scope
	event  string // the audit event: audit.SignInSecondFactor, audit.CodeChecked
	// pending, when set, is the pending factor the code must confirm:
	// only it is compared, and confirm records the confirmation (false:
	// no longer pending).
	pending *store.Factor
	confirm func(step int64) (bool, error)
	// deferFinish leaves the finish to the caller: a success neither
	// resets the counter nor records its audit event, which check
	// returns; the caller must do both in its own transaction (Verify
	// does, with store.CompleteSignIn).
	deferFinish bool
}

// checkCode checks a code of method (or MethodAny) in the self-service
// scope; see check.
func (s *Service) checkCode(ctx context.Context, u store.User, method, raw string, c Client, event string) (checked, error) {
	got, _, err := s.check(ctx, u, codeCheck{method: method, raw: raw, scope: selfService, event: event}, c)
	return got, err
}

// check is the single path for every second-factor code check. In order:
//  1. normalize: the code is put in the canonical form of each method it
//     could answer (spaces and dashes stripped, only ASCII digits …),
//     before anything is counted or compared;
//  2. reserve: an attempt is reserved on the account's failure counter,
//     atomically, which refuses while delayed or locked;
//  3. compare: each candidate method compares the code and consumes what it
//     uses (a TOTP time step, a backup code, a sent code) by one atomic
//     store update — losing that race is a failure like any wrong code;
//  4. finish: success resets the counter and records the event; failure
//     leaves the reserved attempt counted.
//
// Input that is no method's answer is not compared but still counts as a
// failed attempt.
func (s *Service) check(ctx context.Context, u store.User, cc codeCheck, c Client) (checked, store.AuditEvent, error) {
	// 1. normalize
	type candidate struct {
		m    factor.Method
		code string
	}
	var cands []candidate
	for _, m := range s.candidates(cc.method) {
		if code, ok := m.Normalize(cc.raw); ok {
			cands = append(cands, candidate{m, code})
		}
	}
	label := cc.method

	// 2. reserve
	newlyLocked, err := s.reserve(ctx, u, label, cc.event, c)
	if err != nil {
		return checked{}, store.AuditEvent{}, err
	}

	// 3. compare
	var got checked
	ok := false
	var notPending error
	var refusal factor.Match // a failed check's event and notice (a cloned key)
	for _, cand := range cands {
		if cc.pending != nil {
			step, match, err := cand.m.ConfirmPending(ctx, s.env(), u, *cc.pending, cc.scope, cand.code)
			if err != nil {
				return checked{}, store.AuditEvent{}, err
			}
			if match {
				won, err := cc.confirm(step)
				if err != nil {
					return checked{}, store.AuditEvent{}, err
				}
				if !won {
					notPending = ErrFactorNotPending
				}
				ok, got = won, checked{method: cand.m, Match: factor.Match{Factor: cc.pending}}
			}
		} else {
			m, match, err := cand.m.Check(ctx, s.env(), u, cc.scope, cand.code)
			if err != nil {
				return checked{}, store.AuditEvent{}, err
			}
			ok, got = match, checked{method: cand.m, Match: m}
			if !match && m.Event != "" {
				refusal = m
			}
		}
		if ok || notPending != nil {
			break
		}
	}
	if notPending != nil {
		return checked{}, store.AuditEvent{}, notPending
	}

	// 4. finish
	if !ok {
		s.record(ctx, store.AuditEvent{TargetUserID: u.ID, ActorUserID: u.ID, OrgID: u.OrgID, Event: cc.event, Outcome: audit.Failure,
			Detail: "method=" + label}, c)
		if refusal.Event != "" {
			s.record(ctx, store.AuditEvent{TargetUserID: u.ID, ActorUserID: u.ID, OrgID: u.OrgID, Event: refusal.Event, Outcome: audit.Denied,
				Detail: refusal.Detail}, c)
		}
		if refusal.Notice != "" {
			s.notify(ctx, u, refusal.Notice, refusal.Detail, c)
		}
		if newlyLocked {
			s.record(ctx, store.AuditEvent{TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.Lockout, Outcome: audit.Success,
				Detail: fmt.Sprintf("second factor locked for %s after %d consecutive failures", s.lockout.Cooldown, s.lockout.Threshold)}, c)
			s.notify(ctx, u, notice.Locked, fmt.Sprintf("locked for %s", s.lockout.Cooldown), c)
		}
		return checked{}, store.AuditEvent{}, ErrInvalidCode
	}
	ev := store.AuditEvent{TargetUserID: u.ID, ActorUserID: u.ID, OrgID: u.OrgID, Event: cc.event, Outcome: audit.Success,
		Detail: "method=" + got.method.Kind(), IP: c.IP, UserAgent: c.UserAgent}
	if cc.deferFinish {
		return got, ev, nil
	}
	if _, err := s.store.UpdateAttempts(ctx, u.ID, func(a store.Attempts) (store.Attempts, error) {
		return ratelimit.Reset(a), nil
	}); err != nil {
		return checked{}, store.AuditEvent{}, err
	}
	s.audit.Record(ctx, ev)
	if got.Event != "" {
		s.record(ctx, store.AuditEvent{TargetUserID: u.ID, ActorUserID: u.ID, OrgID: u.OrgID, Event: got.Event, Outcome: audit.Success,
			Detail: got.Detail}, c)
	}
	if got.Notice != "" {
		s.notify(ctx, u, got.Notice, got.Detail, c)
	}
	return got, ev, nil
}

// candidates are the methods a check of method compares, in order: the
// one named, or for MethodAny every method that is answered with a code.
// An unknown name has none (the check then fails, counted).
func (s *Service) candidates(method string) []factor.Method {
	if method == MethodAny {
		return s.methods.All()
	}
	if m, ok := s.methods.Lookup(method); ok {
		return []factor.Method{m}
	}
	return nil
}

// reserve reserves one attempt on u's second-factor counter, or refuses
// while it is delayed or locked (recording the refusal). newlyLocked says
// the reservation reached the cap: a failure now locks the account.
func (s *Service) reserve(ctx context.Context, u store.User, label, event string, c Client) (newlyLocked bool, err error) {
	var refused error
	_, err = s.store.UpdateAttempts(ctx, u.ID, func(a store.Attempts) (store.Attempts, error) {
		next, locked, err := s.lockout.Reserve(a, s.now())
		newlyLocked, refused = false, nil
		if err != nil {
			if locked {
				// Reserve locked a counter found at the cap: keep the lock.
				refused = err
				return next, nil
			}
			return a, err
		}
		newlyLocked = locked
		return next, nil
	})
	if err == nil {
		err = refused
	}
	var de *ratelimit.DelayError
	if errors.As(err, &de) {
		s.record(ctx, store.AuditEvent{TargetUserID: u.ID, ActorUserID: u.ID, OrgID: u.OrgID, Event: event, Outcome: audit.Denied,
			Detail: fmt.Sprintf("method=%s refused: %v", label, de.Kind)}, c)
		if errors.Is(err, ratelimit.ErrLocked) {
			return false, ErrLocked.WithRetry(de.RetryAfter)
		}
		return false, ErrTooManyAttempts.WithRetry(de.RetryAfter)
	}
	return newlyLocked, err
}

// Unlock clears the account's failures and locks (an admin action): those
// of the second factor and those of the password step.
func (s *Service) Unlock(ctx context.Context, actorID string, u store.User, c Client) error {
	if _, err := s.store.UpdateAttempts(ctx, u.ID, func(a store.Attempts) (store.Attempts, error) {
		return ratelimit.Reset(a), nil
	}); err != nil {
		return err
	}
	if err := s.unlockPassword(ctx, u); err != nil {
		return err
	}
	s.record(ctx, store.AuditEvent{ActorUserID: actorID, TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.Unlock, Outcome: audit.Success}, c)
	return nil
}
