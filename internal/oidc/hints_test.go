package oidc_test

import (
	"encoding/json"
	"net/http"
	"net/url"
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

// Two tabs of one browser sign in to two apps at once: the first tab
// opens app one's sign-in, the second app two's; each tab ends at its own
// app, whichever finishes first.
func TestTwoAppSignInsInOneBrowser(t *testing.T) {
	r, p1, ph, _, _ := setup(t)
	id2, secret2 := r.client("acme", "web")
	p2 := r.relyingParty(id2, secret2)
	b := r.browser()
	a1, a2 := p1.authorize(), p2.authorize()
	tab1 := b.get(a1.url) // app one's sign-in page
	tab2 := b.get(a2.url) // then app two's, in another tab
	if !strings.Contains(tab1.body, `id="login-form"`) || !strings.Contains(tab2.body, `id="login-form"`) {
		t.Fatalf("no sign-in pages: %s / %s", tab1.body, tab2.body)
	}
	_, c1, _ := p1.finish(a1, b.through(tab1, "acme", "alice", &ph)) // tab one finishes first
	if c1.Username != "alice" {
		t.Fatalf("app one: %+v", c1)
	}
	// Tab two still shows its form; sending it goes to app two.
	_, c2, _ := p2.finish(a2, b.through(tab2, "acme", "alice", &ph))
	if c2.Subject != c1.Subject {
		t.Fatalf("app two: %+v", c2)
	}
}

// The tabs interleave: tab one sends its password, tab two sends its
// password, then tab one enters its code: tab one still ends at app one.
func TestTwoAppSignInsInterleavedAtTheSecondStep(t *testing.T) {
	r, p1, ph, _, _ := setup(t)
	id2, secret2 := r.client("acme", "web")
	p2 := r.relyingParty(id2, secret2)
	b := r.browser()
	a1, a2 := p1.authorize(), p2.authorize()
	tab1, tab2 := b.get(a1.url), b.get(a2.url)
	pw := func(tab page) page {
		return b.post("/login", withAppReq(tab, url.Values{"org": {"acme"}, "username": {"alice"}, "password": {testPassword}}))
	}
	step1 := pw(tab1)
	step2 := pw(tab2)
	if !strings.Contains(step1.body, `action="/login/verify"`) || !strings.Contains(step2.body, `action="/login/verify"`) {
		t.Fatalf("no second-step pages: %s", step1.body)
	}
	_, c1, _ := p1.finish(a1, b.through(step1, "acme", "alice", &ph))
	_, c2, _ := p2.finish(a2, b.through(step2, "acme", "alice", &ph))
	if c1.Subject != c2.Subject {
		t.Fatalf("subjects %s / %s", c1.Subject, c2.Subject)
	}
}
