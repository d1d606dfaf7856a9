package oidc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// refreshPrefix starts every refresh token; the rest is 43 characters of
// base64url (32 random bytes). Only its SHA-256 hash is stored.
const refreshPrefix = "tfr_"

// storage implements op.Storage over the store, the sign-in service and the
// signing keys. Every token, userinfo and introspection request decides
// from current data (grantLive): the grant, its client, its session, its
// user and the user's current policy.
type storage struct {
	*Provider
}

var (
	_ op.Storage                        = storage{}
	_ op.CanSetUserinfoFromRequest      = storage{}
	_ op.CanTerminateSessionFromRequest = storage{}
)

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func newRefreshToken() string {
	var b [32]byte
	rand.Read(b[:]) // never returns an error (crypto/rand, Go 1.24+)
	return refreshPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// wallExpiry is the expiry op gets for a token that lives ttl. op signs
// and checks token times against the wall clock, not the injected one
// Twofold's own records use, so it gets a wall-clock time.
func wallExpiry(ttl time.Duration) time.Time { return time.Now().Add(ttl) }

// errGrantGone is what a dead grant, code or token answers: invalid_grant.
func errGrantGone(desc string) *oidc.Error { return oidc.ErrInvalidGrant().WithDescription("%s", desc) }

// refused records a refused token request.
func (s storage) refused(ctx context.Context, g store.Grant, why string) {
	s.audit.Record(ctx, store.AuditEvent{ActorUserID: g.UserID, TargetUserID: g.UserID, Event: audit.TokenRefused,
		Outcome: audit.Denied, Detail: fmt.Sprintf("client %s grant %s: %s", g.ClientID, g.ID, why)})
}

// revoke revokes a grant (a whole token family) and records why.
func (s storage) revoke(ctx context.Context, g store.Grant, why string) {
	if err := s.store.RevokeGrant(ctx, g.ID, s.now().UTC(), why); err != nil {
		s.log.Error("oidc: revoke grant", "grant", g.ID, "err", err)
	}
	s.audit.Record(ctx, store.AuditEvent{ActorUserID: g.UserID, TargetUserID: g.UserID, Event: audit.TokenRevoked,
		Outcome: audit.Success, Detail: fmt.Sprintf("client %s grant %s: %s", g.ClientID, g.ID, why)})
}

// grantLive decides from current data whether g may still be used: it is
// not revoked, its client exists, its session was not revoked (sign-out,
// MFA reset, password change, disabling) nor past its absolute lifetime,
// its user is enabled and still in the client's org subtree, and what the
// grant proved still satisfies the user's current policy and the client's
// require_mfa. A grant that can never be valid again is revoked.
func (s storage) grantLive(ctx context.Context, g store.Grant) (signin.Principal, store.Client, error) {
	if g.RevokedAt != nil {
		s.refused(ctx, g, "revoked")
		return signin.Principal{}, store.Client{}, errGrantGone("the grant was revoked")
	}
	cl, err := s.store.GetClient(ctx, g.ClientID)
	if errors.Is(err, store.ErrNotFound) {
		return signin.Principal{}, store.Client{}, errGrantGone("the client no longer exists")
	}
	if err != nil {
		return signin.Principal{}, store.Client{}, err
	}
	p, err := s.signin.SessionPrincipal(ctx, g.SessionID)
	if errors.Is(err, signin.ErrUnauthenticated) {
		s.revoke(ctx, g, "its session ended")
		return signin.Principal{}, store.Client{}, errGrantGone("the sign-in ended")
	}
	if err != nil {
		return signin.Principal{}, store.Client{}, err
	}
	clientOrg, err := s.store.GetOrg(ctx, cl.OrgID)
	if err != nil {
		return signin.Principal{}, store.Client{}, err
	}
	if p.User.ID != g.UserID || !clientOrg.IsAncestorOf(p.Org) {
		s.revoke(ctx, g, "the user is no longer in the client's organizations")
		return signin.Principal{}, store.Client{}, errGrantGone("access denied")
	}
	if !slices.Contains(g.AMR, "mfa") && (requiresMFA(cl) || p.Lacks != nil) {
		s.revoke(ctx, g, "a second factor is now required")
		return signin.Principal{}, store.Client{}, errGrantGone("a second factor is now required")
	}
	return p, cl, nil
}

// CreateAuthRequest stores an authorization request that op validated
// (client, redirect URI, response type). Twofold adds its own rules: the
// openid scope is required and every scope must be allowed for the client
// (invalid_scope); public clients must send a PKCE challenge, and only
// S256 is accepted (invalid_request).
func (s storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, userID string) (op.AuthRequest, error) {
	cl, err := s.store.GetClient(ctx, req.ClientID)
	if err != nil {
		return nil, oidc.ErrInvalidRequestRedirectURI().WithDescription("unknown client")
	}
	if !slices.Contains(req.Scopes, oidc.ScopeOpenID) {
		return nil, oidc.ErrInvalidScope().WithDescription("the openid scope is required")
	}
	allowed := allowedScopes(cl, admin.ClientScopes)
	for _, sc := range req.Scopes {
		if !slices.Contains(allowed, sc) {
			return nil, oidc.ErrInvalidScope().WithDescription("scope %s is not allowed for this client", sc)
		}
	}
	if req.CodeChallenge == "" && !cl.Kind.Confidential() {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE with S256 is required for public clients")
	}
	if req.CodeChallenge != "" && req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("only the S256 code challenge method is accepted")
	}
	p := params{RedirectURI: req.RedirectURI, Scopes: req.Scopes, State: req.State, Nonce: req.Nonce,
		ResponseType: string(req.ResponseType), ResponseMode: string(req.ResponseMode), Challenge: req.CodeChallenge,
		ChallengeMethod: string(req.CodeChallengeMethod), ACRValues: req.ACRValues, MaxAge: req.MaxAge,
		Prompt: req.Prompt, LoginHint: req.LoginHint, HintSubject: userID}
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	rec, err := s.store.CreateAuthRequest(ctx, store.AuthRequest{ClientID: cl.ID, Params: raw, CreatedAt: now,
		ExpiresAt: now.Add(s.opts.RequestTTL)})
	if err != nil {
		return nil, err
	}
	return &authRequest{rec: rec, p: p}, nil
}

