package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/notify/smtptest"
	"github.com/twofold-id/twofold/internal/store"
)

var inviteLinkRe = regexp.MustCompile(`(/invitation\?token=[A-Za-z0-9_\-]+)`)

// inviteLink waits for the invitation to addr mailed from index after on
// and returns its link.
func (p *sentPortal) inviteLink(addr string, after int) string {
	p.t.Helper()
	m := p.box.WaitFor(p.t, func(m smtptest.Message) bool {
		return m.Index >= after && len(m.To) == 1 && m.To[0] == addr && strings.HasPrefix(m.Subject, "You are invited")
	}, 5*time.Second)
	g := inviteLinkRe.FindStringSubmatch(m.Body)
	if g == nil {
		p.t.Fatalf("invitation mail without a link:\n%s", m.Body)
	}
	return g[1]
}

var resendRe = regexp.MustCompile(`action="(/admin/invitations/[0-9a-f]+/resend)"`)

// An admin invites one person and a CSV from the console, sees them
// waiting, resends one and withdraws another; the invitee opens the account
// from the mailed link and, the org requiring it, lands in the setup of a
// second factor.
func TestConsoleInvitesAndTheInviteeEnrolls(t *testing.T) {
	p := newSentPortal(t)
	p.addOrg("acme", store.OrgPolicy{MFA: store.MFARequired, EnrollmentGrace: 0})
	p.addRoleUser("acme", "ria", store.RoleAdmin, "")
	b := p.browser()
	b.enrollAtSignIn("acme", "ria")

	expect(t, b.get("/admin/invitations?org=acme"), 200, "/admin/invitations", `id="invite-form"`, `id="no-invitations"`, `aria-current="page">Invitations`)
	n := p.box.Count()
	done := b.post("/admin/invitations", url.Values{"org": {"acme"}, "email": {"nina@example.com"}, "name": {"Nina"}, "role": {"member"}})
	expect(t, done, 200, "/admin/invitations", "The invitation was mailed", "nina@example.com")
	link := p.inviteLink("nina@example.com", n)

	bad := b.post("/admin/invitations", url.Values{"org": {"acme"}, "email": {"nina@example.com"}, "role": {"member"}})
	expect(t, bad, http.StatusConflict, "/admin/invitations", "already waiting", `aria-invalid="true"`)

	csvBad := b.post("/admin/invitations/import", url.Values{"org": {"acme"}, "csv": {"omar@example.com\nnot an address\n"}})
	expect(t, csvBad, http.StatusBadRequest, "/admin/invitations/import", "Line 2:", "nobody was invited")
	dry := b.post("/admin/invitations/import", url.Values{"org": {"acme"}, "csv": {"omar@example.com,Omar\npia@example.com\n"}, "dry_run": {"yes"}})
	expect(t, dry, 200, "/admin/invitations/import", "All 2 lines can be invited")
	lacks(t, dry, "omar@example.com</td>")
	n2 := p.box.Count()
	imp := b.post("/admin/invitations/import", url.Values{"org": {"acme"}, "csv": {"omar@example.com,Omar\npia@example.com\n"}})
	expect(t, imp, 200, "/admin/invitations", "The invitations were mailed", "omar@example.com</td>", "pia@example.com</td>")
	p.inviteLink("pia@example.com", n2)
	first := p.inviteLink("omar@example.com", n2)

	// Resend omar's (the old link stops working), withdraw pia's.
	var omarResend, piaRevoke string
	for _, row := range strings.Split(imp.body, "<tr>") {
		if strings.Contains(row, "omar@example.com") {
			omarResend = resendRe.FindStringSubmatch(row)[1]
		}
		if strings.Contains(row, "pia@example.com") {
			piaRevoke = strings.Replace(resendRe.FindStringSubmatch(row)[1], "/resend", "/revoke", 1)
		}
	}
	n3 := p.box.Count()
	expect(t, b.post(omarResend, url.Values{"org": {"acme"}}), 200, "/admin/invitations", "mailed again")
	p.inviteLink("omar@example.com", n3)
	expect(t, p.browser().get(first), http.StatusBadRequest, "/invitation", "not valid any more")
	gone := b.post(piaRevoke, url.Values{"org": {"acme"}})
	expect(t, gone, 200, "/admin/invitations", "withdrawn")
	lacks(t, gone, "pia@example.com</td>")

	// Nina opens her account and is led to set up a second factor.
	nina := p.browser()
	expect(t, nina.get(link), 200, "/invitation", "<strong>Acme Inc</strong>", "nina@example.com", `id="invite-form"`)
	tok := strings.TrimPrefix(link, "/invitation?token=")
	taken := nina.post("/invitation", url.Values{"token": {tok}, "username": {"ria"}, "new_password": {pw}, "confirm_password": {pw}})
	expect(t, taken, http.StatusConflict, "/invitation", "That username is taken")
	opened := nina.post("/invitation", url.Values{"token": {tok}, "username": {"nina"}, "new_password": {pw}, "confirm_password": {pw}})
	expect(t, opened, 200, "/login/enroll")
	expect(t, p.browser().get(link), http.StatusBadRequest, "/invitation", "not valid any more")
	expect(t, b.get("/admin/invitations?org=acme"), 200, "/admin/invitations", "omar@example.com</td>")
	lacks(t, b.get("/admin/invitations?org=acme"), "nina@example.com</td>")
}

// An admin sees and acts on the invitations of its own subtree only.
func TestConsoleInvitationsStayInScope(t *testing.T) {
	p := newSentPortal(t)
	p.addOrg("reseller", store.OrgPolicy{})
	p.addOrg("other", store.OrgPolicy{})
	p.addRoleUser("reseller", "ria", store.RoleAdmin, "")
	p.addRoleUser("other", "oscar", store.RoleAdmin, "")
	ria := p.browser()
	expect(t, ria.login("reseller", "ria", pw), 200, "/")
	expect(t, ria.post("/admin/invitations", url.Values{"org": {"reseller"}, "email": {"x@example.com"}, "role": {"member"}}), 200, "/admin/invitations")
	page := ria.get("/admin/invitations?org=reseller")
	revoke := strings.Replace(resendRe.FindStringSubmatch(page.body)[1], "/resend", "/revoke", 1)

	oscar := p.browser()
	expect(t, oscar.login("other", "oscar", pw), 200, "/")
	if pg := oscar.get("/admin/invitations?org=reseller"); pg.status != http.StatusNotFound {
		t.Errorf("another org's admin opened reseller's invitations: %d", pg.status)
	}
	if pg := oscar.post(revoke, url.Values{"org": {"other"}}); pg.status != http.StatusNotFound {
		t.Errorf("another org's admin revoked reseller's invitation: %d", pg.status)
	}
	expect(t, ria.get("/admin/invitations?org=reseller"), 200, "/admin/invitations", "x@example.com</td>")
}
