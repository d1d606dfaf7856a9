package signin

import (
	"context"
	"errors"
	"slices"

	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/store"
)

// SessionPrincipal returns the principal of the session with the given id
// for a credential that descends from it (an OpenID Connect grant), decided
// from current data like Authenticate: ErrUnauthenticated when the session
// was revoked (sign-out, MFA reset, password change, disabling), is past its
// absolute lifetime, or its user is gone or disabled — in Twofold, or, for a
// directory user, in the directory (goneFromDirectory: asked at most every
// few minutes per user; then every session of the user ends, as at session
// use). The idle timeout does not apply: an app's refresh is not the
// user's presence in the portal. Principal.Lacks says whether the session
// still satisfies the user's current policy. Nothing else is written.
func (s *Service) SessionPrincipal(ctx context.Context, sessionID string) (Principal, error) {
	sess, err := s.store.GetSession(ctx, sessionID)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, err
	}
	if sess.RevokedAt != nil || !s.now().Before(sess.ExpiresAt) {
		return Principal{}, ErrUnauthenticated
	}
	u, err := s.store.GetUser(ctx, sess.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled) {
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, err
	}
	if s.goneFromDirectory(ctx, u) {
		s.endDirectorySessions(ctx, u)
		return Principal{}, ErrUnauthenticated
	}
	org, err := s.store.GetOrg(ctx, u.OrgID)
	if err != nil {
		return Principal{}, err
	}
	p := Principal{Session: sess, User: u, Org: org}
	if p.Lacks, err = s.lacks(ctx, &p); err != nil {
		return Principal{}, err
	}
	return p, nil
}

// HasConfirmedFactor reports whether the user has an active second factor
// (true when that cannot be read: callers fail closed).
func (s *Service) HasConfirmedFactor(ctx context.Context, userID string) bool {
	return s.hasConfirmedFactor(ctx, userID)
}

// ConfirmInPlace checks a current code for the principal and records the
// check on its session in place: amr gains "mfa" and the method, and the
// second-factor time becomes now. Unlike Reauthenticate the session keeps
// its id and token, so that what descends from it (OpenID Connect grants)
// stays bound to it — the token already stood for this user after a full
// sign-in in this browser, as it does when a first factor is enrolled
// (markFirstFactor). It answers ErrNoFactor when the user has none.
func (s *Service) ConfirmInPlace(ctx context.Context, p Principal, code string, c Client) (store.Session, error) {
	if !s.hasConfirmedFactor(ctx, p.User.ID) {
		return store.Session{}, ErrNoFactor
	}
	got, err := s.checkCode(ctx, p.User, MethodAny, code, c, audit.CodeChecked)
	if err != nil {
		return store.Session{}, err
	}
	now := s.now().UTC()
	amr := slices.Clone(p.Session.AMR)
	for _, m := range append([]string{"mfa"}, got.amr()...) {
		if !slices.Contains(amr, m) {
			amr = append(amr, m)
		}
	}
	if err := s.store.MarkSessionMFA(ctx, p.Session.ID, amr, now); err != nil {
		return store.Session{}, err
	}
	sess := p.Session
	sess.AMR, sess.MFAAt = amr, &now
	return sess, nil
}