// AuthRequestByID returns a live request; an expired one is not found.
func (s storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	rec, err := s.store.GetAuthRequest(ctx, id)
	if err != nil {
		return nil, err
	}
	if !s.now().Before(rec.ExpiresAt) {
		return nil, errors.New("oidc: auth request expired")
	}
	return newAuthRequest(rec)
}

// AuthRequestByCode returns the request of a code that is unexpired and
// not redeemed. A code presented again after it was redeemed revokes what
// its first redemption issued (RFC 6749 §4.1.2).
func (s storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	rec, err := s.store.GetAuthRequestByCode(ctx, hash(code))
	if err != nil {
		return nil, err
	}
	if rec.RedeemedAt != nil {
		s.revoke(ctx, store.Grant{ID: rec.ID, ClientID: rec.ClientID, UserID: rec.UserID}, "its code was presented again")
		return nil, errors.New("oidc: code already redeemed")
	}
	if rec.CodeExpiresAt == nil || !s.now().Before(*rec.CodeExpiresAt) {
		return nil, errors.New("oidc: code expired")
	}
	return newAuthRequest(rec)
}

// SaveAuthCode stores the hash of the request's code, once; it lives
// CodeTTL.
func (s storage) SaveAuthCode(ctx context.Context, id, code string) error {
	ok, err := s.store.SetAuthCode(ctx, id, hash(code), s.now().UTC().Add(s.opts.CodeTTL))
	if err != nil {
		return err
	}
	if !ok {
		return oidc.ErrInvalidRequest().WithDescription("this sign-in already produced a code")
	}
	return nil
}

// DeleteAuthRequest keeps the request: a redeemed request must stay until
// it expires, so that a second redemption of its code is recognized. The
// sweep removes it.
func (s storage) DeleteAuthRequest(context.Context, string) error { return nil }

