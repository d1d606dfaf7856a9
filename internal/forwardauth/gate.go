package forwardauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// A Verdict is what a request to a protected app gets.
type Verdict int

const (
	// Allow: the request passes; the app gets the Remote-* headers.
	Allow Verdict = iota
	// SignIn: there is no session (or it lacks what the user's policy
	// demands, which the portal resumes): sign in at the portal.
	SignIn
	// StepUp: the session is the right user but too weak for the rule:
	// confirm a (fresh) second factor at the portal, on the same session.
	StepUp
	// Enroll: the rule needs a second factor and the user has none yet.
	Enroll
	// Unsatisfiable: the rule needs a level Twofold cannot check yet
	// (phr: security keys and passkeys do not exist yet).
	Unsatisfiable
	// Forbidden: the user's org is not the client's org or below it, or no
	// rule covers the path (nothing is allowed by default).
	Forbidden
	// UnknownHost: no proxy client has the target's host.
	UnknownHost
)

var verdictNames = [...]string{"allow", "sign_in", "step_up", "enroll", "unsatisfiable", "forbidden", "unknown_host"}

func (v Verdict) String() string { return verdictNames[v] }

// A Decision is the verdict for one request and what it was made from.
type Decision struct {
	Verdict Verdict
	Client  store.Client    // the protected app (not for UnknownHost)
	Rule    store.ProxyRule // the matching rule (Allow, StepUp, Enroll, Unsatisfiable)
	Reason  string          // for the log: why Forbidden
}

// Gate makes the decisions. Store and Signin are required; Audit may be
// nil (nothing is recorded).
type Gate struct {
	Store  store.Store
	Signin *signin.Service
	Audit  *audit.Logger
	Now    func() time.Time
}

// RecordReturn writes to the audit log that the portal sent p back to the
// app of d (Allow) or refused to (Forbidden). Only the portal's decisions
// are recorded, once per sign-in or step-up; the proxies ask at every
// request and are not.
func (g *Gate) RecordReturn(ctx context.Context, d Decision, t Target, p signin.Principal, c signin.Client) {
	if g.Audit == nil {
		return
	}
	outcome, detail := audit.Success, fmt.Sprintf("client %s %s%s acr=%s", d.Client.ID, t.Host, t.Path, signin.ACR(p.Session.AMR))
	if d.Verdict != Allow {
		outcome, detail = audit.Denied, fmt.Sprintf("client %s %s%s: %s", d.Client.ID, t.Host, t.Path, d.Reason)
	}
	g.Audit.Record(ctx, store.AuditEvent{ActorUserID: p.User.ID, TargetUserID: p.User.ID, OrgID: p.User.OrgID,
		Event: audit.ProxyReturn, Outcome: outcome, IP: c.IP, UserAgent: c.UserAgent, Detail: detail})
}

func (g *Gate) now() time.Time {
	if g.Now == nil {
		return time.Now()
	}
	return g.Now()
}

// Client returns the proxy client that has the target's host; ErrNotFound
// when there is none.
func (g *Gate) Client(ctx context.Context, t Target) (store.Client, error) {
	cl, err := g.Store.GetClientByHost(ctx, t.Host)
	if err == nil && cl.Kind != store.ClientProxy {
		return store.Client{}, store.ErrNotFound
	}
	return cl, err
}

// Decide says what a request for t gets from the principal p (nil when
// the browser has no valid session). Everything is read from current data.
// A principal that lacks what its user's policy demands (p.Lacks) is
// SignIn: the portal resumes it as a sign-in flow.
func (g *Gate) Decide(ctx context.Context, t Target, p *signin.Principal) (Decision, error) {
	cl, err := g.Client(ctx, t)
	if errors.Is(err, store.ErrNotFound) {
		return Decision{Verdict: UnknownHost}, nil
	}
	if err != nil {
		return Decision{}, err
	}
	d := Decision{Client: cl}
	rule, ok := Match(cl.Rules, t.Path)
	if !ok {
		d.Verdict, d.Reason = Forbidden, "no rule covers the path"
		return d, nil
	}
	d.Rule = rule
	if p == nil || p.Lacks != nil {
		d.Verdict = SignIn
		return d, nil
	}
	clientOrg, err := g.Store.GetOrg(ctx, cl.OrgID)
	if err != nil {
		return Decision{}, err
	}
	if !clientOrg.IsAncestorOf(p.Org) {
		d.Verdict, d.Reason = Forbidden, "the user's org is not the app's org or below it"
		return d, nil
	}
	d.Verdict, err = g.level(ctx, rule, p)
	return d, err
}

