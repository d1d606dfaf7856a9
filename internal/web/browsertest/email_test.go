package browsertest

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/notify/smtptest"
	"github.com/twofold-id/twofold/internal/signin"
)

// mailbox is a real SMTP server (smtptest, on emersion/go-smtp) on a
// loopback port that keeps the messages it receives, their text bodies
// decoded.
type mailbox struct{ *smtptest.Server }

// last returns the first group of re in the newest message to addr whose
// body matches it.
func (m mailbox) last(t *testing.T, addr string, re *regexp.Regexp) string {
	t.Helper()
	msgs := m.Messages()
	for _, msg := range msgs {
		if msg.Err != nil {
			t.Fatalf("unreadable mail to %v: %v", msg.To, msg.Err)
		}
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if len(msgs[i].To) == 1 && msgs[i].To[0] == addr {
			if g := re.FindStringSubmatch(msgs[i].Body); g != nil {
				return g[1]
			}
		}
	}
	t.Fatalf("no mail to %s matching %s among %d messages", addr, re, len(msgs))
	return ""
}

var (
	mailCodeRe    = regexp.MustCompile(`(?s)is:\s+(\d{6})`)
	confirmLinkRe = regexp.MustCompile(`(/confirm-email\?token=[A-Za-z0-9_\-]+)`)
)

// mailPortal is a portal whose mail goes over SMTP to a mailbox of the
// test.
type mailPortal struct {
	*portal
	box mailbox
}

// newMailPortal starts the SMTP server and a portal that sends to it.
func newMailPortal(t *testing.T) *mailPortal {
	t.Helper()
	box := mailbox{smtptest.Start(t)}
	p := newPortalWith(t, func(c *config.Config) {
		c.SMTPHost, c.SMTPPort, c.SMTPTLS, c.SMTPFrom = box.Host(), box.Port(), "none", "Twofold <twofold@example.net>"
	})
	return &mailPortal{portal: p, box: box}
}

// addUserWithEmail creates a member with an address through the admin
// service (as `twofold user create --email` does); that mails the
// confirmation link.
func (p *mailPortal) addUserWithEmail(org, username, pw, email string) {
	p.t.Helper()
	ctx := context.Background()
	sys, err := p.app.Admin.System(ctx)
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.app.Admin.CreateUser(ctx, sys, admin.NewUser{OrgSlug: org, Username: username, Password: pw, Email: email}, signin.Client{}); err != nil {
		p.t.Fatal(err)
	}
}

// confirmAddress follows the link of the newest confirmation mail to addr
// in the tab: the link shows a button, which confirms.
func (b *tab) confirmAddress(box mailbox, addr string) {
	b.t.Helper()
	link := box.last(b.t, addr, confirmLinkRe)
	if status := b.open(link); status != 200 {
		b.t.Fatalf("confirmation link answered %d", status)
	}
	b.wantPage(link, "Confirm your email address")
	if !b.has("button#confirm-email") {
		b.t.Fatal("the confirmation link shows no button")
	}
	b.click("confirm-email")
	b.wantPage("/confirm-email", "Confirm your email address")
	if got := b.text("confirmed"); !strings.Contains(got, "is confirmed") {
		b.t.Fatalf("after the button the page says %q", got)
	}
}

// addEmailCodes adds "Codes by email" on the security page of a user who
// has an authenticator app with the grouped secret: a fresh code from the
// app, then the code from the mail.
func (b *tab) addEmailCodes(box mailbox, addr, secret string) {
	b.t.Helper()
	// Long enough after the last code that adding a method asks for one.
	b.p.clock.Advance(20 * time.Minute)
	b.open("/security")
	b.wantPage("/security", "Security")
	b.click("add-email-btn")
	b.wantPage("/security/email", "Confirm it is you")
	b.fill("code", b.p.totpCode(secret))
	b.click("reauth-submit")
	b.wantPage("/security/reauth", "Confirm your email address")
	if got, domain := b.text("sent-to"), addr[strings.Index(addr, "@"):]; !strings.HasSuffix(got, domain) || got == addr {
		b.t.Errorf("setup says the code went to %q, want %s masked", got, addr)
	}
	b.fill("code", box.last(b.t, addr, mailCodeRe))
	b.click("sent-submit")
	if got := b.path(); !strings.HasPrefix(got, "/security") {
		b.t.Fatalf("after confirming the email code the page is %s (h1 %q)", got, b.h1())
	}
}

