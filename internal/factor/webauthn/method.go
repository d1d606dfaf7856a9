// Package webauthn is security keys and passkeys as a second-factor
// method (WebAuthn), on github.com/go-webauthn/webauthn: no CBOR or COSE is
// parsed here.
//
// A credential is a store.Factor of kind "webauthn": its credential record
// (public key, flags, AAGUID, attestation format, transports) is the
// factor's sealed secret, bound to user and factor like a TOTP secret — not
// because a public key is secret, but so that a row edited in the database
// does not open; its credential id (base64url) is the factor's Target,
// unique across users (a store index); its signature counter is the
// factor's LastStep, advanced atomically like a TOTP step.
//
// Every ceremony's server side (go-webauthn's SessionData) is a
// store.Ceremony, found by the hash of the challenge the browser signed
// and consumed by one atomic update together with what it is bound to: the
// pending factor (registration), the sign-in flow (second step), the
// passkey token (a passkey alone) or the user (a self-service check). Of
// several answers to one challenge, one wins.
package webauthn

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	gowa "github.com/go-webauthn/webauthn/webauthn"

	"github.com/twofold-id/twofold/internal/factor"
	"github.com/twofold-id/twofold/internal/store"
)

// Kind is the method name of security keys and passkeys.
const Kind = "webauthn"

// MaxAnswer bounds a credential's JSON: real ones are a few KiB (an
// attestation with a certificate chain is the largest).
const MaxAnswer = 64 << 10

// CeremonyTTL is how long a ceremony outside a flow lasts (a
// registration, a self-service check).
const CeremonyTTL = 5 * time.Minute

// Method is security keys and passkeys as a factor.Method and
// factor.Ceremonial. The zero Method has its traits but runs no ceremony
// (the Default registry of kinds and traits).
type Method struct {
	rp *gowa.WebAuthn
}

var _ factor.Ceremonial = Method{}

// New returns the method for the relying party id rpID (a host name; the
// public URL's host when empty) and the origins that may answer (the
// public URL's origin when empty).
func New(publicURL, rpID string, origins []string, name string) (Method, error) {
	u, err := url.Parse(publicURL)
	if err != nil || u.Host == "" {
		return Method{}, fmt.Errorf("webauthn: public URL %q has no host", publicURL)
	}
	if rpID == "" {
		rpID = u.Hostname()
	}
	if len(origins) == 0 {
		origins = []string{u.Scheme + "://" + u.Host}
	}
	if name == "" {
		name = "Twofold"
	}
	rp, err := gowa.New(&gowa.Config{RPID: rpID, RPDisplayName: name, RPOrigins: origins,
		AttestationPreference: protocol.PreferNoAttestation})
	if err != nil {
		return Method{}, fmt.Errorf("webauthn: %w", err)
	}
	return Method{rp: rp}, nil
}

// RPID returns the relying party id (empty for the zero Method).
func (m Method) RPID() string {
	if m.rp == nil {
		return ""
	}
	return m.rp.Config.RPID
}

// Configured implements factor.Ceremonial.
func (m Method) Configured() bool { return m.rp != nil }

// Kind implements factor.Method.
func (Method) Kind() string { return Kind }

// Traits implements factor.Method. A security key is "hwk" (RFC 8176:
// proof of possession of a hardware-secured key); a verified user adds
// "user" per answer (Match.AMR).
func (Method) Traits() factor.Traits {
	return factor.Traits{Name: "Security key or passkey", DefaultLabel: "Security key", AMR: "hwk", RFC8176: "hwk",
		PhishingResistant: true, Enrollment: factor.Ceremony}
}

// Normalize implements factor.Method: an answer is one JSON object (a
// PublicKeyCredential's toJSON()), at most MaxAnswer bytes, compacted.
// Whether it is a valid credential is decided by Check, inside the counted
// attempt.
func (Method) Normalize(raw string) (string, bool) {
	raw = strings.TrimSpace(raw)
	if len(raw) > MaxAnswer || !strings.HasPrefix(raw, "{") || !json.Valid([]byte(raw)) {
		return "", false
	}
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(raw)); err != nil {
		return "", false
	}
	return b.String(), true
}

