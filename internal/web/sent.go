package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/twofold-id/twofold/internal/factor"
	"github.com/twofold-id/twofold/internal/factor/methods"
	"github.com/twofold-id/twofold/internal/normalize"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// This file holds what the pages need for codes sent by email or text
// message (S14, S15): the "code sent to …" status with its countdowns, and
// the second step's "send the code" and "send a new code".

// isSent reports whether method is answered with a code the server sends.
func isSent(method string) bool { return factor.Sent(traitsOf(method)) }

// sentView is what a page says about the last code sent: where it went,
// how long it is valid, and when a new one may be asked for. Between
// requests the page carries it in hidden fields; it is only displayed,
// never trusted — the server checks every code against what it stored and
// answers resend_too_soon itself.
type sentView struct {
	To        string // masked address or number
	ExpiresAt time.Time
	ResendAt  time.Time
	now       time.Time
}

// newSentView describes a code just sent.
func newSentView(s signin.Sent, now time.Time) *sentView {
	return &sentView{To: s.SentTo, ExpiresAt: now.Add(s.ExpiresIn), ResendAt: now.Add(s.ResendIn), now: now}
}

// ExpiresIn is how long the code is still valid (0 once expired).
func (v *sentView) ExpiresIn() time.Duration { return max(v.ExpiresAt.Sub(v.now), 0) }

// ResendIn is how long until a new code may be asked for (0 when now).
func (v *sentView) ResendIn() time.Duration { return max(v.ResendAt.Sub(v.now), 0) }

// Exp and Resend are the hidden-field forms of the two instants.
func (v *sentView) Exp() int64    { return v.ExpiresAt.Unix() }
func (v *sentView) Resend() int64 { return v.ResendAt.Unix() }

// maxCarried bounds the durations a form may carry back: no code lives
// longer than ten minutes, and no wait between codes is longer either.
const maxCarried = 10 * time.Minute

// sentFromForm rebuilds the status from the hidden fields of a form, or
// returns nil when the form carries none. Values out of range are clamped.
func sentFromForm(f url.Values, now time.Time) *sentView {
	to := f.Get("sent_to")
	if to == "" || utf8.RuneCountInString(to) > 80 || !utf8.ValidString(to) {
		return nil
	}
	at := func(name string) time.Time {
		n, err := strconv.ParseInt(f.Get(name), 10, 64)
		if err != nil {
			return now
		}
		t := time.Unix(n, 0)
		if t.After(now.Add(maxCarried)) {
			return now.Add(maxCarried)
		}
		return t
	}
	return &sentView{To: to, ExpiresAt: at("sent_exp"), ResendAt: at("sent_resend"), now: now}
}

// maskTarget is the masked address or number of an email or sms factor.
func maskTarget(f store.Factor) string {
	switch traitsOf(f.Kind).Channel {
	case factor.ByEmail:
		return normalize.MaskEmail(f.Target)
	case factor.BySMS:
		return normalize.MaskPhone(f.Target)
	}
	return ""
}

// sentTargets returns, for each sent method u has confirmed, the masked
// address or number of its first factor of that kind. It is best effort:
// the pages work without it.
func (h *handler) sentTargets(ctx context.Context, u store.User) map[string]string {
	ov, err := h.Signin.Overview(ctx, u)
	if err != nil {
		return nil
	}
	m := map[string]string{}
	for _, f := range ov.Factors {
		if f.Confirmed() && isSent(f.Kind) && m[f.Kind] == "" {
			m[f.Kind] = maskTarget(f)
		}
	}
	return m
}

// verifySend sends the code of the chosen method for the second step
// (POST /login/verify/send), the first one or a new one, and shows the
// code field. A refusal (too soon, quota, delivery) is shown on the page
// the user came from.
func (h *handler) verifySend(w http.ResponseWriter, r *http.Request) {
	tok, info, ok := h.flow(w, r)
	if !ok {
		return
	}
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	if info.Kind == store.FlowEnroll {
		http.Redirect(w, r, "/login/enroll", http.StatusSeeOther)
		return
	}
	method := r.PostForm.Get("method")
	pg := verifyPageFor(info, method)
	pg.Targets = h.sentTargets(r.Context(), info.User)
	resend := r.PostForm.Get("resend") != ""
	if resend {
		pg.Sent = sentFromForm(r.PostForm, h.Now())
	}
	fail := func(err error) {
		p := h.public(r, err)
		form := "verify"
		if resend {
			form = "resend"
		}
		pg.Err = newFormErr(form, p, h.Now())
		h.renderStatus(w, r, p.HTTPStatus(), "verify", pg)
	}
	if pg.Method != method || !isSent(method) {
		fail(signin.ErrMethodUnavailable)
		return
	}
	if err := h.limit(h.codeIP, r); err != nil {
		fail(err)
		return
	}
	sent, err := h.Signin.Challenge(r.Context(), tok, method, "", h.Client(r))
	if err != nil {
		if errors.Is(err, signin.ErrInvalidFlow) {
			h.flowFailed(w, r, err)
			return
		}
		fail(err)
		return
	}
	pg.Sent = newSentView(sent, h.Now())
	h.render(w, r, "verify", pg)
}

