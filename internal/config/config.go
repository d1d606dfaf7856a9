// Package config holds Twofold's configuration: its defaults, how flags,
// TWOFOLD_* environment variables and an optional config file combine, and
// validation.
//
// Precedence, highest first: command-line flags, environment variables, the
// config file, defaults. The config file uses the systemd EnvironmentFile
// format (KEY=value lines with TWOFOLD_* keys, # comments), so the same file
// can serve both `twofold --config FILE` and a systemd unit.
package config

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/twofold-id/twofold/internal/clientip"
)

// Config is the whole configuration of one Twofold process.
type Config struct {
	DataDir     string // SQLite database, secret key file, mail outbox
	Listen      string // host:port of the HTTP server
	DatabaseURL string // postgres://… selects PostgreSQL; empty = SQLite in DataDir
	PublicURL   string // how users reach the server, e.g. https://id.example.com; used in links
	SecretKey   string // TWOFOLD_SECRET_KEY: keys inline (see secretbox.FromEnv)
	KeyFile     string // key file; default DataDir/secret.key
	LogLevel    string // debug, info, warn, error
	LogFormat   string // json or text

	// Password hashing (argon2id).
	ArgonMemoryKiB  uint32
	ArgonTime       uint32
	ArgonThreads    uint8
	HashConcurrency int // 0 = number of CPUs

	SessionIdle     time.Duration
	SessionAbsolute time.Duration
	FlowTTL         time.Duration // how long a sign-in flow waits for the second step

	// Second-factor brute-force protection.
	LockoutThreshold int           // consecutive failures that lock the second factor
	LockoutCooldown  time.Duration // how long the lock lasts before it lifts by itself
	FreeFailures     int           // failures allowed before delays start

	ReauthWindow time.Duration // how recent a second-factor check must be for sensitive actions

	// Reverse proxies. A forwarding header is believed only from a trusted
	// proxy; see TrustedProxyPrefixes.
	TrustProxy     bool   // trust proxies on loopback (kept for compatibility; TrustedProxies implies it)
	TrustedProxies string // comma-separated CIDR prefixes or addresses of the proxies in front
	ProxyHeader    string // the header they write: X-Forwarded-For or Forwarded

	// Outgoing mail. Without SMTPHost, mail goes to an outbox folder in
	// DataDir and the log (for development).
	SMTPHost     string
	SMTPPort     int
	SMTPUsername string
	SMTPPassword string
	SMTPFrom     string
	SMTPTLS      string // starttls (default), opportunistic, tls, none

	// Text messages: SMSProvider is "", "twilio" or "webhook".
	SMSProvider      string
	TwilioAccountSID string
	TwilioAuthToken  string
	TwilioFrom       string
	TwilioBaseURL    string
	SMSWebhookURL    string
	SMSWebhookSecret string

	// Quotas of sent codes and links per clock hour.
	UserSendsPerHour int
	OrgSendsPerHour  int

	// AdminMFARequired makes a second factor required for every admin and
	// platform admin, whatever their org's policy says (on by default).
	AdminMFARequired bool
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		DataDir:          "./twofold-data",
		Listen:           "127.0.0.1:8080",
		LogLevel:         "info",
		LogFormat:        "json",
		ArgonMemoryKiB:   19 * 1024,
		ArgonTime:        2,
		ArgonThreads:     1,
		SessionIdle:      time.Hour,
		SessionAbsolute:  24 * time.Hour,
		FlowTTL:          5 * time.Minute,
		LockoutThreshold: 100,
		LockoutCooldown:  15 * time.Minute,
		FreeFailures:     5,
		ReauthWindow:     15 * time.Minute,
		ProxyHeader:      clientip.XForwardedFor,
		SMTPFrom:         "Twofold <twofold@localhost>",
		SMTPTLS:          "starttls",
		UserSendsPerHour: 10,
		OrgSendsPerHour:  1000,
		AdminMFARequired: true,
	}
}

// field binds one setting to its flag name and environment variable.
type field struct {
	name  string // flag name; env is TWOFOLD_ + upper(name with - → _)
	usage string
	set   func(c *Config, v string) error
	get   func(c *Config) string
}

func str(p func(*Config) *string) (func(*Config, string) error, func(*Config) string) {
	return func(c *Config, v string) error { *p(c) = v; return nil },
		func(c *Config) string { return *p(c) }
}

