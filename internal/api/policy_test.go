package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/factor/totp"
)

// tree builds platform → reseller → customer → dept plus a sibling reseller,
// with an admin at reseller (rita), customer (carl) and reseller2 (sam), and
// a member in dept (dave), all through the CLI.
func (s *server) tree() {
	s.t.Helper()
	s.cli("", "org", "create", "--slug", "reseller", "--name", "Reseller Ltd")
	s.cli("", "org", "create", "--slug", "customer", "--name", "Customer Inc", "--parent", "reseller")
	s.cli("", "org", "create", "--slug", "dept", "--name", "Department", "--parent", "customer")
	s.cli("", "org", "create", "--slug", "reseller2", "--name", "Other Reseller")
	for _, u := range [][3]string{{"reseller", "rita", "admin"}, {"customer", "carl", "admin"}, {"reseller2", "sam", "admin"},
		{"dept", "dave", "member"}, {"dept", "erin", "member"}} {
		s.cli(testPassword+"\n", "user", "create", "--org", u[0], "--username", u[1], "--role", u[2], "--password-stdin")
	}
}

// signIn signs a user of org in and returns the answer's JSON.
func (s *server) signIn(org, user, status string) map[string]any {
	s.t.Helper()
	r := s.post("/api/v1/auth/login", "", map[string]string{"org": org, "username": user, "password": testPassword})
	if r.status != http.StatusOK || r.str(s.t, "status") != status {
		s.t.Fatalf("login %s/%s: %d %s, want %q", org, user, r.status, r.body, status)
	}
	return r.json(s.t)
}

// session signs a user without MFA in and returns the session token.
func (s *server) session(org, user string) string {
	s.t.Helper()
	return s.signIn(org, user, "authenticated")["session_token"].(string)
}

// userID finds a user's id through the CLI listing.
func (s *server) userID(org, user string) string {
	s.t.Helper()
	for _, line := range strings.Split(s.cli("", "user", "list", "--org", org), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == user {
			return f[len(f)-1]
		}
	}
	s.t.Fatalf("user %s/%s not listed", org, user)
	return ""
}

func (s *server) put(path, token string, body any) response {
	s.t.Helper()
	return s.do(request{method: http.MethodPut, path: path, token: token, body: body})
}

// enrollInFlow sets up an authenticator app in an enrollment flow and
// returns the phone and the answer.
func (s *server) enrollInFlow(flow string) (phone, map[string]any) {
	s.t.Helper()
	r := s.post("/api/v1/auth/enroll/totp", "", map[string]string{"flow_token": flow})
	if r.status != http.StatusCreated {
		s.t.Fatalf("enroll/totp: %d %s", r.status, r.body)
	}
	secret, err := totp.DecodeSecret(r.str(s.t, "secret"))
	if err != nil {
		s.t.Fatal(err)
	}
	p := phone{secret: secret, v: totp.Default()}
	c := s.post("/api/v1/auth/enroll/totp/confirm", "", map[string]string{"flow_token": flow, "factor_id": r.str(s.t, "factor_id"), "code": p.code(s.clock.Now())})
	if c.status != http.StatusOK || c.str(s.t, "status") != "authenticated" {
		s.t.Fatalf("enroll/totp/confirm: %d %s", c.status, c.body)
	}
	s.clock.Advance(30 * time.Second)
	return p, c.json(s.t)
}

