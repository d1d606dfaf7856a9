package admin

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/normalize"
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

// Org returns the org with slug if the actor may see it. An org outside the
// actor's subtree is ErrNotFound, so its existence does not leak.
func (s *Service) Org(ctx context.Context, a access.Actor, slug string) (store.Org, error) {
	if !a.IsAdmin() {
		return store.Org{}, ErrForbidden
	}
	if normalize.Slug(slug) != nil {
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
// creation (a reseller can enforce MFA on a new customer from the start).
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
	if err := s.checkPolicy(ctx, parent, n.Policy, true); err != nil {
		return store.Org{}, err
	}
	now := s.now().UTC()
	o, err := s.store.CreateOrg(ctx, store.Org{ParentID: parent.ID, Slug: n.Slug, Name: name, Policy: n.Policy, CreatedAt: now, UpdatedAt: now})
	if err != nil {
		return store.Org{}, storeErr(err)
	}
	s.record(ctx, a, store.AuditEvent{Event: audit.OrgCreated, OrgID: o.ID, Detail: "slug=" + o.Slug + " parent=" + parent.Slug}, c)
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
	moved, err := s.store.MoveOrg(ctx, o.ID, p.ID)
	if errors.Is(err, store.ErrConflict) {
		return store.Org{}, ErrInvalid.WithMessage("An organization cannot be moved below itself.")
	}
	if err != nil {
		return store.Org{}, storeErr(err)
	}
	s.record(ctx, a, store.AuditEvent{Event: audit.OrgMoved, OrgID: o.ID, Detail: "new parent=" + p.Slug}, c)
	return moved, nil
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
