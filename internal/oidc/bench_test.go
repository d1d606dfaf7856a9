package oidc_test

import (
	"net/url"
	"os"
	"sync/atomic"
	"testing"

	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/store/postgres/pgtest"
)

// benchRig is a server with alice signed in (password and TOTP) in a
// browser, on SQLite, or on PostgreSQL when TWOFOLD_BENCH_POSTGRES=1 (and
// a DSN is set).
func benchRig(b *testing.B) (*rig, *rp, *browser, string, string) {
	var adjust func(*config.Config)
	if os.Getenv("TWOFOLD_BENCH_POSTGRES") == "1" {
		dsn := pgtest.NewDatabase(b)
		adjust = func(c *config.Config) {
			c.DatabaseURL, c.SecretKey = dsn, "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
		}
	}
	r := startRig(b, adjust, "", new(atomic.Int64))
	r.cli("", "org", "create", "--slug", "acme", "--name", "Acme Corp")
	r.user("acme", "alice")
	ph := r.enrollTOTP("acme", "alice")
	id, secret := r.client("acme", "web")
	p := r.relyingParty(id, secret)
	br := r.browser()
	a := p.authorize()
	p.finish(a, br.through(br.get(a.url), "acme", "alice", &ph))
	return r, p, br, id, secret
}

// BenchmarkCodeRedemption measures the token endpoint redeeming a code
// (client authentication, the single-use redemption transaction, current-
// data checks, signing an access and an ID token).
func BenchmarkCodeRedemption(b *testing.B) {
	r, p, br, id, secret := benchRig(b)
	for b.Loop() {
		b.StopTimer()
		a := p.authorize()
		cb := br.through(br.get(a.url), "", "", nil)
		b.StartTimer()
		st, m := r.tokenCall("/oauth2/token", id, secret, url.Values{"grant_type": {"authorization_code"},
			"code": {cb.Query().Get("code")}, "redirect_uri": {rpCallback}, "code_verifier": {a.verifier}})
		if st != 200 {
			b.Fatalf("redeem: %d %v", st, m)
		}
	}
}

// BenchmarkRefresh measures one refresh-token rotation after another.
func BenchmarkRefresh(b *testing.B) {
	r, p, br, id, secret := benchRig(b)
	a := p.authorize()
	tok, _, _ := p.finish(a, br.through(br.get(a.url), "", "", nil))
	refresh := tok.RefreshToken
	for b.Loop() {
		st, m := r.tokenCall("/oauth2/token", id, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
		if st != 200 {
			b.Fatalf("refresh: %d %v", st, m)
		}
		refresh = m["refresh_token"].(string)
	}
}
