package api_test

// End-to-end tests of codes sent by email and text message, email
// confirmation and security notifications (issue 5), over HTTP against real
// peers: an SMTP server (go-smtp) and an HTTP server speaking Twilio's
// Messages API, both running in the test.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/notify/smtptest"
	"github.com/twofold-id/twofold/internal/notify/twiliotest"
	"github.com/twofold-id/twofold/internal/password"
	"github.com/twofold-id/twofold/internal/store"
)

// ---- a real SMTP peer that records what it receives ----

// mailbox is the SMTP peer (smtptest, on go-smtp) with the helpers these
// tests read it with.
type mailbox struct{ *smtptest.Server }

// since returns the messages from index n on.
func (b mailbox) since(n int) []smtptest.Message { return b.Messages()[n:] }

// wait returns the first message from index n on that match accepts,
// waiting until it arrives (mail may be sent in the background). An
// unreadable message from index n on fails the test.
func (b mailbox) wait(t testing.TB, n int, what string, match func(smtptest.Message) bool) smtptest.Message {
	t.Helper()
	t.Logf("waiting for %s", what)
	return b.WaitFor(t, func(m smtptest.Message) bool {
		if m.Index < n {
			return false
		}
		if m.Err != nil {
			t.Fatalf("unreadable mail to %v: %v", m.To, m.Err)
		}
		return match(m)
	}, 5*time.Second)
}

func to(addr string) func(smtptest.Message) bool {
	return func(m smtptest.Message) bool { return len(m.To) == 1 && m.To[0] == addr }
}

var sixDigitsRE = regexp.MustCompile(`\b\d{6}\b`)

// code waits for the code mail to addr sent from index n on and returns
// the code it carries.
func (b mailbox) code(t testing.TB, n int, addr string) string {
	t.Helper()
	m := b.wait(t, n, "code mail to "+addr, func(m smtptest.Message) bool {
		return to(addr)(m) && strings.HasPrefix(m.Subject, "Your code:")
	})
	codes := sixDigitsRE.FindAllString(m.Body, -1)
	if len(codes) != 1 || !strings.HasSuffix(m.Subject, codes[0]) {
		t.Fatalf("code mail: subject %q body %q, want one six-digit code in both", m.Subject, m.Body)
	}
	if from, err := m.Header.AddressList("From"); err != nil || len(from) != 1 || from[0].Address != "no-reply@twofold.test" {
		t.Errorf("code mail From = %v, %v", from, err)
	}
	return codes[0]
}

var linkRE = regexp.MustCompile(`https://id\.twofold\.test/confirm-email\?token=\S+`)

// link waits for the confirmation mail to addr and returns its token.
func (b mailbox) link(t testing.TB, n int, addr string) string {
	t.Helper()
	m := b.wait(t, n, "confirmation mail to "+addr, func(m smtptest.Message) bool {
		return to(addr)(m) && strings.HasPrefix(m.Subject, "Confirm your email address")
	})
	return confirmToken(t, m)
}

func confirmToken(t testing.TB, m smtptest.Message) string {
	t.Helper()
	l := linkRE.FindString(m.Body)
	u, err := url.Parse(l)
	if l == "" || err != nil || !strings.HasPrefix(u.Query().Get("token"), "tfc_") {
		t.Fatalf("confirmation mail body %q has no /confirm-email?token=tfc_… link", m.Body)
	}
	return u.Query().Get("token")
}

// ---- an HTTP server speaking Twilio's Messages API (twiliotest) ----

const (
	twilioSID   = "AC0123456789abcdef0123456789abcdef"
	twilioToken = "twilio-test-token"
	twilioFrom  = "+15005550006"
)

// ---- the server under test, wired to both peers ----

// newServerConfigOn is newServerConfig on the store named by dsn (see
// newServerOn).
func newServerConfigOn(t testing.TB, dsn string, change func(*config.Config)) *server {
	t.Helper()
	pp := password.TestParams()
	return newServerOn(t, dsn, &pp, change)
}

type sentEnv struct {
	*server
	mail mailbox
	sms  *twiliotest.Server
}

// newSentServer starts Twofold sending mail to an SMTP server and text
// messages to a Twilio-compatible server, both in the test, with org acme.
func newSentServer(t *testing.T, change func(*config.Config)) *sentEnv {
	t.Helper()
	return newSentServerOn(t, "", change)
}

