// Package sent is the factor methods whose code is sent to the user: by
// email to the account's confirmed address, or by text message to a phone
// number. Sending, and the store of sent codes, belong to the sign-in core
// (factor.Env.CompareSent); this package says what the two methods are.
package sent

import (
	"context"

	"github.com/twofold-id/twofold/internal/factor"
	"github.com/twofold-id/twofold/internal/normalize"
	"github.com/twofold-id/twofold/internal/store"
)

// The method names.
const (
	KindEmail = "email"
	KindSMS   = "sms"
)

// Method is a sent-code method.
type Method struct {
	kind   string
	traits factor.Traits
}

var _ factor.Method = Method{}

// Email is codes by email.
var Email = Method{kind: KindEmail, traits: factor.Traits{Name: "Email", DefaultLabel: "Email", AMR: "email", RFC8176: "otp",
	Channel: factor.ByEmail, Enrollment: factor.SentCode, CodeLength: 6}}

// SMS is codes by text message, a NIST "restricted" authenticator.
var SMS = Method{kind: KindSMS, traits: factor.Traits{Name: "Text message (SMS)", DefaultLabel: "Text message", AMR: "sms", RFC8176: "sms",
	Channel: factor.BySMS, Enrollment: factor.SentCode, Restricted: true, CodeLength: 6}}

// Kind implements factor.Method.
func (m Method) Kind() string { return m.kind }

// Traits implements factor.Method.
func (m Method) Traits() factor.Traits { return m.traits }

// Normalize implements factor.Method: six ASCII digits.
func (Method) Normalize(raw string) (string, bool) {
	c, err := normalize.Code(raw, 6)
	return c, err == nil
}

// Usable implements factor.Method.
func (m Method) Usable(_ context.Context, _ factor.Env, _ store.User, fs []store.Factor) (bool, error) {
	return factor.HasConfirmed(fs, m.kind), nil
}

// Check implements factor.Method: the live code of the scope, sent to a
// confirmed factor of this method.
func (m Method) Check(ctx context.Context, env factor.Env, u store.User, sc factor.Scope, code string) (factor.Match, bool, error) {
	return env.CompareSent(ctx, u, sc, m.kind, code)
}

// ConfirmPending implements factor.Method: the code sent to f when it was
// added (or resent).
func (m Method) ConfirmPending(ctx context.Context, env factor.Env, u store.User, f store.Factor, sc factor.Scope, code string) (int64, bool, error) {
	res, ok, err := env.CompareSent(ctx, u, sc, m.kind, code)
	if err != nil || !ok || res.Factor == nil || res.Factor.ID != f.ID {
		return 0, false, err
	}
	return 0, true, nil
}
