package app_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/app"
	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/factor/totp"
	"github.com/twofold-id/twofold/internal/ratelimit/redistest"
)

// attempts sends wrong passwords for made-up names (so that no account's
// own throttle is met) from this test's one address, going round the given
// instances, and returns how many were let through to the password check
// before the per-address limit answered rate_limited.
func attempts(t *testing.T, n int, ins ...instance) (passed int) {
	t.Helper()
	for i := range n {
		r := ins[i%len(ins)].call("POST", "/api/v1/auth/login", "", map[string]string{
			"org": "acme", "username": fmt.Sprintf("nobody%d", i), "password": "wrong password"})
		switch {
		case r.status == http.StatusUnauthorized && r.code() == "invalid_credentials":
			passed++
		case r.status == http.StatusTooManyRequests && r.code() == "rate_limited":
		default:
			t.Fatalf("attempt %d: %d %s", i, r.status, r.raw)
		}
	}
	return passed
}

// The per-address limit of the sign-in API allows bursts of 20.
const loginBurst = 20

func TestAnAttackerAlternatingBetweenInstancesGetsNoMoreAttemptsThanAgainstOne(t *testing.T) {
	for _, where := range []string{"postgres", "redis"} {
		t.Run(where, func(t *testing.T) {
			c := newCluster(t, func(cfg *config.Config, o *app.Options) {
				if where == "redis" {
					cfg.RedisURL = redistest.URL(t)
					o.RedisPrefix = redistest.Prefix()
				}
			})
			if r := c.one.call("POST", "/api/v1/orgs", c.root, map[string]string{"slug": "acme", "name": "Acme Corp"}); r.status != http.StatusCreated {
				t.Fatalf("create org: %d %s", r.status, r.raw)
			}
			// (The admin's own sign-in above came from the same address.)
			if got := attempts(t, 2*loginBurst, c.one, c.two); got != loginBurst-1 {
				t.Fatalf("alternating between two instances: %d wrong passwords checked, want %d (one instance's burst)", got, loginBurst-1)
			}
			// The limit refills at its rate, on both alike: a minute later
			// one instance lets through what the other would have.
			c.clk.Advance(time.Minute)
			first := attempts(t, 2*loginBurst, c.two)
			c.clk.Advance(time.Minute)
			second := attempts(t, 2*loginBurst, c.one, c.two)
			if first != second || first > loginBurst {
				t.Fatalf("after a minute: %d on one instance, %d alternating; want the same, at most %d", first, second, loginBurst)
			}
		})
	}
}

func TestLockoutPolicyAndUnlockAtOneInstanceHoldAtTheOtherAtOnce(t *testing.T) {
	c := newCluster(t, func(cfg *config.Config, _ *app.Options) { cfg.LockoutThreshold = 8 })
	one, two, root, clk := c.one, c.two, c.root, c.clk
	if r := one.call("POST", "/api/v1/orgs", root, map[string]string{"slug": "acme", "name": "Acme Corp"}); r.status != http.StatusCreated {
		t.Fatalf("create org: %d %s", r.status, r.raw)
	}
	newUser := func(name string) string {
		r := one.call("POST", "/api/v1/users", root, map[string]string{"org": "acme", "username": name, "password": testPassword})
		if r.status != http.StatusCreated {
			t.Fatalf("create %s: %d %s", name, r.status, r.raw)
		}
		return r.str("id")
	}
	login := func(in instance, name string) reply {
		t.Helper()
		r := in.call("POST", "/api/v1/auth/login", "", map[string]string{"org": "acme", "username": name, "password": testPassword})
		if r.status != http.StatusOK {
			t.Fatalf("login %s: %d %s", name, r.status, r.raw)
		}
		return r
	}

	// A policy change made at instance 1 binds a session and a sign-in at
	// instance 2 at once.
	newUser("bob")
	bob := login(two, "bob")
	if bob.str("status") != "authenticated" {
		t.Fatalf("bob under an optional policy: %s", bob.raw)
	}
	if r := one.call("PUT", "/api/v1/orgs/acme/policy", root, map[string]any{"mfa": "required", "locked": false}); r.status != http.StatusOK {
		t.Fatalf("require MFA on 1: %d %s", r.status, r.raw)
	}
	// /me answers a session that lacks what the policy demands, saying so.
	if r := two.call("GET", "/api/v1/me", bob.str("session_token"), nil); r.status != http.StatusOK || r.body["mfa"].(map[string]any)["required"] != true {
		t.Fatalf("bob's session on 2 after MFA became required on 1: %d %s", r.status, r.raw)
	}
	if r := two.call("GET", "/api/v1/me/sessions", bob.str("session_token"), nil); r.status == http.StatusOK {
		t.Fatalf("bob's session used on 2 after MFA became required on 1: %d %s", r.status, r.raw)
	}
	if r := login(two, "bob"); r.str("status") != "enrollment_required" {
		t.Fatalf("bob signing in on 2 after MFA became required on 1: %s", r.raw)
	}

	// Carol enrolls an authenticator app (on 1, confirmed on 2).
	carolID := newUser("carol")
	flow := login(one, "carol").str("flow_token")
	st := one.call("POST", "/api/v1/auth/enroll/totp", "", map[string]string{"flow_token": flow, "label": "Phone"})
	if st.status != http.StatusOK && st.status != http.StatusCreated {
		t.Fatalf("enroll on 1: %d %s", st.status, st.raw)
	}
	secret, err := totp.DecodeSecret(st.str("secret"))
	if err != nil {
		t.Fatal(err)
	}
	v := totp.Default()
	code := func() string { return v.Code(secret, v.Step(clk.Now())) }
	if r := two.call("POST", "/api/v1/auth/enroll/totp/confirm", "", map[string]string{"flow_token": flow, "factor_id": st.str("factor_id"), "code": code()}); r.status != http.StatusOK {
		t.Fatalf("confirm on 2: %d %s", r.status, r.raw)
	}

	// Wrong codes alternating between the instances lock her second factor
	// after the threshold (8): the lock holds on both.
	wrong := func() string {
		if code() == "000000" {
			return "111111"
		}
		return "000000"
	}
	for i := range 8 {
		clk.Advance(2 * time.Minute) // past any growing delay
		in := []instance{one, two}[i%2]
		f := login(in, "carol").str("flow_token")
		if r := in.call("POST", "/api/v1/auth/verify", "", map[string]string{"flow_token": f, "method": "totp", "code": wrong()}); r.status != http.StatusUnauthorized {
			t.Fatalf("wrong code %d: %d %s", i+1, r.status, r.raw)
		}
	}
	clk.Advance(2 * time.Minute)
	for _, in := range []instance{one, two} {
		f := login(in, "carol").str("flow_token")
		if r := in.call("POST", "/api/v1/auth/verify", "", map[string]string{"flow_token": f, "method": "totp", "code": code()}); r.status != http.StatusTooManyRequests || r.code() != "mfa_locked" {
			t.Fatalf("right code after the lock: %d %s", r.status, r.raw)
		}
	}
	// The admin unlocks her at 2; the right code works at 1 at once.
	if r := two.call("POST", "/api/v1/users/"+carolID+"/unlock", root, nil); r.status != http.StatusNoContent {
		t.Fatalf("unlock on 2: %d %s", r.status, r.raw)
	}
	f := login(one, "carol").str("flow_token")
	if r := one.call("POST", "/api/v1/auth/verify", "", map[string]string{"flow_token": f, "method": "totp", "code": code()}); r.status != http.StatusOK {
		t.Fatalf("right code on 1 after the unlock on 2: %d %s", r.status, r.raw)
	}
}
