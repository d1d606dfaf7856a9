package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

const pw = "correct horse battery"

// newConsole is a portal with a tree for the admin console tests: the
// platform with a reseller ("Reseller Inc": admin ria, member mia) and its
// sibling ("Other Inc": member olga).
func newConsole(t *testing.T) *portal {
	t.Helper()
	p := newPortal(t)
	p.addOrg("reseller", store.OrgPolicy{})
	p.addOrg("other", store.OrgPolicy{})
	p.addRoleUser("reseller", "ria", store.RoleAdmin, "")
	p.addRoleUser("reseller", "mia", store.RoleMember, "")
	p.addRoleUser("other", "olga", store.RoleMember, "olga@example.com")
	return p
}

// addRoleUser creates a user with a role and an optional email.
func (p *portal) addRoleUser(org, username string, role store.Role, email string) store.User {
	p.t.Helper()
	ctx := context.Background()
	sys, err := p.app.Admin.System(ctx)
	if err != nil {
		p.t.Fatal(err)
	}
	u, err := p.app.Admin.CreateUser(ctx, sys, admin.NewUser{OrgSlug: org, Username: username, Email: email, Role: role, Password: pw}, signin.Client{})
	if err != nil {
		p.t.Fatal(err)
	}
	return u
}

func (p *portal) userID(org, username string) string {
	p.t.Helper()
	ctx := context.Background()
	sys, _ := p.app.Admin.System(ctx)
	u, _, err := p.app.Admin.UserByName(ctx, sys, org, username)
	if err != nil {
		p.t.Fatal(err)
	}
	return u.ID
}

// addTOTP gives the signed-in browser's user an authenticator app and
// returns its secret.
func (b *browser) addTOTP() []byte {
	b.p.t.Helper()
	secret, factorID := scan(b.p.t, b.post("/security/totp", nil))
	backupCodes(b.p.t, b.post("/security/totp/confirm", url.Values{"factor_id": {factorID}, "code": {b.p.code(secret)}}))
	return secret
}

// enrollAtSignIn signs in a user whose policy requires MFA, through the
// setup wizard, and returns the new secret.
func (b *browser) enrollAtSignIn(org, user string) []byte {
	b.p.t.Helper()
	expect(b.p.t, b.login(org, user, pw), 200, "/login/enroll")
	secret, factorID := scan(b.p.t, b.post("/login/enroll/totp", nil))
	backupCodes(b.p.t, b.post("/login/enroll/confirm", url.Values{"factor_id": {factorID}, "code": {b.p.code(secret)}}))
	expect(b.p.t, b.post("/continue", url.Values{"saved": {"yes"}, "next": {"/"}}), 200, "/")
	return secret
}

func lacks(t *testing.T, pg page, s ...string) {
	t.Helper()
	for _, x := range s {
		if strings.Contains(pg.body, x) {
			t.Fatalf("%s: page has %q; body:\n%s", pg.path, x, pg.body)
		}
	}
}

var bulkRe = regexp.MustCompile(`<strong>(\d+)</strong> sent, <strong>(\d+)</strong> skipped[^<]*<strong>(\d+)</strong> failed`)

