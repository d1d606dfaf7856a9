package api

import (
	"encoding/json"
	"net/http"

	"github.com/twofold-id/twofold/internal/factor"
	"github.com/twofold-id/twofold/internal/factor/methods"
	"github.com/twofold-id/twofold/internal/signin"
)

// Routes for security keys and passkeys (WebAuthn). Options are the JSON
// navigator.credentials.create/get take ({"publicKey":{…}}, base64url);
// answers are a PublicKeyCredential's toJSON() in "credential". Adding,
// the second step and self-service checks share the routes of every
// method (…/confirm, /auth/challenge, /auth/verify, /me/codes); these add
// how a ceremony begins, and the sign-in with a passkey alone.
func (h *Handler) webauthnRoutes() {
	ceremony := func(t factor.Traits) bool { return t.Enrollment == factor.Ceremony }
	for _, kind := range methods.Default.Kinds(ceremony) {
		h.authed("POST /api/v1/me/factors/"+kind, func(w http.ResponseWriter, r *http.Request, p signin.Principal) error {
			return h.startCeremony(w, r, p, kind)
		})
		h.handle("POST /api/v1/auth/enroll/"+kind, func(w http.ResponseWriter, r *http.Request) error {
			return h.enrollCeremony(w, r, kind)
		})
	}
	h.handle("POST /api/v1/auth/passkey/options", h.passkeyOptions)
	h.handle("POST /api/v1/auth/passkey/verify", h.passkeyVerify)
}

// answerField names the field an answer of a method goes in.
func answerField(ceremony bool) string {
	if ceremony {
		return "credential"
	}
	return "code"
}

type optionsJSON struct {
	FlowToken string          `json:"flow_token,omitempty"`
	FactorID  string          `json:"factor_id,omitempty"`
	Options   json.RawMessage `json:"options"`
}

type ceremonyReq struct {
	FlowToken string `json:"flow_token"`
	Label     string `json:"label"`
	Passkey   bool   `json:"passkey"`
}

func (h *Handler) startCeremony(w http.ResponseWriter, r *http.Request, p signin.Principal, kind string) error {
	var req ceremonyReq
	c, err := h.limitedDecode(w, r, h.codeIP, &req)
	if err != nil {
		return err
	}
	cer, err := h.signin.StartCeremony(r.Context(), p, kind, req.Label, req.Passkey, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, optionsJSON{FactorID: cer.FactorID, Options: cer.Options})
	return nil
}

func (h *Handler) enrollCeremony(w http.ResponseWriter, r *http.Request, kind string) error {
	var req ceremonyReq
	c, err := h.limitedDecode(w, r, h.codeIP, &req)
	if err != nil {
		return err
	}
	if err := require([2]string{"flow_token", req.FlowToken}); err != nil {
		return err
	}
	cer, err := h.signin.EnrollCeremony(r.Context(), req.FlowToken, kind, req.Label, req.Passkey, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, optionsJSON{FactorID: cer.FactorID, Options: cer.Options})
	return nil
}

func (h *Handler) passkeyOptions(w http.ResponseWriter, r *http.Request) error {
	var req struct{}
	if _, err := h.limitedDecode(w, r, h.codeIP, &req); err != nil {
		return err
	}
	tok, opts, err := h.signin.PasskeyOptions(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, optionsJSON{FlowToken: tok, Options: opts})
	return nil
}

func (h *Handler) passkeyVerify(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		FlowToken  string          `json:"flow_token"`
		Credential json.RawMessage `json:"credential"`
	}
	c, err := h.limitedDecode(w, r, h.codeIP, &req)
	if err != nil {
		return err
	}
	if err := require([2]string{"flow_token", req.FlowToken}, [2]string{"credential", string(req.Credential)}); err != nil {
		return err
	}
	res, err := h.signin.PasskeyVerify(r.Context(), req.FlowToken, string(req.Credential), c)
	if err != nil {
		return err
	}
	writeResult(w, res)
	return nil
}
