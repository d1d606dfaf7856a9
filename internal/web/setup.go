package web

import (
	"net/http"
	"strings"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/store"
)

// setupPage creates the first platform admin with the one-time link
// printed at the server's first start.
type setupPage struct {
	Token    string
	Username string
	Email    string
	Done     bool
	OrgSlug  string // the platform org, for the sign-in link afterwards
	Err      *formErr
}

func (setupPage) title() string { return "Create the first admin" }

func (h *handler) setupForm(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, "setup", setupPage{Token: r.URL.Query().Get("token")})
}

func (h *handler) setup(w http.ResponseWriter, r *http.Request) {
	pg := setupPage{}
	fail := func(err error) {
		p := h.public(r, err)
		pg.Err = newFormErr("setup", p, h.Now(), "username", "email", "password")
		h.renderStatus(w, r, p.HTTPStatus(), "setup", pg)
	}
	if err := parseForm(r); err != nil {
		fail(err)
		return
	}
	pg.Token = r.PostForm.Get("token")
	pg.Username = strings.TrimSpace(r.PostForm.Get("username"))
	pg.Email = strings.TrimSpace(r.PostForm.Get("email"))
	if err := h.limit(h.loginIP, r); err != nil {
		fail(err)
		return
	}
	u, err := h.Admin.CompleteSetup(r.Context(), pg.Token, admin.NewUser{
		Username: pg.Username, Email: pg.Email, Password: r.PostForm.Get("password")}, h.Client(r))
	if err != nil {
		fail(err)
		return
	}
	pg.Done, pg.Token = true, ""
	// The new admin is a superadmin: its view of the tree starts at the
	// platform org, whose slug the sign-in link needs.
	if orgs, err := h.Admin.Orgs(r.Context(), admin.Actor(u, store.Org{ID: u.OrgID})); err == nil {
		for _, o := range orgs {
			if o.ID == u.OrgID {
				pg.OrgSlug = o.Slug
				h.rememberOrg(w, o.Slug)
			}
		}
	}
	h.render(w, r, "setup", pg)
}
