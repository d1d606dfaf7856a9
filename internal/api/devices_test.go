package api_test

// Devices (issue 14): agents, mail add-ins and mobile apps register through
// the JSON sign-in with a second factor, and then open sessions with a
// device token under the rules of their kind.

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/notify/smtptest"
)

// deviceClient registers a public client of kind (agent, add-in, mobile)
// for org through the CLI and returns its client_id.
func (s *server) deviceClient(org, kind string) string {
	s.t.Helper()
	out := s.cli("", "client", "create", "--org", org, "--name", "App "+kind, "--kind", kind)
	for _, line := range strings.Split(out, "\n") {
		if id, ok := strings.CutPrefix(line, "client_id: "); ok {
			return strings.TrimSpace(id)
		}
	}
	s.t.Fatalf("client create printed no client_id: %s", out)
	return ""
}

// registered is the answer of a sign-in that registered a device.
type registered struct {
	id, kind, deviceToken, accessToken string
	passcodeRequired                   any
}

// registerDevice signs user in with client and device and answers the
// challenge with p; it fails the test unless a device was registered.
func (s *server) registerDevice(user, client, kind, name string, p phone) registered {
	s.t.Helper()
	r := s.post("/api/v1/auth/login", "", map[string]any{"org": "acme", "username": user, "password": testPassword,
		"client_id": client, "device": map[string]string{"kind": kind, "name": name, "platform": "Test OS 1"}})
	if r.status != http.StatusOK || r.str(s.t, "status") != "mfa_required" {
		s.t.Fatalf("device login: %d %s, want mfa_required", r.status, r.body)
	}
	s.clock.Advance(30 * time.Second)
	v := s.post("/api/v1/auth/verify", "", map[string]string{"flow_token": r.str(s.t, "flow_token"), "method": "totp", "code": p.code(s.clock.Now())})
	if v.status != http.StatusOK {
		s.t.Fatalf("device verify: %d %s", v.status, v.body)
	}
	m := v.json(s.t)
	d, _ := m["device"].(map[string]any)
	if m["status"] != "authenticated" || d == nil || d["id"] == "" || d["kind"] != kind || m["expires_in"].(float64) <= 0 ||
		!strings.HasPrefix(m["device_token"].(string), "tfd_") || !strings.HasPrefix(m["access_token"].(string), "tfs_") {
		s.t.Fatalf("registration answer: %s", v.body)
	}
	if _, ok := m["session_token"]; ok {
		s.t.Fatalf("the registration answer also carries a session_token: %s", v.body)
	}
	return registered{id: d["id"].(string), kind: kind, deviceToken: m["device_token"].(string), accessToken: m["access_token"].(string),
		passcodeRequired: d["passcode_required"]}
}

// openSession asks for a new session of device d with body (device_token
// added) and returns the answer.
func (s *server) openSession(d *registered, body map[string]any) response {
	s.t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	if _, ok := body["device_token"]; !ok {
		body["device_token"] = d.deviceToken
	}
	r := s.post("/api/v1/devices/"+d.id+"/sessions", "", body)
	if r.status == http.StatusOK {
		d.deviceToken, d.accessToken = r.str(s.t, "device_token"), r.str(s.t, "access_token")
	}
	return r
}

func wantCode(t *testing.T, what string, r response, status int, code string) {
	t.Helper()
	if r.status != status || r.errorCode(t) != code {
		t.Fatalf("%s: %d %s, want %d %s", what, r.status, r.body, status, code)
	}
}

