package web

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/twofold-id/twofold/internal/factor/methods"
	"github.com/twofold-id/twofold/internal/normalize"
	"github.com/twofold-id/twofold/internal/problem"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// notices are the fixed messages a redirect can ask a page to show with
// ?msg=key. Only keys travel in the URL, never user input.
var notices = map[string]string{
	"signedout":     "You have been signed out.",
	"expired":       "Your sign-in expired or was ended. Please sign in again.",
	"skipped":       "You chose to set up two-step sign-in later. You can do it at any time under Security.",
	"added":         "The authenticator app was added.",
	"renamed":       "The authenticator was renamed.",
	"removed":       "The authenticator was removed.",
	"disabled":      "Two-step sign-in is now off for your account.",
	"revoked":       "That session was signed out.",
	"revokedothers": "Every other session was signed out.",
	"apprevoked":    "The app was signed out; it must ask you to sign in again.",
	"deviceremoved": "The device was removed; it must sign in again with both factors.",
	"password":      "Your password was changed. Your other sessions were signed out.",
	"reset":         "Your new password is set. Sign in with it.",
	"confirmed":     "Confirmed. You can go ahead for the next few minutes without another code.",
	// Email and text-message methods (sent*.go, confirm*.go).
	"methodadded": "The new sign-in method was added.",
	"confirmsent": "We sent you a mail with a confirmation link. Open it to confirm your address.",
}

func notice(r *http.Request) string { return notices[r.URL.Query().Get("msg")] }

// loginPage is the password step.
type loginPage struct {
	Action   string
	Org      string
	OrgFixed bool // the org came from /o/{slug}/login
	Username string
	Notice   string
	Err      *formErr
	Lang     string // see i18n.go
	// AppReq is the app sign-in this form belongs to (apps.go): posted
	// back, it makes this browser tab's sign-in continue to its own app
	// even when another tab started a sign-in to another app meanwhile.
	AppReq string
}

func (p loginPage) title() string    { return tr(p.Lang, "login.title") }
func (p loginPage) language() string { return p.Lang }

func (h *handler) loginPageFor(r *http.Request) loginPage {
	lang := requestLang(r)
	pg := loginPage{Action: "/login", Org: cookie(r, h.cookies.org), Lang: lang,
		Notice: trOr(lang, "notice."+r.URL.Query().Get("msg"), notice(r))}
	if slug, err := normalize.OrgSlug(r.PathValue("slug")); err == nil {
		pg.Action, pg.Org, pg.OrgFixed = "/o/"+slug+"/login", slug, true
	}
	return pg
}

// orgLinkOK answers /o/{slug}/login links: it reports true to go on; for a
// slug that is no slug at all it answers 404, and for one in another case
// or width ("/o/ACME/login") it redirects to the canonical link.
func (h *handler) orgLinkOK(w http.ResponseWriter, r *http.Request) bool {
	raw := r.PathValue("slug")
	if raw == "" {
		return true
	}
	slug, err := normalize.OrgSlug(raw)
	switch {
	case err != nil:
		h.notFound(w, r)
		return false
	case slug != raw && r.Method == http.MethodGet:
		http.Redirect(w, r, "/o/"+slug+"/login", http.StatusSeeOther)
		return false
	}
	return true
}

func (h *handler) loginForm(w http.ResponseWriter, r *http.Request) {
	if !h.orgLinkOK(w, r) {
		return
	}
	if rd := r.URL.Query().Get("rd"); rd != "" && h.Proxies != nil {
		h.startReturn(w, r, rd)
		return
	}
	if _, err := h.principal(r); err == nil {
		http.Redirect(w, r, h.landing(r), http.StatusSeeOther)
		return
	}
	h.render(w, r, "login", h.loginPageFor(r))
}

