package browsertest

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// link clicks the link to href and waits for its page.
func (b *tab) link(href string) {
	b.t.Helper()
	b.load(chromedp.Click(`//a[@href="` + href + `"]`))
}

func TestResellerLocksRequiredAndTheCustomerAdminSeesTheControlDisabled(t *testing.T) {
	p := newPortal(t)
	p.addOrg("reseller", "Reseller Ltd", "optional")
	p.cli("", "org", "create", "--slug", "customer", "--name", "Customer GmbH", "--parent", "reseller")
	p.cli(pw+"\n", "user", "create", "--org", "reseller", "--username", "rita", "--role", "admin", "--password-stdin")
	p.cli(pw+"\n", "user", "create", "--org", "customer", "--username", "carl", "--role", "admin", "--password-stdin")
	b := p.newTab()

	// The reseller admin sets "required" and locks it for everything below.
	b.open("/login")
	b.signIn("reseller", "rita", pw)
	b.wantPage("/", "You are signed in")
	b.click("nav-admin")
	b.checkAccessibility("admin home")
	b.link("/admin/orgs/reseller")
	if b.path() != "/admin/orgs/reseller" {
		t.Fatalf("the reseller's org link led to %s", b.path())
	}
	b.checkAccessibility("admin org")
	b.do(chromedp.SetValue(chromedp.ID("mfa"), "required"), chromedp.Click(chromedp.ID("lock-descendants")))
	b.click("save-policy")
	// Required now applies to rita herself (her own org), and her session
	// was password-only: the saved policy leads her straight into setup.
	b.wantPage("/login/enroll", "Set up two-step sign-in")
	if out := p.cli("", "org", "list"); !strings.Contains(out, "required") {
		t.Fatalf("the reseller's policy was not saved:\n%s", out)
	}
	b.open("/login")

	// The customer admin is now led into setup, and then finds the MFA
	// control of its own org disabled, naming the reseller.
	b.enroll("customer", "carl", pw)
	b.click("nav-admin")
	b.link("/admin/orgs/customer")
	if b.path() != "/admin/orgs/customer" {
		t.Fatalf("the customer's org link led to %s", b.path())
	}
	if !eval[bool](b, `document.getElementById("mfa").disabled`) {
		t.Error("the MFA control of the customer org is not disabled")
	}
	if got := b.text("mfa-lock"); !strings.Contains(got, "Reseller Ltd") {
		t.Errorf("lock note %q does not name the reseller", got)
	}
	if got := eval[string](b, `document.getElementById("mfa").getAttribute("aria-describedby") || ""`); !strings.Contains(got, "mfa-lock") {
		t.Errorf("the disabled control is not described by the lock note (aria-describedby=%q)", got)
	}
}

func TestAnAdminResetsAUserWhoIsLedThroughSetupAgain(t *testing.T) {
	p := newPortal(t)
	p.addOrg("acme", "Acme Inc", "required")
	p.cli(pw+"\n", "user", "create", "--org", "acme", "--username", "ada", "--role", "admin", "--password-stdin")
	p.addUser("acme", "uma", pw)
	b := p.newTab()

	b.open("/login")
	old := b.enroll("acme", "uma", pw)
	b.signOut()
	admin := b.enroll("acme", "ada", pw)

	// Long enough after ada's last code that resetting asks for a fresh one.
	p.clock.Advance(20 * time.Minute)
	b.click("nav-admin")
	b.link("/admin/users")
	b.checkAccessibility("admin users")
	b.load(chromedp.Click(`//table[@id="users"]//a[normalize-space()="uma"]`))
	b.checkAccessibility("admin user")
	if got := b.text("user-mfa"); got == "" {
		t.Fatal("the user page shows no MFA status")
	}
	b.click("reset-mfa")
	b.wantPage(b.path(), "Confirm with a current code")
	b.checkAccessibility("admin reauth")
	b.fill("reauth_code", p.totpCode(admin.secret))
	b.click("reauth-submit")
	if path := b.path(); !strings.HasSuffix(path, "?msg=reset") {
		t.Fatalf("after the reset the page is %s (h1 %q)", path, b.h1())
	}
	if got := b.text("user-factors"); got != "none" {
		t.Errorf("factors after the reset: %q", got)
	}
	b.signOutFrom("nav-signout")

	// uma signs in with her password only and is back in the wizard, with a
	// new secret.
	p.nextStep()
	b.signIn("acme", "uma", pw)
	b.wantPage("/login/enroll", "Set up two-step sign-in")
	b.click("enroll-totp")
	secret := b.text("secret")
	if secret == old.secret {
		t.Error("the wizard offers the secret of before the reset")
	}
	b.fill("code", p.totpCode(secret))
	b.click("totp-submit")
	b.wantPage("/login/enroll/confirm", "Save your backup codes")
}

// An admin registers an app in the console: after a current code the page
// shows the client secret once, and the app's page never shows it again.
func TestAnAdminRegistersAnAppAndSeesTheSecretOnce(t *testing.T) {
	p := newPortal(t)
	p.addOrg("acme", "Acme Inc", "required")
	p.cli(pw+"\n", "user", "create", "--org", "acme", "--username", "ada", "--role", "admin", "--password-stdin")
	b := p.newTab()
	b.open("/login")
	admin := b.enroll("acme", "ada", pw)
	p.clock.Advance(20 * time.Minute)
	b.click("nav-admin")
	b.link("/admin/clients")
	b.wantPage("/admin/clients", "Apps")
	b.checkAccessibility("admin apps")
	b.fill("new-client-name", "Time Sheets")
	// A textarea: typed through the DOM (chromedp's fill wants a text node).
	eval[string](b, `document.getElementById("new-client-redirects").value = "https://time.example.com/cb"`)
	b.click("create-client")
	b.wantPage("/admin/clients", "Confirm with a current code")
	b.fill("reauth_code", p.totpCode(admin.secret))
	b.click("reauth-submit")
	b.wantPage("/admin/clients", "Time Sheets app")
	b.checkAccessibility("admin app with its secret")
	secret := b.text("client-secret")
	if !strings.HasPrefix(secret, "tfc_") {
		t.Fatalf("secret shown: %q", secret)
	}
	id := b.text("client-id")
	b.open("/admin/clients/" + id)
	if b.has("#client-secret") {
		t.Fatal("the app's page shows the secret again")
	}
	b.checkAccessibility("admin app")
}
