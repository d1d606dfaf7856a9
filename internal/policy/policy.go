// Package policy computes the effective MFA policy of one user from the
// chain of orgs above it and the user's own flags. It is pure: no store, no
// clock, no I/O; the sign-in service calls it on every sign-in.
//
// The rules:
//   - An org's own setting applies; an unset field inherits its parent's.
//   - A locked org's setting is a floor for its whole subtree: no descendant
//     can end up weaker, at any depth. Strength orders off < optional <
//     required.
//   - Allowed methods: the nearest org that sets them decides, narrowed by
//     the effective list of every locked ancestor (a locked ancestor's list
//     is a ceiling for its subtree).
//   - The user's own mfa_required flag makes MFA required whatever the org says.
//   - "off" forbids setting up new factors; existing factors keep being asked
//     for (security is never silently removed).
package policy

import (
	"slices"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

// Methods every policy knows, in the order they are offered.
var AllMethods = []string{"totp", "email", "sms"}

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

	// Locks name, per field, the nearest locked ancestor that fixes a floor
	// for it ("" when nothing above locks it). Only fields that a lock
	// constrains appear.
	MFALockedBy     *store.Org
	MethodsLockedBy *store.Org
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

// ForOrg resolves the policy of the last org in chain (root first). Orgs
// that set nothing behave as optional with every method allowed.
func ForOrg(chain []store.Org) Effective {
	e := Effective{MFA: store.MFAOptional, AllowedMethods: AllMethods, OTPCodeTTL: DefaultOTPCodeTTL}
	floor := -1
	var lockMethods []string
	for i := range chain {
		o := &chain[i]
		p := o.Policy
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
		// Locks of orgs above the target bind it. A lock on the target
		// itself binds only its descendants.
		if p.Locked && i < len(chain)-1 {
			if r := Rank(e.MFA); r > floor {
				floor = r
				e.MFALockedBy = o
			}
			if lockMethods == nil {
				lockMethods = slices.Clone(e.AllowedMethods)
			} else {
				lockMethods = intersect(lockMethods, e.AllowedMethods)
			}
			e.MethodsLockedBy = o
		}
	}
	if Rank(e.MFA) < floor {
		e.MFA = []store.MFAMode{store.MFAOff, store.MFAOptional, store.MFARequired}[floor]
	}
	if lockMethods != nil {
		e.AllowedMethods = intersect(e.AllowedMethods, lockMethods)
	}
	e.Required = e.MFA == store.MFARequired
	return e
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

func intersect(a, b []string) []string {
	out := []string{}
	for _, m := range a {
		if slices.Contains(b, m) {
			out = append(out, m)
		}
	}
	return out
}
