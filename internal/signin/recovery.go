package signin

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/factor"
	"github.com/twofold-id/twofold/internal/normalize"
	"github.com/twofold-id/twofold/internal/notice"
	"github.com/twofold-id/twofold/internal/problem"
	"github.com/twofold-id/twofold/internal/store"
)

// Errors of "forgot password"; their codes are part of the public API.
var (
	ErrResetToken = problem.Define(http.StatusBadRequest, "invalid_reset_token",
		"This password reset link is not valid any more. Ask for a new one.")
	ErrResetCodeRequired = problem.Define(http.StatusBadRequest, "code_required",
		"Enter a current code from your two-step sign-in (or a backup code) to reset the password.")
)

// PasswordResetTTL is how long a "forgot password" link works.
const PasswordResetTTL = 30 * time.Minute

const (
	resetPrefix    = "tfr_"
	resetThrottle  = time.Minute
	resetLinkRoute = "/reset-password?token="
)

// RequestPasswordReset mails a single-use link (valid PasswordResetTTL) that
// sets a new password, to every account of org orgSlug named by login — a
// username, or an email address (which may name several accounts).
//
// It returns before anything is looked up: the work runs in the background,
// so the answer and its timing are the same whether or not such an account
// exists, and nothing is said about it. Accounts that are disabled, have no
// address, or whose password is a directory's get no link; a link asked for
// less than a minute after the last one, or beyond the hourly send quotas of
// the account and the org, is not sent either. Each outcome is audited.
func (s *Service) RequestPasswordReset(ctx context.Context, orgSlug, login string, c Client) {
	if s.codes == nil || s.deliver == nil {
		return
	}
	s.bg.Go(ctx, "password reset", func(ctx context.Context) {
		if err := s.requestPasswordReset(ctx, orgSlug, login, c); err != nil {
			s.log.WarnContext(ctx, "password reset request failed", "err", err)
		}
	})
}

func (s *Service) requestPasswordReset(ctx context.Context, orgSlug, login string, c Client) error {
	slug, err := normalize.OrgSlug(orgSlug)
	if err != nil {
		return s.resetNobody(ctx, "", c)
	}
	org, err := s.store.GetOrgBySlug(ctx, slug)
	if errors.Is(err, store.ErrNotFound) {
		return s.resetNobody(ctx, "", c)
	}
	if err != nil {
		return err
	}
	var users []store.User
	if strings.Contains(login, "@") {
		email, err := normalize.Email(login)
		if err != nil {
			return s.resetNobody(ctx, org.ID, c)
		}
		if users, err = s.store.UsersByEmail(ctx, org.ID, email); err != nil {
			return err
		}
	} else {
		norm, err := normalize.Username(login)
		if err != nil {
			return s.resetNobody(ctx, org.ID, c)
		}
		u, err := s.store.GetUserByName(ctx, org.ID, norm)
		if errors.Is(err, store.ErrNotFound) {
			return s.resetNobody(ctx, org.ID, c)
		}
		if err != nil {
			return err
		}
		users = []store.User{u}
	}
	if len(users) == 0 {
		return s.resetNobody(ctx, org.ID, c)
	}
	for _, u := range users {
		if err := s.sendPasswordReset(ctx, u, org, c); err != nil {
			return err
		}
	}
	return nil
}

// resetNobody records a request that named no account; the name typed is
// not kept (it may be a password typed into the wrong field).
func (s *Service) resetNobody(ctx context.Context, orgID string, c Client) error {
	s.record(ctx, store.AuditEvent{OrgID: orgID, Event: audit.PasswordResetAsked, Outcome: audit.Failure, Detail: "no such account"}, c)
	return nil
}

