// Package web is Twofold's browser portal: the sign-in pages, the second
// step, the forced setup wizard, the security settings and the first-admin
// setup page. Pages are rendered on the server with html/template; the
// templates, one stylesheet and one small script are embedded in the binary,
// so a page never makes an external request.
//
// Every response carries a strict Content-Security-Policy (no inline script
// or style), nosniff, no-referrer and frame denial; pages are not cached.
// State-changing requests pass Go's http.CrossOriginProtection and have
// their bodies bounded. Errors re-render the form with the user's input
// (never a password) and the message next to the field at fault.
//
// The handlers call internal/signin and internal/admin; nothing here touches
// the store. Session and flow tokens travel only in HttpOnly cookies, never
// in a URL, and are never logged.
package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/clientip"
	"github.com/twofold-id/twofold/internal/forwardauth"
	"github.com/twofold-id/twofold/internal/problem"
	"github.com/twofold-id/twofold/internal/ratelimit"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// MaxBody bounds every request body the portal reads.
const MaxBody = 64 << 10

// Deps are the collaborators of the portal.
type Deps struct {
	Signin *signin.Service
	Admin  *admin.Service
	Log    *slog.Logger
	Now    func() time.Time
	Client func(*http.Request) signin.Client // where a request came from
	// SecureCookies says the portal is served over TLS: cookies get the
	// __Host- prefix and the Secure attribute.
	SecureCookies bool
	// Version is shown in the page footer to admins (never to others, so
	// the version is no hint for an attacker).
	Version string
	// Apps carries sign-ins to registered apps (OpenID Connect) through
	// the portal; nil leaves them out (apps.go).
	Apps Apps
	// Proxies decides for forward-auth proxies and checks where the
	// portal may send a browser back to (proxy.go); nil leaves the
	// /forward-auth/ endpoints and ?rd= out.
	Proxies *forwardauth.Gate
	// PortalURL is the portal's external base URL (config BaseURL): the
	// forward-auth endpoints send browsers to PortalURL+"/login?rd=…".
	PortalURL string
	// CookieDomain scopes the session cookie to a parent domain
	// (cookies.go); "" keeps it a host-only __Host- cookie.
	CookieDomain string
	// Limits keeps the per-address counts; nil counts in this process
	// (ratelimit.Memory).
	Limits ratelimit.Backend
}

// handler is the portal.
type handler struct {
	Deps
	pages   *pages
	cookies cookieNames
	loginIP ratelimit.Limiter // password attempts per address
	codeIP  ratelimit.Limiter // code attempts per address
}

// The policy every response carries. Nothing inline is allowed: the one
// script and the one stylesheet come from /static/.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// New returns the portal handler. Mount it at the root of the browser
// routes; it serves /login, /login/verify, /login/enroll…, /, /logout,
// /security…, /setup and /static/….
func New(d Deps) http.Handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Limits == nil {
		d.Limits = ratelimit.Memory(d.Now)
	}
	if d.Client == nil {
		// The peer of the connection, without its port: a proxy's header
		// is believed only when the caller says which proxies to trust.
		var direct clientip.Resolver
		d.Client = func(r *http.Request) signin.Client {
			return signin.Client{IP: direct.IP(r), UserAgent: r.UserAgent()}
		}
	}
	h := &handler{
		Deps:    d,
		pages:   loadPages(),
		cookies: newCookieNames(d.SecureCookies, d.CookieDomain),
		loginIP: d.Limits.Limiter("web.login", ratelimit.Rate{PerMinute: 30, Burst: 10}),
		codeIP:  d.Limits.Limiter("web.codes", ratelimit.Rate{PerMinute: 60, Burst: 20}),
	}
	mux := http.NewServeMux()
	h.routes(mux)

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.renderStatus(w, r, http.StatusForbidden, "error", errorPage{
			Title:   "Request refused",
			Message: "This form was sent from another site, so it was refused. Go back, reload the page and try again.",
		})
	}))
	if d.Proxies != nil {
		// The forward-auth endpoints change nothing and answer any method
		// alike; a proxy that asks with the method, Origin and
		// Sec-Fetch-Site of the browser's request to the app must not see
		// a form posted to the app refused as cross-origin here (proxy.go).
		cop.AddInsecureBypassPattern(authRequestPath)
		cop.AddInsecureBypassPattern(redirectPath)
	}
	return headers(cop.Handler(h.limitBody(mux)))
}

