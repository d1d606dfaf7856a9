package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/store"
)

func orgCreate(ctx context.Context, env Env, args []string) error {
	fs, parse := flags("org create", env)
	slug := fs.String("slug", "", "unique lowercase identifier, e.g. acme")
	name := fs.String("name", "", "display name")
	parent := fs.String("parent", "", "slug of the parent org (default: the root)")
	mfa := fs.String("mfa", "", "off, optional or required (default: inherit)")
	locked := fs.Bool("locked", false, "descendants may not weaken the MFA setting")
	methods := fs.String("methods", "", "allowed methods, comma separated (default: inherit)")
	cfg, err := parse(args)
	if err != nil {
		return err
	}
	if *slug == "" || *name == "" {
		return errors.New("--slug and --name are required")
	}
	a, sys, err := openAsOperator(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	pol := store.OrgPolicy{MFA: store.MFAMode(*mfa), Locked: *locked}
	if *methods != "" {
		pol.AllowedMethods = splitList(*methods)
	}
	o, err := a.Admin.CreateOrg(ctx, sys, admin.NewOrg{Slug: *slug, Name: *name, ParentSlug: *parent, Policy: pol}, cliClient)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "created org %s (%s) id=%s\n", o.Slug, o.Name, o.ID)
	return nil
}

func splitList(s string) []string {
	out := []string{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func orgList(ctx context.Context, env Env, args []string) error {
	_, parse := flags("org list", env)
	cfg, err := parse(args)
	if err != nil {
		return err
	}
	a, sys, err := openAsOperator(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	orgs, err := a.Admin.Orgs(ctx, sys)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SLUG\tNAME\tMFA\tLOCKED\tMETHODS")
	for _, o := range orgs {
		mfa := string(o.Policy.MFA)
		if mfa == "" {
			mfa = "(inherit)"
		}
		methods := "(inherit)"
		if o.Policy.AllowedMethods != nil {
			methods = strings.Join(o.Policy.AllowedMethods, ",")
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%t\t%s\n", strings.Repeat("  ", o.Depth), o.Slug, o.Name, mfa, o.Policy.Locked, methods)
	}
	return tw.Flush()
}

func orgSetPolicy(ctx context.Context, env Env, args []string) error {
	fs, parse := flags("org set-policy", env)
	slug := fs.String("org", "", "org slug")
	mfa := fs.String("mfa", "", "off, optional, required or inherit (default: unchanged)")
	locked := fs.String("locked", "", "true or false (default: unchanged)")
	methods := fs.String("methods", "", "allowed methods, comma separated, or inherit (default: unchanged)")
	grace := fs.String("grace", "", "enrollment grace period, e.g. 72h; 0 = at next sign-in (default: unchanged)")
	ttl := fs.String("code-ttl", "", "lifetime of emailed/texted codes, 30s to 10m; 0 = inherit (default: unchanged)")
	cfg, err := parse(args)
	if err != nil {
		return err
	}
	if *slug == "" {
		return errors.New("--org is required")
	}
	a, sys, err := openAsOperator(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	v, err := a.Admin.Policy(ctx, sys, *slug)
	if err != nil {
		return err
	}
	p := v.Own
	switch *mfa {
	case "":
	case "inherit":
		p.MFA = store.MFAInherit
	default:
		p.MFA = store.MFAMode(*mfa)
	}
	switch *locked {
	case "":
	case "true":
		p.Locked = true
	case "false":
		p.Locked = false
	default:
		return errors.New("--locked must be true or false")
	}
	switch *methods {
	case "":
	case "inherit":
		p.AllowedMethods = nil
	default:
		p.AllowedMethods = splitList(*methods)
	}
	for _, d := range []struct {
		flag, v string
		out     *time.Duration
	}{{"--grace", *grace, &p.EnrollmentGrace}, {"--code-ttl", *ttl, &p.OTPCodeTTL}} {
		if d.v == "" {
			continue
		}
		if *d.out, err = time.ParseDuration(d.v); err != nil {
			return fmt.Errorf("%s: %w", d.flag, err)
		}
	}
	v, err = a.Admin.SetPolicy(ctx, sys, *slug, p, cliClient)
	if err != nil {
		return err
	}
	e := v.Effective
	fmt.Fprintf(env.Stdout, "policy of %s: mfa=%s locked=%t methods=%s grace=%s; effective: mfa=%s methods=%s\n",
		v.Org.Slug, orDefault(string(v.Own.MFA), "inherit"), v.Own.Locked, orDefault(strings.Join(v.Own.AllowedMethods, ","), "inherit"),
		v.Own.EnrollmentGrace, e.MFA, strings.Join(e.AllowedMethods, ","))
	return nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
