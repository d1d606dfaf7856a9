package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// TestEnforcementFromAboveInTheConsole is seed 001 in the console without a
// browser: the reseller enforces MFA on a customer it creates; the
// customer's admin sees the control disabled with what applies, cannot
// weaken it or release the lock, and can still save what the lock does not
// cover.
func TestEnforcementFromAboveInTheConsole(t *testing.T) {
	p := newConsole(t)
	ria := p.browser()
	expect(t, ria.login("reseller", "ria", pw), 200, "/")
	riaSecret := ria.addTOTP()

	home := ria.get("/admin")
	expect(t, home, 200, "/admin", `id="lock-none"`, "Let this organization decide", "Enforce on this organization and everything below it")
	made := ria.post("/admin/orgs", url.Values{"slug": {"customer"}, "name": {"Customer GmbH"}, "parent": {"reseller"},
		"mfa": {"required"}, "lock": {"enforced"}, "methods_inherit": {"yes"}})
	expect(t, made, 200, "/admin/orgs/customer", "The organization was created.",
		"Enforced by Reseller Inc on this organization and everything below it, set by ria (Reseller Inc)")
	p.addRoleUser("customer", "cora", store.RoleAdmin, "")

	cora := p.browser()
	cora.enrollAtSignIn("customer", "cora")
	pg := cora.get("/admin/orgs/customer")
	expect(t, pg, 200, "/admin/orgs/customer", `<select id="mfa" name="mfa" disabled`, `<option value="required" selected`,
		`id="mfa-lock">Enforced by Reseller Inc.</p>`, `id="lock-enforced" name="lock" value="enforced" checked disabled`,
		"only Reseller Inc can loosen them or release the lock")
	lacks(t, pg, `id="lock-none" name="lock" value="none" checked`)

	// A forced submit that weakens or releases is refused; the lock stays.
	for _, f := range []url.Values{
		{"mfa": {"off"}, "methods_inherit": {"yes"}},
		{"lock": {"none"}, "methods_inherit": {"yes"}},
		{"lock": {"descendants"}, "methods_inherit": {"yes"}},
	} {
		expect(t, cora.post("/admin/orgs/customer/policy", f), http.StatusForbidden, "/admin/orgs/customer/policy", "Reseller Inc")
	}
	// What the lock does not cover can be changed with the MFA control
	// left disabled (the browser does not send it).
	saved := cora.post("/admin/orgs/customer/policy", url.Values{"methods_inherit": {"yes"}, "code_ttl": {"60"}})
	expect(t, saved, 200, "/admin/orgs/customer", "The policy was saved.", "1 minute")
	sys, _ := p.app.Admin.System(context.Background())
	v, err := p.app.Admin.Policy(context.Background(), sys, "customer")
	if err != nil || !v.Own.Enforced() || v.Own.Lock.ActorName != "ria" || v.Own.MFA != store.MFARequired || v.Own.OTPCodeTTL != time.Minute {
		t.Fatalf("customer after cora's save: %+v %v", v.Own, err)
	}

	// The reseller, above it, may release it (a weakening: a fresh code).
	p.clock.Advance(30 * time.Second)
	released := ria.post("/admin/orgs/customer/policy", url.Values{"mfa": {"required"}, "lock": {"none"}, "methods_inherit": {"yes"},
		"code_ttl": {"60"}, "reauth_code": {p.code(riaSecret)}})
	expect(t, released, 200, "/admin/orgs/customer", "The policy was saved.")
	pg = cora.get("/admin/orgs/customer")
	lacks(t, pg, `<select id="mfa" name="mfa" disabled`, "Enforced by")
}

