package web

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/policy"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// maxTreeBadges bounds how many orgs of a tree get their effective MFA
// mode looked up (one policy resolution each); beyond it the tree shows
// each org's own setting only.
const maxTreeBadges = 500

// orgNode is one org of the tree page with its children.
type orgNode struct {
	Org       store.Org
	Effective mfaMode // "" when not looked up
	Own       mfaMode
	Children  []*orgNode
}

// adminHomePage is the org tree and the form that creates a child org.
type adminHomePage struct {
	adminBase
	Tree    []*orgNode
	Count   int
	Parents []orgOption
	Create  orgForm
	Methods []choice
	MFA     []choice
	Lock    []choice
	Err     *formErr
}

func (adminHomePage) title() string { return "Admin · Organizations" }

// orgForm is the kept input of the create-org form.
type orgForm struct {
	Slug, Name, Parent string
	Policy             policyForm
}

func (h *handler) adminHome(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	f := orgForm{Parent: r.URL.Query().Get("parent"), Policy: policyFormOf(store.OrgPolicy{})}
	h.renderHome(w, r, p, http.StatusOK, f, nil)
}

func (h *handler) renderHome(w http.ResponseWriter, r *http.Request, p signin.Principal, status int, f orgForm, e *formErr) {
	orgs, _, err := h.visibleOrgs(r, p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	pg := adminHomePage{adminBase: adminBase{User: &p, Section: "orgs", Notice: adminNotice(r)}, Count: len(orgs),
		Create: f, Err: e, MFA: mfaChoices(f.Policy.MFA, -1), Methods: methodChoices(f.Policy.Methods, policy.AllMethods),
		Lock: lockChoices(f.Policy.Lock, true, false, "")}
	if pg.Create.Parent == "" {
		pg.Create.Parent = p.Org.Slug
	}
	pg.Parents = orgOptions(orgs, pg.Create.Parent)
	nodes := map[string]*orgNode{}
	for _, o := range orgs {
		n := &orgNode{Org: o, Own: mfaMode(o.Policy.MFA)}
		if len(orgs) <= maxTreeBadges {
			v, err := h.Admin.Policy(r.Context(), actorOf(p), o.Slug)
			if err != nil {
				h.fail(w, r, err)
				return
			}
			n.Effective = mfaMode(v.Effective.MFA)
		}
		nodes[o.ID] = n
	}
	for _, o := range treeOrder(orgs) {
		if parent, ok := nodes[o.ParentID]; ok {
			parent.Children = append(parent.Children, nodes[o.ID])
		} else {
			pg.Tree = append(pg.Tree, nodes[o.ID])
		}
	}
	h.renderStatus(w, r, status, "admin_home", pg)
}

func (h *handler) adminCreateOrg(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	if !h.form(w, r) {
		return
	}
	f := orgForm{Slug: strings.TrimSpace(r.PostForm.Get("slug")), Name: strings.TrimSpace(r.PostForm.Get("name")),
		Parent: r.PostForm.Get("parent"), Policy: policyFormFrom(r.PostForm, policyFormOf(store.OrgPolicy{}), policyEditor{})}
	fail := func(err error) {
		pe := h.public(r, err)
		h.renderHome(w, r, p, pe.HTTPStatus(), f, newFormErr("create", pe, h.Now(), "slug", "name", "parent", "mfa", "allowed_methods", "lock_scope"))
	}
	pol, err := f.Policy.toStore()
	if err != nil {
		fail(err)
		return
	}
	var o store.Org
	handled, err := h.adminSensitive(w, r, p, "Create an organization with a weaker policy than it would inherit", "/admin",
		func(np signin.Principal) error {
			p = np
			var err error
			o, err = h.Admin.CreateOrg(r.Context(), actorOf(np), admin.NewOrg{Slug: f.Slug, Name: f.Name, ParentSlug: f.Parent, Policy: pol}, h.Client(r))
			return err
		})
	if handled {
		return
	}
	if err != nil {
		fail(err)
		return
	}
	http.Redirect(w, r, "/admin/orgs/"+o.Slug+"?msg=orgcreated", http.StatusSeeOther)
}

// adminOrgPage is one org: its place in the tree (and moving it), rename,
// and the policy editor.
type adminOrgPage struct {
	adminBase
	View     admin.PolicyView
	Parent   *store.Org // nil when the parent is outside the admin's scope
	Children []store.Org
	IsOwn    bool // the admin's own org
	Name     string
	Form     policyForm
	Editor   policyEditor
	Rows     []policyRow
	// MoveTo lists the orgs this org can be moved below (nil when the
	// admin cannot move it).
	MoveTo []orgOption
	Err    *formErr
}

func (pg adminOrgPage) title() string { return "Admin · " + pg.View.Org.Name }

func (h *handler) adminOrg(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	h.renderOrg(w, r, p, http.StatusOK, nil, nil, nil)
}

// renderOrg shows an org's page; name and form, when not nil, are the
// input to keep after a failure e.
func (h *handler) renderOrg(w http.ResponseWriter, r *http.Request, p signin.Principal, status int, name *string, form *policyForm, e *formErr) {
	ctx := r.Context()
	v, err := h.Admin.Policy(ctx, actorOf(p), r.PathValue("slug"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	orgs, idx, err := h.visibleOrgs(r, p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	pg := adminOrgPage{adminBase: adminBase{User: &p, Section: "orgs", Notice: adminNotice(r)}, View: v,
		IsOwn: v.Org.ID == p.Org.ID, Name: v.Org.Name, Form: policyFormOf(v.Own), Err: e}
	if parent, ok := idx[v.Org.ParentID]; ok {
		pg.Parent = &parent
	}
	var targets []store.Org
	for _, o := range treeOrder(orgs) {
		if o.ParentID == v.Org.ID {
			pg.Children = append(pg.Children, o)
		}
		if !v.Org.IsAncestorOf(o) {
			targets = append(targets, o)
		}
	}
	if v.Org.ParentID != "" && (!pg.IsOwn || p.User.Role == store.RoleSuperadmin) && len(targets) > 0 {
		selected := ""
		if pg.Parent != nil {
			selected = pg.Parent.Slug
		}
		pg.MoveTo = orgOptions(targets, selected)
	}
	if name != nil {
		pg.Name = *name
	}
	if form != nil {
		pg.Form = *form
	}
	pg.Editor = editorOf(v, pg.Form)
	pg.Rows = policyRows(v)
	h.renderStatus(w, r, status, "admin_org", pg)
}

// adminMoveOrg moves an org with its subtree below another. The admin
// service decides whether the move is sensitive (it weakens someone's
// effective policy) or refused (it would leave a lock enforced from above).
func (h *handler) adminMoveOrg(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	if !h.form(w, r) {
		return
	}
	slug, parent := r.PathValue("slug"), r.PostForm.Get("parent")
	handled, err := h.adminSensitive(w, r, p, "Move "+slug+" where it would have a weaker policy", "/admin/orgs/"+slug,
		func(np signin.Principal) error {
			p = np
			_, err := h.Admin.MoveOrg(r.Context(), actorOf(np), slug, parent, h.Client(r))
			return err
		})
	if handled {
		return
	}
	if err != nil {
		pe := h.public(r, err)
		h.renderOrg(w, r, p, pe.HTTPStatus(), nil, nil, newFormErr("move", pe, h.Now(), "parent"))
		return
	}
	http.Redirect(w, r, "/admin/orgs/"+slug+"?msg=moved", http.StatusSeeOther)
}

func allowedOrNone(ms []string) string {
	if len(ms) == 0 {
		return "none"
	}
	return allowedText(ms)
}

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}

// durationText spells a policy duration: "none", "90 seconds", "3 days".
func durationText(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d <= 0:
		return "none"
	case d%(24*time.Hour) == 0:
		return plural(int64(d/(24*time.Hour)), "day")
	case d%time.Hour == 0:
		return plural(int64(d/time.Hour), "hour")
	case d%time.Minute == 0:
		return plural(int64(d/time.Minute), "minute")
	}
	return plural(int64((d+time.Second-1)/time.Second), "second")
}

func (h *handler) adminRenameOrg(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	if !h.form(w, r) {
		return
	}
	slug, name := r.PathValue("slug"), r.PostForm.Get("name")
	if _, err := h.Admin.RenameOrg(r.Context(), actorOf(p), slug, name, h.Client(r)); err != nil {
		pe := h.public(r, err)
		h.renderOrg(w, r, p, pe.HTTPStatus(), &name, nil, newFormErr("rename", pe, h.Now(), "name"))
		return
	}
	http.Redirect(w, r, "/admin/orgs/"+slug+"?msg=renamed", http.StatusSeeOther)
}
