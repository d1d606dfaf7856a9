package signin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/factor/backup"
	"github.com/twofold-id/twofold/internal/normalize"
	"github.com/twofold-id/twofold/internal/notice"
	"github.com/twofold-id/twofold/internal/ratelimit"
	"github.com/twofold-id/twofold/internal/store"
)

// Code-checking methods.
const (
	MethodTOTP       = "totp"
	MethodEmail      = "email"
	MethodSMS        = "sms"
	MethodBackupCode = "backup_code"
	// MethodAny accepts a current code from any of the user's factors, or a
	// backup code; used by self-service actions that ask for "a current code".
	MethodAny = "any"
)

// amrFor maps a method to its RFC 8176 amr value.
func amrFor(method string) string {
	switch method {
	case MethodTOTP:
		return "otp"
	case MethodBackupCode:
		return "backup_code"
	case MethodEmail:
		return "email"
	case MethodSMS:
		return "sms"
	}
	return method
}

// scope says which sent code a check may use: the one of a sign-in flow,
// or the one requested for a self-service action.
type scope struct {
	flowID  string
	purpose string
	// until is when the flow ends (zero outside a flow): a code sent for
	// a flow never outlives it.
	until time.Time
}

// selfService is the scope of codes checked for a signed-in user's action.
var selfService = scope{purpose: store.PurposeReauth}

// methodSixDigits is MethodAny resolved for a six-digit code: a current
// authenticator-app code, or the code just sent by email or text.
const methodSixDigits = "six_digits"

// checked is a successful code check.
type checked struct {
	method string
	factor *store.Factor // the factor that matched (nil for backup codes)
	// backupLeft is the number of unused backup codes after a backup code
	// was used.
	backupLeft int
}

// checkCode is the single path for every second-factor code check outside
// enrollment; see attempt for the order of steps. event names the audit
// event ("signin.second_factor", "code.check").
func (s *Service) checkCode(ctx context.Context, u store.User, method, raw string, c Client, event string) (checked, error) {
	return s.checkCodeIn(ctx, u, selfService, method, raw, c, event)
}

// checkCodeIn is checkCode for the sent codes of scope sc.
func (s *Service) checkCodeIn(ctx context.Context, u store.User, sc scope, method, raw string, c Client, event string) (checked, error) {
	var res checked
	err := s.attempt(ctx, u, method, raw, c, event, func(method, code string) (bool, error) {
		var ok bool
		var err error
		res, ok, err = s.compare(ctx, u, sc, method, code)
		return ok, err
	})
	if err != nil {
		return checked{}, err
	}
	if res.method == MethodBackupCode {
		s.record(ctx, store.AuditEvent{TargetUserID: u.ID, ActorUserID: u.ID, OrgID: u.OrgID, Event: audit.BackupCodeUsed, Outcome: audit.Success,
			Detail: fmt.Sprintf("%d backup codes left", res.backupLeft)}, c)
		s.notify(ctx, u, notice.BackupUsed, fmt.Sprintf("%d backup codes left", res.backupLeft), c)
	}
	return res, nil
}

// attempt runs one counted code check. In order:
//  1. the code is normalized (spaces and dashes stripped, only ASCII digits),
//     before anything is counted or compared;
//  2. an attempt is reserved on the account's failure counter, atomically,
//     which refuses while delayed or locked;
//  3. check compares the code and consumes what it uses (a TOTP time step, a
//     backup code) by one atomic store update — losing that race is a
//     failure like any wrong code;
//  4. success resets the counter; failure leaves the reserved attempt counted.
//
// Malformed input is not compared but still counts as a failed attempt.
func (s *Service) attempt(ctx context.Context, u store.User, method, raw string, c Client, event string, check func(method, code string) (bool, error)) error {
	_, err := s.attemptThen(ctx, u, method, raw, c, event, check, true)
	return err
}

