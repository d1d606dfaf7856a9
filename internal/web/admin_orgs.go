package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
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
	Err     *formErr
}

func (adminHomePage) title() string { return "Admin · Organizations" }

// orgForm is the kept input of the create-org form.
type orgForm struct {
	Slug, Name, Parent string
	Policy             policyForm
}

// policyForm is a policy as the forms hold it: strings as typed.
type policyForm struct {
	MFA            string // "inherit", "off", "optional", "required"
	Locked         bool
	MethodsInherit bool
	Methods        []string
	GraceHours     string // "" inherits
	CodeTTL        string // seconds; "" inherits
	DirectoryMFA   bool
}

// choice is one option of a select, or one checkbox of a group.
type choice struct {
	Value, Label string
	On, Disabled bool
}

func policyFormOf(p store.OrgPolicy) policyForm {
	f := policyForm{MFA: string(p.MFA), Locked: p.Locked, MethodsInherit: p.AllowedMethods == nil,
		Methods: p.AllowedMethods, DirectoryMFA: p.RequireMFAForNewDirectoryUsers}
	if f.MFA == "" {
		f.MFA = "inherit"
	}
	if p.EnrollmentGrace > 0 {
		f.GraceHours = strconv.FormatFloat(p.EnrollmentGrace.Hours(), 'f', -1, 64)
	}
	if p.OTPCodeTTL > 0 {
		f.CodeTTL = strconv.Itoa(int(p.OTPCodeTTL / time.Second))
	}
	return f
}

// policyFormFrom reads a policy form. A field the form did not send (a
// control disabled by an ancestor's lock) keeps its value from cur.
func policyFormFrom(v url.Values, cur policyForm) policyForm {
	f := cur
	if v.Has("mfa") {
		f.MFA = v.Get("mfa")
	}
	f.Locked = v.Get("locked") == "yes"
	f.MethodsInherit = v.Get("methods_inherit") == "yes"
	f.Methods = v["method"]
	if v.Has("grace_hours") {
		f.GraceHours = strings.TrimSpace(v.Get("grace_hours"))
	}
	if v.Has("code_ttl") {
		f.CodeTTL = strings.TrimSpace(v.Get("code_ttl"))
	}
	f.DirectoryMFA = v.Get("directory_mfa") == "yes"
	return f
}

// toStore turns the form into a policy; the admin service validates the
// values.
func (f policyForm) toStore() (store.OrgPolicy, error) {
	p := store.OrgPolicy{Locked: f.Locked, RequireMFAForNewDirectoryUsers: f.DirectoryMFA}
	if f.MFA != "inherit" {
		p.MFA = store.MFAMode(f.MFA)
	}
	if !f.MethodsInherit {
		p.AllowedMethods = append([]string{}, f.Methods...)
	}
	if f.GraceHours != "" {
		h, err := strconv.ParseFloat(f.GraceHours, 64)
		if err != nil || h < 0 || h > 90*24 {
			return p, admin.ErrInvalid.WithMessage("The grace period is a number of hours between 0 and 2160 (90 days).").WithField("enrollment_grace")
		}
		p.EnrollmentGrace = time.Duration(h * float64(time.Hour)).Round(time.Second)
	}
	if f.CodeTTL != "" {
		s, err := strconv.Atoi(f.CodeTTL)
		if err != nil || s < 30 || s > 600 {
			return p, admin.ErrInvalid.WithMessage("The code lifetime is a number of seconds between 30 and 600.").WithField("otp_code_ttl")
		}
		p.OTPCodeTTL = time.Duration(s) * time.Second
	}
	return p, nil
}

// mfaChoices are the options of the MFA select; modes weaker than floor
// (a rank, -1 for none) are disabled.
func mfaChoices(selected string, floor int) []choice {
	out := []choice{{Value: "inherit", Label: "Inherit from the parent"}}
	for _, m := range []store.MFAMode{store.MFAOff, store.MFAOptional, store.MFARequired} {
		out = append(out, choice{Value: string(m), Label: mfaMode(m).Text(), Disabled: policy.Rank(m) < floor})
	}
	for i := range out {
		out[i].On = out[i].Value == selected
	}
	return out
}