func TestAResellerLockCannotBeLoweredBelowAndForcesEnrollmentAtAnyDepth(t *testing.T) {
	s := newServer(t)
	s.tree()
	rita := s.adminSession("reseller", "rita")
	carl := s.session("customer", "carl") // signed in before the lock
	if r := s.put("/api/v1/orgs/reseller/policy", rita, map[string]any{"mfa": "required", "locked": true}); r.status != http.StatusOK {
		t.Fatalf("reseller locks required: %d %s", r.status, r.body)
	}

	// carl's password-only session no longer satisfies his policy: it can
	// only set up a factor now (assurance is decided from current data).
	if r := s.get("/api/v1/orgs/customer/policy", carl); r.status != http.StatusForbidden || r.errorCode(t) != "mfa_enrollment_required" {
		t.Fatalf("stale session of carl after the lock: %d %s, want 403 mfa_enrollment_required", r.status, r.body)
	}
	carl = s.adminSession("customer", "carl")
	pol := s.get("/api/v1/orgs/customer/policy", carl).json(t)
	eff := pol["effective"].(map[string]any)
	if eff["mfa"] != "required" || eff["mfa_locked_by"] == nil || eff["mfa_locked_by"].(map[string]any)["slug"] != "reseller" {
		t.Fatalf("customer's effective policy = %v, want required and locked by reseller", eff)
	}
	r := s.put("/api/v1/orgs/customer/policy", carl, map[string]any{"mfa": "optional"})
	if r.status != http.StatusForbidden || r.errorCode(t) != "policy_locked" || !strings.Contains(string(r.body), "Reseller Ltd") {
		t.Fatalf("customer admin lowers a locked setting: %d %s, want 403 policy_locked naming Reseller Ltd", r.status, r.body)
	}
	// Setting it again at the same strength, or stronger, is fine.
	if r := s.put("/api/v1/orgs/customer/policy", carl, map[string]any{"mfa": "required"}); r.status != http.StatusOK {
		t.Fatalf("customer admin keeps required: %d %s", r.status, r.body)
	}

	// Three levels below the lock, dave is led into setup right after the password.
	flow := s.signIn("dept", "dave", "enrollment_required")
	if m := flow["methods"].([]any); !slices.Contains(m, any("totp")) {
		t.Fatalf("enrollment methods = %v", m)
	}
	if _, ok := flow["enrollment_deadline"]; ok {
		t.Fatal("no grace period was set, yet the answer has a deadline")
	}
	_, done := s.enrollInFlow(flow["flow_token"].(string))
	if codes := done["backup_codes"].([]any); len(codes) != 10 {
		t.Fatalf("%d backup codes after enrollment", len(codes))
	}
	// S18: a mobile app learns that it must ask for an app passcode.
	if pin := s.get("/api/v1/me", done["session_token"].(string)).json(t)["mfa"].(map[string]any)["app_pin"]; pin != "required" {
		t.Fatalf("app_pin = %v under a required policy", pin)
	}
	s.signIn("dept", "dave", "mfa_required")

	// The reseller admin resets dave's MFA (lost phone): dave enrolls again.
	dave := s.userID("dept", "dave")
	if r := s.post("/api/v1/users/"+dave+"/mfa/reset", rita, nil); r.status != http.StatusNoContent {
		t.Fatalf("reset: %d %s", r.status, r.body)
	}
	s.signIn("dept", "dave", "enrollment_required")
}

func TestTurningRequiredOffKeepsFactorsAndOffStillAsksForThem(t *testing.T) {
	s := newServer(t)
	s.tree()
	s.cli("", "org", "set-policy", "--org", "dept", "--mfa", "required")
	flow := s.signIn("dept", "dave", "enrollment_required")
	s.enrollInFlow(flow["flow_token"].(string))

	s.cli("", "org", "set-policy", "--org", "dept", "--mfa", "optional")
	s.signIn("dept", "dave", "mfa_required") // S19: dave's factor stays and is still asked for
	if pin := s.get("/api/v1/me", s.session("dept", "erin")).json(t)["mfa"].(map[string]any)["app_pin"]; pin != "optional" {
		t.Fatalf("app_pin = %v under an optional policy", pin)
	}

	s.cli("", "org", "set-policy", "--org", "dept", "--mfa", "off")
	s.signIn("dept", "dave", "mfa_required") // security is never silently removed
	erin := s.session("dept", "erin")
	if r := s.post("/api/v1/me/factors/totp", erin, nil); r.status != http.StatusForbidden || r.errorCode(t) != "method_not_allowed" {
		t.Fatalf("setting up a factor where MFA is off: %d %s, want 403 method_not_allowed", r.status, r.body)
	}
}

