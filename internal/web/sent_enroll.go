package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/twofold-id/twofold/internal/signin"
)

// The forced setup wizard's email and text-message steps: start the
// factor (a code is sent at once), type the code or ask for a new one,
// then the backup codes as for an authenticator app.

// enrollSent starts an email factor (POST /login/enroll/email) or a
// text-message factor (POST /login/enroll/sms, with the phone number).
func (h *handler) enrollSent(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, info, ok := h.enrollFlow(w, r)
		if !ok {
			return
		}
		if err := parseForm(r); err != nil {
			h.fail(w, r, err)
			return
		}
		phone := strings.TrimSpace(r.PostForm.Get("phone"))
		fail := func(err error) {
			p := h.public(r, err)
			pg := enrollPageFor(info)
			pg.Phone = phone
			pg.Err = newFormErr("enroll-"+kind, p, h.Now(), "phone")
			h.renderStatus(w, r, p.HTTPStatus(), "enroll", pg)
		}
		if err := h.limit(h.codeIP, r); err != nil {
			fail(err)
			return
		}
		sent, err := h.Signin.EnrollSent(r.Context(), tok, kind, phone, "", h.Client(r))
		if err != nil {
			if errors.Is(err, signin.ErrInvalidFlow) {
				h.flowFailed(w, r, err)
				return
			}
			fail(err)
			return
		}
		h.render(w, r, "sent", sentPage{Method: kind, FactorID: sent.FactorID, Sent: newSentView(sent, h.Now()), Notice: sent.Notice,
			Action: "/login/enroll/code", Resend: "/login/enroll/resend", Cancel: "/login/enroll"})
	}
}

// enrollCode confirms the pending factor with the code it was sent and
// signs the user in (POST /login/enroll/code).
func (h *handler) enrollCode(w http.ResponseWriter, r *http.Request) {
	tok, _, ok := h.enrollFlow(w, r)
	if !ok {
		return
	}
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	pg := sentPageFrom(r, h.Now())
	pg.Action, pg.Resend, pg.Cancel = "/login/enroll/code", "/login/enroll/resend", "/login/enroll"
	if err := h.limit(h.codeIP, r); err != nil {
		h.sentFailed(w, r, pg, "sent", err)
		return
	}
	res, err := h.Signin.EnrollConfirm(r.Context(), tok, pg.FactorID, r.PostForm.Get("code"), h.Client(r))
	if err != nil {
		if errors.Is(err, signin.ErrInvalidFlow) {
			h.flowFailed(w, r, err)
			return
		}
		h.sentFailed(w, r, pg, "sent", err)
		return
	}
	h.enrolled(w, r, res)
}

// enrollResend sends a new code for the pending factor
// (POST /login/enroll/resend).
func (h *handler) enrollResend(w http.ResponseWriter, r *http.Request) {
	tok, _, ok := h.enrollFlow(w, r)
	if !ok {
		return
	}
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	pg := sentPageFrom(r, h.Now())
	pg.Action, pg.Resend, pg.Cancel = "/login/enroll/code", "/login/enroll/resend", "/login/enroll"
	if err := h.limit(h.codeIP, r); err != nil {
		h.sentFailed(w, r, pg, "resend", err)
		return
	}
	sent, err := h.Signin.EnrollResend(r.Context(), tok, pg.FactorID, h.Client(r))
	if err != nil {
		if errors.Is(err, signin.ErrInvalidFlow) {
			h.flowFailed(w, r, err)
			return
		}
		h.sentFailed(w, r, pg, "resend", err)
		return
	}
	pg.Sent = newSentView(sent, h.Now())
	h.render(w, r, "sent", pg)
}

// enrollReconfirm mails the confirmation link again, so email can be
// offered once the address is confirmed (POST /login/enroll/confirm-email).
func (h *handler) enrollReconfirm(w http.ResponseWriter, r *http.Request) {
	_, info, ok := h.enrollFlow(w, r)
	if !ok {
		return
	}
	pg := enrollPageFor(info)
	if err := h.limit(h.codeIP, r); err != nil {
		p := h.public(r, err)
		pg.Err = newFormErr("reconfirm", p, h.Now())
		h.renderStatus(w, r, p.HTTPStatus(), "enroll", pg)
		return
	}
	if err := h.Signin.SendEmailConfirmation(r.Context(), info.User.ID, info.User, h.Client(r)); err != nil {
		p := h.public(r, err)
		pg.Err = newFormErr("reconfirm", p, h.Now())
		h.renderStatus(w, r, p.HTTPStatus(), "enroll", pg)
		return
	}
	pg.Notice = "We sent the confirmation mail again. Open its link, then sign in again to use email."
	h.render(w, r, "enroll", pg)
}
