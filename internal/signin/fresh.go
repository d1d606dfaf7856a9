package signin

import (
	"context"
	"time"
)

// CheckStepUp decides whether the user with the given id, whose session
// last passed a second-factor check at mfaAt (nil: never), may perform an
// action that weakens someone else's security or hands over access.
// Unlike RequireFresh it never lets a user without a factor through: a
// re-authentication that cannot happen must not be skipped. The answer is
// ErrOwnFactorRequired when the user has no confirmed factor, and
// ErrReauthRequired when the last check lies outside the
// re-authentication window.
func (s *Service) CheckStepUp(ctx context.Context, userID string, mfaAt *time.Time) error {
	if !s.hasConfirmedFactor(ctx, userID) {
		return ErrOwnFactorRequired
	}
	if mfaAt == nil || s.now().Sub(*mfaAt) > s.opts.ReauthWindow {
		return ErrReauthRequired
	}
	return nil
}
