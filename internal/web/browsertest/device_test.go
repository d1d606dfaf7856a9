package browsertest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// An agent without a browser asks for a device code (RFC 8628); the user
// opens /device in Chromium, signs in with both factors, sees the request
// and approves it; the agent's next poll gets its tokens.
func TestAnAgentIsApprovedOnTheDevicePageInChromium(t *testing.T) {
	p := newPortal(t)
	p.app.Config.PublicURL = p.srv.URL
	p.addOrg("acme", "Acme Inc", "required")
	p.addUser("acme", "alice", pw)
	b := p.newTab()
	b.open("/login")
	en := b.enroll("acme", "alice", pw)
	b.signOut()
	p.nextStep()
	var agent string
	for _, l := range strings.Split(p.cli("", "client", "create", "--org", "acme", "--name", "Sync agent", "--kind", "agent"), "\n") {
		if v, ok := strings.CutPrefix(l, "client_id: "); ok {
			agent = strings.TrimSpace(v)
		}
	}
	post := func(path string, form url.Values) (int, map[string]any) {
		t.Helper()
		res, err := http.PostForm(p.srv.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		m := map[string]any{}
		json.NewDecoder(res.Body).Decode(&m)
		return res.StatusCode, m
	}
	st, da := post("/oauth2/device_authorization", url.Values{"client_id": {agent}, "scope": {"openid offline_access"}})
	if st != 200 {
		t.Fatalf("device authorization: %d %v", st, da)
	}
	poll := func() (int, map[string]any) {
		return post("/oauth2/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
			"client_id": {agent}, "device_code": {da["device_code"].(string)}})
	}
	if st, m := poll(); st != 400 || m["error"] != "authorization_pending" {
		t.Fatalf("first poll: %d %v", st, m)
	}

	// The user types the code on /device, signs in with both factors and lands back on the request.
	b.open("/device")
	b.wantPage("/device", "Connect a device")
	b.fill("user_code", strings.ToLower(da["user_code"].(string)))
	b.click("device-continue")
	b.wantPage("/login", "Sign in")
	b.fill("org", "acme")
	b.fill("username", "alice")
	b.fill("password", pw)
	b.click("login-submit")
	b.wantPage("/login/verify", "Confirm it is you")
	p.nextStep()
	b.fill("code", p.totpCode(en.secret))
	b.click("verify-submit")
	if got := b.h1(); got != "Connect Sync agent?" {
		t.Fatalf("after sign-in: %q at %s", got, b.path())
	}
	if code := b.text("device-code"); code != da["user_code"] {
		t.Errorf("the page shows code %q, the device %q", code, da["user_code"])
	}
	b.checkAccessibility("device request")
	b.fill("device-name", "Build server")
	b.click("device-approve")
	b.wantPage("/device", "Device connected")

	p.nextStep() // past the poll interval
	if st, m := poll(); st != 200 || m["access_token"] == nil || m["refresh_token"] == nil {
		t.Fatalf("poll after approval: %d %v", st, m)
	}
	b.open("/security")
	if !strings.Contains(b.text("devices"), "Build server") {
		t.Errorf("the security page does not list the approved agent: %q", b.text("devices"))
	}
}
