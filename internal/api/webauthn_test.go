package api_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	vwa "github.com/descope/virtualwebauthn"

	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/password"
)

// The relying party the tests' server is: its public URL.
var testRP = vwa.RelyingParty{ID: "id.example.test", Name: "Twofold", Origin: "https://id.example.test"}

// keyServer is a server whose public URL is testRP's origin.
func keyServer(t *testing.T, dsn string) *server {
	t.Helper()
	pp := password.TestParams()
	s := newServerOn(t, dsn, &pp, func(c *config.Config) { c.PublicURL = testRP.Origin })
	s.orgAndUser()
	return s
}

// key is a software authenticator holding one credential.
type key struct {
	auth vwa.Authenticator
	cred vwa.Credential
	rp   vwa.RelyingParty
}

// attest answers the creation options of r (a factor_id/options answer)
// with a new credential, as navigator.credentials.create would.
func attest(t *testing.T, r response, k *key) json.RawMessage {
	t.Helper()
	var m struct {
		Options json.RawMessage `json:"options"`
	}
	if err := json.Unmarshal(r.body, &m); err != nil || len(m.Options) == 0 {
		t.Fatalf("no options in %d %s", r.status, r.body)
	}
	opts, err := vwa.ParseAttestationOptions(string(m.Options))
	if err != nil {
		t.Fatalf("options are not what navigator.credentials.create takes: %v\n%s", err, m.Options)
	}
	if opts.RelyingPartyID != testRP.ID {
		t.Fatalf("rp id = %q, want the public URL's host %q", opts.RelyingPartyID, testRP.ID)
	}
	k.auth.Options.UserHandle = []byte(opts.UserID)
	return json.RawMessage(vwa.CreateAttestationResponse(k.rp, k.auth, k.cred, *opts))
}

// assert answers request options with the key's credential, as
// navigator.credentials.get would.
func assert(t *testing.T, r response, k *key) json.RawMessage {
	t.Helper()
	var m struct {
		Options json.RawMessage `json:"options"`
	}
	if err := json.Unmarshal(r.body, &m); err != nil || len(m.Options) == 0 {
		t.Fatalf("no options in %d %s", r.status, r.body)
	}
	opts, err := vwa.ParseAssertionOptions(string(m.Options))
	if err != nil {
		t.Fatalf("options are not what navigator.credentials.get takes: %v\n%s", err, m.Options)
	}
	k.cred.Counter++
	return json.RawMessage(vwa.CreateAssertionResponse(k.rp, k.auth, k.cred, *opts))
}

func newKey(passkey bool) *key {
	k := &key{auth: vwa.NewAuthenticatorWithOptions(vwa.AuthenticatorOptions{UserNotVerified: !passkey, BackupEligible: passkey}),
		cred: vwa.NewCredentialWithImportedKey(vwa.KeyTypeEC2, p256Key()), rp: testRP}
	k.auth.AddCredential(k.cred)
	return k
}

// p256Key is a PKCS #8 P-256 key whose coordinates both take 32 bytes. The
// software authenticator writes a coordinate without its leading zero bytes
// (big.Int.Bytes), which go-webauthn rightly refuses ("x or y coordinate
// has invalid length") — about one key in 64 — so tests only use keys a
// real authenticator could have sent.
func p256Key() []byte {
	for {
		pk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		if len(pk.X.Bytes()) != 32 || len(pk.Y.Bytes()) != 32 {
			continue
		}
		der, err := x509.MarshalPKCS8PrivateKey(pk)
		if err != nil {
			panic(err)
		}
		return der
	}
}

// addKey adds a security key for the session tok and returns it with the
// confirm answer.
func addKey(t *testing.T, s *server, tok string, passkey bool) (*key, response) {
	t.Helper()
	r := s.post("/api/v1/me/factors/webauthn", tok, map[string]any{"label": "YubiKey", "passkey": passkey})
	if r.status != http.StatusCreated || r.str(t, "factor_id") == "" {
		t.Fatalf("start: %d %s", r.status, r.body)
	}
	k := newKey(passkey)
	cred := attest(t, r, k)
	c := s.post("/api/v1/me/factors/"+r.str(t, "factor_id")+"/confirm", tok, map[string]any{"credential": cred})
	if c.status != http.StatusOK {
		t.Fatalf("confirm: %d %s", c.status, c.body)
	}
	return k, c
}