// newSentServerOn is newSentServer on the store named by dsn (see
// newServerOn).
func newSentServerOn(t *testing.T, dsn string, change func(*config.Config)) *sentEnv {
	t.Helper()
	mb := mailbox{smtptest.Start(t)}
	tw := twiliotest.Start(t, twilioSID, twilioToken)
	s := newServerConfigOn(t, dsn, func(c *config.Config) {
		c.PublicURL = "https://id.twofold.test"
		c.SMTPHost, c.SMTPPort, c.SMTPTLS = mb.Host(), mb.Port(), "none"
		c.SMTPFrom = "Twofold <no-reply@twofold.test>"
		c.SMSProvider, c.TwilioBaseURL = "twilio", tw.URL()
		c.TwilioAccountSID, c.TwilioAuthToken, c.TwilioFrom = twilioSID, twilioToken, twilioFrom
		if change != nil {
			change(c)
		}
	})
	s.cli("", "org", "create", "--slug", "acme", "--name", "Acme Corp")
	return &sentEnv{server: s, mail: mb, sms: tw}
}

// addUser creates a member of org with the test password; email may be
// empty, and is marked confirmed in the store when confirmed is set. No
// mail is sent for it.
func (e *sentEnv) addUser(org, name, email string, confirmed bool) string {
	e.t.Helper()
	e.cli(testPassword+"\n", "user", "create", "--org", org, "--username", name, "--password-stdin")
	return e.setEmail(org, name, email, confirmed)
}

// setEmail gives an existing user an address directly in the store.
func (e *sentEnv) setEmail(org, name, email string, confirmed bool) string {
	e.t.Helper()
	ctx := context.Background()
	o, err := e.app.Store.GetOrgBySlug(ctx, org)
	if err != nil {
		e.t.Fatal(err)
	}
	u, err := e.app.Store.GetUserByName(ctx, o.ID, strings.ToLower(name))
	if err != nil {
		e.t.Fatal(err)
	}
	// Clear the old address first, so that the same address given again
	// starts unconfirmed too.
	for _, addr := range []string{"", email} {
		if _, _, err := e.app.Store.PatchUser(ctx, u.ID, store.UserChange{Email: &addr}, e.clock.Now()); err != nil {
			e.t.Fatal(err)
		}
	}
	if confirmed && email != "" {
		if _, err := e.app.Store.ConfirmUserEmail(ctx, u.ID, email, e.clock.Now()); err != nil {
			e.t.Fatal(err)
		}
	}
	return u.ID
}

// call is one API request that is safe from any goroutine: it reports
// transport errors instead of failing the test, and sends extra headers.
func (s *server) call(ctx context.Context, method, path, token string, body any, hdr map[string]string) (response, error) {
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			return response{}, err
		}
		rd = bytes.NewReader(j)
	}
	hr, err := http.NewRequestWithContext(ctx, method, s.srv.URL+path, rd)
	if err != nil {
		return response{}, err
	}
	if rd != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		hr.Header.Set("Authorization", "Bearer "+token)
	}
	n := s.nextIP.Add(1)
	hr.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255))
	for k, v := range hdr {
		hr.Header.Set(k, v)
	}
	res, err := s.srv.Client().Do(hr)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: b}, err
}

// wantError checks status, error code and a Retry-After header when retry
// is set, and returns Retry-After in seconds.
func wantError(t testing.TB, what string, r response, status int, code string, retry bool) int {
	t.Helper()
	if r.status != status || r.errorCode(t) != code {
		t.Fatalf("%s: %d %s, want %d %s", what, r.status, r.body, status, code)
	}
	var secs int
	if ra := r.header.Get("Retry-After"); retry {
		if _, err := fmt.Sscan(ra, &secs); err != nil || secs < 1 {
			t.Fatalf("%s: Retry-After = %q, want a positive number of seconds", what, ra)
		}
	}
	return secs
}

// emailFactor gives user (with a confirmed address) an email factor through
// self-service and returns the session used for it and the factor id.
func (e *sentEnv) emailFactor(user, addr string) (string, string) {
	e.t.Helper()
	tok := e.session("acme", user)
	n := e.mail.Count()
	r := e.post("/api/v1/me/factors/email", tok, nil)
	if r.status != http.StatusCreated || r.str(e.t, "factor_id") == "" {
		e.t.Fatalf("add email factor: %d %s", r.status, r.body)
	}
	id := r.str(e.t, "factor_id")
	c := e.post("/api/v1/me/factors/"+id+"/confirm", tok, map[string]string{"code": e.mail.code(e.t, n, addr)})
	if c.status != http.StatusOK {
		e.t.Fatalf("confirm email factor: %d %s", c.status, c.body)
	}
	return tok, id
}

