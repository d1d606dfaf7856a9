package browsertest

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

const pw = "correct horse battery staple"

// groupedSecret is a base32 secret in groups of four (the last may be
// shorter), as the wizard shows it.
var groupedSecret = regexp.MustCompile(`^[A-Z2-7]{4}( [A-Z2-7]{1,4})+$`)

func TestNewUserInMFAOrgSetsUpThenSignsInWithCodeAndBackupCode(t *testing.T) {
	p := newPortal(t)
	p.addOrg("acme", "Acme Inc", "required")
	p.addUser("acme", "alice", pw)
	b := p.newTab()

	// Password first; the org's policy leads into the setup wizard.
	b.open("/login")
	b.signIn("acme", "alice", pw)
	b.wantPage("/login/enroll", "Set up two-step sign-in")
	b.click("enroll-totp")
	b.wantPage("/login/enroll/totp", "Add an authenticator app")
	if !b.has("img#qr[src^='data:image/png;base64,']") {
		t.Error("the wizard shows no QR code image")
	}
	secret := b.text("secret")
	if !groupedSecret.MatchString(secret) {
		t.Fatalf("secret on the page is %q, want groups of four", secret)
	}
	b.fill("code", p.totpCode(secret))
	b.click("totp-submit")

	// Backup codes: ten of them, and Continue needs the "saved" tick.
	b.wantPage("/login/enroll/confirm", "Save your backup codes")
	codes := eval[[]string](b, `[...document.querySelectorAll("#backup-codes li")].map(li => li.textContent.trim())`)
	if len(codes) != 10 {
		t.Fatalf("%d backup codes shown, want 10: %q", len(codes), codes)
	}
	if eval[bool](b, `document.getElementById("saved-form").checkValidity()`) {
		t.Fatal("the backup codes form is valid before the saved box is ticked")
	}
	b.do(chromedp.Click(chromedp.ID("continue")), chromedp.Sleep(300*time.Millisecond))
	if got := b.path(); got != "/login/enroll/confirm" || !b.has("#backup-codes") {
		t.Fatalf("Continue before ticking the box left the codes page for %s", got)
	}
	if !eval[bool](b, `document.getElementById("saved").validity.valueMissing`) {
		t.Error("the saved box does not report that it is missing")
	}
	b.do(chromedp.Click(chromedp.ID("saved")))
	b.click("continue")
	b.wantPage("/", "You are signed in")
	if got := b.text("who-username"); got != "alice" {
		t.Errorf("signed in as %q", got)
	}
	if got := b.text("who-amr"); got != "password and second step" {
		t.Errorf("checked with %q", got)
	}
	b.signOut()

	// Then with a code from the app, one time step later.
	p.nextStep()
	b.signIn("acme", "alice", pw)
	b.wantPage("/login/verify", "Confirm it is you")
	if got := eval[string](b, `document.getElementById("code").autocomplete`); got != "one-time-code" {
		t.Errorf("code field autocomplete=%q", got)
	}
	b.fill("code", p.totpCode(secret))
	b.click("verify-submit")
	b.wantPage("/", "You are signed in")
	b.signOut()

	// Then with a backup code.
	b.signIn("acme", "alice", pw)
	b.wantPage("/login/verify", "Confirm it is you")
	b.click("use-backup")
	b.wantPage("/login/verify?method=backup_code", "Confirm it is you")
	if got := eval[string](b, `document.querySelector("label[for=code]").textContent.trim()`); got != "Backup code" {
		t.Errorf("code field label %q, want Backup code", got)
	}
	b.fill("code", codes[3])
	b.click("verify-submit")
	b.wantPage("/", "You are signed in")
	b.click("to-security")
	b.wantPage("/security", "Security")
	if got := b.text("backup-left"); !strings.Contains(got, "9 unused backup codes") {
		t.Errorf("security page says %q, want 9 codes left", got)
	}

	// The org requires MFA: "Turn off" is disabled as a whole, with the
	// reason, not only its button.
	for _, sel := range []string{"#disable-code", "#disable"} {
		if !eval[bool](b, fmt.Sprintf(`document.querySelector(%q).matches(":disabled")`, sel)) {
			t.Errorf("%s is not disabled though policy requires MFA", sel)
		}
	}
	if got := eval[string](b, `document.querySelector("#disable-form fieldset").getAttribute("aria-disabled")`); got != "true" {
		t.Errorf("the turn-off fieldset has aria-disabled=%q", got)
	}
	if got := b.text("disable-reason"); !strings.Contains(got, "requires") {
		t.Errorf("reason for the disabled turn-off: %q", got)
	}
	if got := eval[float64](b, `+getComputedStyle(document.querySelector("#disable-form fieldset")).opacity`); got >= 1 {
		t.Errorf("the disabled turn-off form is not faded (opacity %v)", got)
	}

	// The session is named by its browser, with the full string on hover.
	dev := eval[[]string](b, `[...document.querySelectorAll("#sessions .session-device")].map(e => e.textContent.trim() + "|" + e.title)`)
	if name, title, _ := strings.Cut(strings.Join(dev, ""), "|"); len(dev) != 1 || !strings.Contains(name, "Chrome on ") || !strings.HasPrefix(title, "Mozilla/5.0") {
		t.Errorf("sessions named %q, want Chrome on its system with the User-Agent as title", dev)
	}
}

