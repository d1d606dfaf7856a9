package api

import (
	"net/http"
	"time"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/forwardauth"
	"github.com/twofold-id/twofold/internal/store"
)

// Registered clients (applications that sign users in through Twofold's
// OpenID Connect provider). Admins manage those of their subtree, with a
// session or an API key, like every admin route.
func (h *Handler) clientRoutes() {
	h.handle("GET /api/v1/clients", h.admined(h.listClients))
	h.handle("GET /api/v1/orgs/{slug}/clients", h.admined(h.listClients))
	h.handle("POST /api/v1/orgs/{slug}/clients", h.admined(h.createClient))
	h.handle("GET /api/v1/clients/{id}", h.admined(h.getClient))
	h.handle("PATCH /api/v1/clients/{id}", h.admined(h.patchClient))
	h.handle("DELETE /api/v1/clients/{id}", h.admined(h.deleteClient))
	h.handle("POST /api/v1/clients/{id}/secret", h.admined(h.rotateClientSecret))
}

type clientJSON struct {
	ClientID               string           `json:"client_id"`
	Org                    orgRef           `json:"org"`
	Name                   string           `json:"name"`
	Kind                   string           `json:"kind"`
	RedirectURIs           []string         `json:"redirect_uris"`
	PostLogoutRedirectURIs []string         `json:"post_logout_redirect_uris"`
	Scopes                 []string         `json:"scopes"`
	RequireMFA             bool             `json:"require_mfa"`
	IDTokenAlg             string           `json:"id_token_signed_response_alg"`
	Confidential           bool             `json:"confidential"`
	DeviceRules            *deviceRulesJSON `json:"device_rules,omitempty"`
	// Hosts and Rules are set for protected apps (kind proxy) only.
	Hosts     []string   `json:"hosts,omitempty"`
	Rules     []ruleJSON `json:"rules,omitempty"`
	CreatedBy string     `json:"created_by,omitempty"`
	CreatedAt string     `json:"created_at"`
	UpdatedAt string     `json:"updated_at"`
	// ClientSecret is set only in the answers that create a web client or
	// rotate its secret.
	ClientSecret string `json:"client_secret,omitempty"`
}

// ruleJSON is one access rule of a protected app; max_age is a duration
// such as "5m" (empty: any age).
type ruleJSON struct {
	PathPrefix string `json:"path_prefix"`
	ACR        string `json:"acr"`
	MaxAge     string `json:"max_age,omitempty"`
}

func rulesIn(in *[]ruleJSON) *[]forwardauth.RuleInput {
	if in == nil {
		return nil
	}
	out := make([]forwardauth.RuleInput, len(*in))
	for i, r := range *in {
		out[i] = forwardauth.RuleInput{PathPrefix: r.PathPrefix, ACR: r.ACR, MaxAge: r.MaxAge}
	}
	return &out
}

func rulesOut(rules []store.ProxyRule) []ruleJSON {
	if rules == nil {
		return nil
	}
	out := make([]ruleJSON, len(rules))
	for i, r := range rules {
		out[i] = ruleJSON{PathPrefix: r.PathPrefix, ACR: r.ACR}
		if r.MaxAge > 0 {
			out[i].MaxAge = r.MaxAge.String()
		}
	}
	return out
}

