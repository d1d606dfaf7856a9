package web

// The admin console lives under /admin/ and is split by subject:
// admin_orgs.go (the org tree, creating and moving orgs), admin_policy.go
// (the policy editor),
// admin_users.go (the user list, one user, creating users),
// admin_clients.go (registered apps) and
// admin_audit.go (the audit log and its export). This file holds what they
// share: the admin-only guard, the page frame, and the fresh-code check
// that sensitive actions go through.
//
// Every page calls internal/admin with the signed-in admin as actor; that
// service enforces the scope (an admin sees its own org and its
// descendants only). The pages build links only from what the service
// returned, so nothing outside the scope is ever shown or linked.

import (
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// adminRoutes registers the admin console.
func (h *handler) adminRoutes(mux *http.ServeMux) {
	h.loadAdminPages()
	a := h.adminOnly
	mux.HandleFunc("GET /admin", a(h.adminHome))
	mux.HandleFunc("GET /admin/{$}", a(h.adminHome))
	mux.HandleFunc("POST /admin/orgs", a(h.adminCreateOrg))
	mux.HandleFunc("GET /admin/orgs/{slug}", a(h.adminOrg))
	mux.HandleFunc("POST /admin/orgs/{slug}/rename", a(h.adminRenameOrg))
	mux.HandleFunc("POST /admin/orgs/{slug}/move", a(h.adminMoveOrg))
	mux.HandleFunc("POST /admin/orgs/{slug}/delete", a(h.adminDeleteOrg))
	mux.HandleFunc("POST /admin/orgs/{slug}/policy", a(h.adminSetPolicy))
	mux.HandleFunc("GET /admin/orgs/{slug}/dashboard", a(h.adminDashboard))
	mux.HandleFunc("GET /admin/orgs/{slug}/directory", a(h.adminDirectory))
	mux.HandleFunc("POST /admin/orgs/{slug}/directory", a(h.adminSetDirectory))
	mux.HandleFunc("POST /admin/orgs/{slug}/directory/remove", a(h.adminRemoveDirectory))
	mux.HandleFunc("POST /admin/orgs/{slug}/directory/test", a(h.adminTestDirectory))

	mux.HandleFunc("GET /admin/users", a(h.adminUsers))
	mux.HandleFunc("POST /admin/users", a(h.adminCreateUser))
	mux.HandleFunc("GET /admin/users/new", a(h.adminNewUser))
	mux.HandleFunc("GET /admin/users/export.csv", a(h.adminUsersExport))
	mux.HandleFunc("GET "+importPath, a(h.adminImportForm))
	mux.HandleFunc("POST "+importPath, a(h.adminImport))
	mux.HandleFunc("POST /admin/users/resend-confirmations", a(h.adminResendAll))
	mux.HandleFunc("GET /admin/users/{id}", a(h.adminUser))
	mux.HandleFunc("POST /admin/users/{id}/mfa-required", a(h.adminSetMFARequired))
	mux.HandleFunc("POST /admin/users/{id}/reset-mfa", a(h.adminResetMFA))
	mux.HandleFunc("POST /admin/users/{id}/unlock", a(h.adminUnlock))
	mux.HandleFunc("POST /admin/users/{id}/resend-confirmation", a(h.adminResendOne))
	mux.HandleFunc("POST /admin/users/{id}/role", a(h.adminSetRole))
	mux.HandleFunc("POST /admin/users/{id}/disabled", a(h.adminSetDisabled))
	mux.HandleFunc("POST /admin/users/{id}/password", a(h.adminSetPassword))
	mux.HandleFunc("POST /admin/users/{id}/email", a(h.adminSetEmail))
	mux.HandleFunc("POST /admin/users/{id}/delete", a(h.adminDeleteUser))

	mux.HandleFunc("GET /admin/invitations", a(h.adminInvitations))
	mux.HandleFunc("POST /admin/invitations", a(h.adminInvite))
	mux.HandleFunc("POST /admin/invitations/import", a(h.adminInviteCSV))
	mux.HandleFunc("POST /admin/invitations/{id}/resend", a(h.adminResendInvitation))
	mux.HandleFunc("POST /admin/invitations/{id}/revoke", a(h.adminRevokeInvitation))
	mux.HandleFunc("GET /admin/clients", a(h.adminClients))
	mux.HandleFunc("POST /admin/clients", a(h.adminCreateClient))
	mux.HandleFunc("GET /admin/clients/{id}", a(h.adminClient))
	mux.HandleFunc("POST /admin/clients/{id}", a(h.adminUpdateClient))
	mux.HandleFunc("POST /admin/clients/{id}/secret", a(h.adminRotateClientSecret))
	mux.HandleFunc("POST /admin/clients/{id}/delete", a(h.adminDeleteClient))

	mux.HandleFunc("GET /admin/audit", a(h.adminAudit))
	mux.HandleFunc("GET /admin/audit/export", a(h.adminAuditExport))
	mux.HandleFunc("GET /admin/audit/export.csv", a(h.adminAuditCSV))
}

// loadAdminPages parses the admin templates again, each with the shared
// admin partials (admin_partials.html) beside the layout, and puts them in
// place of the plain parses loadPages made.
func (h *handler) loadAdminPages() {
	base, ok := h.pages.byName["error"] // the layout and the portal's partials
	if !ok {
		panic("web: no error page to build the admin pages on")
	}
	names, err := fs.Glob(templateFS, "templates/admin_*.html")
	if err != nil {
		panic(err)
	}
	const partials = "templates/admin_partials.html"
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if n == partials {
			delete(h.pages.byName, name)
			continue
		}
		h.pages.byName[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, partials, n))
	}
}