func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	if !h.orgLinkOK(w, r) {
		return
	}
	pg := h.loginPageFor(r)
	pg.Notice = ""
	fail := func(err error) {
		p := h.public(r, err)
		pg.Err = localErr(pg.Lang, newFormErr("login", p, h.Now(), "org", "username", "password"))
		h.renderStatus(w, r, p.HTTPStatus(), "login", pg)
	}
	if err := parseForm(r); err != nil {
		fail(err)
		return
	}
	if id := h.formAppReq(r); id != "" {
		pg.AppReq = id
		h.setAppCookie(w, id) // the later steps (second factor, setup) go on with it
	}
	if !pg.OrgFixed {
		pg.Org = strings.TrimSpace(r.PostForm.Get("org"))
	}
	pg.Username = strings.TrimSpace(r.PostForm.Get("username"))
	if err := h.limit(h.loginIP, r); err != nil {
		fail(err)
		return
	}
	res, err := h.Signin.Login(r.Context(), signin.LoginRequest{Org: pg.Org, Username: pg.Username,
		Password: r.PostForm.Get("password")}, h.Client(r))
	if err != nil {
		fail(err)
		return
	}
	if normalize.Slug(res.Org.Slug) == nil {
		h.rememberOrg(w, res.Org.Slug)
	}
	h.proceed(w, r, res)
}

// proceed sends the browser on after a sign-in step: home with a session,
// or the second step or setup with a flow cookie.
func (h *handler) proceed(w http.ResponseWriter, r *http.Request, res signin.Result) {
	switch res.Status {
	case signin.StatusAuthenticated:
		h.clearCookie(w, h.cookies.flow)
		h.setSession(w, res.SessionToken)
		http.Redirect(w, r, h.landing(r), http.StatusSeeOther)
	case signin.StatusMFARequired:
		h.setFlow(w, res.FlowToken, res.FlowExpiresAt)
		next := "/login/verify"
		if id := h.formAppReq(r); id != "" {
			next += "?app_req=" + id // the second step stays with this tab's app
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
	case signin.StatusEnrollmentRequired:
		h.setFlow(w, res.FlowToken, res.FlowExpiresAt)
		http.Redirect(w, r, "/login/enroll", http.StatusSeeOther)
	default:
		h.fail(w, r, errors.New("unknown sign-in status "+res.Status))
	}
}

// flow returns the live sign-in flow of the flow cookie. When there is none
// (expired, used up, never started) it sends the browser back to the
// sign-in page and reports false.
func (h *handler) flow(w http.ResponseWriter, r *http.Request) (string, signin.FlowInfo, bool) {
	tok := cookie(r, h.cookies.flow)
	if tok == "" {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return "", signin.FlowInfo{}, false
	}
	info, err := h.Signin.Flow(r.Context(), tok)
	if err != nil {
		h.flowFailed(w, r, err)
		return "", signin.FlowInfo{}, false
	}
	return tok, info, true
}

// flowFailed handles an error that may mean the flow is over.
func (h *handler) flowFailed(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, signin.ErrInvalidFlow) {
		h.clearCookie(w, h.cookies.flow)
		http.Redirect(w, r, "/login?msg=expired", http.StatusSeeOther)
		return
	}
	h.fail(w, r, err)
}

// verifyPage is the second step.
type verifyPage struct {
	AppReq    string // the app sign-in this tab is in (apps.go), posted back
	Username  string
	OrgName   string
	ExpiresAt time.Time
	Choose    bool     // show the list of methods instead of a form
	Choices   []string // methods other than backup codes
	Method    string   // the method of the form
	HasBackup bool
	None      bool              // nothing is left to answer with
	Targets   map[string]string // masked address or number per sent method
	Sent      *sentView         // the code just sent (email, sms)
	Err       *formErr
}

// challengeable are the methods the portal's second step can answer,
// besides recovery (backup) codes. Security keys are not among them yet:
// the portal has no WebAuthn script (they are answered over the API).
var challengeable = methods.Default.Kinds(portalMethod)

func (verifyPage) title() string { return "Two-step sign-in" }

