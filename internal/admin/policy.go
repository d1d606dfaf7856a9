package admin

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/factor/methods"
	"github.com/twofold-id/twofold/internal/policy"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// PolicyView is what a policy editor needs: the org's own settings, what it
// would inherit, what applies, which locks bind it and what they let the
// actor who asked do.
type PolicyView struct {
	Org       store.Org
	Own       store.OrgPolicy
	Inherited policy.Effective // the parent's effective policy (the root inherits defaults)
	Effective policy.Effective

	// LockOrg is the org at whose level the org's lock was placed (nil
	// when the org is not locked or the origin is unknown). Enforcer is
	// the ancestor that enforces the lock from above (nil unless
	// Own.Enforced()).
	LockOrg  *store.Org
	Enforcer *store.Org
	// Bound reports that the actor cannot manage Enforcer: it may make the
	// locked settings stricter, never weaker, and cannot change or release
	// the lock.
	Bound bool
	// Limits holds the floors and ceilings (MFAFloor, MethodsCeiling,
	// GraceCeiling and who locked them) that the actor's edits must
	// respect: those of every lock that binds the org for this actor. Its
	// other fields mean nothing.
	Limits policy.Effective
	// LockLevel is the org at whose level a lock the actor places on this
	// org sits. When it is not the org itself the actor is above the org,
	// and its lock is enforced from above by default.
	LockLevel store.Org
}

// CanEnforce reports whether the actor may enforce a lock on the org
// itself (it acts from above the org).
func (v PolicyView) CanEnforce() bool { return v.LockLevel.ID != v.Org.ID }

// Policy returns the policy view of an org in the actor's subtree.
func (s *Service) Policy(ctx context.Context, a access.Actor, slug string) (PolicyView, error) {
	o, err := s.Org(ctx, a, slug)
	if err != nil {
		return PolicyView{}, err
	}
	chain, err := s.store.OrgChain(ctx, o.ID)
	if err != nil {
		return PolicyView{}, storeErr(err)
	}
	return s.view(ctx, a, chain), nil
}

// view builds the policy view of the last org of chain for actor a.
func (s *Service) view(ctx context.Context, a access.Actor, chain []store.Org) PolicyView {
	o := chain[len(chain)-1]
	v := PolicyView{Org: o, Own: o.Policy, Effective: policy.ForOrg(chain), Inherited: policy.ForOrg(chain[:len(chain)-1]),
		LockLevel: lockLevel(a, chain)}
	if o.Policy.Locked && o.Policy.Lock.OrgID != "" {
		v.LockOrg = s.findOrg(ctx, chain, o.Policy.Lock.OrgID)
	}
	if o.Policy.Enforced() {
		v.Enforcer = v.LockOrg
		if v.Enforcer == nil {
			v.Enforcer = &store.Org{ID: o.Policy.Lock.OrgID, Name: "an organization above"}
		}
		v.Bound = !a.CanManageOrg(*v.Enforcer)
	}
	v.Limits = policy.ForOrg(limitChain(chain, v.Bound))
	return v
}

// limitChain is chain with the last org's own lock left out unless bound:
// an actor who can manage the enforcer is held only by the locks above.
func limitChain(chain []store.Org, bound bool) []store.Org {
	if bound {
		return chain
	}
	out := slices.Clone(chain)
	out[len(out)-1].Policy.Locked = false
	return out
}

// findOrg returns the org with id from chain, or from the store; nil when
// it no longer exists.
func (s *Service) findOrg(ctx context.Context, chain []store.Org, id string) *store.Org {
	for i := range chain {
		if chain[i].ID == id {
			return &chain[i]
		}
	}
	o, err := s.store.GetOrg(ctx, id)
	if err != nil {
		return nil
	}
	return &o
}

// lockLevel is the org at whose level a lock that a places on the last
// org of chain sits: a's own org when it is that org or one of its
// ancestors, the root otherwise (the operator, or a superadmin elsewhere in
// the tree).
func lockLevel(a access.Actor, chain []store.Org) store.Org {
	for _, o := range chain {
		if o.ID == a.Org.ID {
			return o
		}
	}
	return chain[0]
}

