package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/directory"
	"github.com/twofold-id/twofold/internal/problem"
	"github.com/twofold-id/twofold/internal/signin"
)

// adminDirectoryPage is an org's directory: the settings form, the test
// search and removal.
type adminDirectoryPage struct {
	adminBase
	Org       string // slug
	OrgName   string
	Own       bool
	Inherited string // name of the ancestor whose directory applies, if any
	Form      directory.Config
	StartTLS  bool
	HasOwn    bool // a stored bind password exists
	TestUser  string
	Test      *admin.DirectoryTest
	Err       *formErr
}

func (pg adminDirectoryPage) title() string { return "Admin · Directory · " + pg.OrgName }

// errRetypeBindPassword asks for the bind password again after a code
// confirmed the action: the confirmation page never carries passwords.
var errRetypeBindPassword = problem.Define(http.StatusBadRequest, "invalid_directory",
	"Your code was accepted. Enter the bind password again (it is never kept in a page) and save.").WithField("bind_password")

// directoryFields are the form's inputs, by the names the API uses.
var directoryFields = []string{"url", "start_tls", "ca_cert", "bind_dn", "bind_password", "user_base_dn",
	"username_attribute", "user_filter", "email_attribute", "name_attribute", "admin_group_dn"}

func (h *handler) adminDirectory(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	h.renderDirectory(w, r, p, http.StatusOK, nil, "", nil, nil)
}

// renderDirectory shows the page; form (when not nil) is input to keep.
func (h *handler) renderDirectory(w http.ResponseWriter, r *http.Request, p signin.Principal, status int,
	form *directory.Config, testUser string, test *admin.DirectoryTest, e *formErr) {
	slug := r.PathValue("slug")
	o, err := h.Admin.Org(r.Context(), actorOf(p), slug)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	pg := adminDirectoryPage{adminBase: adminBase{User: &p, Section: "orgs", Notice: adminNotice(r)}, Org: o.Slug, OrgName: o.Name,
		TestUser: testUser, Test: test, Err: e}
	v, err := h.Admin.Directory(r.Context(), actorOf(p), slug)
	switch {
	case err == nil && v.Own:
		pg.Own, pg.HasOwn, pg.Form = true, true, v.Config
	case err == nil:
		pg.Inherited = v.InheritedFrom.Name
	case !errors.Is(err, admin.ErrNoDirectory):
		h.fail(w, r, err)
		return
	}
	if form != nil {
		pg.Form = *form
	}
	if pg.Form.URL == "" {
		pg.Form.StartTLS = true
		pg.Form.Defaults()
	}
	h.renderStatus(w, r, status, "admin_directory", pg)
}

func directoryFormFrom(r *http.Request) directory.Config {
	v := r.PostForm
	c := directory.Config{URL: strings.TrimSpace(v.Get("url")), StartTLS: v.Get("start_tls") == "yes", CACert: v.Get("ca_cert"),
		BindDN: strings.TrimSpace(v.Get("bind_dn")), BindPassword: v.Get("bind_password"),
		UserBaseDN: strings.TrimSpace(v.Get("user_base_dn")), UsernameAttribute: strings.TrimSpace(v.Get("username_attribute")),
		UserFilter: strings.TrimSpace(v.Get("user_filter")), EmailAttribute: strings.TrimSpace(v.Get("email_attribute")),
		NameAttribute: strings.TrimSpace(v.Get("name_attribute")), AdminGroupDN: strings.TrimSpace(v.Get("admin_group_dn"))}
	if strings.HasPrefix(c.URL, "ldaps://") {
		c.StartTLS = false
	}
	return c
}

// adminSetDirectory saves the form. Setting a directory is sensitive: the
// service may ask for a current code first (adminSensitive). The bind
// password is never put into the confirmation page, so when one was typed
// the form comes back after the code, asking for it again.
func (h *handler) adminSetDirectory(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	if !h.form(w, r) {
		return
	}
	slug := r.PathValue("slug")
	c := directoryFormFrom(r)
	if c.BindPassword != "" {
		r.PostForm.Set("bind_secret_typed", "yes")
	}
	fail := func(err error) {
		pe := h.public(r, err)
		shown := c
		shown.BindPassword = ""
		h.renderDirectory(w, r, p, pe.HTTPStatus(), &shown, "", nil, newFormErr("directory", pe, h.Now(), directoryFields...))
	}
	what, back := "Hand sign-in for "+slug+" to a directory", "/admin/orgs/"+slug+"/directory"
	if _, confirmed := r.PostForm["reauth_code"]; confirmed && c.BindPassword == "" && r.PostForm.Get("bind_secret_typed") == "yes" {
		// Check the code (which freshens the session), then ask for the
		// bind password again.
		handled, err := h.adminSensitive(w, r, p, what, back, func(np signin.Principal) error { p = np; return nil })
		if handled {
			return
		}
		if err == nil {
			err = errRetypeBindPassword
		}
		fail(err)
		return
	}
	handled, err := h.adminSensitive(w, r, p, what, back,
		func(np signin.Principal) error {
			p = np
			_, err := h.Admin.SetDirectory(r.Context(), actorOf(np), slug, c, h.Client(r))
			return err
		})
	if handled {
		return
	}
	if err != nil {
		fail(err)
		return
	}
	http.Redirect(w, r, "/admin/orgs/"+slug+"/directory?msg=directory", http.StatusSeeOther)
}

func (h *handler) adminRemoveDirectory(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	if !h.form(w, r) {
		return
	}
	slug := r.PathValue("slug")
	handled, err := h.adminSensitive(w, r, p, "Remove the directory of "+slug, "/admin/orgs/"+slug+"/directory",
		func(np signin.Principal) error {
			p = np
			return h.Admin.RemoveDirectory(r.Context(), actorOf(np), slug, h.Client(r))
		})
	if handled {
		return
	}
	if err != nil {
		pe := h.public(r, err)
		h.renderDirectory(w, r, p, pe.HTTPStatus(), nil, "", nil, newFormErr("remove", pe, h.Now()))
		return
	}
	http.Redirect(w, r, "/admin/orgs/"+slug+"/directory?msg=directoryremoved", http.StatusSeeOther)
}

func (h *handler) adminTestDirectory(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	if !h.form(w, r) {
		return
	}
	user := strings.TrimSpace(r.PostForm.Get("username"))
	res, err := h.Admin.TestDirectory(r.Context(), actorOf(p), r.PathValue("slug"), user, h.Client(r))
	if err != nil {
		pe := h.public(r, err)
		h.renderDirectory(w, r, p, pe.HTTPStatus(), nil, user, nil, newFormErr("test", pe, h.Now(), "username"))
		return
	}
	h.renderDirectory(w, r, p, http.StatusOK, nil, user, &res, nil)
}
