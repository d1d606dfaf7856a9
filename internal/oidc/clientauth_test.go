package oidc_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// tokenFrom calls the token endpoint as a client at address ip (through
// the trusted loopback proxy) and returns the status, the Retry-After
// header and the error code.
func (r *rig) tokenFrom(ip, clientID, secret string) (int, string, string) {
	r.t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"tfr_unknown"}}
	req, _ := http.NewRequest("POST", r.base+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", ip)
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		r.t.Fatalf("token endpoint answered %d %q, not an RFC 6749 error body", res.StatusCode, b)
	}
	return res.StatusCode, res.Header.Get("Retry-After"), m.Error
}

// Wrong client secrets are limited per address and per client_id: past
// the limit the token endpoint answers 429 invalid_client with
// Retry-After, even to the right secret, until the bucket refills; other
// addresses and other clients are unaffected by one address's failures.
func TestClientAuthenticationFailuresAreLimited(t *testing.T) {
	r := newRig(t, nil)
	r.cli("", "org", "create", "--slug", "acme", "--name", "Acme Corp")
	id, secret := r.client("acme", "web")
	other, otherSecret := r.client("acme", "web")

	for i := range 20 {
		if st, _, code := r.tokenFrom("203.0.113.7", id, "tfc_wrong"); st != 401 || code != "invalid_client" {
			t.Fatalf("wrong secret #%d: %d %s, want 401 invalid_client", i+1, st, code)
		}
	}
	st, retry, code := r.tokenFrom("203.0.113.7", id, secret)
	if st != http.StatusTooManyRequests || code != "invalid_client" || retry == "" {
		t.Fatalf("the right secret from the address past its limit: %d %q %s, want 429 invalid_client with Retry-After", st, retry, code)
	}
	if st, _, _ := r.tokenFrom("203.0.113.7", other, otherSecret); st != http.StatusTooManyRequests {
		t.Fatalf("another client from the same address: %d, want 429", st)
	}
	// From another address the client authenticates (and the unknown
	// refresh token is what fails).
	if st, _, code := r.tokenFrom("198.51.100.9", id, secret); st != 400 || code != "invalid_grant" {
		t.Fatalf("the right secret from another address: %d %s, want 400 invalid_grant", st, code)
	}
	r.advance(2 * time.Minute)
	if st, _, code := r.tokenFrom("203.0.113.7", id, secret); st != 400 || code != "invalid_grant" {
		t.Fatalf("after the wait: %d %s, want the limit lifted", st, code)
	}

	// Failures spread over many addresses still count against the client.
	for i := range 100 {
		r.tokenFrom(fmt.Sprintf("10.1.%d.%d", i/200, i%200+1), other, "tfc_wrong")
	}
	if st, _, code := r.tokenFrom("192.0.2.55", other, otherSecret); st != http.StatusTooManyRequests || code != "invalid_client" {
		t.Fatalf("client past its limit from a fresh address: %d %s, want 429 invalid_client", st, code)
	}
	if st, _, code := r.tokenFrom("192.0.2.55", id, secret); st != 400 || code != "invalid_grant" {
		t.Fatalf("an unrelated client: %d %s, want it unaffected", st, code)
	}
}
