package web

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/twofold-id/twofold/internal/factor/totp"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// The security settings' email and text-message parts: adding either
// method (a code is sent at once), confirming a pending one or sending it
// a new code, and "send me a code" beside every field that asks for a
// current code, for users whose codes come by email or text message.

// sendMethods lists the sent methods a user can ask a code by: the kinds
// of their confirmed email and sms factors.
func sendMethods(ov signin.Overview) []string {
	var m []string
	for _, f := range ov.Factors {
		if f.Confirmed() && isSent(f.Kind) && !slices.Contains(m, f.Kind) {
			m = append(m, f.Kind)
		}
	}
	slices.Sort(m) // email before sms
	return m
}

// Allows reports whether the user may set up method on this server.
func (pg securityPage) Allows(method string) bool {
	return slices.Contains(pg.Overview.AllowedMethods, method)
}

// HasEmailFactor reports whether codes by email are set up already.
func (pg securityPage) HasEmailFactor() bool {
	return slices.ContainsFunc(pg.Overview.Factors, func(f store.Factor) bool {
		return byEmail(f.Kind) && f.Confirmed()
	})
}

// IsSent reports whether a factor's codes are sent by the server.
func (securityPage) IsSent(f store.Factor) bool { return isSent(f.Kind) }

// Target is the masked address or number of an email or sms factor.
func (securityPage) Target(f store.Factor) string { return maskTarget(f) }

// sendCodeButtons is the data of the send-code partial: the buttons for
// one form, and the code just sent for it.
type sendCodeButtons struct {
	For     string
	Methods []string
	Sent    *sentView
}

// SendCode returns the send-code buttons of one form.
func (pg securityPage) SendCode(form string) sendCodeButtons {
	b := sendCodeButtons{For: form, Methods: pg.SendMethods}
	if pg.SentFor == form {
		b.Sent = pg.Sent
	}
	return b
}

// SentTo reports whether a code was just sent for form.
func (pg securityPage) SentTo(form string) bool { return pg.Sent != nil && pg.SentFor == form }

// codeForms are the forms of the security page that ask for a current
// code, besides remove-{factor id}.
var codeForms = []string{"regenerate", "disable", "password"}

// sendCode sends a code by email or text message for one of the forms that
// ask for a current code (POST /security/send-code/{method}, for=<form>),
// and shows the page again with "code sent" on that form.
func (h *handler) sendCode(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	if !h.form(w, r) {
		return
	}
	form := r.PostForm.Get("for")
	if !slices.Contains(codeForms, form) && !strings.HasPrefix(form, "remove-") {
		form = "regenerate"
	}
	if err := h.limit(h.codeIP, r); err != nil {
		h.securityFailed(w, r, p, form, err)
		return
	}
	sent, err := h.Signin.RequestCode(r.Context(), p, r.PathValue("method"), "", h.Client(r))
	if err != nil {
		h.securityFailed(w, r, p, form, err)
		return
	}
	pg, err := h.securityPageFor(r, &p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	pg.SentFor, pg.Sent = form, newSentView(sent, h.Now())
	h.render(w, r, "security", pg)
}

// addSent starts an email factor (POST /security/email) or a text-message
// factor (POST /security/sms, with the phone number).
func (h *handler) addSent(kind string) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, p signin.Principal) {
		if !h.form(w, r) {
			return
		}
		h.startSent(w, r, p, kind, strings.TrimSpace(r.PostForm.Get("phone")), r.PostForm.Get("label"))
	}
}

// startSent creates a pending email or sms factor, which sends its code,
// and asks for that code; when the session's last code check is too old
// it asks for a current code first.
func (h *handler) startSent(w http.ResponseWriter, r *http.Request, p signin.Principal, kind, phone, label string) {
	if err := h.limit(h.codeIP, r); err != nil {
		h.securityFailed(w, r, p, "add-"+kind, err, "phone")
		return
	}
	sent, err := h.Signin.StartSentFactor(r.Context(), p, kind, phone, label, h.Client(r))
	if errors.Is(err, signin.ErrReauthRequired) {
		h.render(w, r, "reauth", h.reauthPageFor(r, p, reauthPage{Label: label, Kind: kind, Phone: phone}))
		return
	}
	if err != nil {
		h.securityFailed(w, r, p, "add-"+kind, err, "phone")
		return
	}
	h.render(w, r, "sent", securitySentPage(p, kind, sent.FactorID, newSentView(sent, h.Now()), sent.Notice))
}

func securitySentPage(p signin.Principal, kind, factorID string, sv *sentView, notice string) sentPage {
	base := "/security/factors/" + factorID
	return sentPage{User: &p, Method: kind, FactorID: factorID, Sent: sv, Notice: notice,
		Action: base + "/confirm", Resend: base + "/resend", Cancel: "/security"}
}

