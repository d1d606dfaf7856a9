package api_test

// Enforcement from above (seed 001, issue 11) and what counts as weakening
// a policy (effective policy, moves and creations), over the API and the
// command line, on SQLite and on PostgreSQL.

import (
	"context"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/secretbox"
	"github.com/twofold-id/twofold/internal/store"
	"github.com/twofold-id/twofold/internal/store/postgres/pgtest"
)

// onEachStore runs test against a server on SQLite and one on PostgreSQL
// (skipped, or failed under TWOFOLD_REQUIRE_POSTGRES=1, without a DSN).
func onEachStore(t *testing.T, test func(t *testing.T, s *server)) {
	t.Run("sqlite", func(t *testing.T) { test(t, newServer(t)) })
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.NewDatabase(t)
		test(t, newServerConfig(t, func(c *config.Config) {
			c.DatabaseURL, c.KeyFile = dsn, filepath.Join(c.DataDir, "secret.key")
			if _, err := secretbox.LoadOrCreate(c.KeyFile); err != nil {
				t.Fatal(err)
			}
		}))
	})
}

func (s *server) patch(path, token string, body any) response {
	s.t.Helper()
	return s.do(request{method: http.MethodPatch, path: path, token: token, body: body})
}

// want fails the test unless r has status (and, for an error, code).
func want(t *testing.T, what string, r response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: %d %s, want %d %s", what, r.status, r.body, status, code)
	}
	if code != "" && r.errorCode(t) != code {
		t.Fatalf("%s: %s, want code %s", what, r.body, code)
	}
}

// field walks a decoded JSON object along keys.
func field(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		o, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = o[k]
	}
	return v
}

// auditDetails returns the details of the successful events named event.
func (s *server) auditDetails(event string) []string {
	s.t.Helper()
	evs, err := s.app.Store.ListAudit(context.Background(), store.AuditFilter{Event: event})
	if err != nil {
		s.t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		if e.Outcome == "success" {
			out = append(out, e.Detail)
		}
	}
	return out
}