// challenge starts a sign-in of user and has a code sent by method; it
// returns the flow token.
func (e *sentEnv) challenge(user, method string) string {
	e.t.Helper()
	flow := e.signIn("acme", user, "mfa_required")["flow_token"].(string)
	if r := e.post("/api/v1/auth/challenge", "", map[string]string{"flow_token": flow, "method": method}); r.status != http.StatusOK {
		e.t.Fatalf("challenge %s: %d %s", method, r.status, r.body)
	}
	return flow
}

func (e *sentEnv) verify(flow, method, code string) response {
	e.t.Helper()
	return e.post("/api/v1/auth/verify", "", map[string]string{"flow_token": flow, "method": method, "code": code})
}

// otherCode returns a six-digit code different from code.
func otherCode(code string, i int) string {
	c := fmt.Sprintf("%06d", (i*7919+1)%1000000)
	if c == code {
		c = fmt.Sprintf("%06d", (i*7919+2)%1000000)
	}
	return c
}

func amr(t testing.TB, s *server, tok string) []any {
	t.Helper()
	r := s.get("/api/v1/me", tok)
	if r.status != http.StatusOK {
		t.Fatalf("GET /me: %d %s", r.status, r.body)
	}
	a, _ := r.json(t)["session"].(map[string]any)["amr"].([]any)
	return a
}

// ---- the tests ----

func TestEmailConfirmationLinksArriveWorkOnceExpireAndResendsAreThrottled(t *testing.T) {
	t.Parallel()
	e := newSentServer(t, nil)
	e.cli(testPassword+"\n", "user", "create", "--org", "acme", "--username", "ada", "--role", "admin", "--password-stdin")
	ada := e.session("acme", "ada")

	n := e.mail.Count()
	ids := map[string]string{}
	for _, u := range []string{"bob", "cat", "dan"} {
		r := e.post("/api/v1/users", ada, map[string]string{"org": "acme", "username": u, "email": u + "@example.com", "password": testPassword})
		if r.status != http.StatusCreated || r.str(t, "id") == "" {
			t.Fatalf("create %s: %d %s", u, r.status, r.body)
		}
		ids[u] = r.str(t, "id")
	}
	m := e.mail.wait(t, n, "confirmation mail to bob", to("bob@example.com"))
	if m.Subject != "Confirm your email address for Acme Corp" || m.From != "no-reply@twofold.test" {
		t.Errorf("confirmation mail: envelope from %q subject %q", m.From, m.Subject)
	}
	if to, err := m.Header.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != "bob@example.com" {
		t.Errorf("confirmation mail To header = %v, %v", to, err)
	}
	bobLink := confirmToken(t, m)
	catLink := e.mail.link(t, n, "cat@example.com")
	if bobLink == catLink {
		t.Fatal("two users got the same link")
	}

	r := e.post("/api/v1/auth/confirm-email", "", map[string]string{"token": bobLink})
	if r.status != http.StatusOK || r.json(t)["confirmed"] != true || r.str(t, "email") != "bob@example.com" {
		t.Fatalf("following bob's link: %d %s", r.status, r.body)
	}
	wantError(t, "the same link again", e.post("/api/v1/auth/confirm-email", "", map[string]string{"token": bobLink}), http.StatusBadRequest, "invalid_confirmation", false)
	if u := e.get("/api/v1/users/"+ids["bob"], ada).json(t)["user"].(map[string]any); u["email_confirmed"] != true {
		t.Fatalf("bob after confirming: %v", u)
	}

	// cat's link went out at creation: a resend at once is too soon.
	path := "/api/v1/users/" + ids["cat"] + "/email-confirmation"
	wantError(t, "resend right after creation", e.post(path, ada, nil), http.StatusTooManyRequests, "resend_too_soon", true)
	e.clock.Advance(61 * time.Second)
	n = e.mail.Count()
	if r := e.post(path, ada, nil); r.status != http.StatusAccepted {
		t.Fatalf("resend after a minute: %d %s", r.status, r.body)
	}
	catLink2 := e.mail.link(t, n, "cat@example.com")
	if catLink2 == catLink {
		t.Fatal("the resent link is the old one")
	}
	wantError(t, "a second resend at once", e.post(path, ada, nil), http.StatusTooManyRequests, "resend_too_soon", true)
	// A link is bound to the address it went to. (Changed a minute after
	// dan's first link: a change sooner gets no link, see the report.)
	danLink := e.mail.link(t, 0, "dan@example.com")
	n = e.mail.Count()
	if r := e.do(request{method: http.MethodPatch, path: "/api/v1/users/" + ids["dan"], token: ada, body: map[string]string{"email": "dan.new@example.com"}}); r.status != http.StatusOK {
		t.Fatalf("change dan's address: %d %s", r.status, r.body)
	}
	danNew := e.mail.link(t, n, "dan.new@example.com")
	wantError(t, "link for the old address", e.post("/api/v1/auth/confirm-email", "", map[string]string{"token": danLink}), http.StatusBadRequest, "invalid_confirmation", false)
	if r := e.post("/api/v1/auth/confirm-email", "", map[string]string{"token": danNew}); r.status != http.StatusOK || r.str(t, "email") != "dan.new@example.com" {
		t.Fatalf("link for the new address: %d %s", r.status, r.body)
	}
	wantError(t, "resend to a confirmed address", e.post("/api/v1/users/"+ids["bob"]+"/email-confirmation", ada, nil), http.StatusConflict, "email_already_confirmed", false)

	// A day later the link no longer works.
	e.clock.Advance(25 * time.Hour)
	wantError(t, "link after 25 h", e.post("/api/v1/auth/confirm-email", "", map[string]string{"token": catLink2}), http.StatusBadRequest, "invalid_confirmation", false)
	ada = e.session("acme", "ada")
	if u := e.get("/api/v1/users/"+ids["cat"], ada).json(t)["user"].(map[string]any); u["email_confirmed"] != false {
		t.Fatalf("cat after an expired link: %v", u)
	}
}