// SetPolicy replaces the own policy of an org in the actor's subtree.
//
//   - A changed setting weaker than what a lock fixes for this actor is
//     refused with ErrLocked naming who locked it. Settings the request
//     leaves as they were are not judged again, so a stale own value
//     beneath a lock never blocks changing something else.
//   - Under a lock enforced from above by an org the actor cannot manage,
//     the lock stays as it is: releasing or narrowing it is ErrLocked.
//   - p.Locked with p.Lock.Scope says whom the lock binds: LockEnforced
//     (the default when the actor is above the org) binds the org itself,
//     LockDescendants (the default for the org's own admins) only the orgs
//     below. The service records who placed it; the rest of p.Lock is
//     ignored.
//   - A change that makes the org's effective policy, or that of the orgs
//     below it, weaker is a sensitive action (requireStepUp), and the
//     audit entry says "(weakens)".
func (s *Service) SetPolicy(ctx context.Context, a access.Actor, slug string, p store.OrgPolicy, c signin.Client) (PolicyView, error) {
	o, err := s.Org(ctx, a, slug)
	if err != nil {
		return PolicyView{}, err
	}
	chain, err := s.store.OrgChain(ctx, o.ID)
	if err != nil {
		return PolicyView{}, storeErr(err)
	}
	o = chain[len(chain)-1]
	v := s.view(ctx, a, chain)
	next, err := s.placeLock(a, v, chain, p)
	if err == nil {
		err = checkPolicy(chain[:len(chain)-1], o.Policy, next)
	}
	if err != nil {
		s.record(ctx, a, store.AuditEvent{Event: audit.PolicyUpdated, OrgID: o.ID, Outcome: audit.Denied, Detail: err.Error()}, c)
		return PolicyView{}, err
	}
	after := slices.Clone(chain)
	after[len(after)-1].Policy = next
	weakens := weakerBelow(chain, after)
	if weakens {
		if err := s.requireStepUp(ctx, a); err != nil {
			return PolicyView{}, err
		}
	}
	o.Policy = next
	o.UpdatedAt = s.now().UTC()
	if _, err := s.store.UpdateOrg(ctx, o); err != nil {
		return PolicyView{}, storeErr(err)
	}
	s.record(ctx, a, store.AuditEvent{Event: audit.PolicyUpdated, OrgID: o.ID,
		Detail: policyDetail(next, s.findOrg(ctx, chain, next.Lock.OrgID), weakens)}, c)
	return s.Policy(ctx, a, slug)
}

// weakerBelow reports whether replacing chain by after (the same orgs,
// the last one changed) makes the last org's effective policy weaker, or
// that of an org below it (what a child that sets nothing would get).
func weakerBelow(chain, after []store.Org) bool {
	child := store.Org{ID: "(child)"}
	return policy.Weaker(policy.ForOrg(chain), policy.ForOrg(after)) ||
		policy.Weaker(policy.ForOrg(append(slices.Clone(chain), child)), policy.ForOrg(append(slices.Clone(after), child)))
}