func TestAResellerEnforcesMFAOnACustomerAndTheCustomersAdminsAreBound(t *testing.T) {
	onEachStore(t, func(t *testing.T, s *server) {
		s.tree()
		rita := s.adminSession("reseller", "rita")

		// Seed 001: the reseller edits the company and enforces MFA on it.
		r := s.put("/api/v1/orgs/customer/policy", rita, map[string]any{"mfa": "required", "locked": true, "allowed_methods": []string{"totp", "email"}})
		want(t, "the reseller enforces required on the customer", r, http.StatusOK, "")
		pol := r.json(t)
		if field(pol, "own", "lock_scope") != "enforced" || field(pol, "own", "lock", "set_by_org", "slug") != "reseller" ||
			field(pol, "own", "lock", "set_by_name") != "rita" || field(pol, "own", "lock", "set_at") == nil ||
			field(pol, "own", "lock", "enforced_floor", "mfa") != "required" || field(pol, "enforced_by", "slug") != "reseller" ||
			field(pol, "bound") != false || field(pol, "can_enforce") != true {
			t.Fatalf("the reseller's view of the enforced policy: %s", r.body)
		}

		// The customer's admin is led through setup at the next sign-in.
		s.signIn("customer", "carl", "enrollment_required")
		carl := s.adminSession("customer", "carl")
		pol = s.get("/api/v1/orgs/customer/policy", carl).json(t)
		if field(pol, "bound") != true || field(pol, "enforced_by", "name") != "Reseller Ltd" || field(pol, "can_enforce") != false ||
			field(pol, "effective", "mfa") != "required" || field(pol, "effective", "mfa_floor") != "required" ||
			field(pol, "effective", "mfa_locked_by", "slug") != "reseller" {
			t.Fatalf("carl's view of his own org's policy: %v", pol)
		}

		// He cannot weaken it, release it, or narrow whom it binds.
		for _, tc := range []struct {
			name string
			body map[string]any
		}{
			{"mfa off", map[string]any{"mfa": "off", "locked": true}},
			{"mfa optional", map[string]any{"mfa": "optional", "locked": true}},
			{"the lock released", map[string]any{"mfa": "required", "locked": false}},
			{"the lock narrowed to descendants", map[string]any{"mfa": "required", "locked": true, "lock_scope": "descendants"}},
			{"sms allowed", map[string]any{"mfa": "required", "locked": true, "allowed_methods": []string{"totp", "email", "sms"}}},
			{"a grace period", map[string]any{"mfa": "required", "locked": true, "enrollment_grace": "72h"}},
		} {
			r := s.put("/api/v1/orgs/customer/policy", carl, tc.body)
			want(t, "carl: "+tc.name, r, http.StatusForbidden, "policy_locked")
			if !strings.Contains(string(r.body), "Reseller Ltd") {
				t.Errorf("carl: %s: %s does not name the reseller", tc.name, r.body)
			}
		}
		// He can still change what the lock does not cover, and make the
		// locked settings stricter; the lock stays the reseller's.
		r = s.put("/api/v1/orgs/customer/policy", carl, map[string]any{"mfa": "required", "locked": true, "otp_code_ttl": "2m", "allowed_methods": []string{"totp"}})
		want(t, "carl: a longer code lifetime and fewer methods", r, http.StatusOK, "")
		pol = r.json(t)
		if field(pol, "effective", "otp_code_ttl") != "2m0s" || field(pol, "own", "lock", "set_by_name") != "rita" ||
			field(pol, "own", "lock_scope") != "enforced" {
			t.Fatalf("after carl's change: %s", r.body)
		}
		// Back to what the reseller enforced is not weaker than it.
		want(t, "carl: back to the enforced methods", s.put("/api/v1/orgs/customer/policy", carl,
			map[string]any{"mfa": "required", "locked": true, "otp_code_ttl": "2m", "allowed_methods": []string{"totp", "email"}}), http.StatusOK, "")

		// The lock binds the orgs below too: dave is led through setup.
		s.signIn("dept", "dave", "enrollment_required")

		// Only the reseller (or above) loosens or releases it.
		r = s.put("/api/v1/orgs/customer/policy", rita, map[string]any{"mfa": "optional"})
		want(t, "the reseller releases the lock", r, http.StatusOK, "")
		if field(r.json(t), "enforced_by") != nil || field(r.json(t), "own", "locked") != false {
			t.Fatalf("after the release: %s", r.body)
		}
		want(t, "carl after the release", s.put("/api/v1/orgs/customer/policy", carl, map[string]any{"mfa": "off"}), http.StatusOK, "")

		// The audit log says who enforced what, and which changes weakened.
		details := strings.Join(s.auditDetails("org.policy"), "\n")
		for _, w := range []string{"mfa=required methods=totp,email locked scope=enforced by=reseller/rita", "code_ttl=2m0s locked scope=enforced by=reseller/rita (weakens)", "mfa=optional (weakens)"} {
			if !strings.Contains(details, w) {
				t.Errorf("audit details lack %q:\n%s", w, details)
			}
		}
		evs, _ := s.app.Store.ListAudit(context.Background(), store.AuditFilter{Event: "org.policy"})
		var denied int
		for _, e := range evs {
			if e.Outcome == "denied" {
				denied++
			}
		}
		if denied < 6 {
			t.Errorf("%d denied policy changes in the audit log, want at least 6", denied)
		}
	})
}

