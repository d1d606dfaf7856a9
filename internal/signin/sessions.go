package signin

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/notice"
	"github.com/twofold-id/twofold/internal/store"
)

// Principal is a valid session together with its user and org.
type Principal struct {
	Session store.Session
	User    store.User
	Org     store.Org
	// Lacks is nil when the session satisfies the user's current policy,
	// else ErrEnrollmentRequired or ErrStepUpRequired (see assurance.go).
	// Surfaces let such a session do only what a sign-in flow in the same
	// state could.
	Lacks error
}

// MFAFresh reports whether the session's last second-factor check lies
// within the re-authentication window at now.
func (p Principal) MFAFresh(now time.Time, window time.Duration) bool {
	return p.Session.MFAAt != nil && now.Sub(*p.Session.MFAAt) <= window
}

// issueSession creates a session with a fresh token.
func (s *Service) issueSession(ctx context.Context, u store.User, org store.Org, amr []string, mfaAt *time.Time, c Client) (Result, error) {
	tok, rec := s.newSession(u, amr, mfaAt, c)
	return s.storeSession(ctx, u, org, tok, rec, c)
}

// storeSession stores rec, the session of token tok.
func (s *Service) storeSession(ctx context.Context, u store.User, org store.Org, tok string, rec store.Session, c Client) (Result, error) {
	newDevice := s.isNewDevice(ctx, u, c)
	sess, err := s.store.CreateSession(ctx, rec)
	if err != nil {
		return Result{}, err
	}
	if newDevice {
		s.notify(ctx, u, notice.NewDevice, "", c) // only once the session exists
	}
	s.record(ctx, completedEvent(u, sess.ID), c)
	return Result{Status: StatusAuthenticated, SessionToken: tok, Session: sess, User: u, Org: org}, nil
}

// newSession returns a fresh session token and the record to store for it.
func (s *Service) newSession(u store.User, amr []string, mfaAt *time.Time, c Client) (string, store.Session) {
	tok, hash := newToken(sessionPrefix)
	now := s.now().UTC()
	return tok, store.Session{ID: store.NewID(), TokenHash: hash, UserID: u.ID, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(s.opts.SessionAbsolute), AMR: amr, MFAAt: mfaAt, IP: c.IP, UserAgent: c.UserAgent,
		UserVersion: u.SecurityVersion}
}

func completedEvent(u store.User, sessionID string) store.AuditEvent {
	return store.AuditEvent{ActorUserID: u.ID, TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.SignInCompleted, Outcome: audit.Success,
		Detail: "session " + sessionID}
}

// IdleExpiry returns when the session ends if unused: the earlier of the
// idle and the absolute timeout.
func (s *Service) IdleExpiry(sess store.Session) time.Time {
	idle := sess.LastSeenAt.Add(s.opts.SessionIdle)
	if idle.Before(sess.ExpiresAt) {
		return idle
	}
	return sess.ExpiresAt
}

// Authenticate returns the principal of a session token, or
// ErrUnauthenticated when the token is unknown, revoked, past its idle or
// absolute timeout, or belongs to a disabled user. A flow token is never a
// session token. The principal's Lacks says whether the session still
// satisfies the user's current policy (decided now, from current data). It
// refreshes the session's last-seen time (at most once a minute, to keep
// writes off the hot path); at that refresh a directory user whose entry
// was deleted or disabled in the directory loses every session
// (goneFromDirectory).
func (s *Service) Authenticate(ctx context.Context, tok string) (Principal, error) {
	if !wellFormed(tok, sessionPrefix) {
		return Principal{}, ErrUnauthenticated
	}
	sess, err := s.store.GetSessionByTokenHash(ctx, hashToken(tok))
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, err
	}
	now := s.now()
	if sess.RevokedAt != nil || !now.Before(s.IdleExpiry(sess)) {
		return Principal{}, ErrUnauthenticated
	}
	u, err := s.store.GetUser(ctx, sess.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled) {
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, err
	}
	org, err := s.store.GetOrg(ctx, u.OrgID)
	if err != nil {
		return Principal{}, err
	}
	p := Principal{Session: sess, User: u, Org: org}
	if p.Lacks, err = s.lacks(ctx, &p); err != nil {
		return Principal{}, err
	}
	if now.Sub(sess.LastSeenAt) > time.Minute {
		if s.goneFromDirectory(ctx, u) {
			s.endDirectorySessions(ctx, u)
			return Principal{}, ErrUnauthenticated
		}
		if err := s.store.TouchSession(ctx, sess.ID, now.UTC()); err != nil {
			s.log.WarnContext(ctx, "touch session failed", "session", sess.ID, "err", err)
		} else {
			p.Session.LastSeenAt = now.UTC()
		}
	}
	return p, nil
}