// SendTo says where a code of method would go.
func (pg verifyPage) SendTo(method string) string { return sendToText(method, pg.Targets[method]) }

// SentHint is the hint under the field for a sent code.
func (pg verifyPage) SentHint() string { return sentHintText(pg.Method) }

func sendToText(method, to string) string {
	switch {
	case byEmail(method) && to != "":
		return "We send a code to " + to + "."
	case byEmail(method):
		return "We send a code to your email address."
	case to != "":
		return "We text a code to " + to + "."
	}
	return "We text a code to your phone."
}

func sentHintText(method string) string {
	if byEmail(method) {
		return "Check your inbox for a mail from Twofold with a 6-digit code. If it does not arrive or has expired, send a new one."
	}
	return "Check your phone for a text message with a 6-digit code. If it does not arrive or has expired, send a new one."
}

// sentPage asks for the code that confirms a new email or text-message
// factor, with "send a new code". It serves the wizard and the security
// settings.
type sentPage struct {
	User     *signin.Principal // nil in the wizard
	Method   string            // email or sms
	FactorID string
	Sent     *sentView
	Notice   string // the restricted-method notice, said once
	Action   string // where the code goes
	Resend   string // where "send a new code" goes
	Cancel   string
	Err      *formErr
}

func (pg sentPage) title() string {
	if byEmail(pg.Method) {
		return "Confirm your email address"
	}
	return "Confirm your phone number"
}
func (pg sentPage) principal() *signin.Principal { return pg.User }

// Heading is the page's title.
func (pg sentPage) Heading() string { return pg.title() }

// SentHint is the hint under the code field.
func (pg sentPage) SentHint() string { return sentHintText(pg.Method) }

// sentPageFrom rebuilds the page from the form it sent.
func sentPageFrom(r *http.Request, now time.Time) sentPage {
	m := r.PostForm.Get("method")
	if !isSent(m) {
		m = methods.Default.Kinds(bySMSTraits)[0]
	}
	return sentPage{Method: m, FactorID: r.PostForm.Get("factor_id"), Sent: sentFromForm(r.PostForm, now)}
}

// sentFailed re-renders the page with err on form ("sent" or "resend").
func (h *handler) sentFailed(w http.ResponseWriter, r *http.Request, pg sentPage, form string, err error) {
	p := h.public(r, err)
	pg.Err = newFormErr(form, p, h.Now(), "code")
	h.renderStatus(w, r, p.HTTPStatus(), "sent", pg)
}

// phoneField is the data of the phone-input partial.
type phoneField struct {
	ID    string
	Err   *fieldError
	Value string // kept input
}

// phoneInput builds a phone-number field.
func phoneInput(id string, fe *fieldError, value string) phoneField {
	return phoneField{ID: id, Err: fe, Value: value}
}

// sentRoutes registers the pages of codes sent by email or text message
// and of email confirmation links.
func (h *handler) sentRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /login/verify/send", h.verifySend)

	// Every method whose code is sent: /login/enroll/email, /security/sms …
	for _, kind := range methods.Default.Kinds(factor.Sent) {
		mux.HandleFunc("POST /login/enroll/"+kind, h.enrollSent(kind))
		mux.HandleFunc("POST /security/"+kind, h.authed(h.addSent(kind)))
	}
	mux.HandleFunc("POST /login/enroll/code", h.enrollCode)
	mux.HandleFunc("POST /login/enroll/resend", h.enrollResend)
	mux.HandleFunc("POST /login/enroll/confirm-email", h.enrollReconfirm)

	mux.HandleFunc("GET /security/factors/{id}/confirm", h.authed(h.confirmSentForm))
	mux.HandleFunc("POST /security/factors/{id}/confirm", h.authed(h.confirmSent))
	mux.HandleFunc("POST /security/factors/{id}/resend", h.authed(h.resendSent))
	mux.HandleFunc("POST /security/send-code/{method}", h.authed(h.sendCode))
	mux.HandleFunc("POST /security/reauth/send/{method}", h.authed(h.reauthSend))
	mux.HandleFunc("POST /security/email/confirmation", h.authed(h.sendConfirmation))

	mux.HandleFunc("GET /confirm-email", h.confirmEmailForm)
	mux.HandleFunc("POST /confirm-email", h.confirmEmail)
}