// CreateAccessToken issues an access token without a refresh token: only
// for a code redemption without offline_access.
func (s storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	if st, ok := req.(*op.DeviceAuthorizationState); ok {
		id, _, exp, err := s.redeemDevice(ctx, st, false)
		return id, exp, err
	}
	ar, ok := req.(*authRequest)
	if !ok {
		return "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	id, _, exp, err := s.redeem(ctx, ar, false)
	return id, exp, err
}

// CreateAccessAndRefreshTokens redeems a code with offline_access, or
// rotates a refresh token: the presented token is used once, atomically;
// presenting it again revokes the whole family.
func (s storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	switch r := req.(type) {
	case *op.DeviceAuthorizationState:
		return s.redeemDevice(ctx, r, true)
	case *authRequest:
		return s.redeem(ctx, r, true)
	case *refreshRequest:
		now := s.now().UTC()
		next := newRefreshToken()
		a := store.AccessToken{ID: store.NewID(), GrantID: r.grant.ID, CreatedAt: now, ExpiresAt: now.Add(s.opts.AccessTTL)}
		ok, err := s.store.RotateRefreshToken(ctx, hash(current), now,
			store.RefreshToken{ID: store.NewID(), GrantID: r.grant.ID, TokenHash: hash(next), CreatedAt: now,
				ExpiresAt: now.Add(s.opts.RefreshTTL)}, a)
		if err != nil {
			return "", "", time.Time{}, err
		}
		if !ok {
			s.revoke(ctx, r.grant, "a used refresh token was presented again")
			return "", "", time.Time{}, errGrantGone("refresh token already used")
		}
		s.audit.Record(ctx, store.AuditEvent{ActorUserID: r.grant.UserID, TargetUserID: r.grant.UserID,
			Event: audit.TokenRefreshed, Outcome: audit.Success, Detail: fmt.Sprintf("client %s grant %s", r.grant.ClientID, r.grant.ID)})
		return a.ID, next, wallExpiry(s.opts.AccessTTL), nil
	}
	return "", "", time.Time{}, oidc.ErrUnsupportedGrantType()
}

// redeem turns a code into a grant with an access token (and a refresh
// token when asked). Exactly one redemption of a code wins; a loser revokes
// what the winner got.
func (s storage) redeem(ctx context.Context, ar *authRequest, withRefresh bool) (string, string, time.Time, error) {
	rec := ar.rec
	g := store.Grant{ID: rec.ID, ClientID: rec.ClientID, UserID: rec.UserID, SessionID: rec.SessionID,
		Scopes: ar.p.Scopes, AMR: rec.AMR, AuthTime: ar.GetAuthTime(), CreatedAt: s.now().UTC()}
	pr, cl, err := s.grantLive(ctx, g)
	if err != nil {
		return "", "", time.Time{}, err
	}
	device, err := s.deviceForCode(ctx, &g, pr, cl)
	if err != nil {
		return "", "", time.Time{}, err
	}
	now := s.now().UTC()
	a := store.AccessToken{ID: store.NewID(), GrantID: g.ID, CreatedAt: now, ExpiresAt: now.Add(s.opts.AccessTTL)}
	var (
		refresh string
		rt      *store.RefreshToken
	)
	if withRefresh {
		refresh = newRefreshToken()
		rt = &store.RefreshToken{ID: store.NewID(), GrantID: g.ID, TokenHash: hash(refresh), CreatedAt: now,
			ExpiresAt: now.Add(s.opts.RefreshTTL)}
	}
	ok, err := s.store.RedeemAuthCode(ctx, rec.ID, now, g, a, rt)
	if (err != nil || !ok) && device != "" {
		_, _ = s.store.RevokeDevice(ctx, device, now, "its authorization code was not redeemed")
	}
	if err != nil {
		return "", "", time.Time{}, err
	}
	if !ok {
		s.revoke(ctx, g, "its code was redeemed twice")
		return "", "", time.Time{}, errGrantGone("code already used")
	}
	s.audit.Record(ctx, store.AuditEvent{ActorUserID: g.UserID, TargetUserID: g.UserID, Event: audit.TokenIssued,
		Outcome: audit.Success, Detail: fmt.Sprintf("client %s grant %s scopes=%s refresh=%t", g.ClientID, g.ID,
			strings.Join(g.Scopes, " "), withRefresh)})
	return a.ID, refresh, wallExpiry(s.opts.AccessTTL), nil
}

// TokenRequestByRefreshToken returns the grant of a refresh token that is
// unused and unexpired, and whose grant is live now. A used token revokes
// its family.
func (s storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	rt, err := s.store.GetRefreshToken(ctx, hash(token))
	if err != nil {
		return nil, err
	}
	g, err := s.store.GetGrant(ctx, rt.GrantID)
	if err != nil {
		return nil, err
	}
	if rt.UsedAt != nil {
		s.revoke(ctx, g, "a used refresh token was presented again")
		return nil, errGrantGone("refresh token already used")
	}
	if !s.now().Before(rt.ExpiresAt) {
		return nil, errGrantGone("refresh token expired")
	}
	if _, _, err := s.grantLive(ctx, g); err != nil {
		return nil, err
	}
	return &refreshRequest{grant: g, scopes: g.Scopes}, nil
}

// TerminateSession is used only when TerminateSessionFromRequest is not;
// see there.
func (s storage) TerminateSession(context.Context, string, string) error { return nil }

// TerminateSessionFromRequest ends the Twofold session named by the
// id_token_hint's sid (RP-initiated logout): the browser is signed out of
// Twofold, and every grant from that session dies with it. Without a hint
// nothing is ended.
func (s storage) TerminateSessionFromRequest(ctx context.Context, req *op.EndSessionRequest) (string, error) {
	if req.IDTokenHintClaims != nil && req.UserID != "" {
		if sid, _ := req.IDTokenHintClaims.Claims["sid"].(string); sid != "" {
			if sess, err := s.store.GetSession(ctx, sid); err == nil && sess.UserID == req.UserID && sess.RevokedAt == nil {
				if err := s.store.RevokeSession(ctx, sid, s.now().UTC(), "signout by app"); err != nil {
					return "", err
				}
				s.audit.Record(ctx, store.AuditEvent{ActorUserID: req.UserID, TargetUserID: req.UserID, Event: audit.SignOut,
					Outcome: audit.Success, Detail: fmt.Sprintf("session %s by client %s", sid, req.ClientID)})
			}
		}
	}
	return req.RedirectURI, nil
}

// RevokeToken revokes a refresh token's whole grant, or one access token
// (RFC 7009). Unknown tokens are not an error.
func (s storage) RevokeToken(ctx context.Context, tokenOrID, userID, clientID string) *oidc.Error {
	if g, err := s.store.GetGrant(ctx, tokenOrID); err == nil {
		if g.ClientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("the token was issued to another client")
		}
		s.revoke(ctx, g, "revoked by the client")
		return nil
	}
	a, err := s.store.GetAccessToken(ctx, tokenOrID)
	if err != nil {
		return nil
	}
	g, err := s.store.GetGrant(ctx, a.GrantID)
	if err != nil || g.ClientID != clientID {
		return nil
	}
	if err := s.store.RevokeAccessToken(ctx, a.ID, s.now().UTC()); err != nil {
		return oidc.ErrServerError()
	}
	s.audit.Record(ctx, store.AuditEvent{ActorUserID: g.UserID, TargetUserID: g.UserID, Event: audit.TokenRevoked,
		Outcome: audit.Success, Detail: fmt.Sprintf("client %s access token %s", clientID, a.ID)})
	return nil
}