// pendingSent returns the user's pending email or sms factor with id.
func (h *handler) pendingSent(r *http.Request, p signin.Principal, id string) (store.Factor, error) {
	ov, err := h.Signin.Overview(r.Context(), p.User)
	if err != nil {
		return store.Factor{}, err
	}
	for _, f := range ov.Factors {
		if f.ID == id && isSent(f.Kind) {
			if f.Confirmed() {
				return store.Factor{}, signin.ErrFactorNotPending
			}
			return f, nil
		}
	}
	return store.Factor{}, signin.ErrNotFound
}

// confirmSentForm shows the code field of a pending factor
// (GET /security/factors/{id}/confirm). Nothing is sent.
func (h *handler) confirmSentForm(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	f, err := h.pendingSent(r, p, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, "sent", securitySentPage(p, f.Kind, f.ID, nil, ""))
}

// confirmSent activates a pending factor with its code
// (POST /security/factors/{id}/confirm).
func (h *handler) confirmSent(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	if !h.form(w, r) {
		return
	}
	id := r.PathValue("id")
	pg := sentPageFrom(r, h.Now())
	pg = securitySentPage(p, pg.Method, id, pg.Sent, "")
	if err := h.limit(h.codeIP, r); err != nil {
		h.sentFailed(w, r, pg, "sent", err)
		return
	}
	codes, err := h.Signin.ConfirmFactor(r.Context(), p, id, r.PostForm.Get("code"), h.Client(r))
	if err != nil {
		h.sentFailed(w, r, pg, "sent", err)
		return
	}
	if len(codes) == 0 {
		done(w, r, "methodadded")
		return
	}
	h.render(w, r, "codes", newCodesPage(&p, codes, "/security"))
}

// resendSent sends a pending factor a new code
// (POST /security/factors/{id}/resend).
func (h *handler) resendSent(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	if !h.form(w, r) {
		return
	}
	id := r.PathValue("id")
	pg := sentPageFrom(r, h.Now())
	if f, err := h.pendingSent(r, p, id); err == nil {
		pg.Method = f.Kind
	}
	pg = securitySentPage(p, pg.Method, id, pg.Sent, "")
	if err := h.limit(h.codeIP, r); err != nil {
		h.sentFailed(w, r, pg, "resend", err)
		return
	}
	sent, err := h.Signin.ResendConfirmation(r.Context(), p, id, h.Client(r))
	if err != nil {
		h.sentFailed(w, r, pg, "resend", err)
		return
	}
	pg.Sent = newSentView(sent, h.Now())
	h.render(w, r, "sent", pg)
}

// reauthPageFor fills in what the re-authentication page needs besides
// what it carries: the methods the user can ask a code by.
func (h *handler) reauthPageFor(r *http.Request, p signin.Principal, pg reauthPage) reauthPage {
	pg.User = &p
	if ov, err := h.Signin.Overview(r.Context(), p.User); err == nil {
		pg.SendMethods = sendMethods(ov)
	}
	return pg
}

// reauthSend sends a code for the re-authentication page
// (POST /security/reauth/send/{method}).
func (h *handler) reauthSend(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	if !h.form(w, r) {
		return
	}
	pg := h.reauthPageFor(r, p, reauthPageFrom(r))
	fail := func(err error) {
		pe := h.public(r, err)
		pg.Err = newFormErr("reauth", pe, h.Now())
		h.renderStatus(w, r, pe.HTTPStatus(), "reauth", pg)
	}
	if err := h.limit(h.codeIP, r); err != nil {
		fail(err)
		return
	}
	sent, err := h.Signin.RequestCode(r.Context(), p, r.PathValue("method"), "", h.Client(r))
	if err != nil {
		fail(err)
		return
	}
	pg.Sent = newSentView(sent, h.Now())
	h.render(w, r, "reauth", pg)
}

// reauthPageFrom reads what the re-authentication form carries on.
func reauthPageFrom(r *http.Request) reauthPage {
	kind := r.PostForm.Get("kind")
	if !isSent(kind) {
		kind = totp.Kind
	}
	return reauthPage{Label: r.PostForm.Get("label"), Kind: kind, Phone: strings.TrimSpace(r.PostForm.Get("phone"))}
}

// CodeHint is the hint under the fields that ask for a current code.
func (pg securityPage) CodeHint() string { return codeHint(pg.SendMethods) }

// CodeHint is the hint under the re-authentication code field.
func (pg reauthPage) CodeHint() string { return codeHint(pg.SendMethods) }

func codeHint(send []string) string {
	if len(send) == 0 {
		return "From any of your authenticators, or a backup code."
	}
	return "From your authenticator app, a code we send you (ask for it with the button), or a backup code."
}