// routes registers every page. Handlers that need a session are wrapped by
// authed; handlers of the sign-in flow read the flow cookie themselves.
func (h *handler) routes(mux *http.ServeMux) {
	mux.Handle("GET /static/", staticHandler())

	mux.HandleFunc("GET /{$}", h.authed(h.home))
	mux.HandleFunc("POST /logout", h.logout)

	mux.HandleFunc("GET /login", h.loginForm)
	mux.HandleFunc("POST /login", h.login)
	mux.HandleFunc("GET /o/{slug}/login", h.loginForm)
	mux.HandleFunc("POST /o/{slug}/login", h.login)
	mux.HandleFunc("GET /login/verify", h.verifyForm)
	mux.HandleFunc("POST /login/verify", h.verify)

	mux.HandleFunc("GET /login/enroll", h.enrollStart)
	mux.HandleFunc("POST /login/enroll/totp", h.enrollTOTP)
	mux.HandleFunc("POST /login/enroll/confirm", h.enrollConfirm)
	mux.HandleFunc("POST /login/enroll/skip", h.enrollSkip)
	mux.HandleFunc("POST /continue", h.continueAfterCodes)

	mux.HandleFunc("GET /security", h.authed(h.security))
	mux.HandleFunc("POST /security/reauth", h.authed(h.reauth))
	mux.HandleFunc("POST /security/totp", h.authed(h.addTOTP))
	mux.HandleFunc("POST /security/totp/confirm", h.authed(h.confirmTOTP))
	mux.HandleFunc("POST /security/factors/{id}/rename", h.authed(h.renameFactor))
	mux.HandleFunc("POST /security/factors/{id}/remove", h.authed(h.removeFactor))
	mux.HandleFunc("POST /security/backup-codes", h.authed(h.regenerateCodes))
	mux.HandleFunc("POST /security/disable", h.authed(h.disableMFA))
	mux.HandleFunc("POST /security/sessions/{id}/revoke", h.authed(h.revokeSession))
	mux.HandleFunc("POST /security/sessions/revoke-others", h.authed(h.revokeOthers))
	mux.HandleFunc("POST /security/password", h.authed(h.changePassword))

	// "Forgot password": recovery.go.
	mux.HandleFunc("GET /forgot-password", h.forgotForm)
	mux.HandleFunc("POST /forgot-password", h.forgot)
	mux.HandleFunc("GET /reset-password", h.resetForm)
	mux.HandleFunc("POST /reset-password", h.reset)
	mux.HandleFunc("POST /reset-password/code", h.resetCode)

	// Invitations: invite.go.
	mux.HandleFunc("GET /invitation", h.inviteForm)
	mux.HandleFunc("POST /invitation", h.acceptInvite)

	mux.HandleFunc("GET /setup", h.setupForm)
	mux.HandleFunc("POST /setup", h.setup)

	// Codes by email and text message, and email confirmation links.
	h.sentRoutes(mux)

	// The admin console (org tree, policies, users, audit log): admin*.go.
	h.adminRoutes(mux)

	// Signing in to registered apps (OpenID Connect): apps.go.
	h.appRoutes(mux)
	h.deviceRoutes(mux)

	// Forward-auth for apps behind nginx, Traefik or Caddy: proxy.go.
	h.proxyRoutes(mux)

	mux.HandleFunc("/", h.notFound)
}

// headers sets the security headers on every response. Pages are never
// cached; static assets set their own Cache-Control.
func headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// limitBody bounds every request body to MaxBody (a user CSV import to
// maxImportBody). A body declared larger
// is refused before any of it is read, so that a client sending "Expect:
// 100-continue" hears 413 instead of "100 Continue".
func (h *handler) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := int64(MaxBody)
		if r.Method == http.MethodPost && r.URL.Path == importPath {
			limit = maxImportBody
		}
		if r.ContentLength > limit {
			h.renderStatus(w, r, http.StatusRequestEntityTooLarge, "error", errorPage{Title: "Request too large", Message: errTooLarge.Message})
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		next.ServeHTTP(w, r)
	})
}

