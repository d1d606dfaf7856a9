package oidc_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

const deviceGrant = "urn:ietf:params:oauth:grant-type:device_code"

// startDevice asks for a device authorization as an agent would.
func (r *rig) startDevice(clientID, scope string) (deviceCode, userCode, verification string) {
	r.t.Helper()
	st, m := r.tokenCall("/oauth2/device_authorization", "", "", url.Values{"client_id": {clientID}, "scope": {scope}})
	if st != 200 {
		r.t.Fatalf("device authorization: %d %v", st, m)
	}
	if m["interval"] != float64(5) || m["expires_in"] != float64(600) {
		r.t.Errorf("device authorization: interval %v, expires_in %v; want 5 and 600", m["interval"], m["expires_in"])
	}
	return m["device_code"].(string), m["user_code"].(string), m["verification_uri"].(string)
}

func (r *rig) pollDevice(clientID, deviceCode string) (int, map[string]any) {
	r.t.Helper()
	return r.tokenCall("/oauth2/token", "", "", url.Values{"grant_type": {deviceGrant}, "client_id": {clientID}, "device_code": {deviceCode}})
}

var userCodeRE = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)

func TestAnAgentIsApprovedOnTheDevicePageWithBothFactorsAndRemovingItEndsItsTokens(t *testing.T) {
	r := newRig(t, nil)
	r.cli("", "org", "create", "--slug", "acme", "--name", "Acme")
	r.user("acme", "alice")
	ph := r.enrollTOTP("acme", "alice")
	agent, _ := r.client("acme", "agent")
	native, _ := r.client("acme", "native")

	// Only agents may use the grant.
	st, m := r.tokenCall("/oauth2/device_authorization", "", "", url.Values{"client_id": {native}, "scope": {"openid"}})
	wantOAuthError(t, "a native client asking for a device code", st, m, 400, "unauthorized_client")

	deviceCode, userCode, verification := r.startDevice(agent, "openid offline_access")
	if !userCodeRE.MatchString(userCode) || !strings.HasSuffix(verification, "/device") {
		t.Fatalf("user code %q, verification_uri %q", userCode, verification)
	}
	st, m = r.pollDevice(agent, deviceCode)
	wantOAuthError(t, "a poll before approval", st, m, 400, "authorization_pending")
	st, m = r.pollDevice(agent, deviceCode)
	wantOAuthError(t, "a poll sooner than the interval", st, m, 400, "slow_down")

	// The user opens /device, signs in with both factors and lands back on the request.
	b := r.browser()
	pg := b.get("/device?user_code=" + strings.ToLower(userCode))
	if !strings.Contains(pg.body, `id="login-form"`) {
		t.Fatalf("/device without a session: %s %s", pg.url, pg.body)
	}
	pg = b.post("/login", url.Values{"org": {"acme"}, "username": {"alice"}, "password": {testPassword}})
	pg = b.post("/login/verify", url.Values{"method": {"totp"}, "code": {ph.code()}})
	if pg.url.Path != "/device" || !strings.Contains(pg.body, "App agent") || !strings.Contains(pg.body, userCode) ||
		!strings.Contains(pg.body, `id="device-approve"`) {
		t.Fatalf("after sign-in: %s %s", pg.url, pg.body)
	}
	// A wrong code says so.
	if wrong := b.get("/device?user_code=BBBB-BBBB"); wrong.status != 404 || !strings.Contains(wrong.body, "not valid") {
		t.Fatalf("a wrong user code: %d %s", wrong.status, wrong.body)
	}
	pg = b.post("/device", url.Values{"user_code": {userCode}, "decision": {"approve"}, "name": {"Build server agent"}})
	if !strings.Contains(pg.body, `id="device-approved"`) {
		t.Fatalf("approve: %d %s", pg.status, pg.body)
	}
	// The code is spent.
	if again := b.post("/device", url.Values{"user_code": {userCode}, "decision": {"approve"}}); again.status != 404 {
		t.Fatalf("approving twice: %d", again.status)
	}

	r.advance(10 * time.Second)
	st, m = r.pollDevice(agent, deviceCode)
	if st != 200 || m["access_token"] == nil || m["refresh_token"] == nil || m["id_token"] == nil {
		t.Fatalf("poll after approval: %d %v", st, m)
	}
	refresh := m["refresh_token"].(string)
	r.advance(10 * time.Second)
	st, m = r.pollDevice(agent, deviceCode)
	if st == 200 {
		t.Fatalf("a device code redeemed twice: %v", m)
	}

	// The device is listed as an agent; it refreshes silently.
	_, sess := r.api("POST", "/api/v1/auth/login", "", map[string]string{"org": "acme", "username": "alice", "password": testPassword})
	_, v := r.api("POST", "/api/v1/auth/verify", "", map[string]string{"flow_token": sess["flow_token"].(string), "method": "totp", "code": ph.code()})
	tok := v["session_token"].(string)
	_, list := r.api("GET", "/api/v1/me/devices", tok, nil)
	devices, _ := list["devices"].([]any)
	if len(devices) != 1 || devices[0].(map[string]any)["name"] != "Build server agent" || devices[0].(map[string]any)["kind"] != "agent" {
		t.Fatalf("devices after approval: %v", list)
	}
	st, m = r.tokenCall("/oauth2/token", "", "", url.Values{"grant_type": {"refresh_token"}, "client_id": {agent}, "refresh_token": {refresh}})
	if st != 200 || m["refresh_token"] == nil {
		t.Fatalf("refresh: %d %v", st, m)
	}
	refresh = m["refresh_token"].(string)

	// Removing the device ends the grant.
	id := devices[0].(map[string]any)["id"].(string)
	if st, _ := r.api("DELETE", "/api/v1/me/devices/"+id, tok, nil); st != 204 {
		t.Fatalf("remove device: %d", st)
	}
	st, m = r.tokenCall("/oauth2/token", "", "", url.Values{"grant_type": {"refresh_token"}, "client_id": {agent}, "refresh_token": {refresh}})
	wantOAuthError(t, "a refresh after the device was removed", st, m, 400, "invalid_grant")

	// Denied: the agent hears access_denied.
	deviceCode, userCode, _ = r.startDevice(agent, "openid")
	pg = b.get("/device?user_code=" + userCode)
	if !strings.Contains(pg.body, `id="device-deny"`) {
		t.Fatalf("second request: %s", pg.body)
	}
	if pg = b.post("/device", url.Values{"user_code": {userCode}, "decision": {"deny"}}); !strings.Contains(pg.body, `id="device-denied"`) {
		t.Fatalf("deny: %s", pg.body)
	}
	st, m = r.pollDevice(agent, deviceCode)
	wantOAuthError(t, "a poll after denial", st, m, 400, "access_denied")
}