func TestAMobileAppRegistersWithBothFactorsAndNeedsItsPasscodeWhenTheOrgRequiresIt(t *testing.T) {
	e := newSentServer(t, nil)
	e.addUser("acme", "alice", "alice@example.com", true)
	e.addUser("acme", "bob", "bob@example.com", true)
	mobile := e.deviceClient("acme", "mobile")
	p, _ := enrollOverHTTP(t, e.server, e.session("acme", "alice"), "Phone")

	// Bob has no second factor: no device on the password alone, and he
	// is told where to set one up.
	r := e.post("/api/v1/auth/login", "", map[string]any{"org": "acme", "username": "bob", "password": testPassword,
		"client_id": mobile, "device": map[string]string{"name": "Bob's phone"}})
	wantCode(t, "registration without a factor", r, http.StatusForbidden, "mfa_setup_required")
	if u, _ := r.json(t)["error"].(map[string]any)["url"].(string); u != "https://id.twofold.test/security" {
		t.Errorf("mfa_setup_required names %q, want the portal's security page", u)
	}
	// A client that does not register devices, or a wrong kind, is refused.
	r = e.post("/api/v1/auth/login", "", map[string]any{"org": "acme", "username": "alice", "password": testPassword,
		"client_id": mobile, "device": map[string]string{"kind": "agent", "name": "x"}})
	wantCode(t, "a device of another kind than its client", r, http.StatusBadRequest, "invalid_device")

	n := e.mail.Count()
	d := e.registerDevice("alice", mobile, "mobile", "Alice's iPhone", p)
	if d.passcodeRequired != false {
		t.Errorf("passcode_required = %v under an optional policy, want false", d.passcodeRequired)
	}
	e.mail.wait(t, n, "new device notice", func(m smtptest.Message) bool {
		return to("alice@example.com")(m) && strings.Contains(m.Subject, "new device") && strings.Contains(m.Body, "Alice's iPhone")
	})

	// The device is listed; its session reads but cannot add a factor,
	// change the password or act as an admin.
	list := e.get("/api/v1/me/devices", d.accessToken)
	if list.status != http.StatusOK || !strings.Contains(string(list.body), `"Alice's iPhone"`) || !strings.Contains(string(list.body), `"passcode_set":false`) {
		t.Fatalf("my devices: %d %s", list.status, list.body)
	}
	wantCode(t, "a device session adding a factor", e.post("/api/v1/me/factors/totp", d.accessToken, map[string]string{}),
		http.StatusForbidden, "device_session_not_allowed")
	wantCode(t, "a device session changing the password", e.post("/api/v1/me/password", d.accessToken,
		map[string]string{"current_password": testPassword, "new_password": "another long password"}), http.StatusForbidden, "device_session_not_allowed")

	// Optional policy: the app opens sessions without a passcode.
	if r := e.openSession(&d, nil); r.status != http.StatusOK {
		t.Fatalf("session without a passcode under an optional policy: %d %s", r.status, r.body)
	}

	// The org now requires two-step sign-in: no tokens until a passcode is set.
	e.cli("", "org", "set-policy", "--org", "acme", "--mfa", "required")
	wantCode(t, "a session without a passcode under a required policy", e.openSession(&d, nil), http.StatusForbidden, "passcode_required")
	for _, bad := range []string{"12", "abcd", "123456789"[:3]} {
		if r := e.put("/api/v1/devices/"+d.id+"/passcode", d.accessToken, map[string]string{"passcode": bad}); r.status != http.StatusBadRequest {
			t.Fatalf("passcode %q: %d %s", bad, r.status, r.body)
		}
	}
	if r := e.put("/api/v1/devices/"+d.id+"/passcode", d.accessToken, map[string]string{"passcode": "4821"}); r.status != http.StatusNoContent {
		t.Fatalf("set passcode: %d %s", r.status, r.body)
	}
	// Changing it needs the old one (or a code).
	wantCode(t, "changing the passcode without the old one", e.put("/api/v1/devices/"+d.id+"/passcode", d.accessToken,
		map[string]string{"passcode": "9999"}), http.StatusForbidden, "reauthentication_required")
	r = e.openSession(&d, map[string]any{"passcode": "4821"})
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"pin"`) || !strings.Contains(string(r.body), `"swk"`) {
		t.Fatalf("session with the passcode: %d %s", r.status, r.body)
	}
	if me := e.get("/api/v1/me", d.accessToken); me.status != http.StatusOK {
		t.Fatalf("the new access token: %d %s", me.status, me.body)
	}

	// Five wrong passcodes in a row remove the device; the sixth finds it gone.
	for i := 1; i <= 5; i++ {
		r := e.openSession(&d, map[string]any{"passcode": "0000"})
		wantCode(t, "a wrong passcode", r, http.StatusUnauthorized, "invalid_passcode")
		if left := r.json(t)["error"].(map[string]any)["tries_left"]; left != float64(5-i) {
			t.Fatalf("wrong passcode %d: tries_left = %v, want %d", i, left, 5-i)
		}
	}
	wantCode(t, "the sixth wrong passcode", e.openSession(&d, map[string]any{"passcode": "0000"}), http.StatusUnauthorized, "device_revoked")
	wantCode(t, "the right passcode after removal", e.openSession(&d, map[string]any{"passcode": "4821"}), http.StatusUnauthorized, "device_revoked")
	wantCode(t, "the removed device's access token", e.get("/api/v1/me", d.accessToken), http.StatusUnauthorized, "unauthenticated")
	if list := e.get("/api/v1/me/devices", e.session2("alice", p)); strings.Contains(string(list.body), d.id) {
		t.Fatalf("a removed device is still listed: %s", list.body)
	}
}

// session2 signs a user with an authenticator app in (both factors) and
// returns the session token.
func (s *server) session2(user string, p phone) string {
	s.t.Helper()
	r := s.login(user, "mfa_required")
	s.clock.Advance(30 * time.Second)
	v := s.post("/api/v1/auth/verify", "", map[string]string{"flow_token": r.str(s.t, "flow_token"), "method": "totp", "code": p.code(s.clock.Now())})
	if v.status != http.StatusOK {
		s.t.Fatalf("verify: %d %s", v.status, v.body)
	}
	return v.str(s.t, "session_token")
}

func TestAnAddInNeedsACodeAtEveryNewSessionAndAPasswordChangeRemovesIt(t *testing.T) {
	s := newServer(t)
	s.orgAndUser()
	addin := s.deviceClient("acme", "add-in")
	p, _ := enrollOverHTTP(t, s, s.session("acme", "alice"), "Phone")
	d := s.registerDevice("alice", addin, "add-in", "Outlook on Alice's PC", p)

	wantCode(t, "an add-in session without a code", s.openSession(&d, nil), http.StatusUnauthorized, "second_factor_required")
	s.clock.Advance(30 * time.Second)
	wantCode(t, "an add-in session with a wrong code", s.openSession(&d, map[string]any{"code": p.wrong(s.clock.Now())}),
		http.StatusUnauthorized, "invalid_code")
	r := s.openSession(&d, map[string]any{"code": p.code(s.clock.Now()), "method": "totp"})
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"otp"`) {
		t.Fatalf("add-in session with a code: %d %s", r.status, r.body)
	}
	// The same code again (replay) is refused.
	wantCode(t, "the same code again", s.openSession(&d, map[string]any{"code": p.code(s.clock.Now())}), http.StatusUnauthorized, "invalid_code")

	// A password change (from the portal session) removes the add-in.
	tok := s.session2("alice", p)
	s.clock.Advance(30 * time.Second)
	if r := s.post("/api/v1/me/password", tok, map[string]string{"current_password": testPassword, "new_password": "a new long password",
		"code": p.code(s.clock.Now())}); r.status != http.StatusNoContent && r.status != http.StatusOK {
		t.Fatalf("change password: %d %s", r.status, r.body)
	}
	s.clock.Advance(30 * time.Second)
	wantCode(t, "the add-in after a password change", s.openSession(&d, map[string]any{"code": p.code(s.clock.Now())}),
		http.StatusUnauthorized, "device_revoked")
}

