package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/directory"
)

// directorySet sets an org's own directory. The bind password is read from
// standard input (one line), never from an argument; with
// --keep-password the stored one is kept.
func directorySet(ctx context.Context, env Env, args []string) error {
	fs, parse := flags("directory set", env)
	org := fs.String("org", "", "slug of the org")
	var c directory.Config
	fs.StringVar(&c.URL, "url", "", "ldaps://host[:port] or ldap://host[:port]")
	noTLS := fs.Bool("no-start-tls", false, "plain ldap:// without StartTLS (only for a loopback address)")
	caFile := fs.String("ca-cert-file", "", "PEM file of the CA the directory's certificate chains to")
	fs.StringVar(&c.BindDN, "bind-dn", "", "DN of the service account")
	keep := fs.Bool("keep-password", false, "keep the stored bind password instead of reading one from standard input")
	fs.StringVar(&c.UserBaseDN, "user-base-dn", "", "where users are searched, e.g. ou=people,dc=example,dc=org")
	fs.StringVar(&c.UsernameAttribute, "username-attribute", "uid", "attribute holding the username (sAMAccountName for AD)")
	fs.StringVar(&c.UserFilter, "user-filter", "", "extra filter for users, e.g. (objectClass=inetOrgPerson)")
	fs.StringVar(&c.EmailAttribute, "email-attribute", "mail", "attribute holding the email address")
	fs.StringVar(&c.NameAttribute, "name-attribute", "cn", "attribute holding the display name")
	fs.StringVar(&c.AdminGroupDN, "admin-group-dn", "", "members of this group become org admins")
	cfg, err := parse(args)
	if err != nil {
		return err
	}
	if *org == "" {
		return errors.New("--org is required")
	}
	c.StartTLS = strings.HasPrefix(c.URL, "ldap://") && !*noTLS
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			return err
		}
		c.CACert = string(pem)
	}
	if !*keep {
		if c.BindPassword, err = readPassword(env.Stdin); err != nil {
			return fmt.Errorf("bind password from standard input: %w", err)
		}
	}
	a, sys, err := openAsOperator(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	v, err := a.Admin.SetDirectory(ctx, sys, *org, c, cliClient)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "directory of %s set: %s\n", v.Org.Slug, v.Config.URL)
	return nil
}

// directoryShow prints an org's directory settings (never the password).
func directoryShow(ctx context.Context, env Env, args []string) error {
	fs, parse := flags("directory show", env)
	org := fs.String("org", "", "slug of the org")
	cfg, err := parse(args)
	if err != nil {
		return err
	}
	if *org == "" {
		return errors.New("--org is required")
	}
	a, sys, err := openAsOperator(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	v, err := a.Admin.Directory(ctx, sys, *org)
	if err != nil {
		return err
	}
	printDirectory(env, v)
	return nil
}

func printDirectory(env Env, v admin.DirectoryView) {
	if !v.Own {
		fmt.Fprintf(env.Stdout, "%s uses the directory of %s\n", v.Org.Slug, v.InheritedFrom.Slug)
		return
	}
	c := v.Config
	for _, kv := range [][2]string{{"url", c.URL}, {"start_tls", fmt.Sprint(c.StartTLS)}, {"ca_cert", yesIf(c.CACert != "", "set", "system roots")},
		{"bind_dn", c.BindDN}, {"bind_password", "set (never shown)"}, {"user_base_dn", c.UserBaseDN},
		{"username_attribute", c.UsernameAttribute}, {"user_filter", c.UserFilter}, {"email_attribute", c.EmailAttribute},
		{"name_attribute", c.NameAttribute}, {"admin_group_dn", c.AdminGroupDN}} {
		fmt.Fprintf(env.Stdout, "%-19s %s\n", kv[0], kv[1])
	}
}

func yesIf(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

// directoryTest searches one user in the directory that applies to an org
// and prints what it found, without a password check.
func directoryTest(ctx context.Context, env Env, args []string) error {
	fs, parse := flags("directory test", env)
	org := fs.String("org", "", "slug of the org")
	username := fs.String("username", "", "the username to search")
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
	res, err := a.Admin.TestDirectory(ctx, sys, *org, *username, cliClient)
	if err != nil {
		return err
	}
	if !res.Found {
		fmt.Fprintf(env.Stdout, "connected; no user %q found\n", *username)
		return nil
	}
	e := res.Entry
	fmt.Fprintf(env.Stdout, "connected; found %s\nid %s\nusername %s\nemail %s\nname %s\nadmin %v\ndisabled %v\n",
		e.DN, e.ID, e.Username, e.Email, e.Name, e.Admin, e.Disabled)
	return nil
}

// directoryRemove removes an org's own directory.
func directoryRemove(ctx context.Context, env Env, args []string) error {
	fs, parse := flags("directory remove", env)
	org := fs.String("org", "", "slug of the org")
	cfg, err := parse(args)
	if err != nil {
		return err
	}
	if *org == "" {
		return errors.New("--org is required")
	}
	a, sys, err := openAsOperator(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Admin.RemoveDirectory(ctx, sys, *org, cliClient); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "directory of %s removed\n", *org)
	return nil
}