// adminOnly runs f for signed-in admins; anyone else gets 403.
func (h *handler) adminOnly(f authedFunc) http.HandlerFunc {
	return h.authed(func(w http.ResponseWriter, r *http.Request, p signin.Principal) {
		if !actorOf(p).IsAdmin() {
			h.renderStatus(w, r, http.StatusForbidden, "error", errorPage{User: &p,
				Title: "Admins only", Message: "This part of the portal is for organization admins."})
			return
		}
		f(w, r, p)
	})
}

func actorOf(p signin.Principal) access.Actor { return admin.SessionActor(p) }

// adminBase is what every admin page carries: the admin, for the header,
// which section of the console is open, and a notice after a redirect.
type adminBase struct {
	User    *signin.Principal
	Section string // "orgs", "users", "clients" or "audit"
	Notice  string
}

func (b adminBase) principal() *signin.Principal { return b.User }

// adminNotices are the fixed messages a redirect inside the console can ask
// for with ?msg=key.
var adminNotices = map[string]string{
	"orgcreated":       "The organization was created.",
	"renamed":          "The organization was renamed.",
	"moved":            "The organization was moved.",
	"policy":           "The policy was saved.",
	"usercreated":      "The user was created.",
	"mfarequired":      "Two-step sign-in is now required for this user.",
	"mfaoptional":      "Two-step sign-in is no longer required for this user personally (the organization's policy still applies).",
	"reset":            "Two-step sign-in was reset: the user's authenticators and backup codes were removed and every session signed out.",
	"unlocked":         "The user's second step was unlocked.",
	"deviceremoved":    "The device was removed and its sessions signed out.",
	"confirmation":     "A new confirmation link was mailed.",
	"role":             "The role was changed. The user's sessions were signed out.",
	"disabled":         "The user was disabled and signed out everywhere.",
	"email":            "The email address was changed; a confirmation mail went to the new one if mail is set up.",
	"userdeleted":      "The user was deleted. Their audit events stay.",
	"orgdeleted":       "The organization was deleted.",
	"enabled":          "The user was enabled.",
	"password":         "The password was set. The user's sessions were signed out.",
	"directory":        "The directory was saved.",
	"directoryremoved": "The directory was removed. Its users can no longer sign in here.",
	"clientsaved":      "The app was saved.",
	"clientdeleted":    "The app was deleted. Its tokens no longer work.",
}

func adminNotice(r *http.Request) string { return adminNotices[r.URL.Query().Get("msg")] }

// orgIndex names the orgs an admin can see, by id.
type orgIndex map[string]store.Org

func (h *handler) visibleOrgs(r *http.Request, p signin.Principal) ([]store.Org, orgIndex, error) {
	orgs, err := h.Admin.Orgs(r.Context(), actorOf(p))
	if err != nil {
		return nil, nil, err
	}
	idx := orgIndex{}
	for _, o := range orgs {
		idx[o.ID] = o
	}
	return orgs, idx, nil
}

// orgOption is one entry of an org select: indented by depth below the
// admin's own org.
type orgOption struct {
	Slug, Label string
	Selected    bool
}

// orgOptions lists orgs for a select, children after their parent.
func orgOptions(orgs []store.Org, selected string) []orgOption {
	if len(orgs) == 0 {
		return nil
	}
	top := orgs[0].Depth
	for _, o := range orgs {
		top = min(top, o.Depth)
	}
	out := make([]orgOption, 0, len(orgs))
	for _, o := range treeOrder(orgs) {
		out = append(out, orgOption{Slug: o.Slug, Label: strings.Repeat("\u00a0\u00a0", o.Depth-top) + o.Name + " (" + o.Slug + ")", Selected: o.Slug == selected})
	}
	return out
}

