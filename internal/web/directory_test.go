package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/twofold-id/twofold/internal/directory/slapdtest"
)

// The admin console sets a directory (confirming with a code, then typing
// the bind password again, which the confirmation page never carries),
// tests it and removes it; a directory user signs in through the portal
// and is told where to change the password.
func TestAdminConsoleDirectory(t *testing.T) {
	ldapSrv := slapdtest.Start(t, "")
	p := newConsole(t)
	ria := p.browser()
	expect(t, ria.login("reseller", "ria", pw), 200, "/", `id="nav-admin"`)
	secret := ria.addTOTP()
	p.clock.Advance(20 * 60e9) // past the re-authentication window

	expect(t, ria.get("/admin/orgs/reseller"), 200, "/admin/orgs/reseller", `href="/admin/orgs/reseller/directory"`)
	expect(t, ria.get("/admin/orgs/reseller/directory"), 200, "/admin/orgs/reseller/directory", "No directory is set up", `id="directory-form"`)
	expect(t, ria.get("/admin/orgs/other/directory"), http.StatusNotFound, "/admin/orgs/other/directory")

	form := url.Values{"url": {ldapSrv.URL}, "start_tls": {"yes"}, "ca_cert": {ldapSrv.CACert}, "bind_dn": {slapdtest.ServiceDN},
		"bind_password": {slapdtest.ServicePW}, "user_base_dn": {slapdtest.PeopleDN}, "user_filter": {slapdtest.UserFilter},
		"username_attribute": {"uid"}, "email_attribute": {"mail"}, "name_attribute": {"cn"}, "admin_group_dn": {slapdtest.AdminGroupDN}}
	ask := ria.post("/admin/orgs/reseller/directory", form)
	expect(t, ask, 200, "/admin/orgs/reseller/directory", "Confirm with a current code", `id="reauth_code"`)
	lacks(t, ask, slapdtest.ServicePW)
	confirmed := url.Values{"reauth_code": {p.code(secret)}, "bind_secret_typed": {"yes"}}
	for k, v := range form {
		if k != "bind_password" {
			confirmed[k] = v
		}
	}
	again := ria.post("/admin/orgs/reseller/directory", confirmed)
	expect(t, again, http.StatusBadRequest, "/admin/orgs/reseller/directory", "Enter the bind password again", `value="`+slapdtest.ServiceDN+`"`)
	saved := ria.post("/admin/orgs/reseller/directory", form)
	expect(t, saved, 200, "/admin/orgs/reseller/directory", "The directory was saved.", "Leave empty to keep it", `id="directory-test-form"`)
	lacks(t, saved, slapdtest.ServicePW)

	test := ria.post("/admin/orgs/reseller/directory/test", url.Values{"username": {"erin"}})
	expect(t, test, 200, "/admin/orgs/reseller/directory/test", "uid=erin,"+slapdtest.PeopleDN, "erin@example.org")
	nobody := ria.post("/admin/orgs/reseller/directory/test", url.Values{"username": {"*)(uid=*"}})
	expect(t, nobody, 200, "/admin/orgs/reseller/directory/test", "nobody by that name was found")

	dana := p.browser()
	expect(t, dana.login("reseller", "dana", "dana-pw"), 200, "/")
	sec := dana.get("/security")
	expect(t, sec, 200, "/security", `id="directory-password"`)
	lacks(t, sec, `id="password-form"`)
	// The admin sees dana as a directory user, without a password form.
	danaPage := ria.get("/admin/users/" + p.userID("reseller", "dana"))
	expect(t, danaPage, 200, "/admin/users/"+p.userID("reseller", "dana"), `id="directory-user"`)
	lacks(t, danaPage, `id="password-form"`)
	// Local users of the org are unaffected.
	expect(t, p.browser().login("reseller", "mia", pw), 200, "/")

	removed := ria.post("/admin/orgs/reseller/directory/remove", url.Values{})
	expect(t, removed, 200, "/admin/orgs/reseller/directory", "The directory was removed.", "No directory is set up")
	expect(t, p.browser().login("reseller", "dana", "dana-pw"), http.StatusUnauthorized, "/login")
}