func TestAnAgentRefreshesSilentlyAReusedTokenRevokesItAndAdminsSeeAndRemoveDevices(t *testing.T) {
	s := newServer(t)
	s.orgAndUser()
	agent := s.deviceClient("acme", "agent")
	p, _ := enrollOverHTTP(t, s, s.session("acme", "alice"), "Phone")

	// Rotation: each session answers a new token; the old one is spent.
	d := s.registerDevice("alice", agent, "agent", "Alice's MacBook — sync agent", p)
	old := d.deviceToken
	if r := s.openSession(&d, nil); r.status != http.StatusOK || d.deviceToken == old {
		t.Fatalf("agent refresh: %d %s", r.status, r.body)
	}
	if r := s.openSession(&d, nil); r.status != http.StatusOK {
		t.Fatalf("agent refresh with the rotated token: %d %s", r.status, r.body)
	}
	current := d.deviceToken
	wantCode(t, "a reused token", s.openSession(&d, map[string]any{"device_token": old}), http.StatusUnauthorized, "device_revoked")
	wantCode(t, "the current token after a reuse", s.openSession(&d, map[string]any{"device_token": current}), http.StatusUnauthorized, "device_revoked")

	// Admins see and remove a user's devices (API key), and so does the CLI.
	d2 := s.registerDevice("alice", agent, "agent", "Build box", p)
	s.cli(testPassword+"\n", "user", "create", "--org", "acme", "--username", "ada", "--role", "admin", "--password-stdin")
	out := s.cli("", "apikey", "create", "--org", "acme", "--name", "ops")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	key := lines[len(lines)-1]
	id := s.userID("acme", "alice")
	list := s.get("/api/v1/users/"+id+"/devices", key)
	if list.status != http.StatusOK || !strings.Contains(string(list.body), d2.id) || strings.Contains(string(list.body), d.id) {
		t.Fatalf("admin device list: %d %s", list.status, list.body)
	}
	if cli := s.cli("", "user", "devices", "--org", "acme", "--username", "alice"); !strings.Contains(cli, d2.id) || !strings.Contains(cli, "Build box") {
		t.Fatalf("user devices: %s", cli)
	}
	if r := s.do(request{method: http.MethodDelete, path: "/api/v1/users/" + id + "/devices/" + d2.id, token: key}); r.status != http.StatusNoContent {
		t.Fatalf("admin removes a device: %d %s", r.status, r.body)
	}
	wantCode(t, "a device removed by an admin", s.openSession(&d2, nil), http.StatusUnauthorized, "device_revoked")
	wantCode(t, "its access token", s.get("/api/v1/me", d2.accessToken), http.StatusUnauthorized, "unauthenticated")

	// The user removes one; the CLI removes another.
	d3 := s.registerDevice("alice", agent, "agent", "Laptop", p)
	if r := s.do(request{method: http.MethodDelete, path: "/api/v1/me/devices/" + d3.id, token: d3.accessToken}); r.status != http.StatusNoContent {
		t.Fatalf("user removes a device: %d %s", r.status, r.body)
	}
	wantCode(t, "a device removed by its user", s.openSession(&d3, nil), http.StatusUnauthorized, "device_revoked")
	d4 := s.registerDevice("alice", agent, "agent", "Desktop", p)
	s.cli("", "user", "remove-device", "--org", "acme", "--username", "alice", "--device", d4.id)
	wantCode(t, "a device removed on the command line", s.openSession(&d4, nil), http.StatusUnauthorized, "device_revoked")

	// An MFA reset removes every device; so does disabling.
	d5 := s.registerDevice("alice", agent, "agent", "Spare", p)
	s.cli("", "user", "reset-mfa", "--org", "acme", "--username", "alice")
	wantCode(t, "a device after an MFA reset", s.openSession(&d5, nil), http.StatusUnauthorized, "device_revoked")

	// Every registration, use and removal is in the audit log.
	log := s.get("/api/v1/audit?event=device.&user="+id+"&limit=500", key)
	for _, want := range []string{`"device.register"`, `"device.session"`, `"device.remove"`, "removed by admin", "removed by user",
		"device token reused"} {
		if !strings.Contains(string(log.body), want) {
			t.Errorf("the audit log of alice's devices lacks %s", want)
		}
	}
}