// Usable implements factor.Method.
func (m Method) Usable(_ context.Context, _ factor.Env, _ store.User, fs []store.Factor) (bool, error) {
	return m.rp != nil && factor.HasConfirmed(fs, Kind), nil
}

// user is a store.User as go-webauthn sees it, with its credentials.
type user struct {
	u     store.User
	creds []gowa.Credential
	ids   []string // factor id of each credential
}

func (x *user) WebAuthnID() []byte                     { return []byte(x.u.ID) }
func (x *user) WebAuthnName() string                   { return x.u.Username }
func (x *user) WebAuthnDisplayName() string            { return x.u.Username }
func (x *user) WebAuthnCredentials() []gowa.Credential { return x.creds }

// load returns u with the credentials of its confirmed factors. A record
// that does not open is skipped and logged (as a TOTP secret is).
func (m Method) load(ctx context.Context, env factor.Env, u store.User) (*user, []store.Factor, error) {
	fs, err := env.Store().ListFactors(ctx, u.ID)
	if err != nil {
		return nil, nil, err
	}
	x := &user{u: u}
	var kept []store.Factor
	for _, f := range fs {
		if f.Kind != Kind || !f.Confirmed() {
			continue
		}
		c, err := open(env, u, f)
		if err != nil {
			env.Log().ErrorContext(ctx, "security key record does not open; skipping it", "user", u.ID, "factor", f.ID, "key", f.KeyID, "err", err)
			continue
		}
		x.creds, x.ids, kept = append(x.creds, c), append(x.ids, f.ID), append(kept, f)
	}
	return x, kept, nil
}

// open returns the credential record of f with the stored counter.
func open(env factor.Env, u store.User, f store.Factor) (gowa.Credential, error) {
	plain, err := env.Open(u, f)
	if err != nil {
		return gowa.Credential{}, err
	}
	var c gowa.Credential
	err = json.Unmarshal(plain, &c)
	clear(plain)
	if err != nil {
		return gowa.Credential{}, err
	}
	c.Authenticator.SignCount = uint32(max(0, min(f.LastStep, 1<<32-1)))
	return c, nil
}

// challengeHash is how a ceremony is found: the SHA-256 of the raw
// challenge the browser signed (base64url in clientDataJSON).
func challengeHash(b64 string) ([]byte, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(b64, "="))
	if err != nil || len(raw) < 16 {
		return nil, false
	}
	h := sha256.Sum256(raw)
	return h[:], true
}

// put stores the server side of a ceremony.
func put(ctx context.Context, env factor.Env, sd *gowa.SessionData, purpose, binding, userID string, until time.Time) error {
	h, ok := challengeHash(sd.Challenge)
	if !ok {
		return errors.New("webauthn: bad challenge")
	}
	// The store decides expiry by the server's clock (Env.Now); go-webauthn
	// would compare with the wall clock.
	sd.Expires = time.Time{}
	js, err := json.Marshal(sd)
	if err != nil {
		return err
	}
	_, err = env.Store().PutCeremony(ctx, store.Ceremony{ChallengeHash: h, Purpose: purpose, Binding: binding, UserID: userID,
		Session: js, CreatedAt: env.Now().UTC(), ExpiresAt: until.UTC()})
	return err
}

// take consumes the ceremony that the challenge names, bound to purpose
// and binding; false when there is none (used, expired, another binding).
func take(ctx context.Context, env factor.Env, challenge, purpose, binding string) (gowa.SessionData, bool, error) {
	h, ok := challengeHash(challenge)
	if !ok {
		return gowa.SessionData{}, false, nil
	}
	c, ok, err := env.Store().ConsumeCeremony(ctx, h, purpose, binding, env.Now().UTC())
	if err != nil || !ok {
		return gowa.SessionData{}, false, err
	}
	var sd gowa.SessionData
	if err := json.Unmarshal(c.Session, &sd); err != nil {
		return gowa.SessionData{}, false, err
	}
	return sd, true, nil
}

func until(env factor.Env, sc factor.Scope) time.Time {
	if !sc.Until.IsZero() {
		return sc.Until
	}
	return env.Now().Add(CeremonyTTL)
}

// options renders a ceremony's options as the browser takes them.
func options(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	return b, err
}

var errNoRP = errors.New("webauthn: no relying party configured")