// placeLock returns p with the lock decided for actor a on the last org
// of chain (whose view is v): kept as it is when a is bound by it, else
// placed at a's level with a's name, the time and, for an enforced lock,
// the floor it fixes. An unchanged lock keeps its record, so saving other
// settings does not take a lock over from whoever placed it.
func (s *Service) placeLock(a access.Actor, v PolicyView, chain []store.Org, p store.OrgPolicy) (store.OrgPolicy, error) {
	o := chain[len(chain)-1]
	old := o.Policy
	next := p
	next.Lock = store.Lock{}
	if v.Bound {
		if !p.Locked || (p.Lock.Scope != "" && p.Lock.Scope != store.LockEnforced) {
			return next, ErrLocked.WithMessage(v.Enforcer.Name + " enforces this organization's policy; only its admins can release or change the lock.").WithField("locked")
		}
		next.Locked, next.Lock = true, old.Lock
		return next, nil
	}
	if !p.Locked {
		return next, nil
	}
	switch p.Lock.Scope {
	case "":
		next.Lock.Scope = store.LockDescendants
		if v.CanEnforce() {
			next.Lock.Scope = store.LockEnforced
		}
	case store.LockDescendants:
		next.Lock.Scope = store.LockDescendants
	case store.LockEnforced:
		if !v.CanEnforce() {
			return next, ErrInvalid.WithMessage("Only an admin above " + o.Name + " can enforce its policy on it; lock it for the organizations below instead.").WithField("lock_scope")
		}
		next.Lock.Scope = store.LockEnforced
	default:
		return next, ErrInvalid.WithMessage("lock_scope must be enforced or descendants.").WithField("lock_scope")
	}
	if next.Lock.Scope == store.LockEnforced {
		unlocked := slices.Clone(chain)
		unlocked[len(unlocked)-1].Policy = store.OrgPolicy{MFA: p.MFA, AllowedMethods: p.AllowedMethods, EnrollmentGrace: p.EnrollmentGrace,
			OTPCodeTTL: p.OTPCodeTTL, RequireMFAForNewDirectoryUsers: p.RequireMFAForNewDirectoryUsers}
		e := policy.ForOrg(unlocked)
		next.Lock.Floor = store.LockFloor{MFA: e.MFA, AllowedMethods: slices.Clone(e.AllowedMethods), EnrollmentGrace: e.Grace,
			RequireMFAForNewDirectoryUsers: e.RequireMFAForNewDirectoryUsers}
	}
	if old.Locked && scopeOf(old) == next.Lock.Scope && (next.Lock.Scope != store.LockEnforced || sameFloor(old.Lock.Floor, next.Lock.Floor)) {
		next.Lock = old.Lock
		next.Lock.Scope = scopeOf(old)
		return next, nil
	}
	now := s.now().UTC()
	next.Lock.OrgID, next.Lock.UserID, next.Lock.ActorName, next.Lock.At = v.LockLevel.ID, a.User.ID, a.User.Username, &now
	return next, nil
}

// scopeOf is the scope of p's lock; locks from before scopes were
// recorded bind descendants.
func scopeOf(p store.OrgPolicy) store.LockScope {
	if p.Lock.Scope == "" {
		return store.LockDescendants
	}
	return p.Lock.Scope
}

func sameFloor(a, b store.LockFloor) bool {
	return a.MFA == b.MFA && slices.Equal(a.AllowedMethods, b.AllowedMethods) && a.EnrollmentGrace == b.EnrollmentGrace &&
		a.RequireMFAForNewDirectoryUsers == b.RequireMFAForNewDirectoryUsers
}

