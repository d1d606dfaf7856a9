package api_test

// End-to-end tests of code delivery (the SMTP and Twilio peers are in
// emailcodes_test.go): text messages through the signed webhook provider, the
// per-org hourly send quota, an org's own code lifetime, and an SMTP server
// that is down while a code is sent.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/notify"
	"github.com/twofold-id/twofold/internal/notify/smtptest"
)

// ---- an operator's SMS gateway behind the webhook provider ----

const hookSecret = "webhook-secret-0123456789abcdef"

// hookSMS is one correctly signed webhook request.
type hookSMS struct{ To, Body, Delivery string }

// smsHook checks every request with notify.VerifyWebhookSignature (401
// when it does not hold), records the signed ones, and answers fail when
// that is set, 204 otherwise.
type smsHook struct {
	t        testing.TB
	srv      *httptest.Server
	mu       sync.Mutex
	secret   []byte
	fail     int
	tries    []hookSMS // every correctly signed request
	msgs     []hookSMS // the messages it accepted
	rejected int
}

func startSMSHook(t testing.TB) *smsHook {
	t.Helper()
	h := &smsHook{t: t, secret: []byte(hookSecret)}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *smsHook) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	sig := r.Header.Get(notify.SignatureHeader)
	if err != nil || r.Method != http.MethodPost || notify.VerifyWebhookSignature(h.secret, body, sig, time.Now(), 0) != nil {
		h.rejected++
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"code":401,"message":"bad signature"}`)
		return
	}
	var p struct {
		To        string `json:"to"`
		Body      string `json:"body"`
		Timestamp int64  `json:"timestamp"`
	}
	if err := json.Unmarshal(body, &p); err != nil || !strings.HasPrefix(sig, fmt.Sprintf("t=%d,", p.Timestamp)) {
		h.t.Errorf("webhook body %s with signature %q: want JSON {to, body, timestamp} with the header's t (%v)", body, sig, err)
	}
	m := hookSMS{To: p.To, Body: p.Body, Delivery: r.Header.Get(notify.DeliveryHeader)}
	h.tries = append(h.tries, m)
	if h.fail != 0 {
		w.WriteHeader(h.fail)
		return
	}
	h.msgs = append(h.msgs, m)
	w.WriteHeader(http.StatusNoContent)
}

// state returns copies of what the receiver saw.
func (h *smsHook) state() (tries, msgs []hookSMS, rejected int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.tries), slices.Clone(h.msgs), h.rejected
}

func (h *smsHook) set(secret string, fail int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.secret, h.fail = []byte(secret), fail
}

// lastCode returns the newest accepted message, which must be the n-th,
// and its code. Webhook delivery is finished before the API answers.
func (h *smsHook) lastCode(t testing.TB, n int) (hookSMS, string) {
	t.Helper()
	_, msgs, _ := h.state()
	if len(msgs) != n+1 {
		t.Fatalf("the receiver accepted %d messages, want %d", len(msgs), n+1)
	}
	m := msgs[n]
	c := smsCodeRE.FindStringSubmatch(m.Body)
	if c == nil || !strings.HasSuffix(m.Body, "\n@id.twofold.test #"+c[1]) || m.Delivery == "" {
		t.Fatalf("webhook message %+v: want a code, the origin-bound line and a delivery id", m)
	}
	return m, c[1]
}

// ---- an SMTP server that can be taken down ----

// smtpSwitch relays a fixed local port to the SMTP peer. down closes the
// listener and every connection (new ones are refused); up listens on the
// same port again.
type smtpSwitch struct {
	t      testing.TB
	addr   string
	port   int
	target string
	mu     sync.Mutex
	l      net.Listener
	live   bool
	conns  map[net.Conn]bool
}

func startSMTPSwitch(t testing.TB, target string) *smtpSwitch {
	t.Helper()
	s := &smtpSwitch{t: t, addr: "127.0.0.1:0", target: target, conns: map[net.Conn]bool{}}
	s.up()
	s.port = s.l.Addr().(*net.TCPAddr).Port
	s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
	t.Cleanup(s.down)
	return s
}

func (s *smtpSwitch) up() {
	s.t.Helper()
	l, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatalf("listening again on %s: %v", s.addr, err)
	}
	s.mu.Lock()
	s.l, s.live = l, true
	s.mu.Unlock()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go s.relay(c)
		}
	}()
}

func (s *smtpSwitch) down() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.live = false
	s.l.Close()
	for c := range s.conns {
		c.Close()
	}
	clear(s.conns)
}

func (s *smtpSwitch) relay(c net.Conn) {
	defer c.Close()
	d, err := net.Dial("tcp", s.target)
	if err != nil {
		return
	}
	defer d.Close()
	s.mu.Lock()
	if !s.live {
		s.mu.Unlock()
		return
	}
	s.conns[c], s.conns[d] = true, true
	s.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { io.Copy(d, c); done <- struct{}{} }()
	go func() { io.Copy(c, d); done <- struct{}{} }()
	<-done
	s.mu.Lock()
	delete(s.conns, c)
	delete(s.conns, d)
	s.mu.Unlock()
}

// ---- helpers ----

// mailFactor gives user of org (with the confirmed address addr) an email
// factor through self-service.
func (e *sentEnv) mailFactor(org, user, addr string) {
	e.t.Helper()
	tok := e.session(org, user)
	n := e.mail.Count()
	r := e.post("/api/v1/me/factors/email", tok, nil)
	if r.status != http.StatusCreated {
		e.t.Fatalf("add email factor for %s/%s: %d %s", org, user, r.status, r.body)
	}
	c := e.post("/api/v1/me/factors/"+r.str(e.t, "factor_id")+"/confirm", tok, map[string]string{"code": e.mail.code(e.t, n, addr)})
	if c.status != http.StatusOK {
		e.t.Fatalf("confirm email factor for %s/%s: %d %s", org, user, c.status, c.body)
	}
}

// challengeIn signs user of org in and asks for a code by method; it
// returns the flow token and the challenge's answer, whatever it is.
func (e *sentEnv) challengeIn(org, user, method string) (string, response) {
	e.t.Helper()
	flow := e.signIn(org, user, "mfa_required")["flow_token"].(string)
	return flow, e.post("/api/v1/auth/challenge", "", map[string]string{"flow_token": flow, "method": method})
}

func wantAuthenticated(t testing.TB, what string, r response) {
	t.Helper()
	if r.status != http.StatusOK || r.str(t, "status") != "authenticated" {
		t.Fatalf("%s: %d %s, want authenticated", what, r.status, r.body)
	}
}

// ---- the tests ----

func TestTextMessageCodesThroughTheSignedWebhookProvider(t *testing.T) {
	t.Parallel()
	hook := startSMSHook(t)
	e := newSentServer(t, func(c *config.Config) {
		c.SMSProvider, c.SMSWebhookURL, c.SMSWebhookSecret = "webhook", hook.srv.URL+"/sms", hookSecret
	})

	// The receiver refuses what is not signed with the shared secret.
	forged := []byte(`{"to":"+442079460958","body":"your code is 000000","timestamp":1}`)
	for _, sig := range []string{"", notify.SignWebhook([]byte("not-the-shared-secret"), forged, time.Now().Unix())} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, hook.srv.URL+"/sms", bytes.NewReader(forged))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(notify.SignatureHeader, sig)
		res, err := hook.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("forged request with signature %q: %d, want 401", sig, res.StatusCode)
		}
	}

	e.addUser("acme", "alice", "", false)
	tok := e.session("acme", "alice")
	r := e.post("/api/v1/me/factors/sms", tok, map[string]string{"phone": "+44 20 7946 0958"})
	if r.status != http.StatusCreated || r.str(t, "sent_to") != "+4•••••••••58" {
		t.Fatalf("add phone: %d %s", r.status, r.body)
	}
	m, code := hook.lastCode(t, 0)
	if m.To != "+442079460958" || !strings.HasPrefix(m.Body, "Acme Corp: your code is "+code) {
		t.Fatalf("setup message %+v, want it to +442079460958 from Acme Corp", m)
	}
	c := e.post("/api/v1/me/factors/"+r.str(t, "factor_id")+"/confirm", tok, map[string]string{"code": code})
	if c.status != http.StatusOK || c.json(t)["confirmed"] != true {
		t.Fatalf("confirm phone with the webhook code: %d %s", c.status, c.body)
	}

	flow, r := e.challengeIn("acme", "alice", "sms")
	if r.status != http.StatusOK || r.json(t)["expires_in"] != float64(90) {
		t.Fatalf("sms challenge: %d %s", r.status, r.body)
	}
	m2, code := hook.lastCode(t, 1)
	if m2.To != "+442079460958" || m2.Delivery == m.Delivery {
		t.Fatalf("sign-in message %+v: want it to the phone with its own delivery id (setup had %q)", m2, m.Delivery)
	}
	v := e.verify(flow, "sms", code)
	wantAuthenticated(t, "verify with the webhook code", v)
	if a := amr(t, e.server, v.str(t, "session_token")); !slices.Contains(a, any("sms")) {
		t.Fatalf("session amr = %v, want sms", a)
	}

	// The receiver answers 500 every time: three signed tries of one
	// delivery, then a clear 502 well within the timeout.
	hook.set(hookSecret, http.StatusInternalServerError)
	before, _, _ := hook.state()
	flow = e.signIn("acme", "alice", "mfa_required")["flow_token"].(string)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	began := time.Now()
	r, err := e.call(ctx, http.MethodPost, "/api/v1/auth/challenge", "", map[string]string{"flow_token": flow, "method": "sms"}, nil)
	took := time.Since(began)
	if err != nil {
		t.Fatalf("no answer within 20 s: %v", err)
	}
	wantError(t, "receiver answering 500", r, http.StatusBadGateway, "delivery_failed", false)
	if strings.Contains(string(r.body), hookSecret) || strings.Contains(string(r.body), "500") {
		t.Errorf("the error leaks provider details: %s", r.body)
	}
	tries, _, _ := hook.state()
	tries = tries[len(before):]
	if len(tries) != 3 || took > 5*time.Second {
		t.Fatalf("%d signed tries in %v, want 3 in under 5 s", len(tries), took)
	}
	for _, tr := range tries {
		if tr.Delivery != tries[0].Delivery || tr.To != "+442079460958" || tr.Body != tries[0].Body {
			t.Fatalf("retries %+v: want one delivery id and message for all three", tries)
		}
	}
	if tries[0].Delivery == m2.Delivery {
		t.Fatal("two sends share a delivery id")
	}
	wantError(t, "verify after the failed send", e.verify(flow, "sms", code), http.StatusUnauthorized, "invalid_code", false)

	// The receiver no longer accepts the signature (its secret was
	// rotated): a 401 is not retried, and the API says delivery_failed.
	hook.set("a-rotated-secret-0123456789abcdef", 0)
	_, _, rejected := hook.state()
	_, r = e.challengeIn("acme", "alice", "sms")
	wantError(t, "receiver rejecting the signature", r, http.StatusBadGateway, "delivery_failed", false)
	if _, _, now := hook.state(); now != rejected+1 {
		t.Fatalf("%d requests rejected by the receiver, want 1 (a 401 is permanent)", now-rejected)
	}
}

func TestTheHourlyOrgQuotaStopsTheOrgButNotItsNeighbourAndRefillsOnTheHour(t *testing.T) {
	t.Parallel()
	e := newSentServer(t, func(c *config.Config) { c.UserSendsPerHour, c.OrgSendsPerHour = 100, 3 })
	e.cli("", "org", "create", "--slug", "beta", "--name", "Beta GmbH")
	for _, u := range [][2]string{{"acme", "ann"}, {"acme", "ben"}, {"acme", "cy"}, {"acme", "dot"}, {"beta", "bea"}} {
		addr := u[1] + "@example.com"
		e.addUser(u[0], u[1], addr, true)
		e.mailFactor(u[0], u[1], addr)
		e.clock.Advance(time.Hour) // setup codes count too: each in its own hour
	}

	n := e.mail.Count()
	flows := map[string]string{}
	for _, u := range []string{"ann", "ben", "cy"} {
		flow, r := e.challengeIn("acme", u, "email")
		if r.status != http.StatusOK {
			t.Fatalf("challenge for %s (send %d of 3 in acme this hour): %d %s", u, len(flows)+1, r.status, r.body)
		}
		flows[u] = flow
	}
	_, r := e.challengeIn("acme", "dot", "email")
	secs := wantError(t, "a fourth user of acme in the hour", r, http.StatusTooManyRequests, "send_quota_exceeded", true)
	if left := e.clock.Now().Truncate(time.Hour).Add(time.Hour).Sub(e.clock.Now()); secs > 3600 || time.Duration(secs)*time.Second < left {
		t.Fatalf("Retry-After %d s, want the %v left in the hour", secs, left)
	}
	for _, u := range []string{"ann", "ben", "cy"} {
		wantAuthenticated(t, "verify "+u, e.verify(flows[u], "email", e.mail.code(t, n, u+"@example.com")))
	}

	// Another org has its own quota.
	flow, r := e.challengeIn("beta", "bea", "email")
	if r.status != http.StatusOK {
		t.Fatalf("a user of beta while acme's quota is spent: %d %s", r.status, r.body)
	}
	wantAuthenticated(t, "verify bea", e.verify(flow, "email", e.mail.code(t, n, "bea@example.com")))
	for _, m := range e.mail.since(n) {
		if slices.Contains(m.To, "dot@example.com") {
			t.Fatalf("a mail went to dot despite the quota: %q", m.Subject)
		}
	}

	// Just before the hour acme is still stopped; on the hour it sends again.
	e.clock.Advance(time.Duration(secs-2) * time.Second)
	_, r = e.challengeIn("acme", "dot", "email")
	wantError(t, "two seconds before the hour", r, http.StatusTooManyRequests, "send_quota_exceeded", true)
	e.clock.Advance(2 * time.Second)
	n = e.mail.Count()
	flow, r = e.challengeIn("acme", "dot", "email")
	if r.status != http.StatusOK {
		t.Fatalf("dot in the next hour: %d %s", r.status, r.body)
	}
	wantAuthenticated(t, "verify dot", e.verify(flow, "email", e.mail.code(t, n, "dot@example.com")))
}

func TestAnOrgsOwnCodeLifetimeIsAnnouncedAndEnforced(t *testing.T) {
	t.Parallel()
	e := newSentServer(t, nil)
	e.cli(testPassword+"\n", "user", "create", "--org", "acme", "--username", "ada", "--role", "admin", "--password-stdin")
	ada := e.adminSession("acme", "ada") // a longer code lifetime weakens the policy: it takes a fresh code
	r := e.put("/api/v1/orgs/acme/policy", ada, map[string]any{"mfa": "optional", "otp_code_ttl": "11m"})
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "otp_code_ttl") {
		t.Fatalf("a lifetime over 10 minutes: %d %s, want 400 naming otp_code_ttl", r.status, r.body)
	}
	if r := e.put("/api/v1/orgs/acme/policy", ada, map[string]any{"mfa": "optional", "otp_code_ttl": "5m"}); r.status != http.StatusOK {
		t.Fatalf("set otp_code_ttl 5m: %d %s", r.status, r.body)
	}
	if eff := e.get("/api/v1/orgs/acme/policy", ada).json(t)["effective"].(map[string]any); eff["otp_code_ttl"] != "5m0s" {
		t.Fatalf("effective policy = %v, want otp_code_ttl 5m0s", eff)
	}

	e.addUser("acme", "alice", "alice@example.com", true)
	tok, _ := e.emailFactor("alice", "alice@example.com")
	const addr = "alice@example.com"

	// A sign-in code lives five minutes, not ninety seconds.
	n := e.mail.Count()
	flow, r := e.challengeIn("acme", "alice", "email")
	if r.status != http.StatusOK || r.json(t)["expires_in"] != float64(300) {
		t.Fatalf("challenge: %d %s, want expires_in 300", r.status, r.body)
	}
	// The "method added" notice is mailed in the background and may land
	// after n: wait for the code mail itself.
	m := e.mail.wait(t, n, "sign-in code mail", func(m smtptest.Message) bool {
		return to(addr)(m) && strings.HasPrefix(m.Subject, "Your code:")
	})
	if !strings.Contains(m.Body, "for 5 minutes") {
		t.Errorf("code mail does not state the lifetime:\n%s", m.Body)
	}
	code := e.mail.code(t, n, addr)
	e.clock.Advance(4*time.Minute + 50*time.Second)
	wantAuthenticated(t, "sign-in code after 4m50s", e.verify(flow, "email", code))

	// The same for a code of a self-service action, and after 5m10s a fresh
	// code is dead. (A sign-in flow itself lasts only five minutes, so this
	// is checked with /reauthenticate.)
	for _, tc := range []struct {
		after time.Duration
		ok    bool
	}{{4*time.Minute + 50*time.Second, true}, {5*time.Minute + 10*time.Second, false}} {
		n := e.mail.Count()
		r := e.post("/api/v1/me/codes", tok, map[string]string{"method": "email"})
		if r.status != http.StatusOK || r.json(t)["expires_in"] != float64(300) {
			t.Fatalf("code for re-authentication: %d %s, want expires_in 300", r.status, r.body)
		}
		code := e.mail.code(t, n, addr)
		e.clock.Advance(tc.after)
		v := e.post("/api/v1/auth/reauthenticate", tok, map[string]string{"code": code})
		if tc.ok {
			if v.status != http.StatusOK || v.str(t, "session_token") == "" {
				t.Fatalf("self-service code after %v: %d %s", tc.after, v.status, v.body)
			}
			tok = v.str(t, "session_token")
			continue
		}
		wantError(t, fmt.Sprint("self-service code after ", tc.after), v, http.StatusUnauthorized, "invalid_code", false)
	}
}

func TestAnSMTPServerThatIsDownGivesAQuick502AndStoresNoCode(t *testing.T) {
	t.Parallel()
	var sw *smtpSwitch
	e := newSentServer(t, func(c *config.Config) {
		sw = startSMTPSwitch(t, net.JoinHostPort(c.SMTPHost, strconv.Itoa(c.SMTPPort)))
		c.SMTPHost, c.SMTPPort = "127.0.0.1", sw.port
	})
	const addr = "alice@example.com"
	e.addUser("acme", "alice", addr, true)
	e.emailFactor("alice", addr)
	// The factor-added notice goes out in the background: let it arrive
	// before the server goes down.
	e.mail.wait(t, 0, "factor-added notification", func(m smtptest.Message) bool {
		return to(addr)(m) && strings.Contains(m.Subject, "added")
	})

	sw.down()
	flow := e.signIn("acme", "alice", "mfa_required")["flow_token"].(string)
	body := map[string]string{"flow_token": flow, "method": "email"}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	began := time.Now()
	r, err := e.call(ctx, http.MethodPost, "/api/v1/auth/challenge", "", body, nil)
	took := time.Since(began)
	if err != nil {
		t.Fatalf("no answer within 20 s: %v", err)
	}
	wantError(t, "challenge with SMTP down", r, http.StatusBadGateway, "delivery_failed", false)
	if took > 5*time.Second {
		t.Errorf("the 502 took %v, want it quickly", took)
	}
	if b := string(r.body); strings.Contains(b, "127.0.0.1") || strings.Contains(b, strconv.Itoa(sw.port)) || strings.Contains(b, "refused") {
		t.Errorf("the error leaks SMTP details: %s", b)
	}
	wantError(t, "verify after the failed send", e.verify(flow, "email", "123456"), http.StatusUnauthorized, "invalid_code", false)

	// With the server back, the same sign-in asks again at once (no code
	// was stored, so there is no resend wait) and completes.
	sw.up()
	e.clock.Advance(5 * time.Second) // past any delay from the wrong code
	n := e.mail.Count()
	if r := e.post("/api/v1/auth/challenge", "", body); r.status != http.StatusOK {
		t.Fatalf("challenge with SMTP back: %d %s", r.status, r.body)
	}
	wantAuthenticated(t, "verify with the code sent after the outage", e.verify(flow, "email", e.mail.code(t, n, addr)))
}

// TestASignInCodeNeverOutlivesItsSignIn sets codes to ten minutes and asks
// for one four minutes into a five-minute sign-in: the code is announced,
// and lives, only for the minute the sign-in has left.
func TestASignInCodeNeverOutlivesItsSignIn(t *testing.T) {
	t.Parallel()
	e := newSentServer(t, nil)
	e.cli("", "org", "set-policy", "--org", "acme", "--code-ttl", "10m")
	e.addUser("acme", "alice", "alice@example.com", true)
	e.emailFactor("alice", "alice@example.com")
	flow := e.signIn("acme", "alice", "mfa_required")["flow_token"].(string)
	e.clock.Advance(4 * time.Minute)
	r := e.post("/api/v1/auth/challenge", "", map[string]string{"flow_token": flow, "method": "email"})
	if r.status != http.StatusOK || r.json(t)["expires_in"] != float64(60) {
		t.Fatalf("challenge 4 minutes into the sign-in: %d %s, want expires_in 60", r.status, r.body)
	}
}
