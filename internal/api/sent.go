package api

import (
	"net/http"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/factor"
	"github.com/twofold-id/twofold/internal/factor/methods"
	"github.com/twofold-id/twofold/internal/signin"
)

// Routes for codes sent by email and text message, and email confirmation.
func (h *Handler) sentRoutes() {
	h.handle("POST /api/v1/auth/challenge", h.challenge)
	// Every method whose code is sent has its enrollment routes:
	// …/auth/enroll/email, …/auth/enroll/sms, …/me/factors/email, ….
	for _, kind := range methods.Default.Kinds(factor.Sent) {
		h.handle("POST /api/v1/auth/enroll/"+kind, func(w http.ResponseWriter, r *http.Request) error {
			return h.enrollSent(w, r, kind)
		})
		h.authed("POST /api/v1/me/factors/"+kind, func(w http.ResponseWriter, r *http.Request, p signin.Principal) error {
			return h.startSent(w, r, p, kind)
		})
	}
	h.handle("POST /api/v1/auth/enroll/resend", h.enrollResend)
	h.handle("POST /api/v1/auth/enroll/confirm", h.enrollConfirm)
	h.handle("POST /api/v1/auth/confirm-email", h.confirmEmail)
	h.authed("POST /api/v1/me/codes", h.requestCode)
	h.authed("POST /api/v1/me/factors/{id}/resend", h.resendFactorCode)
	h.authed("POST /api/v1/me/email-confirmation", h.confirmOwnEmail)
	h.handle("POST /api/v1/users/{id}/email-confirmation", h.admined(h.resendConfirmation))
	h.handle("POST /api/v1/orgs/{slug}/email-confirmations", h.admined(h.resendConfirmations))
}

type sentJSON struct {
	SentTo    string `json:"sent_to"`
	ExpiresIn int    `json:"expires_in"`
	ResendIn  int    `json:"resend_in"`
	FactorID  string `json:"factor_id,omitempty"`
	Notice    string `json:"notice,omitempty"`
}

func writeSent(w http.ResponseWriter, status int, s signin.Sent) {
	writeJSON(w, status, sentJSON{SentTo: s.SentTo, ExpiresIn: int(s.ExpiresIn.Seconds()), ResendIn: int(s.ResendIn.Seconds()),
		FactorID: s.FactorID, Notice: s.Notice})
}

func (h *Handler) challenge(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		FlowToken string `json:"flow_token"`
		Method    string `json:"method"`
		FactorID  string `json:"factor_id"`
	}
	c, err := h.limitedDecode(w, r, h.codeIP, &req)
	if err != nil {
		return err
	}
	if err := require([2]string{"flow_token", req.FlowToken}, [2]string{"method", req.Method}); err != nil {
		return err
	}
	if h.signin.IsCeremony(req.Method) {
		opts, err := h.signin.CeremonyChallenge(r.Context(), req.FlowToken, req.Method)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, optionsJSON{Options: opts})
		return nil
	}
	sent, err := h.signin.Challenge(r.Context(), req.FlowToken, req.Method, req.FactorID, c)
	if err != nil {
		return err
	}
	writeSent(w, http.StatusOK, sent)
	return nil
}

type enrollSentReq struct {
	FlowToken string `json:"flow_token"`
	Phone     string `json:"phone"`
	Label     string `json:"label"`
}

func (h *Handler) enrollSent(w http.ResponseWriter, r *http.Request, kind string) error {
	var req enrollSentReq
	c, err := h.limitedDecode(w, r, h.codeIP, &req)
	if err != nil {
		return err
	}
	if err := require([2]string{"flow_token", req.FlowToken}); err != nil {
		return err
	}
	if needsPhone(kind) {
		if err := require([2]string{"phone", req.Phone}); err != nil {
			return err
		}
	}
	sent, err := h.signin.EnrollSent(r.Context(), req.FlowToken, kind, req.Phone, req.Label, c)
	if err != nil {
		return err
	}
	writeSent(w, http.StatusCreated, sent)
	return nil
}

