package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/normalize"
	"github.com/twofold-id/twofold/internal/problem"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// ErrSetupToken is returned for a setup link that is unknown, used or expired.
var ErrSetupToken = problem.Define(http.StatusUnauthorized, "invalid_setup_token", "This setup link is not valid any more. Restart the server to get a new one, or use the command line.")

// SetupTokenTTL is how long a setup link works.
const SetupTokenTTL = 24 * time.Hour

// NewSetupToken stores a new one-time setup token (replacing any earlier
// one) and returns it. Only its hash is stored.
func (s *Service) NewSetupToken(ctx context.Context) (string, error) {
	var b [32]byte
	rand.Read(b[:])
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	h := sha256.Sum256([]byte(tok))
	return tok, s.store.PutSetupToken(ctx, h[:], s.now().UTC().Add(SetupTokenTTL))
}

// CompleteSetup consumes the setup token and creates the first platform
// admin (a superadmin in the root org). The token works once.
func (s *Service) CompleteSetup(ctx context.Context, h hasher, token string, n NewUser, c signin.Client) (store.User, error) {
	root, err := s.store.RootOrg(ctx)
	if err != nil {
		return store.User{}, err
	}
	if err := signin.CheckPassword(n.Password); err != nil {
		return store.User{}, err
	}
	// Check the input before the token is spent, so a typo does not cost
	// the link.
	if _, err := normalize.Username(n.Username); err != nil {
		return store.User{}, ErrInvalid.WithMessage("A username is 1 to 128 characters without spaces or control characters.").WithField("username")
	}
	if n.Email != "" {
		if _, err := normalize.Email(n.Email); err != nil {
			return store.User{}, ErrInvalid.WithMessage("That is not a valid email address.").WithField("email")
		}
	}
	sum := sha256.Sum256([]byte(token))
	ok, err := s.store.ConsumeSetupToken(ctx, sum[:], s.now().UTC())
	if err != nil {
		return store.User{}, err
	}
	if !ok {
		return store.User{}, ErrSetupToken
	}
	sys := Actor(store.User{Role: store.RoleSuperadmin, OrgID: root.ID, Username: "(setup)"}, root)
	sys.Via = access.ViaOperator // the setup link stands for the operator who printed it
	n.OrgSlug, n.Role = root.Slug, store.RoleSuperadmin
	u, err := s.CreateUser(ctx, sys, h, n, c)
	if err != nil {
		return store.User{}, err
	}
	s.record(ctx, sys, store.AuditEvent{Event: audit.SetupAdmin, OrgID: root.ID, TargetUserID: u.ID}, c)
	return u, nil
}