func TestBulkConfirmationResendReachesExactlyTheUnconfirmedUsersOfTheAdminsSubtree(t *testing.T) {
	t.Parallel()
	e := newSentServer(t, nil)
	e.tree() // reseller(rita) → customer(carl) → dept(dave, erin); reseller2(sam)
	e.setEmail("reseller", "rita", "rita@example.com", false)
	e.setEmail("customer", "carl", "carl@example.com", true)
	e.setEmail("dept", "dave", "dave@example.com", false)
	e.setEmail("reseller2", "sam", "sam@example.com", false)
	for _, u := range []struct {
		org, name, email string
		confirmed        bool
	}{
		{"platform", "pat", "pat@example.com", false},
		{"reseller", "rex", "rex@example.com", false},
		{"reseller", "rhea", "rhea@example.com", true},
		{"customer", "cora", "cora@example.com", false},
		{"customer", "cody", "cody@example.com", true},
		{"customer", "cleo", "", false},
		{"dept", "dora", "dora@example.com", false},
		{"dept", "dina", "dina@example.com", true},
		{"reseller2", "sue", "sue@example.com", false},
		{"reseller2", "sid", "sid@example.com", true},
	} {
		e.addUser(u.org, u.name, u.email, u.confirmed)
	}
	carl, sam := e.session("customer", "carl"), e.session("reseller2", "sam")
	e.clock.Advance(61 * time.Second)

	n := e.mail.Count()
	r := e.post("/api/v1/orgs/customer/email-confirmations", sam, nil)
	if r.status != http.StatusForbidden && r.status != http.StatusNotFound {
		t.Fatalf("an admin beside the subtree: %d %s, want 403 or 404", r.status, r.body)
	}
	r = e.post("/api/v1/orgs/customer/email-confirmations", carl, nil)
	if r.status != http.StatusAccepted {
		t.Fatalf("bulk resend: %d %s", r.status, r.body)
	}
	want := []string{"cora@example.com", "dave@example.com", "dora@example.com"}
	if got := r.json(t); got["sent"] != float64(len(want)) || got["throttled"] != float64(0) || got["failed"] != float64(0) {
		t.Fatalf("bulk resend answer = %v, want sent %d", got, len(want))
	}
	for _, addr := range want {
		e.mail.link(t, n, addr)
	}
	var got []string
	for _, m := range e.mail.since(n) {
		if !strings.HasPrefix(m.Subject, "Confirm your email address") {
			t.Errorf("unexpected mail to %v: %q", m.To, m.Subject)
		}
		got = append(got, m.To...)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("confirmation mails went to %v, want exactly %v", got, want)
	}

	// Asking again at once sends nothing and says why.
	r = e.post("/api/v1/orgs/customer/email-confirmations", carl, nil)
	if got := r.json(t); r.status != http.StatusAccepted || got["sent"] != float64(0) || got["throttled"] != float64(len(want)) {
		t.Fatalf("bulk resend at once: %d %v", r.status, got)
	}
	if extra := e.mail.since(n); len(extra) != len(want) {
		t.Fatalf("%d mails after the second bulk resend, want still %d", len(extra), len(want))
	}
}