func TestSecurityPageAddsRenamesAndListsASecondAuthenticator(t *testing.T) {
	p := newPortal(t)
	p.addOrg("acme", "Acme Inc", "required")
	p.addUser("acme", "bob", pw)
	b := p.newTab()
	b.open("/login")
	first := b.enroll("acme", "bob", pw)

	// Long enough after the last code that adding one asks for a fresh one.
	p.clock.Advance(20 * time.Minute)
	b.click("to-security")
	b.wantPage("/security", "Security")
	b.fill("label", "Work phone")
	b.click("add-totp")
	b.wantPage("/security/totp", "Confirm it is you")
	b.fill("code", p.totpCode(first.secret))
	b.click("reauth-submit")

	b.wantPage("/security/reauth", "Add an authenticator app")
	second := b.text("secret")
	if second == first.secret {
		t.Fatal("the second authenticator got the first one's secret")
	}
	b.fill("code", p.totpCode(second))
	b.click("totp-submit")
	b.wantPage("/security?msg=added", "Security")

	ids := eval[[]string](b, `[...document.querySelectorAll("#factors li.factor")].map(li => li.id.replace(/^factor-/, ""))`)
	if len(ids) != 2 {
		t.Fatalf("%d authenticators listed, want 2", len(ids))
	}
	if got := labels(b); !slices.Contains(got, "Work phone") {
		t.Fatalf("labels %q, want one named Work phone", got)
	}

	// Rename the first one (opening its details like a person would).
	var old string
	for _, id := range ids {
		if l := b.text("factor-" + id + " .factor-label"); l != "Work phone" {
			old = id
		}
	}
	if old == "" {
		t.Fatal("no authenticator other than Work phone")
	}
	b.do(chromedp.Click(chromedp.CSS("#factor-" + old + " summary")))
	b.fill("label-"+old, "Old phone")
	b.click("rename-" + old)
	b.wantPage("/security?msg=renamed", "Security")
	got := labels(b)
	slices.Sort(got)
	if want := []string{"Old phone", "Work phone"}; !slices.Equal(got, want) {
		t.Errorf("labels after renaming %q, want %q", got, want)
	}
}

// labels returns the names of the listed authenticators.
func labels(b *tab) []string {
	b.t.Helper()
	return eval[[]string](b, `[...document.querySelectorAll("#factors .factor-label")].map(e => e.textContent.trim())`)
}

func TestWrongCodeShowsTheErrorNextToTheFieldAndKeepsItUsable(t *testing.T) {
	p := newPortal(t)
	p.addOrg("acme", "Acme Inc", "required")
	p.addUser("acme", "carol", pw)
	b := p.newTab()
	b.open("/login")
	e := b.enroll("acme", "carol", pw)
	b.signOut()

	p.nextStep()
	b.signIn("acme", "carol", pw)
	b.wantPage("/login/verify", "Confirm it is you")
	good := p.totpCode(e.secret)
	wrong := "000000"
	if good == wrong {
		wrong = "111111"
	}
	b.fill("code", wrong)
	if status := b.click("verify-submit"); status < 400 {
		t.Errorf("a wrong code answered %d", status)
	}
	b.wantPage("/login/verify", "Confirm it is you")

	// The message sits in the field's own block, is tied to the input and
	// is visible.
	msg := b.text("code-error")
	if msg == "" {
		t.Fatal("no message for the wrong code")
	}
	if !eval[bool](b, `document.getElementById("code").closest(".field").contains(document.getElementById("code-error"))`) {
		t.Error("the message is not next to the code field")
	}
	if got := eval[string](b, `document.getElementById("code").getAttribute("aria-invalid")`); got != "true" {
		t.Errorf("code field aria-invalid=%q", got)
	}
	if got := eval[string](b, `document.getElementById("code").getAttribute("aria-describedby")`); !strings.Contains(got, "code-error") {
		t.Errorf("code field aria-describedby=%q, want it to name code-error", got)
	}
	if eval[bool](b, `(() => { const r = document.getElementById("code-error").getBoundingClientRect(); return r.width === 0 || r.height === 0; })()`) {
		t.Error("the message takes no space on the page")
	}

	// Focus is back in the field: type the right code and press Enter,
	// with no click.
	if got := eval[string](b, `document.activeElement.id`); got != "code" {
		t.Fatalf("focus after the wrong code is on %q, want the code field", got)
	}
	b.do(chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)), chromedp.KeyEvent(good))
	b.load(chromedp.KeyEvent(kb.Enter))
	b.wantPage("/", "You are signed in")
}
