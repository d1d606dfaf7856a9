package browsertest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/twofold-id/twofold/internal/app"
	"github.com/twofold-id/twofold/internal/cli"
	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/factor/backup"
	"github.com/twofold-id/twofold/internal/factor/totp"
	"github.com/twofold-id/twofold/internal/password"
	"github.com/twofold-id/twofold/internal/skipnote"
)

// testTimeout bounds every test, browser start included.
const testTimeout = 60 * time.Second

// Window sizes of the desktop and the phone.
const (
	desktopW, desktopH = 1280, 900
	phoneW, phoneH     = 390, 844
)

// clock is a settable time source shared by the app and the test, so a TOTP
// code can move to the next time step without waiting.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Advance moves the clock forward by d.
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// portal is the whole Twofold handler tree over a SQLite file, served by
// httptest over plain HTTP (so cookies are plain, not __Host-).
type portal struct {
	t     *testing.T
	dir   string
	cfg   config.Config
	clock *clock
	app   *app.App
	srv   *httptest.Server
}

// options are the cheap settings every App of these tests uses.
func (p *portal) options() app.Options {
	pp := password.TestParams()
	bp := backup.Params{Memory: 64, Time: 1, Threads: 1}
	return app.Options{Now: p.clock.Now, PasswordParams: &pp, BackupParams: &bp}
}

func newPortal(t *testing.T) *portal { t.Helper(); return newPortalWith(t, nil) }

// newPortalWith is newPortal with a change to the configuration (SMTP, for
// one) before the app opens.
func newPortalWith(t *testing.T, adjust func(*config.Config)) *portal {
	t.Helper()
	p := &portal{t: t, dir: t.TempDir(), clock: &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}}
	cfg := config.Default()
	cfg.DataDir = p.dir
	// The platform rule that admins need a second factor has tests of its
	// own (internal/api, internal/web); journeys here sign admins in the way
	// each test sets up.
	cfg.AdminMFARequired = false
	if adjust != nil {
		adjust(&cfg)
	}
	p.cfg = cfg
	a, err := app.Open(context.Background(), cfg, slog.New(slog.DiscardHandler), p.options())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if _, _, err := a.EnsureRoot(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.app = a
	p.srv = httptest.NewServer(a.Handler())
	t.Cleanup(p.srv.Close)
	return p
}

// cli runs a twofold admin command against the portal's database, the way
// an operator would (`twofold org create …`), with stdin as its input.
func (p *portal) cli(stdin string, args ...string) string {
	p.t.Helper()
	var out, errb bytes.Buffer
	env := cli.Env{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Getenv: func(string) string { return "" },
		Open: func(ctx context.Context, cfg config.Config, log *slog.Logger) (*app.App, error) {
			return app.Open(ctx, cfg, log, p.options())
		},
	}
	args = append(args, "--data-dir", p.dir)
	if p.cfg.DatabaseURL != "" {
		args = append(args, "--database-url", p.cfg.DatabaseURL, "--key-file", p.cfg.KeyFile)
	}
	if code := cli.Main(args, env); code != 0 {
		p.t.Fatalf("twofold %s: exit %d: %s", strings.Join(args, " "), code, errb.String())
	}
	return out.String()
}

// addOrg creates an org under the root with the given MFA mode.
func (p *portal) addOrg(slug, name, mfa string) {
	p.t.Helper()
	p.cli("", "org", "create", "--slug", slug, "--name", name, "--mfa", mfa)
}

// addUser creates a member with a password.
func (p *portal) addUser(org, username, pw string) {
	p.t.Helper()
	p.cli(pw+"\n", "user", "create", "--org", org, "--username", username, "--password-stdin")
}

// totpCode returns the current code for the grouped secret shown on a page.
func (p *portal) totpCode(grouped string) string {
	p.t.Helper()
	secret, err := totp.DecodeSecret(grouped)
	if err != nil {
		p.t.Fatalf("secret %q from the page: %v", grouped, err)
	}
	v := totp.Default()
	return v.Code(secret, v.Step(p.clock.Now()))
}