// methodChoices are the method checkboxes; methods outside allowed are
// disabled.
func methodChoices(checked, allowed []string) []choice {
	out := make([]choice, 0, len(policy.AllMethods))
	for _, m := range policy.AllMethods {
		out = append(out, choice{Value: m, Label: methodName(m), On: slices.Contains(checked, m), Disabled: !slices.Contains(allowed, m)})
	}
	return out
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
		Create: f, Err: e, MFA: mfaChoices(f.Policy.MFA, -1), Methods: methodChoices(f.Policy.Methods, policy.AllMethods)}
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
		Parent: r.PostForm.Get("parent"), Policy: policyFormFrom(r.PostForm, policyFormOf(store.OrgPolicy{}))}
	fail := func(err error) {
		pe := h.public(r, err)
		h.renderHome(w, r, p, pe.HTTPStatus(), f, newFormErr("create", pe, h.Now(), "slug", "name", "parent", "mfa", "allowed_methods"))
	}
	pol, err := f.Policy.toStore()
	if err != nil {
		fail(err)
		return
	}
	o, err := h.Admin.CreateOrg(r.Context(), actorOf(p), admin.NewOrg{Slug: f.Slug, Name: f.Name, ParentSlug: f.Parent, Policy: pol}, h.Client(r))
	if err != nil {
		fail(err)
		return
	}
	http.Redirect(w, r, "/admin/orgs/"+o.Slug+"?msg=orgcreated", http.StatusSeeOther)
}

// adminOrgPage is one org: its place in the tree, rename, and the policy
// editor.
type adminOrgPage struct {
	adminBase
	View     admin.PolicyView
	Parent   *store.Org // nil when the parent is outside the admin's scope
	Children []store.Org
	IsOwn    bool // the admin's own org
	Name     string
	Form     policyForm
	Rows     []policyRow

	MFA             []choice
	MFADisabled     bool   // an ancestor's lock leaves no choice
	MFALockedBy     string // the ancestor whose lock binds the MFA mode
	MFAFloor        mfaMode
	Methods         []choice
	MethodsLockedBy string
	Err             *formErr
}

func (pg adminOrgPage) title() string { return "Admin · " + pg.View.Org.Name }

// policyRow is one line of the own / inherited / effective table.
type policyRow struct {
	Setting, Own, Inherited, Effective string
	LockedBy                           string
}

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
	for _, o := range treeOrder(orgs) {
		if o.ParentID == v.Org.ID {
			pg.Children = append(pg.Children, o)
		}
	}
	if name != nil {
		pg.Name = *name
	}
	if form != nil {
		pg.Form = *form
	}
	floor := mfaFloor(v)
	pg.MFA = mfaChoices(pg.Form.MFA, floor)
	if lb := v.Effective.MFALockedBy; lb != nil {
		pg.MFALockedBy = lb.Name
		pg.MFADisabled = floor >= policy.Rank(store.MFARequired)
		if floor >= policy.Rank(store.MFAOptional) {
			pg.MFAFloor = mfaMode([]store.MFAMode{store.MFAOff, store.MFAOptional, store.MFARequired}[floor])
		}
	}
	pg.Methods = methodChoices(pg.Form.Methods, methodCeiling(v))
	if lb := v.Effective.MethodsLockedBy; lb != nil {
		pg.MethodsLockedBy = lb.Name
	}
	pg.Rows = policyRows(v)
	h.renderStatus(w, r, status, "admin_org", pg)
}

// mfaFloor is the rank of the weakest MFA mode the org may set for itself
// under its ancestors' locks (-1 when nothing binds it). A lock on the org
// itself binds only its descendants, which is what PolicyView.Effective
// records; the floor is the locking ancestor's own mode. When the nearest
// binding lock is the parent's, the parent's effective mode is exactly that
// floor. When the locking ancestor inherits its mode from above and is not
// the parent, the page cannot know the floor and leaves it to the server.
func mfaFloor(v admin.PolicyView) int {
	lb := v.Effective.MFALockedBy
	switch {
	case lb == nil:
		return -1
	case lb.ID == v.Org.ParentID:
		return policy.Rank(v.Inherited.MFA)
	case lb.Policy.MFA != store.MFAInherit:
		return policy.Rank(lb.Policy.MFA)
	}
	return 0
}

