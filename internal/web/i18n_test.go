package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/twofold-id/twofold/internal/store"
)

// getIn fetches path with a browser's Accept-Language.
func (b *browser) getIn(lang, path string) page {
	b.p.t.Helper()
	req, _ := http.NewRequest("GET", b.p.srv.URL+path, nil)
	req.Header.Set("Accept-Language", lang)
	return b.do(req)
}

// postIn posts a form with a browser's Accept-Language.
func (b *browser) postIn(lang, path string, form url.Values) page {
	b.p.t.Helper()
	req, _ := http.NewRequest("POST", b.p.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.p.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Accept-Language", lang)
	return b.do(req)
}

// A browser that prefers German gets the sign-in pages in German, with
// lang="de" and German labels and errors; every other browser English.
func TestSignInPagesSpeakTheBrowsersLanguage(t *testing.T) {
	p := newPortal(t)
	p.addOrg("acme", store.OrgPolicy{})
	p.addUser("acme", "dora", pw)
	b := p.browser()

	de := b.getIn("de-DE,de;q=0.9,en;q=0.5", "/login")
	expect(t, de, 200, "/login", `<html lang="de">`, "<title>Anmelden · Twofold</title>", "<h1>Anmelden</h1>",
		`<label for="org">Organisation</label>`, `<label for="username">Benutzername</label>`, `<label for="password">Passwort</label>`,
		"Passwort vergessen?", "Zum Inhalt springen")
	lacks(t, de, "Sign in", "Username", "Skip to content")

	en := b.getIn("fr-FR,en;q=0.5", "/login")
	expect(t, en, 200, "/login", `<html lang="en">`, "<h1>Sign in</h1>", `<label for="username">Username</label>`)

	wrong := b.postIn("de", "/login", url.Values{"org": {"acme"}, "username": {"dora"}, "password": {"falsch falsch"}})
	expect(t, wrong, http.StatusUnauthorized, "/login", `<html lang="de">`, "Organisation, Benutzername oder Passwort sind nicht korrekt.")

	expect(t, b.getIn("de", "/forgot-password"), 200, "/forgot-password", `<html lang="de">`, "Passwort vergessen?",
		`<label for="login">Benutzername oder E-Mail-Adresse</label>`, "Link senden")
	missing := b.postIn("de", "/forgot-password", url.Values{"org": {"acme"}})
	expect(t, missing, http.StatusBadRequest, "/forgot-password", "Geben Sie Ihren Benutzernamen oder Ihre E-Mail-Adresse ein.")
	bad := b.getIn("de", "/reset-password?token=tfr_nope")
	expect(t, bad, http.StatusBadRequest, "/reset-password", `<html lang="de">`, "Dieser Link zum Zurücksetzen ist nicht mehr gültig.")

	// Pages not translated yet say they are English.
	expect(t, b.getIn("de", "/setup"), b.getIn("de", "/setup").status, "/setup", `<html lang="en">`)
}
