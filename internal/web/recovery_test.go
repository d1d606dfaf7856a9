package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/notify/smtptest"
	"github.com/twofold-id/twofold/internal/store"
)

var resetLinkRe = regexp.MustCompile(`(/reset-password\?token=[A-Za-z0-9_\-]+)`)

// resetLink waits for the newest reset mail to addr (sent after the
// answer, in the background) and returns its link.
func (p *sentPortal) resetLink(addr string, after int) string {
	p.t.Helper()
	m := p.box.WaitFor(p.t, func(m smtptest.Message) bool {
		return m.Index >= after && len(m.To) == 1 && m.To[0] == addr && strings.HasPrefix(m.Subject, "Reset your password")
	}, 5*time.Second)
	g := resetLinkRe.FindStringSubmatch(m.Body)
	if g == nil {
		p.t.Fatalf("reset mail without a link:\n%s", m.Body)
	}
	return g[1]
}

// A user who forgot the password follows "Forgot your password?" from the
// sign-in page, gets the link by mail, and — having an authenticator app —
// needs a current code to set the new password; the link then stops
// working, and the next sign-in still asks for the code.
func TestForgotPasswordInThePortal(t *testing.T) {
	p := newSentPortal(t)
	p.addOrg("acme", store.OrgPolicy{})
	p.addUserWithEmail("acme", "dora", "correct horse battery", "dora@example.com")
	b := p.browser()
	expect(t, b.login("acme", "dora", "correct horse battery"), 200, "/")
	secret := b.addTOTP()

	anon := p.browser()
	expect(t, anon.get("/login"), 200, "/login", `id="forgot-link"`, "Forgot your password?")
	expect(t, anon.get("/forgot-password?org=acme"), 200, "/forgot-password", `id="forgot-form"`, `value="acme"`, `<label for="login">`)
	n := p.box.Count()
	sent := anon.post("/forgot-password", url.Values{"org": {"acme"}, "login": {"dora"}})
	expect(t, sent, 200, "/forgot-password", `id="forgot-sent"`)
	// Someone who does not exist gets the same words.
	nobody := anon.post("/forgot-password", url.Values{"org": {"acme"}, "login": {"nobody"}})
	expect(t, nobody, 200, "/forgot-password", `id="forgot-sent"`)
	if strings.ReplaceAll(nobody.body, "nobody", "dora") != sent.body && nobody.body != sent.body {
		t.Error("the page for an unknown name differs from the one for a real account")
	}
	link := p.resetLink("dora@example.com", n)

	// Opening the link (as a mail scanner would) changes nothing.
	form := anon.get(link)
	expect(t, form, 200, "/reset-password", `id="reset-form"`, "For dora at Acme Inc.", `name="code"`)
	tok := strings.TrimPrefix(link, "/reset-password?token=")
	const newPW = "a new and long passphrase"

	noCode := anon.post("/reset-password", url.Values{"token": {tok}, "new_password": {newPW}, "confirm_password": {newPW}})
	expect(t, noCode, http.StatusBadRequest, "/reset-password", "Enter a current code", `aria-invalid="true"`)
	mismatch := anon.post("/reset-password", url.Values{"token": {tok}, "new_password": {newPW}, "confirm_password": {"other"}, "code": {p.code(secret)}})
	expect(t, mismatch, http.StatusBadRequest, "/reset-password", "not the same")
	done := anon.post("/reset-password", url.Values{"token": {tok}, "new_password": {newPW}, "confirm_password": {newPW}, "code": {p.code(secret)}})
	expect(t, done, 200, "/login", "Your new password is set")

	again := anon.get(link)
	expect(t, again, http.StatusBadRequest, "/reset-password", "not valid any more", `id="ask-again"`)
	// The old browser session ended; the new password still needs the code.
	expect(t, b.get("/security"), 200, "/login")
	expect(t, p.browser().login("acme", "dora", newPW), 200, "/login/verify", `id="lost-phone"`, "admin can reset two-step sign-in")
}
