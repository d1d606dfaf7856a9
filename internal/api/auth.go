package api

import (
	"net/http"

	"github.com/twofold-id/twofold/internal/signin"
)

func (h *Handler) routes() {
	h.handle("GET /api/v1/openapi.yaml", func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
		w.Write(openAPI)
		return nil
	})
	h.handle("POST /api/v1/auth/login", h.login)
	h.handle("POST /api/v1/auth/verify", h.verify)
	h.handle("POST /api/v1/auth/enroll/totp", h.enrollTOTP)
	h.handle("POST /api/v1/auth/enroll/totp/confirm", h.enrollConfirm)
	h.handle("POST /api/v1/auth/enroll/skip", h.enrollSkip)
	h.authed("POST /api/v1/auth/logout", h.logout)
	h.authed("POST /api/v1/auth/reauthenticate", h.reauthenticate)
	h.authed("POST /api/v1/auth/resume", h.resume)
	h.meRoutes()
	h.adminRoutes()
	h.sentRoutes()
	h.csvRoutes()
	h.webauthnRoutes()
	h.apiKeyRoutes()
	h.clientRoutes()
	h.directoryRoutes()
	h.deviceRoutes()
	h.importRoutes()
	h.recoveryRoutes()
	h.invitationRoutes()
	h.handle("/api/", func(w http.ResponseWriter, r *http.Request) error { return errNotFound })
}

// resultJSON is the answer of every sign-in step.
type resultJSON struct {
	Status             string   `json:"status"`
	SessionToken       string   `json:"session_token,omitempty"`
	FlowToken          string   `json:"flow_token,omitempty"`
	ExpiresAt          string   `json:"expires_at"`
	Methods            []string `json:"methods,omitempty"`
	EnrollmentDeadline *string  `json:"enrollment_deadline,omitempty"`
	BackupCodes        []string `json:"backup_codes,omitempty"`
}

func writeResult(w http.ResponseWriter, res signin.Result) {
	out := resultJSON{Status: res.Status, Methods: res.Methods, EnrollmentDeadline: tsp(res.EnrollmentDeadline), BackupCodes: res.BackupCodes}
	if res.Status == signin.StatusAuthenticated {
		out.SessionToken = res.SessionToken
		out.ExpiresAt = ts(res.Session.ExpiresAt)
	} else {
		out.FlowToken = res.FlowToken
		out.ExpiresAt = ts(res.FlowExpiresAt)
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Org      string `json:"org"`
		Username string `json:"username"`
		Password string `json:"password"`
		// ClientID and Device register a device (devices.go).
		ClientID string        `json:"client_id"`
		Device   *deviceJSONIn `json:"device"`
	}
	c, err := h.limitedDecode(w, r, h.loginIP, &req)
	if err != nil {
		return err
	}
	if err := require([2]string{"org", req.Org}, [2]string{"username", req.Username}, [2]string{"password", req.Password}); err != nil {
		return err
	}
	login := signin.LoginRequest{Org: req.Org, Username: req.Username, Password: req.Password}
	var res signin.Result
	if dev := deviceRequest(req.ClientID, req.Device); dev != nil {
		res, err = h.signin.LoginDevice(r.Context(), login, *dev, c)
	} else {
		res, err = h.signin.Login(r.Context(), login, c)
	}
	if err != nil {
		return err
	}
	writeResult(w, res)
	return nil
}

func (h *Handler) verify(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		FlowToken string `json:"flow_token"`
		Method    string `json:"method"`
		codeReq
		// ClientID and Device register a device when the login did not
		// name one (devices.go).
		ClientID string        `json:"client_id"`
		Device   *deviceJSONIn `json:"device"`
	}
	c, err := h.limitedDecode(w, r, h.codeIP, &req)
	if err != nil {
		return err
	}
	if err := require([2]string{"flow_token", req.FlowToken}, [2]string{"method", req.Method}, [2]string{answerField(h.signin.IsCeremony(req.Method)), req.answer()}); err != nil {
		return err
	}
	res, err := h.signin.VerifyDevice(r.Context(), req.FlowToken, req.Method, req.answer(), deviceRequest(req.ClientID, req.Device), c)
	if err != nil {
		return err
	}
	if res.Device.ID != "" {
		h.writeRegistered(w, res)
		return nil
	}
	writeResult(w, res.Result)
	return nil
}

// enrollmentJSON is the answer to starting an authenticator-app setup.
type enrollmentJSON struct {
	FactorID      string `json:"factor_id"`
	Secret        string `json:"secret"`
	SecretGrouped string `json:"secret_grouped"`
	OTPAuthURI    string `json:"otpauth_uri"`
	QRPNG         string `json:"qr_png"`
	QRSVG         string `json:"qr_svg"`
}

func writeEnrollment(w http.ResponseWriter, e signin.TOTPEnrollment) {
	writeJSON(w, http.StatusCreated, enrollmentJSON{FactorID: e.FactorID, Secret: e.Secret, SecretGrouped: e.SecretGrouped,
		OTPAuthURI: e.URI, QRPNG: e.QRPNG, QRSVG: e.QRSVG})
}

func (h *Handler) enrollTOTP(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		FlowToken string `json:"flow_token"`
		Label     string `json:"label"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := require([2]string{"flow_token", req.FlowToken}); err != nil {
		return err
	}
	e, err := h.signin.EnrollTOTP(r.Context(), req.FlowToken, req.Label, h.clients(r))
	if err != nil {
		return err
	}
	writeEnrollment(w, e)
	return nil
}

func (h *Handler) enrollConfirm(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		FlowToken string `json:"flow_token"`
		FactorID  string `json:"factor_id"`
		codeReq
	}
	c, err := h.limitedDecode(w, r, h.codeIP, &req)
	if err != nil {
		return err
	}
	if err := require([2]string{"flow_token", req.FlowToken}, [2]string{"factor_id", req.FactorID}, [2]string{"code", req.answer()}); err != nil {
		return err
	}
	res, err := h.signin.EnrollConfirm(r.Context(), req.FlowToken, req.FactorID, req.answer(), c)
	if err != nil {
		return err
	}
	writeResult(w, res)
	return nil
}

func (h *Handler) enrollSkip(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		FlowToken string `json:"flow_token"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := require([2]string{"flow_token", req.FlowToken}); err != nil {
		return err
	}
	res, err := h.signin.SkipEnrollment(r.Context(), req.FlowToken, h.clients(r))
	if err != nil {
		return err
	}
	writeResult(w, res)
	return nil
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request, p signin.Principal) error {
	if err := h.signin.Logout(r.Context(), p, h.clients(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) reauthenticate(w http.ResponseWriter, r *http.Request, p signin.Principal) error {
	var req struct {
		Method string `json:"method"`
		Code   string `json:"code"`
	}
	c, err := h.limitedDecode(w, r, h.codeIP, &req)
	if err != nil {
		return err
	}
	if err := require([2]string{"code", req.Code}); err != nil {
		return err
	}
	if req.Method == "" {
		req.Method = signin.MethodAny
	}
	res, err := h.signin.Reauthenticate(r.Context(), p, req.Method, req.Code, c)
	if err != nil {
		return err
	}
	writeResult(w, res)
	return nil
}

// resume turns a session that lacks a second factor under the user's
// current policy into the sign-in flow a new sign-in would start.
func (h *Handler) resume(w http.ResponseWriter, r *http.Request, p signin.Principal) error {
	res, err := h.signin.Resume(r.Context(), p, h.clients(r))
	if err != nil {
		return err
	}
	writeResult(w, res)
	return nil
}
