package api_test

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/directory/slapdtest"
	"github.com/twofold-id/twofold/internal/password"
)

// Issue 16: a user deleted in the directory "cannot sign in, and their
// refresh tokens and devices stop working at the next refresh".
func TestADirectoryUsersDeviceStopsWhenTheEntryIsDeleted(t *testing.T) {
	s, ldapSrv := directoryServer(t, "")
	agent := s.deviceClient("acme", "agent")
	res := s.dirLogin("dana", "dana-pw")
	if res.status != http.StatusOK || res.str(t, "status") != "authenticated" {
		t.Fatalf("dana's first sign-in: %d %s", res.status, res.body)
	}
	p, _ := enrollOverHTTP(t, s, res.str(t, "session_token"), "Phone")

	r := s.post("/api/v1/auth/login", "", map[string]any{"org": "acme", "username": "dana", "password": "dana-pw",
		"client_id": agent, "device": map[string]string{"kind": "agent", "name": "Dana's laptop", "platform": "Test OS"}})
	if r.status != http.StatusOK || r.str(t, "status") != "mfa_required" {
		t.Fatalf("device login: %d %s", r.status, r.body)
	}
	s.clock.Advance(30 * time.Second)
	v := s.post("/api/v1/auth/verify", "", map[string]string{"flow_token": r.str(t, "flow_token"), "method": "totp", "code": p.code(s.clock.Now())})
	if v.status != http.StatusOK {
		t.Fatalf("device verify: %d %s", v.status, v.body)
	}
	m := v.json(t)
	d := registered{id: m["device"].(map[string]any)["id"].(string), kind: "agent", deviceToken: m["device_token"].(string)}
	if r := s.openSession(&d, nil); r.status != http.StatusOK {
		t.Fatalf("a session while dana is in the directory: %d %s", r.status, r.body)
	}

	ldapSrv.Admin(func(c *ldap.Conn) error {
		return c.Del(ldap.NewDelRequest("uid=dana,"+slapdtest.PeopleDN, nil))
	})
	s.clock.Advance(6 * time.Minute) // past the directory re-check interval
	wantCode(t, "a device session after dana left the directory", s.openSession(&d, nil), http.StatusUnauthorized, "device_revoked")
	if r := s.dirLogin("dana", "dana-pw"); r.status == http.StatusOK {
		t.Fatalf("dana signed in after leaving the directory: %s", r.body)
	}
}

// A passkey stands in for the password, but not for the directory: a
// directory user deleted there cannot sign in with a passkey either.
func TestAPasskeyDoesNotSignInADirectoryUserWhoLeftTheDirectory(t *testing.T) {
	ldapSrv := slapdtest.Start(t, "")
	pp := password.TestParams()
	s := newServerOn(t, "", &pp, func(c *config.Config) { c.PublicURL = testRP.Origin })
	s.orgAndUser()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, []byte(ldapSrv.CACert), 0o600); err != nil {
		t.Fatal(err)
	}
	s.cli(slapdtest.ServicePW+"\n", "directory", "set", "--org", "acme", "--url", ldapSrv.URL, "--ca-cert-file", ca,
		"--bind-dn", slapdtest.ServiceDN, "--user-base-dn", slapdtest.PeopleDN, "--user-filter", slapdtest.UserFilter)
	res := s.dirLogin("dana", "dana-pw")
	if res.status != http.StatusOK || res.str(t, "status") != "authenticated" {
		t.Fatalf("dana's first sign-in: %d %s", res.status, res.body)
	}
	k, _ := addKey(t, s, res.str(t, "session_token"), true)
	passkey := func() response {
		o := s.post("/api/v1/auth/passkey/options", "", map[string]any{})
		return s.post("/api/v1/auth/passkey/verify", "", map[string]any{"flow_token": o.str(t, "flow_token"), "credential": assert(t, o, k)})
	}
	if v := passkey(); v.status != http.StatusOK {
		t.Fatalf("dana's passkey while she is in the directory: %d %s", v.status, v.body)
	}
	ldapSrv.Admin(func(c *ldap.Conn) error {
		return c.Del(ldap.NewDelRequest("uid=dana,"+slapdtest.PeopleDN, nil))
	})
	s.clock.Advance(6 * time.Minute) // past the directory re-check interval
	if v := passkey(); v.status != http.StatusUnauthorized || v.errorCode(t) != "invalid_passkey" {
		t.Fatalf("dana's passkey after she left the directory: %d %s", v.status, v.body)
	}
}
