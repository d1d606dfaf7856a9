package web

import (
	"cmp"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/twofold-id/twofold/internal/forwardauth"
	"github.com/twofold-id/twofold/internal/signin"
)

// The forward-auth endpoints and the portal's side of them.
//
// A proxy in front of a protected app asks one of the endpoints about each
// request, passing the browser's cookies and the request's URL in headers:
//
//   - /forward-auth/auth-request (nginx auth_request; any method is
//     answered alike) reads
//     X-Original-URL, or X-Forwarded-Proto/Host/Uri, and answers 200, 401
//     (with Location: the portal's sign-in, for auth_request_set) or 403;
//   - GET /forward-auth/redirect (Traefik ForwardAuth, Caddy forward_auth)
//     reads X-Forwarded-Method/Proto/Host/Uri and answers 200, 302 to the
//     portal's sign-in (401 for methods other than GET and HEAD, which a
//     redirect would turn into a GET) or 403.
//
// On 200 the answer carries the Remote-* headers (forwardauth.Headers),
// which the proxy copies onto the request to the app, replacing whatever
// the browser sent. The portal's /login?rd=URL accepts URL only when its
// host is a proxy client's (forwardauth.Gate.CheckReturn), keeps it in a
// cookie through the sign-in, and at /login/proxy decides again: the
// interstitial back to the app, a fresh second factor on the same session
// (step-up), setup, or a refusal.
const (
	authRequestPath = "/forward-auth/auth-request"
	redirectPath    = "/forward-auth/redirect"
	proxyPath       = "/login/proxy"
)

func (h *handler) proxyRoutes(mux *http.ServeMux) {
	if h.Proxies == nil {
		return
	}
	// Any method: nginx's auth_request subrequest is a GET (the nginx test
	// posts a form through it), but other proxies may ask with the method
	// of the browser's request; a body is never read here.
	mux.HandleFunc(authRequestPath, h.forwardAuth(false))
	mux.HandleFunc(redirectPath, h.forwardAuth(true))
	mux.HandleFunc("GET "+proxyPath, h.proxyContinue)
	mux.HandleFunc("POST "+proxyPath+"/confirm", h.proxyConfirm)
}

// errTarget is a proxy request whose headers name no usable URL.
var errTarget = errors.New("web: forward-auth headers name no usable URL")

// single returns the one value of header k, or errTarget when it was sent
// more than once (a proxy that appends instead of replacing).
func single(r *http.Request, k string) (string, error) {
	v := r.Header.Values(k)
	switch {
	case len(v) == 0:
		return "", nil
	case len(v) > 1:
		return "", errTarget
	}
	return strings.TrimSpace(v[0]), nil
}

// forwardTarget reads the URL a proxy asks about. X-Forwarded-Proto, -Host
// and -Uri must each come once, the first two without a list. The nginx
// endpoint prefers X-Original-URL and refuses a request whose two forms
// disagree: whichever the proxy did not set came from the browser. The
// Traefik/Caddy endpoint ignores X-Original-URL, which those proxies pass
// on from the browser untouched.
func forwardTarget(r *http.Request, redirect bool) (forwardauth.Target, error) {
	var vals [3]string
	for i, k := range []string{"X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Uri"} {
		v, err := single(r, k)
		if err != nil || (i < 2 && strings.Contains(v, ",")) {
			return forwardauth.Target{}, errTarget
		}
		vals[i] = v
	}
	fwd := ""
	if vals[1] != "" {
		uri := vals[2]
		if uri == "" {
			uri = "/"
		}
		if vals[0] == "" || !strings.HasPrefix(uri, "/") {
			return forwardauth.Target{}, errTarget
		}
		fwd = vals[0] + "://" + vals[1] + uri
	}
	if !redirect {
		orig, err := single(r, "X-Original-URL")
		if err != nil {
			return forwardauth.Target{}, err
		}
		if orig != "" {
			t, err := forwardauth.ParseTarget(orig)
			if err != nil {
				return forwardauth.Target{}, err
			}
			if fwd != "" {
				if f, err := forwardauth.ParseTarget(fwd); err != nil || f.URL.String() != t.URL.String() {
					return forwardauth.Target{}, errTarget
				}
			}
			return t, nil
		}
	}
	if fwd == "" {
		return forwardauth.Target{}, errTarget
	}
	return forwardauth.ParseTarget(fwd)
}