func TestAdminConsoleResellerJourney(t *testing.T) {
	p := newConsole(t)
	ria := p.browser()
	expect(t, ria.login("reseller", "ria", pw), 200, "/", `id="nav-admin"`)
	riaSecret := ria.addTOTP()

	// The tree shows the reseller's subtree only.
	home := ria.get("/admin")
	expect(t, home, 200, "/admin", "Reseller Inc", `href="/admin/orgs/reseller"`, `id="create-org-form"`)
	lacks(t, home, "Other Inc", `value="other"`, "Platform")
	expect(t, ria.get("/admin/orgs/other"), http.StatusNotFound, "/admin/orgs/other")
	expect(t, ria.get("/admin/users/"+p.userID("other", "olga")), http.StatusNotFound, "/admin/users/"+p.userID("other", "olga"))
	expect(t, ria.get("/admin/users?org=other"), http.StatusNotFound, "/admin/users")
	users := ria.get("/admin/users")
	expect(t, users, 200, "/admin/users", ">ria<", ">mia<")
	lacks(t, users, "olga", "Other Inc")

	// The reseller requires and locks MFA for its subtree, then creates a
	// customer whose policy is given at creation (S2).
	// Her own org now requires a second factor, which her password-only
	// session never checked: the next page leads her to the second step.
	saved := ria.post("/admin/orgs/reseller/policy", url.Values{"mfa": {"required"}, "lock": {"descendants"}, "methods_inherit": {"yes"}})
	expect(t, saved, 200, "/login/verify")
	p.clock.Advance(30 * time.Second)
	expect(t, ria.post("/login/verify", url.Values{"method": {"totp"}, "code": {p.code(riaSecret)}}), 200, "/")
	expect(t, ria.get("/admin/orgs/reseller"), 200, "/admin/orgs/reseller", "Required")
	bad := ria.post("/admin/orgs", url.Values{"slug": {"Bad Slug"}, "name": {"Customer GmbH"}, "parent": {"reseller"}, "mfa": {"required"}, "methods_inherit": {"yes"}})
	expect(t, bad, http.StatusBadRequest, "/admin/orgs", `id="slug-error"`, `value="Customer GmbH"`)
	made := ria.post("/admin/orgs", url.Values{"slug": {"customer"}, "name": {"Customer GmbH"}, "parent": {"reseller"},
		"mfa": {"required"}, "lock": {"enforced"}, "methods_inherit": {"yes"}})
	expect(t, made, 200, "/admin/orgs/customer", "The organization was created.", "Customer GmbH")
	sys, _ := p.app.Admin.System(context.Background())
	v, err := p.app.Admin.Policy(context.Background(), sys, "customer")
	if err != nil || v.Own.MFA != store.MFARequired || !v.Own.Enforced() || v.Enforcer == nil || v.Enforcer.Slug != "reseller" || v.Own.Lock.ActorName != "ria" {
		t.Fatalf("customer policy %+v, %v", v.Own, err)
	}
	expect(t, ria.get("/admin"), 200, "/admin", `href="/admin/orgs/customer"`, "MFA Required", "locked for sub-organizations", "enforced from above")

	// Users for the customer, created in the console. Creating an admin
	// hands over access: the console asks for a current code first, as the
	// API does, and carries the form (never the password) through.
	coraForm := url.Values{"org": {"customer"}, "username": {"cora"}, "role": {"admin"}, "new_password": {pw}}
	p.clock.Advance(16 * time.Minute) // the code ria set up her app with is no longer fresh
	askCora := ria.post("/admin/users", coraForm)
	expect(t, askCora, 200, "/admin/users", "Confirm with a current code", `id="reauth_code"`, `value="cora"`)
	lacks(t, askCora, pw)
	p.clock.Advance(30 * time.Second)
	coraForm.Set("reauth_code", p.code(riaSecret))
	newUser := ria.post("/admin/users", coraForm)
	expect(t, newUser, 200, "/admin/users/"+p.userID("customer", "cora"), "The user was created.")
	for _, f := range []url.Values{
		{"org": {"customer"}, "username": {"dan"}, "email": {"dan@example.com"}, "role": {"member"}, "new_password": {pw}},
		{"org": {"customer"}, "username": {"erin"}, "email": {"erin@example.com"}, "role": {"member"}},
	} {
		pg := ria.post("/admin/users", f)
		expect(t, pg, 200, "/admin/users/"+p.userID("customer", f.Get("username")), "The user was created.")
	}
	dup := ria.post("/admin/users", url.Values{"org": {"customer"}, "username": {"erin"}, "role": {"member"}})
	expect(t, dup, http.StatusConflict, "/admin/users", `id="username-error"`, `value="erin"`)
	tooHigh := ria.post("/admin/users", url.Values{"org": {"customer"}, "username": {"sam"}, "role": {"superadmin"}})
	expect(t, tooHigh, http.StatusForbidden, "/admin/users", admin.ErrRoleTooHigh.Message)
	expect(t, ria.get("/admin/users/new"), 200, "/admin/users/new", `<option value="admin"`)
	lacks(t, ria.get("/admin/users/new"), `<option value="superadmin"`)

	// Filters: the customer's users all lack a factor that policy requires.
	missing := ria.get("/admin/users?org=customer&status=required_missing")
	expect(t, missing, 200, "/admin/users", ">cora<", ">dan<", ">erin<", "Required but missing", "not confirmed")
	lacks(t, missing, ">ria<")
	expect(t, ria.get("/admin/users?q=dan"), 200, "/admin/users", ">dan<")
	lacks(t, ria.get("/admin/users?q=dan"), ">erin<")

	// Bulk resend: the mails sent at creation are too recent, then go out.
	bulk := ria.post("/admin/users/resend-confirmations", url.Values{"org": {"customer"}})
	expect(t, bulk, 200, "/admin/users", `id="bulk-result"`)
	if m := bulkRe.FindStringSubmatch(bulk.body); m == nil || m[1] != "0" || m[2] != "2" || m[3] != "0" {
		t.Fatalf("first bulk resend: %v", m)
	}
	p.clock.Advance(2 * time.Minute)
	bulk = ria.post("/admin/users/resend-confirmations", url.Values{"org": {"customer"}})
	if m := bulkRe.FindStringSubmatch(bulk.body); m == nil || m[1] != "2" || m[2] != "0" || m[3] != "0" {
		t.Fatalf("second bulk resend: %v\n%s", m, bulk.body)
	}

	// The customer's admin sees the MFA control locked by the reseller.
	cora := p.browser()
	cora.enrollAtSignIn("customer", "cora")
	orgPg := cora.get("/admin/orgs/customer")
	expect(t, orgPg, 200, "/admin/orgs/customer", "Enforced by Reseller Inc", `id="policy-form"`)
	if !regexp.MustCompile(`<select id="mfa" name="mfa" disabled`).MatchString(orgPg.body) {
		t.Fatalf("the MFA control is not disabled:\n%s", orgPg.body)
	}
	lacks(t, orgPg, `href="/admin/orgs/reseller"`)
	lacks(t, cora.get("/admin"), `href="/admin/orgs/reseller"`, "Other Inc")
	expect(t, cora.get("/admin/orgs/reseller"), http.StatusNotFound, "/admin/orgs/reseller")
	lower := cora.post("/admin/orgs/customer/policy", url.Values{"mfa": {"optional"}, "methods_inherit": {"yes"}})
	expect(t, lower, http.StatusForbidden, "/admin/orgs/customer/policy", `id="mfa-error"`, "Reseller Inc requires at least required and has locked it.")

	// The reseller resets a customer user's MFA after confirming with a
	// current code, and the user's factors are gone.
	dan := p.browser()
	dan.enrollAtSignIn("customer", "dan")
	danID := p.userID("customer", "dan")
	if ov, _ := p.app.Admin.Factors(context.Background(), sys, danID); !ov.Enrolled {
		t.Fatal("dan has no factor to reset")
	}
	expect(t, ria.get("/admin/users/"+danID), 200, "/admin/users/"+danID, "Enrolled", `id="reset-mfa"`)
	p.clock.Advance(20 * time.Minute)
	ask := ria.post("/admin/users/"+danID+"/reset-mfa", nil)
	expect(t, ask, 200, "/admin/users/"+danID+"/reset-mfa", "Confirm with a current code", `id="reauth_code"`, `action="/admin/users/`+danID+`/reset-mfa"`)
	wrong := ria.post("/admin/users/"+danID+"/reset-mfa", url.Values{"reauth_code": {"000000"}})
	expect(t, wrong, http.StatusUnauthorized, "/admin/users/"+danID+"/reset-mfa", signin.ErrInvalidCode.Message, `id="reauth_code-error"`)
	done := ria.post("/admin/users/"+danID+"/reset-mfa", url.Values{"reauth_code": {p.code(riaSecret)}})
	expect(t, done, 200, "/admin/users/"+danID, "Two-step sign-in was reset", "Required but missing")
	ov, err := p.app.Admin.Factors(context.Background(), sys, danID)
	if err != nil || len(ov.Factors) != 0 || ov.BackupCodesLeft != 0 {
		t.Fatalf("after reset: %d factors, %d backup codes, %v", len(ov.Factors), ov.BackupCodesLeft, err)
	}
	expect(t, dan.get("/"), 200, "/login")
	// The new session cookie works, and stays fresh for the next action.
	expect(t, ria.post("/admin/users/"+danID+"/role", url.Values{"role": {"admin"}}), 200, "/admin/users/"+danID, "The role was changed.")

	// Require MFA for a user, and stop requiring it (sensitive: fresh
	// already, so no question).
	erinID := p.userID("customer", "erin")
	expect(t, ria.post("/admin/users/"+erinID+"/mfa-required", url.Values{"required": {"yes"}}), 200, "/admin/users/"+erinID, "now required for this user")
	expect(t, ria.post("/admin/users/"+erinID+"/mfa-required", url.Values{"required": {"no"}}), 200, "/admin/users/"+erinID, "no longer required")
	expect(t, ria.post("/admin/users/"+erinID+"/disabled", url.Values{"disabled": {"yes"}}), 200, "/admin/users/"+erinID, "The user was disabled")
	short := ria.post("/admin/users/"+erinID+"/password", url.Values{"new_password": {"short"}, "new_password_again": {"short"}})
	expect(t, short, http.StatusBadRequest, "/admin/users/"+erinID+"/password", `id="new_password-error"`)
	if strings.Contains(short.body, `value="short"`) {
		t.Fatal("the password came back in the page")
	}

	// The audit page lists the events of the subtree; the export is JSON Lines.
	audit := ria.get("/admin/audit")
	expect(t, audit, 200, "/admin/audit", "<code>mfa.reset</code>", "<code>org.create</code>", "dan (customer)", `href="/admin/audit/export"`)
	mfaOnly := ria.get("/admin/audit?event=mfa&org=customer")
	expect(t, mfaOnly, 200, "/admin/audit", "<code>mfa.reset</code>", `href="/admin/audit/export?event=mfa&amp;org=customer"`)
	lacks(t, mfaOnly, "<code>org.create</code>")
	expect(t, ria.get("/admin/audit?since=yesterday"), http.StatusBadRequest, "/admin/audit", `id="since-error"`)
	expect(t, ria.get("/admin/audit?org=other"), http.StatusNotFound, "/admin/audit")
	exp := ria.get("/admin/audit/export")
	if exp.status != 200 || !strings.HasPrefix(exp.header.Get("Content-Type"), "application/jsonl") ||
		!strings.Contains(exp.header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: %d %v", exp.status, exp.header)
	}
	otherOrg, _ := p.app.Admin.Org(context.Background(), sys, "other")
	sc := bufio.NewScanner(strings.NewReader(exp.body))
	var n int
	var sawReset bool
	for sc.Scan() {
		var e struct {
			Event string `json:"event"`
			OrgID string `json:"org_id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %d is not JSON: %q", n+1, sc.Text())
		}
		if e.OrgID == otherOrg.ID {
			t.Fatalf("export has an event of a sibling org: %s", sc.Text())
		}
		sawReset = sawReset || e.Event == "mfa.reset"
		n++
	}
	if n == 0 || !sawReset {
		t.Fatalf("export: %d lines, mfa.reset seen %v", n, sawReset)
	}
}

func TestAdminConsoleIsForAdminsOnly(t *testing.T) {
	p := newConsole(t)
	mia := p.browser()
	home := mia.login("reseller", "mia", pw)
	expect(t, home, 200, "/")
	lacks(t, home, `id="nav-admin"`)
	for _, path := range []string{"/admin", "/admin/users", "/admin/orgs/reseller", "/admin/audit", "/admin/audit/export", "/admin/users/" + p.userID("reseller", "ria")} {
		pg := mia.get(path)
		if pg.status != http.StatusForbidden && pg.status != http.StatusNotFound {
			t.Fatalf("member at %s: status %d", path, pg.status)
		}
		lacks(t, pg, ">ria<")
	}
	pg := mia.post("/admin/users/"+p.userID("reseller", "ria")+"/reset-mfa", nil)
	if pg.status != http.StatusForbidden {
		t.Fatalf("member reset: status %d", pg.status)
	}
	// Signed out, the console sends the browser to sign in.
	expect(t, p.browser().get("/admin"), 200, "/login")
}

func TestAdminCannotActOnAHigherRole(t *testing.T) {
	p := newConsole(t)
	p.addRoleUser("reseller", "root2", store.RoleSuperadmin, "")
	ria := p.browser()
	expect(t, ria.login("reseller", "ria", pw), 200, "/")
	id := p.userID("reseller", "root2")
	expect(t, ria.get("/admin/users/"+id), 200, "/admin/users/"+id, `id="not-manageable"`)
	lacks(t, ria.get("/admin/users/"+id), `id="reset-mfa"`)
	expect(t, ria.post("/admin/users/"+id+"/unlock", nil), http.StatusForbidden, "/admin/users/"+id+"/unlock")
	// Its own account: no admin actions on itself.
	self := "/admin/users/" + p.userID("reseller", "ria")
	expect(t, ria.get(self), 200, self, "This is your own account")
}

func TestAMemberGetsNoAuditLog(t *testing.T) {
	p := newPortal(t)
	p.addOrg("reseller", store.OrgPolicy{})
	p.addRoleUser("reseller", "mia", store.RoleMember, "")
	mia := p.browser()
	expect(t, mia.login("reseller", "mia", pw), 200, "/")
	if r := mia.get("/admin/audit"); r.status != http.StatusForbidden {
		t.Fatalf("a member opened the audit log: %d", r.status)
	}
}

func TestPolicyEditorShowsWhatAncestorsLock(t *testing.T) {
	p := newConsole(t)
	ctx := context.Background()
	sys, _ := p.app.Admin.System(ctx)
	if _, err := p.app.Admin.SetPolicy(ctx, sys, "reseller", store.OrgPolicy{MFA: store.MFAOptional, Locked: true, AllowedMethods: []string{"totp", "email"},
		Lock: store.Lock{Scope: store.LockDescendants}}, signin.Client{}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.app.Admin.CreateOrg(ctx, sys, admin.NewOrg{Slug: "customer", Name: "Customer GmbH", ParentSlug: "reseller"}, signin.Client{}); err != nil {
		t.Fatal(err)
	}
	ria := p.browser()
	expect(t, ria.login("reseller", "ria", pw), 200, "/")
	riaSecret := ria.addTOTP() // a longer grace period weakens: it takes a fresh code

	// A lock on the org itself binds only the orgs below it.
	own := ria.get("/admin/orgs/reseller")
	expect(t, own, 200, "/admin/orgs/reseller", `<select id="mfa" name="mfa"`)
	lacks(t, own, "Locked by", `<select id="mfa" name="mfa" disabled`)

	// Below it, "off" and SMS cannot be chosen; optional and required can.
	pg := ria.get("/admin/orgs/customer")
	expect(t, pg, 200, "/admin/orgs/customer", "Locked by Reseller Inc: at least Optional.", `<option value="off" disabled>`,
		`value="sms" disabled`, "Locked by Reseller Inc: only the methods it allows")
	lacks(t, pg, `<select id="mfa" name="mfa" disabled`, `value="totp" disabled`, `<option value="required" disabled>`)
	p.clock.Advance(30 * time.Second)
	stricter := ria.post("/admin/orgs/customer/policy", url.Values{"mfa": {"required"}, "method": {"totp"}, "grace_hours": {"72"}, "code_ttl": {"120"},
		"reauth_code": {p.code(riaSecret)}})
	expect(t, stricter, 200, "/admin/orgs/customer", "The policy was saved.", "3 days", "2 minutes", `value="72"`, `value="120"`)
	sms := ria.post("/admin/orgs/customer/policy", url.Values{"mfa": {"required"}, "method": {"totp", "sms"}})
	expect(t, sms, http.StatusForbidden, "/admin/orgs/customer/policy", `id="methods-error"`, "does not allow sms")
	ttl := ria.post("/admin/orgs/customer/policy", url.Values{"mfa": {"required"}, "methods_inherit": {"yes"}, "code_ttl": {"5"}})
	expect(t, ttl, http.StatusBadRequest, "/admin/orgs/customer/policy", `id="code_ttl-error"`, `value="5"`)
}
