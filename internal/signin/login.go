package signin

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/factor"
	"github.com/twofold-id/twofold/internal/normalize"
	"github.com/twofold-id/twofold/internal/notice"
	"github.com/twofold-id/twofold/internal/policy"
	"github.com/twofold-id/twofold/internal/store"
)

// LoginRequest is the password step.
type LoginRequest struct {
	Org      string // org slug
	Username string
	Password string
}

// Login checks the password and answers with a session, or with a flow for
// the second step. Unknown org, unknown user, disabled user and wrong
// password all give ErrInvalidCredentials after the same work (a dummy hash
// is verified when there is nothing real to verify).
//
// Wrong passwords are counted per account name — the normalized org and
// username as typed, whether or not they name an account — with growing
// delays (ErrPasswordDelay) and a lock at the cap (ErrSignInLocked) that
// lifts after the cool-down or at an admin's Unlock. Each check is reserved
// on that counter before the hash is computed (see verifyCounted); a right
// password clears the counter. A disabled account's right password counts
// as wrong, so the counter tells nothing either.
func (s *Service) Login(ctx context.Context, req LoginRequest, c Client) (Result, error) {
	key := passwordKey(req.Org, req.Username)
	if err := s.passwordThrottled(ctx, key); err != nil {
		s.record(ctx, store.AuditEvent{Event: audit.SignInPassword, Outcome: audit.Denied, Detail: "password step throttled for this name"}, c)
		return Result{}, err
	}
	if res, ok, err := s.loginDirectory(ctx, req, key, c); ok {
		return res, err // the directory's user: see directory.go
	}
	u, org, err := s.lookup(ctx, req.Org, req.Username)
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Result{}, err
	}
	pc := s.newPasswordCheck(ctx, key, known && !u.Disabled)
	// u.PasswordHash is empty for an unknown name or an account without a
	// password: the dummy hash spends the time of a real check and matches
	// nothing.
	ok, rehash, err := s.verifyCounted(ctx, pc, req.Password, u.PasswordHash)
	if pc.refused != nil {
		s.record(ctx, store.AuditEvent{ActorUserID: u.ID, TargetUserID: u.ID, OrgID: org.ID, Event: audit.SignInPassword, Outcome: audit.Denied,
			Detail: "password step throttled for this name"}, c)
		return Result{}, pc.refused
	}
	if err != nil {
		if ctx.Err() != nil {
			return Result{}, ctx.Err()
		}
		s.log.ErrorContext(ctx, "password hash unreadable", "user", u.ID, "err", err)
		ok = false
	}
	if !known {
		s.record(ctx, store.AuditEvent{OrgID: org.ID, Event: audit.SignInPassword, Outcome: audit.Failure, Detail: "unknown org or user"}, c)
		s.passwordFailed(ctx, pc, store.User{}, org, c)
		return Result{}, ErrInvalidCredentials
	}
	if !ok || u.Disabled {
		detail := "wrong password"
		if ok {
			detail = "account disabled"
		}
		s.record(ctx, store.AuditEvent{ActorUserID: u.ID, TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.SignInPassword, Outcome: audit.Failure, Detail: detail}, c)
		s.passwordFailed(ctx, pc, u, org, c)
		return Result{}, ErrInvalidCredentials
	}
	if rehash {
		s.rehash(ctx, u, req.Password)
	}
	s.record(ctx, store.AuditEvent{ActorUserID: u.ID, TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.SignInPassword, Outcome: audit.Success}, c)
	res, err := s.afterPassword(ctx, u, org, c)
	if errors.Is(err, store.ErrStale) {
		// The account changed while the password was being checked, and
		// the store refused a flow or session for the old state. If the
		// password checked is still the account's and the account is
		// enabled (a first factor was enrolled, say), decide again from the
		// account as it is now; otherwise the sign-in fails.
		if cur, gerr := s.store.GetUser(ctx, u.ID); gerr == nil && !cur.Disabled && cur.PasswordHash == u.PasswordHash {
			res, err = s.afterPassword(ctx, cur, org, c)
		}
	}
	if errors.Is(err, store.ErrStale) {
		s.record(ctx, store.AuditEvent{ActorUserID: u.ID, TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.SignInPassword, Outcome: audit.Denied,
			Detail: "account changed during sign-in"}, c)
		return Result{}, ErrInvalidCredentials
	}
	return res, err
}

