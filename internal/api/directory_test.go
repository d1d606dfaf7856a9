package api_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/directory/slapdtest"
	"github.com/twofold-id/twofold/internal/secretbox"
	"github.com/twofold-id/twofold/internal/store/postgres/pgtest"
)

// directoryServer starts slapd and a Twofold server (on PostgreSQL when dsn
// is set) with org acme, a local admin ada and a local member alice, and
// the directory of acme set through the command line.
func directoryServer(t *testing.T, dsn string) (*server, *slapdtest.Server) {
	t.Helper()
	ldapSrv := slapdtest.Start(t, "")
	s := newServerConfig(t, func(c *config.Config) {
		if dsn != "" {
			c.DatabaseURL, c.KeyFile = dsn, filepath.Join(c.DataDir, "secret.key")
			if _, err := secretbox.LoadOrCreate(c.KeyFile); err != nil {
				t.Fatal(err)
			}
		}
	})
	s.orgAndUser()
	s.cli(testPassword+"\n", "user", "create", "--org", "acme", "--username", "ada", "--role", "admin", "--password-stdin")
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, []byte(ldapSrv.CACert), 0o600); err != nil {
		t.Fatal(err)
	}
	out := s.cli(slapdtest.ServicePW+"\n", "directory", "set", "--org", "acme", "--url", ldapSrv.URL, "--ca-cert-file", ca,
		"--bind-dn", slapdtest.ServiceDN, "--user-base-dn", slapdtest.PeopleDN, "--user-filter", slapdtest.UserFilter,
		"--admin-group-dn", slapdtest.AdminGroupDN)
	if !strings.Contains(out, "directory of acme set") {
		t.Fatalf("directory set printed %q", out)
	}
	return s, ldapSrv
}

// dirLogin signs a directory user of acme in.
func (s *server) dirLogin(user, pw string) response {
	s.t.Helper()
	return s.post("/api/v1/auth/login", "", map[string]string{"org": "acme", "username": user, "password": pw})
}

// me returns the signed-in user's record.
func (s *server) me(tok string) map[string]any {
	s.t.Helper()
	r := s.get("/api/v1/me", tok)
	if r.status != http.StatusOK {
		s.t.Fatalf("me: %d %s", r.status, r.body)
	}
	return r.json(s.t)["user"].(map[string]any)
}

func TestDirectoryUsersSQLite(t *testing.T) { testDirectoryUsers(t, "") }

func TestDirectoryUsersPostgreSQL(t *testing.T) { testDirectoryUsers(t, pgtest.NewDatabase(t)) }

