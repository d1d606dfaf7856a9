package api

import (
	"net/http"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/directory"
)

func (h *Handler) directoryRoutes() {
	h.handle("GET /api/v1/orgs/{slug}/directory", h.admined(h.getDirectory))
	h.handle("PUT /api/v1/orgs/{slug}/directory", h.admined(h.putDirectory))
	h.handle("DELETE /api/v1/orgs/{slug}/directory", h.admined(h.deleteDirectory))
	h.handle("POST /api/v1/orgs/{slug}/directory/test", h.admined(h.testDirectory))
}

// directoryJSON is the body of PUT and the answer of GET (which never
// carries bind_password).
type directoryJSON struct {
	URL               string `json:"url"`
	StartTLS          *bool  `json:"start_tls,omitempty"`
	CACert            string `json:"ca_cert,omitempty"`
	BindDN            string `json:"bind_dn"`
	BindPassword      string `json:"bind_password,omitempty"`
	UserBaseDN        string `json:"user_base_dn"`
	UsernameAttribute string `json:"username_attribute,omitempty"`
	UserFilter        string `json:"user_filter,omitempty"`
	EmailAttribute    string `json:"email_attribute,omitempty"`
	NameAttribute     string `json:"name_attribute,omitempty"`
	AdminGroupDN      string `json:"admin_group_dn,omitempty"`
}

// config turns the body into settings. start_tls left out means true for
// ldap:// URLs (StartTLS is required by default).
func (d directoryJSON) config() directory.Config {
	c := directory.Config{URL: d.URL, CACert: d.CACert, BindDN: d.BindDN, BindPassword: d.BindPassword,
		UserBaseDN: d.UserBaseDN, UsernameAttribute: d.UsernameAttribute, UserFilter: d.UserFilter,
		EmailAttribute: d.EmailAttribute, NameAttribute: d.NameAttribute, AdminGroupDN: d.AdminGroupDN}
	if d.StartTLS != nil {
		c.StartTLS = *d.StartTLS
	} else {
		c.StartTLS = len(d.URL) >= 7 && d.URL[:7] == "ldap://"
	}
	return c
}

func writeDirectory(w http.ResponseWriter, v admin.DirectoryView) {
	out := map[string]any{"org": orgRef{ID: v.Org.ID, Slug: v.Org.Slug, Name: v.Org.Name}, "inherited": !v.Own}
	if !v.Own {
		out["inherited_from"] = orgRef{ID: v.InheritedFrom.ID, Slug: v.InheritedFrom.Slug, Name: v.InheritedFrom.Name}
		writeJSON(w, http.StatusOK, out)
		return
	}
	c := v.Config
	out["url"], out["start_tls"], out["ca_cert"], out["bind_dn"] = c.URL, c.StartTLS, c.CACert, c.BindDN
	out["user_base_dn"], out["username_attribute"], out["user_filter"] = c.UserBaseDN, c.UsernameAttribute, c.UserFilter
	out["email_attribute"], out["name_attribute"], out["admin_group_dn"] = c.EmailAttribute, c.NameAttribute, c.AdminGroupDN
	out["bind_password_set"], out["updated_at"] = true, ts(v.UpdatedAt)
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) getDirectory(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	v, err := h.admin.Directory(r.Context(), a, r.PathValue("slug"))
	if err != nil {
		return err
	}
	writeDirectory(w, v)
	return nil
}

func (h *Handler) putDirectory(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	var req directoryJSON
	if err := decode(w, r, &req); err != nil {
		return err
	}
	v, err := h.admin.SetDirectory(r.Context(), a, r.PathValue("slug"), req.config(), h.clients(r))
	if err != nil {
		return err
	}
	writeDirectory(w, v)
	return nil
}

func (h *Handler) deleteDirectory(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	if err := h.admin.RemoveDirectory(r.Context(), a, r.PathValue("slug"), h.clients(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) testDirectory(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	var req struct {
		Username string `json:"username"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	res, err := h.admin.TestDirectory(r.Context(), a, r.PathValue("slug"), req.Username, h.clients(r))
	if err != nil {
		return err
	}
	out := map[string]any{"found": res.Found}
	if res.Found {
		e := res.Entry
		out["entry"] = map[string]any{"dn": e.DN, "id": e.ID, "username": e.Username, "email": e.Email, "name": e.Name,
			"admin": e.Admin, "disabled": e.Disabled}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