func TestADeviceIsNotApprovedWithoutASecondFactor(t *testing.T) {
	r := newRig(t, nil)
	r.cli("", "org", "create", "--slug", "acme", "--name", "Acme")
	r.user("acme", "bob")
	agent, _ := r.client("acme", "agent")
	deviceCode, userCode, _ := r.startDevice(agent, "openid")
	b := r.browser()
	b.get("/device?user_code=" + userCode)
	pg := b.post("/login", url.Values{"org": {"acme"}, "username": {"bob"}, "password": {testPassword}})
	if pg.url.Path != "/device" {
		t.Fatalf("after a password-only sign-in: %s", pg.url)
	}
	pg = b.post("/device", url.Values{"user_code": {userCode}, "decision": {"approve"}})
	if pg.status != 403 || !strings.Contains(pg.body, "two-step") {
		t.Fatalf("approval on a password-only session: %d %s", pg.status, pg.body)
	}
	st, m := r.pollDevice(agent, deviceCode)
	wantOAuthError(t, "a poll after a refused approval", st, m, 400, "authorization_pending")
}

func TestAMobileAppSigningInThroughTheSystemBrowserRegistersADeviceAndNeedsTheSecondFactor(t *testing.T) {
	r := newRig(t, nil)
	r.cli("", "org", "create", "--slug", "acme", "--name", "Acme")
	r.user("acme", "alice")
	ph := r.enrollTOTP("acme", "alice")
	mobile, _ := r.client("acme", "mobile")
	app := r.relyingParty(mobile, "")
	a := app.authorize()
	b := r.browser()
	cb := b.through(b.get(a.url), "acme", "alice", &ph)
	tok, c, _ := app.finish(a, cb)
	if tok.RefreshToken == "" || c.ACR == "" || !strings.Contains(strings.Join(c.AMR, " "), "mfa") {
		t.Fatalf("tokens: refresh %q, acr %q, amr %v", tok.RefreshToken, c.ACR, c.AMR)
	}
	_, sess := r.api("POST", "/api/v1/auth/login", "", map[string]string{"org": "acme", "username": "alice", "password": testPassword})
	_, v := r.api("POST", "/api/v1/auth/verify", "", map[string]string{"flow_token": sess["flow_token"].(string), "method": "totp", "code": ph.code()})
	_, list := r.api("GET", "/api/v1/me/devices", v["session_token"].(string), nil)
	devices, _ := list["devices"].([]any)
	if len(devices) != 1 || devices[0].(map[string]any)["kind"] != "mobile" {
		t.Fatalf("devices after the app's sign-in: %v", list)
	}
	// Removing the device ends the app's tokens.
	r.api("DELETE", "/api/v1/me/devices/"+devices[0].(map[string]any)["id"].(string), v["session_token"].(string), nil)
	st, m := r.tokenCall("/oauth2/token", "", "", url.Values{"grant_type": {"refresh_token"}, "client_id": {mobile}, "refresh_token": {tok.RefreshToken}})
	wantOAuthError(t, "a refresh after the device was removed", st, m, 400, "invalid_grant")

	// A user without a second factor meets the setup wizard, not a device.
	r.user("acme", "bob")
	a = app.authorize()
	b = r.browser()
	pg := b.get(a.url)
	pg = b.post("/login", url.Values{"org": {"acme"}, "username": {"bob"}, "password": {testPassword}})
	if strings.Contains(pg.body, `id="app-continue"`) || pg.loc != nil {
		t.Fatalf("a password-only sign-in went on to the app: %s %v", pg.url, pg.loc)
	}
}
