package store

import (
	"context"
	"time"
)

// Ceremony purposes.
const (
	// CeremonyRegister adds a security key or passkey: bound to the pending
	// factor it will confirm.
	CeremonyRegister = "register"
	// CeremonySignIn is the second step of a sign-in flow: bound to the flow.
	CeremonySignIn = "signin"
	// CeremonyPasskey is a sign-in with a passkey alone: bound to its own
	// token (Binding is the token's hash), not to any user.
	CeremonyPasskey = "passkey"
	// CeremonyReauth is a signed-in user's self-service check: bound to
	// the user.
	CeremonyReauth = "reauth"
)

// A Ceremony is the server side of one WebAuthn ceremony: the options sent
// to the browser, kept until the browser's answer comes back, and usable
// once. It is found by the hash of its challenge, and only together with
// what it is bound to.
type Ceremony struct {
	ID string
	// ChallengeHash is the SHA-256 of the raw challenge.
	ChallengeHash []byte
	Purpose       string
	// Binding is what the answer must come with: the flow id for
	// CeremonySignIn, the pending factor's id for CeremonyRegister, the
	// hex SHA-256 of the passkey token for CeremonyPasskey.
	Binding string
	// UserID is the user the ceremony is for ('' for CeremonyPasskey).
	UserID string
	// Session is the relying party's session data (go-webauthn's
	// SessionData as JSON): public values only.
	Session   []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// Ceremonies keeps WebAuthn ceremonies.
type Ceremonies interface {
	// PutCeremony stores c (ID generated when empty).
	PutCeremony(ctx context.Context, c Ceremony) (Ceremony, error)
	// ConsumeCeremony marks the unused, unexpired ceremony with
	// challengeHash, purpose and binding used at now, in one conditional
	// statement, and returns it; ok is false when there is none (exactly one
	// of several concurrent callers gets true).
	ConsumeCeremony(ctx context.Context, challengeHash []byte, purpose, binding string, now time.Time) (c Ceremony, ok bool, err error)
	// DeleteExpiredCeremonies removes ceremonies that expired before
	// cutoff, used or not, and returns how many.
	DeleteExpiredCeremonies(ctx context.Context, cutoff time.Time) (int, error)
	// SetPendingFactorSecret replaces the sealed secret and the target of a
	// factor that is still pending (a security key's credential, known
	// only when its registration is answered); false when the factor is
	// confirmed or gone. A webauthn target (credential id) already held by
	// any factor is ErrConflict.
	SetPendingFactorSecret(ctx context.Context, id string, secret []byte, keyID, target string) (bool, error)
}
