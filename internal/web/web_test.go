package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/app"
	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/factor/backup"
	"github.com/twofold-id/twofold/internal/factor/totp"
	"github.com/twofold-id/twofold/internal/password"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
	"github.com/twofold-id/twofold/internal/web"
)

const wantCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// clock is a settable time source shared by the app and the test, so TOTP
// codes can move to the next time step without waiting.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// portal is a running portal over a real SQLite store.
type portal struct {
	t     *testing.T
	app   *app.App
	srv   *httptest.Server
	clock *clock
}

func newPortal(t *testing.T) *portal { t.Helper(); return newPortalWith(t, nil) }

// newPortalWith lets a test adjust the configuration first.
func newPortalWith(t *testing.T, adjust func(*config.Config)) *portal {
	t.Helper()
	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	// The platform rule that admins need a second factor has tests of its
	// own (assurance_test.go); the others sign admins in with a password,
	// as an operator who turned the rule off would.
	cfg.AdminMFARequired = false
	if adjust != nil {
		adjust(&cfg)
	}
	cheap := password.TestParams()
	bp := backup.Params{Memory: 64, Time: 1, Threads: 1}
	clk := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	a, err := app.Open(ctx, cfg, slog.New(slog.DiscardHandler), app.Options{Now: clk.Now, PasswordParams: &cheap, BackupParams: &bp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if _, _, err := a.EnsureRoot(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return &portal{t: t, app: a, srv: srv, clock: clk}
}

// addOrg creates an org under the root.
func (p *portal) addOrg(slug string, pol store.OrgPolicy) {
	p.t.Helper()
	ctx := context.Background()
	sys, err := p.app.Admin.System(ctx)
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.app.Admin.CreateOrg(ctx, sys, admin.NewOrg{Slug: slug, Name: strings.ToUpper(slug[:1]) + slug[1:] + " Inc", Policy: pol}, signin.Client{}); err != nil {
		p.t.Fatal(err)
	}
}

// addUser creates a member with a password.
func (p *portal) addUser(org, username, pw string) {
	p.t.Helper()
	ctx := context.Background()
	sys, err := p.app.Admin.System(ctx)
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.app.Admin.CreateUser(ctx, sys, admin.NewUser{OrgSlug: org, Username: username, Password: pw}, signin.Client{}); err != nil {
		p.t.Fatal(err)
	}
}

// browser is a client with a cookie jar.
type browser struct {
	p *portal
	c *http.Client
}

func (p *portal) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		p.t.Fatal(err)
	}
	return &browser{p: p, c: &http.Client{Jar: jar}}
}

// page is a fetched page after redirects.
type page struct {
	status int
	path   string // final path
	body   string
	header http.Header
}

var (
	scriptTag   = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
	styleAttr   = regexp.MustCompile(`(?i)<[^>]*\sstyle\s*=`)
	styleTag    = regexp.MustCompile(`(?i)<style\b`)
	handlerAttr = regexp.MustCompile(`(?i)<[^>]*\son[a-z]+\s*=`)
	jsURL       = regexp.MustCompile(`(?i)(href|src|action)\s*=\s*"javascript:`)
)

// checkPage applies what must hold for every page: the security headers,
// and no inline script or style a strict CSP would block.
func checkPage(t *testing.T, pg page) {
	t.Helper()
	h := pg.header
	for k, want := range map[string]string{
		"Content-Security-Policy": wantCSP,
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"X-Frame-Options":         "DENY",
		"Cache-Control":           "no-store",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s: header %s = %q, want %q", pg.path, k, got, want)
		}
	}
	// 502 is the honest answer when the mail server or SMS provider
	// failed (delivery_failed, as in the API); nothing else may be a 5xx.
	if pg.status >= 500 && pg.status != http.StatusBadGateway {
		t.Errorf("%s: status %d", pg.path, pg.status)
	}
	if !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		return
	}
	for _, m := range scriptTag.FindAllStringSubmatch(pg.body, -1) {
		if !strings.Contains(m[1], "src=") || strings.TrimSpace(m[2]) != "" {
			t.Errorf("%s: inline script: %s", pg.path, m[0])
		}
	}
	for _, re := range []*regexp.Regexp{styleAttr, styleTag, handlerAttr, jsURL} {
		if m := re.FindString(pg.body); m != "" {
			t.Errorf("%s: inline style or script: %s", pg.path, m)
		}
	}
	if !strings.Contains(pg.body, `<html lang="en">`) && !strings.Contains(pg.body, `<html lang="de">`) {
		t.Errorf("%s: no lang attribute", pg.path)
	}
}

