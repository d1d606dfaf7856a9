package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// APIKeyPrefix starts every API key token; the rest is 43 characters of
// base64url (32 random bytes).
const APIKeyPrefix = "tfk_"

// apiKeyActorPrefix starts the user id of an API key's actor. Real user ids
// are hex digits, so the two never collide.
const apiKeyActorPrefix = "apikey:"

// apiKeyTouchEvery is how often AuthenticateAPIKey records a key's last
// use: at most once a minute, to keep writes off the hot path.
const apiKeyTouchEvery = time.Minute

// NewAPIKey describes an API key to create.
type NewAPIKey struct {
	OrgSlug   string
	Name      string
	Role      store.Role    // default admin
	ExpiresIn time.Duration // 0: the key does not expire
}

// An APIKeyRow is a key with its org, as listed for an admin. Its
// TokenHash is always empty.
type APIKeyRow struct {
	Key store.APIKey
	Org store.Org
}

// IsAPIKey reports whether a is the actor of an API key rather than of a
// signed-in user.
func IsAPIKey(a access.Actor) bool {
	return a.Via == access.ViaAPIKey || strings.HasPrefix(a.User.ID, apiKeyActorPrefix)
}

// CreateAPIKey creates a key for an org of the actor's subtree, with a role
// no higher than the actor's, and returns it (with its org) and its token. The token is
// shown this once: only its SHA-256 hash is stored. An API key cannot create
// keys.
func (s *Service) CreateAPIKey(ctx context.Context, a access.Actor, n NewAPIKey, c signin.Client) (APIKeyRow, string, error) {
	if IsAPIKey(a) {
		return APIKeyRow{}, "", ErrForbidden
	}
	org, err := s.Org(ctx, a, n.OrgSlug)
	if err != nil {
		return APIKeyRow{}, "", err
	}
	// A key acts without a second factor for as long as it lives, so
	// creating one is a sensitive action.
	if err := s.requireStepUp(ctx, a); err != nil {
		return APIKeyRow{}, "", err
	}
	name, err := cleanName(n.Name)
	if err != nil {
		return APIKeyRow{}, "", err
	}
	if n.Role == "" {
		n.Role = store.RoleAdmin
	}
	if !n.Role.Valid() {
		return APIKeyRow{}, "", ErrInvalid.WithMessage("role must be member, admin or superadmin.").WithField("role")
	}
	if !a.CanGrant(n.Role) {
		return APIKeyRow{}, "", ErrRoleTooHigh
	}
	if n.ExpiresIn < 0 {
		return APIKeyRow{}, "", ErrInvalid.WithMessage("expires_in must not be negative.").WithField("expires_in")
	}
	now := s.now().UTC()
	k := store.APIKey{OrgID: org.ID, CreatedBy: a.User.ID, Name: name, Role: n.Role, CreatedAt: now}
	if n.ExpiresIn > 0 {
		exp := now.Add(n.ExpiresIn)
		k.ExpiresAt = &exp
	}
	var tok string
	tok, k.TokenHash = newAPIKeyToken()
	if k, err = s.store.CreateAPIKey(ctx, k); err != nil {
		return APIKeyRow{}, "", storeErr(err)
	}
	detail := fmt.Sprintf("key %s %q role=%s", k.ID, k.Name, k.Role)
	if k.ExpiresAt != nil {
		detail += " expires=" + k.ExpiresAt.Format(time.RFC3339)
	}
	s.record(ctx, a, store.AuditEvent{Event: audit.APIKeyCreated, OrgID: org.ID, Detail: detail}, c)
	k.TokenHash = nil
	return APIKeyRow{Key: k, Org: org}, tok, nil
}

// ListAPIKeys lists the keys of the actor's subtree, or of the subtree of
// orgSlug when it is not empty, newest first, revoked and expired ones
// included. Token hashes are left out.
func (s *Service) ListAPIKeys(ctx context.Context, a access.Actor, orgSlug string) ([]APIKeyRow, error) {
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
	keys, err := s.store.ListAPIKeys(ctx, path)
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
	rows := make([]APIKeyRow, 0, len(keys))
	for _, k := range keys {
		o, ok := byID[k.OrgID]
		if !ok {
			continue // moved out of the subtree between the two reads
		}
		k.TokenHash = nil
		rows = append(rows, APIKeyRow{Key: k, Org: o})
	}
	return rows, nil
}

