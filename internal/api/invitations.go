package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/store"
)

// Routes for invitations: the admin side, and the invitee's accept.
func (h *Handler) invitationRoutes() {
	h.handle("POST /api/v1/invitations", h.admined(h.invite))
	h.handle("GET /api/v1/invitations", h.admined(h.listInvitations))
	h.handle("POST /api/v1/invitations/import", h.admined(h.inviteCSV))
	h.handle("POST /api/v1/invitations/{id}/resend", h.admined(h.resendInvitation))
	h.handle("DELETE /api/v1/invitations/{id}", h.admined(h.revokeInvitation))
	h.handle("POST /api/v1/auth/invitation/accept", h.acceptInvitation)
}

type invitationJSON struct {
	ID        string `json:"id"`
	OrgID     string `json:"org_id"`
	Email     string `json:"email"`
	Name      string `json:"name"`
	Role      string `json:"role"`
	InvitedBy string `json:"invited_by,omitempty"`
	Status    string `json:"status"` // pending or expired
	CreatedAt string `json:"created_at"`
	SentAt    string `json:"sent_at"`
	ExpiresAt string `json:"expires_at"`
}

func (h *Handler) invitationOut(i store.Invitation) invitationJSON {
	status := "pending"
	if !i.Pending(h.now()) {
		status = "expired"
	}
	return invitationJSON{ID: i.ID, OrgID: i.OrgID, Email: i.Email, Name: i.Name, Role: string(i.Role), InvitedBy: i.InvitedBy,
		Status: status, CreatedAt: ts(i.CreatedAt), SentAt: ts(i.SentAt), ExpiresAt: ts(i.ExpiresAt)}
}

func (h *Handler) invite(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	var req struct {
		Org   string `json:"org"`
		Email string `json:"email"`
		Role  string `json:"role"`
		Name  string `json:"name"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := require([2]string{"org", req.Org}, [2]string{"email", req.Email}); err != nil {
		return err
	}
	inv, err := h.admin.Invite(r.Context(), a, admin.NewInvitation{OrgSlug: req.Org, Email: req.Email, Role: store.Role(req.Role), Name: req.Name}, h.clients(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, h.invitationOut(inv))
	return nil
}

func (h *Handler) listInvitations(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	org := r.URL.Query().Get("org")
	if org == "" {
		return errMissing.WithMessage(`Query parameter "org" is required.`).WithField("org")
	}
	list, err := h.admin.Invitations(r.Context(), a, org)
	if err != nil {
		return err
	}
	out := make([]invitationJSON, len(list))
	for i, inv := range list {
		out[i] = h.invitationOut(inv)
	}
	writeJSON(w, http.StatusOK, map[string]any{"invitations": out})
	return nil
}

type lineErrorJSON struct {
	Line    int    `json:"line"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (h *Handler) inviteCSV(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	var req struct {
		Org    string `json:"org"`
		CSV    string `json:"csv"`
		DryRun bool   `json:"dry_run"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := require([2]string{"org", req.Org}, [2]string{"csv", req.CSV}); err != nil {
		return err
	}
	res, err := h.admin.InviteCSV(r.Context(), a, req.Org, strings.NewReader(req.CSV), req.DryRun, h.clients(r))
	lines := make([]lineErrorJSON, len(res.Errors))
	for i, e := range res.Errors {
		lines[i] = lineErrorJSON{Line: e.Line, Code: e.Code, Message: e.Message}
	}
	if errors.Is(err, admin.ErrInvitationsRejected) {
		writeJSON(w, http.StatusBadRequest, map[string]any{
			"error":  errorDetail{Code: admin.ErrInvitationsRejected.Code, Message: admin.ErrInvitationsRejected.Message},
			"errors": lines,
		})
		return nil
	}
	if err != nil {
		return err
	}
	out := make([]invitationJSON, len(res.Invited))
	for i, inv := range res.Invited {
		out[i] = h.invitationOut(inv)
	}
	writeJSON(w, http.StatusOK, map[string]any{"invited": len(out), "checked": res.Checked, "dry_run": req.DryRun,
		"invitations": out, "errors": lines})
	return nil
}

func (h *Handler) resendInvitation(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	inv, err := h.admin.ResendInvitation(r.Context(), a, r.PathValue("id"), h.clients(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h.invitationOut(inv))
	return nil
}

func (h *Handler) revokeInvitation(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	if err := h.admin.RevokeInvitation(r.Context(), a, r.PathValue("id"), h.clients(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// acceptInvitation opens the invitee's account and answers like a sign-in
// step: a session, or an enrollment flow when policy requires a factor.
func (h *Handler) acceptInvitation(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Token    string `json:"token"`
		Username string `json:"username"`
		Password string `json:"password"`
	}
	c, err := h.limitedDecode(w, r, h.loginIP, &req)
	if err != nil {
		return err
	}
	if err := require([2]string{"token", req.Token}, [2]string{"username", req.Username}, [2]string{"password", req.Password}); err != nil {
		return err
	}
	res, err := h.signin.AcceptInvitation(r.Context(), req.Token, req.Username, req.Password, c)
	if err != nil {
		return err
	}
	writeResult(w, res)
	return nil
}
