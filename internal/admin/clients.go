package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/forwardauth"
	"github.com/twofold-id/twofold/internal/problem"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// ClientSecretPrefix starts every client secret; the rest is 43 characters
// of base64url (32 random bytes).
const ClientSecretPrefix = "tfc_"

// ClientScopes are the scopes a registered client may ask for.
var ClientScopes = []string{"openid", "profile", "email", "offline_access"}

// maxRedirectURIs bounds the redirect lists of one client.
const maxRedirectURIs = 20

// NewClient describes an application to register.
type NewClient struct {
	OrgSlug                string
	Name                   string
	Kind                   store.ClientKind
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	Scopes                 []string // nil: every scope in ClientScopes
	RequireMFA             bool
	// IDTokenAlg is id_token_signed_response_alg: "" or "ES256" (the
	// default), or "RS256" for relying parties that verify only RSA.
	IDTokenAlg string
	// Hosts and Rules describe a proxy client (kind proxy) and only it.
	Hosts       []string
	Rules       []forwardauth.RuleInput
	DeviceRules store.DeviceRules // device kinds only
}

// ErrHostTaken answers a proxy client's host that another client already
// has: a request to a host must name exactly one protected app.
var ErrHostTaken = problem.Define(http.StatusConflict, "host_taken", "Another protected app already has that host.")

// ClientPatch changes a registered client; nil fields stay as they are.
// The kind of a client never changes.
type ClientPatch struct {
	Name                   *string
	RedirectURIs           *[]string
	PostLogoutRedirectURIs *[]string
	Scopes                 *[]string
	RequireMFA             *bool
	IDTokenAlg             *string
	Hosts                  *[]string                // proxy clients only
	Rules                  *[]forwardauth.RuleInput // proxy clients only
	DeviceRules            *store.DeviceRules       // device kinds only
}

// A ClientRow is a client with its org, as shown to an admin. Its
// SecretHash is always empty.
type ClientRow struct {
	Client store.Client
	Org    store.Org
}

// CreateClient registers an application with an org of the actor's
// subtree. For a confidential (web) client it returns the client secret,
// shown this once: only its SHA-256 hash is stored. Registering an
// application hands it the identities of the org's users, so it is a
// sensitive action (a fresh second factor for sessions).
func (s *Service) CreateClient(ctx context.Context, a access.Actor, n NewClient, c signin.Client) (ClientRow, string, error) {
	org, err := s.Org(ctx, a, n.OrgSlug)
	if err != nil {
		return ClientRow{}, "", err
	}
	if err := s.requireStepUp(ctx, a); err != nil {
		return ClientRow{}, "", err
	}
	cl := store.Client{OrgID: org.ID, Kind: n.Kind, RequireMFA: n.RequireMFA, CreatedBy: actorRecord(a), DeviceRules: n.DeviceRules}
	if err := checkDeviceRules(n.Kind, n.DeviceRules); err != nil {
		return ClientRow{}, "", err
	}
	switch n.Kind {
	case store.ClientWeb, store.ClientSPA, store.ClientNative, store.ClientAgent, store.ClientAddIn, store.ClientMobile:
		if len(n.Hosts) > 0 || len(n.Rules) > 0 {
			return ClientRow{}, "", ErrInvalid.WithMessage("hosts and rules are for protected apps (kind proxy).").WithField("hosts")
		}
	case store.ClientProxy:
	default:
		return ClientRow{}, "", ErrInvalid.WithMessage("kind must be web, spa, native, proxy, agent, add-in or mobile.").WithField("kind")
	}
	if cl.Name, err = cleanName(n.Name); err != nil {
		return ClientRow{}, "", err
	}
	if n.Kind == store.ClientProxy {
		if cl, err = proxyClient(cl, n); err != nil {
			return ClientRow{}, "", err
		}
		return s.storeNewClient(ctx, a, org, cl, "", c)
	}
	_, device := n.Kind.DeviceKind() // devices may sign in through the JSON API alone
	if cl.RedirectURIs, err = cleanRedirects(n.Kind, n.RedirectURIs, "redirect_uris", !device); err != nil {
		return ClientRow{}, "", err
	}
	if cl.PostLogoutRedirectURIs, err = cleanRedirects(n.Kind, n.PostLogoutRedirectURIs, "post_logout_redirect_uris", false); err != nil {
		return ClientRow{}, "", err
	}
	if cl.Scopes, err = cleanScopes(n.Scopes); err != nil {
		return ClientRow{}, "", err
	}
	if cl.IDTokenAlg, err = cleanIDTokenAlg(n.IDTokenAlg); err != nil {
		return ClientRow{}, "", err
	}
	var secret string
	if n.Kind.Confidential() {
		secret, cl.SecretHash = newClientSecret()
	}
	return s.storeNewClient(ctx, a, org, cl, secret, c)
}

