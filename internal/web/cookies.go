package web

import (
	"net/http"
	"time"
)

// cookieNames are the names of the portal's cookies.
//
// Over TLS the secret cookies carry the __Host- prefix, which makes the
// browser insist on Secure, Path=/ and no Domain: a sibling subdomain or a
// plain-HTTP page cannot plant or overwrite them. Browsers refuse to store a
// __Host- cookie without Secure, and Secure cookies are not sent over plain
// HTTP, so when the portal is served without TLS (local development, or
// tests over httptest) the same cookies go without the prefix and without
// Secure. SecureCookies in Deps selects the variant.
//
// With a cookie domain (Deps.CookieDomain, for forward-auth) the session
// cookie alone is scoped to that parent domain, so that the proxies of
// protected apps on its subdomains receive it: a __Host- cookie cannot
// carry a Domain, so over TLS it is named __Secure-twofold_session (the
// browser still insists on Secure). The flow, org, app and return cookies
// stay __Host- cookies of the portal. See docs/forward-auth.md for what a
// parent-domain cookie means.
type cookieNames struct {
	session string // the session token; SameSite=Lax
	flow    string // the sign-in flow token between the password and the second step; SameSite=Strict
	org     string // the last used org slug; not secret
	app     string // the id of an app sign-in under way (apps.go); SameSite=Lax
	rd      string // where to send the browser back to after a forward-auth sign-in (proxy.go); SameSite=Lax
	domain  string // the session cookie's Domain; "" for a host-only cookie
	secure  bool
}

func newCookieNames(secure bool, domain string) cookieNames {
	c := cookieNames{session: "twofold_session", flow: "twofold_flow", org: "twofold_org", app: "twofold_app", rd: "twofold_rd"}
	if secure {
		c = cookieNames{session: "__Host-twofold_session", flow: "__Host-twofold_flow", org: "__Host-twofold_org",
			app: "__Host-twofold_app", rd: "__Host-twofold_rd", secure: true}
	}
	if domain != "" {
		c.domain = domain
		if secure {
			c.session = "__Secure-twofold_session"
		}
	}
	return c
}

// SessionCookieName is the name of the portal's session cookie for the
// given settings (for tests and tools that talk to the portal).
func SessionCookieName(secure bool, domain string) string {
	return newCookieNames(secure, domain).session
}

// setSession stores a session token. The cookie lives as long as the
// browser session; the server enforces the idle and absolute timeouts.
func (h *handler) setSession(w http.ResponseWriter, tok string) {
	http.SetCookie(w, &http.Cookie{Name: h.cookies.session, Value: tok, Path: "/", Domain: h.cookies.domain,
		Secure: h.cookies.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// setFlow stores a sign-in flow token until it expires.
func (h *handler) setFlow(w http.ResponseWriter, tok string, expires time.Time) {
	age := int(expires.Sub(h.Now()).Seconds())
	if age < 1 {
		age = 1
	}
	http.SetCookie(w, &http.Cookie{Name: h.cookies.flow, Value: tok, Path: "/", MaxAge: age,
		Secure: h.cookies.secure, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// rememberOrg keeps the org slug for a year so the sign-in form is
// prefilled next time.
func (h *handler) rememberOrg(w http.ResponseWriter, slug string) {
	http.SetCookie(w, &http.Cookie{Name: h.cookies.org, Value: slug, Path: "/", MaxAge: 365 * 24 * 3600,
		Secure: h.cookies.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// clearCookie deletes one of the portal's cookies.
func (h *handler) clearCookie(w http.ResponseWriter, name string) {
	sameSite := http.SameSiteLaxMode
	if name == h.cookies.flow {
		sameSite = http.SameSiteStrictMode
	}
	domain := ""
	if name == h.cookies.session {
		domain = h.cookies.domain
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", Domain: domain, MaxAge: -1,
		Secure: h.cookies.secure, HttpOnly: true, SameSite: sameSite})
}

// cookie returns the value of a cookie of r, or "".
func cookie(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}
