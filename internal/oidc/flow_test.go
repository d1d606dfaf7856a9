package oidc_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// setup makes org acme with alice (an authenticator app) and a web client
// of acme, and returns the relying party and alice's phone.
func setup(t *testing.T) (*rig, *rp, phone, string, string) {
	r := newRig(t, nil)
	r.cli("", "org", "create", "--slug", "acme", "--name", "Acme Corp")
	r.user("acme", "alice")
	ph := r.enrollTOTP("acme", "alice")
	id, secret := r.client("acme", "web")
	return r, r.relyingParty(id, secret), ph, id, secret
}

func TestAnAppSignsInWithPasswordAndTOTPThroughThePortal(t *testing.T) {
	r, p, ph, _, _ := setup(t)
	b := r.browser()
	a := p.authorize()
	cb := b.through(b.get(a.url), "acme", "alice", &ph)
	tok, c, _ := p.finish(a, cb)
	if c.ACR != "mfa" || !slices.Contains(c.AMR, "pwd") || !slices.Contains(c.AMR, "otp") || !slices.Contains(c.AMR, "mfa") {
		t.Errorf("acr %q amr %v, want mfa and pwd+otp+mfa", c.ACR, c.AMR)
	}
	if c.Username != "alice" || c.Email != "alice@example.com" || c.Org.Slug != "acme" || c.Role != "member" ||
		!slices.Equal(c.Org.Path, []string{"platform", "acme"}) || c.Subject == "" || c.Subject == "alice" || c.SID == "" {
		t.Errorf("claims %+v", c)
	}
	if at := time.Unix(c.AuthTime, 0); r.now().Sub(at) > 5*time.Minute || at.After(r.now()) {
		t.Errorf("auth_time %v, now %v", at, r.now())
	}
	if tok.RefreshToken == "" || tok.AccessToken == "" {
		t.Fatalf("token %+v", tok)
	}
	ui, err := p.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok))
	if err != nil || ui.Subject != c.Subject || ui.Email != "alice@example.com" {
		t.Fatalf("userinfo %+v, %v", ui, err)
	}

	// A second app sign-in in the same browser needs no password: the
	// session is reused (SSO), and the same level is reported.
	a2 := p.authorize()
	cb = b.through(b.get(a2.url), "", "", nil)
	_, c2, _ := p.finish(a2, cb)
	if c2.Subject != c.Subject || c2.ACR != "mfa" {
		t.Errorf("second sign-in %+v", c2)
	}

	// Refresh: a new refresh token every time; the old one, presented
	// again, revokes the whole family.
	old := tok.RefreshToken
	tok.Expiry = time.Now().Add(-time.Minute)
	next, err := p.conf.TokenSource(context.Background(), tok).Token()
	if err != nil || next.RefreshToken == "" || next.RefreshToken == old {
		t.Fatalf("refresh: %+v %v", next, err)
	}
	if raw, _ := next.Extra("id_token").(string); raw != "" {
		idt, err := p.verifier.Verify(context.Background(), raw)
		var rc claims
		if err != nil || idt.Claims(&rc) != nil || rc.ACR != "mfa" || !slices.Contains(rc.AMR, "mfa") {
			t.Errorf("refreshed ID token: %v %+v", err, rc)
		}
	}
	st, m := r.tokenCall("/oauth2/token", p.conf.ClientID, p.conf.ClientSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {old}})
	wantOAuthError(t, "reused refresh token", st, m, 400, "invalid_grant")
	st, m = r.tokenCall("/oauth2/token", p.conf.ClientID, p.conf.ClientSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {next.RefreshToken}})
	wantOAuthError(t, "refresh token of a revoked family", st, m, 400, "invalid_grant")
	if _, err := p.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(next)); err == nil {
		t.Error("userinfo with an access token of a revoked family succeeded")
	}
}

func TestStepUpRunsOnlyTheMissingStep(t *testing.T) {
	r, p, ph, _, _ := setup(t)
	b := r.browser()
	a := p.authorize()
	_, first, _ := p.finish(a, b.through(b.get(a.url), "acme", "alice", &ph))

	// Ten minutes later an app asks for max_age=60: only a fresh code is
	// asked (no password form), and auth_time moves.
	r.advance(10 * time.Minute)
	a = p.authorize(oauth2.SetAuthURLParam("max_age", "60"))
	pg := b.get(a.url)
	if !containsAll(pg.body, `id="app-confirm-form"`) {
		t.Fatalf("max_age: want the fresh check, got %s", pg.body)
	}
	_, c, _ := p.finish(a, b.through(pg, "", "", &ph))
	if c.AuthTime <= first.AuthTime || c.ACR != "mfa" {
		t.Errorf("after max_age step-up: auth_time %d (before %d), acr %s", c.AuthTime, first.AuthTime, c.ACR)
	}

	// acr_values=mfa with a session that has it: no interaction at all.
	a = p.authorize(oauth2.SetAuthURLParam("acr_values", "mfa"))
	pg = b.get(a.url)
	if !hrefAttr.MatchString(pg.body) {
		t.Fatalf("acr_values=mfa with an mfa session: want straight through, got %s", pg.body)
	}
	p.finish(a, b.through(pg, "", "", nil))

	// prompt=none with a stale session answers login_required... no:
	// interaction_required, at the app, without a page.
	r.advance(10 * time.Minute)
	a = p.authorize(oauth2.SetAuthURLParam("max_age", "60"), oauth2.SetAuthURLParam("prompt", "none"))
	cb := b.through(b.get(a.url), "", "", nil)
	if cb.Query().Get("error") != "interaction_required" || cb.Query().Get("state") != a.state {
		t.Errorf("prompt=none with a stale session: %s", cb)
	}
}