// nextStep moves the clock to the next TOTP time step, so the replay guard
// does not refuse the next code.
func (p *portal) nextStep() { p.clock.Advance(30 * time.Second) }

// browserPath returns the Chromium to drive, or skips (fails under
// TWOFOLD_REQUIRE_BROWSER=1) when there is none.
func browserPath(t *testing.T) string {
	t.Helper()
	path := os.Getenv("TWOFOLD_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(path); err != nil {
		if os.Getenv("TWOFOLD_REQUIRE_BROWSER") == "1" {
			t.Fatalf("no browser at %s (TWOFOLD_REQUIRE_BROWSER=1): %v", path, err)
		}
		skipnote.Print("browser", "twofold: browser tests skipped: no Chromium at "+path+". Install it (apt-get install chromium) "+
			"or set TWOFOLD_CHROMIUM=/path/to/chromium (TWOFOLD_REQUIRE_BROWSER=1 makes a missing browser fail instead)")
		t.Skipf("no browser at %s (set TWOFOLD_CHROMIUM): %v", path, err)
	}
	return path
}

// tab is one browser tab, in a browser context (its own cookies and
// storage) of its own, owned by one test and pointed at one portal.
type tab struct {
	t   *testing.T
	p   *portal
	ctx context.Context
}

// browser is the one Chromium of the package, started by the first test
// that needs it (one allocator, one process, a fresh user-data-dir) and
// stopped by TestMain. Each test gets a new browser context in it, so
// tests share no cookies.
var browser struct {
	once    sync.Once
	ctx     context.Context
	err     error
	stop    func()
	profile string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if browser.stop != nil {
		browser.stop()
	}
	os.Exit(code)
}

// startBrowser starts the package's browser.
func startBrowser(path string) {
	profile, err := os.MkdirTemp("", "twofold-chromium-")
	if err != nil {
		browser.err = err
		return
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests run as root in CI
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("lang", "en-US"),
		chromedp.Flag("password-store", "basic"),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(desktopW, desktopH),
		chromedp.Env("TZ=UTC"),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	browser.stop = func() {
		chromedp.Cancel(ctx)
		cancel()
		acancel()
		os.RemoveAll(profile)
	}
	// The first Run starts the process; it must not carry a timeout,
	// which would stop the whole browser when it ends.
	browser.err = chromedp.Do(ctx)
	browser.ctx = ctx
}

// newTab opens a tab (window 1280x900) in a new browser context of the
// package's browser. Everything the test does in it stops after
// testTimeout.
func (p *portal) newTab() *tab {
	t := p.t
	t.Helper()
	path := browserPath(t)
	browser.once.Do(func() { startBrowser(path) })
	if browser.err != nil {
		t.Fatalf("start %s: %v", path, browser.err)
	}
	tctx, cancel := chromedp.NewContext(browser.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// The first Run on the context creates the tab; the viewport is what
	// the page sees (the window size flag sets the outer window).
	if err := chromedp.Do(tctx, chromedp.EmulateViewport(desktopW, desktopH)); err != nil {
		t.Fatalf("new tab: %v", err)
	}
	ctx, stop := context.WithTimeout(tctx, testTimeout)
	t.Cleanup(stop)
	return &tab{t: t, p: p, ctx: ctx}
}

// do runs actions and fails the test on error.
func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// run runs one action that returns a value and fails the test on error.
func run[T any](b *tab, a chromedp.Action[T]) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, a)
	if err != nil {
		b.t.Fatalf("browser: %v", err)
	}
	return v
}

// load runs the actions that cause a navigation (a click on a submit
// button, a link) and waits for the new page. It returns the HTTP status of
// the document.
func (b *tab) load(steps ...chromedp.Action[chromedp.Void]) int {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, steps...)
	if err != nil {
		b.t.Fatalf("browser: %v", err)
	}
	if resp == nil {
		return 0
	}
	return int(resp.Status)
}