// lookup finds the user by org slug and username, both normalized the same
// way (NFKC and case folding: "Acme"/"BOB" is acme/bob). It returns
// store.ErrNotFound for anything that does not name an existing user,
// including input that cannot be a slug or username; org is set when the
// org exists.
func (s *Service) lookup(ctx context.Context, slug, username string) (store.User, store.Org, error) {
	slug, err := normalize.OrgSlug(slug)
	if err != nil {
		return store.User{}, store.Org{}, store.ErrNotFound
	}
	org, err := s.store.GetOrgBySlug(ctx, slug)
	if err != nil {
		return store.User{}, store.Org{}, err
	}
	norm, err := normalize.Username(username)
	if err != nil {
		return store.User{}, org, store.ErrNotFound
	}
	u, err := s.store.GetUserByName(ctx, org.ID, norm)
	return u, org, err
}

// rehash upgrades an imported bcrypt hash (or an argon2id hash with old
// parameters) to the current parameters. Failures only get logged: the
// sign-in itself succeeded.
func (s *Service) rehash(ctx context.Context, u store.User, pw string) {
	h, err := s.hasher.Hash(ctx, pw)
	if err == nil {
		_, err = s.store.SetPasswordHash(ctx, u.ID, u.PasswordHash, h)
	}
	if err != nil {
		s.log.WarnContext(ctx, "password rehash failed", "user", u.ID, "err", err)
	}
}

// afterPassword decides what follows a correct password: a session, a
// second-factor challenge, or enrollment.
func (s *Service) afterPassword(ctx context.Context, u store.User, org store.Org, c Client) (Result, error) {
	factors, err := s.store.ListFactors(ctx, u.ID)
	if err != nil {
		return Result{}, err
	}
	methods := s.challengeMethods(ctx, u, factors)
	if len(methods) > 0 {
		return s.startFlow(ctx, u, org, store.FlowMFA, methods, nil, c)
	}
	pol, err := s.Policy(ctx, u)
	if err != nil {
		return Result{}, err
	}
	if !pol.Required {
		return s.issueSession(ctx, u, org, []string{"pwd"}, nil, c)
	}
	deadline, err := s.enrollmentDeadline(ctx, &u, pol)
	if err != nil {
		return Result{}, err
	}
	return s.startFlow(ctx, u, org, store.FlowEnroll, s.enrollMethods(u, pol), deadline, c)
}

// enrollable lists the factor kinds this server can set up: every method
// users add themselves whose challenge this server can deliver.
func (s *Service) enrollable() []string {
	var out []string
	for _, m := range s.methods.All() {
		t := m.Traits()
		if !factor.Selectable(t) || s.canSend(t.Channel) != nil {
			continue
		}
		if c, ok := m.(factor.Ceremonial); ok && !c.Configured() {
			continue // no relying party: security keys cannot be set up here
		}
		out = append(out, m.Kind())
	}
	return out
}

// enrollMethods lists the methods u may set up under pol on this server.
// Email is listed even before the address is confirmed, so that pages can
// say what is missing; choosing it then answers email_not_confirmed.
func (s *Service) enrollMethods(u store.User, pol policy.Effective) []string {
	var allowed []string
	for _, m := range pol.AllowedMethods {
		if slices.Contains(s.enrollable(), m) && pol.CanEnroll(m) {
			allowed = append(allowed, m)
		}
	}
	return allowed
}

// challengeMethods lists the ways the user can answer a challenge, in the
// order they are offered.
func (s *Service) challengeMethods(ctx context.Context, u store.User, factors []store.Factor) []string {
	var m []string
	primary := false
	for _, meth := range s.methods.All() {
		if ok, err := meth.Usable(ctx, s.env(), u, factors); err == nil && ok {
			m = append(m, meth.Kind())
			primary = primary || !meth.Traits().Recovery
		}
	}
	if !primary {
		return nil // recovery methods only beside another factor
	}
	return m
}

