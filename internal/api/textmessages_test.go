package api_test

// End-to-end tests of text messages and sent-code limits (the SMTP and
// Twilio peers are in emailcodes_test.go): parallel use of one code, send
// quotas, text messages over Twilio's API, provider failures, and forced
// enrollment with every allowed method.

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/notify/twiliotest"
)

func TestFiftyParallelVerificationsOfOneEmailedCodeLetExactlyOneIn(t *testing.T) {
	t.Parallel()
	// No delays: every request really races for the code.
	e := newSentServer(t, func(c *config.Config) { c.FreeFailures, c.LockoutThreshold = 100, 100 })
	e.addUser("acme", "alice", "alice@example.com", true)
	e.emailFactor("alice", "alice@example.com")
	n := e.mail.Count()
	flow := e.challenge("alice", "email")
	code := e.mail.code(t, n, "alice@example.com")

	const parallel = 50
	type result struct {
		r   response
		err error
	}
	results := make([]result, parallel)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range parallel {
		wg.Go(func() {
			<-start
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			r, err := e.call(ctx, http.MethodPost, "/api/v1/auth/verify", "", map[string]string{"flow_token": flow, "method": "email", "code": code}, nil)
			results[i] = result{r, err}
		})
	}
	close(start)
	wg.Wait()
	var winners []string
	statuses := map[int]int{}
	for _, res := range results {
		statuses[res.r.status]++
		switch {
		case res.err != nil:
			t.Fatalf("request failed: %v", res.err)
		case res.r.status == http.StatusOK:
			winners = append(winners, res.r.str(t, "session_token"))
		case res.r.status == http.StatusUnauthorized || res.r.status == http.StatusTooManyRequests:
			res.r.errorCode(t)
		default:
			t.Fatalf("unexpected answer %d %s", res.r.status, res.r.body)
		}
	}
	t.Logf("answers by status: %v", statuses)
	if len(winners) != 1 {
		t.Fatalf("%d of %d parallel verifications of one code succeeded, want exactly 1", len(winners), parallel)
	}
	r := e.get("/api/v1/me/sessions", winners[0])
	mfa := 0
	for _, s := range r.json(t)["sessions"].([]any) {
		if slices.Contains(s.(map[string]any)["amr"].([]any), any("email")) {
			mfa++
		}
	}
	if mfa != 1 {
		t.Fatalf("%d sessions signed in with the code, want 1: %s", mfa, r.body)
	}
}

func TestAnHourlySendQuotaStopsAFloodOfChallengesAndIsAudited(t *testing.T) {
	t.Parallel()
	e := newSentServer(t, func(c *config.Config) { c.UserSendsPerHour = 3 })
	e.cli(testPassword+"\n", "user", "create", "--org", "platform", "--username", "root", "--role", "superadmin", "--password-stdin")
	alice := e.addUser("acme", "alice", "alice@example.com", true)
	e.emailFactor("alice", "alice@example.com") // one send in this hour
	e.clock.Advance(time.Hour)                  // a fresh quota window

	flow := e.signIn("acme", "alice", "mfa_required")["flow_token"].(string)
	body := map[string]string{"flow_token": flow, "method": "email"}
	n := e.mail.Count()
	for i := range 3 {
		if r := e.post("/api/v1/auth/challenge", "", body); r.status != http.StatusOK {
			t.Fatalf("challenge %d: %d %s", i+1, r.status, r.body)
		}
		e.clock.Advance(31 * time.Second)
	}
	secs := wantError(t, "4th challenge within the hour", e.post("/api/v1/auth/challenge", "", body), http.StatusTooManyRequests, "send_quota_exceeded", true)
	if secs > 3600 {
		t.Errorf("Retry-After %d s, want no more than the rest of the hour", secs)
	}
	codes := 0 // code mails are sent before the answer: no need to wait
	for _, m := range e.mail.since(n) {
		if strings.HasPrefix(m.Subject, "Your code:") {
			codes++
		}
	}
	if codes != 3 {
		t.Fatalf("%d code mails for 4 challenges, want 3", codes)
	}

	root := e.session("platform", "root")
	r := e.get("/api/v1/audit?event=code.send&user="+alice, root)
	if r.status != http.StatusOK {
		t.Fatalf("audit: %d %s", r.status, r.body)
	}
	denied := 0
	for _, ev := range r.json(t)["events"].([]any) {
		ev := ev.(map[string]any)
		if ev["event"] == "code.send" && ev["outcome"] == "denied" && ev["target_user_id"] == alice {
			denied++
		}
	}
	if denied != 1 {
		t.Fatalf("%d denied code.send events for alice, want 1: %s", denied, r.body)
	}
}

