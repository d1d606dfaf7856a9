package signin

import (
	"net/http"

	"github.com/twofold-id/twofold/internal/problem"
)

// The errors of this package. Their codes are part of the public API.
var (
	ErrInvalidCredentials = problem.Define(http.StatusUnauthorized, "invalid_credentials", "The organization, username or password is not correct.")
	ErrInvalidCode        = problem.Define(http.StatusUnauthorized, "invalid_code", "That code is not correct or has already been used.")
	ErrInvalidFlow        = problem.Define(http.StatusUnauthorized, "invalid_flow", "This sign-in has expired. Please sign in again.")
	ErrTooManyAttempts    = problem.Define(http.StatusTooManyRequests, "too_many_attempts", "Too many wrong codes. Please wait before trying again.")
	ErrLocked             = problem.Define(http.StatusTooManyRequests, "mfa_locked", "Two-factor sign-in is locked after too many wrong codes. It unlocks by itself later, or an admin can unlock it.")
	ErrMethodUnavailable  = problem.Define(http.StatusBadRequest, "method_not_available", "That sign-in method is not available for this account.")
	ErrUnauthenticated    = problem.Define(http.StatusUnauthorized, "unauthenticated", "Please sign in.")
	ErrNotFound           = problem.Define(http.StatusNotFound, "not_found", "Not found.")
	ErrPolicyRequiresMFA  = problem.Define(http.StatusForbidden, "mfa_required_by_policy", "Your organization requires two-factor sign-in, so it cannot be turned off.")
	ErrEnrollNotAllowed   = problem.Define(http.StatusForbidden, "enrollment_not_allowed", "A first factor can be set up here only when the account has none.")
	ErrMethodNotAllowed   = problem.Define(http.StatusForbidden, "method_not_allowed", "Your organization does not allow this method.")
	ErrReauthRequired     = problem.Define(http.StatusForbidden, "reauthentication_required", "Please confirm with a current code first.")
	ErrFactorNotPending   = problem.Define(http.StatusConflict, "factor_not_pending", "This authenticator is not waiting for confirmation (it may have expired; start again).")
	ErrNoFactor           = problem.Define(http.StatusConflict, "no_factor", "Two-factor sign-in is not set up for this account.")
	ErrWeakPassword       = problem.Define(http.StatusBadRequest, "invalid_password", "Passwords must be 8 to 1024 characters long.")
	ErrInvalidInput       = problem.Define(http.StatusBadRequest, "invalid_request", "The request is not valid.")
	ErrSkipNotAllowed     = problem.Define(http.StatusForbidden, "enrollment_deadline_passed", "Setup can no longer be postponed.")
)

// Errors of the assurance rule: a session that no longer satisfies the
// user's current policy, and an admin who has no second factor of their own
// to confirm a sensitive action with.
var (
	ErrEnrollmentRequired = problem.Define(http.StatusForbidden, "mfa_enrollment_required",
		"Your organization now requires two-step sign-in. Set up a second factor to continue.")
	ErrStepUpRequired = problem.Define(http.StatusForbidden, "mfa_verification_required",
		"Your organization now requires two-step sign-in. Confirm with a current code to continue.")
	ErrOwnFactorRequired = problem.Define(http.StatusForbidden, "own_factor_required",
		"Set up two-step sign-in for your own account before changing the security of others.")
)
