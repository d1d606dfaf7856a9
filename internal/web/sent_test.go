package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/notify/smtptest"
	"github.com/twofold-id/twofold/internal/notify/twiliotest"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// mailbox is a real SMTP server (smtptest, on emersion/go-smtp) on a
// loopback port that keeps what it receives, with the helpers these tests
// read it with.
type mailbox struct{ *smtptest.Server }

// last returns the newest message to addr whose body matches re, and the
// first group of the match.
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

// phoneNet is a local server that speaks Twilio's Messages API and keeps
// the texts it was asked to send.
type phoneNet struct{ *twiliotest.Server }

// unreachable is the number texted while the phone network fails.
const unreachable = "+447700900999"

var smsCodeRe = regexp.MustCompile(`your code is (\d{6})`)

// lastCode returns the code of the newest text to number.
func (pn phoneNet) lastCode(t *testing.T, number string) string {
	t.Helper()
	texts := pn.Messages()
	for i := len(texts) - 1; i >= 0; i-- {
		if texts[i].To == number {
			if m := smsCodeRe.FindStringSubmatch(texts[i].Body); m != nil {
				return m[1]
			}
		}
	}
	t.Fatalf("no text to %s among %d", number, len(texts))
	return ""
}

// sentPortal is a portal that sends mail over real SMTP and texts through
// a Twilio-compatible API.
type sentPortal struct {
	*portal
	box    mailbox
	phones phoneNet
}

func newSentPortal(t *testing.T) *sentPortal { t.Helper(); return newSentPortalWith(t, nil) }

func newSentPortalWith(t *testing.T, adjust func(*config.Config)) *sentPortal {
	t.Helper()
	box := mailbox{smtptest.Start(t)}
	const sid, token = "AC0123456789abcdef0123456789abcdef", "test-token"
	phones := phoneNet{twiliotest.Start(t, sid, token)}
	p := newPortalWith(t, func(c *config.Config) {
		c.SMTPHost, c.SMTPPort, c.SMTPTLS, c.SMTPFrom = box.Host(), box.Port(), "none", "Twofold <twofold@example.net>"
		c.SMSProvider, c.TwilioAccountSID, c.TwilioAuthToken, c.TwilioFrom, c.TwilioBaseURL = "twilio", sid, token, "+15005550006", phones.URL()
		if adjust != nil {
			adjust(c)
		}
	})
	return &sentPortal{portal: p, box: box, phones: phones}
}

// addUserWithEmail creates a member with an address; creating it mails a
// confirmation link.
func (p *sentPortal) addUserWithEmail(org, username, pw, email string) {
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

var (
	mailCodeRe    = regexp.MustCompile(`(?s)is:\s+(\d{6})`)
	confirmLinkRe = regexp.MustCompile(`(/confirm-email\?token=[A-Za-z0-9_\-]+)`)
)

// confirmAddress follows the confirmation link of the newest mail to addr.
func (p *sentPortal) confirmAddress(b *browser, addr string) {
	p.t.Helper()
	link := p.box.last(p.t, addr, confirmLinkRe)
	form := b.get(link)
	expect(p.t, form, 200, "/confirm-email", `id="confirm-email"`, "Confirm my address")
	tok := strings.TrimPrefix(link, "/confirm-email?token=")
	expect(p.t, b.post("/confirm-email", url.Values{"token": {tok}}), 200, "/confirm-email", "is confirmed")
}

var (
	sentExpRe    = regexp.MustCompile(`name="sent_exp" value="(\d+)"`)
	sentResendRe = regexp.MustCompile(`name="sent_resend" value="(\d+)"`)
)

// carried returns the hidden "code sent" fields of a page.
func carried(t *testing.T, pg page) url.Values {
	t.Helper()
	e, r := sentExpRe.FindStringSubmatch(pg.body), sentResendRe.FindStringSubmatch(pg.body)
	to := regexp.MustCompile(`name="sent_to" value="([^"]+)"`).FindStringSubmatch(pg.body)
	if e == nil || r == nil || to == nil {
		t.Fatalf("no code-sent fields on the page:\n%s", pg.body)
	}
	return url.Values{"sent_to": {to[1]}, "sent_exp": {e[1]}, "sent_resend": {r[1]}}
}

func with(v url.Values, kv ...string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = vs
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out.Set(kv[i], kv[i+1])
	}
	return out
}

