package browsertest

// Seed 001 ("Enforce MFA") as its reader does it, in the portal: a reseller
// administrator enforces MFA on a customer company — when creating it, and
// later on an existing one — and the company's admin finds the setting
// greyed out, cannot turn it off through the page or the API, can still
// change what is not enforced, and the company's users are led through
// setup at their next sign-in. On SQLite and on PostgreSQL.

import (
	"bytes"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/secretbox"
	"github.com/twofold-id/twofold/internal/store/postgres/pgtest"
)

// onEachStore runs test with a portal on SQLite and one on PostgreSQL
// (skipped without TWOFOLD_TEST_POSTGRES_DSN, unless
// TWOFOLD_REQUIRE_POSTGRES=1).
func onEachStore(t *testing.T, test func(t *testing.T, p *portal)) {
	t.Run("sqlite", func(t *testing.T) { test(t, newPortal(t)) })
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.NewDatabase(t)
		test(t, newPortalWith(t, func(c *config.Config) {
			c.DatabaseURL, c.KeyFile = dsn, filepath.Join(c.DataDir, "secret.key")
			if _, err := secretbox.LoadOrCreate(c.KeyFile); err != nil {
				t.Fatal(err)
			}
		}))
	})
}

// resellerWithAdmin is the seed's starting point: Reseller One (which
// requires MFA of its own staff) with its administrator rita, and an
// existing customer company Beta Ltd with its admin bob and user ben.
func resellerWithAdmin(p *portal) {
	p.cli("", "org", "create", "--slug", "reseller", "--name", "Reseller One", "--mfa", "required")
	p.cli(pw+"\n", "user", "create", "--org", "reseller", "--username", "rita", "--role", "admin", "--password-stdin")
	p.cli("", "org", "create", "--slug", "beta", "--name", "Beta Ltd", "--parent", "reseller", "--mfa", "optional")
	p.cli(pw+"\n", "user", "create", "--org", "beta", "--username", "bob", "--role", "admin", "--password-stdin")
	p.addUser("beta", "ben", pw)
}

// wantEnforced checks the policy page of the signed-in customer admin: the
// MFA control is disabled, shows "Required", names the reseller, and the
// lock choices cannot be changed.
func (b *tab) wantEnforced(slug string) {
	b.t.Helper()
	b.click("nav-admin")
	b.link("/admin/orgs/" + slug)
	b.checkAccessibility("policy enforced from above")
	if !eval[bool](b, `document.getElementById("mfa").disabled`) {
		b.t.Error("the two-step sign-in control is not disabled")
	}
	if got := eval[string](b, `document.getElementById("mfa").value`); got != "required" {
		b.t.Errorf("the disabled control shows %q, want what applies (required)", got)
	}
	if got := b.text("mfa-lock"); got != "Enforced by Reseller One." {
		b.t.Errorf("lock note %q", got)
	}
	if !eval[bool](b, `[...document.querySelectorAll('input[name="lock"]')].every(r => r.disabled)`) ||
		!eval[bool](b, `document.getElementById("lock-enforced").checked`) {
		b.t.Error("the lock choices are not disabled on the enforced choice")
	}
	if got := b.text("lock-current"); !strings.Contains(got, "set by rita (Reseller One)") || !strings.Contains(got, "only Reseller One can loosen") {
		b.t.Errorf("lock record %q", got)
	}
}

// forceMFAOff re-enables the disabled control in the page, chooses Off and
// saves, as a determined admin could; the server must refuse.
func (b *tab) forceMFAOff() {
	b.t.Helper()
	eval[bool](b, `(() => { const s = document.getElementById("mfa"); s.disabled = false;
		for (const o of s.options) o.disabled = false; s.value = "off"; return true; })()`)
	if status := b.click("save-policy"); status != http.StatusForbidden {
		b.t.Errorf("a forced submit of Off: status %d, want 403", status)
	}
	if got := b.text("mfa-error"); !strings.Contains(got, "Reseller One requires at least required") {
		b.t.Errorf("forced submit error %q", got)
	}
}

// apiSession signs a user in over the API with password and a code from
// the secret, and returns the session token.
func (p *portal) apiSession(org, user, secret string) string {
	p.t.Helper()
	login := p.apiCall("POST", "/api/v1/auth/login", "", map[string]any{"org": org, "username": user, "password": pw})
	p.nextStep()
	v := p.apiCall("POST", "/api/v1/auth/verify", "", map[string]any{"flow_token": login.body["flow_token"], "method": "totp",
		"code": p.totpCode(secret)})
	tok, _ := v.body["session_token"].(string)
	if tok == "" {
		p.t.Fatalf("API sign-in of %s/%s: %d %v", org, user, v.status, v.body)
	}
	return tok
}

type apiAnswer struct {
	status int
	body   map[string]any
}

func (p *portal) apiCall(method, path, token string, body any) apiAnswer {
	p.t.Helper()
	j, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, p.srv.URL+path, bytes.NewReader(j))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := p.srv.Client().Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	var out apiAnswer
	out.status = res.StatusCode
	json.NewDecoder(res.Body).Decode(&out.body)
	return out
}

