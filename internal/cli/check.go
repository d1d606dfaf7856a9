package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/twofold-id/twofold/internal/app"
	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/version"
)

// versionCmd prints the version of this binary.
func versionCmd(ctx context.Context, env Env, args []string) error {
	fs := flag.NewFlagSet("twofold version", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	asJSON := jsonFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env.Stdout, version.Get())
	}
	fmt.Fprintln(env.Stdout, version.Long())
	return nil
}

// problemJSON is one problem of `config check --json`.
type problemJSON struct {
	Severity string `json:"severity"` // error, insecure or warning
	Key      string `json:"key,omitempty"`
	Message  string `json:"message"`
}

// configCheck loads the configuration the way serve does — flags, the
// environment, the config file — and reports every problem at once:
// unknown keys, values that do not parse or that the server refuses, and
// insecure combinations. It fails when there is an error or an insecure
// setting; warnings alone pass.
func configCheck(ctx context.Context, env Env, args []string) error {
	fs := flag.NewFlagSet("twofold config check", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	l := config.NewLoader(fs, env.Getenv, env.Environ)
	asJSON := jsonFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg, probs := l.Check()
	failed := 0
	for _, p := range probs {
		if p.Severity != config.Warning {
			failed++
		}
	}
	if failed == 0 {
		// What Open would refuse beyond the settings themselves.
		for _, err := range app.CheckConfig(cfg) {
			probs = append([]config.Problem{{Severity: config.Error, Message: err.Error()}}, probs...)
			failed++
		}
	}
	if *asJSON {
		out := struct {
			OK       bool          `json:"ok"`
			Problems []problemJSON `json:"problems"`
		}{OK: failed == 0, Problems: []problemJSON{}}
		for _, p := range probs {
			out.Problems = append(out.Problems, problemJSON{Severity: p.Severity.String(), Key: p.Key, Message: p.Message})
		}
		if err := printJSON(env.Stdout, out); err != nil {
			return err
		}
	} else {
		for _, p := range probs {
			fmt.Fprintf(env.Stdout, "%s: %s\n", p.Severity, p.Message)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d problem(s) to fix before serving", failed)
	}
	if !*asJSON {
		store := "SQLite in " + cfg.DataDir
		if cfg.DatabaseURL != "" {
			store = "PostgreSQL"
		}
		metrics := "off"
		if cfg.MetricsListen != "" {
			metrics = cfg.MetricsListen
		}
		fmt.Fprintf(env.Stdout, "configuration OK: listen %s, public URL %s, store %s, metrics %s\n", cfg.Listen, cfg.BaseURL(), store, metrics)
	}
	return nil
}

// healthcheck asks the server on the configured listen address for
// /healthz and fails unless it answers 200 within 5 seconds. A listen
// address on every interface (0.0.0.0:8080, :8080) is reached on loopback.
// It is the container image's HEALTHCHECK, which has no curl.
func healthcheck(ctx context.Context, env Env, args []string) error {
	_, parse := flags("healthcheck", env)
	cfg, err := parse(args)
	if err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %q: %w", cfg.Listen, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	u := "http://" + net.JoinHostPort(host, port) + "/healthz"
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("unhealthy: %w", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("unhealthy: %s answered %s", u, res.Status)
	}
	env.Stdout.Write(body)
	return nil
}
