package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// The registered applications (OpenID Connect clients) of the admin's
// subtree: the list with the form that registers one, and one client's
// page to edit it, rotate its secret or delete it. internal/admin decides
// scope and which actions need a fresh second factor (adminSensitive).
//
// A client secret is shown exactly once, in the answer to the request that
// made it (registering a web client or rotating its secret): that answer is
// rendered in place, never behind a redirect, and pages are not cached.

// adminClientsPage lists clients and holds the registration form.
type adminClientsPage struct {
	adminBase
	Org     string // the subtree shown (slug)
	OrgName string
	Orgs    []orgOption
	Rows    []admin.ClientRow
	Form    clientForm
	Err     *formErr
}

func (adminClientsPage) title() string { return "Admin · Apps" }

// adminClientPage is one client.
type adminClientPage struct {
	adminBase
	Row    admin.ClientRow
	Form   clientForm
	Secret string // a secret just made: shown this once
	Err    *formErr
}

func (pg adminClientPage) title() string { return "Admin · App · " + pg.Row.Client.Name }

// clientForm is the registration and edit form, as typed.
type clientForm struct {
	Org        string
	Name       string
	Kind       string
	Redirects  string // one URI a line
	PostLogout string
	Scopes     []choice
	RequireMFA bool
	Alg        string // id_token_signed_response_alg
}

// clientFieldsData is what the admin-client-fields partial gets: the
// form's name (for ids and errors), its values and its error.
type clientFieldsData struct {
	Form string
	F    clientForm
	Err  *formErr
}

// clientFields are the form's inputs, by the field names the service uses.
var clientFields = []string{"org", "name", "kind", "redirect_uris", "post_logout_redirect_uris", "scopes", "id_token_signed_response_alg"}

func scopeChoices(chosen []string) []choice {
	out := make([]choice, 0, len(admin.ClientScopes))
	for _, sc := range admin.ClientScopes {
		out = append(out, choice{Value: sc, Label: sc, On: chosen == nil || slices.Contains(chosen, sc), Disabled: sc == "openid"})
	}
	return out
}

func clientFormOf(c store.Client) clientForm {
	return clientForm{Name: c.Name, Kind: string(c.Kind), Redirects: strings.Join(c.RedirectURIs, "\n"),
		PostLogout: strings.Join(c.PostLogoutRedirectURIs, "\n"), Scopes: scopeChoices(c.Scopes), RequireMFA: c.RequireMFA,
		Alg: c.SigningAlg()}
}