// The S14/S15 journey: a user with an authenticator app and email chooses
// email at sign-in, receives the code over SMTP, asks for a new one too
// early and is told to wait, gets a new one later (the old one stops
// working) and signs in with it.
func TestEmailCodeAtSignIn(t *testing.T) {
	p := newSentPortal(t)
	p.addOrg("acme", store.OrgPolicy{})
	p.addUserWithEmail("acme", "alice", "correct horse battery", "alice@example.com")
	b := p.browser()
	p.confirmAddress(b, "alice@example.com")

	// An authenticator first, then email, which needs a fresh code.
	expect(t, b.login("acme", "alice", "correct horse battery"), 200, "/")
	setup := b.post("/security/totp", nil)
	if !strings.Contains(setup.body, `<code class="secret" id="secret">`) {
		t.Error("code#secret carries attributes beyond its class and id (aria-labelledby is not allowed on code)")
	}
	secret, factorID := scan(t, setup)
	backupCodes(t, b.post("/security/totp/confirm", url.Values{"factor_id": {factorID}, "code": {p.code(secret)}}))
	p.clock.Advance(20 * time.Minute)
	sec := b.get("/security")
	expect(t, sec, 200, "/security", `id="add-email-btn"`, "alice@example.com", `id="add-sms-btn"`, `type="tel"`)
	re := b.post("/security/email", nil)
	expect(t, re, 200, "/security/email", "Confirm it is you", `name="kind" value="email"`)
	sent := b.post("/security/reauth", url.Values{"kind": {"email"}, "code": {p.code(secret)}})
	expect(t, sent, 200, "/security/reauth", "Confirm your email address", "Code sent to <strong id=\"sent-to\">a•••@example.com</strong>",
		`data-countdown="90"`, `data-wait="30"`)
	// Screen readers hear "sent" and, once, "expired" — not a countdown
	// rewritten every second inside a live region.
	expect(t, sent, 200, "/security/reauth", `<div class="sent" id="sent-status">`, `<p role="status">Code sent to`,
		`data-announce="sent-expired"`, `<p class="visually-hidden" id="sent-expired" role="status"></p>`)
	code := p.box.last(t, "alice@example.com", mailCodeRe)
	emailID := factorIDRe.FindStringSubmatch(sent.body)[1]
	wrong := b.post("/security/factors/"+emailID+"/confirm", with(carried(t, sent), "method", "email", "code", "000000"))
	expect(t, wrong, http.StatusUnauthorized, "/security/factors/"+emailID+"/confirm", signin.ErrInvalidCode.Message, "a•••@example.com")
	done := b.post("/security/factors/"+emailID+"/confirm", url.Values{"method": {"email"}, "code": {code}})
	expect(t, done, 200, "/security", "The new sign-in method was added.", "a•••@example.com")
	expect(t, b.post("/logout", nil), 200, "/login")

	// Sign in: every method is offered (S14).
	choose := b.login("acme", "alice", "correct horse battery")
	expect(t, choose, 200, "/login/verify", `id="method-totp"`, `id="method-email"`, "a•••@example.com", `id="method-backup_code"`)
	if strings.Contains(choose.body, "not available") {
		t.Fatal("the page still says a method is not available")
	}
	codePg := b.post("/login/verify/send", url.Values{"method": {"email"}})
	expect(t, codePg, 200, "/login/verify/send", `Code sent to <strong id="sent-to">a•••@example.com</strong>`,
		`autocomplete="one-time-code"`, `data-countdown="90"`, `id="resend"`, `data-wait="30"`, `name="method" value="email"`)
	first := p.box.last(t, "alice@example.com", mailCodeRe)

	// Too early for a new code: the server says how long to wait (S15).
	early := b.post("/login/verify/send", with(carried(t, codePg), "method", "email", "resend", "1"))
	expect(t, early, http.StatusTooManyRequests, "/login/verify/send", signin.ErrResendTooSoon.Message, `class="countdown" data-seconds="30"`,
		"a•••@example.com", `id="code"`)

	p.clock.Advance(31 * time.Second)
	again := b.post("/login/verify/send", with(carried(t, codePg), "method", "email", "resend", "1"))
	expect(t, again, 200, "/login/verify/send", "Code sent to")
	second := p.box.last(t, "alice@example.com", mailCodeRe)
	if second == first {
		t.Skip("the two random codes happen to be equal")
	}
	old := b.post("/login/verify", with(carried(t, again), "method", "email", "code", first))
	expect(t, old, http.StatusUnauthorized, "/login/verify", signin.ErrInvalidCode.Message, `id="code-error"`, "a•••@example.com", `id="resend"`)
	home := b.post("/login/verify", url.Values{"method": {"email"}, "code": {second}})
	expect(t, home, 200, "/", `id="who-username">alice<`, "password and second step")
}

