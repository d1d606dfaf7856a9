package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/store"
)

// MaxImport is the most users one import request takes.
const MaxImport = 1000

// importRoutes registers the bulk import of users with their credentials.
func (h *Handler) importRoutes() {
	h.handle("POST /api/v1/users/import", h.admined(h.importUsers))
}

type importUserJSON struct {
	Org          string           `json:"org"`
	Username     string           `json:"username"`
	Email        string           `json:"email"`
	Role         string           `json:"role"`
	MFARequired  bool             `json:"mfa_required"`
	PasswordHash string           `json:"password_hash"`
	TOTP         []importTOTPJSON `json:"totp"`
}

type importTOTPJSON struct {
	Secret string `json:"secret"`
	Label  string `json:"label"`
}

type importProblemJSON struct {
	Index   int    `json:"index"`
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

type importedJSON struct {
	ID       string `json:"id"`
	OrgID    string `json:"org_id"`
	Username string `json:"username"`
}

func (h *Handler) importUsers(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	var req struct {
		Org     string           `json:"org"`
		Partial bool             `json:"partial"`
		Users   []importUserJSON `json:"users"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if len(req.Users) == 0 {
		return errMissing.WithMessage(`Field "users" is required.`).WithField("users")
	}
	if len(req.Users) > MaxImport {
		return admin.ErrInvalid.WithMessage(fmt.Sprintf("An import holds at most %d users; send more in several requests.", MaxImport)).WithField("users")
	}
	in := make([]admin.ImportUser, len(req.Users))
	for i, u := range req.Users {
		org := u.Org
		if org == "" {
			org = req.Org
		}
		in[i] = admin.ImportUser{OrgSlug: org, Username: u.Username, Email: u.Email, Role: store.Role(u.Role),
			MFARequired: u.MFARequired, PasswordHash: u.PasswordHash}
		for _, t := range u.TOTP {
			in[i].TOTP = append(in[i].TOTP, admin.ImportTOTP{Secret: t.Secret, Label: t.Label})
		}
	}
	res, err := h.admin.ImportUsers(r.Context(), a, in, admin.ImportOptions{Partial: req.Partial}, h.clients(r))
	problems := make([]importProblemJSON, len(res.Problems))
	for i, p := range res.Problems {
		problems[i] = importProblemJSON{Index: p.Index, Code: p.Code, Field: p.Field, Message: p.Message}
	}
	if errors.Is(err, admin.ErrImportRejected) {
		writeJSON(w, http.StatusBadRequest, map[string]any{
			"error":    errorDetail{Code: admin.ErrImportRejected.Code, Message: admin.ErrImportRejected.Message},
			"problems": problems,
		})
		return nil
	}
	if err != nil {
		return err
	}
	users := make([]importedJSON, len(res.Imported))
	for i, u := range res.Imported {
		users[i] = importedJSON{ID: u.ID, OrgID: u.OrgID, Username: u.Username}
	}
	writeJSON(w, http.StatusOK, map[string]any{"imported": len(users), "users": users, "problems": problems})
	return nil
}