// storeNewClient stores a checked new client and records it.
func (s *Service) storeNewClient(ctx context.Context, a access.Actor, org store.Org, cl store.Client, secret string, c signin.Client) (ClientRow, string, error) {
	now := s.now().UTC()
	cl.CreatedAt, cl.UpdatedAt = now, now
	cl, err := s.store.CreateClient(ctx, cl)
	if err != nil {
		return ClientRow{}, "", clientStoreErr(err)
	}
	s.record(ctx, a, store.AuditEvent{Event: audit.ClientCreated, OrgID: org.ID,
		Detail: fmt.Sprintf("client %s %q kind=%s require_mfa=%t alg=%s%s", cl.ID, cl.Name, cl.Kind, cl.RequireMFA, cl.SigningAlg(), proxyDetail(cl))}, c)
	cl.SecretHash = nil
	return ClientRow{Client: cl, Org: org}, secret, nil
}

// proxyClient checks what a proxy client is made of: hosts and rules,
// and none of the OpenID Connect fields.
func proxyClient(cl store.Client, n NewClient) (store.Client, error) {
	if len(n.RedirectURIs) > 0 || len(n.PostLogoutRedirectURIs) > 0 || n.Scopes != nil || n.RequireMFA {
		return cl, ErrInvalid.WithMessage("A protected app (kind proxy) has hosts and rules, not redirect URIs, scopes or require_mfa.").WithField("kind")
	}
	var err error
	if cl.Hosts, err = forwardauth.CleanHosts(n.Hosts); err != nil {
		return cl, ruleErr(err)
	}
	if cl.Rules, err = forwardauth.CleanRules(n.Rules); err != nil {
		return cl, ruleErr(err)
	}
	return cl, nil
}

// ruleErr turns a forwardauth registration error into ErrInvalid.
func ruleErr(err error) error {
	if re, ok := forwardauth.IsRuleError(err); ok {
		return ErrInvalid.WithMessage(re.Msg).WithField(re.Field)
	}
	return err
}

// clientStoreErr maps store errors of a client write: a conflict can only
// be a host another client has.
func clientStoreErr(err error) error {
	if errors.Is(err, store.ErrConflict) {
		return ErrHostTaken.WithField("hosts")
	}
	return storeErr(err)
}

// proxyDetail is the audit detail of a proxy client's hosts and rules.
func proxyDetail(cl store.Client) string {
	if cl.Kind != store.ClientProxy {
		return ""
	}
	rules := make([]string, len(cl.Rules))
	for i, r := range cl.Rules {
		rules[i] = r.PathPrefix + "=" + r.ACR
		if r.MaxAge > 0 {
			rules[i] += "/" + r.MaxAge.String()
		}
	}
	return fmt.Sprintf(" hosts=%s rules=%s", strings.Join(cl.Hosts, ","), strings.Join(rules, ","))
}

// actorRecord is the id recorded as a record's creator: the user's id, or
// "" for the operator.
func actorRecord(a access.Actor) string {
	if a.Via == access.ViaOperator {
		return ""
	}
	return a.User.ID
}