// A user in an org that requires MFA, without an email address, sets up
// text messages in the wizard and gets backup codes.
func TestWizardEnrollsTextMessages(t *testing.T) {
	p := newSentPortal(t)
	p.addOrg("strict", store.OrgPolicy{MFA: store.MFARequired})
	p.addUser("strict", "carol", "correct horse battery")
	b := p.browser()

	start := b.login("strict", "carol", "correct horse battery")
	expect(t, start, 200, "/login/enroll", `id="enroll-totp"`, `id="enroll-sms"`, `type="tel"`, "country code",
		"Email is not offered because your account has no email address")
	if strings.Contains(start.body, `id="enroll-email"`) {
		t.Fatal("email offered without a confirmed address")
	}
	bad := b.post("/login/enroll/sms", url.Values{"phone": {"0171 12345"}})
	expect(t, bad, http.StatusBadRequest, "/login/enroll/sms", "Enter the phone number with its country code", `id="phone-error"`, `value="0171 12345"`)

	sent := b.post("/login/enroll/sms", url.Values{"phone": {"+44 7700 900123"}})
	expect(t, sent, 200, "/login/enroll/sms", "Step 2 of 3", "Confirm your phone number", `id="sms-notice"`, "intercepted",
		"Code sent to", "4•••••••••23", `data-countdown="90"`)
	code := p.phones.lastCode(t, "+447700900123")
	factorID := factorIDRe.FindStringSubmatch(sent.body)[1]

	// "Send a new code" too early, then a wrong code.
	early := b.post("/login/enroll/resend", with(carried(t, sent), "factor_id", factorID, "method", "sms"))
	expect(t, early, http.StatusTooManyRequests, "/login/enroll/resend", signin.ErrResendTooSoon.Message, `id="resend-error"`)
	if strings.Contains(early.body, `id="sms-notice"`) {
		t.Fatal("the restricted-method notice was said twice")
	}
	wrong := b.post("/login/enroll/code", with(carried(t, sent), "factor_id", factorID, "method", "sms", "code", "000000"))
	expect(t, wrong, http.StatusUnauthorized, "/login/enroll/code", signin.ErrInvalidCode.Message, `id="code-error"`)

	codesPg := b.post("/login/enroll/code", url.Values{"factor_id": {factorID}, "method": {"sms"}, "code": {code}})
	backupCodes(t, codesPg)
	expect(t, b.post("/continue", url.Values{"saved": {"yes"}, "next": {"/"}}), 200, "/", `id="who-username">carol<`)

	// Next sign-in: the text message is the one method, sent on request.
	expect(t, b.post("/logout", nil), 200, "/login")
	verify := b.login("strict", "carol", "correct horse battery")
	expect(t, verify, 200, "/login/verify", `id="send-code"`, "4•••••••••23", `id="use-backup"`)
	codePg := b.post("/login/verify/send", url.Values{"method": {"sms"}})
	expect(t, codePg, 200, "/login/verify/send", "Code sent to")
	home := b.post("/login/verify", url.Values{"method": {"sms"}, "code": {p.phones.lastCode(t, "+447700900123")}})
	expect(t, home, 200, "/", `id="who-username">carol<`)
}

// A GET of the confirmation link only shows a button (mail scanners
// prefetch links); the POST confirms; the link then no longer works.
func TestEmailConfirmationLink(t *testing.T) {
	p := newSentPortal(t)
	p.addOrg("acme", store.OrgPolicy{})
	p.addUserWithEmail("acme", "dora", "correct horse battery", "dora@example.com")
	b := p.browser()
	link := p.box.last(t, "dora@example.com", confirmLinkRe)
	tok := strings.TrimPrefix(link, "/confirm-email?token=")

	for range 2 {
		pg := p.browser().get(link)
		expect(t, pg, 200, "/confirm-email", `id="confirm-email"`, "Confirm my address", `name="token"`)
	}
	expect(t, b.login("acme", "dora", "correct horse battery"), 200, "/")
	expect(t, b.get("/security"), 200, "/security", "is not confirmed yet", `id="send-confirmation"`)

	ok := b.post("/confirm-email", url.Values{"token": {tok}})
	expect(t, ok, 200, "/confirm-email", "d•••@example.com is confirmed")
	again := b.post("/confirm-email", url.Values{"token": {tok}})
	expect(t, again, http.StatusBadRequest, "/confirm-email", signin.ErrConfirmToken.Message)
	expect(t, b.get("/confirm-email"), http.StatusBadRequest, "/confirm-email", signin.ErrConfirmToken.Message)
	expect(t, b.get("/security"), 200, "/security", `id="add-email-btn"`)
}

