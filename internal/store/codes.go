package store

import (
	"context"
	"time"
)

// Challenge purposes.
const (
	PurposeSignIn  = "signin"  // the second step of a sign-in flow
	PurposeConfirm = "confirm" // confirming a new email or phone factor
	PurposeReauth  = "reauth"  // a self-service check by a signed-in user
	PurposeReset   = "reset"   // the check of a "forgot password" link (FlowID is the link's id)
)

// A Challenge is a code sent by email or text message and not yet entered.
// Only the code's hash is stored. A challenge is bound to its user, to one
// factor, and to the flow (or self-service action) that asked for it.
type Challenge struct {
	ID        string
	UserID    string
	FactorID  string
	FlowID    string // the sign-in flow, or "" outside sign-in
	Purpose   string // PurposeSignIn, PurposeConfirm, PurposeReauth
	CodeHash  []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	Attempts  int // wrong codes entered against this challenge
	UsedAt    *time.Time
}

// An EmailConfirmation is a single-use link that confirms one address of one
// user. Only the hash of its token is stored.
type EmailConfirmation struct {
	ID        string
	UserID    string
	Email     string
	TokenHash []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// Challenges keeps sent codes.
type Challenges interface {
	// PutChallenge stores c as the one live challenge for its (UserID,
	// FlowID, Purpose): any earlier challenge with the same three is deleted
	// in the same transaction, so asking for a new code invalidates the old
	// one. ID is generated when empty.
	PutChallenge(ctx context.Context, c Challenge) (Challenge, error)
	// GetChallenge returns the live challenge for (userID, flowID, purpose),
	// used or not, or ErrNotFound.
	GetChallenge(ctx context.Context, userID, flowID, purpose string) (Challenge, error)
	// AddChallengeAttempt atomically increments Attempts and returns the new
	// count; ErrNotFound if the challenge is gone.
	AddChallengeAttempt(ctx context.Context, id string) (int, error)
	// UseChallenge marks the challenge used if it is unused, has fewer than
	// maxAttempts attempts and has not expired at now; it reports whether
	// this call used it (exactly one caller wins).
	UseChallenge(ctx context.Context, id string, now time.Time, maxAttempts int) (bool, error)
	// DeleteExpiredChallenges removes challenges that expired before cutoff.
	DeleteExpiredChallenges(ctx context.Context, cutoff time.Time) (int, error)
}

// EmailConfirmations keeps email confirmation links.
type EmailConfirmations interface {
	// CreateEmailConfirmation stores ec (ID generated when empty).
	CreateEmailConfirmation(ctx context.Context, ec EmailConfirmation) (EmailConfirmation, error)
	// ConsumeEmailConfirmation marks the confirmation with tokenHash used if
	// it is unused and not expired at now, and returns it; ok is false when
	// there is no such usable confirmation (exactly one caller wins).
	ConsumeEmailConfirmation(ctx context.Context, tokenHash []byte, now time.Time) (ec EmailConfirmation, ok bool, err error)
	// LatestEmailConfirmation returns the newest confirmation created for
	// the user, or ErrNotFound (used to throttle resends).
	LatestEmailConfirmation(ctx context.Context, userID string) (EmailConfirmation, error)
	// DeleteExpiredEmailConfirmations removes confirmations that expired
	// before cutoff, used or not, and returns how many.
	DeleteExpiredEmailConfirmations(ctx context.Context, cutoff time.Time) (int, error)
}

// SendCounters keeps fixed-window counters of sent messages, for quotas.
type SendCounters interface {
	// CountSend atomically adds one to the counter named key for the window
	// that starts at window and returns the new count. DeleteOldSendCounts
	// removes counters of windows that started before cutoff: callers pass
	// a cutoff at least one window length in the past.
	CountSend(ctx context.Context, key string, window time.Time) (int, error)
	DeleteOldSendCounts(ctx context.Context, cutoff time.Time) (int, error)
}

// CodeStore is what email and text-message codes need from a store; Store
// embeds it.
type CodeStore interface {
	Challenges
	EmailConfirmations
	SendCounters
}