func TestEmailAsASecondFactorFromSetupToSignInWithANotification(t *testing.T) {
	t.Parallel()
	e := newSentServer(t, nil)
	e.addUser("acme", "alice", "alice@example.com", true)
	tok := e.session("acme", "alice")

	n := e.mail.Count()
	r := e.post("/api/v1/me/factors/email", tok, nil)
	if r.status != http.StatusCreated || r.str(t, "sent_to") != "a•••@example.com" || r.json(t)["expires_in"] != float64(90) {
		t.Fatalf("add email factor: %d %s", r.status, r.body)
	}
	id := r.str(t, "factor_id")
	setupCode := e.mail.code(t, n, "alice@example.com")
	const ip, ua = "203.0.113.77", "TwofoldTest/1.0 (sent_test)"
	c, err := e.call(t.Context(), http.MethodPost, "/api/v1/me/factors/"+id+"/confirm", tok, map[string]string{"code": setupCode},
		map[string]string{"X-Forwarded-For": ip, "User-Agent": ua})
	if err != nil || c.status != http.StatusOK {
		t.Fatalf("confirm: %v %d %s", err, c.status, c.body)
	}
	if codes, _ := c.json(t)["backup_codes"].([]any); len(codes) != 10 {
		t.Fatalf("first factor gave %d backup codes, want 10", len(codes))
	}
	note := e.mail.wait(t, n, "factor-added notification", func(m smtptest.Message) bool {
		return to("alice@example.com")(m) && strings.Contains(m.Subject, "added")
	})
	for _, want := range []string{"alice", "Acme Corp", ip, ua} {
		if !strings.Contains(note.Body, want) {
			t.Errorf("notification does not name %q:\n%s", want, note.Body)
		}
	}
	if sixDigitsRE.MatchString(note.Subject+note.Body) || strings.Contains(note.Body, "token=") {
		t.Errorf("notification carries a code or link:\n%s", note.Body)
	}

	flow := e.signIn("acme", "alice", "mfa_required")
	if m := flow["methods"].([]any); !slices.Contains(m, any("email")) || !slices.Contains(m, any("backup_code")) {
		t.Fatalf("mfa_required methods = %v, want email and backup_code", m)
	}
	ft := flow["flow_token"].(string)
	n = e.mail.Count()
	r = e.post("/api/v1/auth/challenge", "", map[string]string{"flow_token": ft, "method": "email"})
	if got := r.json(t); r.status != http.StatusOK || got["sent_to"] != "a•••@example.com" || got["expires_in"] != float64(90) {
		t.Fatalf("challenge: %d %s", r.status, r.body)
	}
	v := e.verify(ft, "email", e.mail.code(t, n, "alice@example.com"))
	if v.status != http.StatusOK || v.str(t, "status") != "authenticated" {
		t.Fatalf("verify with the mailed code: %d %s", v.status, v.body)
	}
	if a := amr(t, e.server, v.str(t, "session_token")); !slices.Contains(a, any("email")) || !slices.Contains(a, any("mfa")) {
		t.Fatalf("session amr = %v, want mfa and email", a)
	}
}