// attemptThen is attempt; when finish is false, a success neither resets
// the counter nor records its audit event: it returns the event, and the
// caller must reset and store both in its own transaction (Verify does,
// with store.CompleteSignIn).
func (s *Service) attemptThen(ctx context.Context, u store.User, method, raw string, c Client, event string, check func(method, code string) (bool, error), finish bool) (store.AuditEvent, error) {
	method, code, wellFormed := normalizeFor(method, raw)

	newlyLocked := false
	var refused error
	_, err := s.store.UpdateAttempts(ctx, u.ID, func(a store.Attempts) (store.Attempts, error) {
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
	if err != nil {
		var de *ratelimit.DelayError
		if errors.As(err, &de) {
			s.record(ctx, store.AuditEvent{TargetUserID: u.ID, ActorUserID: u.ID, OrgID: u.OrgID, Event: event, Outcome: audit.Denied,
				Detail: fmt.Sprintf("method=%s refused: %v", method, de.Kind)}, c)
			if errors.Is(err, ratelimit.ErrLocked) {
				return store.AuditEvent{}, ErrLocked.WithRetry(de.RetryAfter)
			}
			return store.AuditEvent{}, ErrTooManyAttempts.WithRetry(de.RetryAfter)
		}
		return store.AuditEvent{}, err
	}

	ok := false
	if wellFormed {
		if ok, err = check(method, code); err != nil {
			return store.AuditEvent{}, err
		}
	}
	if !ok {
		s.record(ctx, store.AuditEvent{TargetUserID: u.ID, ActorUserID: u.ID, OrgID: u.OrgID, Event: event, Outcome: audit.Failure,
			Detail: "method=" + method}, c)
		if newlyLocked {
			s.record(ctx, store.AuditEvent{TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.Lockout, Outcome: audit.Success,
				Detail: fmt.Sprintf("second factor locked for %s after %d consecutive failures", s.lockout.Cooldown, s.lockout.Threshold)}, c)
			s.notify(ctx, u, notice.Locked, fmt.Sprintf("locked for %s", s.lockout.Cooldown), c)
		}
		return store.AuditEvent{}, ErrInvalidCode
	}
	ev := store.AuditEvent{TargetUserID: u.ID, ActorUserID: u.ID, OrgID: u.OrgID, Event: event, Outcome: audit.Success,
		Detail: "method=" + method, IP: c.IP, UserAgent: c.UserAgent}
	if !finish {
		return ev, nil
	}
	if _, err := s.store.UpdateAttempts(ctx, u.ID, func(a store.Attempts) (store.Attempts, error) {
		return ratelimit.Reset(a), nil
	}); err != nil {
		return store.AuditEvent{}, err
	}
	s.audit.Record(ctx, ev)
	return ev, nil
}

// normalizeFor normalizes raw for method. MethodAny becomes TOTP for six
// digits and backup_code for a backup-code shape. wellFormed is false when
// the input cannot be a code of that method; such input still counts as a
// failed attempt.
func normalizeFor(method, raw string) (string, string, bool) {
	if method == MethodAny {
		if _, err := normalize.Code(raw, 6); err == nil {
			method = methodSixDigits
		} else if _, ok := backup.Normalize(raw); ok {
			method = MethodBackupCode
		} else {
			method = methodSixDigits
		}
	}
	switch method {
	case MethodTOTP, MethodEmail, MethodSMS, methodSixDigits:
		code, err := normalize.Code(raw, 6)
		return method, code, err == nil
	case MethodBackupCode:
		code, ok := backup.Normalize(raw)
		return method, code, ok
	}
	return method, "", false
}

// compare checks a normalized code and consumes what it uses.
func (s *Service) compare(ctx context.Context, u store.User, sc scope, method, code string) (checked, bool, error) {
	switch method {
	case methodSixDigits:
		res, ok, err := s.compare(ctx, u, sc, MethodTOTP, code)
		if ok || err != nil {
			return res, ok, err
		}
		return s.compareSent(ctx, u, sc, "", code)
	case MethodEmail, MethodSMS:
		return s.compareSent(ctx, u, sc, method, code)
	case MethodTOTP:
		factors, err := s.store.ListFactors(ctx, u.ID)
		if err != nil {
			return checked{}, false, err
		}
		now := s.now()
		for i := range factors {
			f := &factors[i]
			if f.Kind != MethodTOTP || !f.Confirmed() {
				continue
			}
			secret, err := s.keys.Open(f.Secret, f.KeyID, FactorAD(u.ID, f.ID))
			if err != nil {
				// A secret that does not open (a tampered row, or a key this
				// instance lacks) must not make the user's other factors
				// unusable; it is an operator problem, logged loudly.
				s.log.ErrorContext(ctx, "factor secret does not open; skipping the factor", "user", u.ID, "factor", f.ID, "key", f.KeyID, "err", err)
				continue
			}
			step, ok := s.totp.Match(secret, code, now, f.LastStep)
			clear(secret)
			if !ok {
				continue
			}
			// The replay guard: only one request can advance the step.
			won, err := s.store.AdvanceStep(ctx, f.ID, step, now)
			if err != nil {
				return checked{}, false, err
			}
			if won {
				return checked{method: method, factor: f}, true, nil
			}
		}
		return checked{}, false, nil
	case MethodBackupCode:
		codes, err := s.store.ListBackupCodes(ctx, u.ID)
		if err != nil || len(codes) == 0 {
			return checked{}, false, err
		}
		hashes := make([]string, len(codes))
		for i, bc := range codes {
			hashes[i] = bc.Hash
		}
		idx, ok, err := backup.Match(code, hashes)
		if err != nil || !ok {
			return checked{}, false, err
		}
		won, err := s.store.UseBackupCode(ctx, codes[idx].ID, s.now())
		if err != nil || !won {
			return checked{}, false, err
		}
		return checked{method: method, backupLeft: len(codes) - 1}, true, nil
	}
	return checked{}, false, nil
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
