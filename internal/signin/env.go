package signin

import (
	"context"
	"log/slog"
	"time"

	"github.com/twofold-id/twofold/internal/factor"
	"github.com/twofold-id/twofold/internal/store"
)

// methodEnv is the sign-in core as the factor methods see it.
type methodEnv struct{ s *Service }

var _ factor.Env = methodEnv{}

func (s *Service) env() factor.Env { return methodEnv{s} }

func (e methodEnv) Now() time.Time     { return e.s.now() }
func (e methodEnv) Store() store.Store { return e.s.store }
func (e methodEnv) Log() *slog.Logger  { return e.s.log }

func (e methodEnv) Open(u store.User, f store.Factor) ([]byte, error) {
	return e.s.keys.Open(f.Secret, f.KeyID, FactorAD(u.ID, f.ID))
}

func (e methodEnv) Seal(u store.User, f store.Factor, plaintext []byte) ([]byte, string, error) {
	return e.s.keys.Seal(plaintext, FactorAD(u.ID, f.ID))
}

func (e methodEnv) CompareSent(ctx context.Context, u store.User, sc factor.Scope, kind, code string) (factor.Match, bool, error) {
	return e.s.compareSent(ctx, u, sc, kind, code)
}

// Methods returns the registry of second-factor methods this service
// checks.
func (s *Service) Methods() *factor.Registry { return s.methods }

func (e methodEnv) Hash(ctx context.Context, compute func()) error {
	return e.s.hasher.Run(ctx, compute)
}
