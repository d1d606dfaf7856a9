// Package policy computes the effective MFA policy of one user from the
// chain of orgs above it and the user's own flags. It is pure: no store, no
// clock, no I/O; the sign-in service calls it on every sign-in.
//
// The rules:
//   - An org's own setting applies; an unset field inherits its parent's.
//   - A locked org's setting is a floor for its whole subtree: no descendant
//     can end up weaker, at any depth. Strength orders off < optional <
//     required.
//   - A lock enforced from above (store.LockEnforced: placed on the org by
//     an admin of an ancestor) fixes the floor it recorded, and binds the
//     org itself as well as its subtree.
//   - Allowed methods: the nearest org that sets them decides, narrowed by
//     the effective list of every locked ancestor (a locked ancestor's list
//     is a ceiling for its subtree).
//   - A lock that fixes "required" also caps the enrollment grace period
//     below it at its own, so nobody below can postpone setup for longer.
//   - "Required for new directory users" set anywhere above holds below.
//   - The user's own mfa_required flag makes MFA required whatever the org says.
//   - "off" forbids setting up new factors; existing factors keep being asked
//     for (security is never silently removed).
package policy

import (
	"slices"
	"time"

	"github.com/twofold-id/twofold/internal/factor"
	"github.com/twofold-id/twofold/internal/factor/methods"
	"github.com/twofold-id/twofold/internal/store"
)

// AllMethods are the methods a policy allows or forbids, in the order they
// are offered: every registered method but the recovery ones.
var AllMethods = methods.Default.Kinds(factor.Selectable)

// DefaultOTPCodeTTL is how long an emailed or texted code lives unless an
// org says otherwise; MaxOTPCodeTTL is the ceiling no org can exceed.
const (
	DefaultOTPCodeTTL = 90 * time.Second
	MaxOTPCodeTTL     = 10 * time.Minute
)

// Effective is the policy that applies to one user (or, without a user, to
// one org).
type Effective struct {
	MFA                            store.MFAMode // off, optional or required (never inherit)
	Required                       bool          // the user must have a second factor
	AllowedMethods                 []string      // methods the user may set up
	Grace                          time.Duration // how long setup may be postponed once required
	OTPCodeTTL                     time.Duration
	RequireMFAForNewDirectoryUsers bool

	// The locks that bind: each names the org that placed the binding lock
	// (the enforcing ancestor for a lock enforced from above, otherwise the
	// locked ancestor), or nil when no lock binds the field.
	MFALockedBy     *store.Org // the lock that fixes MFAFloor
	MethodsLockedBy *store.Org // the nearest lock that limits the methods
	GraceLockedBy   *store.Org // the lock that fixes GraceCeiling
	// MFAFloor is the weakest mode the locks allow ("" when none binds);
	// MethodsCeiling the widest list (nil when none binds); GraceCeiling
	// the longest grace period (meaningful when GraceLockedBy is set).
	MFAFloor       store.MFAMode
	MethodsCeiling []string
	GraceCeiling   time.Duration
}

// Rank orders MFA modes by strength: off 0, optional 1, required 2; an
// unset mode is -1.
func Rank(m store.MFAMode) int {
	switch m {
	case store.MFAOff:
		return 0
	case store.MFAOptional:
		return 1
	case store.MFARequired:
		return 2
	}
	return -1
}

// modes lists the MFA modes by rank.
var modes = []store.MFAMode{store.MFAOff, store.MFAOptional, store.MFARequired}

