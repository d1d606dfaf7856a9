package admin

import (
	"context"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/normalize"
	"github.com/twofold-id/twofold/internal/policy"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// NewOrg describes an org to create.
type NewOrg struct {
	Slug       string
	Name       string
	ParentSlug string // "" = the actor's own org (the root for System)
	Policy     store.OrgPolicy
}

// Org returns the org with slug (normalized like every typed identifier:
// "Acme" is acme) if the actor may see it. An org outside the actor's
// subtree is ErrNotFound, so its existence does not leak.
func (s *Service) Org(ctx context.Context, a access.Actor, slug string) (store.Org, error) {
	if !a.IsAdmin() {
		return store.Org{}, ErrForbidden
	}
	slug, err := normalize.OrgSlug(slug)
	if err != nil {
		return store.Org{}, ErrNotFound
	}
	o, err := s.store.GetOrgBySlug(ctx, slug)
	if err != nil {
		return store.Org{}, storeErr(err)
	}
	if !a.CanManageOrg(o) {
		return store.Org{}, ErrNotFound
	}
	return o, nil
}

func cleanName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 200 || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", ErrInvalid.WithMessage("A name is 1 to 200 characters, without control characters.").WithField("name")
	}
	return name, nil
}

// CreateOrg creates a child org below ParentSlug, with its policy given at
// creation: a reseller can enforce MFA on a new customer from the start. A
// lock placed at creation is enforced from above unless the policy asks for
// LockDescendants (see SetPolicy), and the policy is checked against the
// locks above like a policy change. A policy weaker than what the org
// would inherit with none of its own is a sensitive action (requireStepUp)
// and audited as "(weakens)".
func (s *Service) CreateOrg(ctx context.Context, a access.Actor, n NewOrg, c signin.Client) (store.Org, error) {
	if err := normalize.Slug(n.Slug); err != nil {
		return store.Org{}, ErrInvalid.WithMessage("A slug is 2 to 63 lowercase letters, digits and single hyphens, starting with a letter.").WithField("slug")
	}
	name, err := cleanName(n.Name)
	if err != nil {
		return store.Org{}, err
	}
	parent := a.Org
	if n.ParentSlug != "" {
		if parent, err = s.Org(ctx, a, n.ParentSlug); err != nil {
			return store.Org{}, err
		}
	} else if !a.IsAdmin() {
		return store.Org{}, ErrForbidden
	}
	ancestors, err := s.store.OrgChain(ctx, parent.ID)
	if err != nil {
		return store.Org{}, storeErr(err)
	}
	now := s.now().UTC()
	o := store.Org{ID: store.NewID(), ParentID: parent.ID, Slug: n.Slug, Name: name, CreatedAt: now, UpdatedAt: now}
	chain := append(slices.Clone(ancestors), o)
	o.Policy, err = s.placeLock(a, s.view(ctx, a, chain), chain, n.Policy)
	if err == nil {
		err = checkPolicy(ancestors, store.OrgPolicy{}, o.Policy)
	}
	if err != nil {
		s.record(ctx, a, store.AuditEvent{Event: audit.OrgCreated, OrgID: parent.ID, Outcome: audit.Denied,
			Detail: "slug=" + n.Slug + " " + err.Error()}, c)
		return store.Org{}, err
	}
	after := slices.Clone(chain)
	after[len(after)-1] = o
	weakens := weakerBelow(chain, after)
	if weakens {
		if err := s.requireStepUp(ctx, a); err != nil {
			return store.Org{}, err
		}
	}
	o, err = s.store.CreateOrg(ctx, o)
	if err != nil {
		return store.Org{}, storeErr(err)
	}
	s.record(ctx, a, store.AuditEvent{Event: audit.OrgCreated, OrgID: o.ID,
		Detail: "slug=" + o.Slug + " parent=" + parent.Slug + " " + policyDetail(o.Policy, s.findOrg(ctx, after, o.Policy.Lock.OrgID), weakens)}, c)
	return o, nil
}

// Orgs lists the actor's subtree, ordered by path (a parent before its children).
func (s *Service) Orgs(ctx context.Context, a access.Actor) ([]store.Org, error) {
	if !a.IsAdmin() {
		return nil, ErrForbidden
	}
	prefix := a.Org.Path
	if a.User.Role == store.RoleSuperadmin {
		prefix = ""
	}
	return s.store.ListOrgs(ctx, prefix)
}

// RenameOrg changes an org's display name.
func (s *Service) RenameOrg(ctx context.Context, a access.Actor, slug, name string, c signin.Client) (store.Org, error) {
	o, err := s.Org(ctx, a, slug)
	if err != nil {
		return store.Org{}, err
	}
	if o.Name, err = cleanName(name); err != nil {
		return store.Org{}, err
	}
	o.UpdatedAt = s.now().UTC()
	o, err = s.store.UpdateOrg(ctx, o)
	if err != nil {
		return store.Org{}, storeErr(err)
	}
	s.record(ctx, a, store.AuditEvent{Event: audit.OrgUpdated, OrgID: o.ID, Detail: "renamed"}, c)
	return o, nil
}

