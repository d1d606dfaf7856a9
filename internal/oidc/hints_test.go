package oidc_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// login_hint fills in the username on the sign-in page (the user can still
// change it); ui_locales is accepted, advertised as English only, and the
// sign-in goes on in English.
func TestLoginHintAndUILocales(t *testing.T) {
	r, p, ph, _, _ := setup(t)
	b := r.browser()
	a := p.authorize(oauth2.SetAuthURLParam("login_hint", "alice"), oauth2.SetAuthURLParam("ui_locales", "de-CH en"))
	pg := b.get(a.url)
	if !strings.Contains(pg.body, `id="login-form"`) || !strings.Contains(pg.body, `name="username"`) ||
		!strings.Contains(pg.body, `value="alice"`) {
		t.Fatalf("the sign-in page does not offer the hinted username: %s", pg.body)
	}
	// A hint cannot inject markup.
	a2 := p.authorize(oauth2.SetAuthURLParam("login_hint", `"><script>x</script>`))
	if pg2 := r.browser().get(a2.url); strings.Contains(pg2.body, "<script>x") {
		t.Fatalf("login_hint reached the page unescaped: %s", pg2.body)
	}
	_, c, _ := p.finish(a, b.through(pg, "acme", "alice", &ph))
	if c.Username != "alice" {
		t.Fatalf("signed in as %q", c.Username)
	}

	res, err := http.Get(r.base + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var doc struct {
		UILocales []string `json:"ui_locales_supported"`
	}
	json.NewDecoder(res.Body).Decode(&doc)
	if !slices.Equal(doc.UILocales, []string{"en"}) {
		t.Errorf("ui_locales_supported = %v, want [en]", doc.UILocales)
	}
}
