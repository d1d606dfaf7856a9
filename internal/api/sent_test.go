package api_test

// End-to-end tests of codes sent by email and text message, email
// confirmation and security notifications (issue 5), over HTTP against real
// peers: an SMTP server (go-smtp) and an HTTP server speaking Twilio's
// Messages API, both running in the test.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/twofold-id/twofold/internal/app"
	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/factor/backup"
	"github.com/twofold-id/twofold/internal/password"
)

// ---- a real SMTP peer that records what it receives ----

// received is one message as the SMTP server got it, parsed.
type received struct {
	envFrom string
	envTo   []string
	header  mail.Header
	subject string
	body    string // the decoded text/plain content
	err     error  // the message could not be parsed
}

// mailbox is a go-smtp backend that records every message.
type mailbox struct {
	mu   sync.Mutex
	msgs []received
}

func (b *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailSession{b: b}, nil }

type mailSession struct {
	b    *mailbox
	from string
	to   []string
}

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *mailSession) Reset()        { s.from, s.to = "", nil }
func (s *mailSession) Logout() error { return nil }

func (s *mailSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := parseMail(raw)
	m.envFrom, m.envTo = s.from, append([]string(nil), s.to...)
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, m)
	s.b.mu.Unlock()
	return nil
}

// parseMail reads a message as a mail client would: headers, the decoded
// subject, and the text/plain body with its transfer encoding undone.
func parseMail(raw []byte) received {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return received{err: err}
	}
	m := received{header: msg.Header}
	if m.subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		m.err = err
		return m
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		m.err = err
		return m
	}
	if !strings.HasPrefix(mt, "multipart/") {
		m.body, m.err = decodeBody(msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
		return m
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			m.err = fmt.Errorf("no text/plain part: %w", err)
			return m
		}
		if ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct == "text/plain" {
			// multipart undoes quoted-printable itself and drops the header.
			m.body, m.err = decodeBody(p.Header.Get("Content-Transfer-Encoding"), p)
			return m
		}
	}
}

func decodeBody(cte string, r io.Reader) (string, error) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	}
	b, err := io.ReadAll(r)
	return strings.ReplaceAll(string(b), "\r\n", "\n"), err
}

func (b *mailbox) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.msgs)
}

func (b *mailbox) since(n int) []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.msgs[n:]...)
}

// wait returns the first message from index n on that match accepts,
// polling until it arrives (mail may be sent in the background).
func (b *mailbox) wait(t testing.TB, n int, what string, match func(received) bool) received {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, m := range b.since(n) {
			if m.err != nil {
				t.Fatalf("unreadable mail to %v: %v", m.envTo, m.err)
			}
			if match(m) {
				return m
			}
		}
		if time.Now().After(deadline) {
			var got []string
			for _, m := range b.since(n) {
				got = append(got, fmt.Sprintf("%v %q", m.envTo, m.subject))
			}
			t.Fatalf("no %s arrived within 5 s; mails since: %v", what, got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func to(addr string) func(received) bool {
	return func(m received) bool { return len(m.envTo) == 1 && m.envTo[0] == addr }
}

var sixDigitsRE = regexp.MustCompile(`\b\d{6}\b`)

// code waits for the code mail to addr sent from index n on and returns
// the code it carries.
func (b *mailbox) code(t testing.TB, n int, addr string) string {
	t.Helper()
	m := b.wait(t, n, "code mail to "+addr, func(m received) bool {
		return to(addr)(m) && strings.HasPrefix(m.subject, "Your code:")
	})
	codes := sixDigitsRE.FindAllString(m.body, -1)
	if len(codes) != 1 || !strings.HasSuffix(m.subject, codes[0]) {
		t.Fatalf("code mail: subject %q body %q, want one six-digit code in both", m.subject, m.body)
	}
	if from, err := m.header.AddressList("From"); err != nil || len(from) != 1 || from[0].Address != "no-reply@twofold.test" {
		t.Errorf("code mail From = %v, %v", from, err)
	}
	return codes[0]
}

var linkRE = regexp.MustCompile(`https://id\.twofold\.test/confirm-email\?token=\S+`)

// link waits for the confirmation mail to addr and returns its token.
func (b *mailbox) link(t testing.TB, n int, addr string) string {
	t.Helper()
	m := b.wait(t, n, "confirmation mail to "+addr, func(m received) bool {
		return to(addr)(m) && strings.HasPrefix(m.subject, "Confirm your email address")
	})
	return confirmToken(t, m)
}

func confirmToken(t testing.TB, m received) string {
	t.Helper()
	l := linkRE.FindString(m.body)
	u, err := url.Parse(l)
	if l == "" || err != nil || !strings.HasPrefix(u.Query().Get("token"), "tfc_") {
		t.Fatalf("confirmation mail body %q has no /confirm-email?token=tfc_… link", m.body)
	}
	return u.Query().Get("token")
}

func startSMTP(t testing.TB) (*mailbox, int) {
	t.Helper()
	be := &mailbox{}
	srv := smtp.NewServer(be)
	srv.Domain = "mx.test"
	srv.ReadTimeout, srv.WriteTimeout = 5*time.Second, 5*time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return be, l.Addr().(*net.TCPAddr).Port
}

// ---- an HTTP server speaking Twilio's Messages API ----

const (
	twilioSID   = "AC0123456789abcdef0123456789abcdef"
	twilioToken = "twilio-test-token"
	twilioFrom  = "+15005550006"
)

type textMsg struct{ To, From, Body string }

type twilio struct {
	srv  *httptest.Server
	done chan struct{}

	mu   sync.Mutex
	mode string // "" answers 201; "500", "400" or "hang"
	hits int    // requests received, answered or not
	msgs []textMsg
}

func startTwilio(t testing.TB) *twilio {
	tw := &twilio{done: make(chan struct{})}
	tw.srv = httptest.NewServer(http.HandlerFunc(tw.serve))
	t.Cleanup(tw.srv.Close)
	t.Cleanup(func() { close(tw.done) }) // runs first: releases hanging handlers
	return tw
}

func (tw *twilio) setMode(m string) {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	tw.mode, tw.hits = m, 0
}

func (tw *twilio) state() (int, []textMsg) {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	return tw.hits, append([]textMsg(nil), tw.msgs...)
}

func twilioError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg, "status": status})
}