func TestAGracePeriodLetsUsersPostponeSetupUntilItsDeadline(t *testing.T) {
	s := newServer(t)
	s.tree()
	s.cli("", "org", "set-policy", "--org", "dept", "--mfa", "required", "--grace", "72h")
	flow := s.signIn("dept", "dave", "enrollment_required")
	deadline, err := time.Parse(time.RFC3339, flow["enrollment_deadline"].(string))
	if err != nil || !deadline.Equal(s.clock.Now().Add(72*time.Hour).Truncate(time.Second)) {
		t.Fatalf("enrollment_deadline = %v (%v), want 72h from now", flow["enrollment_deadline"], err)
	}
	r := s.post("/api/v1/auth/enroll/skip", "", map[string]string{"flow_token": flow["flow_token"].(string)})
	if r.status != http.StatusOK || r.str(t, "status") != "authenticated" {
		t.Fatalf("skip within the grace period: %d %s", r.status, r.body)
	}
	s.clock.Advance(73 * time.Hour)
	flow = s.signIn("dept", "dave", "enrollment_required")
	if _, ok := flow["enrollment_deadline"]; ok {
		t.Fatal("the deadline passed, yet setup is still offered as postponable")
	}
	r = s.post("/api/v1/auth/enroll/skip", "", map[string]string{"flow_token": flow["flow_token"].(string)})
	if r.status != http.StatusForbidden || r.errorCode(t) != "enrollment_deadline_passed" {
		t.Fatalf("skip after the deadline: %d %s", r.status, r.body)
	}
}

func TestSensitiveAdminActionsNeedARecentSecondFactor(t *testing.T) {
	s := newServer(t)
	s.tree()
	rita := s.session("reseller", "rita")
	r := s.post("/api/v1/me/factors/totp", rita, nil)
	secret, _ := totp.DecodeSecret(r.str(t, "secret"))
	p := phone{secret: secret, v: totp.Default()}
	if c := s.post("/api/v1/me/factors/"+r.str(t, "factor_id")+"/confirm", rita, map[string]string{"code": p.code(s.clock.Now())}); c.status != http.StatusOK {
		t.Fatalf("confirm: %d %s", c.status, c.body)
	}
	// rita's session has not passed a second factor: a reset must wait.
	dave := s.userID("dept", "dave")
	r = s.post("/api/v1/users/"+dave+"/mfa/reset", rita, nil)
	if r.status != http.StatusForbidden || r.errorCode(t) != "reauthentication_required" {
		t.Fatalf("reset with a stale session: %d %s", r.status, r.body)
	}
	s.clock.Advance(30 * time.Second)
	re := s.post("/api/v1/auth/reauthenticate", rita, map[string]string{"code": p.code(s.clock.Now())})
	if re.status != http.StatusOK {
		t.Fatalf("reauthenticate: %d %s", re.status, re.body)
	}
	fresh := re.str(t, "session_token")
	if fresh == rita {
		t.Fatal("step-up kept the old token")
	}
	if r := s.get("/api/v1/me", rita); r.status != http.StatusUnauthorized {
		t.Fatalf("the replaced token still works: %d", r.status)
	}
	if r := s.post("/api/v1/users/"+dave+"/mfa/reset", fresh, nil); r.status != http.StatusNoContent {
		t.Fatalf("reset right after re-authentication: %d %s", r.status, r.body)
	}
	s.clock.Advance(16 * time.Minute)
	if r := s.post("/api/v1/users/"+dave+"/mfa/reset", fresh, nil); r.status != http.StatusForbidden {
		t.Fatalf("reset 16 minutes later: %d %s, want 403", r.status, r.body)
	}
	// Strengthening a policy is not sensitive; weakening it is.
	if r := s.put("/api/v1/orgs/dept/policy", fresh, map[string]any{"mfa": "required"}); r.status != http.StatusOK {
		t.Fatalf("strengthen: %d %s", r.status, r.body)
	}
	if r := s.put("/api/v1/orgs/dept/policy", fresh, map[string]any{"mfa": "optional"}); r.status != http.StatusForbidden || r.errorCode(t) != "reauthentication_required" {
		t.Fatalf("weaken with a stale session: %d %s", r.status, r.body)
	}
}