// enrollmentDeadline returns the end of the user's grace period, or nil when
// setup is due now. The grace period starts the first time a sign-in finds
// MFA required for a user without factors.
func (s *Service) enrollmentDeadline(ctx context.Context, u *store.User, pol policy.Effective) (*time.Time, error) {
	if pol.Grace <= 0 {
		return nil, nil
	}
	if u.MFARequiredSince == nil {
		// One column, set only if still unset: never a write-back of the
		// copy of u read before the password was checked.
		updated, err := s.store.SetMFARequiredSince(ctx, u.ID, s.now().UTC())
		if err != nil {
			return nil, err
		}
		u.MFARequiredSince = updated.MFARequiredSince
	}
	d := u.MFARequiredSince.Add(pol.Grace)
	if !s.now().Before(d) {
		return nil, nil
	}
	return &d, nil
}

// Policy returns the effective policy of u: its org chain, its own flag,
// and the platform rule that admins need a second factor.
func (s *Service) Policy(ctx context.Context, u store.User) (policy.Effective, error) {
	chain, err := s.store.OrgChain(ctx, u.OrgID)
	if err != nil {
		return policy.Effective{}, err
	}
	return s.PolicyIn(chain, u), nil
}

// PolicyIn is Policy for a user whose org chain (root first) the caller
// already holds.
func (s *Service) PolicyIn(chain []store.Org, u store.User) policy.Effective {
	e := policy.ForUser(chain, u)
	if s.opts.AdminsNeedMFA && u.Role.Rank() >= store.RoleAdmin.Rank() {
		e.Required = true
	}
	return e
}

func (s *Service) startFlow(ctx context.Context, u store.User, org store.Org, kind store.FlowKind, methods []string, deadline *time.Time, c Client) (Result, error) {
	tok, hash := newToken(flowPrefix)
	now := s.now().UTC()
	f, err := s.store.CreateFlow(ctx, store.Flow{
		TokenHash: hash, UserID: u.ID, Kind: kind, CreatedAt: now, ExpiresAt: now.Add(s.opts.FlowTTL),
		IP: c.IP, UserAgent: c.UserAgent, UserVersion: u.SecurityVersion,
	})
	if err != nil {
		return Result{}, err
	}
	status := StatusMFARequired
	if kind == store.FlowEnroll {
		status = StatusEnrollmentRequired
	}
	return Result{Status: status, FlowToken: tok, FlowExpiresAt: f.ExpiresAt, Methods: methods,
		EnrollmentDeadline: deadline, User: u, Org: org}, nil
}

// flow returns the live flow of the given kind for tok and its user, read
// now: a flow is dead once its user is gone or disabled, or has changed
// password, role or MFA since the flow began (SecurityVersion).
func (s *Service) flow(ctx context.Context, tok string, kind store.FlowKind) (store.Flow, store.User, error) {
	if !wellFormed(tok, flowPrefix) {
		return store.Flow{}, store.User{}, ErrInvalidFlow
	}
	f, err := s.store.GetFlowByTokenHash(ctx, hashToken(tok))
	if errors.Is(err, store.ErrNotFound) {
		return store.Flow{}, store.User{}, ErrInvalidFlow
	}
	if err != nil {
		return store.Flow{}, store.User{}, err
	}
	if f.Kind != kind || f.ConsumedAt != nil || !s.now().Before(f.ExpiresAt) || f.Failures >= s.opts.FlowMaxFailures {
		return store.Flow{}, store.User{}, ErrInvalidFlow
	}
	u, err := s.store.GetUser(ctx, f.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (u.Disabled || u.SecurityVersion != f.UserVersion)) {
		return store.Flow{}, store.User{}, ErrInvalidFlow
	}
	return f, u, err
}