func TestEnforcementCanBeSetWhenTheCustomerIsCreated(t *testing.T) {
	onEachStore(t, func(t *testing.T, s *server) {
		s.tree()
		rita := s.adminSession("reseller", "rita")
		r := s.post("/api/v1/orgs", rita, map[string]any{"slug": "acme", "name": "Acme", "parent": "reseller",
			"policy": map[string]any{"mfa": "required", "locked": true}})
		want(t, "create acme with enforcement", r, http.StatusCreated, "")
		if field(r.json(t), "policy", "lock_scope") != "enforced" || field(r.json(t), "policy", "lock", "set_by_name") != "rita" {
			t.Fatalf("created: %s", r.body)
		}
		want(t, "create acme's admin", s.post("/api/v1/users", rita, map[string]any{"org": "acme", "username": "ada", "role": "admin",
			"password": testPassword}), http.StatusCreated, "")
		ada := s.adminSession("acme", "ada") // enrolls at sign-in: acme requires MFA
		want(t, "acme's admin turns MFA off", s.put("/api/v1/orgs/acme/policy", ada, map[string]any{"mfa": "off", "locked": true}),
			http.StatusForbidden, "policy_locked")
		want(t, "acme's admin drops the lock", s.put("/api/v1/orgs/acme/policy", ada, map[string]any{"mfa": "required"}),
			http.StatusForbidden, "policy_locked")
		// A lock that acme's admin places on acme binds only the orgs below.
		want(t, "acme's admin creates a department", s.post("/api/v1/orgs", ada, map[string]any{"slug": "acme-dev", "name": "Dev",
			"parent": "acme", "policy": map[string]any{"mfa": "required", "locked": true, "lock_scope": "descendants"}}), http.StatusCreated, "")
		want(t, "a bound admin cannot change whom the lock binds", s.put("/api/v1/orgs/acme/policy", ada,
			map[string]any{"mfa": "required", "locked": true, "lock_scope": "bogus"}), http.StatusForbidden, "policy_locked")
		if d := strings.Join(s.auditDetails("org.create"), "\n"); !strings.Contains(d, "slug=acme parent=reseller mfa=required locked scope=enforced by=reseller/rita") {
			t.Errorf("org.create details:\n%s", d)
		}
	})
}

func TestAnOrgsOwnLockBindsOnlyItsDescendants(t *testing.T) {
	onEachStore(t, func(t *testing.T, s *server) {
		s.tree()
		carl := s.adminSession("customer", "carl")
		r := s.put("/api/v1/orgs/customer/policy", carl, map[string]any{"mfa": "required", "locked": true})
		want(t, "carl locks his own org", r, http.StatusOK, "")
		if field(r.json(t), "own", "lock_scope") != "descendants" || field(r.json(t), "bound") != false {
			t.Fatalf("carl's own lock: %s", r.body)
		}
		want(t, "carl enforces on his own org", s.put("/api/v1/orgs/customer/policy", carl,
			map[string]any{"mfa": "required", "locked": true, "lock_scope": "enforced"}), http.StatusBadRequest, "invalid_request")
		// Below it, the lock holds; carl (above dept) may enforce there.
		want(t, "carl enforces on dept", s.put("/api/v1/orgs/dept/policy", carl, map[string]any{"mfa": "required", "locked": true}),
			http.StatusOK, "")
		want(t, "carl releases his own lock", s.put("/api/v1/orgs/customer/policy", carl, map[string]any{"mfa": "optional"}),
			http.StatusOK, "")
	})
}

func TestWeakeningIsJudgedOnTheEffectivePolicy(t *testing.T) {
	onEachStore(t, func(t *testing.T, s *server) {
		s.tree()
		s.cli("", "org", "set-policy", "--org", "reseller", "--mfa", "required", "--methods", "totp")
		carl := s.adminSession("customer", "carl")
		s.clock.Advance(16 * time.Minute) // carl's second factor is no longer fresh

		for _, tc := range []struct {
			name string
			body map[string]any
		}{
			{"inherited required to off", map[string]any{"mfa": "off"}},
			{"inherited methods widened", map[string]any{"allowed_methods": []string{"totp", "email", "sms"}}},
			{"a longer code lifetime", map[string]any{"otp_code_ttl": "5m"}},
			{"a grace period", map[string]any{"enrollment_grace": "24h"}},
		} {
			want(t, tc.name, s.put("/api/v1/orgs/customer/policy", carl, tc.body), http.StatusForbidden, "reauthentication_required")
		}

		// Strengthening needs no fresh code, whatever the own fields say.
		s.cli("", "org", "set-policy", "--org", "customer", "--mfa", "off")
		want(t, "off back to inherit (required)", s.put("/api/v1/orgs/customer/policy", carl, map[string]any{"mfa": nil}), http.StatusOK, "")
		want(t, "directory users required", s.put("/api/v1/orgs/customer/policy", carl, map[string]any{"require_mfa_for_new_directory_users": true}),
			http.StatusOK, "")
		want(t, "directory users no longer required", s.put("/api/v1/orgs/customer/policy", carl, map[string]any{}),
			http.StatusForbidden, "reauthentication_required")
		want(t, "a lock placed", s.put("/api/v1/orgs/customer/policy", carl, map[string]any{"require_mfa_for_new_directory_users": true, "locked": true}),
			http.StatusOK, "")
		want(t, "a lock lifted", s.put("/api/v1/orgs/customer/policy", carl, map[string]any{"require_mfa_for_new_directory_users": true}),
			http.StatusForbidden, "reauthentication_required")

		// With a fresh code it goes through and the audit log says so.
		carl = s.adminSession("customer", "carl")
		want(t, "off with a fresh code", s.put("/api/v1/orgs/customer/policy", carl, map[string]any{"mfa": "off"}), http.StatusOK, "")
		d := s.auditDetails("org.policy")
		if last := d[0]; !strings.HasPrefix(last, "mfa=off") || !strings.HasSuffix(last, "(weakens)") {
			t.Errorf("newest policy event %q, want mfa=off … (weakens)", last)
		}
		if slices.ContainsFunc(d, func(x string) bool { return strings.HasPrefix(x, "mfa=inherit") && strings.Contains(x, "weakens") }) {
			t.Errorf("a strengthening was audited as weakening: %q", d)
		}
	})
}

