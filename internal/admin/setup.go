package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/audit"
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

// CompleteSetup spends the setup token and creates the first platform
// admin (a superadmin in the root org), in one store transaction that
// refuses when any superadmin exists already: the link is dead from the
// moment a platform admin exists, however that admin was made. The token
// works once; input errors (checked first) and a taken username leave it
// unspent.
func (s *Service) CompleteSetup(ctx context.Context, token string, n NewUser, c signin.Client) (store.User, error) {
	root, err := s.store.RootOrg(ctx)
	if err != nil {
		return store.User{}, err
	}
	if err := signin.CheckPassword(n.Password); err != nil {
		return store.User{}, err
	}
	n.OrgSlug, n.Role = root.Slug, store.RoleSuperadmin
	rec, err := s.newUserRecord(ctx, root, n)
	if err != nil {
		return store.User{}, err
	}
	sum := sha256.Sum256([]byte(token))
	sys := Actor(store.User{Role: store.RoleSuperadmin, OrgID: root.ID, Username: "(setup)"}, root)
	sys.Via = access.ViaOperator // the setup link stands for the operator who printed it
	u, err := s.store.CreateFirstAdmin(ctx, sum[:], s.now().UTC(), rec)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.User{}, ErrSetupToken
	case errors.Is(err, store.ErrSetupDone):
		s.record(ctx, sys, store.AuditEvent{Event: audit.SetupAdmin, Outcome: audit.Denied, OrgID: root.ID,
			Detail: "a platform admin exists already; setup link spent"}, c)
		return store.User{}, ErrSetupToken.WithMessage("A platform admin exists already, so this setup link no longer works. Sign in instead.")
	case err != nil:
		return store.User{}, userConflict(err, root)
	}
	s.created(ctx, sys, u, c)
	s.record(ctx, sys, store.AuditEvent{Event: audit.SetupAdmin, OrgID: root.ID, TargetUserID: u.ID}, c)
	return u, nil
}