// methodCeiling lists the methods the org may allow under its ancestors'
// locks: exactly the parent's effective list when the parent locks it,
// otherwise the locking ancestor's own list (the server checks the rest).
func methodCeiling(v admin.PolicyView) []string {
	lb := v.Effective.MethodsLockedBy
	switch {
	case lb == nil:
		return policy.AllMethods
	case lb.ID == v.Org.ParentID:
		return v.Inherited.AllowedMethods
	case lb.Policy.AllowedMethods != nil:
		return lb.Policy.AllowedMethods
	}
	return policy.AllMethods
}

func policyRows(v admin.PolicyView) []policyRow {
	own, in, eff := v.Own, v.Inherited, v.Effective
	ownOr := func(set bool, s string) string {
		if !set {
			return "Inherit"
		}
		return s
	}
	lockName := func(o *store.Org) string {
		if o == nil {
			return ""
		}
		return o.Name
	}
	return []policyRow{
		{Setting: "Two-step sign-in", Own: mfaMode(own.MFA).Text(), Inherited: mfaMode(in.MFA).Text(), Effective: mfaMode(eff.MFA).Text(),
			LockedBy: lockName(eff.MFALockedBy)},
		{Setting: "Allowed methods", Own: ownOr(own.AllowedMethods != nil, allowedOrNone(own.AllowedMethods)),
			Inherited: allowedOrNone(in.AllowedMethods), Effective: allowedOrNone(eff.AllowedMethods), LockedBy: lockName(eff.MethodsLockedBy)},
		{Setting: "Setup grace period", Own: ownOr(own.EnrollmentGrace > 0, durationText(own.EnrollmentGrace)),
			Inherited: durationText(in.Grace), Effective: durationText(eff.Grace)},
		{Setting: "Emailed and texted codes last", Own: ownOr(own.OTPCodeTTL > 0, durationText(own.OTPCodeTTL)),
			Inherited: durationText(in.OTPCodeTTL), Effective: durationText(eff.OTPCodeTTL)},
		{Setting: "Required for new directory users", Own: ownOr(own.RequireMFAForNewDirectoryUsers, "Yes"),
			Inherited: yesNo(in.RequireMFAForNewDirectoryUsers), Effective: yesNo(eff.RequireMFAForNewDirectoryUsers)},
		{Setting: "Locks its sub-organizations", Own: yesNo(own.Locked), Inherited: "—", Effective: "—"},
	}
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

func (h *handler) adminSetPolicy(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	if !h.form(w, r) {
		return
	}
	slug := r.PathValue("slug")
	cur, err := h.Admin.Policy(r.Context(), actorOf(p), slug)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f := policyFormFrom(r.PostForm, policyFormOf(cur.Own))
	fail := func(err error) {
		pe := h.public(r, err)
		h.renderOrg(w, r, p, pe.HTTPStatus(), nil, &f, newFormErr("policy", pe, h.Now(), "mfa", "allowed_methods", "enrollment_grace", "otp_code_ttl"))
	}
	next, err := f.toStore()
	if err != nil {
		fail(err)
		return
	}
	handled, err := h.adminSensitive(w, r, p, "Save a policy that lowers security for "+cur.Org.Name, "/admin/orgs/"+slug,
		func(np signin.Principal) error {
			p = np
			_, err := h.Admin.SetPolicy(r.Context(), actorOf(np), slug, next, h.Client(r))
			return err
		})
	if handled {
		return
	}
	if err != nil {
		fail(err)
		return
	}
	http.Redirect(w, r, "/admin/orgs/"+slug+"?msg=policy", http.StatusSeeOther)
}