// forwardAuth answers a proxy's question about one request, from current
// data. redirect selects the Traefik/Caddy form (302) over nginx's (401).
// The method of the proxy's request does not matter; for the redirect
// form, X-Forwarded-Method says whether a 302 would make sense.
func (h *handler) forwardAuth(redirect bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		t, err := forwardTarget(r, redirect)
		if err != nil {
			h.Log.WarnContext(r.Context(), "forward-auth: the proxy's headers name no usable URL; check its configuration",
				"x_original_url_set", r.Header.Get("X-Original-URL") != "", "x_forwarded_host", r.Header.Get("X-Forwarded-Host"))
			http.Error(w, "forbidden: the proxy sent no usable URL", http.StatusForbidden)
			return
		}
		var pp *signin.Principal
		p, err := h.principal(r)
		switch {
		case err == nil:
			pp = &p
		case !errors.Is(err, signin.ErrUnauthenticated):
			pe := h.public(r, err)
			http.Error(w, pe.Message, pe.HTTPStatus())
			return
		}
		d, err := h.Proxies.Decide(r.Context(), t, pp)
		if err != nil {
			pe := h.public(r, err)
			http.Error(w, pe.Message, pe.HTTPStatus())
			return
		}
		switch d.Verdict {
		case forwardauth.Allow:
			hd, err := h.Proxies.Headers(r.Context(), p)
			if err != nil {
				pe := h.public(r, err)
				http.Error(w, pe.Message, pe.HTTPStatus())
				return
			}
			for k, v := range hd {
				w.Header()[k] = v
			}
			w.WriteHeader(http.StatusOK)
			w.Write([]byte("ok\n"))
		case forwardauth.UnknownHost:
			h.Log.WarnContext(r.Context(), "forward-auth: no protected app has this host; register it as a proxy client", "host", t.Host)
			http.Error(w, "forbidden: this host is not a protected app", http.StatusForbidden)
		case forwardauth.Forbidden:
			h.Log.InfoContext(r.Context(), "forward-auth: refused", "client", d.Client.ID, "host", t.Host, "path", t.Path, "reason", d.Reason)
			http.Error(w, "forbidden", http.StatusForbidden)
		default: // SignIn, StepUp, Enroll, Unsatisfiable: the portal leads the way, or explains
			login := h.PortalURL + "/login?rd=" + url.QueryEscape(t.URL.String())
			w.Header().Set("Location", login)
			if redirect && (r.Header.Get("X-Forwarded-Method") == "" || r.Header.Get("X-Forwarded-Method") == http.MethodGet ||
				r.Header.Get("X-Forwarded-Method") == http.MethodHead) {
				w.WriteHeader(http.StatusFound)
				return
			}
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte("sign in at " + h.PortalURL + "/login\n"))
		}
	}
}

