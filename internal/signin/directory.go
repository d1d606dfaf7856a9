package signin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/directory"
	"github.com/twofold-id/twofold/internal/normalize"
	"github.com/twofold-id/twofold/internal/policy"
	"github.com/twofold-id/twofold/internal/problem"
	"github.com/twofold-id/twofold/internal/store"
)

// Directory checks the passwords of directory users; *directory.Service
// implements it.
type Directory interface {
	// Resolve returns the directory that applies to the last org of chain
	// (root first), or directory.ErrNoDirectory.
	Resolve(ctx context.Context, chain []store.Org) (store.Directory, error)
	// Authenticate finds username in d and binds as it with password;
	// it returns directory.ErrRejected or directory.ErrUnavailable.
	Authenticate(ctx context.Context, d store.Directory, username, password string) (directory.Entry, error)
	// Lookup finds the entry with a stable id with the service account;
	// a deleted entry is directory.ErrRejected.
	Lookup(ctx context.Context, d store.Directory, entryID string) (directory.Entry, error)
}

var _ Directory = (*directory.Service)(nil)

// Errors of directory sign-in.
var (
	ErrDirectoryPassword = problem.Define(http.StatusForbidden, "directory_password",
		"Your password is managed by your organization's directory (LDAP / Active Directory). Change it there, or ask your IT team.")
)

// loginDirectory is the password step for the users of an org with a
// directory. It answers ok=false, having done nothing that costs time, when
// the password is not the directory's to check: no directory applies, the
// org or username cannot exist, or the name belongs to a local user (local
// and directory users coexist). Otherwise it decides the sign-in:
//
//  1. the attempt is reserved on the name's password counter (shared with
//     local sign-ins: delays, then a lock) before the directory is asked,
//     so Twofold cannot lock an account out of the directory faster than
//     its own limits allow; a right password clears it;
//  2. the directory searches the user with its service account and binds
//     as the entry; the password is never stored or hashed. A dummy hash
//     is verified as well, so a directory sign-in takes the time of a local
//     one whatever the outcome;
//  3. the entry's stable id finds the account (renamed entries keep it), or
//     the account is created now, MFA-required when the org chain's policy
//     says so for new directory users.
//
// A directory that cannot be reached answers directory_unavailable and
// counts against no one: the reserved attempt is given back.
func (s *Service) loginDirectory(ctx context.Context, req LoginRequest, key string, c Client) (res Result, ok bool, err error) {
	if s.dir == nil {
		return Result{}, false, nil
	}
	local, org, lerr := s.lookup(ctx, req.Org, req.Username)
	norm, err := normalize.Username(req.Username)
	if org.ID == "" || err != nil {
		return Result{}, false, nil // no such org, or no such username: the local path answers
	}
	if lerr == nil {
		if _, err := s.store.DirectoryEntryOf(ctx, local.ID); errors.Is(err, store.ErrNotFound) {
			return Result{}, false, nil
		} else if err != nil {
			return Result{}, true, err
		}
	} else if !errors.Is(lerr, store.ErrNotFound) {
		return Result{}, true, lerr
	}
	chain, err := s.store.OrgChain(ctx, org.ID)
	if err != nil {
		return Result{}, true, err
	}
	d, err := s.dir.Resolve(ctx, chain)
	if errors.Is(err, directory.ErrNoDirectory) {
		return Result{}, false, nil
	}
	if err != nil {
		return Result{}, true, err
	}
	fail := store.AuditEvent{OrgID: org.ID, Event: audit.SignInPassword, Outcome: audit.Failure}
	if lerr == nil {
		fail.ActorUserID, fail.TargetUserID = local.ID, local.ID
	}
	// The attempt is reserved on the name's password counter (the one local
	// sign-ins use) before the directory is asked.
	pc := s.newPasswordCheck(ctx, key, true)
	undo, err := s.reserveUndoable(ctx, pc)
	if err != nil {
		fail.Outcome, fail.Detail = audit.Denied, "password step throttled for this name"
		s.record(ctx, fail, c)
		return Result{}, true, err
	}
	entry, err := s.dir.Authenticate(ctx, d, norm, req.Password)
	s.hasher.VerifyDummy(ctx, req.Password)
	switch {
	case errors.Is(err, directory.ErrUnavailable):
		undo()
		fail.Detail = "directory unavailable"
		s.record(ctx, fail, c)
		return Result{}, true, err
	case errors.Is(err, directory.ErrRejected):
		fail.Detail = "directory: unknown user, wrong password or disabled entry"
		s.record(ctx, fail, c)
		s.passwordFailed(ctx, pc, local, org, c)
		return Result{}, true, ErrInvalidCredentials
	case err != nil:
		undo()
		return Result{}, true, err
	}
	// From here on the password was right; a refusal below stays counted.
	u, err := s.store.GetDirectoryUser(ctx, org.ID, entry.ID)
	switch {
	case err == nil:
		u, err = s.syncDirectoryUser(ctx, u, entry, d, c)
	case errors.Is(err, store.ErrNotFound) && lerr == nil:
		// The name is taken by an account of another entry (one deleted
		// from the directory, its name since given to someone else).
		fail.Detail = "directory: the username belongs to the account of another directory entry"
		s.record(ctx, fail, c)
		s.passwordFailed(ctx, pc, store.User{}, org, c)
		return Result{}, true, ErrInvalidCredentials
	case errors.Is(err, store.ErrNotFound):
		u, err = s.createDirectoryUser(ctx, org, chain, norm, entry, d, c)
	}
	if err != nil {
		return Result{}, true, err
	}
	if u.Disabled {
		fail.ActorUserID, fail.TargetUserID, fail.Detail = u.ID, u.ID, "account disabled"
		s.record(ctx, fail, c)
		s.passwordFailed(ctx, pc, u, org, c)
		return Result{}, true, ErrInvalidCredentials
	}
	pc.Leave(true)
	s.record(ctx, store.AuditEvent{ActorUserID: u.ID, TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.SignInPassword,
		Outcome: audit.Success, Detail: "directory"}, c)
	res, err = s.afterPassword(ctx, u, org, c)
	return res, true, err
}