// TestAStaleOwnValueBeneathALockDoesNotBlockOtherSettings is the issue's
// second defect: the customer's own "off" lies beneath the reseller's lock
// on its own policy; the select shows what applies, and saving another
// setting works.
func TestAStaleOwnValueBeneathALockDoesNotBlockOtherSettings(t *testing.T) {
	p := newConsole(t)
	ctx := context.Background()
	sys, _ := p.app.Admin.System(ctx)
	if _, err := p.app.Admin.CreateOrg(ctx, sys, admin.NewOrg{Slug: "customer", Name: "Customer GmbH", ParentSlug: "reseller",
		Policy: store.OrgPolicy{MFA: store.MFAOff}}, signin.Client{}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.app.Admin.SetPolicy(ctx, sys, "reseller", store.OrgPolicy{MFA: store.MFARequired, Locked: true,
		Lock: store.Lock{Scope: store.LockDescendants}}, signin.Client{}); err != nil {
		t.Fatal(err)
	}
	p.addRoleUser("customer", "cora", store.RoleAdmin, "")
	cora := p.browser()
	cora.enrollAtSignIn("customer", "cora")
	pg := cora.get("/admin/orgs/customer")
	expect(t, pg, 200, "/admin/orgs/customer", `<select id="mfa" name="mfa" disabled`, `<option value="required" selected`, "Locked by Reseller Inc.")
	lacks(t, pg, `<option value="off" selected`)
	saved := cora.post("/admin/orgs/customer/policy", url.Values{"methods_inherit": {"yes"}, "code_ttl": {"120"}})
	expect(t, saved, 200, "/admin/orgs/customer", "The policy was saved.", "2 minutes")
	// A change of the locked setting itself is still judged.
	lower := cora.post("/admin/orgs/customer/policy", url.Values{"mfa": {"optional"}, "methods_inherit": {"yes"}})
	expect(t, lower, http.StatusForbidden, "/admin/orgs/customer/policy", `id="mfa-error"`, "Reseller Inc requires at least required and has locked it.")
}

// TestMovingAndCreatingWeakOrgsAsksForACurrentCode checks that the console
// sends the moves and creations the admin service calls sensitive through
// the "Confirm with a current code" page, and refuses a move out from
// under an enforced lock.
func TestMovingAndCreatingWeakOrgsAsksForACurrentCode(t *testing.T) {
	p := newConsole(t)
	ctx := context.Background()
	sys, _ := p.app.Admin.System(ctx)
	for _, n := range []admin.NewOrg{
		{Slug: "strict", Name: "Strict", ParentSlug: "reseller", Policy: store.OrgPolicy{MFA: store.MFARequired, Locked: true, Lock: store.Lock{Scope: store.LockDescendants}}},
		{Slug: "team", Name: "Team", ParentSlug: "strict"},
	} {
		if _, err := p.app.Admin.CreateOrg(ctx, sys, n, signin.Client{}); err != nil {
			t.Fatal(err)
		}
	}
	ria := p.browser()
	expect(t, ria.login("reseller", "ria", pw), 200, "/")
	riaSecret := ria.addTOTP()
	p.clock.Advance(20 * time.Minute)

	form := url.Values{"slug": {"loose"}, "name": {"Loose"}, "parent": {"reseller"}, "mfa": {"off"}, "methods_inherit": {"yes"}, "lock": {"none"}}
	ask := ria.post("/admin/orgs", form)
	expect(t, ask, 200, "/admin/orgs", "Confirm with a current code", `value="loose"`)
	form.Set("reauth_code", p.code(riaSecret))
	expect(t, ria.post("/admin/orgs", form), 200, "/admin/orgs/loose", "The organization was created.")

	p.clock.Advance(20 * time.Minute)
	team := ria.get("/admin/orgs/team")
	expect(t, team, 200, "/admin/orgs/team", `id="move-form"`, `<option value="loose"`)
	if regexp.MustCompile(`<option value="team"`).MatchString(team.body) {
		t.Fatal("team is offered as its own new parent")
	}
	move := url.Values{"parent": {"loose"}}
	expect(t, ria.post("/admin/orgs/team/move", move), 200, "/admin/orgs/team/move", "Confirm with a current code", `action="/admin/orgs/team/move"`)
	p.clock.Advance(30 * time.Second)
	move.Set("reauth_code", p.code(riaSecret))
	expect(t, ria.post("/admin/orgs/team/move", move), 200, "/admin/orgs/team", "The organization was moved.", `href="/admin/orgs/loose">Loose</a>`)

	// Enforced from above on team by the reseller: team cannot leave it.
	p.clock.Advance(30 * time.Second)
	expect(t, ria.post("/admin/orgs/team/policy", url.Values{"mfa": {"required"}, "lock": {"enforced"}, "methods_inherit": {"yes"}}),
		200, "/admin/orgs/team", "The policy was saved.")
	p.addRoleUser("platform", "root", store.RoleSuperadmin, "")
	root := p.browser()
	expect(t, root.login("platform", "root", pw), 200, "/")
	root.addTOTP()
	refused := root.post("/admin/orgs/team/move", url.Values{"parent": {"other"}})
	expect(t, refused, http.StatusForbidden, "/admin/orgs/team/move", `id="move-parent-error"`, "Reseller Inc enforces the policy of Team")
}
