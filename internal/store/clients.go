package store

import (
	"context"
	"encoding/json"
	"time"
)

// ClientKind says what sort of application a registered client is. The
// kind decides how the client authenticates and which redirects it may use.
type ClientKind string

// The kinds of registered clients. Web clients are confidential (they hold
// a secret); spa and native clients are public and must use PKCE. Later
// kinds (proxy for forward-auth, agent, add-in, mobile) share this
// registry. A proxy client is an app behind a forward-auth proxy (nginx,
// Traefik, Caddy): it has hosts and access rules instead of redirect URIs,
// and no secret.
const (
	ClientWeb    ClientKind = "web"
	ClientSPA    ClientKind = "spa"
	ClientNative ClientKind = "native"
	ClientProxy  ClientKind = "proxy"
	// ClientAgent, ClientAddIn and ClientMobile are public clients whose
	// sign-ins register a device (see Device).
	ClientAgent  ClientKind = "agent"
	ClientAddIn  ClientKind = "add-in"
	ClientMobile ClientKind = "mobile"
)

// DeviceKind returns the kind of device a client of kind k registers, and
// false for kinds that register none.
func (k ClientKind) DeviceKind() (DeviceKind, bool) {
	switch k {
	case ClientAgent, ClientAddIn, ClientMobile:
		return DeviceKind(k), true
	}
	return "", false
}

// A ProxyRule says what a request to a proxy client needs when its path
// starts with PathPrefix: the assurance level ACR ("pwd", "mfa", "phr")
// and, when MaxAge is not zero, a second-factor check no older than MaxAge.
type ProxyRule struct {
	PathPrefix string        `json:"path_prefix"`
	ACR        string        `json:"acr"`
	MaxAge     time.Duration `json:"max_age,omitempty"`
}

// SigningAlg is the algorithm the client's tokens are signed with.
func (c Client) SigningAlg() string {
	if c.IDTokenAlg == "" {
		return "ES256"
	}
	return c.IDTokenAlg
}

// Confidential reports whether clients of kind k authenticate with a
// secret.
func (k ClientKind) Confidential() bool { return k == ClientWeb }

// A Client is an application registered with an org: users of that org and
// its descendants may sign in to it. Only the SHA-256 hash of a
// confidential client's secret is stored.
type Client struct {
	ID    string // the client_id
	OrgID string
	Name  string
	Kind  ClientKind
	// RedirectURIs and PostLogoutRedirectURIs are compared exactly (native
	// clients: loopback on any port, RFC 8252).
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	// Scopes the client may ask for; nil means the standard OpenID scopes.
	Scopes []string
	// Hosts are the hosts a proxy client answers on, in canonical form
	// (lower-case ASCII, ":port" only for a port that is not the scheme's
	// default). A host belongs to at most one client.
	Hosts []string
	// Rules are a proxy client's access rules (nil for other kinds).
	Rules []ProxyRule
	// RequireMFA makes a second factor required for signing in to this
	// client whatever the user's policy says.
	RequireMFA bool
	// IDTokenAlg is id_token_signed_response_alg: "RS256" for clients that
	// cannot verify ES256; "" signs with ES256.
	IDTokenAlg string
	// SecretHash is the SHA-256 hash of the client secret; empty for
	// public clients.
	SecretHash []byte
	// DeviceRules adjust the rules of the devices a client of a device
	// kind registers; the zero value keeps the defaults of its kind.
	DeviceRules DeviceRules
	CreatedBy   string // admin user id, "" for the command line
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Clients keeps registered clients.
//
// A client belongs to its org: deleting the org deletes its clients, and
// deleting a client deletes every grant and token issued to it.
type Clients interface {
	// CreateClient inserts c (ID generated when empty). An unknown org is
	// ErrNotFound; a host that another client already has is ErrConflict
	// (and nothing is stored).
	CreateClient(ctx context.Context, c Client) (Client, error)
	// GetClient returns the client with the given id, or ErrNotFound.
	GetClient(ctx context.Context, id string) (Client, error)
	// GetClientByHost returns the client that has host (canonical form),
	// or ErrNotFound.
	GetClientByHost(ctx context.Context, host string) (Client, error)
	// ListClients returns the clients of the orgs whose Path starts with
	// orgPath ("" for all), ordered by name then id.
	ListClients(ctx context.Context, orgPath string) ([]Client, error)
	// UpdateClient stores Name, RedirectURIs, PostLogoutRedirectURIs,
	// Scopes, Hosts, Rules, RequireMFA, SecretHash, DeviceRules and
	// UpdatedAt of c (identified by ID) in one transaction; an unknown
	// client is ErrNotFound, a host that another client has is ErrConflict.
	UpdateClient(ctx context.Context, c Client) (Client, error)
	// DeleteClient removes the client and, with it, its auth requests,
	// grants and tokens; an unknown client is ErrNotFound.
	DeleteClient(ctx context.Context, id string) error
}

// DeviceRules are a device-kind client's own rules for the sessions its
// devices open. Empty fields keep the defaults of the kind: an add-in needs
// a second-factor code at every new session, agents and mobile apps do
// not; a mobile app needs its passcode when the user's policy requires a
// second factor.
type DeviceRules struct {
	// SessionCode is "every" (a current code at every new session),
	// "never", or "" for the kind's default.
	SessionCode string `json:"session_code,omitempty"`
	// Passcode is "required" (always), "policy" (when the user's policy
	// requires a second factor), "optional", or "" for the kind's default.
	Passcode string `json:"passcode,omitempty"`
	// SessionLifetime ends a device's session this long after it opened
	// (an add-in's session lifetime); 0 keeps the server's.
	SessionLifetime time.Duration `json:"session_lifetime,omitempty"`
}

// Valid reports whether every field holds a known value.
func (r DeviceRules) Valid() bool {
	okCode := r.SessionCode == "" || r.SessionCode == "every" || r.SessionCode == "never"
	okPass := r.Passcode == "" || r.Passcode == "required" || r.Passcode == "policy" || r.Passcode == "optional"
	return okCode && okPass && r.SessionLifetime >= 0
}

// EncodeDeviceRules is the stored form of r (JSON; "{}" for the defaults).
func EncodeDeviceRules(r DeviceRules) string {
	b, _ := json.Marshal(r)
	return string(b)
}

// DecodeDeviceRules reads the stored form of device rules.
func DecodeDeviceRules(s string) (DeviceRules, error) {
	var r DeviceRules
	if s == "" {
		return r, nil
	}
	err := json.Unmarshal([]byte(s), &r)
	return r, err
}
