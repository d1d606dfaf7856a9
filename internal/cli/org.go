package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	locked := fs.Bool("locked", false, "lock the policy: enforced on the new org and everything below it (see --lock-scope)")
	scope := fs.String("lock-scope", "", "with --locked: enforced (default: the new org's admins are bound too) or descendants (only the orgs below it)")
	methods := fs.String("methods", "", "allowed methods, comma separated (default: inherit)")
	asJSON := jsonFlag(fs)
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
	if *scope != "" && !*locked {
		return errors.New("--lock-scope needs --locked")
	}
	pol.Lock.Scope = store.LockScope(*scope)
	if *methods != "" {
		pol.AllowedMethods = splitList(*methods)
	}
	o, err := a.Admin.CreateOrg(ctx, sys, admin.NewOrg{Slug: *slug, Name: *name, ParentSlug: *parent, Policy: pol}, cliClient)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env.Stdout, orgOut(o))
	}
	fmt.Fprintf(env.Stdout, "created org %s (%s) id=%s%s\n", o.Slug, o.Name, o.ID, lockSuffix(o.Policy))
	return nil
}

// lockSuffix says whom p's lock binds, for a one-line answer.
func lockSuffix(p store.OrgPolicy) string {
	switch {
	case p.Enforced():
		return " lock=enforced"
	case p.Locked:
		return " lock=descendants"
	}
	return ""
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
	fs, parse := flags("org list", env)
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
	orgs, err := a.Admin.Orgs(ctx, sys)
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]orgJSON, len(orgs))
		for i, o := range orgs {
			out[i] = orgOut(o)
		}
		return printJSON(env.Stdout, out)
	}
	slugs := map[string]string{}
	for _, o := range orgs {
		slugs[o.ID] = o.Slug
	}
	tw := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SLUG\tNAME\tMFA\tLOCKED\tMETHODS\tLOCK")
	for _, o := range orgs {
		mfa := string(o.Policy.MFA)
		if mfa == "" {
			mfa = "(inherit)"
		}
		methods := "(inherit)"
		if o.Policy.AllowedMethods != nil {
			methods = strings.Join(o.Policy.AllowedMethods, ",")
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%t\t%s\t%s\n", strings.Repeat("  ", o.Depth), o.Slug, o.Name, mfa, o.Policy.Locked, methods,
			lockText(o.Policy, slugs[o.Policy.Lock.OrgID]))
	}
	return tw.Flush()
}

// lockText says whom p's lock binds and who placed it: "-", "descendants
// by acme/ada 2026-03-01T12:00:00Z" or "enforced by reseller/rita …".
// lockOrg is the slug of the org at whose level it was placed ("" unknown).
func lockText(p store.OrgPolicy, lockOrg string) string {
	if !p.Locked {
		return "-"
	}
	s := "descendants"
	if p.Enforced() {
		s = "enforced"
	}
	if lockOrg != "" || p.Lock.ActorName != "" {
		s += " by " + orDefault(lockOrg, "?") + "/" + orDefault(p.Lock.ActorName, "?")
	}
	if p.Lock.At != nil {
		s += " " + p.Lock.At.UTC().Format(time.RFC3339)
	}
	return s
}

func orgShow(ctx context.Context, env Env, args []string) error {
	fs, parse := flags("org show", env)
	slug := fs.String("org", "", "org slug")
	asJSON := jsonFlag(fs)
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
	if *asJSON {
		return printJSON(env.Stdout, policyViewOut(v))
	}
	writePolicyView(env.Stdout, v)
	return nil
}

// writePolicyView prints an org's own policy, its lock and what applies.
func writePolicyView(w io.Writer, v admin.PolicyView) {
	own, e := v.Own, v.Effective
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "org\t%s (%s)\n", v.Org.Slug, v.Org.Name)
	fmt.Fprintf(tw, "own\tmfa=%s methods=%s grace=%s code-ttl=%s directory-mfa=%t\n", orDefault(string(own.MFA), "inherit"),
		listOr(own.AllowedMethods, "inherit"), own.EnrollmentGrace, own.OTPCodeTTL, own.RequireMFAForNewDirectoryUsers)
	lockOrg := ""
	if v.LockOrg != nil {
		lockOrg = v.LockOrg.Slug
	}
	fmt.Fprintf(tw, "lock\t%s\n", lockText(own, lockOrg))
	if own.Enforced() {
		f := own.Lock.Floor
		fmt.Fprintf(tw, "enforced floor\tmfa=%s methods=%s grace=%s directory-mfa=%t\n", f.MFA, listOr(f.AllowedMethods, "none"),
			f.EnrollmentGrace, f.RequireMFAForNewDirectoryUsers)
	}
	fmt.Fprintf(tw, "effective\tmfa=%s methods=%s grace=%s code-ttl=%s directory-mfa=%t\n", e.MFA, listOr(e.AllowedMethods, "none"),
		e.Grace, e.OTPCodeTTL, e.RequireMFAForNewDirectoryUsers)
	for _, l := range []struct {
		what string
		by   *store.Org
	}{{"mfa", e.MFALockedBy}, {"methods", e.MethodsLockedBy}, {"grace", e.GraceLockedBy}} {
		if l.by != nil {
			fmt.Fprintf(tw, "%s locked by\t%s (%s)\n", l.what, l.by.Slug, l.by.Name)
		}
	}
	tw.Flush()
}

func listOr(l []string, none string) string {
	if len(l) == 0 {
		return none
	}
	return strings.Join(l, ",")
}

func orgSetPolicy(ctx context.Context, env Env, args []string) error {
	fs, parse := flags("org set-policy", env)
	slug := fs.String("org", "", "org slug")
	mfa := fs.String("mfa", "", "off, optional, required or inherit (default: unchanged)")
	locked := fs.String("locked", "", "true or false (default: unchanged); the operator's lock is enforced on the org itself unless --lock-scope=descendants")
	scope := fs.String("lock-scope", "", "enforced or descendants (default: unchanged for a lock that stays, enforced for a new one)")
	methods := fs.String("methods", "", "allowed methods, comma separated, or inherit (default: unchanged)")
	grace := fs.String("grace", "", "enrollment grace period, e.g. 72h; 0 = at next sign-in (default: unchanged)")
	ttl := fs.String("code-ttl", "", "lifetime of emailed/texted codes, 30s to 10m; 0 = inherit (default: unchanged)")
	asJSON := jsonFlag(fs)
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
		if !p.Locked {
			p.Lock.Scope = ""
		}
		p.Locked = true
	case "false":
		p.Locked = false
	default:
		return errors.New("--locked must be true or false")
	}
	if *scope != "" {
		if !p.Locked {
			return errors.New("--lock-scope needs a lock (--locked=true)")
		}
		p.Lock.Scope = store.LockScope(*scope)
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
	if *asJSON {
		return printJSON(env.Stdout, policyViewOut(v))
	}
	writePolicyView(env.Stdout, v)
	return nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