func dur(p func(*Config) *time.Duration) (func(*Config, string) error, func(*Config) string) {
	return func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return err
			}
			*p(c) = d
			return nil
		},
		func(c *Config) string { return p(c).String() }
}

func integer(p func(*Config) *int) (func(*Config, string) error, func(*Config) string) {
	return func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil {
				return err
			}
			*p(c) = n
			return nil
		},
		func(c *Config) string { return strconv.Itoa(*p(c)) }
}

func uint32v(p func(*Config) *uint32) (func(*Config, string) error, func(*Config) string) {
	return func(c *Config, v string) error {
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return err
			}
			*p(c) = uint32(n)
			return nil
		},
		func(c *Config) string { return strconv.FormatUint(uint64(*p(c)), 10) }
}

func boolean(p func(*Config) *bool) (func(*Config, string) error, func(*Config) string) {
	return func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return err
			}
			*p(c) = b
			return nil
		},
		func(c *Config) string { return strconv.FormatBool(*p(c)) }
}

func mk(name, usage string, set func(*Config, string) error, get func(*Config) string) field {
	return field{name: name, usage: usage, set: set, get: get}
}

var fields = func() []field {
	f := []field{}
	add := func(name, usage string, s func(*Config, string) error, g func(*Config) string) {
		f = append(f, mk(name, usage, s, g))
	}
	s, g := str(func(c *Config) *string { return &c.DataDir })
	add("data-dir", "directory for the SQLite database, key file and mail outbox", s, g)
	s, g = str(func(c *Config) *string { return &c.Listen })
	add("listen", "address to listen on", s, g)
	s, g = str(func(c *Config) *string { return &c.DatabaseURL })
	add("database-url", "postgres:// URL; empty uses SQLite in the data directory", s, g)
	s, g = str(func(c *Config) *string { return &c.PublicURL })
	add("public-url", "external URL of the server, used in links (default http://LISTEN)", s, g)
	s, g = str(func(c *Config) *string { return &c.SecretKey })
	add("secret-key", "encryption keys inline (keyid:base64 lines); prefer --key-file", s, g)
	s, g = str(func(c *Config) *string { return &c.KeyFile })
	add("key-file", "file holding the encryption keys (default DATA_DIR/secret.key)", s, g)
	s, g = str(func(c *Config) *string { return &c.LogLevel })
	add("log-level", "debug, info, warn or error", s, g)
	s, g = str(func(c *Config) *string { return &c.LogFormat })
	add("log-format", "json or text", s, g)
	s, g = uint32v(func(c *Config) *uint32 { return &c.ArgonMemoryKiB })
	add("argon-memory-kib", "argon2id memory in KiB (at least 19456)", s, g)
	s, g = uint32v(func(c *Config) *uint32 { return &c.ArgonTime })
	add("argon-time", "argon2id iterations", s, g)
	s, g = integer(func(c *Config) *int { return &c.HashConcurrency })
	add("hash-concurrency", "password hashes computed at once (0 = CPU count)", s, g)
	s, g = dur(func(c *Config) *time.Duration { return &c.SessionIdle })
	add("session-idle", "sign out after this long without activity", s, g)
	s, g = dur(func(c *Config) *time.Duration { return &c.SessionAbsolute })
	add("session-absolute", "sign out this long after sign-in, active or not", s, g)
	s, g = dur(func(c *Config) *time.Duration { return &c.FlowTTL })
	add("flow-ttl", "how long a sign-in waits for the second step", s, g)
	s, g = integer(func(c *Config) *int { return &c.LockoutThreshold })
	add("lockout-threshold", "consecutive wrong codes that lock the second factor", s, g)
	s, g = dur(func(c *Config) *time.Duration { return &c.LockoutCooldown })
	add("lockout-cooldown", "how long a second-factor lock lasts", s, g)
	s, g = dur(func(c *Config) *time.Duration { return &c.ReauthWindow })
	add("reauth-window", "how recent a second-factor check must be for sensitive actions", s, g)
	s, g = boolean(func(c *Config) *bool { return &c.TrustProxy })
	add("trust-proxy", "believe the forwarding header from proxies on loopback (see trusted-proxies)", s, g)
	s, g = str(func(c *Config) *string { return &c.TrustedProxies })
	add("trusted-proxies", "comma-separated CIDRs or addresses of the reverse proxies whose forwarding header is believed", s, g)
	s, g = str(func(c *Config) *string { return &c.ProxyHeader })
	add("proxy-header", "the header the trusted proxies write: X-Forwarded-For or Forwarded", s, g)
	for _, sf := range []struct {
		name, usage string
		p           func(*Config) *string
	}{
		{"smtp-host", "SMTP server; empty writes mail to DATA_DIR/outbox", func(c *Config) *string { return &c.SMTPHost }},
		{"smtp-username", "SMTP AUTH user", func(c *Config) *string { return &c.SMTPUsername }},
		{"smtp-password", "SMTP AUTH password (prefer the environment)", func(c *Config) *string { return &c.SMTPPassword }},
		{"smtp-from", "sender address of mails", func(c *Config) *string { return &c.SMTPFrom }},
		{"smtp-tls", "starttls, opportunistic, tls or none", func(c *Config) *string { return &c.SMTPTLS }},
		{"sms-provider", "twilio, webhook, or empty for no text messages", func(c *Config) *string { return &c.SMSProvider }},
		{"twilio-account-sid", "Twilio account SID", func(c *Config) *string { return &c.TwilioAccountSID }},
		{"twilio-auth-token", "Twilio auth token (prefer the environment)", func(c *Config) *string { return &c.TwilioAuthToken }},
		{"twilio-from", "sending number or messaging service SID", func(c *Config) *string { return &c.TwilioFrom }},
		{"twilio-base-url", "base URL of a Twilio-compatible API", func(c *Config) *string { return &c.TwilioBaseURL }},
		{"sms-webhook-url", "URL that receives text messages as signed JSON", func(c *Config) *string { return &c.SMSWebhookURL }},
		{"sms-webhook-secret", "HMAC key for the webhook signature (at least 16 bytes)", func(c *Config) *string { return &c.SMSWebhookSecret }},
	} {
		s, g = str(sf.p)
		add(sf.name, sf.usage, s, g)
	}
	s, g = integer(func(c *Config) *int { return &c.SMTPPort })
	add("smtp-port", "SMTP port (0 = 587, or 465 with smtp-tls=tls)", s, g)
	s, g = integer(func(c *Config) *int { return &c.UserSendsPerHour })
	add("user-sends-per-hour", "codes and links sent to one account per hour", s, g)
	s, g = integer(func(c *Config) *int { return &c.OrgSendsPerHour })
	add("org-sends-per-hour", "codes and links sent within one org per hour", s, g)
	s, g = boolean(func(c *Config) *bool { return &c.AdminMFARequired })
	add("admin-mfa-required", "require a second factor of every admin, whatever the org's policy", s, g)
	return f
}()

