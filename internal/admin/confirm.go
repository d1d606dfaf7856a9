package admin

import (
	"context"
	"errors"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// ResendConfirmation mails a new confirmation link to one user the actor
// may manage (S12).
func (s *Service) ResendConfirmation(ctx context.Context, a access.Actor, id string, c signin.Client) error {
	u, _, err := s.manageable(ctx, a, id, audit.EmailConfirmSent, c)
	if err != nil {
		return err
	}
	return s.signin.SendEmailConfirmation(ctx, a.User.ID, u, c)
}

// BulkResult counts what a bulk resend did.
type BulkResult struct {
	Sent      int // links mailed
	Throttled int // skipped: a link was sent less than a minute ago, or a quota is spent
	Failed    int // the mail server refused
}

// ResendConfirmations mails a new confirmation link to every user with an
// unconfirmed address in the org subtree slug that the actor can see — and
// to no one else (S12). Users whose role is above the actor's are skipped.
func (s *Service) ResendConfirmations(ctx context.Context, a access.Actor, slug string, c signin.Client) (BulkResult, error) {
	o, err := s.Org(ctx, a, slug)
	if err != nil {
		return BulkResult{}, err
	}
	var res BulkResult
	after := ""
	for {
		us, err := s.Users(ctx, a, store.UserFilter{OrgPath: o.Path, Limit: 500, AfterID: after})
		if err != nil {
			return res, err
		}
		for _, u := range us {
			if u.Email == "" || u.EmailConfirmedAt != nil || u.Disabled || u.Role.Rank() > a.User.Role.Rank() {
				continue
			}
			switch err := s.signin.SendEmailConfirmation(ctx, a.User.ID, u, c); {
			case err == nil:
				res.Sent++
			case errors.Is(err, signin.ErrResendTooSoon), errors.Is(err, signin.ErrSendQuota):
				res.Throttled++
			case errors.Is(err, signin.ErrDelivery):
				res.Failed++
			default:
				return res, err
			}
		}
		if len(us) < 500 {
			return res, nil
		}
		after = us[len(us)-1].ID
	}
}

// confirmLater mails a confirmation link for a new or changed address. A
// failure does not undo the change: the admin can resend.
func (s *Service) confirmLater(ctx context.Context, a access.Actor, u store.User, c signin.Client) {
	if u.Email == "" || u.EmailConfirmedAt != nil {
		return
	}
	if err := s.signin.SendEmailConfirmation(ctx, a.User.ID, u, c); err != nil && !errors.Is(err, signin.ErrNoDelivery) {
		s.log.WarnContext(ctx, "confirmation mail not sent", "user", u.ID, "err", err)
	}
}
