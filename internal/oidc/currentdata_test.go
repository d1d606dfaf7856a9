package oidc_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/twofold-id/twofold/internal/store"
)

// Every refresh decides from current data: disabling the user, an MFA
// reset, a password change, deleting the client, and a policy that now
// requires a second factor the grant never proved each end the grant.
func TestRefreshDecidesFromCurrentData(t *testing.T) {
	cases := []struct {
		name   string
		mfa    bool // alice has an authenticator app
		change func(r *rig, id string)
	}{
		{"the user is disabled", true, func(r *rig, _ string) {
			r.cli("", "user", "set", "--org", "acme", "--username", "alice", "--disabled=true")
		}},
		{"MFA is reset", true, func(r *rig, _ string) {
			r.cli("", "user", "reset-mfa", "--org", "acme", "--username", "alice")
		}},
		{"the password is set", true, func(r *rig, _ string) {
			r.cli("a new password that is long\n", "user", "set-password", "--org", "acme", "--username", "alice", "--password-stdin")
		}},
		{"the client is deleted", true, func(r *rig, id string) {
			r.cli("", "client", "delete", "--id", id)
		}},
		{"the org now requires MFA and the grant has none", false, func(r *rig, _ string) {
			r.cli("", "org", "set-policy", "--org", "acme", "--mfa", "required")
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, nil)
			r.cli("", "org", "create", "--slug", "acme", "--name", "Acme Corp")
			r.user("acme", "alice")
			var ph *phone
			if c.mfa {
				p := r.enrollTOTP("acme", "alice")
				ph = &p
			}
			id, secret := r.client("acme", "web")
			p := r.relyingParty(id, secret)
			b := r.browser()
			a := p.authorize()
			tok, _, _ := p.finish(a, b.through(b.get(a.url), "acme", "alice", ph))
			refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}
			st, m := r.tokenCall("/oauth2/token", id, secret, refresh)
			if st != 200 {
				t.Fatalf("refresh before the change: %d %v", st, m)
			}
			c.change(r, id)
			refresh.Set("refresh_token", m["refresh_token"].(string))
			st, m = r.tokenCall("/oauth2/token", id, secret, refresh)
			if c.name == "the client is deleted" {
				wantOAuthError(t, "refresh", st, m, 401, "invalid_client")
			} else {
				wantOAuthError(t, "refresh", st, m, 400, "invalid_grant")
			}
			// Introspection of the access token agrees (inactive).
			if c.name != "the client is deleted" {
				st, m = r.tokenCall("/oauth2/introspect", id, secret, url.Values{"token": {m2s(m, "access_token", tok.AccessToken)}})
				if st != 200 || m["active"] != false {
					t.Errorf("introspection after the change: %d %v", st, m)
				}
			}
		})
	}
}

func m2s(m map[string]any, k, def string) string {
	if v, ok := m[k].(string); ok {
		return v
	}
	return def
}

