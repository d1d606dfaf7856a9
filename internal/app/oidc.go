package app

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/oidc"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// signingKeyKeep is how long a replaced signing key stays in the key set:
// longer than any token it signed (ID tokens live an hour).
const signingKeyKeep = 48 * time.Hour

// signingKeyLead is how long a key from the scheduled rotation is
// published before it signs: longer than relying parties keep a fetched
// key set, so none meets a token whose key it has not seen.
const signingKeyLead = time.Hour

// SigningKeys returns the OpenID Connect signing keys, sealed in the store
// under the secret keys.
func (a *App) SigningKeys() *oidc.Keys {
	return oidc.NewKeys(a.Store, a.sealer, a.Now, signingKeyKeep)
}

// RotateSigningKeys makes new signing keys active; the old ones stay in the
// key set until the tokens they signed have expired. Every instance signs
// with the new key at its next token.
func (a *App) RotateSigningKeys(ctx context.Context, c signin.Client) (string, error) {
	k := a.SigningKeys()
	if err := k.Ensure(ctx); err != nil {
		return "", err
	}
	kid, err := k.Rotate(ctx)
	if err != nil {
		return "", err
	}
	a.Audit.Record(ctx, store.AuditEvent{Event: audit.SigningKeyRotated, Outcome: audit.Success, IP: c.IP,
		UserAgent: c.UserAgent, Detail: "new ES256 key " + kid})
	return kid, nil
}

// rotateSigningKeysIfDue is the scheduled rotation (--oidc-key-rotation),
// run by the sweep: see oidc.Keys.RotateIfDue.
func (a *App) rotateSigningKeysIfDue(ctx context.Context) error {
	kid, err := a.SigningKeys().RotateIfDue(ctx, a.Config.OIDCKeyRotation, signingKeyLead)
	if err != nil || kid == "" {
		return err
	}
	a.Audit.Record(ctx, store.AuditEvent{Event: audit.SigningKeyRotated, Outcome: audit.Success,
		Detail: fmt.Sprintf("scheduled: new ES256 key %s signs from %s", kid, a.Now().UTC().Add(signingKeyLead).Format(time.RFC3339))})
	return nil
}

// providerOnce builds the OpenID Connect provider at its first use, so
// that commands and servers that never see an app generate no keys.
type providerOnce struct {
	mu sync.Mutex
	p  *oidc.Provider
}

// OIDC returns the provider, creating the signing keys on first use.
func (a *App) OIDC(ctx context.Context) (*oidc.Provider, error) {
	a.oidc.mu.Lock()
	defer a.oidc.mu.Unlock()
	if a.oidc.p != nil {
		return a.oidc.p, nil
	}
	keys := a.SigningKeys()
	if err := keys.Ensure(ctx); err != nil {
		return nil, fmt.Errorf("oidc signing keys: %w", err)
	}
	p, err := oidc.New(oidc.Deps{Store: a.Store, Signin: a.Signin, Audit: a.Audit, Keys: keys, Log: a.Log, Now: a.Now},
		oidc.Options{Issuer: a.Config.BaseURL()})
	if err != nil {
		return nil, err
	}
	a.oidc.p = p
	return p, nil
}

// oidcHandler serves the provider's endpoints.
func (a *App) oidcHandler(client func(*http.Request) signin.Client) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(oidc.WithClientIP(r.Context(), client(r).IP))
		p, err := a.OIDC(r.Context())
		if err != nil {
			a.Log.Error("oidc provider unavailable", "err", err)
			http.Error(w, "OpenID Connect is unavailable", http.StatusServiceUnavailable)
			return
		}
		p.Handler().ServeHTTP(w, r)
	})
}

// appSignIn is the provider as the portal sees it, built at first use.
type appSignIn struct{ a *App }

func (s appSignIn) Continue(ctx context.Context, id string, p *signin.Principal, c signin.Client) (oidc.Step, error) {
	prov, err := s.a.OIDC(ctx)
	if err != nil {
		return oidc.Step{}, err
	}
	return prov.Continue(ctx, id, p, c)
}

func (s appSignIn) Consent(ctx context.Context, id string, p *signin.Principal, c signin.Client, allow bool) (oidc.Step, error) {
	prov, err := s.a.OIDC(ctx)
	if err != nil {
		return oidc.Step{}, err
	}
	return prov.Consent(ctx, id, p, c, allow)
}

func (s appSignIn) Apps(ctx context.Context, userID string) ([]oidc.App, error) {
	return oidc.Grants{Store: s.a.Store, Audit: s.a.Audit, Now: s.a.Now}.List(ctx, userID)
}

func (s appSignIn) RevokeApp(ctx context.Context, userID, grantID string, c signin.Client) error {
	return oidc.Grants{Store: s.a.Store, Audit: s.a.Audit, Now: s.a.Now}.Revoke(ctx, userID, grantID, c)
}

func (s appSignIn) DeviceRequest(ctx context.Context, userCode string) (oidc.DeviceRequestView, error) {
	prov, err := s.a.OIDC(ctx)
	if err != nil {
		return oidc.DeviceRequestView{}, err
	}
	return prov.DeviceRequest(ctx, userCode)
}

func (s appSignIn) DecideDevice(ctx context.Context, p signin.Principal, userCode, name string, approve bool, c signin.Client) error {
	prov, err := s.a.OIDC(ctx)
	if err != nil {
		return err
	}
	return prov.DecideDevice(ctx, p, userCode, name, approve, c)
}
