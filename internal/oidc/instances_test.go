package oidc_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/store/postgres/pgtest"
)

// Two instances on one PostgreSQL behind one public URL: a code issued by
// one is redeemed at the other, a refresh token rotated at one is refused
// as reused at the other, and a signing key rotated at one is served and
// used by both.
func TestTwoInstancesOnPostgreSQLShareCodesTokensAndKeys(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	var key [32]byte
	rand.Read(key[:])
	secretKey := "k1:" + base64.StdEncoding.EncodeToString(key[:])
	shared := func(c *config.Config) { c.DatabaseURL, c.SecretKey = dsn, secretKey }
	offset := new(atomic.Int64)
	one := startRig(t, shared, "", offset)
	two := startRig(t, shared, one.issuer, offset)

	one.cli("", "org", "create", "--slug", "acme", "--name", "Acme Corp")
	one.user("acme", "alice")
	ph := one.enrollTOTP("acme", "alice")
	id, secret := one.client("acme", "web")
	p := one.relyingParty(id, secret)

	// Signed in at one; the code is redeemed at two.
	b := one.browser()
	a := p.authorize()
	cb := b.through(b.get(a.url), "acme", "alice", &ph)
	st, m := two.tokenCall("/oauth2/token", id, secret, url.Values{"grant_type": {"authorization_code"},
		"code": {cb.Query().Get("code")}, "redirect_uri": {rpCallback}, "code_verifier": {a.verifier}})
	if st != 200 {
		t.Fatalf("code of one redeemed at two: %d %v", st, m)
	}
	raw := m["id_token"].(string)
	if _, err := p.verifier.Verify(context.Background(), raw); err != nil {
		t.Fatalf("ID token from two against one's key set: %v", err)
	}
	// The same code again, at one: refused, and the grant is revoked.
	st, m2 := one.tokenCall("/oauth2/token", id, secret, url.Values{"grant_type": {"authorization_code"},
		"code": {cb.Query().Get("code")}, "redirect_uri": {rpCallback}, "code_verifier": {a.verifier}})
	wantOAuthError(t, "the code again at one", st, m2, 400, "invalid_grant")
	st, m2 = two.tokenCall("/oauth2/token", id, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {m["refresh_token"].(string)}})
	wantOAuthError(t, "refresh of the revoked grant at two", st, m2, 400, "invalid_grant")

	// A fresh grant: rotated at two, the old token is refused at one.
	a = p.authorize()
	tok, _, oldRaw := p.finish(a, b.through(b.get(a.url), "", "", nil))
	st, m = two.tokenCall("/oauth2/token", id, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
	if st != 200 {
		t.Fatalf("refresh at two: %d %v", st, m)
	}
	st, m2 = one.tokenCall("/oauth2/token", id, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
	wantOAuthError(t, "reuse at one", st, m2, 400, "invalid_grant")

	// A key rotated at one is served by both, and two signs with it.
	before := jwks(t, two)
	one.cli("", "keys", "rotate-signing")
	k1, k2 := jwks(t, one), jwks(t, two)
	if len(k1) != len(before)+2 || len(k2) != len(k1) {
		t.Fatalf("key sets after rotation: one %d, two %d, before %d", len(k1), len(k2), len(before))
	}
	for kid := range k1 {
		if _, ok := k2[kid]; !ok {
			t.Errorf("key %s served by one, not by two", kid)
		}
	}
	a = p.authorize()
	cb = b.through(b.get(a.url), "", "", nil)
	st, m = two.tokenCall("/oauth2/token", id, secret, url.Values{"grant_type": {"authorization_code"},
		"code": {cb.Query().Get("code")}, "redirect_uri": {rpCallback}, "code_verifier": {a.verifier}})
	if st != 200 {
		t.Fatalf("redeem at two after rotation: %d %v", st, m)
	}
	newRaw := m["id_token"].(string)
	if _, isNew := before[kidOf(t, newRaw)]; isNew || kidOf(t, newRaw) == kidOf(t, oldRaw) {
		t.Errorf("two signs with an old key after the rotation at one")
	}
	if _, err := p.verifier.Verify(context.Background(), newRaw); err != nil {
		t.Errorf("new ID token: %v", err)
	}
}

// The scheduled rotation on PostgreSQL: both instances sweep once the
// period is over; one new key pair is announced (the second sweep sees
// the first's announcement), both publish it, and after the hour both sign
// with it.
func TestScheduledRotationOnTwoInstances(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	var key [32]byte
	rand.Read(key[:])
	secretKey := "k1:" + base64.StdEncoding.EncodeToString(key[:])
	shared := func(c *config.Config) { c.DatabaseURL, c.SecretKey = dsn, secretKey }
	offset := new(atomic.Int64)
	one := startRig(t, shared, "", offset)
	two := startRig(t, shared, one.issuer, offset)
	before := jwks(t, one)

	one.advance(31 * 24 * time.Hour)
	one.app.Sweep(context.Background())
	two.app.Sweep(context.Background())
	k1, k2 := jwks(t, one), jwks(t, two)
	if len(k1) != len(before)+2 || len(k2) != len(k1) {
		t.Fatalf("after both swept: one %d keys, two %d, before %d; want one new pair on both", len(k1), len(k2), len(before))
	}
	var announced string
	for kid, alg := range k1 {
		if _, old := before[kid]; !old && alg == "ES256" {
			announced = kid
		}
	}
	one.advance(61 * time.Minute)
	for _, r := range []*rig{one, two} {
		signer, err := r.app.SigningKeys().Active(context.Background())
		if err != nil || signer.ID() != announced {
			t.Fatalf("an instance signs with %v (%v), want the announced %s", signer, err, announced)
		}
	}
}