var smsCodeRE = regexp.MustCompile(`your code is (\d{6})\b`)

// smsCode waits for the text message number n and returns it and its code.
func (e *sentEnv) smsCode(t testing.TB, n int) (twiliotest.SMS, string) {
	t.Helper()
	m := e.sms.WaitFor(t, func(m twiliotest.SMS) bool { return m.Index == n }, 5*time.Second)
	c := smsCodeRE.FindStringSubmatch(m.Body)
	if c == nil || m.From != twilioFrom {
		t.Fatalf("text message %+v: want From %s and a six-digit code", m, twilioFrom)
	}
	return m, c[1]
}

func TestTextMessageCodesOverATwilioCompatibleAPI(t *testing.T) {
	t.Parallel()
	e := newSentServer(t, nil)
	e.cli("", "org", "set-policy", "--org", "acme", "--mfa", "optional", "--methods", "totp,sms")
	e.cli(testPassword+"\n", "user", "create", "--org", "acme", "--username", "ada", "--role", "admin", "--password-stdin")
	e.addUser("acme", "alice", "", false)
	tok := e.session("acme", "alice")

	for _, bad := range []string{"12345", "+44 20 7946 095x", "0044"} {
		wantError(t, "phone "+bad, e.post("/api/v1/me/factors/sms", tok, map[string]string{"phone": bad}), http.StatusBadRequest, "invalid_phone", false)
	}
	if hits := e.sms.Requests(); hits != 0 {
		t.Fatalf("invalid numbers reached the provider %d times", hits)
	}

	r := e.post("/api/v1/me/factors/sms", tok, map[string]string{"phone": "+44 20 7946 0958"})
	if r.status != http.StatusCreated {
		t.Fatalf("add phone: %d %s", r.status, r.body)
	}
	got := r.json(t)
	if got["sent_to"] != "+4•••••••••58" || !strings.Contains(strings.ToLower(r.str(t, "notice")), "authenticator app") {
		t.Fatalf("add phone answer = %v, want a masked number and the restricted-method notice", got)
	}
	m, code := e.smsCode(t, 0)
	if m.To != "+442079460958" || !strings.HasSuffix(m.Body, "\n@id.twofold.test #"+code) {
		t.Fatalf("text message %+v, want it to +442079460958 ending in the origin-bound line", m)
	}
	c := e.post("/api/v1/me/factors/"+r.str(t, "factor_id")+"/confirm", tok, map[string]string{"code": code})
	if c.status != http.StatusOK || c.json(t)["confirmed"] != true {
		t.Fatalf("confirm phone: %d %s", c.status, c.body)
	}

	flow := e.signIn("acme", "alice", "mfa_required")
	if ms := flow["methods"].([]any); !slices.Contains(ms, any("sms")) {
		t.Fatalf("mfa_required methods = %v, want sms", ms)
	}
	ft := flow["flow_token"].(string)
	r = e.post("/api/v1/auth/challenge", "", map[string]string{"flow_token": ft, "method": "sms"})
	if r.status != http.StatusOK || r.str(t, "sent_to") != "+4•••••••••58" {
		t.Fatalf("sms challenge: %d %s", r.status, r.body)
	}
	m, code = e.smsCode(t, 1)
	if m.To != "+442079460958" {
		t.Fatalf("sign-in code went to %q", m.To)
	}
	if v := e.verify(ft, "sms", code); v.status != http.StatusOK || !slices.Contains(amr(t, e.server, v.str(t, "session_token")), any("sms")) {
		t.Fatalf("verify with the texted code: %d %s", v.status, v.body)
	}

	// The provider fails: a clear 502 at once, after three tries of a
	// temporary error and one of a permanent one.
	for _, tc := range []struct {
		status, code int
		tries        int
	}{{500, 20500, 3}, {400, 21211, 1}} {
		e.sms.FailWith(tc.status, tc.code)
		before := e.sms.Requests()
		ft := e.signIn("acme", "alice", "mfa_required")["flow_token"].(string)
		began := time.Now()
		r := e.post("/api/v1/auth/challenge", "", map[string]string{"flow_token": ft, "method": "sms"})
		took := time.Since(began)
		wantError(t, fmt.Sprint("provider answering ", tc.status), r, http.StatusBadGateway, "delivery_failed", false)
		if msg := r.json(t)["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "could not be sent") {
			t.Errorf("delivery_failed message %q does not say what happened", msg)
		}
		if strings.Contains(string(r.body), "21211") || strings.Contains(string(r.body), twilioToken) {
			t.Errorf("the error leaks provider details: %s", r.body)
		}
		if hits := e.sms.Requests() - before; hits != tc.tries || took > 5*time.Second {
			t.Errorf("provider answering %d: %d tries in %v, want %d in under 5 s", tc.status, hits, took, tc.tries)
		}
	}

	// SMS alone would leave no unrestricted method: refused.
	e.sms.Succeed()
	ada := e.session("acme", "ada")
	r = e.put("/api/v1/orgs/acme/policy", ada, map[string]any{"mfa": "optional", "allowed_methods": []string{"sms"}})
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "allowed_methods") {
		t.Fatalf("policy with sms alone: %d %s, want 400 naming allowed_methods", r.status, r.body)
	}
}