// lines splits a textarea into its non-empty trimmed lines.
func lines(s string) []string {
	out := []string{}
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// scopesFrom reads the scope checkboxes: openid always, plus those ticked.
func scopesFrom(r *http.Request) []string {
	out := []string{"openid"}
	for _, sc := range r.PostForm["scope"] {
		if sc != "openid" {
			out = append(out, sc)
		}
	}
	return out
}

func clientFormFrom(r *http.Request) clientForm {
	f := r.PostForm
	return clientForm{Org: f.Get("org"), Name: strings.TrimSpace(f.Get("name")), Kind: f.Get("kind"),
		Redirects: f.Get("redirect_uris"), PostLogout: f.Get("post_logout_redirect_uris"),
		Scopes: scopeChoices(scopesFrom(r)), RequireMFA: f.Get("require_mfa") == "yes", Alg: f.Get("id_token_signed_response_alg")}
}

func (h *handler) adminClients(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	h.renderClients(w, r, p, http.StatusOK, clientForm{Kind: string(store.ClientWeb), Scopes: scopeChoices(nil)}, nil)
}

func (h *handler) renderClients(w http.ResponseWriter, r *http.Request, p signin.Principal, status int, form clientForm, e *formErr) {
	slug := r.URL.Query().Get("org")
	if slug == "" {
		slug = p.Org.Slug
	}
	o, err := h.Admin.Org(r.Context(), actorOf(p), slug)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	orgs, _, err := h.visibleOrgs(r, p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rows, err := h.Admin.ListClients(r.Context(), actorOf(p), o.Slug)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if form.Org == "" {
		form.Org = o.Slug
	}
	pg := adminClientsPage{adminBase: adminBase{User: &p, Section: "clients", Notice: adminNotice(r)}, Org: o.Slug, OrgName: o.Name,
		Orgs: orgOptions(orgs, form.Org), Rows: rows, Form: form, Err: e}
	h.renderStatus(w, r, status, "admin_clients", pg)
}

// adminCreateClient registers a client and shows its page with the secret.
func (h *handler) adminCreateClient(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	if !h.form(w, r) {
		return
	}
	f := clientFormFrom(r)
	n := admin.NewClient{OrgSlug: f.Org, Name: f.Name, Kind: store.ClientKind(f.Kind), RedirectURIs: lines(f.Redirects),
		PostLogoutRedirectURIs: lines(f.PostLogout), Scopes: scopesFrom(r), RequireMFA: f.RequireMFA, IDTokenAlg: f.Alg}
	var (
		row    admin.ClientRow
		secret string
	)
	handled, err := h.adminSensitive(w, r, p, "Register the app "+n.Name, "/admin/clients",
		func(np signin.Principal) error {
			p = np
			var err error
			row, secret, err = h.Admin.CreateClient(r.Context(), actorOf(np), n, h.Client(r))
			return err
		})
	if handled {
		return
	}
	if err != nil {
		pe := h.public(r, err)
		h.renderClients(w, r, p, pe.HTTPStatus(), f, newFormErr("new-client", pe, h.Now(), clientFields...))
		return
	}
	h.renderStatus(w, r, http.StatusCreated, "admin_client", adminClientPage{
		adminBase: adminBase{User: &p, Section: "clients", Notice: "The app was registered."},
		Row:       row, Form: clientFormOf(row.Client), Secret: secret})
}

func (h *handler) adminClient(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	h.renderClient(w, r, p, http.StatusOK, nil, nil)
}

// renderClient shows one client; form (when not nil) is input to keep.
func (h *handler) renderClient(w http.ResponseWriter, r *http.Request, p signin.Principal, status int, form *clientForm, e *formErr) {
	row, err := h.Admin.GetClient(r.Context(), actorOf(p), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	pg := adminClientPage{adminBase: adminBase{User: &p, Section: "clients", Notice: adminNotice(r)}, Row: row,
		Form: clientFormOf(row.Client), Err: e}
	if form != nil {
		pg.Form = *form
	}
	h.renderStatus(w, r, status, "admin_client", pg)
}

// clientAction runs an action on the client of the path: the client is
// looked up first (out of scope is not found before any code is asked
// for), then act runs through adminSensitive.
func (h *handler) clientAction(w http.ResponseWriter, r *http.Request, p signin.Principal, what string,
	act func(a signin.Principal, row admin.ClientRow) error, onErr func(p signin.Principal, err error)) bool {
	if !h.form(w, r) {
		return false
	}
	row, err := h.Admin.GetClient(r.Context(), actorOf(p), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return false
	}
	handled, err := h.adminSensitive(w, r, p, what+" "+row.Client.Name, "/admin/clients/"+row.Client.ID,
		func(np signin.Principal) error { return act(np, row) })
	if handled {
		return false
	}
	if err != nil {
		onErr(p, err)
		return false
	}
	return true
}

// adminUpdateClient saves the edit form.
func (h *handler) adminUpdateClient(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	var f clientForm
	ok := h.clientAction(w, r, p, "Change the app", func(a signin.Principal, row admin.ClientRow) error {
		p = a
		f = clientFormFrom(r)
		f.Kind = string(row.Client.Kind)
		redirects, post, scopes := lines(f.Redirects), lines(f.PostLogout), scopesFrom(r)
		_, err := h.Admin.UpdateClient(r.Context(), actorOf(a), row.Client.ID, admin.ClientPatch{Name: &f.Name,
			RedirectURIs: &redirects, PostLogoutRedirectURIs: &post, Scopes: &scopes, RequireMFA: &f.RequireMFA, IDTokenAlg: &f.Alg}, h.Client(r))
		return err
	}, func(p signin.Principal, err error) {
		pe := h.public(r, err)
		h.renderClient(w, r, p, pe.HTTPStatus(), &f, newFormErr("client", pe, h.Now(), clientFields...))
	})
	if ok {
		http.Redirect(w, r, "/admin/clients/"+r.PathValue("id")+"?msg=clientsaved", http.StatusSeeOther)
	}
}

// adminRotateClientSecret makes a new secret and shows it this once.
func (h *handler) adminRotateClientSecret(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	var (
		row    admin.ClientRow
		secret string
	)
	ok := h.clientAction(w, r, p, "Make a new secret for", func(a signin.Principal, cur admin.ClientRow) error {
		p = a
		var err error
		row, secret, err = h.Admin.RotateClientSecret(r.Context(), actorOf(a), cur.Client.ID, h.Client(r))
		return err
	}, func(p signin.Principal, err error) {
		h.renderClient(w, r, p, h.public(r, err).HTTPStatus(), nil, newFormErr("secret", h.public(r, err), h.Now()))
	})
	if ok {
		h.render(w, r, "admin_client", adminClientPage{
			adminBase: adminBase{User: &p, Section: "clients", Notice: "A new secret was made. The old one no longer works."},
			Row:       row, Form: clientFormOf(row.Client), Secret: secret})
	}
}

// adminDeleteClient removes a client; its grants and tokens die with it.
func (h *handler) adminDeleteClient(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	var slug string
	ok := h.clientAction(w, r, p, "Delete the app", func(a signin.Principal, row admin.ClientRow) error {
		p, slug = a, row.Org.Slug
		return h.Admin.DeleteClient(r.Context(), actorOf(a), row.Client.ID, h.Client(r))
	}, func(p signin.Principal, err error) {
		h.renderClient(w, r, p, h.public(r, err).HTTPStatus(), nil, newFormErr("delete", h.public(r, err), h.Now()))
	})
	if ok {
		http.Redirect(w, r, "/admin/clients?org="+url.QueryEscape(slug)+"&msg=clientdeleted", http.StatusSeeOther)
	}
}
