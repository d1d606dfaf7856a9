package signin

import (
	"context"
	"slices"

	"github.com/twofold-id/twofold/internal/factor/methods"
)

// The assurance rule (docs/security.md, "Assurance from current data"):
// what a session proved is compared with what its user's *current* policy
// demands at every request, never only at sign-in. A session whose amr
// holds "mfa" satisfies every policy Twofold knows today. A password-only
// session satisfies the policy while the policy does not require a second
// factor, or while the user has none and is still inside an enrollment
// grace period. Otherwise it lacks something:
//
//   - ErrEnrollmentRequired: the user has no factor and must set one up;
//   - ErrStepUpRequired: the user has a factor the session never checked.
//
// Such a session can do only what a sign-in flow in the same state could:
// set up a first factor, confirm with a current code (Reauthenticate),
// resume as a sign-in flow (Resume), or sign out. The HTTP surfaces enforce
// that with Principal.Lacks; new surfaces (OpenID Connect, devices) must do
// the same.

// lacks returns what the session of p lacks under its user's current
// policy (nil when it satisfies it), or an internal error.
func (s *Service) lacks(ctx context.Context, p *Principal) (lack, err error) {
	if slices.Contains(p.Session.AMR, "mfa") {
		return nil, nil
	}
	pol, err := s.Policy(ctx, p.User)
	if err != nil {
		return nil, err
	}
	if !pol.Required {
		return nil, nil
	}
	if s.hasConfirmedFactor(ctx, p.User.ID) {
		return ErrStepUpRequired, nil
	}
	deadline, err := s.enrollmentDeadline(ctx, &p.User, pol)
	if err != nil {
		return nil, err
	}
	if deadline != nil {
		return nil, nil // the grace period runs: setup may still wait
	}
	return ErrEnrollmentRequired, nil
}

// Resume turns a session that lacks what the user's policy now demands into
// the sign-in flow a new sign-in would start after the password: enrollment
// when the user has no factor, the second-factor challenge otherwise. The
// session is revoked; the flow ends in a new session as any sign-in does. A
// session that lacks nothing is answered ErrInvalidFlow: there is nothing
// to resume.
func (s *Service) Resume(ctx context.Context, p Principal, c Client) (Result, error) {
	if p.Lacks == nil {
		return Result{}, ErrInvalidFlow.WithMessage("This session needs no further sign-in step.")
	}
	if err := s.store.RevokeSession(ctx, p.Session.ID, s.now().UTC(), "resumed as a sign-in flow"); err != nil {
		return Result{}, err
	}
	return s.afterPassword(ctx, p.User, p.Org, c)
}

// markFirstFactor records on the principal's session that the user just
// confirmed a first factor with a current code from it: the session now
// holds a second-factor check (amr "mfa" and the method's value), as a
// sign-in that enrolled at the second step would. The token stays: it
// already stood for this user after the password.
func (s *Service) markFirstFactor(ctx context.Context, p Principal, method string) error {
	amr := slices.Clone(p.Session.AMR)
	t, _ := s.methods.TraitsOf(method)
	for _, m := range []string{"mfa", t.AMR} {
		if m != "" && !slices.Contains(amr, m) {
			amr = append(amr, m)
		}
	}
	return s.store.MarkSessionMFA(ctx, p.Session.ID, amr, s.now().UTC())
}

// The assurance levels Twofold names (acr), weakest first. They are shared
// by every surface that lets an app ask for a level: OpenID Connect
// (acr_values) and forward-auth rules.
const (
	ACRPassword          = "pwd" // a password only
	ACRMFA               = "mfa" // a second factor
	ACRPhishingResistant = "phr" // a phishing-resistant factor (security keys, passkeys)
)

// ACRLevels are the levels, weakest first.
var ACRLevels = []string{ACRPassword, ACRMFA, ACRPhishingResistant}

// phishingResistantAMR are the amr values of the methods that resist
// phishing (security keys: "hwk").
var phishingResistantAMR = func() []string {
	var out []string
	for _, m := range methods.Default.All() {
		if t := m.Traits(); t.PhishingResistant {
			out = append(out, t.AMR)
		}
	}
	return out
}()

// ACR is the level a session with amr reached: phishing-resistant when a
// phishing-resistant method (a security key, a passkey) passed, in a
// session that holds "mfa".
func ACR(amr []string) string {
	phr := slices.ContainsFunc(amr, func(v string) bool { return slices.Contains(phishingResistantAMR, v) })
	switch {
	case slices.Contains(amr, "phr"), phr && slices.Contains(amr, "mfa"):
		return ACRPhishingResistant
	case slices.Contains(amr, "mfa"):
		return ACRMFA
	}
	return ACRPassword
}

// Reaches reports whether a session with amr reached level acr.
func Reaches(amr []string, acr string) bool {
	return slices.Index(ACRLevels, ACR(amr)) >= slices.Index(ACRLevels, acr) && slices.Contains(ACRLevels, acr)
}
