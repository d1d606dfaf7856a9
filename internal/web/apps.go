package web

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/twofold-id/twofold/internal/oidc"
	"github.com/twofold-id/twofold/internal/problem"
	"github.com/twofold-id/twofold/internal/signin"
)

// Apps is the OpenID Connect provider as the portal sees it: it decides
// what a browser signing in to an app needs next (see oidc.Continue).
type Apps interface {
	Continue(ctx context.Context, requestID string, p *signin.Principal, c signin.Client) (oidc.Step, error)
	// Consent answers the consent screen (allow or refuse).
	Consent(ctx context.Context, requestID string, p *signin.Principal, c signin.Client, allow bool) (oidc.Step, error)
	// Apps lists the apps the user signed in to that still hold a grant;
	// RevokeApp ends one of them.
	Apps(ctx context.Context, userID string) ([]oidc.App, error)
	RevokeApp(ctx context.Context, userID, grantID string, c signin.Client) error
}

// requestIDPattern is the shape of an authorization request id (store.NewID).
var requestIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// The sign-in to an app. op sends the browser to /login/app?req=ID; the
// portal keeps the id in a cookie while the user goes through the
// password, the second step and, when needed, the setup wizard (every
// step that would land on the start page lands on /login/app instead,
// see landing), and then asks the provider what is next. The cookie holds
// only an id, and the browser only ever goes back to op's callback or to a
// redirect URI op checked: no open redirect.
func (h *handler) appRoutes(mux *http.ServeMux) {
	if h.Apps == nil {
		return
	}
	mux.HandleFunc("GET "+oidc.LoginPath, h.appContinue)
	mux.HandleFunc("POST "+oidc.LoginPath+"/confirm", h.appConfirm)
	mux.HandleFunc("POST "+oidc.LoginPath+"/consent", h.appConsent)
	mux.HandleFunc("POST /security/apps/{id}/revoke", h.authed(h.revokeApp))
}

// revokeApp ends one app's grant from the security page.
func (h *handler) revokeApp(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	if err := h.Apps.RevokeApp(r.Context(), p.User.ID, r.PathValue("id"), h.Client(r)); err != nil {
		h.securityFailed(w, r, p, "apps", err)
		return
	}
	done(w, r, "apprevoked")
}

// landing is where a completed sign-in goes: back into the app sign-in
// or the forward-auth return when one is under way, else the start page.
func (h *handler) landing(r *http.Request) string {
	if id := h.formAppReq(r); id != "" {
		return oidc.LoginPath + "?req=" + id
	}
	if h.Apps != nil && requestIDPattern.MatchString(cookie(r, h.cookies.app)) {
		return oidc.LoginPath
	}
	if h.Proxies != nil && cookie(r, h.cookies.rd) != "" {
		return proxyPath
	}
	if cleanUserCode(cookie(r, h.deviceCookie())) != "" {
		return oidc.DevicePath // a device approval under way (devicegrant.go)
	}
	return "/"
}

// formAppReq is the app sign-in a posted form names (app_req), or "".
// Several tabs of one browser may each be signing in to an app; the form
// says which sign-in this tab is in, where the cookie holds only the one
// started last.
func (h *handler) formAppReq(r *http.Request) string {
	if h.Apps == nil || r.PostForm == nil {
		return ""
	}
	if id := r.PostForm.Get("app_req"); requestIDPattern.MatchString(id) {
		return id
	}
	return ""
}

// appReqOf is the app sign-in a step of it is about: the form's, else the
// cookie's.
func (h *handler) appReqOf(r *http.Request) string {
	if id := h.formAppReq(r); id != "" {
		return id
	}
	if id := cookie(r, h.cookies.app); requestIDPattern.MatchString(id) {
		return id
	}
	return ""
}

// appPage is the step page of an app sign-in: the interstitial that sends
// the browser on, the fresh second factor, or the need to set one up.
type appPage struct {
	Base     string // the route of the sign-in under way: oidc.LoginPath, or proxyPath
	Req      string // an app sign-in's request id, posted back as app_req ("" for forward-auth)
	Client   string
	Redirect string   // the interstitial's destination
	Kind     string   // "continue", "confirm", "enroll", "consent"
	Scopes   []string // what the app asks for (consent)
	Err      *formErr
}

func (appPage) title() string { return "Sign in to an app" }

func (h *handler) appContinue(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("req")
	if id != "" {
		if !requestIDPattern.MatchString(id) {
			h.appGone(w, r)
			return
		}
		h.setAppCookie(w, id)
		h.clearCookie(w, h.cookies.rd) // one sign-in under way at a time
	} else if id = cookie(r, h.cookies.app); !requestIDPattern.MatchString(id) {
		h.appGone(w, r)
		return
	}
	var pp *signin.Principal
	p, err := h.principal(r)
	switch {
	case err == nil && p.Lacks != nil:
		// Like every page: a session that lacks what the policy demands
		// is led through the missing step first, and comes back here.
		res, err := h.Signin.Resume(r.Context(), p, h.Client(r))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.clearCookie(w, h.cookies.session)
		h.proceed(w, r, res)
		return
	case err == nil:
		pp = &p
	case !errors.Is(err, signin.ErrUnauthenticated):
		h.fail(w, r, err)
		return
	}
	h.appStep(w, r, id, pp, nil)
}