func (b *browser) do(req *http.Request) page {
	b.p.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.p.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.p.t.Fatal(err)
	}
	pg := page{status: resp.StatusCode, path: resp.Request.URL.Path, body: string(body), header: resp.Header}
	checkPage(b.p.t, pg)
	return pg
}

func (b *browser) get(path string) page {
	b.p.t.Helper()
	req, err := http.NewRequest("GET", b.p.srv.URL+path, nil)
	if err != nil {
		b.p.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) page {
	b.p.t.Helper()
	req, err := http.NewRequest("POST", b.p.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.p.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// What a browser sends for a same-origin form.
	req.Header.Set("Origin", b.p.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

func (b *browser) login(org, user, pw string) page {
	b.p.t.Helper()
	return b.post("/login", url.Values{"org": {org}, "username": {user}, "password": {pw}})
}

func expect(t *testing.T, pg page, status int, path string, contains ...string) {
	t.Helper()
	if pg.status != status || pg.path != path {
		t.Fatalf("got %d at %s, want %d at %s; body:\n%s", pg.status, pg.path, status, path, pg.body)
	}
	for _, s := range contains {
		if !strings.Contains(pg.body, s) {
			t.Fatalf("%s: page lacks %q; body:\n%s", path, s, pg.body)
		}
	}
}

var (
	secretRe   = regexp.MustCompile(`<code class="secret" id="secret"[^>]*>([A-Z2-7 ]+)</code>`)
	factorIDRe = regexp.MustCompile(`name="factor_id" value="([^"]+)"`)
	codeRe     = regexp.MustCompile(`<li><code>([a-z0-9-]+)</code></li>`)
)

// scan reads the secret and the pending factor id from a QR page.
func scan(t *testing.T, pg page) ([]byte, string) {
	t.Helper()
	m := secretRe.FindStringSubmatch(pg.body)
	f := factorIDRe.FindStringSubmatch(pg.body)
	if m == nil || f == nil {
		t.Fatalf("no secret or factor id on the page:\n%s", pg.body)
	}
	if !strings.Contains(pg.body, `src="data:image/png;base64,`) || !strings.Contains(pg.body, `alt="QR code`) {
		t.Fatalf("no QR image with alt text:\n%s", pg.body)
	}
	secret, err := totp.DecodeSecret(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return secret, f[1]
}

// code returns the current TOTP code for secret, after moving the clock to
// the next time step (each step's code is accepted only once).
func (p *portal) code(secret []byte) string {
	p.clock.Advance(30 * time.Second)
	v := totp.Default()
	return v.Code(secret, v.Step(p.clock.Now()))
}

func backupCodes(t *testing.T, pg page) []string {
	t.Helper()
	if !strings.Contains(pg.body, `id="backup-codes"`) {
		t.Fatalf("not the backup codes page:\n%s", pg.body)
	}
	var codes []string
	for _, m := range codeRe.FindAllStringSubmatch(pg.body, -1) {
		codes = append(codes, m[1])
	}
	if len(codes) != 10 {
		t.Fatalf("got %d backup codes, want 10", len(codes))
	}
	for _, s := range []string{`id="saved"`, "required", `download="twofold-backup-codes.txt"`, `href="data:text/plain`, codes[0]} {
		if !strings.Contains(pg.body, s) {
			t.Fatalf("codes page lacks %q", s)
		}
	}
	return codes
}

func TestSignInWithoutMFAAndSignOut(t *testing.T) {
	p := newPortal(t)
	p.addOrg("acme", store.OrgPolicy{})
	p.addUser("acme", "alice", "correct horse battery")
	b := p.browser()

	expect(t, b.get("/"), 200, "/login", `id="org"`, `id="username"`, `id="password"`)
	home := b.login("acme", "Alice", "correct horse battery")
	expect(t, home, 200, "/", `id="who-username">alice<`, "Acme Inc", "Sign out")

	// The org is remembered for next time.
	expect(t, b.post("/logout", nil), 200, "/login", "You have been signed out.", `value="acme"`)
	expect(t, b.get("/"), 200, "/login")
	expect(t, b.get("/security"), 200, "/login")

	// /o/{slug}/login carries the org itself.
	expect(t, b.get("/o/acme/login"), 200, "/o/acme/login", `type="hidden" id="org" name="org" value="acme"`)
	home = b.post("/o/acme/login", url.Values{"username": {"alice"}, "password": {"correct horse battery"}})
	expect(t, home, 200, "/", `id="who-username">alice<`)
}

func TestWrongPasswordKeepsInputButNotPassword(t *testing.T) {
	p := newPortal(t)
	p.addOrg("acme", store.OrgPolicy{})
	p.addUser("acme", "alice", "correct horse battery")
	b := p.browser()

	for _, tc := range []struct{ name, org, user, pw string }{
		{"wrong password", "acme", "alice", "wrong-password-123"},
		{"unknown user", "acme", "bob", "wrong-password-123"},
		{"unknown org", "nope", "alice", "wrong-password-123"},
		{"malformed org", "<script>", "alice", "wrong-password-123"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pg := b.login(tc.org, tc.user, tc.pw)
			expect(t, pg, http.StatusUnauthorized, "/login", signin.ErrInvalidCredentials.Message,
				`value="`+tc.user+`"`)
			if tc.org != "<script>" && !strings.Contains(pg.body, `value="`+tc.org+`"`) {
				t.Errorf("org %q not kept", tc.org)
			}
			if strings.Contains(pg.body, tc.pw) {
				t.Error("the password came back in the page")
			}
			if strings.Contains(pg.body, "<script>") {
				t.Error("input not escaped")
			}
		})
	}
}

func TestTOTPAddedOnSecurityPageThenSignInWithCodeAndBackupCode(t *testing.T) {
	p := newPortal(t)
	p.addOrg("acme", store.OrgPolicy{})
	p.addUser("acme", "alice", "correct horse battery")
	b := p.browser()
	expect(t, b.login("acme", "alice", "correct horse battery"), 200, "/")

	sec := b.get("/security")
	expect(t, sec, 200, "/security", `id="add-totp"`, "Off: signing in needs only your password.")
	qr := b.post("/security/totp", url.Values{"label": {"Work phone"}})
	expect(t, qr, 200, "/security/totp", "Google Authenticator", `id="copy-secret"`, `autocomplete="one-time-code"`)
	secret, factorID := scan(t, qr)

	// A wrong confirmation code keeps the QR page with the same secret.
	again := b.post("/security/totp/confirm", url.Values{"factor_id": {factorID}, "secret": {totp.EncodeSecret(secret)}, "code": {"000000"}})
	expect(t, again, http.StatusUnauthorized, "/security/totp/confirm", signin.ErrInvalidCode.Message, `aria-invalid="true"`)
	if s2, id2 := scan(t, again); string(s2) != string(secret) || id2 != factorID {
		t.Fatal("the QR page changed after a wrong code")
	}

	codesPg := b.post("/security/totp/confirm", url.Values{"factor_id": {factorID}, "secret": {totp.EncodeSecret(secret)}, "code": {p.code(secret)}})
	codes := backupCodes(t, codesPg)
	sec = b.post("/continue", url.Values{"saved": {"yes"}, "next": {"/security"}})
	expect(t, sec, 200, "/security", "On: signing in needs your password and a code.", "Work phone", "You have <strong>10</strong> unused backup codes")

	expect(t, b.post("/logout", nil), 200, "/login")

	// Sign in: the second step asks for a code.
	verify := b.login("acme", "alice", "correct horse battery")
	expect(t, verify, 200, "/login/verify", `id="code"`, `autocomplete="one-time-code"`, `inputmode="numeric"`, `id="use-backup"`)
	if strings.Contains(verify.body, "tff_") {
		t.Fatal("the flow token is on the page")
	}
	wrong := b.post("/login/verify", url.Values{"method": {"totp"}, "code": {"123456"}})
	expect(t, wrong, http.StatusUnauthorized, "/login/verify", signin.ErrInvalidCode.Message, `aria-invalid="true"`)
	home := b.post("/login/verify", url.Values{"method": {"totp"}, "code": {p.code(secret)}})
	expect(t, home, 200, "/", `id="who-username">alice<`, "password and second step")
	expect(t, b.post("/logout", nil), 200, "/login")

	// The backup-code path works once.
	expect(t, b.login("acme", "alice", "correct horse battery"), 200, "/login/verify")
	bk := b.get("/login/verify?method=backup_code")
	expect(t, bk, 200, "/login/verify", "Backup code", `name="method" value="backup_code"`)
	home = b.post("/login/verify", url.Values{"method": {"backup_code"}, "code": {codes[0]}})
	expect(t, home, 200, "/", `id="who-username">alice<`)
	expect(t, b.post("/logout", nil), 200, "/login")

	expect(t, b.login("acme", "alice", "correct horse battery"), 200, "/login/verify")
	reused := b.post("/login/verify", url.Values{"method": {"backup_code"}, "code": {codes[0]}})
	expect(t, reused, http.StatusUnauthorized, "/login/verify", signin.ErrInvalidCode.Message)
	home = b.post("/login/verify", url.Values{"method": {"backup_code"}, "code": {strings.ToUpper(codes[1])}})
	expect(t, home, 200, "/")

	sec = b.get("/security")
	expect(t, sec, 200, "/security", "You have <strong>8</strong> unused backup codes")
}

func TestSecurityActionsAskForCodes(t *testing.T) {
	p := newPortal(t)
	p.addOrg("acme", store.OrgPolicy{})
	p.addUser("acme", "alice", "correct horse battery")
	b := p.browser()
	expect(t, b.login("acme", "alice", "correct horse battery"), 200, "/")
	secret, factorID := scan(t, b.post("/security/totp", nil))
	backupCodes(t, b.post("/security/totp/confirm", url.Values{"factor_id": {factorID}, "code": {p.code(secret)}}))

	// Adding a second app needs a fresh code once the window has passed.
	p.clock.Advance(20 * time.Minute)
	// Keep the session alive (idle timeout 1 h).
	expect(t, b.get("/security"), 200, "/security")
	re := b.post("/security/totp", url.Values{"label": {"Tablet"}})
	expect(t, re, 200, "/security/totp", "Confirm it is you", `action="/security/reauth"`, `value="Tablet"`)
	bad := b.post("/security/reauth", url.Values{"label": {"Tablet"}, "code": {"999999"}})
	expect(t, bad, http.StatusUnauthorized, "/security/reauth", signin.ErrInvalidCode.Message)
	qr := b.post("/security/reauth", url.Values{"label": {"Tablet"}, "code": {p.code(secret)}})
	expect(t, qr, 200, "/security/reauth", "Add an authenticator app")
	secret2, factor2 := scan(t, qr)
	// The session cookie was replaced: the next page still works.
	done := b.post("/security/totp/confirm", url.Values{"factor_id": {factor2}, "code": {p.code(secret2)}})
	expect(t, done, 200, "/security", "The authenticator app was added.", "Tablet")

	// Rename.
	expect(t, b.post("/security/factors/"+factor2+"/rename", url.Values{"label": {"Old tablet"}}), 200, "/security", "Old tablet")
	long := b.post("/security/factors/"+factor2+"/rename", url.Values{"label": {strings.Repeat("x", 80)}})
	expect(t, long, http.StatusBadRequest, "/security/factors/"+factor2+"/rename", "at most 64 characters", `id="label-`+factor2+`-error"`)

	// Remove asks for a code.
	wrong := b.post("/security/factors/"+factor2+"/remove", url.Values{"code": {"111111"}})
	expect(t, wrong, http.StatusUnauthorized, "/security/factors/"+factor2+"/remove", signin.ErrInvalidCode.Message, `id="remove-code-`+factor2+`-error"`)
	expect(t, b.post("/security/factors/"+factor2+"/remove", url.Values{"code": {p.code(secret2)}}), 200, "/security", "The authenticator was removed.")

	// New backup codes need a code and show the codes page.
	backupCodes(t, b.post("/security/backup-codes", url.Values{"code": {p.code(secret)}}))

	// Sessions: a second browser, signed out from the first.
	other := p.browser()
	otherPg := other.login("acme", "alice", "correct horse battery")
	expect(t, otherPg, 200, "/login/verify")
	expect(t, other.post("/login/verify", url.Values{"method": {"totp"}, "code": {p.code(secret)}}), 200, "/")
	sec := b.get("/security")
	expect(t, sec, 200, "/security", `id="revoke-others"`, "this browser")
	expect(t, b.post("/security/sessions/revoke-others", nil), 200, "/security", "Every other session was signed out.")
	expect(t, other.get("/"), 200, "/login")

	// Change password: wrong current password, then right.
	bad = b.post("/security/password", url.Values{"current_password": {"nope-nope-nope"}, "new_password": {"a new long passphrase"},
		"new_password_again": {"a new long passphrase"}, "code": {p.code(secret)}})
	expect(t, bad, http.StatusUnauthorized, "/security/password", "The current password is not correct.", `id="current_password-error"`)
	differ := b.post("/security/password", url.Values{"current_password": {"correct horse battery"}, "new_password": {"a new long passphrase"},
		"new_password_again": {"another"}})
	expect(t, differ, http.StatusBadRequest, "/security/password", "not the same", `id="new_password_again-error"`)
	ok := b.post("/security/password", url.Values{"current_password": {"correct horse battery"}, "new_password": {"a new long passphrase"},
		"new_password_again": {"a new long passphrase"}, "code": {p.code(secret)}})
	expect(t, ok, 200, "/security", "Your password was changed.")

	// Turn off two-step sign-in with a code.
	expect(t, b.post("/security/disable", url.Values{"code": {p.code(secret)}}), 200, "/security", "Two-step sign-in is now off")
}

func TestRepeatedWrongCodesShowTheWait(t *testing.T) {
	p := newPortal(t)
	p.addOrg("acme", store.OrgPolicy{})
	p.addUser("acme", "alice", "correct horse battery")
	b := p.browser()
	expect(t, b.login("acme", "alice", "correct horse battery"), 200, "/")
	secret, factorID := scan(t, b.post("/security/totp", nil))
	backupCodes(t, b.post("/security/totp/confirm", url.Values{"factor_id": {factorID}, "code": {p.code(secret)}}))

	var last page
	for range 8 {
		last = b.post("/security/backup-codes", url.Values{"code": {"000000"}})
		if last.status == http.StatusTooManyRequests {
			break
		}
	}
	expect(t, last, http.StatusTooManyRequests, "/security/backup-codes", "Too many wrong codes. Please wait", `class="countdown" data-seconds="`)
}

func TestLockedSecondFactorSaysWhenItUnlocks(t *testing.T) {
	p := newPortalWith(t, func(c *config.Config) { c.LockoutThreshold = 3 })
	p.addOrg("acme", store.OrgPolicy{})
	p.addUser("acme", "alice", "correct horse battery")
	b := p.browser()
	expect(t, b.login("acme", "alice", "correct horse battery"), 200, "/")
	secret, factorID := scan(t, b.post("/security/totp", nil))
	backupCodes(t, b.post("/security/totp/confirm", url.Values{"factor_id": {factorID}, "code": {p.code(secret)}}))
	expect(t, b.post("/logout", nil), 200, "/login")

	expect(t, b.login("acme", "alice", "correct horse battery"), 200, "/login/verify")
	var last page
	for range 4 {
		last = b.post("/login/verify", url.Values{"method": {"totp"}, "code": {"000000"}})
		if last.status == http.StatusTooManyRequests {
			break
		}
	}
	expect(t, last, http.StatusTooManyRequests, "/login/verify", "locked after too many wrong codes", "unlocks by itself in about 15 minutes")
	// Even the right code waits for the lock to lift.
	expect(t, b.post("/login/verify", url.Values{"method": {"totp"}, "code": {p.code(secret)}}), http.StatusTooManyRequests, "/login/verify")
}

func TestForcedEnrollmentWizard(t *testing.T) {
	p := newPortal(t)
	p.addOrg("strict", store.OrgPolicy{MFA: store.MFARequired})
	p.addUser("strict", "carol", "correct horse battery")
	b := p.browser()

	start := b.login("strict", "carol", "correct horse battery")
	expect(t, start, 200, "/login/enroll", "Set up two-step sign-in", `id="enroll-totp"`, "Authenticator app")
	if strings.Contains(start.body, `id="skip"`) {
		t.Fatal("no grace period, yet the page offers to skip")
	}
	// No session yet: the flow is not a session.
	expect(t, b.get("/security"), 200, "/login")
	expect(t, b.get("/login/enroll"), 200, "/login/enroll")

	qr := b.post("/login/enroll/totp", nil)
	expect(t, qr, 200, "/login/enroll/totp", "Step 2 of 3", "Microsoft Authenticator")
	secret, factorID := scan(t, qr)
	wrong := b.post("/login/enroll/confirm", url.Values{"factor_id": {factorID}, "secret": {totp.EncodeSecret(secret)}, "code": {"000000"}})
	expect(t, wrong, http.StatusUnauthorized, "/login/enroll/confirm", signin.ErrInvalidCode.Message)
	codesPg := b.post("/login/enroll/confirm", url.Values{"factor_id": {factorID}, "secret": {totp.EncodeSecret(secret)}, "code": {p.code(secret)}})
	backupCodes(t, codesPg)
	home := b.post("/continue", url.Values{"saved": {"yes"}, "next": {"/"}})
	expect(t, home, 200, "/", `id="who-username">carol<`)

	// Next time the code is asked for.
	expect(t, b.post("/logout", nil), 200, "/login")
	expect(t, b.login("strict", "carol", "correct horse battery"), 200, "/login/verify")
}

func TestEnrollmentGracePeriodOffersSetUpLater(t *testing.T) {
	p := newPortal(t)
	p.addOrg("soon", store.OrgPolicy{MFA: store.MFARequired, EnrollmentGrace: 7 * 24 * time.Hour})
	p.addUser("soon", "dave", "correct horse battery")
	b := p.browser()
	start := b.login("soon", "dave", "correct horse battery")
	expect(t, start, 200, "/login/enroll", `id="skip"`, "Set up later", "9 Mar 2026")
	home := b.post("/login/enroll/skip", nil)
	expect(t, home, 200, "/", "You chose to set up two-step sign-in later", "Your organization requires two-step sign-in")
}

func TestExpiredFlowGoesBackToSignIn(t *testing.T) {
	p := newPortal(t)
	p.addOrg("strict", store.OrgPolicy{MFA: store.MFARequired})
	p.addUser("strict", "carol", "correct horse battery")
	b := p.browser()
	expect(t, b.login("strict", "carol", "correct horse battery"), 200, "/login/enroll")
	p.clock.Advance(6 * time.Minute)
	expect(t, b.post("/login/enroll/totp", nil), 200, "/login", "Your sign-in expired")
	expect(t, p.browser().get("/login/verify"), 200, "/login")
}

func TestCrossOriginPostIsRefused(t *testing.T) {
	p := newPortal(t)
	p.addOrg("acme", store.OrgPolicy{})
	p.addUser("acme", "alice", "correct horse battery")
	form := url.Values{"org": {"acme"}, "username": {"alice"}, "password": {"correct horse battery"}}
	req, _ := http.NewRequest("POST", p.srv.URL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin POST: status %d, want 403", resp.StatusCode)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "twofold_session" || c.Name == "twofold_flow" {
			t.Fatalf("cross-origin POST set cookie %s", c.Name)
		}
	}
}

func TestBadInputNeverFails500(t *testing.T) {
	p := newPortal(t)
	p.addOrg("acme", store.OrgPolicy{})
	p.addUser("acme", "alice", "correct horse battery")
	b := p.browser()

	huge := b.post("/login", url.Values{"org": {"acme"}, "username": {strings.Repeat("a", 100<<10)}, "password": {"x"}})
	expect(t, huge, http.StatusRequestEntityTooLarge, "/login")
	expect(t, b.post("/login", nil), http.StatusUnauthorized, "/login")
	expect(t, b.post("/login", url.Values{"org": {"acme"}, "username": {"al\x00ice"}, "password": {"x"}}), http.StatusUnauthorized, "/login")
	expect(t, b.post("/login/verify", url.Values{"code": {"1"}}), 200, "/login")
	expect(t, b.post("/login/enroll/confirm", nil), 200, "/login")
	expect(t, b.get("/o/%3Cbad%3E/login"), http.StatusNotFound, "/o/<bad>/login")
	expect(t, b.get("/no/such/page"), http.StatusNotFound, "/no/such/page", "Page not found")
	expect(t, b.post("/setup", url.Values{"token": {"nope"}, "username": {"root"}, "password": {"long enough password"}}),
		http.StatusUnauthorized, "/setup", admin.ErrSetupToken.Message)
	// A forged flow cookie is just an expired sign-in.
	u, _ := url.Parse(p.srv.URL)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "twofold_flow", Value: "tff_forged", Path: "/"}})
	expect(t, b.post("/login/verify", url.Values{"method": {"totp"}, "code": {"123456"}}), 200, "/login", "Your sign-in expired")
}

