package web

import (
	"net/http"

	"github.com/twofold-id/twofold/internal/signin"
)

// deviceRoutes registers the device forms: a user removes one of their
// own devices from the security page, an admin one of a user's from the
// console's user page. The lists themselves are part of those pages.
func (h *handler) deviceRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /security/devices/{id}/remove", h.authed(h.removeDevice))
	mux.HandleFunc("POST /admin/users/{id}/devices/{device}/remove", h.adminOnly(h.adminRemoveDevice))
	h.deviceGrantRoutes(mux)
}

// removeDevice removes one of the user's devices and its sessions.
func (h *handler) removeDevice(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	if err := h.Signin.RemoveDevice(r.Context(), p.User.ID, p.User, r.PathValue("id"), h.Client(r)); err != nil {
		h.securityFailed(w, r, p, "devices", err)
		return
	}
	done(w, r, "deviceremoved")
}

// adminRemoveDevice removes a device of the user of the path. Removing
// a device only takes access away: it asks for no fresh second factor.
func (h *handler) adminRemoveDevice(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	h.userAction(w, r, p, "devices", func() string { return "Remove a device" }, func(a signin.Principal, id string) (string, error) {
		return "deviceremoved", h.Admin.RemoveUserDevice(r.Context(), actorOf(a), id, r.PathValue("device"), h.Client(r))
	})
}