// Verify answers the second-factor challenge of a flow. A wrong code counts
// against both the account (see checkCode) and the flow, which dies after
// a few wrong codes.
func (s *Service) Verify(ctx context.Context, flowTok, method, code string, c Client) (Result, error) {
	f, u, err := s.flow(ctx, flowTok, store.FlowMFA)
	if err != nil {
		return Result{}, err
	}
	if _, ok := s.methods.Lookup(method); !ok {
		return Result{}, ErrMethodUnavailable.WithField("method")
	}
	got, checkedEv, err := s.check(ctx, u, codeCheck{method: method, raw: code, event: audit.SignInSecondFactor,
		scope: factor.Scope{FlowID: f.ID, Purpose: store.PurposeSignIn}, deferFinish: true}, c)
	if err != nil {
		if errors.Is(err, ErrInvalidCode) {
			if _, ferr := s.store.AddFlowFailure(ctx, f.ID); ferr != nil {
				return Result{}, ferr
			}
		}
		return Result{}, err
	}
	org, err := s.store.GetOrg(ctx, u.OrgID)
	if err != nil {
		return Result{}, err
	}
	// Everything a verified code changes — the flow, the failure counter,
	// the session, the audit events — is written in one transaction: one
	// commit instead of five on the hot path.
	now := s.now().UTC()
	newDevice := s.isNewDevice(ctx, u, c)
	tok, rec := s.newSession(u, append([]string{"pwd", "mfa"}, got.amr()...), &now, c)
	events := []store.AuditEvent{checkedEv}
	if got.Event != "" {
		events = append(events, store.AuditEvent{TargetUserID: u.ID, ActorUserID: u.ID, OrgID: u.OrgID, Event: got.Event,
			Outcome: audit.Success, Detail: got.Detail})
	}
	events = append(events, completedEvent(u, rec.ID))
	for i := range events {
		events[i].IP, events[i].UserAgent = c.IP, c.UserAgent
		events[i] = s.audit.Prepare(ctx, events[i])
	}
	sess, won, err := s.store.CompleteSignIn(ctx, f.ID, now, rec, events)
	if err != nil {
		return Result{}, err
	}
	if !won {
		return Result{}, ErrInvalidFlow
	}
	if newDevice {
		s.notify(ctx, u, notice.NewDevice, "", c) // only once the sign-in is committed
	}
	if got.Notice != "" {
		s.notify(ctx, u, got.Notice, got.Detail, c)
	}
	return Result{Status: StatusAuthenticated, SessionToken: tok, Session: sess, User: u, Org: org}, nil
}

// SkipEnrollment completes an enrollment flow without setting up a factor,
// which is allowed only while the account still has no confirmed factor
// and policy, read now, still lets the user postpone setup (before the
// enrollment deadline, or MFA no longer required).
func (s *Service) SkipEnrollment(ctx context.Context, flowTok string, c Client) (Result, error) {
	f, u, err := s.flow(ctx, flowTok, store.FlowEnroll)
	if err != nil {
		return Result{}, err
	}
	if s.hasConfirmedFactor(ctx, u.ID) {
		// Decided at the password step, undone since: the account has a
		// second factor, which a new sign-in will ask for.
		return Result{}, ErrInvalidFlow
	}
	pol, err := s.Policy(ctx, u)
	if err != nil {
		return Result{}, err
	}
	deadline, err := s.enrollmentDeadline(ctx, &u, pol)
	if err != nil {
		return Result{}, err
	}
	if pol.Required && deadline == nil {
		return Result{}, ErrSkipNotAllowed
	}
	won, err := s.store.ConsumeFlow(ctx, f.ID, s.now())
	if err != nil {
		return Result{}, err
	}
	if !won {
		return Result{}, ErrInvalidFlow
	}
	org, err := s.store.GetOrg(ctx, u.OrgID)
	if err != nil {
		return Result{}, err
	}
	r, err := s.issueSession(ctx, u, org, []string{"pwd"}, nil, c)
	if errors.Is(err, store.ErrStale) {
		return Result{}, ErrInvalidFlow
	}
	r.EnrollmentDeadline = deadline
	return r, err
}