// directoryRole is the role the directory gives an entry: admin for members
// of the admin group, member otherwise. ok is false when the directory does
// not decide roles (no admin group configured).
func directoryRole(e directory.Entry, d store.Directory) (role store.Role, ok bool) {
	if d.AdminGroupDN == "" {
		return "", false
	}
	if e.Admin {
		return store.RoleAdmin, true
	}
	return store.RoleMember, true
}

// createDirectoryUser creates the account of entry e in org at its first
// sign-in (just in time).
func (s *Service) createDirectoryUser(ctx context.Context, org store.Org, chain []store.Org, norm string, e directory.Entry, d store.Directory, c Client) (store.User, error) {
	name := e.Username
	nameNorm, err := normalize.Username(name)
	if err != nil {
		name, nameNorm = norm, norm
	}
	role, ok := directoryRole(e, d)
	if !ok {
		role = store.RoleMember
	}
	now := s.now().UTC()
	u := store.User{OrgID: org.ID, Username: name, UsernameNorm: nameNorm, Email: e.Email, Role: role,
		MFARequired: policy.ForOrg(chain).RequireMFAForNewDirectoryUsers, CreatedAt: now, UpdatedAt: now}
	u, err = s.store.CreateDirectoryUser(ctx, u, e.ID)
	if errors.Is(err, store.ErrConflict) {
		// A concurrent first sign-in of the same entry won the race.
		return s.store.GetDirectoryUser(ctx, org.ID, e.ID)
	}
	if err != nil {
		return store.User{}, err
	}
	s.record(ctx, store.AuditEvent{ActorUserID: u.ID, TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.UserCreated,
		Outcome: audit.Success, Detail: "directory user created at first sign-in; role=" + string(u.Role) + mfaDetail(u.MFARequired)}, c)
	return u, nil
}

func mfaDetail(required bool) string {
	if required {
		return "; MFA required (policy for new directory users)"
	}
	return ""
}

// syncDirectoryUser brings the account of entry e up to date with the
// directory: a renamed entry renames the account (when the new name is
// free in the org), a changed email changes it, and the admin group decides
// between member and admin (a superadmin is left alone). Only the columns
// that differ are written (no stale write-back).
func (s *Service) syncDirectoryUser(ctx context.Context, u store.User, e directory.Entry, d store.Directory, c Client) (store.User, error) {
	now := s.now().UTC()
	if nameNorm, err := normalize.Username(e.Username); err == nil && nameNorm != u.UsernameNorm {
		renamed, err := s.store.RenameDirectoryUser(ctx, u.ID, e.Username, nameNorm, now)
		switch {
		case err == nil:
			s.record(ctx, store.AuditEvent{TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.UserUpdated, Outcome: audit.Success,
				Detail: "directory entry renamed: " + u.Username + " -> " + renamed.Username}, c)
			u = renamed
		case !errors.Is(err, store.ErrConflict):
			return store.User{}, err
		} // a taken name: keep the old one
	}
	var ch store.UserChange
	if e.Email != "" && e.Email != u.Email {
		ch.Email = &e.Email
	}
	if role, ok := directoryRole(e, d); ok && u.Role != store.RoleSuperadmin && role != u.Role {
		ch.Role = &role
	}
	if ch.Email == nil && ch.Role == nil {
		return u, nil
	}
	before, after, err := s.store.PatchUser(ctx, u.ID, ch, now)
	if err != nil {
		return store.User{}, err
	}
	if after.Role != before.Role {
		s.record(ctx, store.AuditEvent{TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.UserUpdated, Outcome: audit.Success,
			Detail: "directory group: " + string(before.Role) + " -> " + string(after.Role)}, c)
	}
	return after, nil
}