func TestSecurityKeyIsAddedThenAnswersTheSecondStepOncePerChallenge(t *testing.T) {
	onEachStoreDSN(t, func(t *testing.T, dsn string) {
		s := keyServer(t, dsn)
		tok := s.login("alice", "authenticated").str(t, "session_token")
		k, c := addKey(t, s, tok, false)
		if codes, _ := c.json(t)["backup_codes"].([]any); len(codes) != 10 {
			t.Fatalf("the first factor came with %d backup codes, want 10: %s", len(codes), c.body)
		}

		login := s.login("alice", "mfa_required")
		methods, _ := login.json(t)["methods"].([]any)
		if len(methods) == 0 || methods[0] != "webauthn" {
			t.Fatalf("methods = %v, want webauthn offered first", methods)
		}
		flow := login.str(t, "flow_token")
		ch := s.post("/api/v1/auth/challenge", "", map[string]string{"flow_token": flow, "method": "webauthn"})
		if ch.status != http.StatusOK {
			t.Fatalf("challenge: %d %s", ch.status, ch.body)
		}
		cred := assert(t, ch, k)
		v := s.post("/api/v1/auth/verify", "", map[string]any{"flow_token": flow, "method": "webauthn", "credential": cred})
		if v.status != http.StatusOK || v.str(t, "status") != "authenticated" {
			t.Fatalf("verify: %d %s", v.status, v.body)
		}
		me := s.get("/api/v1/me", v.str(t, "session_token"))
		if me.status != http.StatusOK {
			t.Fatalf("me: %d %s", me.status, me.body)
		}

		// The same assertion again, in a new flow: its challenge is used.
		flow2 := s.login("alice", "mfa_required").str(t, "flow_token")
		again := s.post("/api/v1/auth/verify", "", map[string]any{"flow_token": flow2, "method": "webauthn", "credential": cred})
		if again.status != http.StatusUnauthorized || again.errorCode(t) != "invalid_code" {
			t.Fatalf("replayed assertion: %d %s", again.status, again.body)
		}
		// An assertion for one flow's challenge does not finish another.
		ch2 := s.post("/api/v1/auth/challenge", "", map[string]string{"flow_token": flow2, "method": "webauthn"})
		other := assert(t, ch2, k)
		flow3 := s.login("alice", "mfa_required").str(t, "flow_token")
		cross := s.post("/api/v1/auth/verify", "", map[string]any{"flow_token": flow3, "method": "webauthn", "credential": other})
		if cross.status != http.StatusUnauthorized {
			t.Fatalf("assertion of another flow: %d %s", cross.status, cross.body)
		}
	})
}