func envName(flagName string) string {
	return "TWOFOLD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Register adds every setting as a flag to fs and returns a function that
// completes the configuration after fs.Parse: it applies the config file
// (from --config or TWOFOLD_CONFIG), then environment variables, then the
// flags that were set explicitly, and validates the result.
func Register(fs *flag.FlagSet, getenv func(string) string) func() (Config, error) {
	explicit := map[string]string{}
	var configFile string
	fs.StringVar(&configFile, "config", "", "config file of TWOFOLD_*=value lines (env TWOFOLD_CONFIG)")
	def := Default()
	for _, f := range fields {
		f := f
		fs.Func(f.name, f.usage+" (env "+envName(f.name)+", default "+quoteDefault(f.get(&def))+")", func(v string) error {
			var probe Config
			if err := f.set(&probe, v); err != nil {
				return err
			}
			explicit[f.name] = v
			return nil
		})
	}
	return func() (Config, error) {
		c := Default()
		if configFile == "" {
			configFile = getenv("TWOFOLD_CONFIG")
		}
		if configFile != "" {
			vals, err := readEnvFile(configFile)
			if err != nil {
				return c, err
			}
			if err := apply(&c, func(name string) (string, bool) {
				v, ok := vals[envName(name)]
				return v, ok
			}, "config file "+configFile); err != nil {
				return c, err
			}
		}
		if err := apply(&c, func(name string) (string, bool) {
			v := getenv(envName(name))
			return v, v != ""
		}, "environment"); err != nil {
			return c, err
		}
		if err := apply(&c, func(name string) (string, bool) {
			v, ok := explicit[name]
			return v, ok
		}, "flag"); err != nil {
			return c, err
		}
		return c, c.Validate()
	}
}

func quoteDefault(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

func apply(c *Config, lookup func(string) (string, bool), from string) error {
	for _, f := range fields {
		if v, ok := lookup(f.name); ok {
			if err := f.set(c, v); err != nil {
				return fmt.Errorf("%s: %s: %w", from, envName(f.name), err)
			}
		}
	}
	return nil
}

// readEnvFile parses KEY=value lines; values may be wrapped in double quotes.
func readEnvFile(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("config file %s:%d: expected KEY=value", path, n)
		}
		k = strings.TrimSpace(k)
		if !strings.HasPrefix(k, "TWOFOLD_") {
			return nil, fmt.Errorf("config file %s:%d: unknown key %q", path, n, k)
		}
		v = strings.TrimSpace(v)
		if uq, err := strconv.Unquote(v); err == nil && strings.HasPrefix(v, `"`) {
			v = uq
		}
		out[k] = v
	}
	known := map[string]bool{"TWOFOLD_CONFIG": true}
	for _, f := range fields {
		known[envName(f.name)] = true
	}
	for k := range out {
		if !known[k] {
			return nil, fmt.Errorf("config file %s: unknown key %q", path, k)
		}
	}
	return out, sc.Err()
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.DatabaseURL == "" && c.DataDir == "" {
		errs = append(errs, errors.New("data-dir must be set when no database-url is given"))
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		errs = append(errs, errors.New("database-url must start with postgres:// (leave it empty for SQLite)"))
	}
	if c.Listen == "" {
		errs = append(errs, errors.New("listen must be set"))
	}
	if c.ArgonMemoryKiB < 19*1024 {
		errs = append(errs, errors.New("argon-memory-kib must be at least 19456 (19 MiB)"))
	}
	if c.ArgonTime < 1 || c.ArgonThreads < 1 {
		errs = append(errs, errors.New("argon-time and argon threads must be at least 1"))
	}
	if c.SessionIdle <= 0 || c.SessionAbsolute <= 0 || c.SessionIdle > c.SessionAbsolute {
		errs = append(errs, errors.New("session-idle and session-absolute must be positive, idle no longer than absolute"))
	}
	if c.FlowTTL < time.Minute || c.FlowTTL > 30*time.Minute {
		errs = append(errs, errors.New("flow-ttl must be between 1m and 30m"))
	}
	if c.LockoutThreshold < 1 || c.LockoutThreshold > 100 {
		errs = append(errs, errors.New("lockout-threshold must be between 1 and 100"))
	}
	if c.LockoutCooldown <= 0 {
		errs = append(errs, errors.New("lockout-cooldown must be positive"))
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		errs = append(errs, errors.New("log-format must be json or text"))
	}
	switch c.SMSProvider {
	case "", "twilio", "webhook":
	default:
		errs = append(errs, errors.New("sms-provider must be twilio, webhook or empty"))
	}
	if c.UserSendsPerHour < 1 || c.OrgSendsPerHour < 1 {
		errs = append(errs, errors.New("user-sends-per-hour and org-sends-per-hour must be at least 1"))
	}
	if c.TrustedProxies != "" {
		if _, err := clientip.ParsePrefixes(c.TrustedProxies); err != nil {
			errs = append(errs, fmt.Errorf("trusted-proxies: %w", err))
		}
	}
	if !strings.EqualFold(c.ProxyHeader, clientip.XForwardedFor) && !strings.EqualFold(c.ProxyHeader, clientip.Forwarded) {
		errs = append(errs, errors.New("proxy-header must be X-Forwarded-For or Forwarded"))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, errors.New("log-level must be debug, info, warn or error"))
	}
	return errors.Join(errs...)
}

// KeyFilePath returns the key file to use.
func (c Config) KeyFilePath() string {
	if c.KeyFile != "" {
		return c.KeyFile
	}
	return filepath.Join(c.DataDir, "secret.key")
}

// TrustedProxyPrefixes returns the proxies whose forwarding header is
// believed: the TrustedProxies list when it is set (whatever TrustProxy
// says), loopback when only TrustProxy is set, and none otherwise. A list
// that does not parse (Validate refuses it) trusts none.
func (c Config) TrustedProxyPrefixes() []netip.Prefix {
	if c.TrustedProxies != "" {
		p, err := clientip.ParsePrefixes(c.TrustedProxies)
		if err != nil {
			return nil
		}
		return p
	}
	if c.TrustProxy {
		return clientip.Loopback()
	}
	return nil
}

// SQLitePath returns the SQLite database file in the data directory.
func (c Config) SQLitePath() string { return filepath.Join(c.DataDir, "twofold.db") }

// BaseURL returns PublicURL, or http://Listen when it is not set.
func (c Config) BaseURL() string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	return "http://" + c.Listen
}
