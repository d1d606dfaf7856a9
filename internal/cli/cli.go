// Package cli is the twofold command line: serve, migrate, and the admin
// commands that act directly on the configured database, with the server
// running or not. Admin commands act as the platform operator (a superadmin
// of the root org) and are written to the audit log like any admin action.
package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/app"
	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/problem"
	"github.com/twofold-id/twofold/internal/signin"
)

// Env is what a command sees of the process.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// Environ lists the environment (for `config check`); nil means none.
	Environ func() []string
	// Open builds the App; tests replace it to use cheap password hashing.
	Open func(ctx context.Context, cfg config.Config, log *slog.Logger) (*app.App, error)
}

// OSEnv returns the Env of the running process.
func OSEnv() Env {
	return Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Environ: os.Environ,
		Open: func(ctx context.Context, cfg config.Config, log *slog.Logger) (*app.App, error) {
			return app.Open(ctx, cfg, log, app.Options{})
		}}
}

type command struct {
	name  string
	usage string
	run   func(ctx context.Context, env Env, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run the server", serve},
		{"migrate", "apply database migrations and exit", migrate},
		{"version", "[--json]: print the version of this binary", versionCmd},
		{"healthcheck", "GET /healthz on the configured listen address; exit 0 when healthy (for container health checks)", healthcheck},
		{"config check", "[--json]: check the configuration (flags, TWOFOLD_* environment, --config file); fails on errors and insecure settings", configCheck},
		{"org create", "--slug S --name N [--parent P] [--mfa off|optional|required] [--locked [--lock-scope enforced|descendants]] [--methods totp,email] [--json]", orgCreate},
		{"org list", "[--json]: list organizations as a tree, with whom each lock binds and who placed it", orgList},
		{"org show", "--org S [--json]: an org's own policy, its lock (who placed it, what it enforces) and what applies", orgShow},
		{"org set-policy", "--org S [--mfa M|inherit] [--locked=true|false] [--lock-scope enforced|descendants] [--methods L|inherit] [--grace 72h] [--code-ttl 90s] [--json]", orgSetPolicy},
		{"user create", "--org S --username U [--email E] [--role member|admin|superadmin] [--mfa-required] --password-stdin [--json]", userCreate},
		{"user list", "[--org S [--subtree]] [--json]", userList},
		{"user set-password", "--org S --username U --password-stdin", userSetPassword},
		{"user set", "--org S --username U [--mfa-required=true|false] [--role R] [--disabled=true|false] [--email E] [--json]", userSet},
		{"user factors", "--org S --username U [--json]", userFactors},
		{"user reset-mfa", "--org S --username U", userResetMFA},
		{"user unlock", "--org S --username U", userUnlock},
		{"user devices", "--org S --username U: registered agents, add-ins and mobile apps", userDevices},
		{"user remove-device", "--org S --username U --device ID: remove a device and sign out its sessions", userRemoveDevice},
		{"user import", "[--file F] [--org S] [--partial]: users with their password hashes and authenticator-app secrets, as JSON Lines", userImport},
		{"apikey create", "--org S --name N [--role admin|member] [--expires 720h] [--json]: prints the token once", apikeyCreate},
		{"apikey list", "[--org S] [--json]", apikeyList},
		{"apikey revoke", "--id ID [--json]", apikeyRevoke},
		{"client create", "--org S --name N --kind web|spa|native --redirect-uris U[,U] [--post-logout-redirect-uris U] [--scopes L] [--require-mfa] [--id-token-alg ES256|RS256]: prints a web client's secret once; " +
			"or --kind proxy --host H [--host H] --rule PATH=ACR[,MAX_AGE] [--rule …]: an app behind forward-auth; " +
			"or --kind agent|add-in|mobile [--redirect-uris U] [--session-code every|never] [--passcode required|policy|optional] [--session-lifetime D]: an app whose sign-ins register devices", clientCreate},
		{"client list", "[--org S]", clientList},
		{"client delete", "--id CLIENT_ID", clientDelete},
		{"client rotate-secret", "--id CLIENT_ID: prints the new secret once", clientRotateSecret},
		{"directory set", "--org S --url U --bind-dn D --user-base-dn B [--ca-cert-file F] [--admin-group-dn G] [...]: bind password on stdin", directorySet},
		{"directory show", "--org S", directoryShow},
		{"directory test", "--org S --username U: search one user (no password check)", directoryTest},
		{"directory remove", "--org S", directoryRemove},
		{"keys init", "--key-file F: create a key file (for several instances)", keysInit},
		{"keys rotate", "make a new key active and re-encrypt every stored secret under it", keysRotate},
		{"keys rotate-signing", "make new OpenID Connect signing keys active (the old ones stay in the key set)", keysRotateSigning},
		{"backup", "--out FILE: copy the SQLite database consistently while it runs", backupDB},
		{"loadtest", "--url U --token T [--mode signin|verify|flood] [--clients C] [--duration D]: drive a server over HTTP and report", loadtestCmd},
	}
}