// startReturn answers /login?rd=URL: an rd that is not a protected app's
// URL is refused with an error page (never followed); a good one is kept
// in a cookie and the browser goes on to /login/proxy.
func (h *handler) startReturn(w http.ResponseWriter, r *http.Request, rd string) {
	t, _, err := h.Proxies.CheckReturn(r.Context(), rd, !h.cookies.secure)
	if errors.Is(err, forwardauth.ErrReturnRefused) {
		h.returnRefused(w, r)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: h.cookies.rd, Value: base64.RawURLEncoding.EncodeToString([]byte(t.URL.String())),
		Path: "/", MaxAge: 1800, Secure: h.cookies.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	h.clearCookie(w, h.cookies.app) // one sign-in under way at a time
	http.Redirect(w, r, proxyPath, http.StatusSeeOther)
}

func (h *handler) returnRefused(w http.ResponseWriter, r *http.Request) {
	h.clearCookie(w, h.cookies.rd)
	h.renderStatus(w, r, http.StatusBadRequest, "error", errorPage{Title: "Return address refused",
		Message: "This sign-in link would send you on to a site that is not an app protected by Twofold, so it was refused. " +
			"Open the app you wanted again, or sign in at the start page."})
}

// proxyReturn reads and re-checks the return URL of the cookie, from
// current data (the app may have been removed since).
func (h *handler) proxyReturn(w http.ResponseWriter, r *http.Request) (forwardauth.Target, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(cookie(r, h.cookies.rd))
	if err != nil || len(raw) == 0 {
		h.returnRefused(w, r)
		return forwardauth.Target{}, false
	}
	t, _, err := h.Proxies.CheckReturn(r.Context(), string(raw), !h.cookies.secure)
	if errors.Is(err, forwardauth.ErrReturnRefused) {
		h.returnRefused(w, r)
		return forwardauth.Target{}, false
	}
	if err != nil {
		h.fail(w, r, err)
		return forwardauth.Target{}, false
	}
	return t, true
}

// proxyContinue is where a sign-in for a protected app lands.
func (h *handler) proxyContinue(w http.ResponseWriter, r *http.Request) {
	t, ok := h.proxyReturn(w, r)
	if !ok {
		return
	}
	p, err := h.principal(r)
	switch {
	case err == nil && p.Lacks != nil:
		res, err := h.Signin.Resume(r.Context(), p, h.Client(r))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.clearCookie(w, h.cookies.session)
		h.proceed(w, r, res)
		return
	case errors.Is(err, signin.ErrUnauthenticated):
		h.proxyStep(w, r, t, nil, nil)
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	h.proxyStep(w, r, t, &p, nil)
}

// proxyStep decides for the return URL t and shows what comes next.
func (h *handler) proxyStep(w http.ResponseWriter, r *http.Request, t forwardauth.Target, p *signin.Principal, failed error) {
	d, err := h.Proxies.Decide(r.Context(), t, p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	pg := appPage{Base: proxyPath, Client: d.Client.Name}
	switch d.Verdict {
	case forwardauth.Allow:
		h.Proxies.RecordReturn(r.Context(), d, t, *p, h.Client(r))
		h.clearCookie(w, h.cookies.rd)
		// An interstitial, as for OpenID Connect apps: after a form, a
		// redirect to the app's origin would break form-action 'self'.
		pg.Kind, pg.Redirect = "continue", t.URL.String()
		h.render(w, r, "app", pg)
	case forwardauth.SignIn:
		lp := h.loginPageFor(r)
		lp.Notice = "Sign in to continue to " + d.Client.Name + "."
		h.render(w, r, "login", lp)
	case forwardauth.StepUp:
		pg.Kind = "confirm"
		status := http.StatusOK
		if failed != nil {
			pe := h.public(r, failed)
			pg.Err, status = newFormErr("app", pe, h.Now(), "code"), pe.HTTPStatus()
		}
		h.renderStatus(w, r, status, "app", pg)
	case forwardauth.Enroll:
		pg.Kind = "enroll"
		h.render(w, r, "app", pg)
	case forwardauth.Unsatisfiable:
		h.clearCookie(w, h.cookies.rd)
		h.renderStatus(w, r, http.StatusForbidden, "error", errorPage{Title: "A security key is needed",
			Message: d.Client.Name + " asks for a phishing-resistant sign-in (a security key or passkey). " +
				"Twofold cannot check those yet, so this part of " + d.Client.Name + " cannot be opened. Ask your administrator."})
	default: // Forbidden, UnknownHost
		if p != nil && d.Verdict == forwardauth.Forbidden {
			h.Proxies.RecordReturn(r.Context(), d, t, *p, h.Client(r))
		}
		h.clearCookie(w, h.cookies.rd)
		h.renderStatus(w, r, http.StatusForbidden, "error", errorPage{Title: "Not allowed",
			Message: "Your account may not open this part of " + cmp.Or(d.Client.Name, "that app") + "."})
	}
}

// proxyConfirm checks the fresh second factor a rule asked for, on the
// session in place (its token stays: the parent-domain cookie the proxies
// see does not change), and decides again.
func (h *handler) proxyConfirm(w http.ResponseWriter, r *http.Request) {
	t, ok := h.proxyReturn(w, r)
	if !ok {
		return
	}
	p, err := h.principal(r)
	if err != nil || p.Lacks != nil {
		http.Redirect(w, r, proxyPath, http.StatusSeeOther)
		return
	}
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.limit(h.codeIP, r); err != nil {
		h.proxyStep(w, r, t, &p, err)
		return
	}
	sess, err := h.Signin.ConfirmInPlace(r.Context(), p, r.PostForm.Get("code"), h.Client(r))
	if err != nil {
		h.proxyStep(w, r, t, &p, err)
		return
	}
	p.Session = sess
	h.proxyStep(w, r, t, &p, nil)
}
