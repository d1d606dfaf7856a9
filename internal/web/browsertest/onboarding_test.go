package browsertest

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/notify/smtptest"
)

var (
	resetLinkRe  = regexp.MustCompile(`(/reset-password\?token=[A-Za-z0-9_\-]+)`)
	inviteLinkRe = regexp.MustCompile(`(/invitation\?token=[A-Za-z0-9_\-]+)`)
)

// waitLink waits for a mail to addr from index after on whose subject
// starts with subject, and returns the first group of re in its body.
func (m mailbox) waitLink(t *testing.T, addr, subject string, after int, re *regexp.Regexp) string {
	t.Helper()
	msg := m.WaitFor(t, func(msg smtptest.Message) bool {
		return msg.Index >= after && len(msg.To) == 1 && msg.To[0] == addr && strings.HasPrefix(msg.Subject, subject)
	}, 5*time.Second)
	g := re.FindStringSubmatch(msg.Body)
	if g == nil {
		t.Fatalf("mail %q to %s has no link:\n%s", msg.Subject, addr, msg.Body)
	}
	return g[1]
}

// A user with an authenticator app forgets the password: "Forgot your
// password?" on the sign-in page, the link from the mail, a new password
// with a current code — and the next sign-in still asks for the code.
func TestForgottenPasswordIsResetWithTheSecondFactor(t *testing.T) {
	p := newMailPortal(t)
	p.addOrg("acme", "Acme Inc", "required")
	p.addUserWithEmail("acme", "alice", pw, "alice@example.com")
	b := p.newTab()
	en := b.enroll("acme", "alice", pw)
	b.signOut()

	b.open("/login")
	b.click("forgot-link")
	b.wantPage("/forgot-password?org=acme", "Forgot your password?")
	b.checkAccessibility("forgot password")
	b.fill("org", "acme")
	b.fill("login", "alice")
	n := p.box.Count()
	b.click("forgot-submit")
	if got := b.text("forgot-sent"); !strings.Contains(got, "a link to choose a new password is on its way") {
		t.Errorf("after asking, the page says %q", got)
	}
	link := p.box.waitLink(t, "alice@example.com", "Reset your password", n, resetLinkRe)

	b.open(link)
	b.wantPage(link, "Choose a new password")
	b.checkAccessibility("reset password")
	const newPW = "a new and long passphrase"
	b.fill("new-password", newPW)
	b.fill("confirm-password", newPW)
	p.nextStep() // the step the setup used is spent
	b.fill("code", p.totpCode(en.secret))
	b.click("reset-submit")
	if b.path() != "/login?msg=reset" {
		t.Fatalf("the reset did not go through: %q", eval[string](b, `document.querySelector("main").innerText`))
	}
	b.signIn("acme", "alice", newPW)
	b.wantPage("/login/verify", "Confirm it is you")
}

// An admin invites someone from the console; the invitee opens the account
// from the mailed link and is led through the setup the org requires.
func TestAnInviteeOpensTheAccountAndSetsUpTheSecondStep(t *testing.T) {
	p := newMailPortal(t)
	p.addOrg("acme", "Acme Inc", "required")
	p.cli(pw+"\n", "user", "create", "--org", "acme", "--username", "ria", "--role", "admin", "--password-stdin")
	b := p.newTab()
	b.enroll("acme", "ria", pw)
	b.open("/admin/invitations?org=acme")
	b.wantPage("/admin/invitations?org=acme", "Invitations")
	b.checkAccessibility("console invitations")
	b.fill("invite-email", "nina@example.com")
	b.fill("invite-name", "Nina")
	n := p.box.Count()
	b.click("invite-submit")
	b.wantPage("/admin/invitations?org=acme&msg=invited", "Invitations")
	link := p.box.waitLink(t, "nina@example.com", "You are invited", n, inviteLinkRe)

	nina := p.newTab()
	nina.open(link)
	nina.wantPage(link, "Open your account")
	nina.checkAccessibility("invitation")
	nina.fill("username", "nina")
	nina.fill("new-password", pw)
	nina.fill("confirm-password", pw)
	nina.click("invite-submit")
	nina.wantPage("/login/enroll", "Set up two-step sign-in")
}
