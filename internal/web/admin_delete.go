package web

import (
	"net/http"
	"strings"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/problem"
	"github.com/twofold-id/twofold/internal/signin"
)

// adminSetEmail changes a user's email address (admin.Change.Email: a new
// address starts unconfirmed).
func (h *handler) adminSetEmail(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	h.userAction(w, r, p, "email", func() string { return "Change the email address" }, func(a signin.Principal, id string) (string, error) {
		email := strings.TrimSpace(r.PostForm.Get("email"))
		if _, err := h.Admin.UpdateUser(r.Context(), actorOf(a), id, admin.Change{Email: &email}, h.Client(r)); err != nil {
			return "", err
		}
		return "email", nil
	}, "email")
}

// adminDeleteUser deletes a user the admin may manage; the page asks the
// admin to type the username, so that a slip of the mouse deletes no one.
func (h *handler) adminDeleteUser(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	if !h.form(w, r) {
		return
	}
	id := r.PathValue("id")
	u, _, err := h.Admin.User(r.Context(), actorOf(p), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if r.PostForm.Get("confirm_username") != u.Username {
		h.renderUser(w, r, p, http.StatusBadRequest, newFormErr("delete", errConfirmName.WithField("confirm_username"), h.Now(), "confirm_username"))
		return
	}
	handled, err := h.adminSensitive(w, r, p, "Delete "+u.Username, "/admin/users/"+id, func(np signin.Principal) error {
		p = np
		return h.Admin.DeleteUser(r.Context(), actorOf(np), id, h.Client(r))
	})
	if handled {
		return
	}
	if err != nil {
		pe := h.public(r, err)
		h.renderUser(w, r, p, pe.HTTPStatus(), newFormErr("delete", pe, h.Now(), "confirm_username"))
		return
	}
	http.Redirect(w, r, "/admin/users?msg=userdeleted", http.StatusSeeOther)
}

// adminDeleteOrg deletes an org without users or sub-organizations.
func (h *handler) adminDeleteOrg(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	if !h.form(w, r) {
		return
	}
	slug := r.PathValue("slug")
	if err := h.Admin.DeleteOrg(r.Context(), actorOf(p), slug, h.Client(r)); err != nil {
		pe := h.public(r, err)
		h.renderOrg(w, r, p, pe.HTTPStatus(), nil, nil, newFormErr("delete", pe, h.Now()))
		return
	}
	http.Redirect(w, r, "/admin?msg=orgdeleted", http.StatusSeeOther)
}

// errConfirmName asks for the username before a deletion.
var errConfirmName = problem.New("invalid_request", "Type the username exactly to confirm that this user is to be deleted.")