func TestStaticAssets(t *testing.T) {
	p := newPortal(t)
	for _, path := range []string{"/static/style.css", "/static/app.js"} {
		resp, err := http.Get(p.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Security-Policy") != wantCSP {
			t.Fatalf("%s: %d, CSP %q", path, resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
		}
	}
}

func TestFirstAdminSetup(t *testing.T) {
	p := newPortal(t)
	tok, err := p.app.Admin.NewSetupToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b := p.browser()
	form := b.get("/setup?token=" + url.QueryEscape(tok))
	expect(t, form, 200, "/setup", `id="username"`, `id="email"`, `id="password"`)
	short := b.post("/setup", url.Values{"token": {tok}, "username": {"root"}, "email": {"root@example.com"}, "password": {"short"}})
	expect(t, short, http.StatusBadRequest, "/setup", `id="password-error"`, `value="root@example.com"`)
	done := b.post("/setup", url.Values{"token": {tok}, "username": {"root"}, "email": {"root@example.com"}, "password": {"a long admin passphrase"}})
	expect(t, done, 200, "/setup", "The platform admin was created.", `href="/o/platform/login"`)
	home := b.post("/o/platform/login", url.Values{"username": {"root"}, "password": {"a long admin passphrase"}})
	expect(t, home, 200, "/", `id="who-username">root<`, "Platform admin")
	// The link works once.
	again := b.post("/setup", url.Values{"token": {tok}, "username": {"root2"}, "password": {"a long admin passphrase"}})
	expect(t, again, http.StatusUnauthorized, "/setup", admin.ErrSetupToken.Message)
}

func TestSecureCookiesUseHostPrefix(t *testing.T) {
	p := newPortal(t)
	p.addOrg("acme", store.OrgPolicy{})
	p.addUser("acme", "alice", "correct horse battery")
	h := web.New(web.Deps{Signin: p.app.Signin, Admin: p.app.Admin, Now: p.clock.Now, SecureCookies: true})
	form := url.Values{"org": {"acme"}, "username": {"alice"}, "password": {"correct horse battery"}}
	req := httptest.NewRequest("POST", "https://id.example/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("status %d", rec.Code)
	}
	var found bool
	for _, c := range rec.Result().Cookies() {
		if c.Name == "__Host-twofold_session" {
			found = true
			if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
				t.Fatalf("session cookie attributes: %+v", c)
			}
		}
		if c.Name == "twofold_session" {
			t.Fatal("unprefixed session cookie over TLS")
		}
	}
	if !found {
		t.Fatal("no __Host-twofold_session cookie")
	}
}