// level compares what the session proved with what rule asks.
func (g *Gate) level(ctx context.Context, rule store.ProxyRule, p *signin.Principal) (Verdict, error) {
	fresh := rule.MaxAge == 0 || (p.Session.MFAAt != nil && g.now().Sub(*p.Session.MFAAt) <= rule.MaxAge)
	if signin.Reaches(p.Session.AMR, rule.ACR) && fresh {
		return Allow, nil
	}
	if rule.ACR == signin.ACRPhishingResistant {
		// No factor Twofold checks today is phishing-resistant: a fresh
		// code would not help.
		return Unsatisfiable, nil
	}
	if !g.Signin.HasConfirmedFactor(ctx, p.User.ID) {
		return Enroll, nil
	}
	return StepUp, nil
}

// The headers an app behind the proxy receives on Allow.
const (
	HeaderUser   = "Remote-User"
	HeaderEmail  = "Remote-Email"
	HeaderName   = "Remote-Name"
	HeaderOrg    = "Remote-Org"
	HeaderGroups = "Remote-Groups"
)

// Headers returns the Remote-* headers for p: the username, the email
// address (only once confirmed; else empty), the name (Twofold keeps no
// display name: the username), the org's slug, and as groups the slugs of
// the user's org and of every org above it, root first, comma-separated
// (Twofold has no groups of its own; an app can grant by org). Control
// characters never reach a header.
func (g *Gate) Headers(ctx context.Context, p signin.Principal) (http.Header, error) {
	chain, err := g.Store.OrgChain(ctx, p.Org.ID)
	if err != nil {
		return nil, err
	}
	slugs := make([]string, 0, len(chain))
	for _, o := range chain {
		slugs = append(slugs, o.Slug)
	}
	email := ""
	if p.User.EmailConfirmedAt != nil {
		email = p.User.Email
	}
	h := http.Header{}
	h.Set(HeaderUser, clean(p.User.Username))
	h.Set(HeaderEmail, clean(email))
	h.Set(HeaderName, clean(p.User.Username))
	h.Set(HeaderOrg, clean(p.Org.Slug))
	h.Set(HeaderGroups, clean(strings.Join(slugs, ",")))
	return h, nil
}

// clean drops control characters from a header value.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// ErrReturnRefused answers an rd that is not a URL of a protected app.
var ErrReturnRefused = errors.New("forwardauth: rd is not a protected app's URL")

// CheckReturn checks rd, the URL the portal is asked to send the browser
// back to after the sign-in. It is accepted only when it is an absolute
// URL (ParseTarget) whose canonical host is a proxy client's host, and,
// when allowHTTP is false, uses https. It returns the URL to redirect to —
// re-serialized from the parsed form, never rd as given — and the client.
func (g *Gate) CheckReturn(ctx context.Context, rd string, allowHTTP bool) (Target, store.Client, error) {
	t, err := ParseTarget(rd)
	if err != nil {
		return Target{}, store.Client{}, ErrReturnRefused
	}
	if t.URL.Scheme != "https" && !allowHTTP {
		return Target{}, store.Client{}, ErrReturnRefused
	}
	cl, err := g.Client(ctx, t)
	if errors.Is(err, store.ErrNotFound) {
		return Target{}, store.Client{}, ErrReturnRefused
	}
	if err != nil {
		return Target{}, store.Client{}, err
	}
	return t, cl, nil
}
