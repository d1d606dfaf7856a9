package api

import (
	"encoding/json"
	"net/http"

	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

func (h *Handler) meRoutes() {
	h.authed("GET /api/v1/me", h.me)
	h.authed("GET /api/v1/me/sessions", h.sessions)
	h.authed("DELETE /api/v1/me/sessions/{id}", h.revokeSession)
	h.authed("POST /api/v1/me/sessions/revoke-others", h.revokeOthers)
	h.authed("POST /api/v1/me/password", h.changePassword)
	h.authed("GET /api/v1/me/factors", h.factors)
	h.authed("POST /api/v1/me/factors/totp", h.startTOTP)
	h.authed("POST /api/v1/me/factors/{id}/confirm", h.confirmFactor)
	h.authed("PATCH /api/v1/me/factors/{id}", h.renameFactor)
	h.authed("DELETE /api/v1/me/factors/{id}", h.removeFactor)
	h.authed("POST /api/v1/me/backup-codes", h.regenerate)
	h.authed("POST /api/v1/me/mfa/disable", h.disable)
}

type userJSON struct {
	ID             string  `json:"id"`
	Username       string  `json:"username"`
	Email          string  `json:"email,omitempty"`
	EmailConfirmed bool    `json:"email_confirmed"`
	Role           string  `json:"role"`
	OrgID          string  `json:"org_id"`
	MFARequired    bool    `json:"mfa_required"`
	Disabled       bool    `json:"disabled"`
	CreatedAt      string  `json:"created_at"`
	MFASince       *string `json:"mfa_required_since,omitempty"`
	MFAStatus      string  `json:"mfa_status,omitempty"` // in admin lists
}

func userOut(u store.User) userJSON {
	return userJSON{ID: u.ID, Username: u.Username, Email: u.Email, EmailConfirmed: u.EmailConfirmedAt != nil, Role: string(u.Role),
		OrgID: u.OrgID, MFARequired: u.MFARequired, Disabled: u.Disabled, CreatedAt: ts(u.CreatedAt), MFASince: tsp(u.MFARequiredSince)}
}

type orgRef struct {
	ID   string `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
}

type sessionJSON struct {
	ID            string   `json:"id"`
	CreatedAt     string   `json:"created_at"`
	LastSeenAt    string   `json:"last_seen_at"`
	ExpiresAt     string   `json:"expires_at"`
	IdleExpiresAt string   `json:"idle_expires_at"`
	AMR           []string `json:"amr"`
	MFAAt         *string  `json:"mfa_at,omitempty"`
	IP            string   `json:"ip,omitempty"`
	UserAgent     string   `json:"user_agent,omitempty"`
	Current       bool     `json:"current"`
}

func (h *Handler) sessionOut(s store.Session, current string) sessionJSON {
	return sessionJSON{ID: s.ID, CreatedAt: ts(s.CreatedAt), LastSeenAt: ts(s.LastSeenAt), ExpiresAt: ts(s.ExpiresAt),
		IdleExpiresAt: ts(h.signin.IdleExpiry(s)), AMR: s.AMR, MFAAt: tsp(s.MFAAt), IP: s.IP, UserAgent: s.UserAgent, Current: s.ID == current}
}

func (h *Handler) me(w http.ResponseWriter, r *http.Request, p signin.Principal) error {
	ov, err := h.signin.Overview(r.Context(), p.User)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"user":    userOut(p.User),
		"org":     orgRef{ID: p.Org.ID, Slug: p.Org.Slug, Name: p.Org.Name},
		"session": h.sessionOut(p.Session, p.Session.ID),
		"mfa": map[string]any{
			"enrolled": ov.Enrolled, "required": ov.Required, "can_disable": ov.CanDisable,
			"allowed_methods": ov.AllowedMethods, "backup_codes_left": ov.BackupCodesLeft,
			"app_pin": appPIN(ov.Required),
		},
	})
	return nil
}

func (h *Handler) sessions(w http.ResponseWriter, r *http.Request, p signin.Principal) error {
	ss, err := h.signin.Sessions(r.Context(), p)
	if err != nil {
		return err
	}
	out := make([]sessionJSON, len(ss))
	for i, s := range ss {
		out[i] = h.sessionOut(s, p.Session.ID)
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions": out})
	return nil
}

func (h *Handler) revokeSession(w http.ResponseWriter, r *http.Request, p signin.Principal) error {
	if err := h.signin.RevokeSession(r.Context(), p, r.PathValue("id"), h.clients(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) revokeOthers(w http.ResponseWriter, r *http.Request, p signin.Principal) error {
	n, err := h.signin.RevokeOtherSessions(r.Context(), p, h.clients(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"revoked": n})
	return nil
}

func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request, p signin.Principal) error {
	var req struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
		Code    string `json:"code"`
	}
	c, err := h.limitedDecode(w, r, h.codeIP, &req)
	if err != nil {
		return err
	}
	if err := require([2]string{"current_password", req.Current}, [2]string{"new_password", req.New}); err != nil {
		return err
	}
	if err := h.signin.ChangePassword(r.Context(), p, req.Current, req.New, req.Code, c); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type factorJSON struct {
	ID         string  `json:"id"`
	Kind       string  `json:"kind"`
	Label      string  `json:"label"`
	Confirmed  bool    `json:"confirmed"`
	CreatedAt  string  `json:"created_at"`
	LastUsedAt *string `json:"last_used_at,omitempty"`
	// Details are a method's own facts of a factor (security keys:
	// user_verified, backup_eligible, backup_state, aaguid, transports).
	Details map[string]any `json:"details,omitempty"`
}

func overviewOut(ov signin.Overview) map[string]any {
	fs := make([]factorJSON, len(ov.Factors))
	for i, f := range ov.Factors {
		fs[i] = factorJSON{ID: f.ID, Kind: f.Kind, Label: f.Label, Confirmed: f.Confirmed(), CreatedAt: ts(f.CreatedAt), LastUsedAt: tsp(f.LastUsedAt), Details: ov.Details[f.ID]}
	}
	return map[string]any{"factors": fs, "backup_codes_left": ov.BackupCodesLeft, "enrolled": ov.Enrolled,
		"required": ov.Required, "can_disable": ov.CanDisable, "allowed_methods": ov.AllowedMethods, "locked": ov.Locked}
}

func (h *Handler) factors(w http.ResponseWriter, r *http.Request, p signin.Principal) error {
	ov, err := h.signin.Overview(r.Context(), p.User)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, overviewOut(ov))
	return nil
}

// optionalBody decodes a body when there is one; an empty body is fine.
func optionalBody(w http.ResponseWriter, r *http.Request, v any) error {
	if r.ContentLength == 0 && r.Header.Get("Content-Type") == "" {
		return nil
	}
	if err := decode(w, r, v); err != nil && err != errEmpty {
		return err
	}
	return nil
}

func (h *Handler) startTOTP(w http.ResponseWriter, r *http.Request, p signin.Principal) error {
	var req struct {
		Label string `json:"label"`
	}
	if err := optionalBody(w, r, &req); err != nil {
		return err
	}
	e, err := h.signin.StartTOTP(r.Context(), p, req.Label, h.clients(r))
	if err != nil {
		return err
	}
	writeEnrollment(w, e)
	return nil
}

// codeReq is an answer to a check: a typed code, or (security keys) the
// credential of a WebAuthn ceremony, a PublicKeyCredential's toJSON().
type codeReq struct {
	Code       string          `json:"code"`
	Credential json.RawMessage `json:"credential"`
}

// answer is the code, or the credential as its JSON text.
func (r codeReq) answer() string {
	if r.Code == "" && len(r.Credential) > 0 && string(r.Credential) != "null" {
		return string(r.Credential)
	}
	return r.Code
}

func (h *Handler) codeBody(w http.ResponseWriter, r *http.Request) (string, signin.Client, error) {
	var req codeReq
	c, err := h.limitedDecode(w, r, h.codeIP, &req)
	if err != nil {
		return "", c, err
	}
	return req.answer(), c, require([2]string{"code", req.answer()})
}

func (h *Handler) confirmFactor(w http.ResponseWriter, r *http.Request, p signin.Principal) error {
	code, c, err := h.codeBody(w, r)
	if err != nil {
		return err
	}
	codes, err := h.signin.ConfirmTOTP(r.Context(), p, r.PathValue("id"), code, c)
	if err != nil {
		return err
	}
	out := map[string]any{"confirmed": true}
	if codes != nil {
		out["backup_codes"] = codes
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) renameFactor(w http.ResponseWriter, r *http.Request, p signin.Principal) error {
	var req struct {
		Label string `json:"label"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := require([2]string{"label", req.Label}); err != nil {
		return err
	}
	if err := h.signin.RenameFactor(r.Context(), p, r.PathValue("id"), req.Label, h.clients(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) removeFactor(w http.ResponseWriter, r *http.Request, p signin.Principal) error {
	c := h.clients(r)
	if err := limit(r.Context(), h.codeIP, c); err != nil {
		return err
	}
	var req codeReq
	if err := optionalBody(w, r, &req); err != nil {
		return err
	}
	if err := h.signin.RemoveFactor(r.Context(), p, r.PathValue("id"), req.answer(), c); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) regenerate(w http.ResponseWriter, r *http.Request, p signin.Principal) error {
	code, c, err := h.codeBody(w, r)
	if err != nil {
		return err
	}
	codes, err := h.signin.RegenerateBackupCodes(r.Context(), p, code, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"backup_codes": codes})
	return nil
}

func (h *Handler) disable(w http.ResponseWriter, r *http.Request, p signin.Principal) error {
	code, c, err := h.codeBody(w, r)
	if err != nil {
		return err
	}
	if err := h.signin.DisableMFA(r.Context(), p, code, c); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// appPIN tells mobile apps whether they must make the user set an app
// passcode: required when two-step sign-in is required (S18).
func appPIN(required bool) string {
	if required {
		return "required"
	}
	return "optional"
}
