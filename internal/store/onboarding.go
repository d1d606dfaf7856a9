package store

import (
	"context"
	"time"
)

// A PasswordReset is a single-use "forgot password" link of one user. Only
// the hash of its token is stored. It is bound to the user's security
// version when it was made: any change that ends sign-ins (a new password,
// an MFA reset, a new role, disabling) makes it useless.
type PasswordReset struct {
	ID          string
	UserID      string
	TokenHash   []byte
	UserVersion int64
	CreatedAt   time.Time
	ExpiresAt   time.Time
	UsedAt      *time.Time
}

// PasswordResets keeps "forgot password" links.
type PasswordResets interface {
	// CreatePasswordReset stores r (ID generated when empty). A token hash
	// already in use is ErrConflict; an unknown user ErrNotFound.
	CreatePasswordReset(ctx context.Context, r PasswordReset) (PasswordReset, error)
	// LatestPasswordReset returns the newest link created for the user, or
	// ErrNotFound (used to throttle new links).
	LatestPasswordReset(ctx context.Context, userID string) (PasswordReset, error)
	// GetPasswordReset returns the link with tokenHash if it is usable at
	// now — unused, not expired, and made under the user's current security
	// version, for an enabled user — else ErrNotFound. It changes nothing.
	GetPasswordReset(ctx context.Context, tokenHash []byte, now time.Time) (PasswordReset, error)
	// ResetPassword spends the link with tokenHash and stores the new
	// password hash in one transaction: the link must be usable at now (see
	// GetPasswordReset), else ok is false and nothing changes; exactly one
	// of several concurrent callers gets ok. Like SetPassword it increments
	// the user's security version and deletes the user's flows, so every
	// other link of the user stops working too.
	ResetPassword(ctx context.Context, tokenHash []byte, now time.Time, hash string) (r PasswordReset, ok bool, err error)
	// DeleteExpiredPasswordResets removes links that expired before cutoff,
	// used or not, and returns how many.
	DeleteExpiredPasswordResets(ctx context.Context, cutoff time.Time) (int, error)
	// UsersByEmail returns the users of org whose address is email, compared
	// without regard to case (people type their address in any case), oldest
	// first.
	UsersByEmail(ctx context.Context, orgID, email string) ([]User, error)
}

// An Invitation asks someone, by email address, to open an account in an
// org. Only the hash of its current token is stored; a resend replaces it.
type Invitation struct {
	ID        string
	OrgID     string
	Email     string
	Name      string // optional, shown to the invitee and the admins
	Role      Role
	InvitedBy string // user id of the inviting admin ("" for the operator)
	TokenHash []byte
	CreatedAt time.Time
	SentAt    time.Time // when the current token was made
	ExpiresAt time.Time
	// AcceptedAt and UserID are set when the invitee opened the account.
	AcceptedAt *time.Time
	UserID     string
	RevokedAt  *time.Time
}

// Pending reports whether the invitation can still be accepted at now.
func (i Invitation) Pending(now time.Time) bool {
	return i.AcceptedAt == nil && i.RevokedAt == nil && now.Before(i.ExpiresAt)
}

// Invitations keeps invitations.
type Invitations interface {
	// CreateInvitation stores inv (ID generated when empty). An unknown org
	// is ErrNotFound.
	CreateInvitation(ctx context.Context, inv Invitation) (Invitation, error)
	// GetInvitation returns the invitation with id, or ErrNotFound.
	GetInvitation(ctx context.Context, id string) (Invitation, error)
	// ListInvitations returns the invitations of the org that were neither
	// accepted nor revoked (expired ones included, to be resent), newest
	// first.
	ListInvitations(ctx context.Context, orgID string) ([]Invitation, error)
	// RenewInvitation gives an invitation that was neither accepted nor
	// revoked a new token hash and expiry (a resend): the old token stops
	// working. Anything else is ErrNotFound.
	RenewInvitation(ctx context.Context, id string, tokenHash []byte, sentAt, expiresAt time.Time) (Invitation, error)
	// RevokeInvitation marks an invitation that was neither accepted nor
	// revoked revoked at at; anything else is ErrNotFound.
	RevokeInvitation(ctx context.Context, id string, at time.Time) error
	// InvitationByToken returns the invitation with tokenHash if it is
	// pending at now, else ErrNotFound. It changes nothing.
	InvitationByToken(ctx context.Context, tokenHash []byte, now time.Time) (Invitation, error)
	// AcceptInvitation spends the invitation with tokenHash and creates u
	// (in the invitation's org) in one transaction. The invitation must be
	// pending at now, else ErrNotFound — exactly one of several concurrent
	// callers wins. A taken username is ErrConflict and leaves the
	// invitation pending.
	AcceptInvitation(ctx context.Context, tokenHash []byte, now time.Time, u User) (Invitation, User, error)
	// DeleteOldInvitations removes invitations that expired before cutoff
	// and were never accepted, and returns how many.
	DeleteOldInvitations(ctx context.Context, cutoff time.Time) (int, error)
}

// Onboarding is what password resets and invitations need from a store;
// Store embeds it.
type Onboarding interface {
	PasswordResets
	Invitations
}
