// Package oidc makes Twofold an OpenID Connect provider for registered
// clients (see internal/admin/clients.go). The protocol — discovery, the
// authorization, token, userinfo, revocation, introspection and end-session
// endpoints, PKCE, token formats and RFC error answers — is
// github.com/zitadel/oidc's op package; this package supplies its storage
// over the store, the signing keys, and the decisions the portal asks for
// while it carries an authorization request through sign-in (Continue).
//
// Every decision about a user is made from current data: at the
// authorization step, and again at every token, refresh, userinfo and
// introspection request (storage.grantLive).
//
// It depends on signin, admin and store; nothing there depends on it.
package oidc

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// Paths of the provider. The portal serves LoginPath.
const (
	PathPrefix    = "/oauth2/"
	DiscoveryPath = "/.well-known/openid-configuration"
	callbackPath  = "/oauth2/authorize/callback"
	LoginPath     = "/login/app"
)

// Options are the provider's settings; zero values take the defaults.
type Options struct {
	// Issuer is the public URL (--public-url), without a trailing slash.
	Issuer string
	// CodeTTL is how long an authorization code lives (default 60 s).
	CodeTTL time.Duration
	// RequestTTL is how long a user has to sign in (default 30 min).
	RequestTTL time.Duration
	// AccessTTL, IDTokenTTL and RefreshTTL are token lifetimes (defaults
	// 15 min, 1 h, 30 days; a grant also ends with its Twofold session).
	AccessTTL, IDTokenTTL, RefreshTTL time.Duration
	// KeyKeep is how long a replaced signing key stays in the key set
	// (default 48 h, beyond any token it signed).
	KeyKeep time.Duration
	// LoginPath is where op sends the browser to sign in (LoginPath).
	LoginPath string
	// DeviceCodeTTL is how long a device authorization request lives
	// (default 10 min); DevicePollInterval is how often its agent may
	// poll (default 5 s; faster polls get slow_down).
	DeviceCodeTTL, DevicePollInterval time.Duration
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.CodeTTL, 60*time.Second)
	def(&o.RequestTTL, 30*time.Minute)
	def(&o.AccessTTL, 15*time.Minute)
	def(&o.IDTokenTTL, time.Hour)
	def(&o.RefreshTTL, 30*24*time.Hour)
	def(&o.KeyKeep, 48*time.Hour)
	def(&o.DeviceCodeTTL, 10*time.Minute)
	def(&o.DevicePollInterval, 5*time.Second)
	if o.LoginPath == "" {
		o.LoginPath = LoginPath
	}
	o.Issuer = strings.TrimRight(o.Issuer, "/")
}

// Deps are the provider's collaborators.
type Deps struct {
	Store  store.Store
	Signin *signin.Service
	Audit  *audit.Logger
	Keys   *Keys
	Log    *slog.Logger
	Now    func() time.Time
}

// Provider is the OpenID Connect provider.
type Provider struct {
	store  store.Store
	signin *signin.Service
	audit  *audit.Logger
	keys   *Keys
	log    *slog.Logger
	now    func() time.Time
	opts   Options
	op     *op.Provider
	// deviceStates hands an approved device authorization from the poll
	// that found it (GetDeviceAuthorizatonState) to the token creation of
	// the same request (redeemDevice), keyed by op's state pointer.
	deviceStates *sync.Map
	// authLimits bound failed client authentications (clientauth.go).
	authLimits clientAuthLimits
}