// checkPolicy validates next as the own policy, formerly old, of a child
// of the orgs in ancestors (the root when ancestors is empty). Only
// settings that change are held against the locks that bind the org
// (those of ancestors, and next's own lock when it is enforced from
// above and kept from before).
func checkPolicy(ancestors []store.Org, old, next store.OrgPolicy) error {
	switch next.MFA {
	case store.MFAInherit, store.MFAOff, store.MFAOptional, store.MFARequired:
	default:
		return ErrInvalid.WithMessage("mfa must be off, optional, required, or empty to inherit.").WithField("mfa")
	}
	for _, m := range next.AllowedMethods {
		if !slices.Contains(policy.AllMethods, m) {
			return ErrInvalid.WithMessage("Unknown method " + m + "; allowed methods are " + strings.Join(policy.AllMethods, ", ") + ".").WithField("allowed_methods")
		}
	}
	if next.AllowedMethods != nil && len(next.AllowedMethods) == 0 {
		return ErrInvalid.WithMessage("At least one method must be allowed.").WithField("allowed_methods")
	}
	if len(next.AllowedMethods) > 0 && !slices.ContainsFunc(next.AllowedMethods, func(m string) bool {
		t, _ := methods.Default.TraitsOf(m)
		return !t.Restricted
	}) {
		return ErrInvalid.WithMessage("Text messages are a restricted method: allow at least one other method beside sms.").WithField("allowed_methods")
	}
	if next.EnrollmentGrace < 0 || next.EnrollmentGrace > 90*24*time.Hour {
		return ErrInvalid.WithMessage("The enrollment grace period is between 0 and 90 days.").WithField("enrollment_grace")
	}
	if next.OTPCodeTTL != 0 && (next.OTPCodeTTL < 30*time.Second || next.OTPCodeTTL > policy.MaxOTPCodeTTL) {
		return ErrInvalid.WithMessage("The code lifetime is between 30 seconds and 10 minutes.").WithField("otp_code_ttl")
	}
	candidate := store.Org{ID: "(candidate)", Policy: next}
	if !next.Enforced() || !sameFloor(next.Lock.Floor, old.Lock.Floor) || !old.Enforced() {
		// A lock placed now fixes what is being saved; only the locks
		// above bind.
		candidate.Policy.Locked = false
	}
	e := policy.ForOrg(append(slices.Clone(ancestors), candidate))
	if next.MFA != old.MFA && next.MFA != store.MFAInherit && policy.Rank(next.MFA) < policy.Rank(e.MFAFloor) {
		return ErrLocked.WithMessage(e.MFALockedBy.Name + " requires at least " + string(e.MFAFloor) + " and has locked it.").WithField("mfa")
	}
	if !sameList(next.AllowedMethods, old.AllowedMethods) && e.MethodsCeiling != nil {
		for _, m := range next.AllowedMethods {
			if !slices.Contains(e.MethodsCeiling, m) {
				return ErrLocked.WithMessage(e.MethodsLockedBy.Name + " does not allow " + m + " and has locked the methods.").WithField("allowed_methods")
			}
		}
	}
	if next.EnrollmentGrace != old.EnrollmentGrace && e.GraceLockedBy != nil && next.EnrollmentGrace > e.GraceCeiling {
		grace := "at the next sign-in, without a grace period,"
		if e.GraceCeiling > 0 {
			grace = "within at most " + e.GraceCeiling.String() + " of grace"
		}
		return ErrLocked.WithMessage(e.GraceLockedBy.Name + " requires setting up two-step sign-in " + grace + " and has locked it.").WithField("enrollment_grace")
	}
	return nil
}

// sameList reports whether two method lists are equal, telling nil
// (inherit) from empty.
func sameList(a, b []string) bool { return (a == nil) == (b == nil) && slices.Equal(a, b) }

// policyDetail is the audit detail of a saved policy: its settings, its
// lock and who placed it, and "(weakens)" when it lowered security.
func policyDetail(p store.OrgPolicy, lockOrg *store.Org, weakens bool) string {
	d := "mfa=" + string(p.MFA)
	if p.MFA == store.MFAInherit {
		d = "mfa=inherit"
	}
	if p.AllowedMethods != nil {
		d += " methods=" + joinOr(p.AllowedMethods, "none")
	}
	if p.EnrollmentGrace > 0 {
		d += " grace=" + p.EnrollmentGrace.String()
	}
	if p.OTPCodeTTL > 0 {
		d += " code_ttl=" + p.OTPCodeTTL.String()
	}
	if p.RequireMFAForNewDirectoryUsers {
		d += " directory_mfa"
	}
	if p.Locked {
		d += " locked scope=" + string(scopeOf(p))
		if lockOrg != nil {
			d += " by=" + lockOrg.Slug + "/" + p.Lock.ActorName
		}
	}
	if weakens {
		d += " (weakens)"
	}
	return d
}

func joinOr(l []string, none string) string {
	if len(l) == 0 {
		return none
	}
	out := l[0]
	for _, s := range l[1:] {
		out += "," + s
	}
	return out
}
