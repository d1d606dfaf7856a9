package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/app"
	"github.com/twofold-id/twofold/internal/forwardauth"
	"github.com/twofold-id/twofold/internal/store"
)

// listFlag reads a comma-separated flag value; "" is nil (not given).
func listFlag(v string) []string {
	if v == "" {
		return nil
	}
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// clientCreate registers an application as the operator and prints its
// client_id and, for a web client, the secret (the only time it is shown).
func clientCreate(ctx context.Context, env Env, args []string) error {
	fs, parse := flags("client create", env)
	org := fs.String("org", "", "slug of the org whose users (and those below it) may sign in to the app")
	name := fs.String("name", "", "the app's name, shown to users")
	kind := fs.String("kind", "web", "web (confidential, gets a secret), spa or native (public, PKCE), proxy (an app behind a forward-auth proxy), or agent, add-in or mobile (public; their sign-ins register devices)")
	redirects := fs.String("redirect-uris", "", "comma-separated exact redirect URIs")
	logout := fs.String("post-logout-redirect-uris", "", "comma-separated redirect URIs after sign-out")
	scopes := fs.String("scopes", "", "comma-separated allowed scopes (default: openid,profile,email,offline_access)")
	mfa := fs.Bool("require-mfa", false, "always require a second factor for this app")
	alg := fs.String("id-token-alg", "ES256", "id_token_signed_response_alg: ES256, or RS256 for apps that cannot verify ES256")
	var hosts []string
	var rules []forwardauth.RuleInput
	fs.Func("host", "proxy: a host the app answers on, e.g. wiki.example.com or wiki.example.com:8443 (repeat for more)", func(v string) error {
		hosts = append(hosts, listFlag(v)...)
		return nil
	})
	fs.Func("rule", "proxy: PATH_PREFIX=ACR[,MAX_AGE], e.g. /admin=mfa,5m or /=mfa; ACR is pwd, mfa or phr (repeat for more)", func(v string) error {
		r, err := parseRule(v)
		if err == nil {
			rules = append(rules, r)
		}
		return err
	})
	sessionCode := fs.String("session-code", "", "device clients: every|never — a second-factor code at every new device session (default: every for add-ins)")
	passcode := fs.String("passcode", "", "device clients: required|policy|optional — the app passcode (default: policy for mobile apps)")
	lifetime := fs.Duration("session-lifetime", 0, "device clients: the most a device's session lasts (default: the server's)")
	cfg, err := parse(args)
	if err != nil {
		return err
	}
	proxy := store.ClientKind(*kind) == store.ClientProxy
	_, device := store.ClientKind(*kind).DeviceKind()
	switch {
	case *org == "" || *name == "":
		return errors.New("--org and --name are required")
	case proxy && (len(hosts) == 0 || len(rules) == 0):
		return errors.New("a proxy client needs --host and --rule, e.g. --host wiki.example.com --rule /=mfa")
	case !proxy && !device && *redirects == "":
		return errors.New("--redirect-uris is required (--host and --rule are for --kind proxy; agent, add-in and mobile clients may go without)")
	}
	a, sys, err := openAsOperator(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	row, secret, err := a.Admin.CreateClient(ctx, sys, admin.NewClient{OrgSlug: *org, Name: *name, Kind: store.ClientKind(*kind),
		RedirectURIs: listFlag(*redirects), PostLogoutRedirectURIs: listFlag(*logout), Scopes: listFlag(*scopes),
		RequireMFA: *mfa, IDTokenAlg: *alg, Hosts: hosts, Rules: rules,
		DeviceRules: store.DeviceRules{SessionCode: *sessionCode, Passcode: *passcode, SessionLifetime: *lifetime}}, cliClient)
	if err != nil {
		return err
	}
	c := row.Client
	if proxy {
		fmt.Fprintf(env.Stdout, "registered protected app %q for %s on %s (rules: %s)\n", c.Name, row.Org.Slug,
			strings.Join(c.Hosts, ", "), rulesText(c.Rules))
	} else {
		fmt.Fprintf(env.Stdout, "registered %s client %q for %s (require_mfa=%t, tokens signed with %s)\n", c.Kind, c.Name,
			row.Org.Slug, c.RequireMFA, c.SigningAlg())
	}
	fmt.Fprintf(env.Stdout, "client_id: %s\n", c.ID)
	if secret != "" {
		fmt.Fprintln(env.Stdout, "client_secret (shown only now; store it safely):")
		fmt.Fprintln(env.Stdout, secret)
	}
	return nil
}

// parseRule reads a --rule value: PATH_PREFIX=ACR[,MAX_AGE]. The prefix
// is what comes before the last "=".
func parseRule(v string) (forwardauth.RuleInput, error) {
	i := strings.LastIndex(v, "=")
	if i <= 0 {
		return forwardauth.RuleInput{}, fmt.Errorf("rule %q: want PATH_PREFIX=ACR[,MAX_AGE], e.g. /admin=mfa,5m", v)
	}
	r := forwardauth.RuleInput{PathPrefix: v[:i], ACR: v[i+1:]}
	if acr, age, ok := strings.Cut(r.ACR, ","); ok {
		r.ACR, r.MaxAge = acr, age
	}
	return r, nil
}

// rulesText prints rules as --rule takes them.
func rulesText(rules []store.ProxyRule) string {
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = r.PathPrefix + "=" + r.ACR
		if r.MaxAge > 0 {
			out[i] += "," + r.MaxAge.String()
		}
	}
	return strings.Join(out, " ")
}

// clientList prints the registered clients of every org, or of one org's
// subtree.
func clientList(ctx context.Context, env Env, args []string) error {
	fs, parse := flags("client list", env)
	org := fs.String("org", "", "org slug: clients of this org and the orgs below it (default: every org)")
	cfg, err := parse(args)
	if err != nil {
		return err
	}
	a, sys, err := openAsOperator(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	rows, err := a.Admin.ListClients(ctx, sys, *org)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ORG\tNAME\tKIND\tREQUIRE MFA\tREDIRECT URIS / HOSTS AND RULES\tCREATED\tCLIENT ID")
	for _, r := range rows {
		c := r.Client
		where := strings.Join(c.RedirectURIs, ",")
		if c.Kind == store.ClientProxy {
			where = strings.Join(c.Hosts, ",") + " " + rulesText(c.Rules)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%s\t%s\t%s\n", r.Org.Slug, c.Name, c.Kind, c.RequireMFA,
			where, c.CreatedAt.UTC().Format(time.RFC3339), c.ID)
	}
	return tw.Flush()
}

// onClient parses the --id of the command name, opens the database as the
// operator and runs act on that client.
func onClient(ctx context.Context, env Env, name string, args []string, act func(a *app.App, sys access.Actor, id string) error) error {
	fs, parse := flags(name, env)
	id := fs.String("id", "", "the client_id (see `twofold client list`)")
	cfg, err := parse(args)
	if err != nil {
		return err
	}
	if *id == "" {
		return errors.New("--id is required")
	}
	a, sys, err := openAsOperator(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	return act(a, sys, *id)
}

// clientDelete removes a client; every token issued to it stops working.
func clientDelete(ctx context.Context, env Env, args []string) error {
	return onClient(ctx, env, "client delete", args, func(a *app.App, sys access.Actor, id string) error {
		if err := a.Admin.DeleteClient(ctx, sys, id, cliClient); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "deleted client %s\n", id)
		return nil
	})
}

// clientRotateSecret gives a web client a new secret and prints it once.
func clientRotateSecret(ctx context.Context, env Env, args []string) error {
	return onClient(ctx, env, "client rotate-secret", args, func(a *app.App, sys access.Actor, id string) error {
		_, secret, err := a.Admin.RotateClientSecret(ctx, sys, id, cliClient)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "new client_secret for %s (shown only now; the old one no longer works):\n%s\n", id, secret)
		return nil
	})
}

// keysRotateSigning makes new OpenID Connect signing keys active. Running
// servers sign with them at their next token; the old keys stay in the
// key set until the tokens they signed have expired.
func keysRotateSigning(ctx context.Context, env Env, args []string) error {
	_, parse := flags("keys rotate-signing", env)
	cfg, err := parse(args)
	if err != nil {
		return err
	}
	a, err := open(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	kid, err := a.RotateSigningKeys(ctx, cliClient)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "new signing key %s is active; the previous keys stay published until their tokens expire\n", kid)
	return nil
}
