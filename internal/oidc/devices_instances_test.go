package oidc_test

import (
	"crypto/rand"
	"encoding/base64"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/store/postgres/pgtest"
)

// Two instances on one PostgreSQL agree on device state: a device
// registered at one opens sessions at two, wrong passcodes at both count
// together, a token rotated at one is reused at two and revokes the
// device everywhere, and a device authorization started at one is
// approved at two and redeemed at one.
func TestTwoInstancesOnPostgreSQLAgreeOnDevices(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	var key [32]byte
	rand.Read(key[:])
	secretKey := "k1:" + base64.StdEncoding.EncodeToString(key[:])
	shared := func(c *config.Config) { c.DatabaseURL, c.SecretKey = dsn, secretKey }
	offset := new(atomic.Int64)
	one := startRig(t, shared, "", offset)
	two := startRig(t, shared, one.issuer, offset)
	one.cli("", "org", "create", "--slug", "acme", "--name", "Acme Corp")
	one.user("acme", "alice")
	ph := one.enrollTOTP("acme", "alice")
	mobile, _ := one.client("acme", "mobile")
	agent, _ := one.client("acme", "agent")

	// Registered at one (both factors).
	_, m := one.api("POST", "/api/v1/auth/login", "", map[string]any{"org": "acme", "username": "alice", "password": testPassword,
		"client_id": mobile, "device": map[string]string{"name": "Alice's iPhone", "platform": "iOS 18"}})
	st, reg := one.api("POST", "/api/v1/auth/verify", "", map[string]string{"flow_token": m["flow_token"].(string), "method": "totp", "code": ph.code()})
	if st != 200 || reg["device_token"] == nil {
		t.Fatalf("registration at one: %d %v", st, reg)
	}
	id := reg["device"].(map[string]any)["id"].(string)
	devTok := reg["device_token"].(string)
	if st, _ := two.api("PUT", "/api/v1/devices/"+id+"/passcode", reg["access_token"].(string), map[string]string{"passcode": "2468"}); st != 204 {
		t.Fatalf("passcode set at two: %d", st)
	}
	// A session at two; the old token reused at one would revoke — first the passcode counter.
	st, s2 := two.api("POST", "/api/v1/devices/"+id+"/sessions", "", map[string]string{"device_token": devTok, "passcode": "2468"})
	if st != 200 {
		t.Fatalf("session at two: %d %v", st, s2)
	}
	devTok = s2["device_token"].(string)
	for i := range 4 {
		rig := one
		if i%2 == 1 {
			rig = two
		}
		st, e := rig.api("POST", "/api/v1/devices/"+id+"/sessions", "", map[string]string{"device_token": devTok, "passcode": "0000"})
		if st != 401 || e["error"].(map[string]any)["tries_left"] != float64(4-i) {
			t.Fatalf("wrong passcode %d: %d %v", i+1, st, e)
		}
	}
	// The right passcode resets the counter, at one.
	st, s1 := one.api("POST", "/api/v1/devices/"+id+"/sessions", "", map[string]string{"device_token": devTok, "passcode": "2468"})
	if st != 200 {
		t.Fatalf("right passcode at one: %d %v", st, s1)
	}
	// The spent token presented at two revokes the device for both.
	st, e := two.api("POST", "/api/v1/devices/"+id+"/sessions", "", map[string]string{"device_token": devTok, "passcode": "2468"})
	if st != 401 || e["error"].(map[string]any)["code"] != "device_revoked" {
		t.Fatalf("reused token at two: %d %v", st, e)
	}
	st, e = one.api("POST", "/api/v1/devices/"+id+"/sessions", "", map[string]string{"device_token": s1["device_token"].(string), "passcode": "2468"})
	if st != 401 || e["error"].(map[string]any)["code"] != "device_revoked" {
		t.Fatalf("the current token at one after the reuse: %d %v", st, e)
	}

	// Device authorization: started at one, approved at two, redeemed at one.
	deviceCode, userCode, _ := one.startDevice(agent, "openid offline_access")
	b := two.browser()
	b.get("/device?user_code=" + userCode)
	b.post("/login", url.Values{"org": {"acme"}, "username": {"alice"}, "password": {testPassword}})
	b.post("/login/verify", url.Values{"method": {"totp"}, "code": {ph.code()}})
	if pg := b.post("/device", url.Values{"user_code": {userCode}, "decision": {"approve"}}); !strings.Contains(pg.body, `id="device-approved"`) {
		t.Fatalf("approve at two: %s", pg.body)
	}
	one.advance(10 * time.Second)
	if st, m := one.pollDevice(agent, deviceCode); st != 200 || m["refresh_token"] == nil {
		t.Fatalf("poll at one after approval at two: %d %v", st, m)
	}
}