func TestADisabledUsersDevicesAreGone(t *testing.T) {
	s := newServer(t)
	s.orgAndUser()
	mobile := s.deviceClient("acme", "mobile")
	p, _ := enrollOverHTTP(t, s, s.session("acme", "alice"), "Phone")
	d := s.registerDevice("alice", mobile, "mobile", "Phone", p)
	s.cli("", "user", "set", "--org", "acme", "--username", "alice", "--disabled=true")
	wantCode(t, "a disabled user's device", s.openSession(&d, nil), http.StatusUnauthorized, "device_revoked")
	s.cli("", "user", "set", "--org", "acme", "--username", "alice", "--disabled=false")
	wantCode(t, "the device after re-enabling", s.openSession(&d, nil), http.StatusUnauthorized, "device_revoked")
}

func TestAClientsDeviceRulesChangeWhatANewSessionNeeds(t *testing.T) {
	s := newServer(t)
	s.orgAndUser()
	out := s.cli("", "apikey", "create", "--org", "acme", "--name", "ops")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	key := lines[len(lines)-1]
	p, _ := enrollOverHTTP(t, s, s.session("acme", "alice"), "Phone")

	// A mobile app whose client always wants a passcode, even under an optional policy.
	r := s.post("/api/v1/orgs/acme/clients", key, map[string]any{"name": "Vault", "kind": "mobile",
		"device_rules": map[string]any{"passcode": "required", "session_lifetime": 600}})
	if r.status != http.StatusCreated || !strings.Contains(string(r.body), `"passcode":"required"`) {
		t.Fatalf("create client with device rules: %d %s", r.status, r.body)
	}
	d := s.registerDevice("alice", r.str(t, "client_id"), "mobile", "Alice's phone", p)
	if d.passcodeRequired != true {
		t.Errorf("passcode_required = %v for a client that requires one", d.passcodeRequired)
	}
	wantCode(t, "a session without the required passcode", s.openSession(&d, nil), http.StatusForbidden, "passcode_required")
	if r := s.put("/api/v1/devices/"+d.id+"/passcode", d.accessToken, map[string]string{"passcode": "1357"}); r.status != http.StatusNoContent {
		t.Fatalf("set passcode: %d %s", r.status, r.body)
	}
	r = s.openSession(&d, map[string]any{"passcode": "1357"})
	if r.status != http.StatusOK || r.json(t)["expires_in"].(float64) > 600 {
		t.Fatalf("session with the client's lifetime of 10 minutes: %d %s", r.status, r.body)
	}

	// An add-in whose client needs no code at each session; an agent whose client needs one.
	addin := s.post("/api/v1/orgs/acme/clients", key, map[string]any{"name": "Mail", "kind": "add-in",
		"device_rules": map[string]any{"session_code": "never"}}).str(t, "client_id")
	a := s.registerDevice("alice", addin, "add-in", "Outlook", p)
	if r := s.openSession(&a, nil); r.status != http.StatusOK {
		t.Fatalf("add-in session under session_code never: %d %s", r.status, r.body)
	}
	agentID := s.post("/api/v1/orgs/acme/clients", key, map[string]any{"name": "Sync", "kind": "agent"}).str(t, "client_id")
	if r := s.do(request{method: http.MethodPatch, path: "/api/v1/clients/" + agentID, token: key,
		body: map[string]any{"device_rules": map[string]any{"session_code": "every"}}}); r.status != http.StatusOK {
		t.Fatalf("patch agent rules: %d %s", r.status, r.body)
	}
	g := s.registerDevice("alice", agentID, "agent", "Laptop", p)
	wantCode(t, "an agent session without a code under session_code every", s.openSession(&g, nil), http.StatusUnauthorized, "second_factor_required")

	// The command line sets them too.
	var cliAddIn string
	for _, l := range strings.Split(s.cli("", "client", "create", "--org", "acme", "--name", "Mail 2", "--kind", "add-in",
		"--session-code", "never", "--session-lifetime", "15m"), "\n") {
		if v, ok := strings.CutPrefix(l, "client_id: "); ok {
			cliAddIn = strings.TrimSpace(v)
		}
	}
	a2 := s.registerDevice("alice", cliAddIn, "add-in", "Outlook 2", p)
	if r := s.openSession(&a2, nil); r.status != http.StatusOK || r.json(t)["expires_in"].(float64) > 900 {
		t.Fatalf("add-in of a CLI client with session_code never and 15 minutes: %d %s", r.status, r.body)
	}

	// Rules are for device clients only, and only known values.
	wantCode(t, "device rules on a web client", s.post("/api/v1/orgs/acme/clients", key, map[string]any{"name": "Wiki", "kind": "web",
		"redirect_uris": []string{"https://wiki.example/cb"}, "device_rules": map[string]any{"passcode": "required"}}), http.StatusBadRequest, "invalid_request")
	wantCode(t, "an unknown rule value", s.post("/api/v1/orgs/acme/clients", key, map[string]any{"name": "X", "kind": "mobile",
		"device_rules": map[string]any{"passcode": "sometimes"}}), http.StatusBadRequest, "invalid_request")
}