// Main runs the command line and returns the exit status.
func Main(args []string, env Env) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(env.Stdout)
		return 0
	}
	if args[0] == "--version" || args[0] == "-version" {
		args = append([]string{"version"}, args[1:]...)
	}
	for _, c := range commands() {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == c.name {
			err := c.run(ctx, env, args[len(words):])
			if err == nil {
				return 0
			}
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			if p := problem.As(err); p != nil {
				fmt.Fprintf(env.Stderr, "twofold %s: %s (%s)\n", c.name, p.Message, p.Code)
			} else {
				fmt.Fprintf(env.Stderr, "twofold %s: %v\n", c.name, err)
			}
			return 1
		}
	}
	fmt.Fprintf(env.Stderr, "twofold: unknown command %q\n\n", strings.Join(args, " "))
	usage(env.Stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Twofold: a multi-tenant sign-in server with two-factor authentication.")
	fmt.Fprintln(w, "\nUsage: twofold COMMAND [flags]   (every command takes the server's configuration flags too; see `twofold serve -h`)")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.usage)
	}
	tw.Flush()
}

// flags returns a flag set with the configuration flags registered, and a
// function that parses args and loads the configuration.
func flags(name string, env Env) (*flag.FlagSet, func(args []string) (config.Config, error)) {
	fs := flag.NewFlagSet("twofold "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	load := config.Register(fs, env.Getenv)
	return fs, func(args []string) (config.Config, error) {
		if err := fs.Parse(args); err != nil {
			return config.Config{}, err
		}
		if fs.NArg() > 0 {
			return config.Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
		}
		return load()
	}
}

// open loads the configuration and opens the App with a quiet logger.
func open(ctx context.Context, env Env, cfg config.Config) (*app.App, error) {
	cfg.LogLevel = "warn"
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := env.Open(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	if _, _, err := a.EnsureRoot(ctx); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// openAsOperator opens the App and returns it with the operator's actor
// (a superadmin of the root org). The caller closes the App.
func openAsOperator(ctx context.Context, env Env, cfg config.Config) (*app.App, access.Actor, error) {
	a, err := open(ctx, env, cfg)
	if err != nil {
		return nil, access.Actor{}, err
	}
	sys, err := a.Admin.System(ctx)
	if err != nil {
		a.Close()
		return nil, access.Actor{}, err
	}
	return a, sys, nil
}

var cliClient = signin.Client{IP: "cli", UserAgent: "twofold-cli"}

func serve(ctx context.Context, env Env, args []string) error {
	_, parse := flags("serve", env)
	cfg, err := parse(args)
	if err != nil {
		return err
	}
	log := app.NewLogger(cfg, os.Stderr)
	if f, ok := env.Stderr.(*os.File); ok {
		log = app.NewLogger(cfg, f)
	}
	// What `twofold config check` would flag, the server says once at start.
	warnings := cfg.Insecure()
	if env.Environ != nil {
		warnings = append(warnings, config.UnknownEnvironment(env.Environ())...)
	}
	for _, p := range warnings {
		log.Warn("configuration: "+p.Message, "severity", p.Severity.String(), "key", p.Key)
	}
	a, err := env.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	root, created, err := a.EnsureRoot(ctx)
	if err != nil {
		return err
	}
	if created {
		log.Info("created the root organization", "slug", root.Slug)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	where := cfg.DataDir
	if a.Backend == "postgres" {
		where = "PostgreSQL"
	}
	fmt.Fprintf(env.Stdout, "Twofold is listening on http://%s (store: %s, %s)\n", ln.Addr(), a.Backend, where)
	if cfg.SMTPHost == "" {
		fmt.Fprintf(env.Stdout, "No SMTP server configured (--smtp-host): mails, with their codes and links, are written to %s\n", app.Outbox(cfg))
	}
	if need, err := a.NeedsSetup(ctx); err != nil {
		return err
	} else if need {
		tok, err := a.Admin.NewSetupToken(ctx)
		if err != nil {
			return err
		}
		self := selfCommand(os.Args[0])
		kept, secret := storeFlags(args)
		fmt.Fprint(env.Stdout, app.SetupNotice(cfg.BaseURL()+"/setup?token="+tok, self, strings.Join(kept, " ")))
		if secret {
			fmt.Fprintln(env.Stdout, "    (add the --database-url or --secret-key you started the server with)")
		}
		if strings.HasPrefix(self, "go run") {
			fmt.Fprintln(env.Stdout, "  (`go build ./cmd/twofold` makes a ./twofold binary that starts at once)")
		}
	}
	log.Info("serving", "listen", ln.Addr().String(), "store", a.Backend)
	return a.Serve(ctx, ln)
}

func migrate(ctx context.Context, env Env, args []string) error {
	_, parse := flags("migrate", env)
	cfg, err := parse(args)
	if err != nil {
		return err
	}
	a, err := open(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	fmt.Fprintf(env.Stdout, "migrations applied (%s)\n", a.Backend)
	return nil
}

// readPassword reads one line from stdin (for --password-stdin).
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on standard input")
	}
	return pw, nil
}
