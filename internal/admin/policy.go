package admin

import (
	"context"
	"slices"
	"time"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/policy"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// PolicyView is what a policy editor needs: the org's own settings, what it
// would inherit, what applies, and which ancestor locks what.
type PolicyView struct {
	Org       store.Org
	Own       store.OrgPolicy
	Inherited policy.Effective // the parent's effective policy (the root inherits defaults)
	Effective policy.Effective
}

// Policy returns the policy view of an org in the actor's subtree.
func (s *Service) Policy(ctx context.Context, a access.Actor, slug string) (PolicyView, error) {
	o, err := s.Org(ctx, a, slug)
	if err != nil {
		return PolicyView{}, err
	}
	chain, err := s.store.OrgChain(ctx, o.ID)
	if err != nil {
		return PolicyView{}, err
	}
	return view(chain), nil
}

func view(chain []store.Org) PolicyView {
	o := chain[len(chain)-1]
	v := PolicyView{Org: o, Own: o.Policy, Effective: policy.ForOrg(chain)}
	if len(chain) > 1 {
		v.Inherited = policy.ForOrg(chain[:len(chain)-1])
	} else {
		v.Inherited = policy.ForOrg(nil)
	}
	return v
}

// Weakens reports whether changing from old to next lowers security for
// anyone: a lower MFA mode, a lock lifted, or a method newly allowed. Such
// changes count as sensitive admin actions.
func Weakens(old, next store.OrgPolicy) bool {
	if policy.Rank(next.MFA) < policy.Rank(old.MFA) || (old.Locked && !next.Locked) {
		return true
	}
	if next.AllowedMethods == nil && old.AllowedMethods != nil {
		return true
	}
	for _, m := range next.AllowedMethods {
		if old.AllowedMethods != nil && !slices.Contains(old.AllowedMethods, m) {
			return true
		}
	}
	return next.EnrollmentGrace > old.EnrollmentGrace
}

// SetPolicy replaces the own policy of an org in the actor's subtree. A
// setting weaker than what a locked ancestor fixes is refused with
// ErrLocked naming that ancestor.
func (s *Service) SetPolicy(ctx context.Context, a access.Actor, slug string, p store.OrgPolicy, c signin.Client) (PolicyView, error) {
	o, err := s.Org(ctx, a, slug)
	if err != nil {
		return PolicyView{}, err
	}
	parent := o
	if o.ParentID != "" {
		if parent, err = s.store.GetOrg(ctx, o.ParentID); err != nil {
			return PolicyView{}, storeErr(err)
		}
	}
	if err := s.checkPolicy(ctx, parent, p, o.ParentID != ""); err != nil {
		s.record(ctx, a, store.AuditEvent{Event: audit.PolicyUpdated, OrgID: o.ID, Outcome: audit.Denied, Detail: err.Error()}, c)
		return PolicyView{}, err
	}
	old := o.Policy
	if Weakens(old, p) {
		if err := s.requireStepUp(ctx, a); err != nil {
			return PolicyView{}, err
		}
	}
	o.Policy = p
	o.UpdatedAt = s.now().UTC()
	if _, err := s.store.UpdateOrg(ctx, o); err != nil {
		return PolicyView{}, storeErr(err)
	}
	detail := "mfa=" + string(p.MFA)
	if p.MFA == "" {
		detail = "mfa=inherit"
	}
	if p.Locked {
		detail += " locked"
	}
	if Weakens(old, p) {
		detail += " (weakens)"
	}
	s.record(ctx, a, store.AuditEvent{Event: audit.PolicyUpdated, OrgID: o.ID, Detail: detail}, c)
	return s.Policy(ctx, a, slug)
}

// checkPolicy validates p as the own policy of a child of parent (or of the
// root when hasParent is false).
func (s *Service) checkPolicy(ctx context.Context, parent store.Org, p store.OrgPolicy, hasParent bool) error {
	switch p.MFA {
	case store.MFAInherit, store.MFAOff, store.MFAOptional, store.MFARequired:
	default:
		return ErrInvalid.WithMessage("mfa must be off, optional, required, or empty to inherit.").WithField("mfa")
	}
	for _, m := range p.AllowedMethods {
		if !slices.Contains(policy.AllMethods, m) {
			return ErrInvalid.WithMessage("Unknown method " + m + "; allowed methods are totp, email and sms.").WithField("allowed_methods")
		}
	}
	if p.AllowedMethods != nil && len(p.AllowedMethods) == 0 {
		return ErrInvalid.WithMessage("At least one method must be allowed.").WithField("allowed_methods")
	}
	if slices.Contains(p.AllowedMethods, "sms") && len(p.AllowedMethods) == 1 {
		return ErrInvalid.WithMessage("Text messages are a restricted method: allow at least one other method beside sms.").WithField("allowed_methods")
	}
	if p.EnrollmentGrace < 0 || p.EnrollmentGrace > 90*24*time.Hour {
		return ErrInvalid.WithMessage("The enrollment grace period is between 0 and 90 days.").WithField("enrollment_grace")
	}
	if p.OTPCodeTTL != 0 && (p.OTPCodeTTL < 30*time.Second || p.OTPCodeTTL > policy.MaxOTPCodeTTL) {
		return ErrInvalid.WithMessage("The code lifetime is between 30 seconds and 10 minutes.").WithField("otp_code_ttl")
	}
	if !hasParent {
		return nil
	}
	chain, err := s.store.OrgChain(ctx, parent.ID)
	if err != nil {
		return storeErr(err)
	}
	candidate := store.Org{ID: "candidate", Policy: p}
	e := policy.ForOrg(append(chain, candidate))
	if p.MFA != store.MFAInherit && policy.Rank(p.MFA) < policy.Rank(e.MFA) && e.MFALockedBy != nil {
		return ErrLocked.WithMessage(e.MFALockedBy.Name + " requires at least " + string(e.MFA) + " and has locked it.").WithField("mfa")
	}
	for _, m := range p.AllowedMethods {
		if !slices.Contains(e.AllowedMethods, m) && e.MethodsLockedBy != nil {
			return ErrLocked.WithMessage(e.MethodsLockedBy.Name + " does not allow " + m + " and has locked the methods.").WithField("allowed_methods")
		}
	}
	return nil
}
