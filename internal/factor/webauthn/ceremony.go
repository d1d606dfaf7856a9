package webauthn

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	gowa "github.com/go-webauthn/webauthn/webauthn"

	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/factor"
	"github.com/twofold-id/twofold/internal/notice"
	"github.com/twofold-id/twofold/internal/store"
)

// BeginRegistration implements factor.Ceremonial. A passkey
// (discoverable) must be a resident credential with user verification; a
// security key is asked for user verification where it can. The user's
// keys are excluded, so one authenticator is not registered twice.
// Attestation is "none".
func (m Method) BeginRegistration(ctx context.Context, env factor.Env, u store.User, f store.Factor, discoverable bool, until time.Time) (json.RawMessage, error) {
	if m.rp == nil {
		return nil, errNoRP
	}
	x, _, err := m.load(ctx, env, u)
	if err != nil {
		return nil, err
	}
	sel := protocol.AuthenticatorSelection{ResidentKey: protocol.ResidentKeyRequirementDiscouraged,
		UserVerification: protocol.VerificationPreferred}
	if discoverable {
		sel = protocol.AuthenticatorSelection{ResidentKey: protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: protocol.ResidentKeyRequired(), UserVerification: protocol.VerificationRequired}
	}
	excl := make([]protocol.CredentialDescriptor, len(x.creds))
	for i, c := range x.creds {
		excl[i] = c.Descriptor()
	}
	opts, sd, err := m.rp.BeginRegistration(x, gowa.WithAuthenticatorSelection(sel), gowa.WithExclusions(excl),
		gowa.WithConveyancePreference(protocol.PreferNoAttestation))
	if err != nil {
		return nil, err
	}
	if err := put(ctx, env, sd, store.CeremonyRegister, f.ID, u.ID, until); err != nil {
		return nil, err
	}
	return options(opts)
}

// ConfirmPending implements factor.Method: the answer is the credential
// the authenticator created for the registration of f. Its ceremony is
// consumed first (one answer per challenge), then go-webauthn verifies it;
// the credential record is sealed into f, whose credential id must be new
// across all users. The step is the credential's signature counter.
func (m Method) ConfirmPending(ctx context.Context, env factor.Env, u store.User, f store.Factor, _ factor.Scope, answer string) (int64, bool, error) {
	if m.rp == nil || f.Kind != Kind {
		return 0, false, nil
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes([]byte(answer))
	if err != nil {
		return 0, false, nil
	}
	sd, ok, err := take(ctx, env, parsed.Response.CollectedClientData.Challenge, store.CeremonyRegister, f.ID)
	if err != nil || !ok {
		return 0, false, err
	}
	x, _, err := m.load(ctx, env, u)
	if err != nil {
		return 0, false, err
	}
	cred, err := m.rp.CreateCredential(x, sd, parsed)
	if err != nil {
		env.Log().InfoContext(ctx, "security key registration refused", "user", u.ID, "factor", f.ID, "err", err)
		return 0, false, nil
	}
	count := int64(cred.Authenticator.SignCount)
	cred.Authenticator.SignCount = 0 // kept in the factor's LastStep
	plain, err := json.Marshal(cred)
	if err != nil {
		return 0, false, err
	}
	sealed, keyID, err := env.Seal(u, f, plain)
	clear(plain)
	if err != nil {
		return 0, false, err
	}
	set, err := env.Store().SetPendingFactorSecret(ctx, f.ID, sealed, keyID, base64.RawURLEncoding.EncodeToString(cred.ID))
	if errors.Is(err, store.ErrConflict) {
		env.Log().InfoContext(ctx, "security key registration refused: credential registered already", "user", u.ID, "factor", f.ID)
		return 0, false, nil
	}
	if err != nil || !set {
		return 0, false, err
	}
	return count, true, nil
}

// BeginAssertion implements factor.Method: the request lists u's keys;
// user verification is preferred (a security key without a PIN still
// serves as a second factor).
func (m Method) BeginAssertion(ctx context.Context, env factor.Env, u store.User, sc factor.Scope) (json.RawMessage, error) {
	if m.rp == nil {
		return nil, errNoRP
	}
	x, _, err := m.load(ctx, env, u)
	if err != nil {
		return nil, err
	}
	if len(x.creds) == 0 {
		return nil, errors.New("webauthn: the user has no security key")
	}
	opts, sd, err := m.rp.BeginLogin(x, gowa.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return nil, err
	}
	purpose, binding := assertionBinding(u, sc)
	if err := put(ctx, env, sd, purpose, binding, u.ID, until(env, sc)); err != nil {
		return nil, err
	}
	return options(opts)
}

// assertionBinding is what an assertion in scope sc is bound to.
func assertionBinding(u store.User, sc factor.Scope) (purpose, binding string) {
	switch {
	case sc.Purpose == store.CeremonyPasskey:
		return store.CeremonyPasskey, sc.FlowID
	case sc.FlowID != "":
		return store.CeremonySignIn, sc.FlowID
	}
	return store.CeremonyReauth, u.ID
}

// BeginDiscoverable implements factor.Ceremonial: no credentials are
// listed, and user verification is required — a passkey alone must prove
// possession and the user.
func (m Method) BeginDiscoverable(ctx context.Context, env factor.Env, binding string, until time.Time) (json.RawMessage, error) {
	if m.rp == nil {
		return nil, errNoRP
	}
	opts, sd, err := m.rp.BeginDiscoverableLogin(gowa.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, err
	}
	if err := put(ctx, env, sd, store.CeremonyPasskey, binding, "", until); err != nil {
		return nil, err
	}
	return options(opts)
}

// Claimant implements factor.Ceremonial.
func (Method) Claimant(answer string) (string, bool) {
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(answer))
	if err != nil || len(parsed.Response.UserHandle) == 0 || len(parsed.Response.UserHandle) > 64 {
		return "", false
	}
	return string(parsed.Response.UserHandle), true
}

