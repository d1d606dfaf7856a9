package web

import (
	"net/http"

	"github.com/twofold-id/twofold/internal/normalize"
	"github.com/twofold-id/twofold/internal/signin"
)

// The email confirmation link (/confirm-email?token=…) and the security
// page's "send confirmation mail".
//
// A GET only shows a button: mail scanners and link previews fetch links
// before people click them, and such a fetch must not use up the link.
// The POST of that button consumes the token.

// confirmEmailPage is the page behind a confirmation link.
type confirmEmailPage struct {
	Token   string
	Done    bool
	Address string // masked, once confirmed
	Err     *formErr
}

func (confirmEmailPage) title() string { return "Confirm your email address" }

func (h *handler) confirmEmailForm(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	if tok == "" {
		h.renderStatus(w, r, http.StatusBadRequest, "confirm_email", confirmEmailPage{
			Err: &formErr{Form: "confirm", Message: signin.ErrConfirmToken.Message}})
		return
	}
	h.render(w, r, "confirm_email", confirmEmailPage{Token: tok})
}

func (h *handler) confirmEmail(w http.ResponseWriter, r *http.Request) {
	pg := confirmEmailPage{}
	fail := func(err error) {
		p := h.public(r, err)
		pg.Err = newFormErr("confirm", p, h.Now())
		h.renderStatus(w, r, p.HTTPStatus(), "confirm_email", pg)
	}
	if err := parseForm(r); err != nil {
		fail(err)
		return
	}
	if err := h.limit(h.codeIP, r); err != nil {
		pg.Token = r.PostForm.Get("token") // the link still works: let them retry
		fail(err)
		return
	}
	u, err := h.Signin.ConfirmEmail(r.Context(), r.PostForm.Get("token"), h.Client(r))
	if err != nil {
		fail(err)
		return
	}
	pg.Done, pg.Address = true, normalize.MaskEmail(u.Email)
	h.render(w, r, "confirm_email", pg)
}

// sendConfirmation mails the signed-in user a confirmation link
// (POST /security/email/confirmation).
func (h *handler) sendConfirmation(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	if !h.form(w, r) {
		return
	}
	if err := h.limit(h.codeIP, r); err != nil {
		h.securityFailed(w, r, p, "add-email", err)
		return
	}
	if err := h.Signin.SendEmailConfirmation(r.Context(), p.User.ID, p.User, h.Client(r)); err != nil {
		h.securityFailed(w, r, p, "add-email", err)
		return
	}
	done(w, r, "confirmsent")
}
