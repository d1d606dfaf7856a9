package web

import (
	"net/http"
	"strings"

	"github.com/twofold-id/twofold/internal/signin"
)

// The invitation link (/invitation?token=…): the invitee chooses a username
// and password; the account is opened by the form's POST (a GET only shows
// the form, so link previews spend nothing), and the browser goes on like
// after a correct password — home, or the setup of a second factor when
// the org requires one.

// invitePage opens an invited account.
type invitePage struct {
	Token    string
	OrgName  string
	Email    string
	Name     string
	Username string
	Err      *formErr
}

func (invitePage) title() string { return "Open your account" }

func (h *handler) invitePageFor(r *http.Request, tok string) (invitePage, error) {
	inv, org, err := h.Signin.InvitationInfo(r.Context(), tok)
	if err != nil {
		return invitePage{}, err
	}
	return invitePage{Token: tok, OrgName: org.Name, Email: inv.Email, Name: inv.Name}, nil
}

func (h *handler) inviteInvalid(w http.ResponseWriter, r *http.Request, err error) {
	p := h.public(r, err)
	h.renderStatus(w, r, p.HTTPStatus(), "invitation", invitePage{Err: newFormErr("invite", p, h.Now())})
}

func (h *handler) inviteForm(w http.ResponseWriter, r *http.Request) {
	pg, err := h.invitePageFor(r, r.URL.Query().Get("token"))
	if err != nil {
		h.inviteInvalid(w, r, err)
		return
	}
	h.render(w, r, "invitation", pg)
}

func (h *handler) acceptInvite(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		h.inviteInvalid(w, r, err)
		return
	}
	tok := r.PostForm.Get("token")
	pg, err := h.invitePageFor(r, tok)
	if err != nil {
		h.inviteInvalid(w, r, err)
		return
	}
	pg.Username = strings.TrimSpace(r.PostForm.Get("username"))
	fail := func(err error) {
		p := h.public(r, err)
		if p.Field == "password" {
			p = p.WithField("new_password")
		}
		pg.Err = newFormErr("invite", p, h.Now(), "username", "new_password")
		h.renderStatus(w, r, p.HTTPStatus(), "invitation", pg)
	}
	if err := h.limit(h.loginIP, r); err != nil {
		fail(err)
		return
	}
	pw := r.PostForm.Get("new_password")
	if pw != r.PostForm.Get("confirm_password") {
		fail(signin.ErrInvalidInput.WithMessage("The two passwords are not the same.").WithField("new_password"))
		return
	}
	res, err := h.Signin.AcceptInvitation(r.Context(), tok, pg.Username, pw, h.Client(r))
	if err != nil {
		fail(err)
		return
	}
	h.rememberOrg(w, res.Org.Slug)
	h.proceed(w, r, res)
}