func TestUserWithEmailAndAuthenticatorChoosesEmailAndGetsTheCodeOverSMTP(t *testing.T) {
	p := newMailPortal(t)
	p.addOrg("acme", "Acme Inc", "optional")
	p.addUserWithEmail("acme", "alice", pw, "alice@example.com")
	b := p.newTab()

	// The confirmation mail's link, in the browser: a button, not a GET
	// that confirms by itself.
	b.confirmAddress(p.box, "alice@example.com")

	// An authenticator app first, on the security page.
	b.open("/login")
	b.signIn("acme", "alice", pw)
	b.wantPage("/", "You are signed in")
	b.click("to-security")
	b.wantPage("/security", "Security")
	b.click("add-totp")
	b.wantPage("/security/totp", "Add an authenticator app")
	secret := b.text("secret")
	b.fill("code", p.totpCode(secret))
	b.click("totp-submit")
	b.wantPage("/security/totp/confirm", "Save your backup codes")
	b.do(chromedp.Click(chromedp.ID("saved")))
	b.click("continue")
	b.wantPage("/security", "Security")

	// Then codes by email.
	b.addEmailCodes(p.box, "alice@example.com", secret)
	methods := eval[[]string](b, `[...document.querySelectorAll("#factors .factor-head")].map(e => e.textContent.replace(/\s+/g, " ").trim())`)
	if len(methods) != 2 || !strings.Contains(strings.Join(methods, "|"), "Email") {
		t.Fatalf("methods listed after adding email: %q", methods)
	}
	b.signOutFrom("nav-signout")

	// Sign in: the second step offers every method.
	b.signIn("acme", "alice", pw)
	b.wantPage("/login/verify", "Confirm it is you")
	offered := eval[[]string](b, `[...document.querySelectorAll("#methods .choice")].map(e => e.id)`)
	for _, want := range []string{"method-totp", "method-email", "method-backup_code"} {
		if !strings.Contains(strings.Join(offered, " "), want) {
			t.Errorf("second step offers %q, want %s among them", offered, want)
		}
	}
	b.checkAccessibility("second step with several methods")
	sent := p.box.Count()
	b.click("method-email")
	b.wantPage("/login/verify/send", "Confirm it is you")
	if got := b.text("sent-to"); got != "a•••@example.com" {
		t.Errorf("code sent to %q, want a•••@example.com", got)
	}
	if p.box.Count() != sent+1 {
		t.Fatalf("%d mails arrived after choosing email, want 1", p.box.Count()-sent)
	}

	// "Send a new code" waits for its countdown: disabled at once, with the
	// time left beside it, which counts down.
	if !eval[bool](b, `document.getElementById("resend").disabled`) {
		t.Error(`"Send a new code" is enabled right after the code was sent`)
	}
	hint := b.text("resend-hint")
	if !strings.Contains(hint, "You can ask for a new code in") {
		t.Errorf("resend hint %q", hint)
	}
	b.do(chromedp.Sleep(1100 * time.Millisecond))
	if later := b.text("resend-hint"); later == hint {
		t.Errorf("the countdown did not move in a second: %q", later)
	}
	if !eval[bool](b, `document.getElementById("resend").disabled`) {
		t.Error(`"Send a new code" is enabled before its countdown ended`)
	}
	if got := eval[string](b, `document.getElementById("code").autocomplete`); got != "one-time-code" {
		t.Errorf("code field autocomplete=%q", got)
	}

	// The code from the mail signs in.
	b.fill("code", p.box.last(t, "alice@example.com", mailCodeRe))
	b.click("verify-submit")
	b.wantPage("/", "You are signed in")
	if got := b.text("who-amr"); got != "password and second step" {
		t.Errorf("checked with %q", got)
	}
}