// Logout revokes the principal's own session.
func (s *Service) Logout(ctx context.Context, p Principal, c Client) error {
	if err := s.store.RevokeSession(ctx, p.Session.ID, s.now().UTC(), "signout"); err != nil {
		return err
	}
	s.record(ctx, store.AuditEvent{ActorUserID: p.User.ID, TargetUserID: p.User.ID, OrgID: p.User.OrgID, Event: audit.SignOut, Outcome: audit.Success,
		Detail: "session " + p.Session.ID}, c)
	return nil
}

// Sessions lists the principal's live sessions, newest first. Sessions past
// their idle timeout are left out.
func (s *Service) Sessions(ctx context.Context, p Principal) ([]store.Session, error) {
	all, err := s.store.ListSessions(ctx, p.User.ID, s.now())
	if err != nil {
		return nil, err
	}
	live := all[:0]
	for _, sess := range all {
		if s.now().Before(s.IdleExpiry(sess)) {
			live = append(live, sess)
		}
	}
	return live, nil
}

// RevokeSession revokes one of the principal's own sessions; another user's
// session is ErrNotFound.
func (s *Service) RevokeSession(ctx context.Context, p Principal, id string, c Client) error {
	sess, err := s.store.GetSession(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && sess.UserID != p.User.ID) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	if err := s.store.RevokeSession(ctx, id, s.now().UTC(), "revoked by user"); err != nil {
		return err
	}
	s.record(ctx, store.AuditEvent{ActorUserID: p.User.ID, TargetUserID: p.User.ID, OrgID: p.User.OrgID, Event: audit.SessionRevoked, Outcome: audit.Success,
		Detail: "session " + id}, c)
	return nil
}

// RevokeOtherSessions signs the principal out everywhere else.
func (s *Service) RevokeOtherSessions(ctx context.Context, p Principal, c Client) (int, error) {
	n, err := s.store.RevokeUserSessions(ctx, p.User.ID, p.Session.ID, s.now().UTC(), "signed out elsewhere by user")
	if err != nil {
		return 0, err
	}
	s.record(ctx, store.AuditEvent{ActorUserID: p.User.ID, TargetUserID: p.User.ID, OrgID: p.User.OrgID, Event: audit.SessionRevoked, Outcome: audit.Success,
		Detail: "all other sessions"}, c)
	return n, nil
}

// Reauthenticate checks a current code for the principal and, on success,
// replaces its session by a new one (a new token at every step-up) whose
// second-factor time is now. The old token stops working. The replacement
// is the same session in everything else: it keeps the original creation
// time (when the password was checked) and absolute expiry, so step-ups
// never keep a session alive past its absolute timeout.
func (s *Service) Reauthenticate(ctx context.Context, p Principal, method, code string, c Client) (Result, error) {
	if _, ok := s.methods.Lookup(method); !ok && method != MethodAny {
		return Result{}, ErrMethodUnavailable.WithField("method")
	}
	if !s.hasConfirmedFactor(ctx, p.User.ID) {
		return Result{}, ErrNoFactor
	}
	got, err := s.checkCode(ctx, p.User, method, code, c, audit.CodeChecked)
	if err != nil {
		return Result{}, err
	}
	if err := s.store.RevokeSession(ctx, p.Session.ID, s.now().UTC(), "replaced by step-up"); err != nil {
		return Result{}, err
	}
	now := s.now().UTC()
	amr := append([]string{}, p.Session.AMR...)
	for _, m := range append([]string{"mfa"}, got.amr()...) {
		if !slices.Contains(amr, m) {
			amr = append(amr, m)
		}
	}
	tok, rec := s.newSession(p.User, amr, &now, c)
	rec.CreatedAt, rec.ExpiresAt = p.Session.CreatedAt, p.Session.ExpiresAt
	r, err := s.storeSession(ctx, p.User, p.Org, tok, rec, c)
	if errors.Is(err, store.ErrStale) {
		return Result{}, ErrUnauthenticated
	}
	return r, err
}