// IsSent reports whether the form's method is a code the server sends.
func (pg verifyPage) IsSent() bool { return isSent(pg.Method) }

// verifyPageFor builds the page for the method the browser asked for (a
// ?method= link or the form's hidden field). With several methods and none
// chosen, the user picks one first (S14).
func verifyPageFor(info signin.FlowInfo, method string) verifyPage {
	pg := verifyPage{Username: info.User.Username, OrgName: info.Org.Name, ExpiresAt: info.ExpiresAt}
	for _, m := range info.Methods {
		switch {
		case m == recoveryKind:
			pg.HasBackup = true
		case slices.Contains(challengeable, m):
			pg.Choices = append(pg.Choices, m)
		}
	}
	switch {
	case method == recoveryKind && pg.HasBackup:
		pg.Method = method
	case slices.Contains(pg.Choices, method):
		pg.Method = method
	case len(pg.Choices) == 1:
		pg.Method = pg.Choices[0]
	case len(pg.Choices) == 0 && pg.HasBackup:
		pg.Method = recoveryKind
	case len(pg.Choices) == 0:
		pg.None = true
	default:
		pg.Choose = true
	}
	return pg
}

func (h *handler) verifyForm(w http.ResponseWriter, r *http.Request) {
	_, info, ok := h.flow(w, r)
	if !ok {
		return
	}
	if info.Kind == store.FlowEnroll {
		http.Redirect(w, r, "/login/enroll", http.StatusSeeOther)
		return
	}
	pg := verifyPageFor(info, r.URL.Query().Get("method"))
	pg.Targets = h.sentTargets(r.Context(), info.User)
	if id := r.URL.Query().Get("app_req"); h.Apps != nil && requestIDPattern.MatchString(id) {
		pg.AppReq = id
	}
	h.render(w, r, "verify", pg)
}

func (h *handler) verify(w http.ResponseWriter, r *http.Request) {
	tok, info, ok := h.flow(w, r)
	if !ok {
		return
	}
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	pg := verifyPageFor(info, r.PostForm.Get("method"))
	pg.AppReq = h.formAppReq(r)
	if pg.IsSent() {
		pg.Targets = h.sentTargets(r.Context(), info.User)
		pg.Sent = sentFromForm(r.PostForm, h.Now())
	}
	fail := func(p *problem.Error) {
		pg.Err = newFormErr("verify", p, h.Now(), "code")
		h.renderStatus(w, r, p.HTTPStatus(), "verify", pg)
	}
	if pg.Choose || pg.None {
		fail(signin.ErrMethodUnavailable.WithMessage("Choose how you want to confirm it is you."))
		return
	}
	if err := h.limit(h.codeIP, r); err != nil {
		fail(h.public(r, err))
		return
	}
	res, err := h.Signin.Verify(r.Context(), tok, pg.Method, r.PostForm.Get("code"), h.Client(r))
	if err != nil {
		if errors.Is(err, signin.ErrInvalidFlow) {
			h.flowFailed(w, r, err)
			return
		}
		fail(h.public(r, err))
		return
	}
	h.proceed(w, r, res)
}

func (h *handler) logout(w http.ResponseWriter, r *http.Request) {
	if p, err := h.principal(r); err == nil {
		if err := h.Signin.Logout(r.Context(), p, h.Client(r)); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	h.clearCookie(w, h.cookies.session)
	http.Redirect(w, r, "/login?msg=signedout", http.StatusSeeOther)
}

// homePage shows who is signed in.
type homePage struct {
	P          *signin.Principal
	IdleExpiry time.Time
	Overview   signin.Overview
	Notice     string
}

func (homePage) title() string                   { return "Signed in" }
func (pg homePage) principal() *signin.Principal { return pg.P }

func (h *handler) home(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	ov, err := h.Signin.Overview(r.Context(), p.User)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, "home", homePage{P: &p, IdleExpiry: h.Signin.IdleExpiry(p.Session), Overview: ov, Notice: notice(r)})
}