// ListClients lists the clients of the actor's subtree, or of the subtree
// of orgSlug when it is not empty, by name.
func (s *Service) ListClients(ctx context.Context, a access.Actor, orgSlug string) ([]ClientRow, error) {
	if !a.IsAdmin() {
		return nil, ErrForbidden
	}
	path := a.Org.Path
	if a.User.Role == store.RoleSuperadmin {
		path = ""
	}
	if orgSlug != "" {
		o, err := s.Org(ctx, a, orgSlug)
		if err != nil {
			return nil, err
		}
		path = o.Path
	}
	cls, err := s.store.ListClients(ctx, path)
	if err != nil {
		return nil, err
	}
	orgs, err := s.store.ListOrgs(ctx, path)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]store.Org, len(orgs))
	for _, o := range orgs {
		byID[o.ID] = o
	}
	rows := make([]ClientRow, 0, len(cls))
	for _, cl := range cls {
		o, ok := byID[cl.OrgID]
		if !ok {
			continue // moved out of the subtree between the two reads
		}
		cl.SecretHash = nil
		rows = append(rows, ClientRow{Client: cl, Org: o})
	}
	return rows, nil
}

// GetClient returns one client of the actor's subtree; any other is
// ErrNotFound.
func (s *Service) GetClient(ctx context.Context, a access.Actor, id string) (ClientRow, error) {
	if !a.IsAdmin() {
		return ClientRow{}, ErrForbidden
	}
	cl, err := s.store.GetClient(ctx, id)
	if err != nil {
		return ClientRow{}, storeErr(err)
	}
	org, err := s.store.GetOrg(ctx, cl.OrgID)
	if err != nil {
		return ClientRow{}, storeErr(err)
	}
	if !a.CanManageOrg(org) {
		return ClientRow{}, ErrNotFound
	}
	cl.SecretHash = nil
	return ClientRow{Client: cl, Org: org}, nil
}

// UpdateClient changes a client of the actor's subtree. New redirect URIs
// or dropping require_mfa hand the app more, so every change is a
// sensitive action.
func (s *Service) UpdateClient(ctx context.Context, a access.Actor, id string, p ClientPatch, c signin.Client) (ClientRow, error) {
	row, err := s.GetClient(ctx, a, id)
	if err != nil {
		return ClientRow{}, err
	}
	if err := s.requireStepUp(ctx, a); err != nil {
		return ClientRow{}, err
	}
	cl, err := s.store.GetClient(ctx, id) // with its secret hash
	if err != nil {
		return ClientRow{}, storeErr(err)
	}
	if p.Name != nil {
		if cl.Name, err = cleanName(*p.Name); err != nil {
			return ClientRow{}, err
		}
	}
	proxy := cl.Kind == store.ClientProxy
	oidcFields := p.RedirectURIs != nil || p.PostLogoutRedirectURIs != nil || p.Scopes != nil || p.RequireMFA != nil || p.IDTokenAlg != nil
	if (proxy && oidcFields) || (!proxy && (p.Hosts != nil || p.Rules != nil)) {
		return ClientRow{}, ErrInvalid.WithMessage("A protected app (kind proxy) has hosts and rules; other apps have redirect URIs, scopes and require_mfa.").WithField("kind")
	}
	if p.Hosts != nil {
		if cl.Hosts, err = forwardauth.CleanHosts(*p.Hosts); err != nil {
			return ClientRow{}, ruleErr(err)
		}
	}
	if p.Rules != nil {
		if cl.Rules, err = forwardauth.CleanRules(*p.Rules); err != nil {
			return ClientRow{}, ruleErr(err)
		}
	}
	if p.RedirectURIs != nil {
		if cl.RedirectURIs, err = cleanRedirects(cl.Kind, *p.RedirectURIs, "redirect_uris", !isDeviceKind(cl.Kind)); err != nil {
			return ClientRow{}, err
		}
	}
	if p.PostLogoutRedirectURIs != nil {
		if cl.PostLogoutRedirectURIs, err = cleanRedirects(cl.Kind, *p.PostLogoutRedirectURIs, "post_logout_redirect_uris", false); err != nil {
			return ClientRow{}, err
		}
	}
	if p.Scopes != nil {
		if cl.Scopes, err = cleanScopes(*p.Scopes); err != nil {
			return ClientRow{}, err
		}
	}
	if p.DeviceRules != nil {
		if err := checkDeviceRules(cl.Kind, *p.DeviceRules); err != nil {
			return ClientRow{}, err
		}
		cl.DeviceRules = *p.DeviceRules
	}
	if p.RequireMFA != nil {
		cl.RequireMFA = *p.RequireMFA
	}
	if p.IDTokenAlg != nil {
		if cl.IDTokenAlg, err = cleanIDTokenAlg(*p.IDTokenAlg); err != nil {
			return ClientRow{}, err
		}
	}
	cl.UpdatedAt = s.now().UTC()
	if cl, err = s.store.UpdateClient(ctx, cl); err != nil {
		return ClientRow{}, clientStoreErr(err)
	}
	s.record(ctx, a, store.AuditEvent{Event: audit.ClientUpdated, OrgID: row.Org.ID,
		Detail: fmt.Sprintf("client %s %q require_mfa=%t redirects=%d alg=%s%s", cl.ID, cl.Name, cl.RequireMFA, len(cl.RedirectURIs), cl.SigningAlg(), proxyDetail(cl))}, c)
	cl.SecretHash = nil
	return ClientRow{Client: cl, Org: row.Org}, nil
}

