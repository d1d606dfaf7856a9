package signin

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/notice"
	"github.com/twofold-id/twofold/internal/problem"
	"github.com/twofold-id/twofold/internal/store"
)

// Email confirmation errors.
var (
	ErrConfirmToken = problem.Define(http.StatusBadRequest, "invalid_confirmation", "This confirmation link is not valid any more. Ask for a new one.")
	ErrNoEmail      = problem.Define(http.StatusConflict, "no_email", "This account has no email address.")
	ErrAlreadyDone  = problem.Define(http.StatusConflict, "email_already_confirmed", "This email address is confirmed already.")
)

// ConfirmationTTL is how long an email confirmation link works.
const ConfirmationTTL = 24 * time.Hour

const (
	confirmPrefix    = "tfc_"
	confirmThrottle  = time.Minute
	confirmLinkRoute = "/confirm-email?token="
)

// SendEmailConfirmation mails u a single-use link (valid 24 h, bound to u
// and to u's current address) that confirms the address. It is throttled to
// one per minute per user and counts toward the user's and org's hourly
// send quotas. actorID is who asked (u itself, an admin, or "" for the
// system).
func (s *Service) SendEmailConfirmation(ctx context.Context, actorID string, u store.User, c Client) error {
	if s.codes == nil || s.deliver == nil {
		return ErrNoDelivery
	}
	if u.Email == "" {
		return ErrNoEmail
	}
	if u.EmailConfirmedAt != nil {
		return ErrAlreadyDone
	}
	now := s.now().UTC()
	if last, err := s.codes.LatestEmailConfirmation(ctx, u.ID); err == nil {
		// Only a link to the same address throttles: a corrected address
		// gets its link at once.
		if wait := last.CreatedAt.Add(confirmThrottle).Sub(now); wait > 0 && last.Email == u.Email {
			return ErrResendTooSoon.WithRetry(wait)
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
			s.record(ctx, store.AuditEvent{ActorUserID: actorID, TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.EmailConfirmSent, Outcome: audit.Denied,
				Detail: "quota " + q.key[:4] + " exhausted"}, c)
			return ErrSendQuota.WithRetry(window.Add(time.Hour).Sub(now))
		}
	}
	org, err := s.store.GetOrg(ctx, u.OrgID)
	if err != nil {
		return err
	}
	tok, hash := newToken(confirmPrefix)
	if _, err := s.codes.CreateEmailConfirmation(ctx, store.EmailConfirmation{UserID: u.ID, Email: u.Email, TokenHash: hash,
		CreatedAt: now, ExpiresAt: now.Add(ConfirmationTTL)}); err != nil {
		return err
	}
	link := s.opts.BaseURL + confirmLinkRoute + tok
	if err := s.deliver.Email(ctx, u.Email, notice.ConfirmEmail(org.Name, link, ConfirmationTTL)); err != nil {
		s.record(ctx, store.AuditEvent{ActorUserID: actorID, TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.EmailConfirmSent, Outcome: audit.Failure}, c)
		return ErrDelivery.WithCause(err)
	}
	s.record(ctx, store.AuditEvent{ActorUserID: actorID, TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.EmailConfirmSent, Outcome: audit.Success}, c)
	return nil
}

// ConfirmEmail consumes a confirmation link's token and marks the address
// confirmed — if it is still the user's address. It returns the user.
func (s *Service) ConfirmEmail(ctx context.Context, tok string, c Client) (store.User, error) {
	if s.codes == nil || !wellFormed(tok, confirmPrefix) {
		return store.User{}, ErrConfirmToken
	}
	ec, ok, err := s.codes.ConsumeEmailConfirmation(ctx, hashToken(tok), s.now().UTC())
	if err != nil {
		return store.User{}, err
	}
	if !ok {
		return store.User{}, ErrConfirmToken
	}
	u, err := s.store.GetUser(ctx, ec.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, ErrConfirmToken
	}
	if err != nil {
		return store.User{}, err
	}
	if u.Email != ec.Email {
		return store.User{}, ErrConfirmToken.WithMessage("This link was for an address the account no longer uses.")
	}
	if u.EmailConfirmedAt == nil {
		// One conditional column: the address must still be the one the
		// link was for.
		now := s.now().UTC()
		ok, err := s.store.ConfirmUserEmail(ctx, u.ID, ec.Email, now)
		if err != nil {
			return store.User{}, err
		}
		if ok {
			u.EmailConfirmedAt = &now
		} else {
			// Changed meanwhile: another address, or confirmed already.
			if u, err = s.store.GetUser(ctx, u.ID); err != nil {
				return store.User{}, err
			}
			if u.Email != ec.Email {
				return store.User{}, ErrConfirmToken.WithMessage("This link was for an address the account no longer uses.")
			}
		}
	}
	s.record(ctx, store.AuditEvent{ActorUserID: u.ID, TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.EmailConfirmed, Outcome: audit.Success}, c)
	return u, nil
}