func errorCode(a apiAnswer) string {
	e, _ := a.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func TestSeed001AResellerCreatesACompanyWithMFAEnforced(t *testing.T) {
	onEachStore(t, func(t *testing.T, p *portal) {
		resellerWithAdmin(p)
		b := p.newTab()

		// "Edit the company … when you create the company for the first
		// time, this option is also available."
		b.open("/login")
		b.enroll("reseller", "rita", pw)
		b.click("nav-admin")
		b.fill("name", "Acme Corp")
		b.fill("slug", "acme")
		b.do(chromedp.SetValue(chromedp.ID("mfa"), "required"), chromedp.Click(chromedp.ID("lock-enforced")))
		b.checkAccessibility("create an organization with enforcement")
		b.click("create-org")
		b.wantPage("/admin/orgs/acme?msg=orgcreated", "Acme Corp acme")
		if got := b.text("lock-current"); !strings.HasPrefix(got, "Enforced by Reseller One on this organization and everything below it, set by rita") {
			t.Errorf("the new company's lock: %q", got)
		}
		// Its admin, created by the reseller; a user, by the operator.
		b.open("/admin/users/new")
		b.do(chromedp.SetValue(chromedp.ID("org"), "acme"), chromedp.SetValue(chromedp.ID("role"), "admin"))
		b.fill("username", "carl")
		b.fill("new_password", pw)
		b.click("create-user")
		if !strings.Contains(b.path(), "msg=usercreated") {
			t.Fatalf("creating carl led to %s (h1 %q)", b.path(), b.h1())
		}
		p.addUser("acme", "cid", pw)
		b.signOutFrom("nav-signout")

		// "When the next time the company admin logs in, they will be
		// greeted with" the setup wizard.
		p.nextStep()
		carl := b.enroll("acme", "carl", pw)
		// "As a company administrator, you cannot turn off MFA. (It's
		// grayed out.)"
		b.wantEnforced("acme")
		b.forceMFAOff()
		// Nor through the API.
		tok := p.apiSession("acme", "carl", carl.secret)
		if r := p.apiCall("PUT", "/api/v1/orgs/acme/policy", tok, map[string]any{"mfa": "off", "locked": true}); r.status != http.StatusForbidden || errorCode(r) != "policy_locked" {
			t.Errorf("API: carl turns MFA off: %d %v", r.status, r.body)
		}
		if r := p.apiCall("PUT", "/api/v1/orgs/acme/policy", tok, map[string]any{"mfa": "required", "locked": false}); r.status != http.StatusForbidden || errorCode(r) != "policy_locked" {
			t.Errorf("API: carl drops the lock: %d %v", r.status, r.body)
		}
		// What the reseller did not enforce stays his to change.
		b.open("/admin/orgs/acme")
		b.fill("code_ttl", "120")
		b.click("save-policy")
		b.wantPage("/admin/orgs/acme?msg=policy", "Acme Corp acme")
		if got := eval[string](b, `document.querySelector("#policy-table tbody tr:nth-child(4) td:nth-child(4)").textContent.trim()`); got != "2 minutes" {
			t.Errorf("code lifetime after carl's save: %q", got)
		}
		if !eval[bool](b, `document.getElementById("mfa").disabled && document.getElementById("mfa").value === "required"`) {
			t.Error("after carl's save the enforced control is no longer disabled on Required")
		}
		b.signOutFrom("nav-signout")

		// The company's users are led through setup at their next sign-in.
		p.nextStep()
		b.enroll("acme", "cid", pw)
	})
}

func TestSeed001AResellerEnforcesMFAOnAnExistingCompany(t *testing.T) {
	onEachStore(t, func(t *testing.T, p *portal) {
		resellerWithAdmin(p)
		b := p.newTab()

		// Before: Beta's admin signs in without a second step and may
		// choose freely.
		b.signIn("beta", "bob", pw)
		b.wantPage("/", "You are signed in")
		b.click("nav-admin")
		b.link("/admin/orgs/beta")
		if eval[bool](b, `document.getElementById("mfa").disabled`) {
			t.Fatal("the control is disabled before anything is enforced")
		}
		b.signOutFrom("nav-signout")

		// "Edit the company where you'd like to change the MFA policy …
		// click the toggle at Enforce MFA … Click Finish."
		p.nextStep()
		b.enroll("reseller", "rita", pw)
		b.click("nav-admin")
		b.link("/admin/orgs/beta")
		b.do(chromedp.SetValue(chromedp.ID("mfa"), "required"), chromedp.Click(chromedp.ID("lock-enforced")))
		b.click("save-policy")
		b.wantPage("/admin/orgs/beta?msg=policy", "Beta Ltd beta")
		b.signOutFrom("nav-signout")

		// Beta's admin and user are led through setup at the next sign-in.
		p.nextStep()
		bob := b.enroll("beta", "bob", pw)
		b.wantEnforced("beta")
		b.forceMFAOff()
		tok := p.apiSession("beta", "bob", bob.secret)
		if r := p.apiCall("PUT", "/api/v1/orgs/beta/policy", tok, map[string]any{"mfa": "optional", "locked": true}); r.status != http.StatusForbidden || errorCode(r) != "policy_locked" {
			t.Errorf("API: bob lowers MFA: %d %v", r.status, r.body)
		}
		b.signOutFrom("nav-signout")
		p.nextStep()
		b.enroll("beta", "ben", pw)
	})
}