// ChangePassword sets a new password for the principal after checking the
// current one (counted like a sign-in's) and, when the user has a second
// factor, a current code. Every other session of the user is revoked.
func (s *Service) ChangePassword(ctx context.Context, p Principal, current, next, code string, c Client) error {
	if dir, err := s.isDirectoryUser(ctx, p.User.ID); err != nil || dir {
		return cmp.Or(err, error(ErrDirectoryPassword))
	}
	// The current password is checked on the account's password counter,
	// like at sign-in: a stolen session cannot guess it faster.
	pc := s.newPasswordCheck(ctx, userPasswordKey(p.Org, p.User), true)
	if err := s.passwordThrottled(ctx, pc.key); err != nil {
		return err
	}
	ok, _, err := s.verifyCounted(ctx, pc, current, p.User.PasswordHash)
	if pc.refused != nil {
		return pc.refused
	}
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	if !ok {
		s.passwordFailed(ctx, pc, p.User, p.Org, c)
		return ErrInvalidCredentials.WithMessage("The current password is not correct.").WithField("current_password")
	}
	if s.hasConfirmedFactor(ctx, p.User.ID) {
		if _, err := s.checkCode(ctx, p.User, MethodAny, code, c, audit.CodeChecked); err != nil {
			return err
		}
	}
	return s.SetPassword(ctx, p.User.ID, p.User, next, p.Session.ID, c)
}

// SetPassword stores a new password for u (checking the length rules),
// ends every sign-in flow of u (in the same store transaction) and revokes
// every session of u except keepSession. actorID is who did it. A
// directory user's password is the directory's: ErrDirectoryPassword.
func (s *Service) SetPassword(ctx context.Context, actorID string, u store.User, pw, keepSession string, c Client) error {
	if dir, err := s.isDirectoryUser(ctx, u.ID); err != nil || dir {
		return cmp.Or(err, error(ErrDirectoryPassword))
	}
	if err := CheckPassword(pw); err != nil {
		return err
	}
	h, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return err
	}
	if err := s.store.SetPassword(ctx, u.ID, h, s.now().UTC()); err != nil {
		return err
	}
	if _, err := s.store.RevokeUserSessions(ctx, u.ID, keepSession, s.now().UTC(), "password changed"); err != nil {
		return err
	}
	s.record(ctx, store.AuditEvent{ActorUserID: actorID, TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.PasswordChanged, Outcome: audit.Success}, c)
	s.notify(ctx, u, notice.PasswordChanged, "", c)
	return nil
}

// RequireFresh returns ErrReauthRequired unless the principal's session
// passed a second-factor check within the re-authentication window. Users
// without a confirmed factor have nothing to re-check and pass.
func (s *Service) RequireFresh(ctx context.Context, p Principal) error {
	if p.MFAFresh(s.now(), s.opts.ReauthWindow) || !s.hasConfirmedFactor(ctx, p.User.ID) {
		return nil
	}
	return ErrReauthRequired
}

// isNewDevice reports whether a sign-in of u from c comes from a browser or
// program (user agent) that none of u's live sessions uses, so that the
// caller sends the new-device notice once its session is committed. A
// user's very first session is not news. Unconfirmed addresses are told too
// (see notify).
func (s *Service) isNewDevice(ctx context.Context, u store.User, c Client) bool {
	if s.deliver == nil || u.Email == "" {
		return false
	}
	live, err := s.store.ListSessions(ctx, u.ID, s.now())
	if err != nil || len(live) == 0 {
		return false
	}
	for _, x := range live {
		if x.UserAgent == c.UserAgent {
			return false
		}
	}
	return true
}