func (tw *twilio) serve(w http.ResponseWriter, r *http.Request) {
	tw.mu.Lock()
	tw.hits++
	mode := tw.mode
	tw.mu.Unlock()
	user, pass, ok := r.BasicAuth()
	if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+twilioSID+"/Messages.json" {
		twilioError(w, http.StatusNotFound, 20404, "The requested resource was not found")
		return
	}
	if !ok || user != twilioSID || pass != twilioToken {
		twilioError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if err := r.ParseForm(); err != nil {
		twilioError(w, http.StatusBadRequest, 21602, "bad form")
		return
	}
	switch mode {
	case "500":
		twilioError(w, http.StatusInternalServerError, 20500, "Internal Server Error")
		return
	case "400":
		twilioError(w, http.StatusBadRequest, 21211, "The 'To' number is not a valid phone number.")
		return
	case "hang":
		select {
		case <-r.Context().Done():
		case <-tw.done:
		}
		return
	}
	m := textMsg{To: r.PostForm.Get("To"), From: r.PostForm.Get("From"), Body: r.PostForm.Get("Body")}
	tw.mu.Lock()
	tw.msgs = append(tw.msgs, m)
	n := len(tw.msgs)
	tw.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{"sid": fmt.Sprintf("SM%032d", n), "status": "queued", "to": m.To, "from": m.From, "body": m.Body})
}

// ---- the server under test, wired to both peers ----