// sendPasswordReset mails u a reset link unless something above says not to.
func (s *Service) sendPasswordReset(ctx context.Context, u store.User, org store.Org, c Client) error {
	deny := func(why string) error {
		s.record(ctx, store.AuditEvent{TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.PasswordResetAsked, Outcome: audit.Denied, Detail: why}, c)
		return nil
	}
	if u.Disabled {
		return deny("account disabled")
	}
	if u.Email == "" {
		return deny("account has no email address")
	}
	if dir, err := s.isDirectoryUser(ctx, u.ID); err != nil || dir {
		if err != nil {
			return err
		}
		return deny("the directory keeps this password")
	}
	now := s.now().UTC()
	if last, err := s.store.LatestPasswordReset(ctx, u.ID); err == nil {
		if last.CreatedAt.Add(resetThrottle).After(now) {
			return deny("a link was sent less than a minute ago")
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	window := now.Truncate(time.Hour)
	for _, q := range []struct {
		key   string
		limit int
	}{{"user:" + u.ID, s.opts.UserSendsPerHour}, {"org:" + u.OrgID, s.opts.OrgSendsPerHour}} {
		n, err := s.codes.CountSend(ctx, q.key, window)
		if err != nil {
			return err
		}
		if n > q.limit {
			return deny("quota " + q.key[:4] + " exhausted")
		}
	}
	tok, hash := newToken(resetPrefix)
	if _, err := s.store.CreatePasswordReset(ctx, store.PasswordReset{UserID: u.ID, TokenHash: hash, UserVersion: u.SecurityVersion,
		CreatedAt: now, ExpiresAt: now.Add(PasswordResetTTL)}); err != nil {
		return err
	}
	link := s.opts.BaseURL + resetLinkRoute + tok
	if err := s.deliver.Email(ctx, u.Email, notice.ResetEmail(org.Name, u.Username, link, PasswordResetTTL)); err != nil {
		s.log.WarnContext(ctx, "password reset mail failed", "user", u.ID, "err", err)
		s.record(ctx, store.AuditEvent{TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.PasswordResetAsked, Outcome: audit.Failure,
			Detail: "delivery failed"}, c)
		return nil
	}
	s.record(ctx, store.AuditEvent{TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.PasswordResetAsked, Outcome: audit.Success}, c)
	return nil
}

// ResetInfo describes a usable reset link, for the page that uses it.
type ResetInfo struct {
	User store.User
	Org  store.Org
	// Methods are the ways the user can prove the second factor (empty
	// when the user has none and no code is asked for).
	Methods []string
}

// NeedsCode reports whether the reset asks for a current code.
func (ri ResetInfo) NeedsCode() bool { return len(ri.Methods) > 0 }

// resetLink returns the usable link tok, its user and org; anything else is
// ErrResetToken.
func (s *Service) resetLink(ctx context.Context, tok string) (store.PasswordReset, ResetInfo, error) {
	if s.codes == nil || !wellFormed(tok, resetPrefix) {
		return store.PasswordReset{}, ResetInfo{}, ErrResetToken
	}
	r, err := s.store.GetPasswordReset(ctx, hashToken(tok), s.now().UTC())
	if errors.Is(err, store.ErrNotFound) {
		return store.PasswordReset{}, ResetInfo{}, ErrResetToken
	}
	if err != nil {
		return store.PasswordReset{}, ResetInfo{}, err
	}
	u, err := s.store.GetUser(ctx, r.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return store.PasswordReset{}, ResetInfo{}, ErrResetToken
	}
	if err != nil {
		return store.PasswordReset{}, ResetInfo{}, err
	}
	org, err := s.store.GetOrg(ctx, u.OrgID)
	if err != nil {
		return store.PasswordReset{}, ResetInfo{}, err
	}
	factors, err := s.store.ListFactors(ctx, u.ID)
	if err != nil {
		return store.PasswordReset{}, ResetInfo{}, err
	}
	return r, ResetInfo{User: u, Org: org, Methods: s.challengeMethods(ctx, u, factors)}, nil
}

// PasswordResetInfo returns what the page of reset link tok needs, without
// using the link; an unusable link is ErrResetToken.
func (s *Service) PasswordResetInfo(ctx context.Context, tok string) (ResetInfo, error) {
	_, ri, err := s.resetLink(ctx, tok)
	return ri, err
}

// resetScope is the scope of codes sent for reset link r.
func resetScope(r store.PasswordReset) factor.Scope {
	return factor.Scope{FlowID: r.ID, Purpose: store.PurposeReset, Until: r.ExpiresAt}
}

// PasswordResetCode sends a code by email or text message (method) for the
// reset link tok, to one of the user's confirmed factors of that kind.
func (s *Service) PasswordResetCode(ctx context.Context, tok, method, factorID string, c Client) (Sent, error) {
	r, ri, err := s.resetLink(ctx, tok)
	if err != nil {
		return Sent{}, err
	}
	if err := s.sentEnabled(method); err != nil {
		return Sent{}, err
	}
	fac, err := s.confirmedFactor(ctx, ri.User, method, factorID)
	if err != nil {
		return Sent{}, err
	}
	return s.sendCode(ctx, ri.User, ri.Org, fac, resetScope(r), c)
}

// ConfirmPasswordReset sets a new password through reset link tok. When the
// user has a second factor, code must be a current one (method picks the
// kind; "" or "any" takes an authenticator-app code or a backup code, and a
// code sent for this link): it is checked on the account's shared failure
// counter like any code, and a wrong one leaves the link usable. The link
// is spent by the same store transaction that stores the password, so of
// several concurrent uses exactly one succeeds. The reset signs nobody in:
// every session and sign-in flow of the user ends, and the next sign-in
// asks for the password and, as before, the second factor. The user's
// password failure counter is cleared, the user is told by mail, and the
// reset is audited.
func (s *Service) ConfirmPasswordReset(ctx context.Context, tok, newPassword, method, code string, c Client) error {
	r, ri, err := s.resetLink(ctx, tok)
	if err != nil {
		return err
	}
	u := ri.User
	if dir, err := s.isDirectoryUser(ctx, u.ID); err != nil || dir {
		if err != nil {
			return err
		}
		return ErrDirectoryPassword
	}
	if err := CheckPassword(newPassword); err != nil {
		return ErrWeakPassword.WithField("new_password")
	}
	if ri.NeedsCode() {
		if strings.TrimSpace(code) == "" {
			return ErrResetCodeRequired.WithField("code")
		}
		if method == "" {
			method = MethodAny
		}
		if _, ok := s.methods.Lookup(method); !ok && method != MethodAny {
			return ErrMethodUnavailable.WithField("method")
		}
		if _, _, err := s.check(ctx, u, codeCheck{method: method, raw: code, scope: resetScope(r), event: audit.CodeChecked}, c); err != nil {
			return err
		}
	}
	h, err := s.hasher.Hash(ctx, newPassword)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	if _, ok, err := s.store.ResetPassword(ctx, hashToken(tok), now, h); err != nil {
		return err
	} else if !ok {
		return ErrResetToken
	}
	n, err := s.store.RevokeUserSessions(ctx, u.ID, "", now, "password reset")
	if err != nil {
		return err
	}
	if err := s.unlockPassword(ctx, u); err != nil {
		s.log.WarnContext(ctx, "password counter reset failed", "user", u.ID, "err", err)
	}
	detail := "every session ended"
	if n == 0 {
		detail = "no session was open"
	}
	s.record(ctx, store.AuditEvent{ActorUserID: u.ID, TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.PasswordReset, Outcome: audit.Success,
		Detail: detail}, c)
	s.notify(ctx, u, notice.PasswordReset, "", c)
	return nil
}