func (h *Handler) enrollResend(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		FlowToken string `json:"flow_token"`
		FactorID  string `json:"factor_id"`
	}
	c, err := h.limitedDecode(w, r, h.codeIP, &req)
	if err != nil {
		return err
	}
	if err := require([2]string{"flow_token", req.FlowToken}, [2]string{"factor_id", req.FactorID}); err != nil {
		return err
	}
	sent, err := h.signin.EnrollResend(r.Context(), req.FlowToken, req.FactorID, c)
	if err != nil {
		return err
	}
	writeSent(w, http.StatusOK, sent)
	return nil
}

func (h *Handler) confirmEmail(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Token string `json:"token"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := require([2]string{"token", req.Token}); err != nil {
		return err
	}
	u, err := h.signin.ConfirmEmail(r.Context(), req.Token, h.clients(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"confirmed": true, "email": u.Email})
	return nil
}

func (h *Handler) requestCode(w http.ResponseWriter, r *http.Request, p signin.Principal) error {
	var req struct {
		Method   string `json:"method"`
		FactorID string `json:"factor_id"`
	}
	c, err := h.limitedDecode(w, r, h.codeIP, &req)
	if err != nil {
		return err
	}
	if err := require([2]string{"method", req.Method}); err != nil {
		return err
	}
	if h.signin.IsCeremony(req.Method) {
		opts, err := h.signin.ReauthOptions(r.Context(), p, req.Method)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, optionsJSON{Options: opts})
		return nil
	}
	sent, err := h.signin.RequestCode(r.Context(), p, req.Method, req.FactorID, c)
	if err != nil {
		return err
	}
	writeSent(w, http.StatusOK, sent)
	return nil
}

func (h *Handler) startSent(w http.ResponseWriter, r *http.Request, p signin.Principal, kind string) error {
	c := h.clients(r)
	if err := limit(r.Context(), h.codeIP, c); err != nil {
		return err
	}
	var req struct {
		Phone string `json:"phone"`
		Label string `json:"label"`
	}
	if err := optionalBody(w, r, &req); err != nil {
		return err
	}
	if needsPhone(kind) {
		if err := require([2]string{"phone", req.Phone}); err != nil {
			return err
		}
	}
	sent, err := h.signin.StartSentFactor(r.Context(), p, kind, req.Phone, req.Label, c)
	if err != nil {
		return err
	}
	writeSent(w, http.StatusCreated, sent)
	return nil
}

func (h *Handler) resendFactorCode(w http.ResponseWriter, r *http.Request, p signin.Principal) error {
	c := h.clients(r)
	if err := limit(r.Context(), h.codeIP, c); err != nil {
		return err
	}
	sent, err := h.signin.ResendConfirmation(r.Context(), p, r.PathValue("id"), c)
	if err != nil {
		return err
	}
	writeSent(w, http.StatusOK, sent)
	return nil
}

func (h *Handler) confirmOwnEmail(w http.ResponseWriter, r *http.Request, p signin.Principal) error {
	if err := h.signin.SendEmailConfirmation(r.Context(), p.User.ID, p.User, h.clients(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"sent": true})
	return nil
}

func (h *Handler) resendConfirmation(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	if err := h.admin.ResendConfirmation(r.Context(), a, r.PathValue("id"), h.clients(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"sent": true})
	return nil
}

func (h *Handler) resendConfirmations(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	res, err := h.admin.ResendConfirmations(r.Context(), a, r.PathValue("slug"), h.clients(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]int{"sent": res.Sent, "throttled": res.Throttled, "failed": res.Failed})
	return nil
}

// needsPhone says whether adding a factor of kind takes a phone number.
func needsPhone(kind string) bool {
	t, _ := methods.Default.TraitsOf(kind)
	return t.Channel == factor.BySMS
}