func clientOut(row admin.ClientRow) clientJSON {
	c, o := row.Client, row.Org
	scopes := c.Scopes
	if scopes == nil && c.Kind != store.ClientProxy {
		scopes = admin.ClientScopes
	}
	return clientJSON{ClientID: c.ID, Org: orgRef{ID: o.ID, Slug: o.Slug, Name: o.Name}, Name: c.Name, Kind: string(c.Kind),
		RedirectURIs: nonNil(c.RedirectURIs), PostLogoutRedirectURIs: nonNil(c.PostLogoutRedirectURIs), Scopes: nonNil(scopes),
		Hosts: c.Hosts, Rules: rulesOut(c.Rules),
		RequireMFA: c.RequireMFA, IDTokenAlg: c.SigningAlg(), Confidential: c.Kind.Confidential(), CreatedBy: c.CreatedBy,
		CreatedAt: ts(c.CreatedAt), UpdatedAt: ts(c.UpdatedAt), DeviceRules: deviceRulesOut(c)}
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func (h *Handler) listClients(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	slug := r.PathValue("slug")
	if slug == "" {
		slug = r.URL.Query().Get("org")
	}
	rows, err := h.admin.ListClients(r.Context(), a, slug)
	if err != nil {
		return err
	}
	out := make([]clientJSON, len(rows))
	for i, row := range rows {
		out[i] = clientOut(row)
	}
	writeJSON(w, http.StatusOK, map[string]any{"clients": out})
	return nil
}

func (h *Handler) createClient(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	var req struct {
		Name                   string           `json:"name"`
		Kind                   string           `json:"kind"`
		RedirectURIs           []string         `json:"redirect_uris"`
		PostLogoutRedirectURIs []string         `json:"post_logout_redirect_uris"`
		Scopes                 []string         `json:"scopes"`
		RequireMFA             bool             `json:"require_mfa"`
		IDTokenAlg             string           `json:"id_token_signed_response_alg"`
		Hosts                  []string         `json:"hosts"`
		Rules                  []ruleJSON       `json:"rules"`
		DeviceRules            *deviceRulesJSON `json:"device_rules"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := require([2]string{"name", req.Name}, [2]string{"kind", req.Kind}); err != nil {
		return err
	}
	n := admin.NewClient{OrgSlug: r.PathValue("slug"), Name: req.Name,
		Kind: store.ClientKind(req.Kind), RedirectURIs: req.RedirectURIs, PostLogoutRedirectURIs: req.PostLogoutRedirectURIs,
		Scopes: req.Scopes, RequireMFA: req.RequireMFA, IDTokenAlg: req.IDTokenAlg, Hosts: req.Hosts, DeviceRules: req.DeviceRules.rules()}
	if req.Rules != nil {
		n.Rules = *rulesIn(&req.Rules)
	}
	row, secret, err := h.admin.CreateClient(r.Context(), a, n, h.clients(r))
	if err != nil {
		return err
	}
	out := clientOut(row)
	out.ClientSecret = secret
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (h *Handler) getClient(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	row, err := h.admin.GetClient(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, clientOut(row))
	return nil
}

func (h *Handler) patchClient(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	var req struct {
		Name                   *string          `json:"name"`
		RedirectURIs           *[]string        `json:"redirect_uris"`
		PostLogoutRedirectURIs *[]string        `json:"post_logout_redirect_uris"`
		Scopes                 *[]string        `json:"scopes"`
		RequireMFA             *bool            `json:"require_mfa"`
		IDTokenAlg             *string          `json:"id_token_signed_response_alg"`
		Hosts                  *[]string        `json:"hosts"`
		Rules                  *[]ruleJSON      `json:"rules"`
		DeviceRules            *deviceRulesJSON `json:"device_rules"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	row, err := h.admin.UpdateClient(r.Context(), a, r.PathValue("id"), admin.ClientPatch{Name: req.Name,
		RedirectURIs: req.RedirectURIs, PostLogoutRedirectURIs: req.PostLogoutRedirectURIs, Scopes: req.Scopes,
		RequireMFA: req.RequireMFA, IDTokenAlg: req.IDTokenAlg, Hosts: req.Hosts, Rules: rulesIn(req.Rules), DeviceRules: req.DeviceRules.patch()}, h.clients(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, clientOut(row))
	return nil
}

func (h *Handler) deleteClient(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	if err := h.admin.DeleteClient(r.Context(), a, r.PathValue("id"), h.clients(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) rotateClientSecret(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	row, secret, err := h.admin.RotateClientSecret(r.Context(), a, r.PathValue("id"), h.clients(r))
	if err != nil {
		return err
	}
	out := clientOut(row)
	out.ClientSecret = secret
	writeJSON(w, http.StatusOK, out)
	return nil
}

// deviceRulesJSON is store.DeviceRules on the wire (the lifetime in
// seconds).
type deviceRulesJSON struct {
	SessionCode     string `json:"session_code,omitempty"`
	Passcode        string `json:"passcode,omitempty"`
	SessionLifetime int64  `json:"session_lifetime,omitempty"`
}

func (j *deviceRulesJSON) rules() store.DeviceRules {
	if j == nil {
		return store.DeviceRules{}
	}
	return store.DeviceRules{SessionCode: j.SessionCode, Passcode: j.Passcode, SessionLifetime: time.Duration(j.SessionLifetime) * time.Second}
}

func (j *deviceRulesJSON) patch() *store.DeviceRules {
	if j == nil {
		return nil
	}
	r := j.rules()
	return &r
}

// deviceRulesOut is set for the clients that register devices.
func deviceRulesOut(c store.Client) *deviceRulesJSON {
	if _, ok := c.Kind.DeviceKind(); !ok {
		return nil
	}
	r := c.DeviceRules
	return &deviceRulesJSON{SessionCode: r.SessionCode, Passcode: r.Passcode, SessionLifetime: int64(r.SessionLifetime / time.Second)}
}