func TestFiftyParallelAnswersToOneChallengeOneWins(t *testing.T) {
	s := keyServer(t, "")
	tok := s.login("alice", "authenticated").str(t, "session_token")
	k, _ := addKey(t, s, tok, false)
	login := s.login("alice", "mfa_required")
	flow := login.str(t, "flow_token")
	ch := s.post("/api/v1/auth/challenge", "", map[string]string{"flow_token": flow, "method": "webauthn"})
	cred := assert(t, ch, k)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := s.post("/api/v1/auth/verify", "", map[string]any{"flow_token": flow, "method": "webauthn", "credential": cred})
			if v.status == http.StatusOK {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if v.status >= 500 {
				t.Errorf("verify: %d %s", v.status, v.body)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d of 50 parallel answers signed in, want exactly 1", wins)
	}
}

func TestACounterThatGoesBackIsRefusedAndAudited(t *testing.T) {
	s := keyServer(t, "")
	tok := s.login("alice", "authenticated").str(t, "session_token")
	k, _ := addKey(t, s, tok, false)
	k.cred.Counter = 10
	flow := s.login("alice", "mfa_required").str(t, "flow_token")
	ch := s.post("/api/v1/auth/challenge", "", map[string]string{"flow_token": flow, "method": "webauthn"})
	v := s.post("/api/v1/auth/verify", "", map[string]any{"flow_token": flow, "method": "webauthn", "credential": assert(t, ch, k)})
	if v.status != http.StatusOK {
		t.Fatalf("verify: %d %s", v.status, v.body)
	}
	k.cred.Counter = 3 // a copy of the key, used less often
	flow = s.login("alice", "mfa_required").str(t, "flow_token")
	ch = s.post("/api/v1/auth/challenge", "", map[string]string{"flow_token": flow, "method": "webauthn"})
	v = s.post("/api/v1/auth/verify", "", map[string]any{"flow_token": flow, "method": "webauthn", "credential": assert(t, ch, k)})
	if v.status != http.StatusUnauthorized || v.errorCode(t) != "invalid_code" {
		t.Fatalf("a rolled-back counter: %d %s", v.status, v.body)
	}
	if !strings.Contains(s.logs.String(), "factor.cloned") {
		t.Fatal("no factor.cloned audit event in the log")
	}
}

func TestPasskeyAloneSignsInAsMultiFactorAndOnlyItsUser(t *testing.T) {
	onEachStoreDSN(t, func(t *testing.T, dsn string) {
		s := keyServer(t, dsn)
		tok := s.login("alice", "authenticated").str(t, "session_token")
		k, _ := addKey(t, s, tok, true)

		o := s.post("/api/v1/auth/passkey/options", "", map[string]any{})
		if o.status != http.StatusOK || o.str(t, "flow_token") == "" {
			t.Fatalf("passkey options: %d %s", o.status, o.body)
		}
		cred := assert(t, o, k)
		v := s.post("/api/v1/auth/passkey/verify", "", map[string]any{"flow_token": o.str(t, "flow_token"), "credential": cred})
		if v.status != http.StatusOK || v.str(t, "status") != "authenticated" {
			t.Fatalf("passkey verify: %d %s", v.status, v.body)
		}
		me := s.get("/api/v1/me", v.str(t, "session_token"))
		if me.status != http.StatusOK {
			t.Fatalf("me: %d %s", me.status, me.body)
		}
		if amr := fmt.Sprint(me.json(t)["session"].(map[string]any)["amr"]); !strings.Contains(amr, "mfa") || !strings.Contains(amr, "hwk") || !strings.Contains(amr, "user") {
			t.Fatalf("a passkey sign-in's amr = %s, want mfa, hwk and user", amr)
		}
		// Once per challenge.
		again := s.post("/api/v1/auth/passkey/verify", "", map[string]any{"flow_token": o.str(t, "flow_token"), "credential": cred})
		if again.status != http.StatusUnauthorized || again.errorCode(t) != "invalid_passkey" {
			t.Fatalf("replayed passkey: %d %s", again.status, again.body)
		}
		// A key without user verification is no passkey sign-in.
		nouv := *k
		nouv.auth.Options.UserNotVerified = true
		o = s.post("/api/v1/auth/passkey/options", "", map[string]any{})
		v = s.post("/api/v1/auth/passkey/verify", "", map[string]any{"flow_token": o.str(t, "flow_token"), "credential": assert(t, o, &nouv)})
		if v.status != http.StatusUnauthorized {
			t.Fatalf("passkey without user verification: %d %s", v.status, v.body)
		}
		// Alice's credential claiming to be bob's account is refused.
		s.cli(testPassword+"\n", "user", "create", "--org", "acme", "--username", "bob", "--password-stdin")
		bobTok := s.login("bob", "authenticated").str(t, "session_token")
		bobKey, _ := addKey(t, s, bobTok, true)
		forged := *k
		forged.auth.Options.UserHandle = bobKey.auth.Options.UserHandle
		o = s.post("/api/v1/auth/passkey/options", "", map[string]any{})
		v = s.post("/api/v1/auth/passkey/verify", "", map[string]any{"flow_token": o.str(t, "flow_token"), "credential": assert(t, o, &forged)})
		if v.status != http.StatusUnauthorized || v.errorCode(t) != "invalid_passkey" {
			t.Fatalf("alice's key for bob: %d %s", v.status, v.body)
		}
	})
}

func TestOneCredentialCannotBeRegisteredTwice(t *testing.T) {
	s := keyServer(t, "")
	tok := s.login("alice", "authenticated").str(t, "session_token")
	k, _ := addKey(t, s, tok, false)
	s.cli(testPassword+"\n", "user", "create", "--org", "acme", "--username", "bob", "--password-stdin")
	bobTok := s.login("bob", "authenticated").str(t, "session_token")
	r := s.post("/api/v1/me/factors/webauthn", bobTok, map[string]any{"label": "stolen"})
	cred := attest(t, r, k) // alice's credential id, offered for bob
	c := s.post("/api/v1/me/factors/"+r.str(t, "factor_id")+"/confirm", bobTok, map[string]any{"credential": cred})
	if c.status != http.StatusUnauthorized {
		t.Fatalf("a credential id registered to alice, for bob: %d %s", c.status, c.body)
	}
}

func TestAFirstSecurityKeyInTheEnrollmentFlowAndPolicyThatForbidsKeys(t *testing.T) {
	s := keyServer(t, "")
	s.cli("", "org", "set-policy", "--org", "acme", "--mfa", "required")
	login := s.login("alice", "enrollment_required")
	methods, _ := login.json(t)["methods"].([]any)
	if !slices.Contains(methods, any("webauthn")) {
		t.Fatalf("enrollment methods = %v, want webauthn among them", methods)
	}
	flow := login.str(t, "flow_token")
	r := s.post("/api/v1/auth/enroll/webauthn", "", map[string]any{"flow_token": flow, "label": "Blue key"})
	if r.status != http.StatusCreated {
		t.Fatalf("enroll start: %d %s", r.status, r.body)
	}
	k := newKey(false)
	c := s.post("/api/v1/auth/enroll/confirm", "", map[string]any{"flow_token": flow, "factor_id": r.str(t, "factor_id"), "credential": attest(t, r, k)})
	if c.status != http.StatusOK || c.str(t, "status") != "authenticated" {
		t.Fatalf("enroll confirm: %d %s", c.status, c.body)
	}
	if codes, _ := c.json(t)["backup_codes"].([]any); len(codes) != 10 {
		t.Fatalf("backup codes with the first key: %s", c.body)
	}
	factors := s.get("/api/v1/me/factors", c.str(t, "session_token"))
	if !strings.Contains(string(factors.body), `"Blue key"`) || !strings.Contains(string(factors.body), `"webauthn"`) ||
		!strings.Contains(string(factors.body), `"backup_eligible":false`) || !strings.Contains(string(factors.body), `"aaguid":"`) {
		t.Fatalf("factors: %s", factors.body)
	}

	// An org that allows only authenticator apps: no new key, and the
	// sign-in does not need one.
	s.cli("", "org", "set-policy", "--org", "acme", "--methods", "totp")
	tok := c.str(t, "session_token")
	if r := s.post("/api/v1/me/factors/webauthn", tok, map[string]any{"label": "another"}); r.status != http.StatusForbidden || r.errorCode(t) != "method_not_allowed" {
		t.Fatalf("a key where the org forbids keys: %d %s", r.status, r.body)
	}
}

func TestAKeyAnswersASelfServiceCheck(t *testing.T) {
	s := keyServer(t, "")
	tok := s.login("alice", "authenticated").str(t, "session_token")
	k, _ := addKey(t, s, tok, false)
	// A fresh sign-in with the key, then new backup codes confirmed by it.
	flow := s.login("alice", "mfa_required").str(t, "flow_token")
	ch := s.post("/api/v1/auth/challenge", "", map[string]string{"flow_token": flow, "method": "webauthn"})
	tok = s.post("/api/v1/auth/verify", "", map[string]any{"flow_token": flow, "method": "webauthn", "credential": assert(t, ch, k)}).str(t, "session_token")
	o := s.post("/api/v1/me/codes", tok, map[string]string{"method": "webauthn"})
	if o.status != http.StatusOK {
		t.Fatalf("self-service options: %d %s", o.status, o.body)
	}
	r := s.post("/api/v1/me/backup-codes", tok, map[string]any{"credential": assert(t, o, k)})
	if r.status != http.StatusOK {
		t.Fatalf("new backup codes confirmed by a key: %d %s", r.status, r.body)
	}
}

func TestAPasskeyDoesNotSignInWhereTheOrgNoLongerAllowsKeys(t *testing.T) {
	s := keyServer(t, "")
	tok := s.login("alice", "authenticated").str(t, "session_token")
	k, _ := addKey(t, s, tok, true)
	s.cli("", "org", "set-policy", "--org", "acme", "--methods", "totp")
	o := s.post("/api/v1/auth/passkey/options", "", map[string]any{})
	v := s.post("/api/v1/auth/passkey/verify", "", map[string]any{"flow_token": o.str(t, "flow_token"), "credential": assert(t, o, k)})
	if v.status != http.StatusUnauthorized || v.errorCode(t) != "invalid_passkey" {
		t.Fatalf("a passkey where keys are no longer allowed: %d %s", v.status, v.body)
	}
}

func TestFailedAssertionsCountOnTheSameCounterAsWrongCodes(t *testing.T) {
	s := keyServer(t, "")
	tok := s.login("alice", "authenticated").str(t, "session_token")
	k, _ := addKey(t, s, tok, false)
	other := newKey(false) // a key alice never registered
	var last response
	for i := 1; i <= 6; i++ {
		flow := s.login("alice", "mfa_required").str(t, "flow_token")
		ch := s.post("/api/v1/auth/challenge", "", map[string]string{"flow_token": flow, "method": "webauthn"})
		last = s.post("/api/v1/auth/verify", "", map[string]any{"flow_token": flow, "method": "webauthn", "credential": assert(t, ch, other)})
		if i <= 5 && last.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d %s", i, last.status, last.body)
		}
	}
	if last.status != http.StatusTooManyRequests || last.errorCode(t) != "too_many_attempts" {
		t.Fatalf("sixth failed assertion: %d %s", last.status, last.body)
	}
	// The right key is delayed too, like a right code.
	flow := s.login("alice", "mfa_required").str(t, "flow_token")
	ch := s.post("/api/v1/auth/challenge", "", map[string]string{"flow_token": flow, "method": "webauthn"})
	if r := s.post("/api/v1/auth/verify", "", map[string]any{"flow_token": flow, "method": "webauthn", "credential": assert(t, ch, k)}); r.status != http.StatusTooManyRequests {
		t.Fatalf("the right key while delayed: %d %s", r.status, r.body)
	}
}
