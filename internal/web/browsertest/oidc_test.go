package browsertest

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// relyingParty is an app that signs its users in through Twofold with
// coreos/go-oidc and x/oauth2: /start sends the browser to Twofold, /cb
// redeems the code, verifies the ID token against the key set and shows
// who signed in and how.
func relyingParty(t *testing.T, issuer string, register func(redirect string) (id, secret string)) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	id, secret := register(base + "/cb")
	var (
		conf     oauth2.Config
		verifier *gooidc.IDTokenVerifier
		pkce     = oauth2.GenerateVerifier()
		state    = "st-" + pkce[:8]
	)
	setup := func(ctx context.Context) error {
		if verifier != nil {
			return nil
		}
		p, err := gooidc.NewProvider(ctx, issuer)
		if err != nil {
			return err
		}
		conf = oauth2.Config{ClientID: id, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: base + "/cb",
			Scopes: []string{gooidc.ScopeOpenID, "profile", "email"}}
		verifier = p.Verifier(&gooidc.Config{ClientID: id})
		return nil
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /start", func(w http.ResponseWriter, r *http.Request) {
		if err := setup(r.Context()); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		http.Redirect(w, r, conf.AuthCodeURL(state, oauth2.S256ChallengeOption(pkce)), http.StatusFound)
	})
	mux.HandleFunc("GET /cb", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("state") != state || q.Get("iss") != issuer {
			http.Error(w, "bad state or iss", 400)
			return
		}
		tok, err := conf.Exchange(r.Context(), q.Get("code"), oauth2.VerifierOption(pkce))
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := verifier.Verify(r.Context(), raw)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		var c struct {
			User string   `json:"preferred_username"`
			ACR  string   `json:"acr"`
			AMR  []string `json:"amr"`
		}
		idt.Claims(&c)
		fmt.Fprintf(w, `<!doctype html><title>App</title><h1>Welcome to the app</h1><p id="who">%s</p><p id="acr">%s</p><p id="amr">%s</p>`,
			html.EscapeString(c.User), html.EscapeString(c.ACR), html.EscapeString(strings.Join(c.AMR, " ")))
	})
	srv.Config.Handler = mux
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func TestAnAppSignsInThroughThePortalInChromium(t *testing.T) {
	p := newPortal(t)
	// The provider is built at its first use, with the portal's own
	// address as its issuer.
	p.app.Config.PublicURL = p.srv.URL
	p.addOrg("acme", "Acme Inc", "required")
	p.addUser("acme", "alice", pw)
	b := p.newTab()
	b.open("/login")
	en := b.enroll("acme", "alice", pw)
	b.signOut()
	p.nextStep()

	app := relyingParty(t, p.srv.URL, func(redirect string) (string, string) {
		out := p.cli("", "client", "create", "--org", "acme", "--name", "Wiki", "--kind", "web", "--redirect-uris", redirect)
		var id, secret string
		for _, l := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(l, "client_id: "); ok {
				id = v
			}
			if strings.HasPrefix(l, "tfc_") {
				secret = l
			}
		}
		return id, secret
	})

	// The app sends the browser to Twofold: password, then the code,
	// then back to the app — across the form-action policy of the portal.
	if resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(app.URL+"/start")); err != nil || resp.Status != 200 {
		t.Fatalf("open the app: %v %v", resp, err)
	}
	if got := b.h1(); got != "Sign in" {
		t.Fatalf("the app led to %q (%s)", got, b.path())
	}
	if n := eval[string](b, `(document.querySelector(".alert.ok") || {textContent: ""}).textContent`); !strings.Contains(n, "Wiki") {
		t.Errorf("the sign-in page does not name the app: %q", n)
	}
	b.fill("org", "acme")
	b.fill("username", "alice")
	b.fill("password", pw)
	b.click("login-submit")
	// The second step names this tab's app sign-in (app_req), so that
	// another tab's sign-in to another app cannot take it over.
	if path := b.path(); !strings.HasPrefix(path, "/login/verify?app_req=") || b.h1() != "Confirm it is you" {
		t.Fatalf("after the password: %s (h1 %q)", path, b.h1())
	}
	b.fill("code", p.totpCode(en.secret))
	b.click("verify-submit")
	// The portal's interstitial hands the browser on to the app by script.
	b.do(chromedp.WaitVisible(chromedp.ID("who")))
	if got := b.h1(); got != "Welcome to the app" {
		t.Fatalf("after the code the browser is at %q: %s", b.path(), eval[string](b, "document.body.innerText"))
	}
	if who, acr, amr := b.text("who"), b.text("acr"), b.text("amr"); who != "alice" || acr != "mfa" || !strings.Contains(amr, "otp") {
		t.Errorf("the app saw %q acr %q amr %q", who, acr, amr)
	}
}
