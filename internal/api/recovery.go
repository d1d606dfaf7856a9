package api

import (
	"net/http"
)

// Routes for "forgot password".
func (h *Handler) recoveryRoutes() {
	h.handle("POST /api/v1/auth/password-reset", h.passwordReset)
	h.handle("POST /api/v1/auth/password-reset/code", h.passwordResetCode)
	h.handle("POST /api/v1/auth/password-reset/confirm", h.passwordResetConfirm)
}

// resetAccepted is the one answer to a reset request, whatever it named.
var resetAccepted = map[string]string{
	"status":  "accepted",
	"message": "If that names an account with an email address, a link to reset its password is on its way. It works for 30 minutes.",
}

// passwordReset answers 202 with the same body, at once, whether or not
// the account exists: the lookup and the mail happen after the answer.
func (h *Handler) passwordReset(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Org   string `json:"org"`
		Login string `json:"login"`
	}
	c, err := h.limitedDecode(w, r, h.loginIP, &req)
	if err != nil {
		return err
	}
	if err := require([2]string{"org", req.Org}, [2]string{"login", req.Login}); err != nil {
		return err
	}
	h.signin.RequestPasswordReset(r.Context(), req.Org, req.Login, c)
	writeJSON(w, http.StatusAccepted, resetAccepted)
	return nil
}

func (h *Handler) passwordResetCode(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Token    string `json:"token"`
		Method   string `json:"method"`
		FactorID string `json:"factor_id"`
	}
	c, err := h.limitedDecode(w, r, h.codeIP, &req)
	if err != nil {
		return err
	}
	if err := require([2]string{"token", req.Token}, [2]string{"method", req.Method}); err != nil {
		return err
	}
	sent, err := h.signin.PasswordResetCode(r.Context(), req.Token, req.Method, req.FactorID, c)
	if err != nil {
		return err
	}
	writeSent(w, http.StatusOK, sent)
	return nil
}

func (h *Handler) passwordResetConfirm(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Token       string `json:"token"`
		NewPassword string `json:"new_password"`
		Method      string `json:"method"`
		Code        string `json:"code"`
	}
	c, err := h.limitedDecode(w, r, h.codeIP, &req)
	if err != nil {
		return err
	}
	if err := require([2]string{"token", req.Token}, [2]string{"new_password", req.NewPassword}); err != nil {
		return err
	}
	if err := h.signin.ConfirmPasswordReset(r.Context(), req.Token, req.NewPassword, req.Method, req.Code, c); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "password_reset"})
	return nil
}
