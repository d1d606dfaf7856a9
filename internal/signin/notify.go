package signin

import (
	"context"

	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/notice"
	"github.com/twofold-id/twofold/internal/store"
)

// notify mails a security notification to u in the background, when u has
// an email address and mail delivery is configured. It never delays or
// fails the request.
//
// A notice only warns: it names no secret and grants nothing, so it goes to
// the address even before it is confirmed — a user whose address is not
// confirmed must still learn that a factor was added to their account. An
// unconfirmed address may be mistyped and belong to a stranger, so that
// mail leaves out the IP address and browser (notice.Event.Unconfirmed).
// Codes and links that grant something are never sent this way.
func (s *Service) notify(ctx context.Context, u store.User, kind, detail string, c Client) {
	if s.deliver == nil || u.Email == "" {
		return
	}
	org, err := s.store.GetOrg(ctx, u.OrgID)
	if err != nil {
		s.log.WarnContext(ctx, "notify: org lookup failed", "user", u.ID, "err", err)
		return
	}
	msg := notice.Notification(notice.Event{Kind: kind, OrgName: org.Name, Username: u.Username, Detail: detail,
		At: s.now(), IP: c.IP, UserAgent: c.UserAgent, Unconfirmed: u.EmailConfirmedAt == nil})
	s.bg.Go(ctx, "notice "+kind, func(ctx context.Context) {
		outcome := audit.Success
		if err := s.deliver.Email(ctx, u.Email, msg); err != nil {
			s.log.WarnContext(ctx, "notify: mail failed", "user", u.ID, "kind", kind, "err", err)
			outcome = audit.Failure
		}
		s.record(ctx, store.AuditEvent{TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.Notified, Outcome: outcome, Detail: kind}, c)
	})
}