func TestAPasswordOnlySessionIsSteppedUpForAppsThatNeedMFA(t *testing.T) {
	r := newRig(t, nil)
	r.cli("", "org", "create", "--slug", "acme", "--name", "Acme Corp")
	r.user("acme", "bob")
	id, secret := r.client("acme", "web")
	p := r.relyingParty(id, secret)
	b := r.browser()
	a := p.authorize()
	_, c, _ := p.finish(a, b.through(b.get(a.url), "acme", "bob", nil))
	if c.ACR != "pwd" || slices.Contains(c.AMR, "mfa") || !slices.Contains(c.AMR, "pwd") {
		t.Errorf("password-only sign-in: acr %s amr %v", c.ACR, c.AMR)
	}
	// An app asking for mfa from a user without any factor: set one up first.
	a = p.authorize(oauth2.SetAuthURLParam("acr_values", "mfa"))
	if pg := b.get(a.url); !containsAll(pg.body, `id="app-security"`) {
		t.Fatalf("acr_values=mfa without a factor: %s", pg.body)
	}
	// With a factor (added elsewhere), the same browser is asked for a
	// code only, and the token says mfa.
	ph := r.enrollTOTP("acme", "bob")
	a = p.authorize(oauth2.SetAuthURLParam("acr_values", "mfa"))
	pg := b.get(a.url)
	if !containsAll(pg.body, `id="app-confirm-form"`) {
		t.Fatalf("acr_values=mfa with a factor: want the fresh check, got %s", pg.body)
	}
	_, c, _ = p.finish(a, b.through(pg, "", "", &ph))
	if c.ACR != "mfa" || !slices.Contains(c.AMR, "otp") {
		t.Errorf("stepped up: acr %s amr %v", c.ACR, c.AMR)
	}
	// A client with require_mfa always asks for it.
	mid, msecret := r.client("acme", "web", "--require-mfa")
	mp := r.relyingParty(mid, msecret)
	b2 := r.browser()
	a = mp.authorize()
	_, c, _ = mp.finish(a, b2.through(b2.get(a.url), "acme", "bob", &ph))
	if c.ACR != "mfa" {
		t.Errorf("require_mfa client: acr %s", c.ACR)
	}
}

func TestLogoutEndsTheTwofoldSessionAndItsGrants(t *testing.T) {
	r, p, ph, id, secret := setup(t)
	b := r.browser()
	a := p.authorize()
	tok, _, raw := p.finish(a, b.through(b.get(a.url), "acme", "alice", &ph))
	pg := b.get("/oauth2/end_session?" + url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {"http://127.0.0.1:9/bye"},
		"state": {"s1"}}.Encode())
	if pg.loc == nil || pg.loc.Path != "/bye" || pg.loc.Query().Get("state") != "s1" {
		t.Fatalf("end_session: %d %v %s", pg.status, pg.loc, pg.body)
	}
	// The portal session is gone: the next app sign-in asks for the password.
	a = p.authorize()
	if pg := b.get(a.url); !containsAll(pg.body, `id="login-form"`) {
		t.Fatalf("after logout: %s", pg.body)
	}
	st, m := r.tokenCall("/oauth2/token", id, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
	wantOAuthError(t, "refresh after logout", st, m, 400, "invalid_grant")
	// An unregistered post-logout redirect is refused, not followed.
	pg = b.get("/oauth2/end_session?" + url.Values{"client_id": {id}, "post_logout_redirect_uri": {"https://evil.example/"}}.Encode())
	if pg.loc != nil {
		t.Errorf("end_session followed an unregistered redirect: %v", pg.loc)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

func TestPromptConsentShowsWhatTheAppGets(t *testing.T) {
	r, p, ph, _, _ := setup(t)
	b := r.browser()
	a := p.authorize()
	p.finish(a, b.through(b.get(a.url), "acme", "alice", &ph))

	// Without prompt=consent a first-party app shows no screen (above);
	// with it, the user sees the scopes and decides.
	a = p.authorize(oauth2.SetAuthURLParam("prompt", "consent"))
	pg := b.get(a.url)
	if !containsAll(pg.body, `id="app-consent-form"`, "your email address", "stay signed in") {
		t.Fatalf("consent screen: %s", pg.body)
	}
	cb := b.through(b.post("/login/app/consent", url.Values{"decision": {"deny"}}), "", "", nil)
	if cb.Query().Get("error") != "access_denied" || cb.Query().Get("state") != a.state {
		t.Fatalf("refused consent: %s", cb)
	}
	a = p.authorize(oauth2.SetAuthURLParam("prompt", "consent"))
	b.get(a.url)
	_, c, _ := p.finish(a, b.through(b.post("/login/app/consent", url.Values{"decision": {"allow"}}), "", "", nil))
	if c.Username != "alice" {
		t.Errorf("after consent: %+v", c)
	}
}
