package signin

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/normalize"
	"github.com/twofold-id/twofold/internal/notice"
	"github.com/twofold-id/twofold/internal/problem"
	"github.com/twofold-id/twofold/internal/store"
)

// Errors of invitations; their codes are part of the public API.
var (
	ErrInvitationToken = problem.Define(http.StatusBadRequest, "invalid_invitation",
		"This invitation link is not valid any more (it was used, withdrawn or has expired). Ask your admin for a new one.")
	ErrUsernameTaken = problem.Define(http.StatusConflict, "username_taken",
		"That username is taken in this organization. Choose another.")
)

const (
	invitePrefix    = "tfi_"
	inviteLinkRoute = "/invitation?token="
)

// SendInvitation mails inv.Email a single-use link (valid
// Options.InvitationTTL) to open an account in inv's org, and stores the
// invitation: a new one when inv.ID is empty, else a new token for the open
// invitation inv.ID (a resend, which ends the old link). inviter names who
// invites, for the mail. Scope and role checks are the caller's (package
// admin). A mail that cannot be handed over is ErrDelivery, and the
// invitation stays stored so it can be resent.
func (s *Service) SendInvitation(ctx context.Context, actorID, inviter string, inv store.Invitation, c Client) (store.Invitation, error) {
	if s.codes == nil || s.deliver == nil {
		return store.Invitation{}, ErrNoDelivery.WithMessage("This server cannot send mail, so it cannot send invitations.")
	}
	org, err := s.store.GetOrg(ctx, inv.OrgID)
	if err != nil {
		return store.Invitation{}, err
	}
	now := s.now().UTC()
	tok, hash := newToken(invitePrefix)
	if inv.ID == "" {
		inv.TokenHash, inv.CreatedAt, inv.SentAt, inv.ExpiresAt = hash, now, now, now.Add(s.opts.InvitationTTL)
		inv.InvitedBy = actorID
		if inv, err = s.store.CreateInvitation(ctx, inv); err != nil {
			return store.Invitation{}, err
		}
	} else if inv, err = s.store.RenewInvitation(ctx, inv.ID, hash, now, now.Add(s.opts.InvitationTTL)); err != nil {
		return store.Invitation{}, err
	}
	link := s.opts.BaseURL + inviteLinkRoute + tok
	if err := s.deliver.Email(ctx, inv.Email, notice.InvitationEmail(org.Name, inviter, inv.Name, link, s.opts.InvitationTTL)); err != nil {
		s.log.WarnContext(ctx, "invitation mail failed", "invitation", inv.ID, "err", err)
		s.record(ctx, store.AuditEvent{ActorUserID: actorID, OrgID: inv.OrgID, Event: audit.InvitationSent, Outcome: audit.Failure,
			Detail: "invitation " + inv.ID + ": delivery failed"}, c)
		return inv, ErrDelivery.WithMessage("The invitation could not be mailed. Try to resend it later.").WithCause(err)
	}
	s.record(ctx, store.AuditEvent{ActorUserID: actorID, OrgID: inv.OrgID, Event: audit.InvitationSent, Outcome: audit.Success,
		Detail: "invitation " + inv.ID + " role=" + string(inv.Role)}, c)
	return inv, nil
}

// InvitationInfo returns the pending invitation of link tok and its org,
// without using it; anything else is ErrInvitationToken.
func (s *Service) InvitationInfo(ctx context.Context, tok string) (store.Invitation, store.Org, error) {
	if !wellFormed(tok, invitePrefix) {
		return store.Invitation{}, store.Org{}, ErrInvitationToken
	}
	inv, err := s.store.InvitationByToken(ctx, hashToken(tok), s.now().UTC())
	if errors.Is(err, store.ErrNotFound) {
		return store.Invitation{}, store.Org{}, ErrInvitationToken
	}
	if err != nil {
		return store.Invitation{}, store.Org{}, err
	}
	org, err := s.store.GetOrg(ctx, inv.OrgID)
	if err != nil {
		return store.Invitation{}, store.Org{}, err
	}
	return inv, org, nil
}

// AcceptInvitation opens the account of invitation link tok with the
// chosen username and password, and returns the next step of a sign-in as
// if that password had just been typed: a session, or — when policy
// requires a second factor — an enrollment flow. The invitation is spent
// and the user created in one store transaction (of several concurrent
// uses exactly one succeeds; a taken username, ErrUsernameTaken, leaves the
// link usable). The address is confirmed: the link reached it.
func (s *Service) AcceptInvitation(ctx context.Context, tok, username, password string, c Client) (Result, error) {
	inv, org, err := s.InvitationInfo(ctx, tok)
	if err != nil {
		return Result{}, err
	}
	norm, err := normalize.Username(username)
	if err != nil {
		return Result{}, ErrInvalidInput.WithMessage("A username is 1 to 128 characters without spaces or control characters.").WithField("username")
	}
	if err := CheckPassword(password); err != nil {
		return Result{}, err
	}
	if _, err := s.store.GetUserByName(ctx, org.ID, norm); err == nil {
		return Result{}, ErrUsernameTaken.WithField("username")
	}
	h, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return Result{}, err
	}
	now := s.now().UTC()
	rec := store.User{Username: username, UsernameNorm: norm, Email: inv.Email, EmailConfirmedAt: &now, Role: inv.Role,
		PasswordHash: h, CreatedAt: now, UpdatedAt: now}
	inv, u, err := s.store.AcceptInvitation(ctx, hashToken(tok), now, rec)
	switch {
	case errors.Is(err, store.ErrConflict):
		return Result{}, ErrUsernameTaken.WithField("username")
	case errors.Is(err, store.ErrNotFound):
		return Result{}, ErrInvitationToken
	case err != nil:
		return Result{}, err
	}
	s.record(ctx, store.AuditEvent{ActorUserID: u.ID, TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.InvitationAccepted, Outcome: audit.Success,
		Detail: "invitation " + inv.ID}, c)
	s.record(ctx, store.AuditEvent{ActorUserID: inv.InvitedBy, TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.UserCreated, Outcome: audit.Success,
		Detail: "role=" + string(u.Role) + " by invitation"}, c)
	return s.afterPassword(ctx, u, org, c)
}

// InvitationTTL is how long invitation links work.
func (s *Service) InvitationTTL() time.Duration { return s.opts.InvitationTTL }