func TestMovesAndCreationsCannotEscapeLocks(t *testing.T) {
	onEachStore(t, func(t *testing.T, s *server) {
		// The reproduction: team below strict (required, locked).
		s.tree()
		s.cli("", "org", "create", "--slug", "strict", "--name", "Strict", "--parent", "reseller", "--mfa", "required", "--locked", "--lock-scope", "descendants")
		s.cli("", "org", "create", "--slug", "team", "--name", "Team", "--parent", "strict")
		s.cli(testPassword+"\n", "user", "create", "--org", "team", "--username", "tim", "--password-stdin")
		rita := s.adminSession("reseller", "rita")
		s.clock.Advance(16 * time.Minute)

		want(t, "team's own policy weakened", s.put("/api/v1/orgs/team/policy", rita, map[string]any{"mfa": "off"}), http.StatusForbidden, "policy_locked")
		want(t, "a loose org created with a stale session", s.post("/api/v1/orgs", rita, map[string]any{"slug": "loose", "parent": "reseller",
			"name": "Loose", "policy": map[string]any{"mfa": "off"}}), http.StatusForbidden, "reauthentication_required")
		s.cli("", "org", "create", "--slug", "loose", "--name", "Loose", "--parent", "reseller", "--mfa", "off")
		want(t, "team moved below loose with a stale session", s.patch("/api/v1/orgs/team", rita, map[string]any{"parent": "loose"}),
			http.StatusForbidden, "reauthentication_required")
		if pol := s.get("/api/v1/orgs/team/policy", rita).json(t); field(pol, "effective", "mfa") != "required" {
			t.Fatalf("team after a refused move: %v", pol)
		}
		s.signIn("team", "tim", "enrollment_required")

		// With a fresh code the move is allowed, and audited as weakening.
		rita = s.adminSession("reseller", "rita")
		want(t, "team moved below loose with a fresh code", s.patch("/api/v1/orgs/team", rita, map[string]any{"parent": "loose"}), http.StatusOK, "")
		if d := s.auditDetails("org.move"); len(d) != 1 || !strings.Contains(d[0], "(weakens)") {
			t.Errorf("org.move details %q, want one that weakens", d)
		}
		// A move that weakens nothing needs no fresh code.
		s.clock.Advance(16 * time.Minute)
		want(t, "team moved back below strict", s.patch("/api/v1/orgs/team", rita, map[string]any{"parent": "strict"}), http.StatusOK, "")

		// Nothing leaves a lock enforced from above, whoever asks.
		rita = s.adminSession("reseller", "rita")
		want(t, "the reseller enforces on customer", s.put("/api/v1/orgs/customer/policy", rita, map[string]any{"mfa": "required", "locked": true}),
			http.StatusOK, "")
		s.cli(testPassword+"\n", "user", "create", "--org", "platform", "--username", "root", "--role", "superadmin", "--password-stdin")
		root := s.adminSession("platform", "root")
		r := s.patch("/api/v1/orgs/customer", root, map[string]any{"parent": "reseller2"})
		want(t, "customer moved out from under the reseller", r, http.StatusForbidden, "policy_locked")
		if !strings.Contains(string(r.body), "Reseller Ltd") {
			t.Errorf("the refusal does not name the reseller: %s", r.body)
		}
		// An enforcement that moves with its enforcer does not hold a move back.
		want(t, "the reseller moved with the customer below it", s.patch("/api/v1/orgs/reseller", root, map[string]any{"parent": "reseller2"}),
			http.StatusOK, "")
		want(t, "customer moved within the reseller", s.patch("/api/v1/orgs/customer", rita, map[string]any{"parent": "strict"}), http.StatusOK, "")
		// Nor out from under an enforcement on an org further down.
		carl := s.adminSession("customer", "carl")
		want(t, "carl enforces on dept", s.put("/api/v1/orgs/dept/policy", carl, map[string]any{"mfa": "required", "locked": true}), http.StatusOK, "")
		want(t, "dept moved out from under customer", s.patch("/api/v1/orgs/dept", rita, map[string]any{"parent": "loose"}), http.StatusForbidden, "policy_locked")
	})
}