// An unconfirmed address gets "Send confirmation mail" on the security
// page, and the mail arrives.
func TestSecurityPageSendsConfirmationMail(t *testing.T) {
	p := newSentPortal(t)
	p.addOrg("acme", store.OrgPolicy{})
	p.addUserWithEmail("acme", "erin", "correct horse battery", "erin@example.com")
	b := p.browser()
	expect(t, b.login("acme", "erin", "correct horse battery"), 200, "/")
	// The mail sent at creation is less than a minute old.
	soon := b.post("/security/email/confirmation", nil)
	expect(t, soon, http.StatusTooManyRequests, "/security/email/confirmation", signin.ErrResendTooSoon.Message)
	p.clock.Advance(2 * time.Minute)
	n := p.box.Count()
	expect(t, b.post("/security/email/confirmation", nil), 200, "/security", "We sent you a mail with a confirmation link.")
	if p.box.Count() != n+1 {
		t.Fatal("no confirmation mail arrived")
	}
	p.confirmAddress(b, "erin@example.com")
}

// A user whose only method is email asks for a code beside the field of
// an action that needs one.
func TestSendMeACodeForSecurityActions(t *testing.T) {
	p := newSentPortal(t)
	p.addOrg("acme", store.OrgPolicy{})
	p.addUserWithEmail("acme", "fay", "correct horse battery", "fay@example.com")
	b := p.browser()
	p.confirmAddress(b, "fay@example.com")
	expect(t, b.login("acme", "fay", "correct horse battery"), 200, "/")

	sent := b.post("/security/email", nil)
	expect(t, sent, 200, "/security/email", "Confirm your email address", "f•••@example.com")
	factorID := factorIDRe.FindStringSubmatch(sent.body)[1]
	// The pending method is listed with "enter the code" and "send a new code".
	expect(t, b.get("/security"), 200, "/security", `id="confirm-`+factorID+`"`, `id="resend-`+factorID+`"`)
	expect(t, b.get("/security/factors/"+factorID+"/confirm"), 200, "/security/factors/"+factorID+"/confirm", `id="sent-form"`)
	backupCodes(t, b.post("/security/factors/"+factorID+"/confirm", url.Values{"method": {"email"}, "code": {p.box.last(t, "fay@example.com", mailCodeRe)}}))

	sec := b.get("/security")
	expect(t, sec, 200, "/security", `id="send-code"`, `id="send-regenerate-email"`, `id="send-disable-email"`, `id="send-password-email"`)
	asked := b.post("/security/send-code/email", url.Values{"for": {"regenerate"}})
	expect(t, asked, 200, "/security/send-code/email", "Code sent to <strong>f•••@example.com</strong>")
	backupCodes(t, b.post("/security/backup-codes", url.Values{"code": {p.box.last(t, "fay@example.com", mailCodeRe)}}))

	// Asking again at once is refused with the wait, on that form.
	early := b.post("/security/send-code/email", url.Values{"for": {"disable"}})
	expect(t, early, http.StatusTooManyRequests, "/security/send-code/email", signin.ErrResendTooSoon.Message, `id="disable-error"`)
}

// A provider that cannot deliver, and a spent hourly quota, each get a
// clear message on the page the user is on.
func TestDeliveryFailureAndQuotaAreExplained(t *testing.T) {
	p := newSentPortalWith(t, func(c *config.Config) { c.UserSendsPerHour = 2 })
	p.addOrg("strict", store.OrgPolicy{MFA: store.MFARequired})
	p.addUser("strict", "gus", "correct horse battery")
	b := p.browser()
	expect(t, b.login("strict", "gus", "correct horse battery"), 200, "/login/enroll")

	p.phones.FailWith(http.StatusServiceUnavailable, 30003) // unreachable destination handset
	failed := b.post("/login/enroll/sms", url.Values{"phone": {unreachable}})
	expect(t, failed, http.StatusBadGateway, "/login/enroll/sms", signin.ErrDelivery.Message, `value="`+strings.ReplaceAll(unreachable, "+", "&#43;")+`"`)
	p.phones.Succeed()

	sent := b.post("/login/enroll/sms", url.Values{"phone": {"+447700900123"}})
	expect(t, sent, 200, "/login/enroll/sms", "Code sent to")
	factorID := factorIDRe.FindStringSubmatch(sent.body)[1]
	p.clock.Advance(31 * time.Second)
	quota := b.post("/login/enroll/resend", with(carried(t, sent), "factor_id", factorID, "method", "sms"))
	expect(t, quota, http.StatusTooManyRequests, "/login/enroll/resend", signin.ErrSendQuota.Message, `id="resend-error"`, `class="countdown"`)
}