// TestAdminScopeBoundaries checks every admin endpoint for every kind of
// actor against targets inside and outside its subtree.
func TestAdminScopeBoundaries(t *testing.T) {
	s := newServer(t)
	s.tree()
	s.cli(testPassword+"\n", "user", "create", "--org", "platform", "--username", "root", "--role", "superadmin", "--password-stdin")
	s.cli(testPassword+"\n", "user", "create", "--org", "customer", "--username", "boss", "--role", "superadmin", "--password-stdin")
	home := map[string]string{"rita": "reseller", "carl": "customer", "sam": "reseller2", "dave": "dept", "root": "platform"}
	tok := map[string]string{}
	signIn := func(u string) string {
		if u == "dave" {
			return s.session(home[u], u)
		}
		return s.adminSession(home[u], u)
	}
	for u := range home {
		tok[u] = signIn(u)
	}
	id := map[string]string{"dave": s.userID("dept", "dave"), "erin": s.userID("dept", "erin"), "rita": s.userID("reseller", "rita"),
		"boss": s.userID("customer", "boss"), "root": s.userID("platform", "root")}

	type call struct {
		method, path string
		body         any
		ok           int
	}
	orgCalls := func(slug string) []call {
		return []call{
			{"GET", "/api/v1/orgs/" + slug, nil, 200},
			{"GET", "/api/v1/orgs/" + slug + "/policy", nil, 200},
			{"PUT", "/api/v1/orgs/" + slug + "/policy", map[string]any{"mfa": "optional"}, 200},
			{"PATCH", "/api/v1/orgs/" + slug, map[string]any{"name": "Renamed " + slug}, 200},
			{"GET", "/api/v1/users?org=" + slug, nil, 200},
		}
	}
	userCalls := func(uid string) []call {
		return []call{
			{"GET", "/api/v1/users/" + uid, nil, 200},
			{"PATCH", "/api/v1/users/" + uid, map[string]any{"email": "x@example.com"}, 200},
			{"PUT", "/api/v1/users/" + uid + "/mfa-required", map[string]any{"required": false}, 200},
			{"POST", "/api/v1/users/" + uid + "/unlock", nil, 204},
			{"POST", "/api/v1/users/" + uid + "/mfa/reset", nil, 204},
		}
	}
	for _, tc := range []struct {
		actor, target string
		calls         []call
		want          int // 0 = each call's ok status
	}{
		{"rita", "customer (child)", orgCalls("customer"), 0},
		{"rita", "dept (grandchild)", orgCalls("dept"), 0},
		{"carl", "dept (child)", orgCalls("dept"), 0},
		{"carl", "reseller (parent)", orgCalls("reseller"), http.StatusNotFound},
		{"carl", "platform (root)", orgCalls("platform"), http.StatusNotFound},
		{"sam", "customer (sibling subtree)", orgCalls("customer"), http.StatusNotFound},
		{"dave", "dept (member's own org)", orgCalls("dept"), http.StatusForbidden},
		{"root", "reseller2 (superadmin)", orgCalls("reseller2"), 0},
		{"rita", "dave (in subtree)", userCalls(id["dave"]), 0},
		{"carl", "erin (in subtree)", userCalls(id["erin"]), 0},
		{"sam", "dave (sibling subtree)", userCalls(id["dave"]), http.StatusNotFound},
		{"carl", "rita (parent org)", userCalls(id["rita"]), http.StatusNotFound},
		{"carl", "root (platform superadmin)", userCalls(id["root"]), http.StatusNotFound},
		{"carl", "boss (superadmin inside subtree)", userCalls(id["boss"])[1:], http.StatusForbidden},
		{"dave", "erin (member to member)", userCalls(id["erin"]), http.StatusForbidden},
	} {
		t.Run(tc.actor+" on "+tc.target, func(t *testing.T) {
			// A reset in an earlier case may have signed the actor out.
			tok[tc.actor] = signIn(tc.actor)
			for _, c := range tc.calls {
				want := tc.want
				if want == 0 {
					want = c.ok
				}
				r := s.do(request{method: c.method, path: c.path, token: tok[tc.actor], body: c.body})
				if r.status != want {
					t.Errorf("%s %s: %d %s, want %d", c.method, c.path, r.status, r.body, want)
				}
			}
		})
	}
	t.Run("no admin can grant a role above its own", func(t *testing.T) {
		r := s.post("/api/v1/users", tok["carl"], map[string]any{"org": "dept", "username": "eve", "role": "superadmin", "password": testPassword})
		if r.status != http.StatusForbidden || r.errorCode(t) != "role_too_high" {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("a sibling's users never appear in lists", func(t *testing.T) {
		body := string(s.get("/api/v1/users", tok["sam"]).body)
		if strings.Contains(body, "dave") || strings.Contains(body, "rita") || !strings.Contains(body, "sam") {
			t.Fatalf("sam's user list: %s", body)
		}
	})
	t.Run("the audit log of an admin holds only its subtree", func(t *testing.T) {
		r := s.get("/api/v1/audit?limit=1000", tok["carl"])
		if r.status != http.StatusOK {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if strings.Contains(string(r.body), id["root"]) {
			t.Fatal("carl's audit log shows the platform superadmin's events")
		}
	})
}
