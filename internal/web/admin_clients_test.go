package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"testing"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

var (
	clientSecretRe = regexp.MustCompile(`<code class="secret" id="client-secret">(tfc_[A-Za-z0-9_-]{43})</code>`)
	clientIDRe     = regexp.MustCompile(`<code id="client-id">([0-9a-f]{32})</code>`)
)

// An admin registers an app in the console (after a current code), copies
// the secret shown once, edits the app, makes a new secret and deletes the
// app; apps outside the admin's subtree are not found, members get 403.
func TestAdminConsoleRegisteredApps(t *testing.T) {
	p := newConsole(t)
	ctx := context.Background()
	sys, err := p.app.Admin.System(ctx)
	if err != nil {
		t.Fatal(err)
	}
	otherApp, _, err := p.app.Admin.CreateClient(ctx, sys, admin.NewClient{OrgSlug: "other", Name: "Other Wiki", Kind: store.ClientWeb,
		RedirectURIs: []string{"https://wiki.other.example/cb"}}, signin.Client{})
	if err != nil {
		t.Fatal(err)
	}

	mia := p.browser()
	expect(t, mia.login("reseller", "mia", pw), 200, "/")
	expect(t, mia.get("/admin/clients"), http.StatusForbidden, "/admin/clients")

	ria := p.browser()
	expect(t, ria.login("reseller", "ria", pw), 200, "/", `id="nav-admin"`)
	secret := ria.addTOTP()
	p.clock.Advance(20 * 60e9) // past the re-authentication window

	list := ria.get("/admin/clients")
	expect(t, list, 200, "/admin/clients", `href="/admin/clients"`, `id="no-clients"`, `id="new-client-form"`)
	lacks(t, list, "Other Wiki")
	expect(t, ria.get("/admin/clients/"+otherApp.Client.ID), http.StatusNotFound, "/admin/clients/"+otherApp.Client.ID)
	expect(t, ria.post("/admin/clients/"+otherApp.Client.ID+"/delete", url.Values{}), http.StatusNotFound,
		"/admin/clients/"+otherApp.Client.ID+"/delete")
	expect(t, ria.get("/admin/clients?org=other"), http.StatusNotFound, "/admin/clients")

	// A wildcard redirect is refused next to its field; the input stays.
	bad := url.Values{"org": {"reseller"}, "kind": {"web"}, "name": {"Time Sheets"}, "redirect_uris": {"https://*.example.com/cb"},
		"scope": {"profile", "email"}}
	ask := ria.post("/admin/clients", bad)
	expect(t, ask, 200, "/admin/clients", "Confirm with a current code")
	bad.Set("reauth_code", p.code(secret))
	refused := ria.post("/admin/clients", bad)
	expect(t, refused, http.StatusBadRequest, "/admin/clients", `id="new-client-redirects-error"`, `value="Time Sheets"`)

	form := url.Values{"org": {"reseller"}, "kind": {"web"}, "name": {"Time Sheets"},
		"redirect_uris": {"https://time.example.com/cb\n\nhttp://127.0.0.1:8080/cb"}, "scope": {"profile", "email", "offline_access"}}
	made := ria.post("/admin/clients", form)
	expect(t, made, http.StatusCreated, "/admin/clients", "The app was registered.", "shown only this once")
	m := clientSecretRe.FindStringSubmatch(made.body)
	idm := clientIDRe.FindStringSubmatch(made.body)
	if m == nil || idm == nil {
		t.Fatalf("no secret or client_id on the page:\n%s", made.body)
	}
	first, id := m[1], idm[1]
	cl, err := p.app.Store.GetClient(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !admin.CheckClientSecret(cl, first) || cl.Kind != store.ClientWeb ||
		!slices.Equal(cl.RedirectURIs, []string{"https://time.example.com/cb", "http://127.0.0.1:8080/cb"}) {
		t.Fatalf("stored client: %+v", cl)
	}
	// The secret is never shown again.
	again := ria.get("/admin/clients/" + id)
	expect(t, again, 200, "/admin/clients/"+id, `id="client-form"`, `id="rotate-secret-form"`, "https://time.example.com/cb")
	lacks(t, again, first, `id="client-secret"`)
	expect(t, ria.get("/admin/clients"), 200, "/admin/clients", `href="/admin/clients/`+id+`"`, "Time Sheets")

	// Edit: new redirect URIs, no offline_access, always a second factor.
	saved := ria.post("/admin/clients/"+id, url.Values{"name": {"Time Sheets 2"}, "redirect_uris": {"https://time2.example.com/cb"},
		"post_logout_redirect_uris": {"https://time2.example.com/"}, "scope": {"profile"}, "require_mfa": {"yes"},
		"id_token_signed_response_alg": {"RS256"}})
	expect(t, saved, 200, "/admin/clients/"+id, "The app was saved.", "Time Sheets 2")
	if cl, err = p.app.Store.GetClient(ctx, id); err != nil {
		t.Fatal(err)
	}
	if !cl.RequireMFA || cl.IDTokenAlg != "RS256" || !slices.Equal(cl.RedirectURIs, []string{"https://time2.example.com/cb"}) ||
		!slices.Equal(cl.Scopes, []string{"openid", "profile"}) || !slices.Equal(cl.PostLogoutRedirectURIs, []string{"https://time2.example.com/"}) {
		t.Fatalf("after the edit: %+v", cl)
	}
	badEdit := ria.post("/admin/clients/"+id, url.Values{"name": {"Time Sheets 2"}, "redirect_uris": {"http://evil.example/cb"}})
	expect(t, badEdit, http.StatusBadRequest, "/admin/clients/"+id, `id="client-redirects-error"`, "http://evil.example/cb")

	// A new secret: shown once, and the old one stops working.
	rotated := ria.post("/admin/clients/"+id+"/secret", url.Values{})
	expect(t, rotated, 200, "/admin/clients/"+id+"/secret", "The old one no longer works.")
	m = clientSecretRe.FindStringSubmatch(rotated.body)
	if m == nil || m[1] == first {
		t.Fatalf("no new secret:\n%s", rotated.body)
	}
	if cl, err = p.app.Store.GetClient(ctx, id); err != nil {
		t.Fatal(err)
	}
	if admin.CheckClientSecret(cl, first) || !admin.CheckClientSecret(cl, m[1]) {
		t.Fatal("after rotation the old secret still works or the new one does not")
	}

	// A public app has no secret to show or rotate.
	spa := ria.post("/admin/clients", url.Values{"org": {"reseller"}, "kind": {"spa"}, "name": {"Dashboard"},
		"redirect_uris": {"https://dash.example.com/cb"}})
	expect(t, spa, http.StatusCreated, "/admin/clients", "Dashboard")
	lacks(t, spa, `id="client-secret"`, `id="rotate-secret-form"`)

	deleted := ria.post("/admin/clients/"+id+"/delete", url.Values{})
	expect(t, deleted, 200, "/admin/clients", "The app was deleted.", "Dashboard")
	lacks(t, deleted, "Time Sheets")
	if _, err := p.app.Store.GetClient(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted client: %v", err)
	}

	// Every change is in the audit log.
	evs, err := p.app.Store.ListAudit(ctx, store.AuditFilter{Event: "client.", Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range evs {
		seen[e.Event] = true
	}
	if len(seen) < 4 {
		t.Errorf("audit events for clients: %v", seen)
	}
}
