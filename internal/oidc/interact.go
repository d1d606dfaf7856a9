package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/problem"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// ErrRequestGone answers a portal request for an authorization request
// that does not exist, expired, or was already answered. The portal shows
// it as an error page; it never redirects.
var ErrRequestGone = problem.New("invalid_request", "This sign-in link has expired or was already used. Go back to the app and start again.")

// StepKind says what the portal must do next for an authorization request.
type StepKind int

const (
	// StepRedirect: send the browser to Step.Redirect (back to op, which
	// answers the app; or straight to the app with an error).
	StepRedirect StepKind = iota
	// StepLogin: sign in with the password (no session, prompt=login, or
	// another user than the id_token_hint names).
	StepLogin
	// StepUp: the session must confirm a fresh second factor (acr_values,
	// max_age, the client's require_mfa).
	StepUp
	// StepEnroll: the app needs a second factor and the user has none yet.
	StepEnroll
	// StepConsent: the app asked (prompt=consent) to show the user what it
	// will get; the user allows or refuses (Consent).
	StepConsent
)

// A Step is the portal's next move for an authorization request.
type Step struct {
	Kind       StepKind
	Redirect   string // StepRedirect
	ClientName string
	Scopes     []string // what the app asks for (StepConsent)
	// LoginHint is the app's login_hint (StepLogin): the sign-in form
	// offers it as the username. It is only a hint; it binds nothing.
	LoginHint string
}

// authTime is when the session last proved who it is: its second-factor
// check, or its sign-in.
func authTime(s store.Session) time.Time {
	if s.MFAAt != nil && s.MFAAt.After(s.CreatedAt) {
		return *s.MFAAt
	}
	return s.CreatedAt
}

// Continue decides, from current data, what the browser signing in for the
// authorization request id needs next. p is the portal session's principal
// (nil when there is none); it must not lack what its user's policy demands
// (the portal resumes such a session first). When the session satisfies
// the request — the user belongs to the client's org or one below it, the
// level asked by acr_values and the client's require_mfa is reached, the
// sign-in is within max_age and after the request for prompt=login — the
// request is completed and the browser is sent back to op.
func (p *Provider) Continue(ctx context.Context, id string, pr *signin.Principal, c signin.Client) (Step, error) {
	return p.decide(ctx, id, pr, c, false)
}

// Consent records the user's answer on the consent screen: a refusal
// sends access_denied to the app; an approval continues as Continue does,
// without asking again. First-party clients (all clients today: they are
// registered by the org's admins) show the screen only for prompt=consent.
func (p *Provider) Consent(ctx context.Context, id string, pr *signin.Principal, c signin.Client, allow bool) (Step, error) {
	if !allow {
		rec, err := p.store.GetAuthRequest(ctx, id)
		if err != nil || rec.DoneAt != nil || !p.now().Before(rec.ExpiresAt) {
			return Step{}, ErrRequestGone
		}
		ar, err := newAuthRequest(rec)
		if err != nil {
			return Step{}, err
		}
		return Step{Kind: StepRedirect, Redirect: p.errorRedirect(ar, oidc.ErrAccessDenied().WithDescription("The user refused."))}, nil
	}
	return p.decide(ctx, id, pr, c, true)
}

func (p *Provider) decide(ctx context.Context, id string, pr *signin.Principal, c signin.Client, consented bool) (Step, error) {
	rec, err := p.store.GetAuthRequest(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return Step{}, ErrRequestGone
	}
	if err != nil {
		return Step{}, err
	}
	now := p.now()
	if !now.Before(rec.ExpiresAt) || rec.CodeHash != nil {
		return Step{}, ErrRequestGone
	}
	ar, err := newAuthRequest(rec)
	if err != nil {
		return Step{}, err
	}
	if rec.DoneAt != nil {
		return Step{Kind: StepRedirect, Redirect: callbackPath + "?id=" + url.QueryEscape(id)}, nil
	}
	cl, err := p.store.GetClient(ctx, rec.ClientID)
	if errors.Is(err, store.ErrNotFound) {
		return Step{}, ErrRequestGone
	}
	if err != nil {
		return Step{}, err
	}
	step := Step{ClientName: cl.Name}
	none := slices.Contains(ar.p.Prompt, oidc.PromptNone)
	fail := func(e *oidc.Error) (Step, error) {
		step.Kind, step.Redirect = StepRedirect, p.errorRedirect(ar, e)
		return step, nil
	}
	if pr == nil || (ar.p.HintSubject != "" && ar.p.HintSubject != pr.User.ID) ||
		(slices.Contains(ar.p.Prompt, oidc.PromptLogin) && pr.Session.CreatedAt.Before(rec.CreatedAt)) {
		if none {
			return fail(oidc.ErrLoginRequired())
		}
		step.Kind, step.LoginHint = StepLogin, ar.p.LoginHint
		return step, nil
	}
	clientOrg, err := p.store.GetOrg(ctx, cl.OrgID)
	if err != nil {
		return Step{}, err
	}
	if !clientOrg.IsAncestorOf(pr.Org) {
		p.audit.Record(ctx, store.AuditEvent{ActorUserID: pr.User.ID, TargetUserID: pr.User.ID, OrgID: pr.User.OrgID,
			Event: audit.AppAuthorized, Outcome: audit.Denied, IP: c.IP, UserAgent: c.UserAgent,
			Detail: fmt.Sprintf("client %s: the user's org is not in the client's", cl.ID)})
		return fail(oidc.ErrAccessDenied().WithDescription("This account may not sign in to this app."))
	}
	wantMFA := requiresMFA(cl) || slices.ContainsFunc(ar.p.ACRValues, func(v string) bool { return v == acrMFA || v == acrPhr })
	at := authTime(pr.Session)
	tooOld := false
	if ar.p.MaxAge != nil {
		if *ar.p.MaxAge == 0 {
			tooOld = at.Before(rec.CreatedAt)
		} else {
			tooOld = now.Sub(at) > time.Duration(*ar.p.MaxAge)*time.Second
		}
	}
	if (wantMFA && !slices.Contains(pr.Session.AMR, "mfa")) || tooOld {
		switch {
		case none:
			return fail(oidc.ErrInteractionRequired())
		case p.signin.HasConfirmedFactor(ctx, pr.User.ID):
			step.Kind = StepUp
		case wantMFA:
			step.Kind = StepEnroll
		default:
			step.Kind = StepLogin
		}
		return step, nil
	}
	if slices.Contains(ar.p.Prompt, oidc.PromptConsent) && !consented {
		if none {
			return fail(&oidc.Error{ErrorType: "consent_required"})
		}
		step.Kind, step.Scopes = StepConsent, ar.p.Scopes
		return step, nil
	}
	ok, err := p.store.CompleteAuthRequest(ctx, id, pr.User.ID, pr.Session.ID, pr.Session.AMR, at, now.UTC())
	if err != nil {
		return Step{}, err
	}
	if !ok {
		return Step{}, ErrRequestGone
	}
	p.audit.Record(ctx, store.AuditEvent{ActorUserID: pr.User.ID, TargetUserID: pr.User.ID, OrgID: pr.User.OrgID,
		Event: audit.AppAuthorized, Outcome: audit.Success, IP: c.IP, UserAgent: c.UserAgent,
		Detail: fmt.Sprintf("client %s acr=%s", cl.ID, acrOf(pr.Session.AMR))})
	step.Kind, step.Redirect = StepRedirect, callbackPath+"?id="+url.QueryEscape(id)
	return step, nil
}
