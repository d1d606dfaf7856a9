package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/app"
	"github.com/twofold-id/twofold/internal/store"
)

func userCreate(ctx context.Context, env Env, args []string) error {
	fs, parse := flags("user create", env)
	org := fs.String("org", "", "org slug")
	username := fs.String("username", "", "username")
	email := fs.String("email", "", "email address")
	role := fs.String("role", "member", "member, admin or superadmin")
	mfaRequired := fs.Bool("mfa-required", false, "require MFA for this user")
	stdin := fs.Bool("password-stdin", false, "read the password from standard input")
	asJSON := jsonFlag(fs)
	cfg, err := parse(args)
	if err != nil {
		return err
	}
	if *org == "" || *username == "" {
		return errors.New("--org and --username are required")
	}
	var pw string
	if *stdin {
		if pw, err = readPassword(env.Stdin); err != nil {
			return err
		}
	}
	a, sys, err := openAsOperator(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.Admin.CreateUser(ctx, sys, admin.NewUser{OrgSlug: *org, Username: *username, Email: *email,
		Role: store.Role(*role), Password: pw, MFARequired: *mfaRequired}, cliClient)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env.Stdout, userOut(u))
	}
	fmt.Fprintf(env.Stdout, "created user %s in %s (role %s) id=%s\n", u.Username, *org, u.Role, u.ID)
	if pw == "" {
		fmt.Fprintln(env.Stdout, "no password set: the user cannot sign in until one is set with `twofold user set-password`")
	}
	return nil
}

func userList(ctx context.Context, env Env, args []string) error {
	fs, parse := flags("user list", env)
	org := fs.String("org", "", "org slug (default: every org)")
	subtree := fs.Bool("subtree", false, "include users of descendant orgs")
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
	f := store.UserFilter{Limit: 10000}
	if *org != "" {
		o, err := a.Admin.Org(ctx, sys, *org)
		if err != nil {
			return err
		}
		f.OrgPath = o.Path
		if !*subtree {
			f.OrgID = o.ID
		}
	}
	us, err := a.Admin.Users(ctx, sys, f)
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]userJSON, len(us))
		for i, u := range us {
			out[i] = userOut(u)
		}
		return printJSON(env.Stdout, out)
	}
	tw := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USERNAME\tEMAIL\tROLE\tMFA REQUIRED\tDISABLED\tID")
	for _, u := range us {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%t\t%s\n", u.Username, u.Email, u.Role, u.MFARequired, u.Disabled, u.ID)
	}
	return tw.Flush()
}

// withUser parses --org and --username (plus extra flags added by setup),
// opens the App and finds the user.
func withUser(ctx context.Context, env Env, name string, args []string, setup func(fs *flag.FlagSet),
	run func(a *app.App, sys access.Actor, u store.User) error) error {
	fs, parse := flags(name, env)
	org := fs.String("org", "", "org slug")
	username := fs.String("username", "", "username")
	if setup != nil {
		setup(fs)
	}
	cfg, err := parse(args)
	if err != nil {
		return err
	}
	if *org == "" || *username == "" {
		return errors.New("--org and --username are required")
	}
	a, sys, err := openAsOperator(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	u, _, err := a.Admin.UserByName(ctx, sys, *org, *username)
	if err != nil {
		return err
	}
	return run(a, sys, u)
}

func userSetPassword(ctx context.Context, env Env, args []string) error {
	var stdin *bool
	return withUser(ctx, env, "user set-password", args, func(fs *flag.FlagSet) {
		stdin = fs.Bool("password-stdin", false, "read the password from standard input (required)")
	}, func(a *app.App, sys access.Actor, u store.User) error {
		if !*stdin {
			return errors.New("--password-stdin is required (passwords are never taken as arguments)")
		}
		pw, err := readPassword(env.Stdin)
		if err != nil {
			return err
		}
		if err := a.Admin.SetPassword(ctx, sys, u.ID, pw, cliClient); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "password of %s set; their sessions were signed out\n", u.Username)
		return nil
	})
}

// optBool is a flag that records whether it was given.
type optBool struct{ v *bool }

func (o *optBool) String() string {
	if o.v == nil {
		return ""
	}
	return strconv.FormatBool(*o.v)
}
func (o *optBool) Set(s string) error {
	b, err := strconv.ParseBool(s)
	o.v = &b
	return err
}
func (o *optBool) IsBoolFlag() bool { return true }