func TestSentCodesExpireDieAfterFiveTriesAndAResendNeitherRevivesNorResets(t *testing.T) {
	t.Parallel()
	e := newSentServer(t, nil)
	e.addUser("acme", "alice", "alice@example.com", true)
	tok, _ := e.emailFactor("alice", "alice@example.com")
	const addr = "alice@example.com"

	// A code belongs to the sign-in that asked for it.
	n := e.mail.Count()
	x := e.challenge("alice", "email")
	xCode := e.mail.code(t, n, addr)
	n = e.mail.Count()
	y := e.challenge("alice", "email")
	if yCode := e.mail.code(t, n, addr); yCode != xCode {
		wantError(t, "another sign-in's code", e.verify(y, "email", xCode), http.StatusUnauthorized, "invalid_code", false)
	}
	if r := e.verify(x, "email", xCode); r.status != http.StatusOK {
		t.Fatalf("the code in its own sign-in: %d %s", r.status, r.body)
	}

	// A code is good for 90 seconds.
	n = e.mail.Count()
	flow := e.challenge("alice", "email")
	a := e.mail.code(t, n, addr)
	e.clock.Advance(91 * time.Second)
	wantError(t, "code after 91 s", e.verify(flow, "email", a), http.StatusUnauthorized, "invalid_code", false)
	n = e.mail.Count()
	if r := e.post("/api/v1/auth/challenge", "", map[string]string{"flow_token": flow, "method": "email"}); r.status != http.StatusOK {
		t.Fatalf("new code: %d %s", r.status, r.body)
	}
	b := e.mail.code(t, n, addr)
	if secs := wantError(t, "another code at once", e.post("/api/v1/auth/challenge", "", map[string]string{"flow_token": flow, "method": "email"}),
		http.StatusTooManyRequests, "resend_too_soon", true); secs > 30 {
		t.Errorf("Retry-After %d s, want at most 30", secs)
	}
	e.clock.Advance(31 * time.Second)
	n = e.mail.Count()
	if r := e.post("/api/v1/auth/challenge", "", map[string]string{"flow_token": flow, "method": "email"}); r.status != http.StatusOK {
		t.Fatalf("new code after 31 s: %d %s", r.status, r.body)
	}
	c := e.mail.code(t, n, addr)
	if b != c {
		wantError(t, "the replaced code", e.verify(flow, "email", b), http.StatusUnauthorized, "invalid_code", false)
	}
	e.clock.Advance(58 * time.Second) // 89 s after it was sent
	if r := e.verify(flow, "email", c); r.status != http.StatusOK {
		t.Fatalf("the newest code within 90 s: %d %s", r.status, r.body)
	}

	// Five wrong tries kill a code: the right one is refused afterwards. A
	// code asked for a self-service action is checked by /reauthenticate.
	n = e.mail.Count()
	if r := e.post("/api/v1/me/codes", tok, map[string]string{"method": "email"}); r.status != http.StatusOK {
		t.Fatalf("code for re-authentication: %d %s", r.status, r.body)
	}
	d := e.mail.code(t, n, addr)
	for i := range 5 {
		wantError(t, "wrong code", e.post("/api/v1/auth/reauthenticate", tok, map[string]string{"code": otherCode(d, i)}), http.StatusUnauthorized, "invalid_code", false)
	}
	e.clock.Advance(2 * time.Second) // past the account's first delay
	wantError(t, "the right code after five wrong ones", e.post("/api/v1/auth/reauthenticate", tok, map[string]string{"code": d}), http.StatusUnauthorized, "invalid_code", false)

	// Six failures now. A new code does not reset the account's counter:
	// after one more wrong code the next must wait.
	e.clock.Advance(31 * time.Second)
	n = e.mail.Count()
	if r := e.post("/api/v1/me/codes", tok, map[string]string{"method": "email"}); r.status != http.StatusOK {
		t.Fatalf("a new code after the dead one: %d %s", r.status, r.body)
	}
	f := e.mail.code(t, n, addr)
	wantError(t, "wrong code after the resend", e.post("/api/v1/auth/reauthenticate", tok, map[string]string{"code": otherCode(f, 9)}), http.StatusUnauthorized, "invalid_code", false)
	wantError(t, "the next code at once", e.post("/api/v1/auth/reauthenticate", tok, map[string]string{"code": f}), http.StatusTooManyRequests, "too_many_attempts", true)
	e.clock.Advance(5 * time.Second)
	if r := e.post("/api/v1/auth/reauthenticate", tok, map[string]string{"code": f}); r.status != http.StatusOK || r.str(t, "session_token") == "" {
		t.Fatalf("the new code after the delay: %d %s", r.status, r.body)
	}
}