func testDirectoryUsers(t *testing.T, dsn string) {
	s, ldapSrv := directoryServer(t, dsn)

	// The command line shows the settings, never the password.
	if out := s.cli("", "directory", "show", "--org", "acme"); !strings.Contains(out, ldapSrv.URL) || strings.Contains(out, slapdtest.ServicePW) {
		t.Fatalf("directory show printed %q", out)
	}
	if out := s.cli("", "directory", "test", "--org", "acme", "--username", "erin"); !strings.Contains(out, "uid=erin") || !strings.Contains(out, "admin true") {
		t.Fatalf("directory test printed %q", out)
	}

	ada := s.adminSession("acme", "ada")
	got := s.get("/api/v1/orgs/acme/directory", ada)
	if got.status != http.StatusOK || strings.Contains(string(got.body), slapdtest.ServicePW) || strings.Contains(string(got.body), `"bind_password"`) {
		t.Fatalf("GET directory: %d %s", got.status, got.body)
	}
	if j := got.json(t); j["url"] != ldapSrv.URL || j["start_tls"] != true || j["username_attribute"] != "uid" || j["bind_password_set"] != true {
		t.Fatalf("GET directory = %s", got.body)
	}
	// A PUT without bind_password keeps the stored one.
	put := s.put("/api/v1/orgs/acme/directory", ada, map[string]any{"url": ldapSrv.URL, "ca_cert": ldapSrv.CACert,
		"bind_dn": slapdtest.ServiceDN, "user_base_dn": slapdtest.PeopleDN, "username_attribute": "uid",
		"user_filter": slapdtest.UserFilter, "email_attribute": "mail", "name_attribute": "cn", "admin_group_dn": slapdtest.AdminGroupDN})
	if put.status != http.StatusOK {
		t.Fatalf("PUT directory: %d %s", put.status, put.body)
	}
	if r := s.put("/api/v1/orgs/acme/directory", ada, map[string]any{"url": "ldap://ldap.example.org", "start_tls": false,
		"bind_dn": "cn=x", "user_base_dn": "dc=x"}); r.status != http.StatusBadRequest || r.errorCode(t) != "invalid_directory" {
		t.Fatalf("PUT plain ldap to a remote host: %d %s", r.status, r.body)
	}
	test := s.post("/api/v1/orgs/acme/directory/test", ada, map[string]string{"username": "dana"})
	if e, _ := test.json(t)["entry"].(map[string]any); test.status != http.StatusOK || e["username"] != "dana" || e["email"] != "dana@example.org" {
		t.Fatalf("test dana: %d %s", test.status, test.body)
	}
	if r := s.post("/api/v1/orgs/acme/directory/test", ada, map[string]string{"username": "*)(uid=*"}); r.status != http.StatusOK || r.json(t)["found"] != false {
		t.Fatalf("test *)(uid=*: %d %s", r.status, r.body)
	}

	// First sign-in creates dana, with the flag off: no MFA required.
	res := s.dirLogin("dana", "dana-pw")
	if res.status != http.StatusOK || res.str(t, "status") != "authenticated" {
		t.Fatalf("dana's first sign-in: %d %s", res.status, res.body)
	}
	dana := s.me(res.str(t, "session_token"))
	if dana["username"] != "dana" || dana["email"] != "dana@example.org" || dana["role"] != "member" || dana["mfa_required"] != false {
		t.Fatalf("dana = %v", dana)
	}
	// Directory users change their password in the directory.
	if r := s.post("/api/v1/me/password", res.str(t, "session_token"), map[string]string{"current_password": "dana-pw",
		"new_password": "a new password here"}); r.status != http.StatusForbidden || r.errorCode(t) != "directory_password" {
		t.Fatalf("dana changes her password: %d %s", r.status, r.body)
	}

	// Key rotation re-encrypts the bind password; the running server
	// opens it under the new key.
	if dsn == "" {
		if out := s.cli("", "keys", "rotate"); !strings.Contains(out, "2 secrets re-encrypted") { // ada's authenticator and the bind password
			t.Fatalf("keys rotate printed %q", out)
		}
		s.app.Directory.Close() // no pooled connection: the next sign-in binds anew
		if r := s.dirLogin("dana", "dana-pw"); r.status != http.StatusOK {
			t.Fatalf("dana after key rotation: %d %s", r.status, r.body)
		}
	}

	// Wrong password, unknown user and a filter injection all answer alike.
	for _, c := range [][2]string{{"dana", "wrong"}, {"nobody", "dana-pw"}, {"*)(uid=*", "dana-pw"}, {"*", "dana-pw"}} {
		if r := s.dirLogin(c[0], c[1]); r.status != http.StatusUnauthorized || r.errorCode(t) != "invalid_credentials" {
			t.Fatalf("login %q/%q: %d %s, want 401 invalid_credentials", c[0], c[1], r.status, r.body)
		}
	}
	// Local users of the same org sign in as before.
	s.login("alice", "authenticated")

	// Group → role: erin is in cn=twofold-admins.
	res = s.dirLogin("erin", "erin-pw")
	if res.status != http.StatusOK || res.str(t, "status") != "authenticated" {
		t.Fatalf("erin: %d %s", res.status, res.body)
	}
	erinSession := res.str(t, "session_token")
	if erin := s.me(erinSession); erin["role"] != "admin" {
		t.Fatalf("erin = %v, want admin", erin)
	}

	// A renamed entry keeps its account.
	ldapSrv.Admin(func(c *ldap.Conn) error {
		return c.ModifyDN(ldap.NewModifyDNRequest("uid=dana,"+slapdtest.PeopleDN, "uid=dana.k", true, ""))
	})
	res = s.dirLogin("dana.k", "dana-pw")
	if res.status != http.StatusOK {
		t.Fatalf("dana.k: %d %s", res.status, res.body)
	}
	danaSession := res.str(t, "session_token")
	if renamed := s.me(danaSession); renamed["id"] != dana["id"] || renamed["username"] != "dana.k" {
		t.Fatalf("renamed = %v, want id %v", renamed, dana["id"])
	}
	if r := s.dirLogin("dana", "dana-pw"); r.status != http.StatusUnauthorized {
		t.Fatalf("old name after rename: %d %s", r.status, r.body)
	}

	// A deleted entry cannot sign in.
	ldapSrv.Admin(func(c *ldap.Conn) error {
		return c.Del(ldap.NewDelRequest("uid=erin,"+slapdtest.PeopleDN, nil))
	})
	if r := s.dirLogin("erin", "erin-pw"); r.status != http.StatusUnauthorized || r.errorCode(t) != "invalid_credentials" {
		t.Fatalf("deleted erin: %d %s", r.status, r.body)
	}
	// Her session ends when it is next refreshed (at most a minute after
	// its last use); dana's goes on.
	s.clock.Advance(2 * time.Minute)
	if r := s.get("/api/v1/me", erinSession); r.status != http.StatusUnauthorized {
		t.Fatalf("deleted erin's session: %d %s", r.status, r.body)
	}
	s.me(danaSession)

	// The directory stops: 503, no lockout, local users unaffected; it
	// comes back: sign-in works again.
	ldapSrv.Stop()
	for range 3 {
		if r := s.dirLogin("dana.k", "dana-pw"); r.status != http.StatusServiceUnavailable || r.errorCode(t) != "directory_unavailable" {
			t.Fatalf("directory down: %d %s", r.status, r.body)
		}
	}
	s.login("alice", "authenticated")
	// An outage does not end sessions.
	s.clock.Advance(6 * time.Minute)
	s.me(danaSession)
	ldapSrv.Restart()
	if r := s.dirLogin("dana.k", "dana-pw"); r.status != http.StatusOK || r.str(t, "status") != "authenticated" {
		t.Fatalf("directory back: %d %s", r.status, r.body)
	}

	// With the flag on, new directory users must enroll at once; dana,
	// created before, is not affected.
	if r := s.put("/api/v1/orgs/acme/policy", ada, map[string]any{"require_mfa_for_new_directory_users": true}); r.status != http.StatusOK {
		t.Fatalf("set flag: %d %s", r.status, r.body)
	}
	ldapSrv.Admin(func(c *ldap.Conn) error {
		a := ldap.NewAddRequest("uid=frank,"+slapdtest.PeopleDN, nil)
		a.Attribute("objectClass", []string{"inetOrgPerson"})
		a.Attribute("uid", []string{"frank"})
		a.Attribute("cn", []string{"Frank"})
		a.Attribute("sn", []string{"F"})
		a.Attribute("mail", []string{"frank@example.org"})
		a.Attribute("userPassword", []string{"frank-pw"})
		return c.Add(a)
	})
	res = s.dirLogin("frank", "frank-pw")
	if res.status != http.StatusOK || res.str(t, "status") != "enrollment_required" {
		t.Fatalf("frank with the flag on: %d %s, want enrollment_required", res.status, res.body)
	}
	_, out := s.enrollInFlow(res.str(t, "flow_token"))
	if frank := s.me(out["session_token"].(string)); frank["mfa_required"] != true {
		t.Fatalf("frank = %v, want mfa_required", frank)
	}
	if r := s.dirLogin("dana.k", "dana-pw"); r.status != http.StatusOK || r.str(t, "status") != "authenticated" {
		t.Fatalf("dana.k after the flag: %d %s", r.status, r.body)
	}

	// Removing the directory ends directory sign-in.
	if r := s.do(request{method: http.MethodDelete, path: "/api/v1/orgs/acme/directory", token: ada}); r.status != http.StatusNoContent {
		t.Fatalf("DELETE directory: %d %s", r.status, r.body)
	}
	if r := s.dirLogin("dana.k", "dana-pw"); r.status != http.StatusUnauthorized {
		t.Fatalf("dana.k without a directory: %d %s", r.status, r.body)
	}
	if r := s.get("/api/v1/orgs/acme/directory", ada); r.status != http.StatusNotFound || r.errorCode(t) != "directory_not_configured" {
		t.Fatalf("GET removed directory: %d %s", r.status, r.body)
	}
}