// appStep asks the provider for the next step and shows it.
func (h *handler) appStep(w http.ResponseWriter, r *http.Request, id string, p *signin.Principal, failed *problem.Error) {
	step, err := h.Apps.Continue(r.Context(), id, p, h.Client(r))
	h.showAppStep(w, r, id, step, err, failed)
}

// showAppStep shows the step the provider decided on.
func (h *handler) showAppStep(w http.ResponseWriter, r *http.Request, id string, step oidc.Step, err error, failed *problem.Error) {
	if errors.Is(err, oidc.ErrRequestGone) {
		h.clearCookie(w, h.cookies.app)
		h.appGone(w, r)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	pg := appPage{Base: oidc.LoginPath, Req: id, Client: step.ClientName}
	status := http.StatusOK
	if failed != nil {
		pg.Err, status = newFormErr("app", failed, h.Now(), "code"), failed.HTTPStatus()
	}
	switch step.Kind {
	case oidc.StepRedirect:
		if other := cookie(r, h.cookies.app); other != id && requestIDPattern.MatchString(other) {
			h.setAppCookie(w, other) // another tab's sign-in under way keeps its cookie
		} else {
			h.clearCookie(w, h.cookies.app)
		}
		// An interstitial rather than a redirect: after a form was sent, a
		// redirect chain to the app's origin would break the portal's
		// form-action policy. app.js follows the link at once.
		pg.Kind, pg.Redirect = "continue", step.Redirect
		h.render(w, r, "app", pg)
	case oidc.StepLogin:
		lp := h.loginPageFor(r)
		lp.Notice = "Sign in to continue to " + step.ClientName + "."
		lp.AppReq = id
		if hint := strings.TrimSpace(step.LoginHint); hint != "" && len(hint) <= 256 {
			lp.Username = hint // the app's login_hint; the user may change it
		}
		h.render(w, r, "login", lp)
	case oidc.StepUp:
		pg.Kind = "confirm"
		h.renderStatus(w, r, status, "app", pg)
	case oidc.StepEnroll:
		pg.Kind = "enroll"
		h.render(w, r, "app", pg)
	case oidc.StepConsent:
		pg.Kind, pg.Scopes = "consent", step.Scopes
		h.render(w, r, "app", pg)
	default:
		h.fail(w, r, errors.New("unknown app sign-in step"))
	}
}

// appConfirm checks the fresh second factor an app asked for, on the
// session in place, and goes on.
func (h *handler) appConfirm(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	id := h.appReqOf(r)
	if id == "" {
		h.appGone(w, r)
		return
	}
	p, err := h.principal(r)
	if err != nil || p.Lacks != nil {
		http.Redirect(w, r, oidc.LoginPath+"?req="+id, http.StatusSeeOther)
		return
	}
	if err := h.limit(h.codeIP, r); err != nil {
		h.appStep(w, r, id, &p, h.public(r, err))
		return
	}
	sess, err := h.Signin.ConfirmInPlace(r.Context(), p, r.PostForm.Get("code"), h.Client(r))
	if err != nil {
		h.appStep(w, r, id, &p, h.public(r, err))
		return
	}
	p.Session = sess
	h.appStep(w, r, id, &p, nil)
}

// appConsent takes the answer of the consent screen.
func (h *handler) appConsent(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	id := h.appReqOf(r)
	if id == "" {
		h.appGone(w, r)
		return
	}
	p, err := h.principal(r)
	if err != nil || p.Lacks != nil {
		http.Redirect(w, r, oidc.LoginPath+"?req="+id, http.StatusSeeOther)
		return
	}
	step, err := h.Apps.Consent(r.Context(), id, &p, h.Client(r), r.PostForm.Get("decision") == "allow")
	h.showAppStep(w, r, id, step, err, nil)
}

func (h *handler) appGone(w http.ResponseWriter, r *http.Request) {
	h.renderStatus(w, r, http.StatusBadRequest, "error", errorPage{Title: "Sign-in link not valid",
		Message: oidc.ErrRequestGone.Message})
}

// setAppCookie keeps the id of the app sign-in under way for as long as a
// request lives.
func (h *handler) setAppCookie(w http.ResponseWriter, id string) {
	http.SetCookie(w, &http.Cookie{Name: h.cookies.app, Value: id, Path: "/", MaxAge: 1800,
		Secure: h.cookies.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}
