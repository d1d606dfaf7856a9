package signin

import "github.com/twofold-id/twofold/internal/problem"

// The errors of this package. Their codes are part of the public API.
var (
	ErrInvalidCredentials = problem.New("invalid_credentials", "The organization, username or password is not correct.")
	ErrInvalidCode        = problem.New("invalid_code", "That code is not correct or has already been used.")
	ErrInvalidFlow        = problem.New("invalid_flow", "This sign-in has expired. Please sign in again.")
	ErrTooManyAttempts    = problem.New("too_many_attempts", "Too many wrong codes. Please wait before trying again.")
	ErrLocked             = problem.New("mfa_locked", "Two-factor sign-in is locked after too many wrong codes. It unlocks by itself later, or an admin can unlock it.")
	ErrMethodUnavailable  = problem.New("method_not_available", "That sign-in method is not available for this account.")
	ErrUnauthenticated    = problem.New("unauthenticated", "Please sign in.")
	ErrNotFound           = problem.New("not_found", "Not found.")
	ErrPolicyRequiresMFA  = problem.New("mfa_required_by_policy", "Your organization requires two-factor sign-in, so it cannot be turned off.")
	ErrEnrollNotAllowed   = problem.New("enrollment_not_allowed", "A first factor can be set up here only when the account has none.")
	ErrMethodNotAllowed   = problem.New("method_not_allowed", "Your organization does not allow this method.")
	ErrReauthRequired     = problem.New("reauthentication_required", "Please confirm with a current code first.")
	ErrFactorNotPending   = problem.New("factor_not_pending", "This authenticator is not waiting for confirmation (it may have expired; start again).")
	ErrNoFactor           = problem.New("no_factor", "Two-factor sign-in is not set up for this account.")
	ErrWeakPassword       = problem.New("invalid_password", "Passwords must be 8 to 1024 characters long.")
	ErrInvalidInput       = problem.New("invalid_request", "The request is not valid.")
	ErrSkipNotAllowed     = problem.New("enrollment_deadline_passed", "Setup can no longer be postponed.")
)

// Errors of the assurance rule: a session that no longer satisfies the
// user's current policy, and an admin who has no second factor of their own
// to confirm a sensitive action with.
var (
	ErrEnrollmentRequired = problem.New("mfa_enrollment_required",
		"Your organization now requires two-step sign-in. Set up a second factor to continue.")
	ErrStepUpRequired = problem.New("mfa_verification_required",
		"Your organization now requires two-step sign-in. Confirm with a current code to continue.")
	ErrOwnFactorRequired = problem.New("own_factor_required",
		"Set up two-step sign-in for your own account before changing the security of others.")
)