func TestTheOrganizationIsCaseFoldedInTheLoginFormAndTheOrgLink(t *testing.T) {
	p := newPortal(t)
	p.addOrg("acme", store.OrgPolicy{})
	p.addUser("acme", "bob", "correct horse battery")
	b := p.browser()
	expect(t, b.login("Acme", "BOB", "correct horse battery"), 200, "/", `id="who-username">bob<`)
	expect(t, b.post("/logout", nil), 200, "/login", `value="acme"`)
	expect(t, b.get("/o/ACME/login"), 200, "/o/acme/login", `type="hidden" id="org" name="org" value="acme"`)
	home := b.post("/o/Acme/login", url.Values{"username": {"Bob"}, "password": {"correct horse battery"}})
	expect(t, home, 200, "/", `id="who-username">bob<`)
}

func TestRepeatedWrongPasswordsShowTheWaitAndTheLock(t *testing.T) {
	p := newPortalWith(t, func(c *config.Config) { c.LockoutThreshold = 8 })
	p.addOrg("acme", store.OrgPolicy{})
	p.addUser("acme", "alice", "correct horse battery")
	b := p.browser()
	var last page
	for range 6 {
		last = b.login("acme", "alice", "wrong password")
	}
	expect(t, last, http.StatusTooManyRequests, "/login", "Too many failed sign-ins for this account. Please wait 1 second", `class="countdown" data-seconds="`)
	for range 20 {
		p.clock.Advance(time.Minute)
		if last = b.login("Acme", "ALICE", "wrong password"); strings.Contains(last.body, "locked") {
			break
		}
	}
	expect(t, last, http.StatusTooManyRequests, "/login", "Sign-in to this account is locked after too many wrong passwords", "unlocks by itself in about 1")
	// The right password waits for the lock to lift, or for an admin.
	expect(t, b.login("acme", "alice", "correct horse battery"), http.StatusTooManyRequests, "/login", "locked")
	sys, err := p.app.Admin.System(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	u, _, err := p.app.Admin.UserByName(context.Background(), sys, "acme", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if ov, _ := p.app.Admin.Factors(context.Background(), sys, u.ID); !ov.Locked || !ov.PasswordLocked {
		t.Fatalf("the admin's view of alice: %+v, want locked", ov)
	}
	if err := p.app.Admin.Unlock(context.Background(), sys, u.ID, signin.Client{}); err != nil {
		t.Fatal(err)
	}
	expect(t, b.login("acme", "alice", "correct horse battery"), 200, "/")
}
