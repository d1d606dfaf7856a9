package oidc_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/store"
)

// The scheduled rotation (--oidc-key-rotation, run by the sweep) publishes
// a new key an hour before it signs, keeps the old one published for 48
// hours after it stopped signing, and then drops it.
func TestScheduledRotationPublishesTheNewKeyBeforeItSigns(t *testing.T) {
	r, p, ph, _, _ := setup(t)
	ctx := context.Background()
	signIn := func() string {
		t.Helper()
		b := r.browser()
		a := p.authorize()
		_, _, raw := p.finish(a, b.through(b.get(a.url), "acme", "alice", &ph))
		return raw
	}
	oldKid := kidOf(t, signIn())
	before := jwks(t, r)

	r.app.Sweep(ctx)
	if got := jwks(t, r); len(got) != len(before) {
		t.Fatalf("a sweep before the rotation is due changed the key set: %v → %v", before, got)
	}

	r.advance(30*24*time.Hour + time.Minute) // the default period
	r.app.Sweep(ctx)
	announced := jwks(t, r)
	if len(announced) != len(before)+2 {
		t.Fatalf("after the due sweep: %d keys, want %d (new ES256 and RS256 announced)", len(announced), len(before)+2)
	}
	r.app.Sweep(ctx) // nothing more while a key waits
	if got := jwks(t, r); len(got) != len(announced) {
		t.Fatalf("a second sweep announced again: %d keys", len(got))
	}
	// Announced, not yet signing.
	if kid := kidOf(t, signIn()); kid != oldKid {
		t.Fatalf("a token was signed with the announced key %s before its hour", kid)
	}
	var newKid string
	for kid, alg := range announced {
		if _, old := before[kid]; !old && alg == "ES256" {
			newKid = kid
		}
	}

	r.advance(61 * time.Minute)
	raw := signIn()
	if kidOf(t, raw) != newKid {
		t.Fatalf("after the hour the token is signed with %s, want the announced %s", kidOf(t, raw), newKid)
	}
	if _, ok := jwks(t, r)[oldKid]; !ok {
		t.Fatal("the old key left the key set as soon as it stopped signing")
	}
	if _, err := p.verifier.Verify(ctx, raw); err != nil {
		t.Fatalf("a token of the new key: %v", err)
	}

	r.advance(49 * time.Hour)
	r.app.Sweep(ctx)
	after := jwks(t, r)
	if _, ok := after[oldKid]; ok || len(after) != 2 {
		t.Fatalf("48 hours after it stopped signing, the key set is %v (old %s)", after, oldKid)
	}
	keys, err := r.app.Store.ListSigningKeys(ctx)
	if err != nil || len(keys) != 2 {
		t.Fatalf("stored keys after the sweep: %d, %v; want the two current ones", len(keys), err)
	}
	evs, _ := r.app.Store.ListAudit(ctx, store.AuditFilter{Event: "oidc.signing_key_rotate"})
	if len(evs) != 1 {
		t.Errorf("%d audit events for the scheduled rotation, want 1", len(evs))
	}
}

// With --oidc-key-rotation 0 the keys change only by hand.
func TestNoScheduledRotationWhenTurnedOff(t *testing.T) {
	r := newRig(t, func(c *config.Config) { c.OIDCKeyRotation = 0 })
	r.cli("", "org", "create", "--slug", "acme", "--name", "Acme Corp")
	before := jwks(t, r)
	r.advance(400 * 24 * time.Hour)
	r.app.Sweep(context.Background())
	if got := jwks(t, r); len(got) != len(before) {
		t.Fatalf("keys changed with the rotation off: %d → %d", len(before), len(got))
	}
}

// algOf returns the alg header of a JWT.
func algOf(t *testing.T, raw string) string {
	t.Helper()
	h, _, _ := strings.Cut(raw, ".")
	b, err := base64URL(h)
	if err != nil {
		t.Fatal(err)
	}
	var hd struct {
		Alg string `json:"alg"`
	}
	json.Unmarshal(b, &hd)
	return hd.Alg
}

// A client registered with id_token_signed_response_alg RS256 gets RS256
// ID and access tokens (a relying party that verifies only RSA accepts
// them, also after a refresh); other clients keep ES256. The discovery
// document offers both.
func TestAnRS256ClientGetsRS256Tokens(t *testing.T) {
	r, es, ph, _, _ := setup(t)
	id, secret := r.client("acme", "web", "--id-token-alg", "RS256")
	rs := r.relyingParty(id, secret)
	rs.verifier = rs.provider.Verifier(&gooidc.Config{ClientID: id, SupportedSigningAlgs: []string{"RS256"}})
	b := r.browser()
	a := rs.authorize()
	tok, c, raw := rs.finish(a, b.through(b.get(a.url), "acme", "alice", &ph))
	if algOf(t, raw) != "RS256" || algOf(t, tok.AccessToken) != "RS256" || c.ACR != "mfa" {
		t.Fatalf("RS256 client: id token %s, access token %s, acr %s", algOf(t, raw), algOf(t, tok.AccessToken), c.ACR)
	}
	if jwks(t, r)[kidOf(t, raw)] != "RS256" {
		t.Fatalf("the RS256 token's key %s is not in the key set as RS256", kidOf(t, raw))
	}
	tok.Expiry = time.Now().Add(-time.Minute)
	next, err := rs.conf.TokenSource(context.Background(), tok).Token()
	if err != nil {
		t.Fatal(err)
	}
	if raw2, _ := next.Extra("id_token").(string); algOf(t, raw2) != "RS256" {
		t.Fatalf("refreshed ID token alg %s", algOf(t, raw2))
	} else if _, err := rs.verifier.Verify(context.Background(), raw2); err != nil {
		t.Fatalf("refreshed ID token: %v", err)
	}
	// Introspection of an RS256 access token works.
	st, m := r.tokenCall("/oauth2/introspect", id, secret, url.Values{"token": {next.AccessToken}})
	if st != 200 || m["active"] != true {
		t.Fatalf("introspection: %d %v", st, m)
	}

	// A public client (client_id in the form, no secret) gets its algorithm too.
	pub, _ := r.client("acme", "spa", "--id-token-alg", "RS256")
	pp := r.relyingParty(pub, "")
	pp.verifier = pp.provider.Verifier(&gooidc.Config{ClientID: pub, SupportedSigningAlgs: []string{"RS256"}})
	a = pp.authorize()
	if _, _, raw = pp.finish(a, b.through(b.get(a.url), "", "", nil)); algOf(t, raw) != "RS256" {
		t.Fatalf("public RS256 client got %s", algOf(t, raw))
	}

	a = es.authorize()
	_, _, raw = es.finish(a, b.through(b.get(a.url), "", "", nil))
	if algOf(t, raw) != "ES256" {
		t.Fatalf("the default client got %s", algOf(t, raw))
	}
	res, err := http.Get(r.base + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var doc struct {
		Algs []string `json:"id_token_signing_alg_values_supported"`
	}
	json.NewDecoder(res.Body).Decode(&doc)
	if !slices.Contains(doc.Algs, "ES256") || !slices.Contains(doc.Algs, "RS256") {
		t.Errorf("id_token_signing_alg_values_supported = %v", doc.Algs)
	}
}