func TestIntrospectionRevocationAndTheAuditLog(t *testing.T) {
	r, p, ph, id, secret := setup(t)
	b := r.browser()
	a := p.authorize()
	tok, c, _ := p.finish(a, b.through(b.get(a.url), "acme", "alice", &ph))
	st, m := r.tokenCall("/oauth2/introspect", id, secret, url.Values{"token": {tok.AccessToken}})
	if st != 200 || m["active"] != true || m["sub"] != c.Subject || m["client_id"] != id {
		t.Fatalf("introspection: %d %v", st, m)
	}
	// RFC 7009: revoking the refresh token ends the family.
	st, m = r.tokenCall("/oauth2/revoke", id, secret, url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}})
	if st != 200 {
		t.Fatalf("revoke: %d %v", st, m)
	}
	st, m = r.tokenCall("/oauth2/introspect", id, secret, url.Values{"token": {tok.AccessToken}})
	if st != 200 || m["active"] != false {
		t.Errorf("introspection after revocation: %d %v", st, m)
	}
	st, m = r.tokenCall("/oauth2/token", id, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
	wantOAuthError(t, "refresh after revocation", st, m, 400, "invalid_grant")

	evs, err := r.app.Store.ListAudit(context.Background(), store.AuditFilter{Event: "oidc.", Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range evs {
		seen[e.Event+"/"+e.Outcome] = true
	}
	for _, want := range []string{"oidc.authorize/success", "oidc.token_issued/success", "oidc.token_revoked/success",
		"oidc.token_refused/denied"} {
		if !seen[want] {
			t.Errorf("audit log lacks %s: %v", want, seen)
		}
	}
}

func TestSigningKeysRotateAndTheOldKeyStaysPublished(t *testing.T) {
	r, p, ph, _, _ := setup(t)
	b := r.browser()
	a := p.authorize()
	_, _, oldRaw := p.finish(a, b.through(b.get(a.url), "acme", "alice", &ph))
	before := jwks(t, r)
	out := r.cli("", "keys", "rotate-signing")
	if !strings.Contains(out, "new signing key") {
		t.Fatalf("rotate-signing printed %q", out)
	}
	after := jwks(t, r)
	if len(after) != len(before)+2 {
		t.Fatalf("key set: %d keys before, %d after; want two more (ES256, RS256)", len(before), len(after))
	}
	for kid := range before {
		if _, ok := after[kid]; !ok {
			t.Errorf("old key %s left the key set", kid)
		}
	}
	// New tokens are signed with the new key; old ones still verify.
	a = p.authorize()
	_, _, newRaw := p.finish(a, b.through(b.get(a.url), "", "", nil))
	if kidOf(t, newRaw) == kidOf(t, oldRaw) {
		t.Error("the ID token after rotation is signed with the old key")
	}
	if _, err := p.verifier.Verify(context.Background(), oldRaw); err != nil {
		t.Errorf("an ID token of the old key no longer verifies: %v", err)
	}
	if after[kidOf(t, newRaw)] != "ES256" {
		t.Errorf("new key alg %q", after[kidOf(t, newRaw)])
	}
}

// jwks returns kid → alg of the published key set.
func jwks(t *testing.T, r *rig) map[string]string {
	t.Helper()
	res, err := http.Get(r.base + "/oauth2/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
			Alg string `json:"alg"`
		} `json:"keys"`
	}
	json.NewDecoder(res.Body).Decode(&set)
	out := map[string]string{}
	for _, k := range set.Keys {
		out[k.Kid] = k.Alg
	}
	return out
}

func kidOf(t *testing.T, raw string) string {
	t.Helper()
	h, _, _ := strings.Cut(raw, ".")
	b, err := base64URL(h)
	if err != nil {
		t.Fatal(err)
	}
	var hd struct {
		Kid string `json:"kid"`
	}
	json.Unmarshal(b, &hd)
	return hd.Kid
}

// The security page lists the apps the user signed in to; signing out of
// one there ends its grant.
func TestTheSecurityPageListsAppsAndRevokesThem(t *testing.T) {
	r, p, ph, id, secret := setup(t)
	b := r.browser()
	a := p.authorize()
	tok, _, _ := p.finish(a, b.through(b.get(a.url), "acme", "alice", &ph))
	pg := b.get("/security")
	m := regexp.MustCompile(`action="/security/apps/([0-9a-f]{32})/revoke"`).FindStringSubmatch(pg.body)
	if m == nil || !strings.Contains(pg.body, "App web") || !strings.Contains(pg.body, "Apps you signed in to") {
		t.Fatalf("security page: %s", pg.body)
	}
	pg = b.post("/security/apps/"+m[1]+"/revoke", url.Values{})
	if !strings.Contains(pg.body, "The app was signed out") || strings.Contains(pg.body, "App web") {
		t.Fatalf("after revoking: %s", pg.body)
	}
	st, resp := r.tokenCall("/oauth2/token", id, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
	wantOAuthError(t, "refresh after the user revoked the app", st, resp, 400, "invalid_grant")
	// Someone else's grant id is refused.
	pg = b.post("/security/apps/"+strings.Repeat("0", 32)+"/revoke", url.Values{})
	if pg.status != 400 {
		t.Errorf("revoking an unknown grant: %d", pg.status)
	}
}
