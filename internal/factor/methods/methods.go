// Package methods registers every second-factor method Twofold offers. To
// add a method, write its package under internal/factor (a factor.Method)
// and add one line below; sign-in, policy, the portal and the API find it
// through the registry.
package methods

import (
	"github.com/twofold-id/twofold/internal/factor"
	"github.com/twofold-id/twofold/internal/factor/backup"
	"github.com/twofold-id/twofold/internal/factor/sent"
	"github.com/twofold-id/twofold/internal/factor/totp"
	"github.com/twofold-id/twofold/internal/factor/webauthn"
)

// New returns the registry, with authenticator-app codes checked by v and
// security keys verified for the relying party of wa. The order is the
// order in which methods are offered: a security key first, as the one
// that resists phishing.
func New(v totp.Verifier, wa webauthn.Method) *factor.Registry {
	return factor.NewRegistry(
		wa,
		totp.Method{V: v},
		sent.Email,
		sent.SMS,
		backup.Method{},
	)
}

// Default is the registry with the standard authenticator-app settings; code
// that only needs the methods' kinds and traits uses it.
var Default = New(totp.Default(), webauthn.Method{})