func TestAHangingSMSProviderGivesAClearErrorInsteadOfAHang(t *testing.T) {
	t.Parallel()
	e := newSentServer(t, nil)
	e.addUser("acme", "alice", "", false)
	tok := e.session("acme", "alice")
	e.sms.Hang(time.Hour) // until Twofold gives up
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	began := time.Now()
	r, err := e.call(ctx, http.MethodPost, "/api/v1/me/factors/sms", tok, map[string]string{"phone": "+44 20 7946 0958"}, nil)
	if err != nil {
		t.Fatalf("no answer within 20 s: %v", err)
	}
	wantError(t, "hanging provider", r, http.StatusBadGateway, "delivery_failed", false)
	if took := time.Since(began); took > 15*time.Second {
		t.Errorf("answer took %v", took)
	}
}

func TestForcedEnrollmentOffersEveryAllowedMethodAndCompletesByTextMessage(t *testing.T) {
	t.Parallel()
	e := newSentServer(t, nil)
	e.cli("", "org", "set-policy", "--org", "acme", "--mfa", "required", "--methods", "totp,email,sms")
	e.addUser("acme", "bob", "bob@example.com", true)
	e.addUser("acme", "carol", "", false)

	flow := e.signIn("acme", "bob", "enrollment_required")
	if ms := flow["methods"].([]any); !slices.Equal(ms, []any{"totp", "email", "sms"}) {
		t.Fatalf("enrollment methods = %v, want [totp email sms]", ms)
	}
	ft := flow["flow_token"].(string)
	wantError(t, "enroll a bad number", e.post("/api/v1/auth/enroll/sms", "", map[string]string{"flow_token": ft, "phone": "555"}), http.StatusBadRequest, "invalid_phone", false)
	r := e.post("/api/v1/auth/enroll/sms", "", map[string]string{"flow_token": ft, "phone": "+44 20 7946 0958"})
	if r.status != http.StatusCreated || r.str(t, "factor_id") == "" || r.str(t, "notice") == "" {
		t.Fatalf("enroll/sms: %d %s", r.status, r.body)
	}
	m, code := e.smsCode(t, 0)
	if m.To != "+442079460958" {
		t.Fatalf("enrollment code went to %q", m.To)
	}
	wantError(t, "a new code at once", e.post("/api/v1/auth/enroll/resend", "", map[string]string{"flow_token": ft, "factor_id": r.str(t, "factor_id")}),
		http.StatusTooManyRequests, "resend_too_soon", true)
	c := e.post("/api/v1/auth/enroll/confirm", "", map[string]string{"flow_token": ft, "factor_id": r.str(t, "factor_id"), "code": code})
	if c.status != http.StatusOK || c.str(t, "status") != "authenticated" {
		t.Fatalf("enroll/confirm: %d %s", c.status, c.body)
	}
	if codes, _ := c.json(t)["backup_codes"].([]any); len(codes) != 10 {
		t.Fatalf("%d backup codes after enrollment, want 10", len(codes))
	}
	if a := amr(t, e.server, c.str(t, "session_token")); !slices.Contains(a, any("sms")) {
		t.Fatalf("session amr = %v, want sms", a)
	}
	e.signIn("acme", "bob", "mfa_required")

	// Without a confirmed address, email cannot be the first factor.
	ft = e.signIn("acme", "carol", "enrollment_required")["flow_token"].(string)
	wantError(t, "enroll email without a confirmed address", e.post("/api/v1/auth/enroll/email", "", map[string]string{"flow_token": ft}), http.StatusConflict, "email_not_confirmed", false)
}
