package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// API keys: admins create them for automation, and every admin route
// accepts one in place of a session (see admined). Managing keys needs a
// session: a key can neither list, create nor revoke keys.
func (h *Handler) apiKeyRoutes() {
	h.authed("GET /api/v1/api-keys", h.listAPIKeys)
	h.authed("POST /api/v1/api-keys", h.createAPIKey)
	h.authed("DELETE /api/v1/api-keys/{id}", h.revokeAPIKey)
}

// adminFunc is the handler of an admin route; it acts as a.
type adminFunc func(w http.ResponseWriter, r *http.Request, a access.Actor) error

// admined adapts an admin handler to the routes: the caller authenticates
// with a session token or an API key ("Authorization: Bearer tfk_…"), and
// f receives the actor either one stands for. Both fail alike, with
// unauthenticated. Routes register it as h.handle(pattern, h.admined(f)).
func (h *Handler) admined(f adminFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		tok = strings.TrimSpace(tok)
		var a access.Actor
		if strings.HasPrefix(tok, admin.APIKeyPrefix) {
			var err error
			if a, err = h.admin.AuthenticateAPIKey(r.Context(), tok); err != nil {
				return err
			}
		} else {
			p, err := h.principal(r)
			if err != nil {
				return err
			}
			if p.Lacks != nil {
				return p.Lacks // no admin route is open to a session that lacks a second factor
			}
			if signin.IsDeviceSession(p.Session) {
				return errDeviceSession // nor to a device's session
			}
			a = admin.SessionActor(p)
		}
		return f(w, r, a)
	}
}

type apiKeyJSON struct {
	ID         string  `json:"id"`
	Org        orgRef  `json:"org"`
	Name       string  `json:"name"`
	Role       string  `json:"role"`
	CreatedBy  string  `json:"created_by,omitempty"`
	CreatedAt  string  `json:"created_at"`
	LastUsedAt *string `json:"last_used_at"`
	ExpiresAt  *string `json:"expires_at"`
	RevokedAt  *string `json:"revoked_at"`
	// Token is set only in the answer that creates the key.
	Token string `json:"token,omitempty"`
}

func apiKeyOut(row admin.APIKeyRow) apiKeyJSON {
	k, o := row.Key, row.Org
	return apiKeyJSON{ID: k.ID, Org: orgRef{ID: o.ID, Slug: o.Slug, Name: o.Name}, Name: k.Name, Role: string(k.Role),
		CreatedBy: k.CreatedBy, CreatedAt: ts(k.CreatedAt), LastUsedAt: tsp(k.LastUsedAt), ExpiresAt: tsp(k.ExpiresAt),
		RevokedAt: tsp(k.RevokedAt)}
}

func (h *Handler) listAPIKeys(w http.ResponseWriter, r *http.Request, p signin.Principal) error {
	rows, err := h.admin.ListAPIKeys(r.Context(), actor(p), r.URL.Query().Get("org"))
	if err != nil {
		return err
	}
	out := make([]apiKeyJSON, len(rows))
	for i, row := range rows {
		out[i] = apiKeyOut(row)
	}
	writeJSON(w, http.StatusOK, map[string]any{"api_keys": out})
	return nil
}

func (h *Handler) createAPIKey(w http.ResponseWriter, r *http.Request, p signin.Principal) error {
	var req struct {
		Org       string `json:"org"`
		Name      string `json:"name"`
		Role      string `json:"role"`
		ExpiresIn string `json:"expires_in"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := require([2]string{"org", req.Org}, [2]string{"name", req.Name}); err != nil {
		return err
	}
	var expiresIn time.Duration
	if req.ExpiresIn != "" {
		d, err := time.ParseDuration(req.ExpiresIn)
		if err != nil {
			return errType.WithMessage(`expires_in must be a duration such as "720h".`).WithField("expires_in")
		}
		expiresIn = d
	}
	a := actor(p)
	if !a.IsAdmin() {
		return admin.ErrForbidden
	}
	row, tok, err := h.admin.CreateAPIKey(r.Context(), a, admin.NewAPIKey{OrgSlug: req.Org, Name: req.Name,
		Role: store.Role(req.Role), ExpiresIn: expiresIn}, h.clients(r))
	if err != nil {
		return err
	}
	out := apiKeyOut(row)
	out.Token = tok
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (h *Handler) revokeAPIKey(w http.ResponseWriter, r *http.Request, p signin.Principal) error {
	if _, err := h.admin.RevokeAPIKey(r.Context(), actor(p), r.PathValue("id"), h.clients(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// actor is the actor of a signed-in principal.
func actor(p signin.Principal) access.Actor { return admin.SessionActor(p) }
