package admin

import (
	"context"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/signin"
)

// SessionActor returns the actor of a signed-in session, carrying how and
// when it authenticated so that sensitive actions can judge it.
func SessionActor(p signin.Principal) access.Actor {
	return access.Actor{User: p.User, Org: p.Org, Via: access.ViaSession, SessionID: p.Session.ID,
		AMR: p.Session.AMR, MFAAt: p.Session.MFAAt}
}

// requireStepUp is the one rule for sensitive admin actions — those that
// weaken someone's security or hand over access: lowering an effective
// policy, resetting MFA, setting a password, granting or changing a role,
// no longer requiring MFA for a user, creating an API key. Every surface
// (API, portal, command line) reaches them through this service, so none
// can skip it.
//
//   - The operator at the command line passes: it already holds the
//     database and the keys.
//   - An API key passes: creating it took a fresh second factor, and it is
//     bounded by its creator's current rights (AuthenticateAPIKey).
//   - A session passes only when its user has a confirmed second factor
//     (own_factor_required otherwise) that was checked within the
//     re-authentication window (reauthentication_required otherwise).
//   - Anything else is refused.
func (s *Service) requireStepUp(ctx context.Context, a access.Actor) error {
	switch a.Via {
	case access.ViaOperator, access.ViaAPIKey:
		return nil
	case access.ViaSession:
		return s.signin.CheckStepUp(ctx, a.User.ID, a.MFAAt)
	}
	return ErrReauth
}
