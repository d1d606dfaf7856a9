package api

import (
	"net/http"
	"regexp"
	"strconv"
	"testing"

	"github.com/twofold-id/twofold/internal/problem"
)

// publicStatus is every public error code a client of the API can meet, with
// the status it answers with. It is written out here, apart from the
// definitions, so that changing a code's status is a deliberate act: the
// definitions (problem.Define), this table and the OpenAPI file must agree.
var publicStatus = map[string]int{
	"malformed_json": 400, "empty_body": 400, "unknown_field": 400, "invalid_type": 400, "missing_field": 400,
	"invalid_request": 400, "invalid_password": 400, "invalid_phone": 400, "method_not_available": 400,
	"method_not_configured": 400, "invalid_confirmation": 400, "invalid_reset_token": 400, "code_required": 400, "invalid_invitation": 400, "invitations_rejected": 400, "import_rejected": 400, "invalid_setup_token": 401,
	"invalid_credentials": 401, "invalid_code": 401, "invalid_passkey": 401, "invalid_flow": 401, "unauthenticated": 401,
	"forbidden": 403, "policy_locked": 403, "reauthentication_required": 403, "own_factor_required": 403,
	"mfa_enrollment_required": 403, "mfa_verification_required": 403, "mfa_required_by_policy": 403,
	"enrollment_not_allowed": 403, "enrollment_deadline_passed": 403, "method_not_allowed": 403,
	"role_too_high": 403, "self_action": 403, "root_org": 403,
	"mfa_setup_required": 403, "passcode_required": 403, "device_session_not_allowed": 403, "invalid_device": 400,
	"invalid_passcode": 401, "second_factor_required": 401, "device_revoked": 401, "invalid_user_code": 404,
	"not_found": 404,
	"conflict":  409, "host_taken": 409, "org_not_empty": 409, "factor_not_pending": 409, "no_factor": 409, "email_not_confirmed": 409,
	"no_email": 409, "email_already_confirmed": 409, "username_taken": 409, "invitation_pending": 409,
	"body_too_large": 413, "unsupported_media_type": 415,
	"too_many_attempts": 429, "mfa_locked": 429, "signin_locked": 429, "rate_limited": 429, "resend_too_soon": 429, "send_quota_exceeded": 429,
	"internal_error": 500, "delivery_failed": 502, "unavailable": 503,
	"directory_unavailable": 503, "directory_password": 403, "directory_not_configured": 404, "invalid_directory": 400,
}

func TestEveryErrorCodeHasOneStatus(t *testing.T) {
	defined := problem.Codes()
	for code, status := range defined {
		want, ok := publicStatus[code]
		if !ok {
			t.Errorf("code %q (status %d) is defined but not in publicStatus", code, status)
		} else if want != status {
			t.Errorf("code %q is defined with status %d, publicStatus says %d", code, status, want)
		}
	}
	for code := range publicStatus {
		if _, ok := defined[code]; !ok {
			t.Errorf("publicStatus lists %q, which nothing defines", code)
		}
	}
}

// statusMention matches "`403 policy_locked`" in the OpenAPI descriptions.
var statusMention = regexp.MustCompile("`([1-5][0-9]{2}) ([a-z_]+)`")

// TestOpenAPIStatusesMatchTheErrors reads every "`STATUS code`" the OpenAPI
// document mentions and checks it against the table.
func TestOpenAPIStatusesMatchTheErrors(t *testing.T) {
	n := 0
	for _, m := range statusMention.FindAllStringSubmatch(string(openAPI), -1) {
		status, _ := strconv.Atoi(m[1])
		want, ok := publicStatus[m[2]]
		if !ok {
			continue // a status word such as "200 authenticated" or a sign-in status
		}
		n++
		if status != want {
			t.Errorf("openapi.yaml says `%d %s`; the error answers %d %s", status, m[2], want, http.StatusText(want))
		}
	}
	if n < 50 {
		t.Fatalf("only %d status mentions checked; has the document's style changed?", n)
	}
}
