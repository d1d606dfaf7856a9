package store

import (
	"context"
	"time"
)

// An APIKey lets a program call the admin API without a session. It acts
// with Role within the subtree of its org, never as the admin who created
// it. Only the SHA-256 hash of its token is stored.
type APIKey struct {
	ID    string
	OrgID string
	// CreatedBy is the id of the admin who created the key, or "" for the
	// operator at the command line. It is a record, not a reference: the
	// key outlives its creator's account.
	CreatedBy  string
	Name       string
	Role       Role
	TokenHash  []byte
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
	ExpiresAt  *time.Time // nil: the key does not expire
}

// APIKeys keeps API keys.
//
// A key belongs to its org: deleting the org deletes its keys, and keys do
// not count as content that makes DeleteOrg refuse (ErrNotEmpty is still
// about child orgs and users only). A key cannot act on an org that no
// longer exists, so there is nothing to keep it for.
type APIKeys interface {
	// CreateAPIKey inserts k (ID generated when empty; CreatedAt now when
	// zero). A token hash already in use is ErrConflict; an unknown org is
	// ErrNotFound.
	CreateAPIKey(ctx context.Context, k APIKey) (APIKey, error)
	// GetAPIKeyByTokenHash returns the key whose token hashes to hash,
	// revoked or expired or not; callers check RevokedAt and ExpiresAt.
	GetAPIKeyByTokenHash(ctx context.Context, hash []byte) (APIKey, error)
	// GetAPIKey returns the key with the given id, or ErrNotFound.
	GetAPIKey(ctx context.Context, id string) (APIKey, error)
	// ListAPIKeys returns the keys of the orgs whose Path starts with
	// orgPath ("" for all), revoked and expired ones included, newest
	// first.
	ListAPIKeys(ctx context.Context, orgPath string) ([]APIKey, error)
	// RevokeAPIKey marks the key revoked at at. Revoking a revoked key
	// keeps the first revocation time and is not an error; an unknown key
	// is ErrNotFound.
	RevokeAPIKey(ctx context.Context, id string, at time.Time) error
	// TouchAPIKey sets LastUsedAt; an unknown key is ErrNotFound.
	TouchAPIKey(ctx context.Context, id string, at time.Time) error
}