// GetRefreshTokenInfo identifies a refresh token for revocation: it
// answers the grant's id, so that revoking it revokes the family.
func (s storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	if !strings.HasPrefix(token, refreshPrefix) {
		return "", "", op.ErrInvalidRefreshToken
	}
	rt, err := s.store.GetRefreshToken(ctx, hash(token))
	if err != nil {
		return "", "", op.ErrInvalidRefreshToken
	}
	g, err := s.store.GetGrant(ctx, rt.GrantID)
	if err != nil || g.ClientID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	return g.UserID, g.ID, nil
}

// SigningKey is the key of the algorithm the token request's client was
// registered with (withClientAlg put it in ctx); ES256 by default.
func (s storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	return s.keys.ActiveFor(ctx, signingAlgOf(ctx))
}

func (s storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.ES256, jose.RS256}, nil
}

func (s storage) KeySet(ctx context.Context) ([]op.Key, error) { return s.keys.Set(ctx) }

// GetClientByClientID returns a registered client; an unknown one, or a
// protected app behind a forward-auth proxy (kind proxy, which speaks no
// OpenID Connect), is invalid_client.
func (s storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	cl, err := s.store.GetClient(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && cl.Kind == store.ClientProxy) {
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client")
	}
	if err != nil {
		return nil, err
	}
	return client{c: cl, loginURL: s.opts.LoginPath, idTTL: s.opts.IDTokenTTL}, nil
}

// AuthorizeClientIDSecret checks a confidential client's secret; a
// failure counts against the address and the client_id (clientauth.go).
func (s storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	cl, err := s.store.GetClient(ctx, id)
	if err != nil || !admin.CheckClientSecret(cl, secret) {
		s.clientAuthFailed(ctx, id)
		return oidc.ErrInvalidClient().WithDescription("invalid client credentials")
	}
	return nil
}

