package web_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

func TestAnOrgDashboardCountsItsSubtreeAndDrawsItsSignIns(t *testing.T) {
	p := newConsole(t)
	ctx := context.Background()
	sys, _ := p.app.Admin.System(ctx)
	// A customer below the reseller requires MFA with three days' grace.
	if _, err := p.app.Admin.CreateOrg(ctx, sys, admin.NewOrg{Slug: "customer", Name: "Customer GmbH", ParentSlug: "reseller",
		Policy: store.OrgPolicy{MFA: store.MFARequired, EnrollmentGrace: 72 * time.Hour}}, signin.Client{}); err != nil {
		t.Fatal(err)
	}
	p.addRoleUser("customer", "cleo", store.RoleMember, "")

	ria := p.browser()
	expect(t, ria.login("reseller", "ria", pw), 200, "/")
	ria.addTOTP()
	// cleo signs in once, postponing setup: her grace period starts now.
	cleo := p.browser()
	expect(t, cleo.login("customer", "cleo", pw), 200, "/login/enroll")
	// Someone types mia's password wrong; olga (another org) too.
	expect(t, p.browser().login("reseller", "mia", "wrong password!!"), http.StatusUnauthorized, "/login")
	p.browser().login("other", "olga", "wrong password!!")

	dash := ria.get("/admin/orgs/reseller/dashboard")
	expect(t, dash, 200, "/admin/orgs/reseller/dashboard", `id="activity-chart"`, "<svg", `role="img"`)
	for id, want := range map[string]string{
		"dash-users":       "3",       // ria, mia, cleo
		"dash-enrolled":    "1 (33%)", // ria
		"dash-locked":      "0",
		"dash-method-totp": "1",
		"dash-method-sms":  "0",
	} {
		if got := textOf(t, dash.body, id); got != want {
			t.Errorf("%s = %q, want %q", id, got, want)
		}
	}
	ends := p.clock.Now().UTC().Add(72 * time.Hour).Format("2 Jan 2006")
	if w := textOf(t, dash.body, "dash-waiting"); !strings.Contains(w, "Customer GmbH") || !strings.Contains(w, ends) {
		t.Errorf("waiting table %q lacks the customer and its grace end %s", w, ends)
	}
	// ria's sign-in, and the one failed password in the reseller's subtree
	// (olga's is another org's).
	if got := textOf(t, dash.body, "dash-activity"); !strings.HasPrefix(got, "1 sign-ins, 1 failed") {
		t.Errorf("activity %q, want 1 sign-in and 1 failure", got)
	}
	lacks(t, dash, "Other Inc")

	// Not beside or above the admin's subtree, and not for members.
	expect(t, ria.get("/admin/orgs/other/dashboard"), http.StatusNotFound, "/admin/orgs/other/dashboard")
	mia := p.browser()
	expect(t, mia.login("reseller", "mia", pw), 200, "/")
	if pg := mia.get("/admin/orgs/reseller/dashboard"); pg.status != http.StatusForbidden && pg.status != http.StatusNotFound {
		t.Errorf("a member saw the dashboard: %d", pg.status)
	}
}

// textOf returns the text inside the element with id, tags stripped and
// spaces collapsed.
func textOf(t *testing.T, body, id string) string {
	t.Helper()
	open := regexp.MustCompile(`<(\w+)[^>]*\bid="` + regexp.QuoteMeta(id) + `"`).FindStringSubmatch(body)
	if open == nil {
		t.Fatalf("no element %q", id)
	}
	m := regexp.MustCompile(`(?s)\bid="` + regexp.QuoteMeta(id) + `"[^>]*>(.*?)</` + open[1] + `>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("element %q is not closed", id)
	}
	text := regexp.MustCompile(`<[^>]*>`).ReplaceAllString(m[1], " ")
	return strings.Join(strings.Fields(text), " ")
}