// New returns the provider. The signing keys must exist (Keys.Ensure).
func New(d Deps, o Options) (*Provider, error) {
	o.defaults()
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	p := &Provider{store: d.Store, signin: d.Signin, audit: d.Audit, keys: d.Keys, log: d.Log, now: d.Now, opts: o, deviceStates: &sync.Map{},
		authLimits: newClientAuthLimits(d.Now)}
	cfg := &op.Config{
		CodeMethodS256:           true,
		GrantTypeRefreshToken:    true,
		AuthMethodPost:           false,
		DefaultLogoutRedirectURI: "/login?msg=signedout",
		SupportedScopes:          []string{"openid", "profile", "email", "offline_access"},
		// The portal speaks English only; ui_locales is accepted and
		// answered in English (OpenID Connect Core §3.1.2.1 allows that).
		SupportedUILocales: []language.Tag{language.English},
		SupportedClaims: []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "acr", "amr", "azp",
			"preferred_username", "name", "email", "email_verified", "org", "role", "sid"},
		DeviceAuthorization: op.DeviceAuthorizationConfig{Lifetime: o.DeviceCodeTTL, PollInterval: o.DevicePollInterval,
			UserFormPath: DevicePath, UserCode: op.UserCodeBase20},
	}
	// The key encrypts nothing that is ever decrypted: codes are looked up
	// by their hash and access tokens are JWTs. A random key per process
	// is therefore enough, and instances need not share it.
	rand.Read(cfg.CryptoKey[:])
	opts := []op.Option{
		op.WithCustomEndpoints(op.NewEndpoint(PathPrefix+"authorize"), op.NewEndpoint(PathPrefix+"token"),
			op.NewEndpoint(PathPrefix+"userinfo"), op.NewEndpoint(PathPrefix+"revoke"),
			op.NewEndpoint(PathPrefix+"end_session"), op.NewEndpoint(PathPrefix+"keys")),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint(PathPrefix + "introspect")),
		op.WithCustomDeviceAuthorizationEndpoint(op.NewEndpoint(PathPrefix + "device_authorization")),
	}
	if strings.HasPrefix(o.Issuer, "http://") {
		opts = append(opts, op.WithAllowInsecure())
	}
	prov, err := op.NewOpenIDProvider(o.Issuer, cfg, storage{p}, opts...)
	if err != nil {
		return nil, err
	}
	p.op = prov
	return p, nil
}

// Handler serves discovery and the /oauth2/ endpoints. Mount it at
// DiscoveryPath and PathPrefix, with the request's address in the context
// (WithClientIP) for the client authentication limits.
func (p *Provider) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+DiscoveryPath, p.discovery)
	mux.Handle(PathPrefix+"token", p.limitClientAuth(p.withClientAlg(p.op)))
	for _, ep := range []string{"introspect", "revoke", "device_authorization"} {
		mux.Handle(PathPrefix+ep, p.limitClientAuth(p.op))
	}
	mux.Handle(PathPrefix, p.withIss(p.op))
	return mux
}

// discovery serves op's discovery document with what op leaves out: the
// acr values Twofold names, and RFC 9207's iss parameter.
func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	p.op.ServeHTTP(rec, r)
	var doc map[string]any
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &doc) != nil {
		http.Error(w, "discovery unavailable", http.StatusInternalServerError)
		return
	}
	doc["acr_values_supported"] = acrValuesSupported
	doc["authorization_response_iss_parameter_supported"] = true
	doc["code_challenge_methods_supported"] = []string{"S256"}
	doc["grant_types_supported"] = []string{"authorization_code", "refresh_token", string(oidc.GrantTypeDeviceCode)}
	doc["response_types_supported"] = []string{"code"}
	var b bytes.Buffer
	json.NewEncoder(&b).Encode(doc)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(b.Bytes())
}

// withIss adds iss to every authorization response that redirects to a
// client with a code or an error (RFC 9207).
func (p *Provider) withIss(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, PathPrefix+"authorize") {
			w = issWriter{ResponseWriter: w, issuer: p.opts.Issuer}
		}
		next.ServeHTTP(w, r)
	})
}

type issWriter struct {
	http.ResponseWriter
	issuer string
}

func (w issWriter) WriteHeader(code int) {
	if code == http.StatusFound || code == http.StatusSeeOther {
		if u, err := url.Parse(w.Header().Get("Location")); err == nil {
			if q := u.Query(); (q.Has("code") || q.Has("error")) && !q.Has("iss") {
				q.Set("iss", w.issuer)
				u.RawQuery = q.Encode()
				w.Header().Set("Location", u.String())
			}
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

// errorRedirect is the authorization error response (RFC 6749 §4.1.2.1),
// sent only to a redirect URI that op checked against the client.
func (p *Provider) errorRedirect(ar *authRequest, e *oidc.Error) string {
	u, err := url.Parse(ar.p.RedirectURI)
	if err != nil {
		return ""
	}
	q := u.Query()
	q.Set("error", string(e.ErrorType))
	if e.Description != "" {
		q.Set("error_description", e.Description)
	}
	if ar.p.State != "" {
		q.Set("state", ar.p.State)
	}
	q.Set("iss", p.opts.Issuer)
	u.RawQuery = q.Encode()
	return u.String()
}

// Ping reports whether a request context can reach the provider's storage.
func (p *Provider) Ping(ctx context.Context) error { return p.store.Ping(ctx) }
