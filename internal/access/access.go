// Package access answers one question for every admin path: may this actor
// act on that org or that user?
//
// The rules: a superadmin may act on everything; an admin may act on its own
// org and every descendant, never on anything above or beside it, and never
// on a user whose role is above its own; a member may act on no one but
// itself. Nobody may grant a role above their own.
package access

import (
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

// Via says how an actor proved who it is.
type Via int

// The ways an actor authenticates.
const (
	// ViaNone is the zero value: an actor built without saying how it
	// authenticated. Sensitive actions refuse it.
	ViaNone Via = iota
	// ViaSession is a signed-in user's session (API bearer token or
	// portal cookie).
	ViaSession
	// ViaAPIKey is an admin API key; its User is a stand-in with the
	// key's role, org and name.
	ViaAPIKey
	// ViaOperator is the operator at the command line.
	ViaOperator
)

// An Actor is who performs an admin action: a signed-in user, an API key
// or the operator, with its org and how and when it authenticated. It is
// built afresh for every request from current data.
type Actor struct {
	User store.User
	Org  store.Org
	Via  Via

	// SessionID, AMR and MFAAt describe the session of a ViaSession
	// actor: its id, what it proved (RFC 8176 values) and when its last
	// second-factor check happened (nil: never).
	SessionID string
	AMR       []string
	MFAAt     *time.Time

	// KeyID is the API key of a ViaAPIKey actor.
	KeyID string
}

// IsAdmin reports whether the actor holds an admin role at all.
func (a Actor) IsAdmin() bool { return a.User.Role.Rank() >= store.RoleAdmin.Rank() }

// CanManageOrg reports whether the actor may act on target (see the package rules).
func (a Actor) CanManageOrg(target store.Org) bool {
	switch a.User.Role {
	case store.RoleSuperadmin:
		return true
	case store.RoleAdmin:
		return a.Org.IsAncestorOf(target)
	}
	return false
}

// CanManageUser reports whether the actor may act on target, which belongs
// to targetOrg. Acting on oneself through an admin path is allowed only for
// admins; self-service has its own endpoints.
func (a Actor) CanManageUser(target store.User, targetOrg store.Org) bool {
	if target.OrgID != targetOrg.ID {
		return false
	}
	if !a.CanManageOrg(targetOrg) {
		return false
	}
	return target.Role.Rank() <= a.User.Role.Rank()
}

// CanGrant reports whether the actor may give someone the role r.
func (a Actor) CanGrant(r store.Role) bool {
	return r.Valid() && a.IsAdmin() && r.Rank() <= a.User.Role.Rank()
}