// userClaims fills ui with the claims of scopes for the user with the
// given id: sub always; preferred_username and name (profile); email and
// email_verified (email); the org (id, slug, path of slugs from the root)
// and the role.
func (s storage) userClaims(ctx context.Context, ui *oidc.UserInfo, userID string, scopes []string) error {
	u, err := s.store.GetUser(ctx, userID)
	if err != nil {
		return err
	}
	ui.Subject = u.ID
	if slices.Contains(scopes, oidc.ScopeProfile) {
		ui.PreferredUsername = u.Username
		ui.Name = u.Username
	}
	if slices.Contains(scopes, oidc.ScopeEmail) && u.Email != "" {
		ui.Email = u.Email
		ui.EmailVerified = oidc.Bool(u.EmailConfirmedAt != nil)
	}
	chain, err := s.store.OrgChain(ctx, u.OrgID)
	if err != nil {
		return err
	}
	slugs := make([]string, len(chain))
	for i, o := range chain {
		slugs[i] = o.Slug
	}
	org := chain[len(chain)-1]
	ui.AppendClaims("org", map[string]any{"id": org.ID, "slug": org.Slug, "path": slugs})
	ui.AppendClaims("role", string(u.Role))
	return nil
}

func (s storage) SetUserinfoFromScopes(ctx context.Context, ui *oidc.UserInfo, userID, _ string, scopes []string) error {
	return s.userClaims(ctx, ui, userID, scopes)
}

// SetUserinfoFromRequest adds the ID token's own claims: sid (the Twofold
// session, for RP-initiated logout), and acr on a refresh, where op does
// not set it.
func (s storage) SetUserinfoFromRequest(ctx context.Context, ui *oidc.UserInfo, req op.IDTokenRequest, _ []string) error {
	switch r := req.(type) {
	case *authRequest:
		ui.AppendClaims("sid", r.rec.SessionID)
	case *refreshRequest:
		ui.AppendClaims("sid", r.grant.SessionID)
		ui.AppendClaims("acr", acrOf(r.grant.AMR))
	case *op.DeviceAuthorizationState:
		ui.AppendClaims("acr", acrOf(r.AMR))
	}
	return nil
}

// accessGrant returns the live grant of a live access token.
func (s storage) accessGrant(ctx context.Context, tokenID, subject string) (store.Grant, error) {
	a, err := s.store.GetAccessToken(ctx, tokenID)
	if err != nil {
		return store.Grant{}, err
	}
	if a.RevokedAt != nil || !s.now().Before(a.ExpiresAt) {
		return store.Grant{}, errors.New("oidc: access token revoked or expired")
	}
	g, err := s.store.GetGrant(ctx, a.GrantID)
	if err != nil {
		return store.Grant{}, err
	}
	if g.UserID != subject {
		return store.Grant{}, errors.New("oidc: subject mismatch")
	}
	if _, _, err := s.grantLive(ctx, g); err != nil {
		return store.Grant{}, err
	}
	return g, nil
}

// SetUserinfoFromToken answers the userinfo endpoint for a live access
// token, from current data.
func (s storage) SetUserinfoFromToken(ctx context.Context, ui *oidc.UserInfo, tokenID, subject, _ string) error {
	g, err := s.accessGrant(ctx, tokenID, subject)
	if err != nil {
		return oidc.ErrAccessDenied().WithDescription("the access token is not valid")
	}
	return s.userClaims(ctx, ui, g.UserID, g.Scopes)
}

// SetIntrospectionFromToken answers introspection (RFC 7662): active only
// while the token and its grant are live now.
func (s storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	g, err := s.accessGrant(ctx, tokenID, subject)
	if err != nil {
		return err
	}
	ui := new(oidc.UserInfo)
	if err := s.userClaims(ctx, ui, g.UserID, g.Scopes); err != nil {
		return err
	}
	resp.SetUserInfo(ui)
	resp.Scope = g.Scopes
	resp.ClientID = g.ClientID
	resp.Audience = []string{g.ClientID}
	resp.Active = true
	return nil
}

func (s storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("oidc: private_key_jwt is not supported")
}

func (s storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("oidc: the JWT profile grant is not supported")
}

func (s storage) Health(ctx context.Context) error { return s.store.Ping(ctx) }