type optString struct{ v *string }

func (o *optString) String() string {
	if o.v == nil {
		return ""
	}
	return *o.v
}
func (o *optString) Set(s string) error { o.v = &s; return nil }

func userSet(ctx context.Context, env Env, args []string) error {
	var mfa, disabled optBool
	var role, email optString
	var asJSON *bool
	return withUser(ctx, env, "user set", args, func(fs *flag.FlagSet) {
		asJSON = jsonFlag(fs)
		fs.Var(&mfa, "mfa-required", "require MFA for this user (true or false)")
		fs.Var(&disabled, "disabled", "disable or enable the account (true or false)")
		fs.Var(&role, "role", "member, admin or superadmin")
		fs.Var(&email, "email", "email address (empty to remove)")
	}, func(a *app.App, sys access.Actor, u store.User) error {
		ch := admin.Change{MFARequired: mfa.v, Disabled: disabled.v, Email: email.v}
		if role.v != nil {
			r := store.Role(*role.v)
			ch.Role = &r
		}
		u, err := a.Admin.UpdateUser(ctx, sys, u.ID, ch, cliClient)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(env.Stdout, userOut(u))
		}
		fmt.Fprintf(env.Stdout, "%s: role=%s mfa_required=%t disabled=%t email=%s\n", u.Username, u.Role, u.MFARequired, u.Disabled, u.Email)
		return nil
	})
}

func userFactors(ctx context.Context, env Env, args []string) error {
	var asJSON *bool
	return withUser(ctx, env, "user factors", args, func(fs *flag.FlagSet) { asJSON = jsonFlag(fs) }, func(a *app.App, sys access.Actor, u store.User) error {
		ov, err := a.Admin.Factors(ctx, sys, u.ID)
		if err != nil {
			return err
		}
		if *asJSON {
			out := struct {
				Factors         []factorJSON `json:"factors"`
				BackupCodesLeft int          `json:"backup_codes_left"`
				MFARequired     bool         `json:"mfa_required"`
				Locked          bool         `json:"locked"`
				Failures        int          `json:"consecutive_failures"`
			}{Factors: []factorJSON{}, BackupCodesLeft: ov.BackupCodesLeft, MFARequired: ov.Required, Locked: ov.Locked, Failures: ov.Failures}
			for _, f := range ov.Factors {
				out.Factors = append(out.Factors, factorJSON{ID: f.ID, Kind: f.Kind, Label: f.Label, Confirmed: f.Confirmed(),
					CreatedAt: ts(f.CreatedAt), LastUsedAt: tsp(f.LastUsedAt)})
			}
			return printJSON(env.Stdout, out)
		}
		tw := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tLABEL\tCONFIRMED\tCREATED\tLAST USED")
		for _, f := range ov.Factors {
			last := "never"
			if f.LastUsedAt != nil {
				last = f.LastUsedAt.Format("2006-01-02 15:04")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%s\t%s\n", f.ID, f.Kind, f.Label, f.Confirmed(), f.CreatedAt.Format("2006-01-02 15:04"), last)
		}
		tw.Flush()
		fmt.Fprintf(env.Stdout, "backup codes left: %d; MFA required: %t; locked: %t (%d consecutive wrong codes, %d wrong passwords%s)\n",
			ov.BackupCodesLeft, ov.Required, ov.Locked, ov.Failures, ov.PasswordFailures, map[bool]string{true: ", password step locked"}[ov.PasswordLocked])
		return nil
	})
}

func userResetMFA(ctx context.Context, env Env, args []string) error {
	return withUser(ctx, env, "user reset-mfa", args, nil, func(a *app.App, sys access.Actor, u store.User) error {
		if err := a.Admin.ResetMFA(ctx, sys, u.ID, cliClient); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "MFA of %s reset: factors and backup codes removed, sessions signed out\n", u.Username)
		return nil
	})
}

func userUnlock(ctx context.Context, env Env, args []string) error {
	return withUser(ctx, env, "user unlock", args, nil, func(a *app.App, sys access.Actor, u store.User) error {
		if err := a.Admin.Unlock(ctx, sys, u.ID, cliClient); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "sign-in of %s unlocked (password step and second factor)\n", u.Username)
		return nil
	})
}