// ForOrg resolves the policy of the last org in chain (root first). Orgs
// that set nothing behave as optional with every method allowed.
func ForOrg(chain []store.Org) Effective {
	e := Effective{MFA: store.MFAOptional, AllowedMethods: AllMethods, OTPCodeTTL: DefaultOTPCodeTTL}
	floor := -1
	// bind applies one lock placed by `by` that fixes the MFA rank r, the
	// method list methods and the grace period grace.
	bind := func(by *store.Org, r int, methods []string, grace time.Duration) {
		if r > floor {
			floor = r
			e.MFALockedBy = by
		}
		if e.MethodsCeiling == nil {
			e.MethodsCeiling = slices.Clone(methods)
		} else {
			e.MethodsCeiling = intersect(e.MethodsCeiling, methods)
		}
		e.MethodsLockedBy = by
		if floor == Rank(store.MFARequired) && (e.GraceLockedBy == nil || grace < e.GraceCeiling) {
			e.GraceCeiling, e.GraceLockedBy = grace, by
		}
	}
	for i := range chain {
		o := &chain[i]
		p := o.Policy
		// A lock enforced from above binds the org itself: its recorded
		// floor applies before the org's own settings.
		if p.Enforced() {
			f := p.Lock.Floor
			methods := f.AllowedMethods
			if methods == nil {
				methods = AllMethods
			}
			bind(enforcer(chain[:i], p.Lock.OrgID, o), Rank(f.MFA), methods, f.EnrollmentGrace)
			if f.RequireMFAForNewDirectoryUsers {
				e.RequireMFAForNewDirectoryUsers = true
			}
		}
		if p.MFA != store.MFAInherit {
			e.MFA = p.MFA
		}
		if p.AllowedMethods != nil {
			e.AllowedMethods = p.AllowedMethods
		}
		if p.EnrollmentGrace > 0 {
			e.Grace = p.EnrollmentGrace
		}
		if p.OTPCodeTTL > 0 {
			e.OTPCodeTTL = min(p.OTPCodeTTL, MaxOTPCodeTTL)
		}
		if p.RequireMFAForNewDirectoryUsers {
			e.RequireMFAForNewDirectoryUsers = true
		}
		// Every lock binds the orgs below the org that carries it, with
		// that org's effective settings as the floor.
		if p.Locked && i < len(chain)-1 {
			by := o
			if p.Enforced() {
				by = enforcer(chain[:i], p.Lock.OrgID, o)
			}
			bind(by, max(Rank(e.MFA), floor), e.AllowedMethods, e.Grace)
		}
	}
	if floor >= 0 {
		e.MFAFloor = modes[floor]
		if Rank(e.MFA) < floor {
			e.MFA = modes[floor]
		}
	}
	if e.MethodsCeiling != nil {
		e.AllowedMethods = intersect(e.AllowedMethods, e.MethodsCeiling)
	}
	if e.GraceLockedBy != nil && e.Grace > e.GraceCeiling {
		e.Grace = e.GraceCeiling
	}
	e.Required = e.MFA == store.MFARequired
	return e
}

// enforcer finds the org that enforces a lock on o among o's ancestors; o
// itself stands in when the record names none of them.
func enforcer(ancestors []store.Org, id string, o *store.Org) *store.Org {
	for i := range ancestors {
		if ancestors[i].ID == id {
			return &ancestors[i]
		}
	}
	return o
}

// ForUser resolves the policy for u in the org chain (root first, ending
// with u's org).
func ForUser(chain []store.Org, u store.User) Effective {
	e := ForOrg(chain)
	if u.MFARequired {
		e.Required = true
	}
	return e
}

// CanEnroll reports whether a user under e may set up a new factor of kind.
// An org set to off forbids new factors, unless an admin required MFA for
// the user personally.
func (e Effective) CanEnroll(kind string) bool {
	return (e.MFA != store.MFAOff || e.Required) && slices.Contains(e.AllowedMethods, kind)
}

// CanDisable reports whether a user under e may remove their last factor.
func (e Effective) CanDisable() bool { return !e.Required }

// Weaker reports whether after lowers security anywhere compared with
// before: a lower MFA mode or a lower floor (a lock lifted), a method
// allowed that was not, a methods ceiling lifted or widened, a longer
// enrollment grace period or grace ceiling, a longer code lifetime, or new
// directory users no longer required to set up MFA. Admin actions that
// make an org's effective policy weaker are sensitive.
func Weaker(before, after Effective) bool {
	switch {
	case Rank(after.MFA) < Rank(before.MFA), Rank(after.MFAFloor) < Rank(before.MFAFloor):
		return true
	case !subset(after.AllowedMethods, before.AllowedMethods):
		return true
	case before.MethodsCeiling != nil && (after.MethodsCeiling == nil || !subset(after.MethodsCeiling, before.MethodsCeiling)):
		return true
	case after.Grace > before.Grace:
		return true
	case before.GraceLockedBy != nil && (after.GraceLockedBy == nil || after.GraceCeiling > before.GraceCeiling):
		return true
	case after.OTPCodeTTL > before.OTPCodeTTL:
		return true
	}
	return before.RequireMFAForNewDirectoryUsers && !after.RequireMFAForNewDirectoryUsers
}

// subset reports whether every element of a is in b.
func subset(a, b []string) bool {
	for _, m := range a {
		if !slices.Contains(b, m) {
			return false
		}
	}
	return true
}

func intersect(a, b []string) []string {
	out := []string{}
	for _, m := range a {
		if slices.Contains(b, m) {
			out = append(out, m)
		}
	}
	return out
}
