package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/normalize"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// NewUser describes a user to create.
type NewUser struct {
	OrgSlug     string
	Username    string
	Email       string
	Role        store.Role // default member
	Password    string     // may be empty: the user cannot sign in until one is set
	MFARequired bool
}

// hasher is the part of the password hasher CreateUser needs.
// CreateUser creates a user in an org of the actor's subtree, with a role no
// higher than the actor's.
func (s *Service) CreateUser(ctx context.Context, a access.Actor, n NewUser, c signin.Client) (store.User, error) {
	org, err := s.Org(ctx, a, n.OrgSlug)
	if err != nil {
		return store.User{}, err
	}
	if n.Role == "" {
		n.Role = store.RoleMember
	}
	if !n.Role.Valid() {
		return store.User{}, ErrInvalid.WithMessage("role must be member, admin or superadmin.").WithField("role")
	}
	if !a.CanGrant(n.Role) {
		return store.User{}, ErrRoleTooHigh
	}
	if n.Role != store.RoleMember {
		// Creating an admin hands over access.
		if err := s.requireStepUp(ctx, a); err != nil {
			return store.User{}, err
		}
	}
	rec, err := s.newUserRecord(ctx, org, n)
	if err != nil {
		return store.User{}, err
	}
	u, err := s.store.CreateUser(ctx, rec)
	if err != nil {
		return store.User{}, userConflict(err, org)
	}
	s.created(ctx, a, u, c)
	return u, nil
}

// newUserRecord checks n (username, email, password rules) and returns the
// record to store for it in org, with the password hashed.
func (s *Service) newUserRecord(ctx context.Context, org store.Org, n NewUser) (store.User, error) {
	norm, err := normalize.Username(n.Username)
	if err != nil {
		return store.User{}, ErrInvalid.WithMessage("A username is 1 to 128 characters without spaces or control characters.").WithField("username")
	}
	var email string
	if n.Email != "" {
		if email, err = normalize.Email(n.Email); err != nil {
			return store.User{}, ErrInvalid.WithMessage("That is not a valid email address.").WithField("email")
		}
	}
	var hash string
	if n.Password != "" {
		if err := signin.CheckPassword(n.Password); err != nil {
			return store.User{}, err
		}
		if hash, err = s.signin.HashPassword(ctx, n.Password); err != nil {
			return store.User{}, err
		}
	}
	now := s.now().UTC()
	return store.User{OrgID: org.ID, Username: n.Username, UsernameNorm: norm, Email: email,
		Role: n.Role, PasswordHash: hash, MFARequired: n.MFARequired, CreatedAt: now, UpdatedAt: now}, nil
}

// userConflict turns the store's ErrConflict for a new user into the
// public answer.
func userConflict(err error, org store.Org) error {
	if errors.Is(err, store.ErrConflict) {
		return ErrConflict.WithMessage("A user with that username already exists in " + org.Name + ".").WithField("username")
	}
	return err
}

// created records a new user and mails the confirmation link for its
// address.
func (s *Service) created(ctx context.Context, a access.Actor, u store.User, c signin.Client) {
	s.record(ctx, a, store.AuditEvent{Event: audit.UserCreated, OrgID: u.OrgID, TargetUserID: u.ID, Detail: "role=" + string(u.Role)}, c)
	s.confirmLater(ctx, a, u, c)
}

// User returns a user the actor may manage, with its org. Users outside the
// actor's subtree are ErrNotFound.
func (s *Service) User(ctx context.Context, a access.Actor, id string) (store.User, store.Org, error) {
	if !a.IsAdmin() {
		return store.User{}, store.Org{}, ErrForbidden
	}
	u, err := s.store.GetUser(ctx, id)
	if err != nil {
		return store.User{}, store.Org{}, storeErr(err)
	}
	org, err := s.store.GetOrg(ctx, u.OrgID)
	if err != nil {
		return store.User{}, store.Org{}, storeErr(err)
	}
	if !a.CanManageOrg(org) {
		return store.User{}, store.Org{}, ErrNotFound
	}
	return u, org, nil
}