// MoveOrg moves an org (with its subtree) below another org; both must be in
// the actor's subtree, and an admin cannot move its own org.
//
// A move never takes an org out from under a lock enforced on it (or on an
// org below it) from above: that is ErrLocked, whoever asks; the enforcing
// org's admins release the lock first. A move that makes the effective
// policy of the org or of any org below it weaker — it leaves a locked
// ancestor, or lands below a weaker parent — is a sensitive action
// (requireStepUp) and audited as "(weakens)".
func (s *Service) MoveOrg(ctx context.Context, a access.Actor, slug, newParent string, c signin.Client) (store.Org, error) {
	o, err := s.Org(ctx, a, slug)
	if err != nil {
		return store.Org{}, err
	}
	if o.ParentID == "" || (o.ID == a.Org.ID && a.User.Role != store.RoleSuperadmin) {
		return store.Org{}, ErrRootOrg.WithMessage("This organization cannot be moved by you.")
	}
	p, err := s.Org(ctx, a, newParent)
	if err != nil {
		return store.Org{}, err
	}
	if o.IsAncestorOf(p) {
		return store.Org{}, ErrInvalid.WithMessage("An organization cannot be moved below itself.")
	}
	weakens, err := s.checkMove(ctx, o, p)
	if err != nil {
		s.record(ctx, a, store.AuditEvent{Event: audit.OrgMoved, OrgID: o.ID, Outcome: audit.Denied,
			Detail: "new parent=" + p.Slug + " " + err.Error()}, c)
		return store.Org{}, err
	}
	if weakens {
		if err := s.requireStepUp(ctx, a); err != nil {
			return store.Org{}, err
		}
	}
	moved, err := s.store.MoveOrg(ctx, o.ID, p.ID)
	if errors.Is(err, store.ErrConflict) {
		return store.Org{}, ErrInvalid.WithMessage("An organization cannot be moved below itself.")
	}
	if err != nil {
		return store.Org{}, storeErr(err)
	}
	detail := "new parent=" + p.Slug
	if weakens {
		detail += " (weakens)"
	}
	s.record(ctx, a, store.AuditEvent{Event: audit.OrgMoved, OrgID: o.ID, Detail: detail}, c)
	return moved, nil
}

// checkMove judges moving o below newParent: ErrLocked when an org of o's
// subtree would leave the org that enforces its lock, and whether the
// effective policy of any org of the subtree would become weaker.
func (s *Service) checkMove(ctx context.Context, o, newParent store.Org) (weakens bool, err error) {
	oldChain, err := s.store.OrgChain(ctx, o.ID)
	if err != nil {
		return false, storeErr(err)
	}
	newAncestors, err := s.store.OrgChain(ctx, newParent.ID)
	if err != nil {
		return false, storeErr(err)
	}
	subtree, err := s.store.ListOrgs(ctx, o.Path)
	if err != nil {
		return false, storeErr(err)
	}
	oldAncestors := oldChain[:len(oldChain)-1]
	stays := map[string]bool{} // orgs that are above or in the subtree after the move
	for _, x := range newAncestors {
		stays[x.ID] = true
	}
	byID := map[string]store.Org{}
	for _, x := range subtree {
		byID[x.ID] = x
		stays[x.ID] = true
	}
	for _, x := range subtree {
		if x.Policy.Enforced() && !stays[x.Policy.Lock.OrgID] {
			by := "The organization that enforces its policy"
			if e := s.findOrg(ctx, oldAncestors, x.Policy.Lock.OrgID); e != nil {
				by = e.Name
			}
			return false, ErrLocked.WithMessage(by + " enforces the policy of " + x.Name +
				"; it cannot be moved out from under it until its admins release the lock.").WithField("parent")
		}
	}
	for _, x := range subtree {
		// x's chain below the moved org, from o down to x.
		var seg []store.Org
		for _, id := range strings.Split(strings.Trim(x.Path[len(o.Path)-len(o.ID)-1:], "/"), "/") {
			seg = append(seg, byID[id])
		}
		before := policy.ForOrg(append(slices.Clone(oldAncestors), seg...))
		after := policy.ForOrg(append(slices.Clone(newAncestors), seg...))
		if policy.Weaker(before, after) {
			return true, nil
		}
	}
	return false, nil
}

// DeleteOrg deletes an org without users or children.
func (s *Service) DeleteOrg(ctx context.Context, a access.Actor, slug string, c signin.Client) error {
	o, err := s.Org(ctx, a, slug)
	if err != nil {
		return err
	}
	if o.ParentID == "" || o.ID == a.Org.ID {
		return ErrRootOrg.WithMessage("You cannot delete this organization.")
	}
	if err := s.store.DeleteOrg(ctx, o.ID); err != nil {
		return storeErr(err)
	}
	s.record(ctx, a, store.AuditEvent{Event: audit.OrgDeleted, OrgID: o.ParentID, Detail: "slug=" + o.Slug}, c)
	return nil
}