// open navigates to a path of the portal and returns the status.
func (b *tab) open(path string) int {
	b.t.Helper()
	resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(b.p.srv.URL+path))
	if err != nil {
		b.t.Fatalf("open %s: %v", path, err)
	}
	return int(resp.Status)
}

// click clicks the element with the id and waits for the page it leads to.
func (b *tab) click(id string) int {
	b.t.Helper()
	return b.load(chromedp.Click(chromedp.ID(id)))
}

// fill replaces the value of the field with the id by typing text into it.
func (b *tab) fill(id, text string) {
	b.t.Helper()
	b.do(chromedp.Clear(chromedp.ID(id)), chromedp.SendKeys(chromedp.ID(id), text))
}

// text returns the visible text of the element with the id.
func (b *tab) text(id string) string {
	b.t.Helper()
	return strings.TrimSpace(run(b, chromedp.Text(chromedp.ID(id))))
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *tab, expr string) T {
	b.t.Helper()
	return run(b, chromedp.Evaluate[T](expr))
}

// has reports whether an element matches the CSS selector now.
func (b *tab) has(sel string) bool {
	b.t.Helper()
	return eval[bool](b, fmt.Sprintf("document.querySelector(%q) !== null", sel))
}

// path returns the path (and query) of the current page.
func (b *tab) path() string {
	b.t.Helper()
	loc := run(b, chromedp.Location())
	u, err := url.Parse(loc)
	if err != nil {
		b.t.Fatal(err)
	}
	return u.RequestURI()
}

// h1 returns the text of the page's first h1.
func (b *tab) h1() string {
	b.t.Helper()
	return eval[string](b, `(document.querySelector("h1") || {textContent: ""}).textContent.trim()`)
}

// wantPage fails unless the current page is at path with an h1 of heading.
func (b *tab) wantPage(path, heading string) {
	b.t.Helper()
	if got := b.path(); got != path {
		b.t.Fatalf("page %s (h1 %q), want %s", got, b.h1(), path)
	}
	if got := b.h1(); got != heading {
		b.t.Fatalf("h1 on %s is %q, want %q", path, got, heading)
	}
}

// signIn fills and sends the sign-in form and returns the status.
func (b *tab) signIn(org, username, pw string) int {
	b.t.Helper()
	if b.path() != "/login" && !strings.HasPrefix(b.path(), "/login?") {
		b.open("/login")
	}
	b.fill("org", org)
	b.fill("username", username)
	b.fill("password", pw)
	return b.click("login-submit")
}

// signOut presses the sign-out button of the home page.
func (b *tab) signOut() {
	b.t.Helper()
	b.click("signout")
	b.wantPage("/login?msg=signedout", "Sign in")
}

// enrolled is what the setup wizard handed to the user.
type enrolled struct {
	secret string   // the grouped secret key as shown
	codes  []string // the backup codes
}

// enroll signs a user of an org that requires MFA in and goes through the
// whole setup wizard, ending signed in on the home page.
func (b *tab) enroll(org, username, pw string) enrolled {
	b.t.Helper()
	b.signIn(org, username, pw)
	b.wantPage("/login/enroll", "Set up two-step sign-in")
	b.click("enroll-totp")
	b.wantPage("/login/enroll/totp", "Add an authenticator app")
	secret := b.text("secret")
	b.fill("code", b.p.totpCode(secret))
	b.click("totp-submit")
	b.wantPage("/login/enroll/confirm", "Save your backup codes")
	codes := eval[[]string](b, `[...document.querySelectorAll("#backup-codes li")].map(li => li.textContent.trim())`)
	b.do(chromedp.Click(chromedp.ID("saved")))
	b.click("continue")
	b.wantPage("/", "You are signed in")
	return enrolled{secret: secret, codes: codes}
}