// UserByName returns a user by org slug and username (as typed).
func (s *Service) UserByName(ctx context.Context, a access.Actor, orgSlug, username string) (store.User, store.Org, error) {
	org, err := s.Org(ctx, a, orgSlug)
	if err != nil {
		return store.User{}, store.Org{}, err
	}
	norm, err := normalize.Username(username)
	if err != nil {
		return store.User{}, store.Org{}, ErrNotFound
	}
	u, err := s.store.GetUserByName(ctx, org.ID, norm)
	if err != nil {
		return store.User{}, store.Org{}, storeErr(err)
	}
	return u, org, nil
}

// Users lists users in the actor's subtree. When f names an org (OrgID) or a
// subtree (OrgPath) outside the actor's, the result is empty.
func (s *Service) Users(ctx context.Context, a access.Actor, f store.UserFilter) ([]store.User, error) {
	if !a.IsAdmin() {
		return nil, ErrForbidden
	}
	scope := a.Org.Path
	if a.User.Role == store.RoleSuperadmin {
		scope = ""
	}
	if f.OrgPath == "" {
		f.OrgPath = scope
	} else if !strings.HasPrefix(f.OrgPath, scope) {
		return nil, nil
	}
	return s.store.ListUsers(ctx, f)
}

// manageable loads a user and checks that the actor may act on it: in scope,
// role not above the actor's, and not the actor itself.
func (s *Service) manageable(ctx context.Context, a access.Actor, id, event string, c signin.Client) (store.User, store.Org, error) {
	u, org, err := s.User(ctx, a, id)
	if err != nil {
		return store.User{}, store.Org{}, err
	}
	if !a.CanManageUser(u, org) {
		return store.User{}, store.Org{}, s.denied(ctx, a, event, org.ID, u.ID, c)
	}
	if a.User.ID != "" && u.ID == a.User.ID {
		// An admin path must not become a way around the checks of
		// self-service (current password, current code, policy).
		return store.User{}, store.Org{}, ErrSelfAction
	}
	return u, org, nil
}

// Change is a partial update of a user; nil fields stay as they are.
type Change struct {
	Email       *string
	Role        *store.Role
	Disabled    *bool
	MFARequired *bool
}

// UpdateUser applies ch to a user the actor may manage. Only the fields ch
// names are written (store.PatchUser), so a concurrent change of another
// field — by a sign-in, or by another admin — is never undone. Disabling a
// user or changing a role revokes the user's sessions.
func (s *Service) UpdateUser(ctx context.Context, a access.Actor, id string, ch Change, c signin.Client) (store.User, error) {
	u, org, err := s.manageable(ctx, a, id, audit.UserUpdated, c)
	if err != nil {
		return store.User{}, err
	}
	var sc store.UserChange
	// A role change or no longer requiring MFA needs a step-up.
	sensitive := (ch.Role != nil && *ch.Role != u.Role) || (ch.MFARequired != nil && !*ch.MFARequired && u.MFARequired)
	if ch.Email != nil {
		email := ""
		if *ch.Email != "" {
			if email, err = normalize.Email(*ch.Email); err != nil {
				return store.User{}, ErrInvalid.WithMessage("That is not a valid email address.").WithField("email")
			}
		}
		sc.Email = &email
	}
	if ch.Role != nil {
		if !ch.Role.Valid() {
			return store.User{}, ErrInvalid.WithMessage("role must be member, admin or superadmin.").WithField("role")
		}
		if !a.CanGrant(*ch.Role) {
			return store.User{}, ErrRoleTooHigh
		}
		sc.Role = ch.Role
	}
	sc.Disabled, sc.MFARequired = ch.Disabled, ch.MFARequired
	if sensitive {
		if err := s.requireStepUp(ctx, a); err != nil {
			return store.User{}, err
		}
	}
	before, after, err := s.store.PatchUser(ctx, u.ID, sc, s.now().UTC())
	if err != nil {
		return store.User{}, storeErr(err)
	}
	// The detail and the revocation follow what the store changed, not
	// the copy read above.
	var detail string
	revoke := false
	if after.Email != before.Email {
		detail += " email changed"
	}
	if after.Role != before.Role {
		detail += fmt.Sprintf(" role %s→%s", before.Role, after.Role)
		revoke = true
	}
	if after.Disabled != before.Disabled {
		detail += fmt.Sprintf(" disabled=%t", after.Disabled)
	}
	revoke = revoke || (after.Disabled && !before.Disabled)
	if after.MFARequired != before.MFARequired {
		detail += fmt.Sprintf(" mfa_required=%t", after.MFARequired)
	}
	if revoke {
		if _, err := s.store.RevokeUserSessions(ctx, after.ID, "", s.now().UTC(), "changed by admin"); err != nil {
			return store.User{}, err
		}
	}
	s.record(ctx, a, store.AuditEvent{Event: audit.UserUpdated, OrgID: org.ID, TargetUserID: after.ID, Detail: detail}, c)
	if after.Email != before.Email {
		s.confirmLater(ctx, a, after, c)
	}
	return after, nil
}

