package browsertest

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// screenshotDir is docs/screenshots, from this package's directory.
var screenshotDir = filepath.Join("..", "..", "..", "docs", "screenshots")

// shoot saves a PNG of the whole current page (at the current viewport
// width) as docs/screenshots/name.png.
func (b *tab) shoot(name string) {
	b.t.Helper()
	// Let the page's script finish (countdowns, local times) and drop the
	// focus ring of the autofocused field, so the images are steady.
	eval[bool](b, `(document.activeElement && document.activeElement.blur(), true)`)
	img := run(b, chromedp.FullScreenshot(100))
	cfg, err := png.DecodeConfig(bytes.NewReader(img))
	if err != nil {
		b.t.Fatalf("%s: not a PNG: %v", name, err)
	}
	b.t.Logf("%s.png: %dx%d, %s", name, cfg.Width, cfg.Height, b.path())
	if err := os.WriteFile(filepath.Join(screenshotDir, name+".png"), img, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// TestScreenshots rewrites docs/screenshots/*.png. It runs only with
// TWOFOLD_SCREENSHOTS=1, so ordinary runs and CI never change the files.
func TestScreenshots(t *testing.T) {
	if os.Getenv("TWOFOLD_SCREENSHOTS") != "1" {
		t.Skip("set TWOFOLD_SCREENSHOTS=1 to rewrite docs/screenshots")
	}
	if _, err := os.Stat(screenshotDir); err != nil {
		t.Fatal(err)
	}
	p := newMailPortal(t)
	p.addOrg("acme", "Acme Inc", "required")
	p.addUser("acme", "alice", pw)
	p.cli("", "org", "create", "--slug", "acme-eu", "--name", "Acme Europe", "--parent", "acme")
	p.cli(pw+"\n", "user", "create", "--org", "acme", "--username", "ada", "--role", "admin", "--password-stdin")
	p.cli(pw+"\n", "user", "create", "--org", "acme-eu", "--username", "eve", "--password-stdin")
	p.cli(pw+"\n", "user", "create", "--org", "acme-eu", "--username", "eli", "--role", "admin", "--password-stdin")
	p.cli("", "org", "set-policy", "--org", "acme", "--locked=true", "--lock-scope", "descendants")
	b := p.newTab()

	// The phone first, then the desktop.
	b.do(chromedp.EmulateViewport(phoneW, phoneH, chromedp.EmulateMobile, chromedp.EmulateTouch))
	b.open("/login")
	b.shoot("login-phone")
	b.do(chromedp.EmulateViewport(desktopW, desktopH))
	b.open("/login")
	b.shoot("login")

	b.signIn("acme", "alice", pw)
	b.wantPage("/login/enroll", "Set up two-step sign-in")
	b.shoot("setup-choose-method")
	b.click("enroll-totp")
	b.wantPage("/login/enroll/totp", "Add an authenticator app")
	b.shoot("setup-authenticator-qr")
	secret := b.text("secret")
	b.fill("code", p.totpCode(secret))
	b.click("totp-submit")
	b.wantPage("/login/enroll/confirm", "Save your backup codes")
	b.shoot("setup-backup-codes")
	b.do(chromedp.Click(chromedp.ID("saved")))
	b.click("continue")
	b.wantPage("/", "You are signed in")
	b.shoot("home")
	b.click("to-security")
	b.wantPage("/security", "Security")
	b.shoot("security")
	b.signOutFrom("nav-signout")

	p.nextStep()
	b.signIn("acme", "alice", pw)
	b.wantPage("/login/verify", "Confirm it is you")
	b.shoot("second-step")
	b.fill("code", "000000")
	b.click("verify-submit")
	b.shoot("second-step-wrong-code")
	b.do(chromedp.EmulateViewport(phoneW, phoneH, chromedp.EmulateMobile, chromedp.EmulateTouch))
	b.open("/login/verify")
	b.shoot("second-step-phone")

	// The admin console, for an admin of acme (which locks "required"
	// for Acme Europe below it).
	b.do(chromedp.EmulateViewport(desktopW, desktopH))
	b.open("/login")
	b.enroll("acme", "ada", pw)
	b.click("nav-admin")
	b.shoot("admin-home")
	b.link("/admin/orgs/acme-eu")
	b.shoot("admin-org-policy-locked")
	b.click("nav-admin")
	b.link("/admin/users")
	b.shoot("admin-users")
	b.load(chromedp.Click(`//table[@id="users"]//a[normalize-space()="alice"]`))
	b.shoot("admin-user")
	// Seed 001: acme enforces its policy on Acme Europe itself; Acme
	// Europe's admin finds it greyed out, naming Acme.
	b.open("/admin/orgs/acme-eu")
	b.do(chromedp.Click(chromedp.ID("lock-enforced")))
	b.click("save-policy")
	b.signOutFrom("nav-signout")
	p.nextStep()
	{
		b := p.newTab() // a budget of its own
		b.open("/login")
		b.enroll("acme-eu", "eli", pw)
		b.click("nav-admin")
		b.link("/admin/orgs/acme-eu")
		b.shoot("admin-org-policy-enforced")
	}

	// A user with an authenticator app and codes by email: the second
	// step lists the methods, then email is chosen.
	p.addUserWithEmail("acme", "amy", pw, "amy@example.com")
	b.confirmAddress(p.box, "amy@example.com")
	b.open("/login")
	amy := b.enroll("acme", "amy", pw)
	b.addEmailCodes(p.box, "amy@example.com", amy.secret)
	b.signOutFrom("nav-signout")
	b.signIn("acme", "amy", pw)
	b.wantPage("/login/verify", "Confirm it is you")
	b.shoot("second-step-methods")
	b.click("method-email")
	b.wantPage("/login/verify/send", "Confirm it is you")
	b.shoot("second-step-email")
}
