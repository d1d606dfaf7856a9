package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"github.com/twofold-id/twofold/internal/loadtest"
	"github.com/twofold-id/twofold/internal/password"
)

// loadtestCmd drives a running server over HTTP (package loadtest). Unlike
// the admin commands it does not open the database: it is a client, and
// takes none of the server's configuration flags.
func loadtestCmd(ctx context.Context, env Env, args []string) error {
	fs := flag.NewFlagSet("twofold loadtest", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	var cfg loadtest.Config
	def := password.DefaultParams()
	fs.StringVar(&cfg.URL, "url", "http://127.0.0.1:8080", "base URL of the server")
	fs.StringVar(&cfg.Token, "token", "", "admin session or API key (tfk_…) to seed users with (env TWOFOLD_LOADTEST_TOKEN)")
	fs.StringVar(&cfg.SeedFrom, "seed", "", "use the users of this seed file instead of seeding")
	fs.StringVar(&cfg.SeedTo, "seed-out", "", "write the seeded users to this file (0600), for later runs with --seed")
	fs.IntVar(&cfg.Users, "users", 0, "users to seed (default 3000; verify: rate × duration)")
	fs.StringVar(&cfg.ParentOrg, "org", "", "org to create the load-test org in (default: the token's own org)")
	fs.StringVar(&cfg.Password, "password", "", "password of the seeded users (default random)")
	fs.StringVar(&cfg.Mode, "mode", "signin", "signin (password then TOTP), verify (second step alone at --rate, open loop) or flood (wrong passwords)")
	fs.IntVar(&cfg.Clients, "clients", 16, "concurrent clients (signin, flood; verify: for preparing flows)")
	fs.DurationVar(&cfg.Duration, "duration", 0, "measured phase (default 30s)")
	fs.DurationVar(&cfg.Warmup, "warmup", 0, "unmeasured phase before it (signin, flood)")
	fs.Float64Var(&cfg.Rate, "rate", 0, "verify: verifications per second (default 1000)")
	fs.DurationVar(&cfg.FlowTTL, "flow-ttl", 0, "verify: the server's --flow-ttl; flows are prepared within 3/4 of it (default 5m)")
	fs.IntVar(&cfg.ServerPID, "server-pid", 0, "PID of the server when it runs on this machine: report its memory and CPU")
	memory := fs.Uint("argon-memory-kib", uint(def.Memory), "the server's argon2id memory (for seeded hashes and the bound)")
	iterations := fs.Uint("argon-time", uint(def.Time), "the server's argon2id iterations")
	threads := fs.Uint("argon-threads", uint(def.Threads), "the server's argon2id parallelism")
	fs.DurationVar(&cfg.BoundTime, "bound-time", 0, "time for each measurement of the hash bound (default 2s)")
	fs.BoolVar(&cfg.SpreadAddresses, "spread-addresses", true, "send X-Forwarded-For with an address per user (the server must trust this machine as a proxy)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if cfg.Token == "" {
		cfg.Token = env.Getenv("TWOFOLD_LOADTEST_TOKEN")
	}
	cfg.HashParams = def
	cfg.HashParams.Memory, cfg.HashParams.Time, cfg.HashParams.Threads = uint32(*memory), uint32(*iterations), uint8(*threads)
	if err := cfg.HashParams.Validate(); err != nil {
		return err
	}
	cfg.Progress = env.Stderr
	r, err := loadtest.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	r.Print(env.Stdout)
	return nil
}
