package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/twofold-id/twofold/internal/store"
)

func TestAdminsChangeEmailsAndDeleteUsersAndEmptyOrgsInTheConsole(t *testing.T) {
	p := newConsole(t)
	p.addOrg("empty", store.OrgPolicy{}) // the platform's, not the reseller's
	ctx := context.Background()
	sys, _ := p.app.Admin.System(ctx)
	ria := p.browser()
	expect(t, ria.login("reseller", "ria", pw), 200, "/")
	mia := p.userID("reseller", "mia")

	// Email: a bad address is refused on its field; a good one is stored
	// unconfirmed.
	expect(t, ria.post("/admin/users/"+mia+"/email", url.Values{"email": {"not an address"}}), http.StatusBadRequest, "/admin/users/"+mia+"/email", `id="user-email-error"`)
	expect(t, ria.post("/admin/users/"+mia+"/email", url.Values{"email": {"mia@example.com"}}), 200, "/admin/users/"+mia, "The email address was changed")
	if u, _, err := p.app.Admin.User(ctx, sys, mia); err != nil || u.Email != "mia@example.com" || u.EmailConfirmedAt != nil {
		t.Fatalf("mia after the change: %+v (%v)", u, err)
	}

	// Deleting needs the username typed; then mia is gone.
	expect(t, ria.post("/admin/users/"+mia+"/delete", url.Values{"confirm_username": {"Mia"}}), http.StatusBadRequest, "/admin/users/"+mia+"/delete", "Type the username exactly")
	expect(t, ria.post("/admin/users/"+mia+"/delete", url.Values{"confirm_username": {"mia"}}), 200, "/admin/users", "The user was deleted")
	if _, _, err := p.app.Admin.User(ctx, sys, mia); err == nil {
		t.Fatal("mia still exists")
	}
	// Not a user of another org.
	olga := p.userID("other", "olga")
	expect(t, ria.post("/admin/users/"+olga+"/delete", url.Values{"confirm_username": {"olga"}}), http.StatusNotFound, "/admin/users/"+olga+"/delete")

	// Orgs: one with users stays; an empty one below goes; one outside the
	// subtree is not found.
	made := ria.post("/admin/orgs", url.Values{"slug": {"spare"}, "name": {"Spare Ltd"}, "parent": {"reseller"}, "methods_inherit": {"yes"}})
	expect(t, made, 200, "/admin/orgs/spare", `id="delete-org-form"`)
	expect(t, ria.post("/admin/orgs/spare/delete", nil), 200, "/admin", "The organization was deleted")
	expect(t, ria.get("/admin/orgs/spare"), http.StatusNotFound, "/admin/orgs/spare")
	expect(t, ria.post("/admin/orgs/empty/delete", nil), http.StatusNotFound, "/admin/orgs/empty/delete")
	p.addRoleUser("reseller", "keeper", store.RoleMember, "")
	own := ria.get("/admin/orgs/reseller")
	lacks(t, own, `id="delete-org-form"`) // her own org is not hers to delete
	if pg := ria.post("/admin/orgs/reseller/delete", nil); pg.status == http.StatusOK {
		t.Fatalf("ria deleted her own org: %d", pg.status)
	}
}
