package store

import (
	"context"
	"time"
)

// An AuthRequest is an OpenID Connect authorization request on its way
// through the portal: created at the authorization endpoint, completed when
// the user has signed in, and redeemed once at the token endpoint by its
// code.
type AuthRequest struct {
	ID       string
	ClientID string
	// Params are the protocol parameters (redirect URI, scopes, state,
	// nonce, PKCE challenge, acr_values, max_age …), encoded by the
	// provider. The store does not read them.
	Params    []byte
	CreatedAt time.Time
	ExpiresAt time.Time

	// Set by CompleteAuthRequest when the user has signed in.
	UserID    string
	SessionID string
	AMR       []string
	AuthTime  *time.Time
	DoneAt    *time.Time

	// CodeHash is the SHA-256 hash of the authorization code, set once.
	CodeHash      []byte
	CodeExpiresAt *time.Time
	// RedeemedAt is set by RedeemAuthCode; a code is redeemed at most once.
	RedeemedAt *time.Time
}

// A Grant is what one redeemed authorization code gave a client for a user:
// the family of every access and refresh token descending from that code.
// Revoking the grant revokes them all. Its ID is the auth request's ID.
type Grant struct {
	ID        string
	ClientID  string
	UserID    string
	SessionID string
	Scopes    []string
	AMR       []string
	AuthTime  time.Time
	CreatedAt time.Time
	// RevokedAt ends the grant; RevokeReason says why.
	RevokedAt    *time.Time
	RevokeReason string
}

// A RefreshToken is one link of a grant's refresh chain. Only its SHA-256
// hash is stored; it is used once.
type RefreshToken struct {
	ID        string
	GrantID   string
	TokenHash []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// An AccessToken is the record of one issued access token (a JWT whose jti
// is ID), kept so it can be revoked and introspected.
type AccessToken struct {
	ID        string
	GrantID   string
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt *time.Time
}

// A SigningKey is a private key that signs ID and access tokens. The
// private key is sealed (secretbox) under KeyID; the store never sees it in
// the clear.
type SigningKey struct {
	ID        string // the JWK kid
	Alg       string // "ES256", "RS256"
	Sealed    []byte
	KeyID     string // the secretbox key that sealed it
	CreatedAt time.Time
	// ActiveFrom is when the key starts to sign; until then it is only
	// published. Zero means from CreatedAt.
	ActiveFrom time.Time
}

// Active is when k starts to sign.
func (k SigningKey) Active() time.Time {
	if k.ActiveFrom.IsZero() {
		return k.CreatedAt
	}
	return k.ActiveFrom
}

// OIDC keeps the OpenID Connect provider's state. Every record belongs to
// a client and goes when the client goes.
type OIDC interface {
	// CreateAuthRequest inserts r. An unknown client is ErrNotFound.
	CreateAuthRequest(ctx context.Context, r AuthRequest) (AuthRequest, error)
	// GetAuthRequest returns the request with the given id, or ErrNotFound.
	GetAuthRequest(ctx context.Context, id string) (AuthRequest, error)
	// GetAuthRequestByCode returns the request whose code hashes to hash,
	// redeemed or not, or ErrNotFound.
	GetAuthRequestByCode(ctx context.Context, hash []byte) (AuthRequest, error)
	// CompleteAuthRequest records who signed in, if the request is not
	// done yet and has no code; it reports whether it did.
	CompleteAuthRequest(ctx context.Context, id, userID, sessionID string, amr []string, authTime, at time.Time) (bool, error)
	// SetAuthCode stores the hash of the request's code, if it is done and
	// has none yet; it reports whether it did.
	SetAuthCode(ctx context.Context, id string, hash []byte, expiresAt time.Time) (bool, error)
	// RedeemAuthCode marks the request's code redeemed and inserts the grant
	// g, the access token a and the refresh token rt (if not nil), in one
	// transaction. Exactly one caller wins; the others get false and
	// nothing is written.
	RedeemAuthCode(ctx context.Context, requestID string, at time.Time, g Grant, a AccessToken, rt *RefreshToken) (bool, error)
	// DeleteExpiredAuthRequests removes requests that expired before cutoff
	// and were never redeemed, or whose grant is gone.
	DeleteExpiredAuthRequests(ctx context.Context, cutoff time.Time) (int, error)

	// GetGrant returns the grant with the given id, or ErrNotFound.
	GetGrant(ctx context.Context, id string) (Grant, error)
	// ListUserGrants returns the user's grants that are not revoked, newest
	// first.
	ListUserGrants(ctx context.Context, userID string) ([]Grant, error)
	// DeleteOldGrants removes grants revoked before revokedBefore or created
	// before createdBefore, with their tokens, and access and refresh
	// tokens that expired before revokedBefore; it returns how many grants
	// it removed.
	DeleteOldGrants(ctx context.Context, revokedBefore, createdBefore time.Time) (int, error)
	// RevokeGrant marks the grant revoked, keeping an earlier revocation;
	// an unknown grant is not an error (a code redeemed twice may have no
	// grant yet).
	RevokeGrant(ctx context.Context, id string, at time.Time, reason string) error

	// GetRefreshToken returns the refresh token whose value hashes to hash,
	// used or not, or ErrNotFound.
	GetRefreshToken(ctx context.Context, hash []byte) (RefreshToken, error)
	// RotateRefreshToken marks the token with the given hash used and
	// inserts next and the access token a, in one transaction, if the
	// token was unused and its grant is not revoked. Exactly one caller
	// wins; the others get false and nothing is written.
	RotateRefreshToken(ctx context.Context, hash []byte, at time.Time, next RefreshToken, a AccessToken) (bool, error)

	// CreateAccessToken inserts a (for a grant that already exists).
	CreateAccessToken(ctx context.Context, a AccessToken) error
	// GetAccessToken returns the access token record, or ErrNotFound.
	GetAccessToken(ctx context.Context, id string) (AccessToken, error)
	// RevokeAccessToken marks the access token revoked; an unknown token
	// is not an error.
	RevokeAccessToken(ctx context.Context, id string, at time.Time) error

	// CreateSigningKey inserts k. A duplicate id is ErrConflict.
	CreateSigningKey(ctx context.Context, k SigningKey) error
	// ListSigningKeys returns every signing key, the one that starts
	// signing last first (by Active, then CreatedAt).
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)
	// ResealSigningKey replaces the sealed key of id if it is still
	// sealed under oldKeyID (compare-and-swap), and reports whether it did.
	ResealSigningKey(ctx context.Context, id, oldKeyID string, sealed []byte, keyID string) (bool, error)
	// DeleteSigningKey removes a key (after it left the key set).
	DeleteSigningKey(ctx context.Context, id string) error
}
