package cli

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/store"
)

// apikeyCreate creates an API key as the operator and prints its token,
// the only time it is ever shown.
func apikeyCreate(ctx context.Context, env Env, args []string) error {
	fs, parse := flags("apikey create", env)
	org := fs.String("org", "", "slug of the org the key acts on (with the orgs below it)")
	name := fs.String("name", "", "a name to tell the key apart")
	role := fs.String("role", "admin", "member, admin or superadmin")
	expires := fs.Duration("expires", 0, "lifetime, e.g. 720h (0 = does not expire)")
	asJSON := jsonFlag(fs)
	cfg, err := parse(args)
	if err != nil {
		return err
	}
	if *org == "" || *name == "" {
		return errors.New("--org and --name are required")
	}
	a, sys, err := openAsOperator(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	row, tok, err := a.Admin.CreateAPIKey(ctx, sys, admin.NewAPIKey{OrgSlug: *org, Name: *name, Role: store.Role(*role),
		ExpiresIn: *expires}, cliClient)
	if err != nil {
		return err
	}
	if *asJSON {
		out := apiKeyOut(row)
		out.Token = tok
		return printJSON(env.Stdout, out)
	}
	k := row.Key
	exp := "does not expire"
	if k.ExpiresAt != nil {
		exp = "expires " + k.ExpiresAt.Format(time.RFC3339)
	}
	fmt.Fprintf(env.Stdout, "created API key %q for %s (role %s, %s) id=%s\n", k.Name, row.Org.Slug, k.Role, exp, k.ID)
	fmt.Fprintln(env.Stdout, "token (shown only now; store it safely):")
	fmt.Fprintln(env.Stdout, tok)
	return nil
}

// apikeyList prints the API keys of every org, or of one org's subtree.
func apikeyList(ctx context.Context, env Env, args []string) error {
	fs, parse := flags("apikey list", env)
	org := fs.String("org", "", "org slug: keys of this org and the orgs below it (default: every org)")
	asJSON := jsonFlag(fs)
	cfg, err := parse(args)
	if err != nil {
		return err
	}
	a, sys, err := openAsOperator(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	rows, err := a.Admin.ListAPIKeys(ctx, sys, *org)
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]apiKeyJSON, len(rows))
		for i, r := range rows {
			out[i] = apiKeyOut(r)
		}
		return printJSON(env.Stdout, out)
	}
	when := func(t *time.Time, none string) string {
		if t == nil {
			return none
		}
		return t.UTC().Format(time.RFC3339)
	}
	tw := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ORG\tNAME\tROLE\tCREATED\tLAST USED\tEXPIRES\tREVOKED\tID")
	for _, r := range rows {
		k := r.Key
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Org.Slug, k.Name, k.Role, k.CreatedAt.UTC().Format(time.RFC3339),
			when(k.LastUsedAt, "never"), when(k.ExpiresAt, "never"), when(k.RevokedAt, "-"), k.ID)
	}
	return tw.Flush()
}

// apikeyRevoke revokes an API key; it stops working at once.
func apikeyRevoke(ctx context.Context, env Env, args []string) error {
	fs, parse := flags("apikey revoke", env)
	id := fs.String("id", "", "the key's id (see `twofold apikey list`)")
	asJSON := jsonFlag(fs)
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
	row, err := a.Admin.RevokeAPIKey(ctx, sys, *id, cliClient)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env.Stdout, apiKeyOut(row))
	}
	fmt.Fprintf(env.Stdout, "revoked API key %q of %s id=%s\n", row.Key.Name, row.Org.Slug, row.Key.ID)
	return nil
}