// DeleteClient removes a client of the actor's subtree, and with it every
// grant and token issued to it: its refresh tokens stop working at once.
func (s *Service) DeleteClient(ctx context.Context, a access.Actor, id string, c signin.Client) error {
	row, err := s.GetClient(ctx, a, id)
	if err != nil {
		return err
	}
	if err := s.store.DeleteClient(ctx, id); err != nil {
		return storeErr(err)
	}
	s.record(ctx, a, store.AuditEvent{Event: audit.ClientDeleted, OrgID: row.Org.ID,
		Detail: fmt.Sprintf("client %s %q", row.Client.ID, row.Client.Name)}, c)
	return nil
}

// RotateClientSecret gives a confidential client a new secret, returned
// this once; the old one stops working at once. A public client has no
// secret (ErrInvalid).
func (s *Service) RotateClientSecret(ctx context.Context, a access.Actor, id string, c signin.Client) (ClientRow, string, error) {
	row, err := s.GetClient(ctx, a, id)
	if err != nil {
		return ClientRow{}, "", err
	}
	if !row.Client.Kind.Confidential() {
		return ClientRow{}, "", ErrInvalid.WithMessage("Only web clients have a secret.").WithField("kind")
	}
	if err := s.requireStepUp(ctx, a); err != nil {
		return ClientRow{}, "", err
	}
	cl, err := s.store.GetClient(ctx, id)
	if err != nil {
		return ClientRow{}, "", storeErr(err)
	}
	var secret string
	secret, cl.SecretHash = newClientSecret()
	cl.UpdatedAt = s.now().UTC()
	if cl, err = s.store.UpdateClient(ctx, cl); err != nil {
		return ClientRow{}, "", storeErr(err)
	}
	s.record(ctx, a, store.AuditEvent{Event: audit.ClientSecret, OrgID: row.Org.ID,
		Detail: fmt.Sprintf("client %s %q", cl.ID, cl.Name)}, c)
	cl.SecretHash = nil
	return ClientRow{Client: cl, Org: row.Org}, secret, nil
}

// CheckClientSecret reports whether secret is the secret of cl, in
// constant time.
func CheckClientSecret(cl store.Client, secret string) bool {
	if len(cl.SecretHash) == 0 || !strings.HasPrefix(secret, ClientSecretPrefix) {
		return false
	}
	h := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(h[:], cl.SecretHash) == 1
}