// Errors of the portal layer.
var (
	errTooLarge    = problem.Define(http.StatusRequestEntityTooLarge, "body_too_large", "The form was too large to accept.")
	errBadForm     = problem.Define(http.StatusBadRequest, "invalid_request", "The form could not be read. Please try again.")
	errRateLimited = problem.Define(http.StatusTooManyRequests, "rate_limited", "Too many attempts from your address. Please wait a moment and try again.")
	errInternal    = problem.Define(http.StatusInternalServerError, "internal_error", "Something went wrong on our side. It has been logged; please try again.")
	errUnavailable = problem.Define(http.StatusServiceUnavailable, "unavailable", "The service cannot reach its database just now. Please try again in a moment.")
)

// parseForm reads a bounded form body. Its errors are public.
func parseForm(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return errTooLarge
		}
		return errBadForm
	}
	return nil
}

// public returns err as a public error. Errors without a public face are
// logged (without any form values) and replaced by a generic one.
func (h *handler) public(r *http.Request, err error) *problem.Error {
	if p := problem.As(err); p != nil {
		return p
	}
	switch {
	case r.Context().Err() != nil || errors.Is(err, context.Canceled):
		// The browser went away (a closed tab, a second click): nothing
		// failed on our side, and nobody will see the page.
		h.Log.InfoContext(r.Context(), "web: request cancelled: the client went away", "method", r.Method, "path", r.URL.Path, "err", err)
		return errInternal
	case store.Unavailable(err):
		h.Log.WarnContext(r.Context(), "web: database unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		return errUnavailable
	}
	h.Log.ErrorContext(r.Context(), "web: internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	return errInternal
}

// limit applies an address limit. When the limiter's shared state cannot
// be reached the request is refused with that error, never let through
// unlimited.
func (h *handler) limit(l ratelimit.Limiter, r *http.Request) error {
	ok, wait, err := l.Allow(r.Context(), h.Client(r).IP)
	if err != nil {
		return err
	}
	if !ok {
		return errRateLimited.WithRetry(wait)
	}
	return nil
}

// authedFunc is a page that needs a session.
type authedFunc func(w http.ResponseWriter, r *http.Request, p signin.Principal)

// authed runs f with the principal of the session cookie, or sends the
// browser to the sign-in page. A session that lacks what its user's current
// policy demands (signin.Principal.Lacks) never reaches f: it is turned into
// the sign-in flow a new sign-in would start after the password, and the
// browser is led into it — the setup wizard, or the second step.
func (h *handler) authed(f authedFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := h.principal(r)
		if err != nil {
			if !errors.Is(err, signin.ErrUnauthenticated) {
				h.fail(w, r, err)
				return
			}
			h.clearCookie(w, h.cookies.session)
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		if p.Lacks != nil {
			res, err := h.Signin.Resume(r.Context(), p, h.Client(r))
			if err != nil {
				h.fail(w, r, err)
				return
			}
			h.clearCookie(w, h.cookies.session)
			h.proceed(w, r, res)
			return
		}
		f(w, r, p)
	}
}

// principal authenticates the session cookie of r.
func (h *handler) principal(r *http.Request) (signin.Principal, error) {
	c, err := r.Cookie(h.cookies.session)
	if err != nil || c.Value == "" {
		return signin.Principal{}, signin.ErrUnauthenticated
	}
	return h.Signin.Authenticate(r.Context(), c.Value)
}

func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.renderStatus(w, r, http.StatusNotFound, "error", errorPage{
		Title: "Page not found", Message: "There is no page at this address.",
	})
}

// fail shows an error page for err (used when there is no form to
// re-render).
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	p := h.public(r, err)
	h.renderStatus(w, r, p.HTTPStatus(), "error", errorPage{Title: "Something went wrong", Message: messageOf(p, h.Now())})
}