// Configuring a directory is scoped to the admin's subtree and sensitive;
// descendants inherit it without seeing its settings.
func TestDirectoryAdministrationIsScopedAndSensitive(t *testing.T) {
	s := newServer(t)
	s.tree()
	cfg := map[string]any{"url": "ldaps://ldap.example.org", "bind_dn": "cn=svc,dc=example,dc=org", "bind_password": "s3cret",
		"user_base_dn": "ou=people,dc=example,dc=org"}
	dave := s.session("dept", "dave")
	if r := s.get("/api/v1/orgs/dept/directory", dave); r.status != http.StatusForbidden || r.errorCode(t) != "forbidden" {
		t.Fatalf("member reads the directory: %d %s", r.status, r.body)
	}
	carl := s.session("customer", "carl") // an admin without a second factor
	if r := s.put("/api/v1/orgs/customer/directory", carl, cfg); r.status != http.StatusForbidden || r.errorCode(t) != "own_factor_required" {
		t.Fatalf("admin without a factor sets a directory: %d %s", r.status, r.body)
	}
	rita := s.adminSession("reseller", "rita")
	if r := s.put("/api/v1/orgs/reseller2/directory", rita, cfg); r.status != http.StatusNotFound || r.errorCode(t) != "not_found" {
		t.Fatalf("admin sets a directory outside the subtree: %d %s", r.status, r.body)
	}
	if r := s.get("/api/v1/orgs/customer/directory", rita); r.status != http.StatusNotFound || r.errorCode(t) != "directory_not_configured" {
		t.Fatalf("GET without any directory: %d %s", r.status, r.body)
	}
	if r := s.put("/api/v1/orgs/reseller/directory", rita, cfg); r.status != http.StatusOK || strings.Contains(string(r.body), "s3cret") {
		t.Fatalf("PUT reseller: %d %s", r.status, r.body)
	}
	in := s.get("/api/v1/orgs/dept/directory", rita)
	j := in.json(t)
	if in.status != http.StatusOK || j["inherited"] != true || j["inherited_from"].(map[string]any)["slug"] != "reseller" || j["url"] != nil {
		t.Fatalf("GET dept (inherits): %d %s", in.status, in.body)
	}
	noPW := map[string]any{"url": "ldaps://ldap.example.org", "bind_dn": "cn=svc,dc=example,dc=org", "user_base_dn": "dc=example,dc=org"}
	if r := s.put("/api/v1/orgs/customer/directory", rita, noPW); r.status != http.StatusBadRequest || r.errorCode(t) != "invalid_directory" {
		t.Fatalf("first PUT without a bind password: %d %s", r.status, r.body)
	}
	if r := s.do(request{method: http.MethodDelete, path: "/api/v1/orgs/customer/directory", token: rita}); r.status != http.StatusNotFound || r.errorCode(t) != "directory_not_configured" {
		t.Fatalf("DELETE an inherited directory: %d %s", r.status, r.body)
	}
	audit := s.get("/api/v1/audit?event=directory.", rita)
	if audit.status != http.StatusOK || !strings.Contains(string(audit.body), "directory.set") || strings.Contains(string(audit.body), "s3cret") {
		t.Fatalf("audit: %d %s", audit.status, audit.body)
	}
}