// treeOrder returns orgs depth first, each parent before its children and
// siblings by name.
func treeOrder(orgs []store.Org) []store.Org {
	known := map[string]bool{}
	kids := map[string][]store.Org{}
	for _, o := range orgs {
		known[o.ID] = true
	}
	var roots []store.Org
	for _, o := range orgs {
		if known[o.ParentID] {
			kids[o.ParentID] = append(kids[o.ParentID], o)
		} else {
			roots = append(roots, o)
		}
	}
	byName := func(s []store.Org) {
		sort.SliceStable(s, func(i, j int) bool { return strings.ToLower(s[i].Name) < strings.ToLower(s[j].Name) })
	}
	out := make([]store.Org, 0, len(orgs))
	var walk func([]store.Org)
	walk = func(level []store.Org) {
		byName(level)
		for _, o := range level {
			out = append(out, o)
			walk(kids[o.ID])
		}
	}
	walk(roots)
	return out
}

// hiddenField is one form value carried through the confirmation page.
type hiddenField struct{ Name, Value string }

// adminReauthPage asks for a current code before a sensitive action and
// carries the action's form on to it.
type adminReauthPage struct {
	adminBase
	Action string // where the form goes back to
	What   string // the action, in words
	Back   string // where Cancel leads
	Fields []hiddenField
	Err    *formErr
}

func (adminReauthPage) title() string { return "Confirm with a current code" }

// adminSensitive runs act, the service call of an admin action that may be
// sensitive. The admin service alone decides whether it is (the same rule
// as for the API): when it answers reauthentication_required, this shows
// the "Confirm with a current code" page, which posts the same form back
// with reauth_code. On that post the code is checked first, the session
// cookie is replaced by the new session, and act runs again with the new
// principal. what names the action in words, back is where Cancel leads.
// It returns act's error; handled reports that the page has been answered.
func (h *handler) adminSensitive(w http.ResponseWriter, r *http.Request, p signin.Principal, what, back string,
	act func(p signin.Principal) error) (handled bool, err error) {
	pg := adminReauthPage{adminBase: adminBase{User: &p}, Action: r.URL.Path, What: what, Back: back}
	for name, vs := range r.PostForm {
		if name == "reauth_code" || strings.Contains(name, "password") {
			continue
		}
		for _, v := range vs {
			pg.Fields = append(pg.Fields, hiddenField{name, v})
		}
	}
	sort.Slice(pg.Fields, func(i, j int) bool { return pg.Fields[i].Name < pg.Fields[j].Name })
	if code, asked := r.PostForm["reauth_code"]; asked {
		fail := func(err error) {
			pe := h.public(r, err)
			pg.Err = newFormErr("reauth", pe, h.Now(), "code")
			h.renderStatus(w, r, pe.HTTPStatus(), "admin_reauth", pg)
		}
		if err := h.limit(h.codeIP, r); err != nil {
			fail(err)
			return true, nil
		}
		res, err := h.Signin.Reauthenticate(r.Context(), p, signin.MethodAny, strings.Join(code, ""), h.Client(r))
		if err != nil {
			fail(err)
			return true, nil
		}
		h.setSession(w, res.SessionToken)
		p = signin.Principal{Session: res.Session, User: res.User, Org: res.Org}
		pg.User = &p
	}
	err = act(p)
	if errors.Is(err, signin.ErrReauthRequired) {
		h.render(w, r, "admin_reauth", pg)
		return true, nil
	}
	return false, err
}

// mfaStatus is a user's MFA status as admins filter it.
type mfaStatus string

// Text is the status in words.
func (s mfaStatus) Text() string {
	switch s {
	case admin.StatusNotEnrolled:
		return "Not enrolled"
	case admin.StatusEnrolled:
		return "Enrolled"
	case admin.StatusRequiredMissing:
		return "Required but missing"
	case admin.StatusLocked:
		return "Locked"
	}
	return string(s)
}

// Class is the badge style of the status.
func (s mfaStatus) Class() string {
	switch s {
	case admin.StatusEnrolled:
		return "ok"
	case admin.StatusRequiredMissing, admin.StatusLocked:
		return "bad"
	}
	return "plain"
}

// statusFromOverview derives the status the admin list shows from a user's
// overview (the same order as the service: locked first).
func statusFromOverview(ov signin.Overview) mfaStatus {
	switch {
	case ov.Locked:
		return admin.StatusLocked
	case ov.Enrolled:
		return admin.StatusEnrolled
	case ov.Required:
		return admin.StatusRequiredMissing
	}
	return admin.StatusNotEnrolled
}

// mfaMode is an MFA mode for display.
type mfaMode store.MFAMode

// Text is the mode in words; the empty mode inherits.
func (m mfaMode) Text() string {
	switch store.MFAMode(m) {
	case store.MFAOff:
		return "Off"
	case store.MFAOptional:
		return "Optional"
	case store.MFARequired:
		return "Required"
	}
	return "Inherit"
}

// Class is the badge style of the mode.
func (m mfaMode) Class() string {
	switch store.MFAMode(m) {
	case store.MFARequired:
		return "ok"
	case store.MFAOff:
		return "bad"
	}
	return "plain"
}
