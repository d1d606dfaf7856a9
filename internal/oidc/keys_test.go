package oidc_test

import (
	"context"
	"testing"
	"time"

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