func TestTheOperatorsLockBindsTheOrgsAdmins(t *testing.T) {
	onEachStore(t, func(t *testing.T, s *server) {
		s.tree()
		out := s.cli("", "org", "create", "--slug", "acme", "--name", "Acme", "--parent", "reseller", "--mfa", "required", "--locked", "--methods", "totp,email")
		if !strings.Contains(out, "lock=enforced") {
			t.Fatalf("org create: %q", out)
		}
		s.cli(testPassword+"\n", "user", "create", "--org", "acme", "--username", "ada", "--role", "admin", "--password-stdin")
		show := s.cli("", "org", "show", "--org", "acme")
		for _, w := range []string{"lock", "enforced by platform/(cli)", "enforced floor", "mfa=required methods=totp,email"} {
			if !strings.Contains(show, w) {
				t.Errorf("org show lacks %q:\n%s", w, show)
			}
		}
		if list := s.cli("", "org", "list"); !strings.Contains(list, "enforced by platform/(cli)") {
			t.Errorf("org list does not say who enforces acme's lock:\n%s", list)
		}
		ada := s.adminSession("acme", "ada")
		r := s.put("/api/v1/orgs/acme/policy", ada, map[string]any{"mfa": "optional", "locked": true})
		want(t, "acme's admin weakens the operator's lock", r, http.StatusForbidden, "policy_locked")
		if !strings.Contains(string(r.body), "Platform") {
			t.Errorf("refusal does not name the platform: %s", r.body)
		}
		// Even the reseller's admin is below the platform.
		rita := s.adminSession("reseller", "rita")
		want(t, "the reseller releases the platform's lock", s.put("/api/v1/orgs/acme/policy", rita, map[string]any{"mfa": "required"}),
			http.StatusForbidden, "policy_locked")
		// The operator releases it; the release is in the audit log.
		s.cli("", "org", "set-policy", "--org", "acme", "--locked=false")
		want(t, "acme's admin after the release", s.put("/api/v1/orgs/acme/policy", ada, map[string]any{"mfa": "optional"}), http.StatusOK, "")
		// The operator's lock that binds only descendants.
		out = s.cli("", "org", "set-policy", "--org", "acme", "--locked=true", "--lock-scope", "descendants")
		if !strings.Contains(out, "descendants by platform/(cli)") {
			t.Errorf("set-policy: %q", out)
		}
		want(t, "acme's admin below a descendants lock", s.put("/api/v1/orgs/acme/policy", ada, map[string]any{"mfa": "optional", "locked": false}),
			http.StatusOK, "")
		if _, errOut, code := s.runCLI("", "org", "set-policy", "--org", "acme", "--lock-scope", "enforced"); code == 0 || !strings.Contains(errOut, "needs a lock") {
			t.Errorf("--lock-scope without a lock: exit %d %q", code, errOut)
		}
	})
}
