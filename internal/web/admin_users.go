package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/problem"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// userListLimit is the size of one user list page; the page links to the
// next one (keyset paging by user ID, so every page is one index range).
const userListLimit = 100

// adminUsersPage lists users with search and filters, and offers the bulk
// resend of confirmation mails for the org subtree shown.
type adminUsersPage struct {
	ExportCSV string // the list's users, every page, as CSV
	adminBase
	Q, Status, Org string
	OrgName        string // the subtree shown
	Orgs           []orgOption
	Statuses       []choice
	Rows           []userListRow
	After          string // the page starts after this user ID ("" = first page)
	FirstURL       string // the first page with the same filters, when this is not it
	NextURL        string // the next page, when there may be one
	Unconfirmed    int    // users shown with an unconfirmed address
	Bulk           *admin.BulkResult
	Err            *formErr
}

func (adminUsersPage) title() string { return "Admin · Users" }

// userListRow is one line of the user table.
type userListRow struct {
	User    store.User
	OrgName string
	Status  mfaStatus
}

func (h *handler) adminUsers(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	h.renderUsers(w, r, p, http.StatusOK, nil)
}

func (h *handler) renderUsers(w http.ResponseWriter, r *http.Request, p signin.Principal, status int, e *formErr) {
	q := r.URL.Query()
	pg := adminUsersPage{adminBase: adminBase{User: &p, Section: "users", Notice: adminNotice(r)},
		Q: strings.TrimSpace(q.Get("q")), Status: q.Get("status"), Org: q.Get("org"), After: q.Get("after"), Err: e}
	orgs, idx, err := h.visibleOrgs(r, p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if pg.Org == "" {
		pg.Org = p.Org.Slug
	}
	pg.Orgs = orgOptions(orgs, pg.Org)
	pg.Statuses = []choice{{Value: "", Label: "Any status", On: pg.Status == ""}}
	for _, s := range admin.Statuses {
		pg.Statuses = append(pg.Statuses, choice{Value: s, Label: mfaStatus(s).Text(), On: pg.Status == s})
	}
	o, err := h.Admin.Org(r.Context(), actorOf(p), pg.Org)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	pg.OrgName = o.Name
	pg.ExportCSV = exportLink("/admin/users/export.csv", url.Values{"org": {pg.Org}, "q": {pg.Q}, "status": {pg.Status}})
	rows, next, err := h.Admin.UserPage(r.Context(), actorOf(p), store.UserFilter{OrgPath: o.Path, Query: pg.Q, Limit: userListLimit, AfterID: pg.After}, pg.Status)
	if err != nil {
		pe := h.public(r, err)
		if pg.Err == nil {
			pg.Err = newFormErr("filter", pe, h.Now())
		}
		status = pe.HTTPStatus()
	}
	page := func(after string) string {
		v := url.Values{}
		for k, x := range map[string]string{"q": pg.Q, "status": pg.Status, "org": pg.Org, "after": after} {
			if x != "" {
				v.Set(k, x)
			}
		}
		return "/admin/users?" + v.Encode()
	}
	if next != "" {
		pg.NextURL = page(next)
	}
	if pg.After != "" {
		pg.FirstURL = page("")
	}
	for _, row := range rows {
		pg.Rows = append(pg.Rows, userListRow{User: row.User, OrgName: idx[row.User.OrgID].Name, Status: mfaStatus(row.MFAStatus)})
		if row.User.Email != "" && row.User.EmailConfirmedAt == nil {
			pg.Unconfirmed++
		}
	}
	if q.Has("sent") {
		b := admin.BulkResult{}
		b.Sent, _ = strconv.Atoi(q.Get("sent"))
		b.Throttled, _ = strconv.Atoi(q.Get("throttled"))
		b.Failed, _ = strconv.Atoi(q.Get("failed"))
		pg.Bulk = &b
	}
	h.renderStatus(w, r, status, "admin_users", pg)
}

// adminResendAll mails a new confirmation link to every unconfirmed user of
// the org subtree shown (S12) and comes back to the list with the counts.
func (h *handler) adminResendAll(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	if !h.form(w, r) {
		return
	}
	slug := r.PostForm.Get("org")
	if slug == "" {
		slug = p.Org.Slug
	}
	res, err := h.Admin.ResendConfirmations(r.Context(), actorOf(p), slug, h.Client(r))
	if err != nil {
		pe := h.public(r, err)
		r.URL.RawQuery = url.Values{"org": {slug}}.Encode()
		h.renderUsers(w, r, p, pe.HTTPStatus(), newFormErr("bulk", pe, h.Now()))
		return
	}
	back := url.Values{"org": {slug}, "sent": {strconv.Itoa(res.Sent)}, "throttled": {strconv.Itoa(res.Throttled)}, "failed": {strconv.Itoa(res.Failed)}}
	for _, k := range []string{"q", "status"} {
		if v := r.PostForm.Get(k); v != "" {
			back.Set(k, v)
		}
	}
	http.Redirect(w, r, "/admin/users?"+back.Encode(), http.StatusSeeOther)
}

// adminUserPage is one user with the actions an admin can take.
type adminUserPage struct {
	adminBase
	U         store.User
	Org       store.Org
	Overview  signin.Overview
	Status    mfaStatus
	CanManage bool // the user's role is not above the admin's
	Self      bool
	Roles     []choice
	Err       *formErr
	// Directory is set for a directory user: the password lives in the
	// directory, so the page offers no password form.
	Directory bool
	// Devices are the user's registered devices (devices.go).
	Devices []store.Device
}

func (pg adminUserPage) title() string { return "Admin · " + pg.U.Username }

// Unconfirmed reports whether the user has an address waiting for
// confirmation.
func (pg adminUserPage) Unconfirmed() bool { return pg.U.Email != "" && pg.U.EmailConfirmedAt == nil }

// grantable lists the roles the admin may give, with selected marked.
func grantable(p signin.Principal, selected store.Role) []choice {
	var out []choice
	for _, role := range []store.Role{store.RoleMember, store.RoleAdmin, store.RoleSuperadmin} {
		if actorOf(p).CanGrant(role) {
			out = append(out, choice{Value: string(role), Label: roleName(role), On: role == selected})
		}
	}
	return out
}

func (h *handler) adminUser(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	h.renderUser(w, r, p, http.StatusOK, nil)
}

func (h *handler) renderUser(w http.ResponseWriter, r *http.Request, p signin.Principal, status int, e *formErr) {
	ctx := r.Context()
	u, org, err := h.Admin.User(ctx, actorOf(p), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ov, err := h.Admin.Factors(ctx, actorOf(p), u.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	pg := adminUserPage{adminBase: adminBase{User: &p, Section: "users", Notice: adminNotice(r)}, U: u, Org: org,
		Overview: ov, Status: statusFromOverview(ov), CanManage: actorOf(p).CanManageUser(u, org), Self: u.ID == p.User.ID,
		Roles: grantable(p, u.Role), Err: e}
	if pg.Directory, err = h.Signin.IsDirectoryUser(r.Context(), u); err != nil {
		h.fail(w, r, err)
		return
	}
	if pg.Devices, err = h.Admin.UserDevices(ctx, actorOf(p), u.ID); err != nil {
		h.fail(w, r, err)
		return
	}
	h.renderStatus(w, r, status, "admin_user", pg)
}

// userAction runs one action of the user page on the user of the path.
// what describes the action in words, for the "Confirm with a current
// code" page that appears when the admin service asks for a fresh second
// factor (see adminSensitive). act returns the notice key to show after it.
// A failure re-renders the page with the error on form (next to one of
// fields when it names one).
func (h *handler) userAction(w http.ResponseWriter, r *http.Request, p signin.Principal, form string, what func() string,
	act func(a signin.Principal, id string) (string, error), fields ...string) {
	if !h.form(w, r) {
		return
	}
	id := r.PathValue("id")
	u, _, err := h.Admin.User(r.Context(), actorOf(p), id)
	if err != nil {
		h.fail(w, r, err) // out of scope is not found, before any code is asked for
		return
	}
	var msg string
	handled, err := h.adminSensitive(w, r, p, what()+" for "+u.Username, "/admin/users/"+id, func(np signin.Principal) error {
		p = np
		var err error
		msg, err = act(np, id)
		return err
	})
	if handled {
		return
	}
	if err != nil {
		pe := h.public(r, err)
		h.renderUser(w, r, p, pe.HTTPStatus(), newFormErr(form, pe, h.Now(), fields...))
		return
	}
	http.Redirect(w, r, "/admin/users/"+id+"?msg="+msg, http.StatusSeeOther)
}

func (h *handler) adminSetMFARequired(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	required := func() bool { return r.PostForm.Get("required") == "yes" }
	h.userAction(w, r, p, "mfa-required", func() string {
		if required() {
			return "Require two-step sign-in"
		}
		return "Stop requiring two-step sign-in"
	}, func(a signin.Principal, id string) (string, error) {
		req := required()
		if _, err := h.Admin.UpdateUser(r.Context(), actorOf(a), id, admin.Change{MFARequired: &req}, h.Client(r)); err != nil {
			return "", err
		}
		if req {
			return "mfarequired", nil
		}
		return "mfaoptional", nil
	})
}

func (h *handler) adminResetMFA(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	h.userAction(w, r, p, "reset", func() string { return "Reset two-step sign-in" },
		func(a signin.Principal, id string) (string, error) {
			return "reset", h.Admin.ResetMFA(r.Context(), actorOf(a), id, h.Client(r))
		})
}

func (h *handler) adminUnlock(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	h.userAction(w, r, p, "unlock", func() string { return "Unlock the second step" }, func(a signin.Principal, id string) (string, error) {
		return "unlocked", h.Admin.Unlock(r.Context(), actorOf(a), id, h.Client(r))
	})
}

func (h *handler) adminResendOne(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	h.userAction(w, r, p, "confirm", func() string { return "Resend the confirmation link" }, func(a signin.Principal, id string) (string, error) {
		return "confirmation", h.Admin.ResendConfirmation(r.Context(), actorOf(a), id, h.Client(r))
	})
}

func (h *handler) adminSetRole(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	role := func() store.Role { return store.Role(r.PostForm.Get("role")) }
	h.userAction(w, r, p, "role", func() string { return "Change the role to " + roleName(role()) },
		func(a signin.Principal, id string) (string, error) {
			next := role()
			if _, err := h.Admin.UpdateUser(r.Context(), actorOf(a), id, admin.Change{Role: &next}, h.Client(r)); err != nil {
				return "", err
			}
			return "role", nil
		}, "role")
}

func (h *handler) adminSetDisabled(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	h.userAction(w, r, p, "disabled", func() string {
		if r.PostForm.Get("disabled") == "yes" {
			return "Disable the account"
		}
		return "Enable the account"
	}, func(a signin.Principal, id string) (string, error) {
		off := r.PostForm.Get("disabled") == "yes"
		if _, err := h.Admin.UpdateUser(r.Context(), actorOf(a), id, admin.Change{Disabled: &off}, h.Client(r)); err != nil {
			return "", err
		}
		if off {
			return "disabled", nil
		}
		return "enabled", nil
	})
}

func (h *handler) adminSetPassword(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	h.userAction(w, r, p, "password", func() string { return "Set a new password" }, func(a signin.Principal, id string) (string, error) {
		pw := r.PostForm.Get("new_password")
		if pw != r.PostForm.Get("new_password_again") {
			return "", errPasswordsDiffer
		}
		if err := h.Admin.SetPassword(r.Context(), actorOf(a), id, pw, h.Client(r)); err != nil {
			if pe := problem.As(err); pe != nil && pe.Field == "password" {
				err = pe.WithField("new_password")
			}
			return "", err
		}
		return "password", nil
	}, "new_password", "new_password_again")
}

// adminNewUserPage is the form that creates a user.
type adminNewUserPage struct {
	adminBase
	Orgs        []orgOption
	Roles       []choice
	Username    string
	Email       string
	MFARequired bool
	Err         *formErr
}

func (adminNewUserPage) title() string { return "Admin · New user" }

func (h *handler) adminNewUser(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	org := r.URL.Query().Get("org")
	if org == "" {
		org = p.Org.Slug
	}
	h.renderNewUser(w, r, p, http.StatusOK, adminNewUserPage{}, org, store.RoleMember)
}

func (h *handler) renderNewUser(w http.ResponseWriter, r *http.Request, p signin.Principal, status int, pg adminNewUserPage, org string, role store.Role) {
	orgs, _, err := h.visibleOrgs(r, p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	pg.adminBase = adminBase{User: &p, Section: "users"}
	pg.Orgs = orgOptions(orgs, org)
	pg.Roles = grantable(p, role)
	h.renderStatus(w, r, status, "admin_user_new", pg)
}

func (h *handler) adminCreateUser(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	if !h.form(w, r) {
		return
	}
	f := r.PostForm
	n := admin.NewUser{OrgSlug: f.Get("org"), Username: strings.TrimSpace(f.Get("username")), Email: strings.TrimSpace(f.Get("email")),
		Role: store.Role(f.Get("role")), Password: f.Get("new_password"), MFARequired: f.Get("mfa_required") == "yes"}
	var u store.User
	handled, err := h.adminSensitive(w, r, p, "Create the "+roleName(n.Role)+" "+n.Username, "/admin/users/new",
		func(np signin.Principal) error {
			p = np
			var err error
			u, err = h.Admin.CreateUser(r.Context(), actorOf(np), n, h.Client(r))
			return err
		})
	if handled {
		return
	}
	if err != nil {
		pe := h.public(r, err)
		if pe.Field == "password" {
			pe = pe.WithField("new_password")
		}
		pg := adminNewUserPage{Username: n.Username, Email: n.Email, MFARequired: n.MFARequired,
			Err: newFormErr("new-user", pe, h.Now(), "org", "username", "email", "role", "new_password")}
		h.renderNewUser(w, r, p, pe.HTTPStatus(), pg, n.OrgSlug, n.Role)
		return
	}
	http.Redirect(w, r, "/admin/users/"+u.ID+"?msg=usercreated", http.StatusSeeOther)
}