// isDirectoryUser reports whether the directory holds u's password.
func (s *Service) isDirectoryUser(ctx context.Context, userID string) (bool, error) {
	_, err := s.store.DirectoryEntryOf(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// IsDirectoryUser reports whether u signs in with a directory password
// (and so cannot have a password set in Twofold).
func (s *Service) IsDirectoryUser(ctx context.Context, u store.User) (bool, error) {
	return s.isDirectoryUser(ctx, u.ID)
}

// reserveUndoable is pc.Enter that can be taken back: undo restores the
// counter as it was before, unless another check changed it meanwhile
// (then it only takes this attempt off). It is for a password that could
// not be checked at all (the directory was unavailable).
func (s *Service) reserveUndoable(ctx context.Context, pc *passwordCheck) (undo func(), err error) {
	var prev, next store.Attempts
	_, err = s.store.UpdatePasswordAttempts(ctx, pc.key, func(a store.Attempts) (store.Attempts, error) {
		n, locked, err := s.pwLockout.Reserve(a, s.now())
		pc.newlyLocked = false
		if err != nil {
			if locked {
				pc.refused = passwordRefusal(err)
				return n, nil
			}
			return a, err
		}
		pc.newlyLocked = locked
		prev, next = a, n
		return n, nil
	})
	if err != nil {
		pc.refused = passwordRefusal(err)
	}
	if pc.refused != nil {
		return nil, pc.refused
	}
	return func() {
		_, err := s.store.UpdatePasswordAttempts(ctx, pc.key, func(a store.Attempts) (store.Attempts, error) {
			if a.Failures == next.Failures {
				return prev, nil
			}
			if a.Failures > 0 {
				a.Failures--
			}
			return a, nil
		})
		if err != nil {
			s.log.Warn("password counter undo failed", "err", err)
		}
	}, nil
}

// directoryRecheck is how long a directory user's entry counts as present
// after the directory last said so.
const directoryRecheck = 5 * time.Minute

// goneFromDirectory reports whether u is a directory user whose entry the
// directory no longer has, or has disabled: then its sessions must end.
// Session use calls it when it refreshes a session (at most once a minute
// per session); the directory is asked at most every directoryRecheck per
// user. A directory that cannot be asked keeps sessions alive (it is
// logged): an outage must not sign everyone out.
func (s *Service) goneFromDirectory(ctx context.Context, u store.User) bool {
	if s.dir == nil {
		return false
	}
	s.dirSeenMu.Lock()
	seen, ok := s.dirSeen[u.ID]
	s.dirSeenMu.Unlock()
	if ok && s.now().Sub(seen) < directoryRecheck {
		return false
	}
	entryID, err := s.store.DirectoryEntryOf(ctx, u.ID)
	if err != nil {
		return false // a local user, or the store will say so elsewhere
	}
	chain, err := s.store.OrgChain(ctx, u.OrgID)
	if err != nil {
		return false
	}
	d, err := s.dir.Resolve(ctx, chain)
	if err != nil {
		return false // no directory any more: nothing to ask
	}
	e, err := s.dir.Lookup(ctx, d, entryID)
	switch {
	case errors.Is(err, directory.ErrRejected):
		return true
	case err != nil:
		s.log.Warn("directory re-check failed; session kept", "user", u.ID, "err", err)
		return false
	case e.Disabled:
		return true
	}
	s.dirSeenMu.Lock()
	if len(s.dirSeen) > 100000 {
		clear(s.dirSeen) // a bound, not an eviction policy: entries are only a cache
	}
	s.dirSeen[u.ID] = s.now()
	s.dirSeenMu.Unlock()
	return false
}

// endDirectorySessions revokes every session of u, whose entry is gone
// from the directory or disabled there.
func (s *Service) endDirectorySessions(ctx context.Context, u store.User) {
	n, err := s.store.RevokeUserSessions(ctx, u.ID, "", s.now().UTC(), "directory: entry deleted or disabled")
	if err != nil {
		s.log.Error("revoking the sessions of a user gone from the directory", "user", u.ID, "err", err)
		return
	}
	s.record(ctx, store.AuditEvent{TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.SessionRevoked, Outcome: audit.Success,
		Detail: fmt.Sprintf("%d sessions ended: entry deleted or disabled in the directory", n)}, Client{})
}
