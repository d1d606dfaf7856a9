package web

import (
	"net/http"
	"strings"

	"github.com/twofold-id/twofold/internal/signin"
)

// "Forgot password": /forgot-password asks for a link, /reset-password?token=…
// uses it. As with confirmation links, a GET of the link only shows the form
// (mail scanners fetch links); only the form's POST spends it.

// forgotPage asks for a reset link.
type forgotPage struct {
	Org  string
	Sent bool // the request was taken (said the same way for every name)
	Err  *formErr
	Lang string // see i18n.go
}

func (p forgotPage) title() string    { return tr(p.Lang, "forgot.title") }
func (p forgotPage) language() string { return p.Lang }

func (h *handler) forgotForm(w http.ResponseWriter, r *http.Request) {
	org := strings.TrimSpace(r.URL.Query().Get("org"))
	if org == "" {
		org = cookie(r, h.cookies.org)
	}
	h.render(w, r, "forgot_password", forgotPage{Org: org, Lang: requestLang(r)})
}

func (h *handler) forgot(w http.ResponseWriter, r *http.Request) {
	pg := forgotPage{Lang: requestLang(r)}
	fail := func(err error) {
		p := h.public(r, err)
		pg.Err = localErr(pg.Lang, newFormErr("forgot", p, h.Now(), "org", "login"))
		h.renderStatus(w, r, p.HTTPStatus(), "forgot_password", pg)
	}
	if err := parseForm(r); err != nil {
		fail(err)
		return
	}
	pg.Org = strings.TrimSpace(r.PostForm.Get("org"))
	login := strings.TrimSpace(r.PostForm.Get("login"))
	switch {
	case pg.Org == "":
		fail(signin.ErrInvalidInput.WithMessage("Enter your organization.").WithField("org"))
		return
	case login == "":
		fail(signin.ErrInvalidInput.WithMessage("Enter your username or email address.").WithField("login"))
		return
	}
	if err := h.limit(h.loginIP, r); err != nil {
		fail(err)
		return
	}
	// The answer is the same, and comes at once, whatever the name: the
	// lookup and the mail happen after it.
	h.Signin.RequestPasswordReset(r.Context(), pg.Org, login, h.Client(r))
	pg.Sent = true
	h.render(w, r, "forgot_password", pg)
}

// resetPage sets a new password through a reset link.
type resetPage struct {
	Token    string
	Username string
	OrgName  string
	// NeedsCode is set when the account has a second factor; SendBy lists
	// the kinds of code that can be sent for the reset (email, sms).
	NeedsCode bool
	SendBy    []sendOption
	Notice    string
	Err       *formErr
	Lang      string // see i18n.go
}

func (p resetPage) title() string    { return tr(p.Lang, "reset.title") }
func (p resetPage) language() string { return p.Lang }

func (h *handler) resetPageFor(r *http.Request, tok string) (resetPage, error) {
	ri, err := h.Signin.PasswordResetInfo(r.Context(), tok)
	if err != nil {
		return resetPage{}, err
	}
	pg := resetPage{Token: tok, Username: ri.User.Username, OrgName: ri.Org.Name, NeedsCode: ri.NeedsCode(), Lang: requestLang(r)}
	for _, m := range ri.Methods {
		if isSent(m) {
			pg.SendBy = append(pg.SendBy, sendOption{Kind: m, ByEmail: byEmail(m)})
		}
	}
	return pg, nil
}

// sendOption is a "send me a code" button of the reset page.
type sendOption struct {
	Kind    string
	ByEmail bool // else by text message
}

// resetInvalid shows the page of a link that does not work (any more).
func (h *handler) resetInvalid(w http.ResponseWriter, r *http.Request, err error) {
	p, lang := h.public(r, err), requestLang(r)
	h.renderStatus(w, r, p.HTTPStatus(), "reset_password", resetPage{Lang: lang, Err: localErr(lang, newFormErr("reset", p, h.Now()))})
}

func (h *handler) resetForm(w http.ResponseWriter, r *http.Request) {
	pg, err := h.resetPageFor(r, r.URL.Query().Get("token"))
	if err != nil {
		h.resetInvalid(w, r, err)
		return
	}
	h.render(w, r, "reset_password", pg)
}

func (h *handler) reset(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		h.resetInvalid(w, r, err)
		return
	}
	tok := r.PostForm.Get("token")
	pg, err := h.resetPageFor(r, tok)
	if err != nil {
		h.resetInvalid(w, r, err)
		return
	}
	fail := func(err error) {
		p := h.public(r, err)
		pg.Err = localErr(pg.Lang, newFormErr("reset", p, h.Now(), "new_password", "code"))
		h.renderStatus(w, r, p.HTTPStatus(), "reset_password", pg)
	}
	if err := h.limit(h.codeIP, r); err != nil {
		fail(err)
		return
	}
	pw := r.PostForm.Get("new_password")
	if pw != r.PostForm.Get("confirm_password") {
		fail(signin.ErrInvalidInput.WithMessage("The two passwords are not the same.").WithField("new_password"))
		return
	}
	if err := h.Signin.ConfirmPasswordReset(r.Context(), tok, pw, signin.MethodAny, r.PostForm.Get("code"), h.Client(r)); err != nil {
		fail(err)
		return
	}
	http.Redirect(w, r, "/login?msg=reset", http.StatusSeeOther)
}

// resetCode sends a code by email or text message for the reset.
func (h *handler) resetCode(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		h.resetInvalid(w, r, err)
		return
	}
	tok := r.PostForm.Get("token")
	pg, err := h.resetPageFor(r, tok)
	if err != nil {
		h.resetInvalid(w, r, err)
		return
	}
	fail := func(err error) {
		p := h.public(r, err)
		pg.Err = localErr(pg.Lang, newFormErr("reset", p, h.Now()))
		h.renderStatus(w, r, p.HTTPStatus(), "reset_password", pg)
	}
	if err := h.limit(h.codeIP, r); err != nil {
		fail(err)
		return
	}
	sent, err := h.Signin.PasswordResetCode(r.Context(), tok, r.PostForm.Get("method"), "", h.Client(r))
	if err != nil {
		fail(err)
		return
	}
	pg.Notice = tr(pg.Lang, "reset.sent", "To", sent.SentTo)
	h.render(w, r, "reset_password", pg)
}
