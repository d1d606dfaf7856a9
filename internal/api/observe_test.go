package api_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/store"
	"github.com/twofold-id/twofold/internal/version"
)

// scrape reads the metrics listener's /metrics.
func scrape(t *testing.T, s *server) string {
	t.Helper()
	rec := httptest.NewRecorder()
	s.app.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: %d", rec.Code)
	}
	return rec.Body.String()
}

func TestMetricsAreNotOnThePublicPort(t *testing.T) {
	s := newServer(t)
	if r := s.get("/metrics", ""); r.status != http.StatusNotFound || strings.Contains(string(r.body), "go_goroutines") {
		t.Fatalf("GET /metrics on the public handler: %d %.200s", r.status, r.body)
	}
	r := s.get("/healthz", "")
	var h struct{ Status, Version string }
	if err := json.Unmarshal(r.body, &h); r.status != http.StatusOK || err != nil || h.Status != "ok" || h.Version != version.String() {
		t.Fatalf("/healthz: %d %s", r.status, r.body)
	}
}

// TestASignInShowsInTheMetrics signs in with a password and a code, wrong
// and right, and reads the metrics an operator's dashboard would.
func TestASignInShowsInTheMetrics(t *testing.T) {
	s := newServer(t)
	s.orgAndUser()
	tok := s.login("alice", "authenticated").str(t, "session_token")
	p, _ := enrollOverHTTP(t, s, tok, "phone")
	flow := s.login("alice", "mfa_required").str(t, "flow_token")
	if r := s.post("/api/v1/auth/verify", "", map[string]string{"flow_token": flow, "method": "totp", "code": p.wrong(s.clock.Now())}); r.status != http.StatusUnauthorized {
		t.Fatalf("wrong code: %d %s", r.status, r.body)
	}
	if r := s.post("/api/v1/auth/verify", "", map[string]string{"flow_token": flow, "method": "totp", "code": p.code(s.clock.Now())}); r.status != http.StatusOK {
		t.Fatalf("right code: %d %s", r.status, r.body)
	}
	s.post("/api/v1/auth/login", "", map[string]string{"org": "acme", "username": "alice", "password": "wrong password"})
	s.get("/api/v1/orgs/acme", tok) // a route with a wildcard
	s.get("/api/v1/nosuch", "")

	m := scrape(t, s)
	for _, want := range []string{
		`twofold_http_requests_total{code="200",method="POST",route="POST /api/v1/auth/login"} 2`,
		`twofold_http_requests_total{code="401",method="POST",route="POST /api/v1/auth/login"} 1`,
		`twofold_http_requests_total{code="401",method="POST",route="POST /api/v1/auth/verify"} 1`,
		`route="GET /api/v1/orgs/{slug}"`,
		`twofold_http_request_duration_seconds_count{route="POST /api/v1/auth/verify"} 2`,
		`twofold_signin_steps_total{method="password",outcome="success",step="password"} 2`,
		`twofold_signin_steps_total{method="password",outcome="failure",step="password"} 1`,
		`twofold_signin_steps_total{method="totp",outcome="failure",step="second_factor"} 1`,
		`twofold_signin_steps_total{method="totp",outcome="success",step="second_factor"} 1`,
		`twofold_signins_completed_total 2`,
		`twofold_code_checks_total{method="totp",outcome="success"} 1`, // the enrollment's confirmation
		`twofold_password_hash_slots `,
		`twofold_password_hash_queue_depth 0`,
		`twofold_password_hash_wait_seconds_count `,
		`twofold_db_pool_open_connections{pool="writer"} 1`,
		`twofold_db_pool_max_connections{pool="reader"} `,
		`twofold_build_info{version="` + version.String() + `"} 1`,
		`go_goroutines `,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// Raw paths never become labels: only patterns and "unmatched"-like
	// catch-alls appear.
	for _, line := range strings.Split(m, "\n") {
		if strings.HasPrefix(line, "twofold_http_requests_total{") && strings.Contains(line, "/acme") {
			t.Errorf("a raw path is a label: %s", line)
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", grepLines(m, "twofold_"))
	}
}

func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestTheRequestIDReachesTheResponseTheLogAndTheAuditLog(t *testing.T) {
	s := newServer(t)
	s.orgAndUser()
	send := func(id string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/api/v1/auth/login",
			strings.NewReader(`{"org":"acme","username":"alice","password":"wrong password"}`))
		req.Header.Set("Content-Type", "application/json")
		if id != "" {
			req.Header.Set("X-Request-Id", id)
		}
		res, err := s.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	if got := send("proxy-7f3a-0001").Header.Get("X-Request-Id"); got != "proxy-7f3a-0001" {
		t.Fatalf("a well-formed id is not echoed: %q", got)
	}
	for _, bad := range []string{"two words", strings.Repeat("x", 200), `"><script>`} {
		if got := send(bad).Header.Get("X-Request-Id"); got == bad || !regexp.MustCompile(`^[0-9a-f]{24}$`).MatchString(got) {
			t.Fatalf("id %q became %q, want a new one", bad, got)
		}
	}
	generated := send("").Header.Get("X-Request-Id")
	if len(generated) != 24 {
		t.Fatalf("no id generated: %q", generated)
	}

	// The audit event of the sign-in carries the id.
	evs, err := s.app.Store.ListAudit(t.Context(), store.AuditFilter{Event: "signin.password"})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, e := range evs {
		ids[e.RequestID] = true
	}
	if !ids["proxy-7f3a-0001"] || !ids[generated] || ids[""] {
		t.Fatalf("audit request ids: %v", ids)
	}

	// One access-log line per request, and every line of the request
	// (the audit line here) carries its id.
	time.Sleep(10 * time.Millisecond)
	var access, audited int
	sc := bufio.NewScanner(strings.NewReader(s.logs.String()))
	for sc.Scan() {
		var l map[string]any
		if json.Unmarshal(sc.Bytes(), &l) != nil || l["request_id"] != "proxy-7f3a-0001" {
			continue
		}
		switch l["msg"] {
		case "request":
			access++
			if l["route"] != "POST /api/v1/auth/login" || l["status"].(float64) != 401 || l["method"] != "POST" ||
				l["client"] == "" || l["bytes"].(float64) <= 0 || l["duration"] == nil || l["path"] != "/api/v1/auth/login" {
				t.Errorf("access line: %s", sc.Text())
			}
		case "audit":
			audited++
		}
	}
	if access != 1 || audited != 1 {
		t.Fatalf("%d access lines and %d audit lines with the id, want 1 and 1:\n%s", access, audited, s.logs.String())
	}
}

func TestPortalRoutesAreLabelledByPattern(t *testing.T) {
	s := newServer(t)
	s.get("/login", "")
	s.get("/o/acme/login", "")
	s.get("/static/style.css", "")
	s.get("/no/such/page", "")
	m := scrape(t, s)
	for _, want := range []string{`route="GET /login"`, `route="GET /o/{slug}/login"`, `route="GET /static/"`, `code="404",method="GET",route="/"`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s:\n%s", want, grepLines(m, "twofold_http_requests_total"))
		}
	}
}