// RevokeAPIKey revokes a key of the actor's subtree; revoking a revoked key
// changes nothing and is not an error. A key outside the subtree is
// ErrNotFound; a key whose role is above the actor's is ErrForbidden.
func (s *Service) RevokeAPIKey(ctx context.Context, a access.Actor, id string, c signin.Client) (APIKeyRow, error) {
	if !a.IsAdmin() {
		return APIKeyRow{}, ErrForbidden
	}
	k, err := s.store.GetAPIKey(ctx, id)
	if err != nil {
		return APIKeyRow{}, storeErr(err)
	}
	org, err := s.store.GetOrg(ctx, k.OrgID)
	if err != nil {
		return APIKeyRow{}, storeErr(err)
	}
	if !a.CanManageOrg(org) {
		return APIKeyRow{}, ErrNotFound
	}
	if k.Role.Rank() > a.User.Role.Rank() {
		return APIKeyRow{}, s.denied(ctx, a, audit.APIKeyRevoked, org.ID, "", c)
	}
	if err := s.store.RevokeAPIKey(ctx, k.ID, s.now().UTC()); err != nil {
		return APIKeyRow{}, storeErr(err)
	}
	if k, err = s.store.GetAPIKey(ctx, id); err != nil {
		return APIKeyRow{}, storeErr(err)
	}
	s.record(ctx, a, store.AuditEvent{Event: audit.APIKeyRevoked, OrgID: org.ID, Detail: fmt.Sprintf("key %s %q", k.ID, k.Name)}, c)
	k.TokenHash = nil
	return APIKeyRow{Key: k, Org: org}, nil
}

// AuthenticateAPIKey returns the actor of the key whose token is tok: a
// user that exists only for this request, with the key's role, org and
// name, and the id "apikey:" followed by the key's id (the actor id in the
// audit log). An unknown, malformed, revoked or expired token, or one whose
// org is gone, is signin.ErrUnauthenticated, the same answer as for an
// invalid session. The key's last use is recorded at most once a minute.
//
// A key is bounded by its creator's current rights, decided at every
// request: while the admin who made it is deleted, disabled, holds a role
// below the key's, or can no longer manage the key's org, the key is
// refused like a revoked one (it works again if the creator's rights come
// back, unless it was revoked). Keys made by the operator at the command
// line have no creator and are bounded only by their own role.
func (s *Service) AuthenticateAPIKey(ctx context.Context, tok string) (access.Actor, error) {
	if !strings.HasPrefix(tok, APIKeyPrefix) || len(tok) != len(APIKeyPrefix)+43 {
		return access.Actor{}, signin.ErrUnauthenticated
	}
	k, err := s.store.GetAPIKeyByTokenHash(ctx, hashAPIKeyToken(tok))
	if errors.Is(err, store.ErrNotFound) {
		return access.Actor{}, signin.ErrUnauthenticated
	}
	if err != nil {
		return access.Actor{}, err
	}
	now := s.now().UTC()
	if k.RevokedAt != nil || (k.ExpiresAt != nil && !now.Before(*k.ExpiresAt)) {
		return access.Actor{}, signin.ErrUnauthenticated
	}
	org, err := s.store.GetOrg(ctx, k.OrgID)
	if errors.Is(err, store.ErrNotFound) {
		return access.Actor{}, signin.ErrUnauthenticated
	}
	if err != nil {
		return access.Actor{}, err
	}
	if err := s.creatorStillEntitled(ctx, k, org); err != nil {
		return access.Actor{}, err
	}
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= apiKeyTouchEvery {
		if err := s.store.TouchAPIKey(ctx, k.ID, now); err != nil {
			s.log.WarnContext(ctx, "touch api key failed", "key", k.ID, "err", err)
		}
	}
	u := store.User{ID: apiKeyActorPrefix + k.ID, OrgID: k.OrgID, Username: k.Name, UsernameNorm: k.Name, Role: k.Role,
		CreatedAt: k.CreatedAt}
	return access.Actor{User: u, Org: org, Via: access.ViaAPIKey, KeyID: k.ID}, nil
}

// creatorStillEntitled returns signin.ErrUnauthenticated unless the admin
// who created k could create it today: exists, is enabled, holds at least
// the key's role and may manage the key's org.
func (s *Service) creatorStillEntitled(ctx context.Context, k store.APIKey, keyOrg store.Org) error {
	if k.CreatedBy == "" {
		return nil
	}
	u, err := s.store.GetUser(ctx, k.CreatedBy)
	if errors.Is(err, store.ErrNotFound) {
		return signin.ErrUnauthenticated
	}
	if err != nil {
		return err
	}
	org, err := s.store.GetOrg(ctx, u.OrgID)
	if errors.Is(err, store.ErrNotFound) {
		return signin.ErrUnauthenticated
	}
	if err != nil {
		return err
	}
	creator := access.Actor{User: u, Org: org}
	if u.Disabled || !creator.CanGrant(k.Role) || !creator.CanManageOrg(keyOrg) {
		return signin.ErrUnauthenticated
	}
	return nil
}

// newAPIKeyToken returns a new token (256 random bits) and its hash.
func newAPIKeyToken() (string, []byte) {
	var b [32]byte
	rand.Read(b[:]) // never returns an error (crypto/rand, Go 1.24+)
	tok := APIKeyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return tok, hashAPIKeyToken(tok)
}

// hashAPIKeyToken returns the stored form of a token: its SHA-256 hash. The
// token holds 256 random bits, so a fast hash suffices.
func hashAPIKeyToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}