// newClientSecret returns a new secret (256 random bits) and its hash.
func newClientSecret() (string, []byte) {
	var b [32]byte
	rand.Read(b[:]) // never returns an error (crypto/rand, Go 1.24+)
	secret := ClientSecretPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	h := sha256.Sum256([]byte(secret))
	return secret, h[:]
}

// cleanIDTokenAlg checks id_token_signed_response_alg: ES256 (stored as
// "") or RS256.
func cleanIDTokenAlg(alg string) (string, error) {
	switch alg {
	case "", "ES256":
		return "", nil
	case "RS256":
		return alg, nil
	}
	return "", ErrInvalid.WithMessage("id_token_signed_response_alg must be ES256 or RS256.").WithField("id_token_signed_response_alg")
}

// cleanScopes checks a client's scope list: a subset of ClientScopes that
// holds openid. nil stays nil (every scope).
func cleanScopes(scopes []string) ([]string, error) {
	if scopes == nil {
		return nil, nil
	}
	out := []string{}
	for _, sc := range scopes {
		if !slices.Contains(ClientScopes, sc) {
			return nil, ErrInvalid.WithMessage("scopes may hold only " + strings.Join(ClientScopes, ", ") + ".").WithField("scopes")
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	if !slices.Contains(out, "openid") {
		return nil, ErrInvalid.WithMessage("scopes must include openid.").WithField("scopes")
	}
	return out, nil
}

// cleanRedirects checks a list of redirect URIs for a client of kind k.
// Every URI is absolute, without a fragment or a wildcard, and compared
// exactly later. https is always allowed; http only for a loopback host
// (development, and native apps per RFC 8252, whose port is then free);
// native apps may also use a private-use scheme with a dot in it
// (com.example.app:/cb).
func cleanRedirects(k store.ClientKind, uris []string, field string, required bool) ([]string, error) {
	bad := func(msg string) error { return ErrInvalid.WithMessage(msg).WithField(field) }
	if required && len(uris) == 0 {
		return nil, bad("At least one redirect URI is required.")
	}
	if len(uris) > maxRedirectURIs {
		return nil, bad(fmt.Sprintf("At most %d redirect URIs.", maxRedirectURIs))
	}
	out := []string{}
	for _, raw := range uris {
		if len(raw) > 2000 || strings.ContainsAny(raw, "* \t\r\n") {
			return nil, bad("A redirect URI is an exact absolute URI without wildcards or spaces.")
		}
		u, err := url.Parse(raw)
		if err != nil || u.Scheme == "" || u.Fragment != "" || strings.Contains(raw, "#") || u.User != nil {
			return nil, bad("A redirect URI is an absolute URI without a fragment or user info.")
		}
		switch {
		case u.Scheme == "https" && u.Host != "":
		case u.Scheme == "http" && isLoopback(u.Hostname()):
		case (k == store.ClientNative || isDeviceKind(k)) && u.Scheme != "http" && strings.Contains(u.Scheme, "."):
		default:
			return nil, bad("Use https, http on a loopback address, or (native apps) a private-use scheme such as com.example.app:/callback.")
		}
		if !slices.Contains(out, raw) {
			out = append(out, raw)
		}
	}
	return out, nil
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// isDeviceKind reports whether clients of kind k register devices.
func isDeviceKind(k store.ClientKind) bool { _, ok := k.DeviceKind(); return ok }

// checkDeviceRules refuses device rules on a client that registers no
// devices, and unknown values.
func checkDeviceRules(k store.ClientKind, r store.DeviceRules) error {
	if r == (store.DeviceRules{}) {
		return nil
	}
	if !isDeviceKind(k) {
		return ErrInvalid.WithMessage("Only agent, add-in and mobile clients have device rules.").WithField("device_rules")
	}
	if !r.Valid() {
		return ErrInvalid.WithMessage("device_rules: session_code is every or never, passcode is required, policy or optional, session_lifetime is not negative.").WithField("device_rules")
	}
	return nil
}