// Directory sign-ins use the per-account password counter of local ones,
// taken before the directory is asked: once it delays, even a stopped
// directory answers 429, not 503; an unavailable directory counts nothing.
func TestDirectoryPerAccountLimitComesBeforeTheDirectory(t *testing.T) {
	s, ldapSrv := directoryServer(t, "")
	// Unavailable answers count nothing: many of them, then the right
	// password goes straight through.
	ldapSrv.Stop()
	for i := range 8 {
		if r := s.dirLogin("dana", "dana-pw"); r.status != http.StatusServiceUnavailable {
			t.Fatalf("unavailable %d: %d %s", i+1, r.status, r.body)
		}
	}
	ldapSrv.Restart()
	if r := s.dirLogin("dana", "dana-pw"); r.status != http.StatusOK {
		t.Fatalf("after the outage: %d %s", r.status, r.body)
	}
	// Wrong passwords count until the name must wait.
	var r response
	for i := 0; ; i++ {
		if r = s.dirLogin("dana", "wrong"); r.status != http.StatusUnauthorized {
			break
		}
		if i > 20 {
			t.Fatal("20 wrong passwords and no delay")
		}
	}
	if r.status != http.StatusTooManyRequests || r.errorCode(t) != "too_many_attempts" {
		t.Fatalf("after wrong passwords: %d %s, want 429 too_many_attempts", r.status, r.body)
	}
	ldapSrv.Stop()
	if r := s.dirLogin("dana", "dana-pw"); r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Fatalf("delayed name, directory stopped: %d %s, want 429", r.status, r.body)
	}
	s.clock.Advance(2 * time.Minute)
	if r := s.dirLogin("dana", "dana-pw"); r.status != http.StatusServiceUnavailable {
		t.Fatalf("after the delay, directory stopped: %d %s, want 503", r.status, r.body)
	}
	ldapSrv.Restart()
	if r := s.dirLogin("dana", "dana-pw"); r.status != http.StatusOK {
		t.Fatalf("directory back: %d %s", r.status, r.body)
	}
}