// newServerConfig is newServerWith (cheap hashing) with a hook that adjusts
// the configuration before the app is built.
func newServerConfig(t testing.TB, change func(*config.Config)) *server {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.TrustProxy = true
	change(&cfg)
	pp := password.TestParams()
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 15, 0, time.UTC)}
	s := &server{t: t, cfg: cfg, clock: clk, logs: &syncBuffer{},
		opts: app.Options{Now: clk.Now, PasswordParams: &pp, BackupParams: &backup.Params{Memory: 64, Time: 1, Threads: 1}}}
	lg := slog.New(slog.NewJSONHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := app.Open(context.Background(), cfg, lg, s.opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if _, _, err := a.EnsureRoot(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.app = a
	s.srv = httptest.NewServer(a.Handler())
	t.Cleanup(s.srv.Close)
	return s
}

type sentEnv struct {
	*server
	mail *mailbox
	sms  *twilio
}

// newSentServer starts Twofold sending mail to an SMTP server and text
// messages to a Twilio-compatible server, both in the test, with org acme.
func newSentServer(t *testing.T, change func(*config.Config)) *sentEnv {
	t.Helper()
	mb, port := startSMTP(t)
	tw := startTwilio(t)
	s := newServerConfig(t, func(c *config.Config) {
		c.PublicURL = "https://id.twofold.test"
		c.SMTPHost, c.SMTPPort, c.SMTPTLS = "127.0.0.1", port, "none"
		c.SMTPFrom = "Twofold <no-reply@twofold.test>"
		c.SMSProvider, c.TwilioBaseURL = "twilio", tw.srv.URL
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
	u.Email, u.EmailConfirmedAt = email, nil
	if confirmed {
		now := e.clock.Now().UTC()
		u.EmailConfirmedAt = &now
	}
	if _, err := e.app.Store.UpdateUser(ctx, u); err != nil {
		e.t.Fatal(err)
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
	n := e.mail.count()
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

	n := e.mail.count()
	ids := map[string]string{}
	for _, u := range []string{"bob", "cat", "dan"} {
		r := e.post("/api/v1/users", ada, map[string]string{"org": "acme", "username": u, "email": u + "@example.com", "password": testPassword})
		if r.status != http.StatusCreated || r.str(t, "id") == "" {
			t.Fatalf("create %s: %d %s", u, r.status, r.body)
		}
		ids[u] = r.str(t, "id")
	}
	m := e.mail.wait(t, n, "confirmation mail to bob", to("bob@example.com"))
	if m.subject != "Confirm your email address for Acme Corp" || m.envFrom != "no-reply@twofold.test" {
		t.Errorf("confirmation mail: envelope from %q subject %q", m.envFrom, m.subject)
	}
	if to, err := m.header.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != "bob@example.com" {
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
	n = e.mail.count()
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
	n = e.mail.count()
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

	n := e.mail.count()
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
		if !strings.HasPrefix(m.subject, "Confirm your email address") {
			t.Errorf("unexpected mail to %v: %q", m.envTo, m.subject)
		}
		got = append(got, m.envTo...)
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

	n := e.mail.count()
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
	note := e.mail.wait(t, n, "factor-added notification", func(m received) bool {
		return to("alice@example.com")(m) && strings.Contains(m.subject, "added")
	})
	for _, want := range []string{"alice", "Acme Corp", ip, ua} {
		if !strings.Contains(note.body, want) {
			t.Errorf("notification does not name %q:\n%s", want, note.body)
		}
	}
	if sixDigitsRE.MatchString(note.subject+note.body) || strings.Contains(note.body, "token=") {
		t.Errorf("notification carries a code or link:\n%s", note.body)
	}

	flow := e.signIn("acme", "alice", "mfa_required")
	if m := flow["methods"].([]any); !slices.Contains(m, any("email")) || !slices.Contains(m, any("backup_code")) {
		t.Fatalf("mfa_required methods = %v, want email and backup_code", m)
	}
	ft := flow["flow_token"].(string)
	n = e.mail.count()
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
	n := e.mail.count()
	x := e.challenge("alice", "email")
	xCode := e.mail.code(t, n, addr)
	n = e.mail.count()
	y := e.challenge("alice", "email")
	if yCode := e.mail.code(t, n, addr); yCode != xCode {
		wantError(t, "another sign-in's code", e.verify(y, "email", xCode), http.StatusUnauthorized, "invalid_code", false)
	}
	if r := e.verify(x, "email", xCode); r.status != http.StatusOK {
		t.Fatalf("the code in its own sign-in: %d %s", r.status, r.body)
	}

	// A code is good for 90 seconds.
	n = e.mail.count()
	flow := e.challenge("alice", "email")
	a := e.mail.code(t, n, addr)
	e.clock.Advance(91 * time.Second)
	wantError(t, "code after 91 s", e.verify(flow, "email", a), http.StatusUnauthorized, "invalid_code", false)
	n = e.mail.count()
	if r := e.post("/api/v1/auth/challenge", "", map[string]string{"flow_token": flow, "method": "email"}); r.status != http.StatusOK {
		t.Fatalf("new code: %d %s", r.status, r.body)
	}
	b := e.mail.code(t, n, addr)
	if secs := wantError(t, "another code at once", e.post("/api/v1/auth/challenge", "", map[string]string{"flow_token": flow, "method": "email"}),
		http.StatusTooManyRequests, "resend_too_soon", true); secs > 30 {
		t.Errorf("Retry-After %d s, want at most 30", secs)
	}
	e.clock.Advance(31 * time.Second)
	n = e.mail.count()
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
	n = e.mail.count()
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
	n = e.mail.count()
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
