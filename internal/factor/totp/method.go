package totp

import (
	"context"
	"math"

	"github.com/twofold-id/twofold/internal/factor"
	"github.com/twofold-id/twofold/internal/normalize"
	"github.com/twofold-id/twofold/internal/store"
)

// Kind is the method name of authenticator apps.
const Kind = "totp"

// Method is authenticator apps as a factor.Method. Unlike the rest of the
// package it reads and writes the store: a match is consumed by advancing
// the factor's last accepted step atomically (the replay guard).
type Method struct {
	// V computes and checks the codes.
	V Verifier
}

var _ factor.Method = Method{}

// Kind implements factor.Method.
func (Method) Kind() string { return Kind }

// Traits implements factor.Method.
func (Method) Traits() factor.Traits {
	return factor.Traits{Name: "Authenticator app", DefaultLabel: "Authenticator app", AMR: "otp", RFC8176: "otp",
		Enrollment: factor.SharedSecret, CodeLength: 6}
}

// Normalize implements factor.Method: six ASCII digits, spaces and dashes
// dropped.
func (Method) Normalize(raw string) (string, bool) {
	c, err := normalize.Code(raw, 6)
	return c, err == nil
}

// Usable implements factor.Method.
func (Method) Usable(_ context.Context, _ factor.Env, _ store.User, fs []store.Factor) (bool, error) {
	return factor.HasConfirmed(fs, Kind), nil
}

// Check implements factor.Method: every confirmed app of u is tried; the
// first whose code matches a step after its last accepted one, and wins the
// race to advance it, is the match.
func (m Method) Check(ctx context.Context, env factor.Env, u store.User, _ factor.Scope, code string) (factor.Match, bool, error) {
	factors, err := env.Store().ListFactors(ctx, u.ID)
	if err != nil {
		return factor.Match{}, false, err
	}
	now := env.Now()
	for i := range factors {
		f := &factors[i]
		if f.Kind != Kind || !f.Confirmed() {
			continue
		}
		secret, err := env.Open(u, *f)
		if err != nil {
			// A secret that does not open (a tampered row, or a key this
			// instance lacks) must not make the user's other factors
			// unusable; it is an operator problem, logged loudly.
			env.Log().ErrorContext(ctx, "factor secret does not open; skipping the factor", "user", u.ID, "factor", f.ID, "key", f.KeyID, "err", err)
			continue
		}
		step, ok := m.V.Match(secret, code, now, f.LastStep)
		clear(secret)
		if !ok {
			continue
		}
		won, err := env.Store().AdvanceStep(ctx, f.ID, step, now)
		if err != nil {
			return factor.Match{}, false, err
		}
		if won {
			return factor.Match{Factor: f}, true, nil
		}
	}
	return factor.Match{}, false, nil
}

// ConfirmPending implements factor.Method: the code must come from the
// pending factor's secret; its step becomes the factor's first used step.
func (m Method) ConfirmPending(_ context.Context, env factor.Env, u store.User, f store.Factor, _ factor.Scope, code string) (int64, bool, error) {
	secret, err := env.Open(u, f)
	if err != nil {
		return 0, false, err
	}
	defer clear(secret)
	step, ok := m.V.Match(secret, code, env.Now(), math.MinInt64)
	return step, ok, nil
}