// Check implements factor.Method: the answer is an assertion. The ceremony
// its challenge names is consumed with the scope's binding (one answer per
// challenge), go-webauthn verifies it against u's keys, and the key's
// signature counter is advanced atomically. A counter that did not move
// forward (when the key keeps one) marks a possibly cloned key: refused,
// and the failure carries an audit event and a notice for the user.
func (m Method) Check(ctx context.Context, env factor.Env, u store.User, sc factor.Scope, answer string) (factor.Match, bool, error) {
	if m.rp == nil {
		return factor.Match{}, false, nil
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(answer))
	if err != nil {
		return factor.Match{}, false, nil
	}
	purpose, binding := assertionBinding(u, sc)
	sd, ok, err := take(ctx, env, parsed.Response.CollectedClientData.Challenge, purpose, binding)
	if err != nil || !ok {
		return factor.Match{}, false, err
	}
	x, fs, err := m.load(ctx, env, u)
	if err != nil {
		return factor.Match{}, false, err
	}
	var cred *gowa.Credential
	if purpose == store.CeremonyPasskey {
		_, cred, err = m.rp.ValidatePasskeyLogin(func(_, handle []byte) (gowa.User, error) {
			if !bytes.Equal(handle, x.WebAuthnID()) {
				return nil, errors.New("user handle of another user")
			}
			return x, nil
		}, sd, parsed)
	} else {
		cred, err = m.rp.ValidateLogin(x, sd, parsed)
	}
	if err != nil {
		env.Log().InfoContext(ctx, "security key assertion refused", "user", u.ID, "err", err)
		return factor.Match{}, false, nil
	}
	var f *store.Factor
	for i, c := range x.creds {
		if bytes.Equal(c.ID, cred.ID) {
			f = &fs[i]
		}
	}
	if f == nil {
		return factor.Match{}, false, nil
	}
	if cred.Authenticator.CloneWarning {
		return factor.Match{Factor: f, Event: audit.FactorCloned, Notice: notice.FactorCloned,
			Detail: fmt.Sprintf("security key %q (%s): signature counter %d did not move past %d", f.Label, f.ID,
				parsed.Response.AuthenticatorData.Counter, f.LastStep)}, false, nil
	}
	now := env.Now()
	if n := int64(cred.Authenticator.SignCount); n > 0 {
		won, err := env.Store().AdvanceStep(ctx, f.ID, n, now)
		if err != nil || !won {
			return factor.Match{}, false, err
		}
	} else if err := env.Store().TouchFactor(ctx, f.ID, now); err != nil {
		return factor.Match{}, false, err
	}
	match := factor.Match{Factor: f}
	if parsed.Response.AuthenticatorData.Flags.HasUserVerified() {
		match.AMR = []string{"user"}
	}
	return match, true, nil
}

// Describe implements factor.Describer: what a confirmed key's record says
// of it — whether it verified the user at registration, whether it may be
// synced (backup eligible) and is (backup state), its model (AAGUID; all
// zeros for most passkey providers under attestation "none") and
// transports. Backup state is as registered: go-webauthn's later updates
// are not written back.
func (Method) Describe(env factor.Env, u store.User, f store.Factor) (map[string]any, error) {
	if f.Kind != Kind || !f.Confirmed() {
		return nil, nil
	}
	c, err := open(env, u, f)
	if err != nil {
		return nil, err
	}
	d := map[string]any{"user_verified": c.Flags.UserVerified, "backup_eligible": c.Flags.BackupEligible,
		"backup_state": c.Flags.BackupState}
	if a := c.Authenticator.AAGUID; len(a) == 16 {
		d["aaguid"] = fmt.Sprintf("%x-%x-%x-%x-%x", a[0:4], a[4:6], a[6:8], a[8:10], a[10:16])
	}
	if len(c.Transport) > 0 {
		ts := make([]string, len(c.Transport))
		for i, t := range c.Transport {
			ts[i] = string(t)
		}
		d["transports"] = ts
	}
	return d, nil
}
