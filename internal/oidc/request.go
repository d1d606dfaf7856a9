package oidc

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/twofold-id/twofold/internal/factor/methods"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// params are the protocol parameters of an authorization request, kept
// (as JSON) in store.AuthRequest.Params.
type params struct {
	RedirectURI     string   `json:"redirect_uri"`
	Scopes          []string `json:"scopes"`
	State           string   `json:"state,omitempty"`
	Nonce           string   `json:"nonce,omitempty"`
	ResponseType    string   `json:"response_type"`
	ResponseMode    string   `json:"response_mode,omitempty"`
	Challenge       string   `json:"code_challenge,omitempty"`
	ChallengeMethod string   `json:"code_challenge_method,omitempty"`
	ACRValues       []string `json:"acr_values,omitempty"`
	MaxAge          *uint    `json:"max_age,omitempty"`
	Prompt          []string `json:"prompt,omitempty"`
	LoginHint       string   `json:"login_hint,omitempty"`
	// HintSubject is the subject of a valid id_token_hint: only that user
	// may complete the request.
	HintSubject string `json:"hint_subject,omitempty"`
}

// The assurance levels Twofold names in acr (and accepts in acr_values).
const (
	acrPwd = signin.ACRPassword
	acrMFA = signin.ACRMFA
	acrPhr = signin.ACRPhishingResistant
)

// acrValuesSupported is advertised in the discovery document.
var acrValuesSupported = []string{acrPwd, acrMFA, acrPhr}

// acrOf is the level a session's amr reached.
func acrOf(amr []string) string { return signin.ACR(amr) }

// amrOut maps a session's amr to RFC 8176 values: "pwd" and "mfa" as they
// are, each method's value as its traits say (codes from an authenticator
// app, by email and backup codes are all one-time passwords, "otp"; texted
// codes are "sms").
func amrOut(amr []string) []string {
	out := []string{}
	add := func(v string) {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	for _, m := range amr {
		if m == "pwd" || m == "mfa" {
			add(m)
			continue
		}
		for _, meth := range methods.Default.All() {
			if t := meth.Traits(); t.AMR == m {
				add(t.RFC8176)
				break
			}
		}
	}
	return out
}

// authRequest is an op.AuthRequest over a stored request.
type authRequest struct {
	rec store.AuthRequest
	p   params
}

var _ op.AuthRequest = (*authRequest)(nil)

func newAuthRequest(rec store.AuthRequest) (*authRequest, error) {
	ar := &authRequest{rec: rec}
	if err := json.Unmarshal(rec.Params, &ar.p); err != nil {
		return nil, err
	}
	return ar, nil
}

func (a *authRequest) GetID() string          { return a.rec.ID }
func (a *authRequest) GetACR() string         { return acrOf(a.rec.AMR) }
func (a *authRequest) GetAMR() []string       { return amrOut(a.rec.AMR) }
func (a *authRequest) GetAudience() []string  { return []string{a.rec.ClientID} }
func (a *authRequest) GetClientID() string    { return a.rec.ClientID }
func (a *authRequest) GetNonce() string       { return a.p.Nonce }
func (a *authRequest) GetRedirectURI() string { return a.p.RedirectURI }
func (a *authRequest) GetScopes() []string    { return a.p.Scopes }
func (a *authRequest) GetState() string       { return a.p.State }
func (a *authRequest) GetSubject() string     { return a.rec.UserID }
func (a *authRequest) Done() bool             { return a.rec.DoneAt != nil }

func (a *authRequest) GetAuthTime() time.Time {
	if a.rec.AuthTime == nil {
		return time.Time{}
	}
	return *a.rec.AuthTime
}

func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.p.Challenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.p.Challenge, Method: oidc.CodeChallengeMethod(a.p.ChallengeMethod)}
}

func (a *authRequest) GetResponseType() oidc.ResponseType { return oidc.ResponseType(a.p.ResponseType) }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return oidc.ResponseMode(a.p.ResponseMode) }

// refreshRequest is an op.RefreshTokenRequest: a grant about to be
// refreshed with one of its refresh tokens.
type refreshRequest struct {
	grant  store.Grant
	scopes []string
}

var _ op.RefreshTokenRequest = (*refreshRequest)(nil)

func (r *refreshRequest) GetAMR() []string            { return amrOut(r.grant.AMR) }
func (r *refreshRequest) GetAudience() []string       { return []string{r.grant.ClientID} }
func (r *refreshRequest) GetAuthTime() time.Time      { return r.grant.AuthTime }
func (r *refreshRequest) GetClientID() string         { return r.grant.ClientID }
func (r *refreshRequest) GetScopes() []string         { return r.scopes }
func (r *refreshRequest) GetSubject() string          { return r.grant.UserID }
func (r *refreshRequest) SetCurrentScopes(s []string) { r.scopes = s }

// client is an op.Client over a registered client.
type client struct {
	c        store.Client
	loginURL string
	idTTL    time.Duration
}

var _ op.Client = client{}

func (c client) GetID() string                       { return c.c.ID }
func (c client) RedirectURIs() []string              { return c.c.RedirectURIs }
func (c client) PostLogoutRedirectURIs() []string    { return c.c.PostLogoutRedirectURIs }
func (c client) LoginURL(id string) string           { return c.loginURL + "?req=" + id }
func (c client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeJWT }
func (c client) IDTokenLifetime() time.Duration      { return c.idTTL }

// DevMode lets http redirect URIs through op's checks. Twofold's registry
// admits http only for loopback addresses (admin.cleanRedirects), and op
// still compares every URI exactly.
func (c client) DevMode() bool { return true }

func (c client) ApplicationType() op.ApplicationType {
	switch c.c.Kind {
	case store.ClientWeb:
		return op.ApplicationTypeWeb
	case store.ClientNative, store.ClientAgent, store.ClientAddIn, store.ClientMobile:
		return op.ApplicationTypeNative
	}
	return op.ApplicationTypeUserAgent
}

func (c client) AuthMethod() oidc.AuthMethod {
	if c.c.Kind.Confidential() {
		return oidc.AuthMethodBasic
	}
	return oidc.AuthMethodNone
}

func (c client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c client) GrantTypes() []oidc.GrantType {
	if c.c.Kind == store.ClientAgent {
		return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken, oidc.GrantTypeDeviceCode}
	}
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
}

func (c client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (c client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// IsScopeAllowed admits no scopes beyond the standard ones.
func (c client) IsScopeAllowed(string) bool { return false }

// IDTokenUserinfoClaimsAssertion puts the claims of the granted scopes
// into the ID token, so an app needs no userinfo call.
func (c client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c client) ClockSkew() time.Duration             { return 0 }

// allowedScopes are the scopes the client may be granted.
func allowedScopes(c store.Client, all []string) []string {
	if c.Scopes == nil {
		return all
	}
	return c.Scopes
}
