package oidc_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/twofold-id/twofold/internal/directory/slapdtest"
	"github.com/twofold-id/twofold/internal/signin"
)

// A refresh is refused once the user's org has moved out of the subtree
// of the client's org: the grant is revoked.
func TestRefreshIsRefusedWhenTheUserLeavesTheClientsOrgs(t *testing.T) {
	r := newRig(t, nil)
	r.cli("", "org", "create", "--slug", "acme", "--name", "Acme Corp")
	r.cli("", "org", "create", "--slug", "sales", "--name", "Sales", "--parent", "acme")
	r.cli("", "org", "create", "--slug", "other", "--name", "Other Corp")
	r.user("sales", "sam")
	ph := r.enrollTOTP("sales", "sam")
	id, secret := r.client("acme", "web")
	p := r.relyingParty(id, secret)
	b := r.browser()
	a := p.authorize()
	tok, _, _ := p.finish(a, b.through(b.get(a.url), "sales", "sam", &ph))
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}
	st, m := r.tokenCall("/oauth2/token", id, secret, refresh)
	if st != 200 {
		t.Fatalf("refresh inside acme: %d %v", st, m)
	}
	ctx := context.Background()
	sys, err := r.app.Admin.System(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.app.Admin.MoveOrg(ctx, sys, "sales", "other", signin.Client{}); err != nil {
		t.Fatal(err)
	}
	refresh.Set("refresh_token", m["refresh_token"].(string))
	st, m = r.tokenCall("/oauth2/token", id, secret, refresh)
	wantOAuthError(t, "refresh after sales moved under other", st, m, 400, "invalid_grant")
}

// A directory user's refresh asks the directory (at most every few
// minutes): once the entry is deleted there, the refresh is refused and
// the user's sessions end.
func TestRefreshOfADirectoryUserEndsWhenTheEntryIsDeleted(t *testing.T) {
	ldapSrv := slapdtest.Start(t, "")
	r := newRig(t, nil)
	r.cli("", "org", "create", "--slug", "acme", "--name", "Acme Corp")
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, []byte(ldapSrv.CACert), 0o600); err != nil {
		t.Fatal(err)
	}
	r.cli(slapdtest.ServicePW+"\n", "directory", "set", "--org", "acme", "--url", ldapSrv.URL, "--ca-cert-file", ca,
		"--bind-dn", slapdtest.ServiceDN, "--user-base-dn", slapdtest.PeopleDN, "--user-filter", slapdtest.UserFilter)
	id, secret := r.client("acme", "web")
	p := r.relyingParty(id, secret)
	b := r.browser()
	a := p.authorize()
	if login := b.get(a.url); login.loc != nil {
		t.Fatalf("no sign-in page: %v", login.loc)
	}
	tok, _, _ := p.finish(a, b.through(b.post("/login", url.Values{"org": {"acme"}, "username": {"dana"}, "password": {"dana-pw"}}),
		"acme", "dana", nil))
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}
	st, m := r.tokenCall("/oauth2/token", id, secret, refresh)
	if st != 200 {
		t.Fatalf("refresh while dana is in the directory: %d %v", st, m)
	}
	ldapSrv.Admin(func(c *ldap.Conn) error {
		return c.Del(ldap.NewDelRequest("uid=dana,"+slapdtest.PeopleDN, nil))
	})
	r.advance(6 * time.Minute) // past the re-check interval
	refresh.Set("refresh_token", m["refresh_token"].(string))
	st, m = r.tokenCall("/oauth2/token", id, secret, refresh)
	wantOAuthError(t, "refresh after dana left the directory", st, m, 400, "invalid_grant")
	// Her portal session ended with it.
	if pg := b.get("/"); pg.url.Path != "/login" {
		t.Errorf("the portal session outlived the directory entry: %s %s", pg.url, pg.body)
	}
}