// CanSetPassword reports (as nil) whether SetPassword would be allowed for
// the user id, without doing it, so that a request that changes several
// things can be refused before it changes any.
func (s *Service) CanSetPassword(ctx context.Context, a access.Actor, id string) error {
	if _, _, err := s.manageable(ctx, a, id, audit.PasswordChanged, signin.Client{}); err != nil {
		return err
	}
	return s.requireStepUp(ctx, a)
}

// SetPassword sets a user's password (revoking the user's sessions). It is
// a sensitive action: it hands over access to the account.
func (s *Service) SetPassword(ctx context.Context, a access.Actor, id, pw string, c signin.Client) error {
	u, _, err := s.manageable(ctx, a, id, audit.PasswordChanged, c)
	if err != nil {
		return err
	}
	if err := s.requireStepUp(ctx, a); err != nil {
		return err
	}
	return s.signin.SetPassword(ctx, a.User.ID, u, pw, "", c)
}

// ResetMFA removes a user's factors and backup codes and revokes its
// sessions (a lost phone). The user sets MFA up again at the next sign-in if
// policy requires it.
func (s *Service) ResetMFA(ctx context.Context, a access.Actor, id string, c signin.Client) error {
	u, _, err := s.manageable(ctx, a, id, audit.MFAReset, c)
	if err != nil {
		return err
	}
	if err := s.requireStepUp(ctx, a); err != nil {
		return err
	}
	return s.signin.ResetMFA(ctx, a.User.ID, u, c)
}

// Unlock clears a user's second-factor lockout.
func (s *Service) Unlock(ctx context.Context, a access.Actor, id string, c signin.Client) error {
	u, _, err := s.manageable(ctx, a, id, audit.Unlock, c)
	if err != nil {
		return err
	}
	return s.signin.Unlock(ctx, a.User.ID, u, c)
}

// DeleteUser deletes a user (its sessions and factors go with it; its audit
// events stay).
func (s *Service) DeleteUser(ctx context.Context, a access.Actor, id string, c signin.Client) error {
	u, org, err := s.manageable(ctx, a, id, audit.UserDeleted, c)
	if err != nil {
		return err
	}
	if err := s.store.DeleteUser(ctx, u.ID); err != nil {
		return storeErr(err)
	}
	s.record(ctx, a, store.AuditEvent{Event: audit.UserDeleted, OrgID: org.ID, TargetUserID: u.ID, Detail: "username=" + u.Username}, c)
	return nil
}

// Factors lists a user's factors (without secrets) for an admin.
func (s *Service) Factors(ctx context.Context, a access.Actor, id string) (signin.Overview, error) {
	u, _, err := s.User(ctx, a, id)
	if err != nil {
		return signin.Overview{}, err
	}
	return s.signin.Overview(ctx, u)
}
