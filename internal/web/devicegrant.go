package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/twofold-id/twofold/internal/oidc"
	"github.com/twofold-id/twofold/internal/ratelimit"
	"github.com/twofold-id/twofold/internal/signin"
)

// DeviceGrants is what the /device page needs from the OpenID Connect
// provider (RFC 8628): the pending request of a user code, and the user's
// decision. Apps implementations that also implement it get the page.
type DeviceGrants interface {
	DeviceRequest(ctx context.Context, userCode string) (oidc.DeviceRequestView, error)
	DecideDevice(ctx context.Context, p signin.Principal, userCode, name string, approve bool, c signin.Client) error
}

// devicePage is the /device page: a user code form, then the request it
// names with Approve and Deny, then the outcome.
type devicePage struct {
	User     *signin.Principal
	UserCode string
	Request  *oidc.DeviceRequestView
	Done     string // "approved", "denied"
	Err      *formErr
}

func (devicePage) title() string                   { return "Connect a device" }
func (pg devicePage) principal() *signin.Principal { return pg.User }

// devicePages serves /device. User codes are looked up at most 10 times a
// minute per address (20 at once), so that the short codes cannot be
// guessed; each code also expires with its request.
type devicePages struct {
	h     *handler
	dg    DeviceGrants
	limit *ratelimit.IPLimiter
}

// deviceGrantRoutes registers /device when the provider offers the device
// authorization grant.
func (h *handler) deviceGrantRoutes(mux *http.ServeMux) {
	dg, ok := h.Apps.(DeviceGrants)
	if !ok {
		return
	}
	d := devicePages{h: h, dg: dg, limit: ratelimit.NewIPLimiter(10, 20, h.Now)}
	mux.HandleFunc("GET "+oidc.DevicePath, d.show)
	mux.HandleFunc("POST "+oidc.DevicePath, h.authed(d.decide))
}

// deviceCookie keeps a user code through sign-in (only the code, which is
// worthless without a signed-in user who approves it).
func (h *handler) deviceCookie() string {
	if h.cookies.secure {
		return "__Host-twofold_device"
	}
	return "twofold_device"
}

// cleanUserCode keeps only what a user code can hold.
func cleanUserCode(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) > 16 {
		return ""
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r == '-') {
			return ""
		}
	}
	return s
}

// show asks for a user code, or shows the request of the given one. A
// browser that is not signed in keeps the code in a cookie and signs in
// first (with both factors, or the setup wizard when policy requires one);
// the sign-in lands back here (landing).
func (d devicePages) show(w http.ResponseWriter, r *http.Request) {
	h := d.h
	code := cleanUserCode(r.URL.Query().Get("user_code"))
	if code == "" {
		code = cleanUserCode(cookie(r, h.deviceCookie()))
	}
	p, err := h.principal(r)
	if err != nil && code == "" {
		h.render(w, r, "device", devicePage{}) // the code first, then the sign-in
		return
	}
	if err != nil || p.Lacks != nil {
		if code != "" {
			http.SetCookie(w, &http.Cookie{Name: h.deviceCookie(), Value: code, Path: "/", MaxAge: 900,
				Secure: h.cookies.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode})
		}
		h.authed(func(w http.ResponseWriter, r *http.Request, p signin.Principal) { d.render(w, r, p, code) })(w, r)
		return
	}
	d.render(w, r, p, code)
}

func (d devicePages) render(w http.ResponseWriter, r *http.Request, p signin.Principal, code string) {
	h := d.h
	h.clearCookie(w, h.deviceCookie())
	pg := devicePage{User: &p, UserCode: code}
	if code != "" {
		if err := h.limit(d.limit, r); err != nil {
			pe := h.public(r, err)
			pg.Err = newFormErr("device", pe, h.Now())
			h.renderStatus(w, r, pe.HTTPStatus(), "device", pg)
			return
		}
		req, err := d.dg.DeviceRequest(r.Context(), code)
		if err != nil {
			pe := h.public(r, err)
			pg.Err = newFormErr("device", pe, h.Now(), "user_code")
			h.renderStatus(w, r, pe.HTTPStatus(), "device", pg)
			return
		}
		pg.Request = &req
	}
	h.render(w, r, "device", pg)
}

// decide records Approve or Deny for the code of the form.
func (d devicePages) decide(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	h := d.h
	if !h.form(w, r) {
		return
	}
	code := cleanUserCode(r.PostForm.Get("user_code"))
	if err := h.limit(d.limit, r); err != nil {
		pe := h.public(r, err)
		h.renderStatus(w, r, pe.HTTPStatus(), "device", devicePage{User: &p, UserCode: code, Err: newFormErr("device", pe, h.Now())})
		return
	}
	approve := r.PostForm.Get("decision") == "approve"
	if err := d.dg.DecideDevice(r.Context(), p, code, strings.TrimSpace(r.PostForm.Get("name")), approve, h.Client(r)); err != nil {
		pe := h.public(r, err)
		h.renderStatus(w, r, pe.HTTPStatus(), "device", devicePage{User: &p, UserCode: code, Err: newFormErr("device", pe, h.Now(), "user_code")})
		return
	}
	done := "denied"
	if approve {
		done = "approved"
	}
	h.render(w, r, "device", devicePage{User: &p, Done: done})
}
