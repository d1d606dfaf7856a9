package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// field binds one setting to its flag name and environment variable.
type field struct {
	name   string // flag name; env is TWOFOLD_ + upper(name with - → _)
	usage  string
	secret bool // also read from a file: --NAME-file, TWOFOLD_…_FILE
	set    func(c *Config, v string) error
	get    func(c *Config) string
}

// A Setting describes one configuration setting, for documentation and
// for tools that check a config file.
type Setting struct {
	Flag    string // flag name without dashes, e.g. "smtp-password"
	Env     string // environment variable and config file key, e.g. "TWOFOLD_SMTP_PASSWORD"
	FileEnv string // for a secret: the key naming a file that holds it, e.g. "TWOFOLD_SMTP_PASSWORD_FILE"; "" otherwise
	Usage   string
	Default string // the default in the form the setting is written
}

// Settings returns every setting, in the order `twofold serve -h` lists them.
func Settings() []Setting {
	def := Default()
	out := make([]Setting, 0, len(fields))
	for _, f := range fields {
		s := Setting{Flag: f.name, Env: envName(f.name), Usage: f.usage, Default: f.get(&def)}
		if f.secret {
			s.FileEnv = fileEnvName(f.name)
		}
		out = append(out, s)
	}
	return out
}

func envName(flagName string) string {
	return "TWOFOLD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func fileEnvName(flagName string) string { return envName(flagName) + "_FILE" }

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

// fields is every setting. A new setting goes here, in Config, in
// deploy/twofold.env (a test keeps that file complete) and in the README.
var fields = func() []field {
	f := []field{}
	add := func(name, usage string, s func(*Config, string) error, g func(*Config) string) {
		f = append(f, field{name: name, usage: usage, set: s, get: g})
	}
	secret := func(name, usage string, p func(*Config) *string) {
		s, g := str(p)
		f = append(f, field{name: name, usage: usage, secret: true, set: s, get: g})
	}
	s, g := str(func(c *Config) *string { return &c.DataDir })
	add("data-dir", "directory for the SQLite database, key file and mail outbox", s, g)
	s, g = str(func(c *Config) *string { return &c.Listen })
	add("listen", "address to listen on", s, g)
	secret("database-url", "postgres:// URL; empty uses SQLite in the data directory", func(c *Config) *string { return &c.DatabaseURL })
	s, g = str(func(c *Config) *string { return &c.PublicURL })
	add("public-url", "external URL of the server, used in links (default http://LISTEN)", s, g)
	s, g = str(func(c *Config) *string { return &c.CookieDomain })
	add("cookie-domain", "parent domain for the session cookie, e.g. example.com, so forward-auth proxies of apps below it receive it; empty keeps the __Host- cookie", s, g)
	s, g = str(func(c *Config) *string { return &c.WebAuthnRPID })
	add("webauthn-rp-id", "relying party id of security keys and passkeys: the public URL's host or a domain it is under (default: the public URL's host)", s, g)
	secret("secret-key", "encryption keys inline (keyid:base64 lines); prefer --key-file or --secret-key-file", func(c *Config) *string { return &c.SecretKey })
	s, g = str(func(c *Config) *string { return &c.KeyFile })
	add("key-file", "file holding the encryption keys, created on first start and rotated by `twofold keys rotate` (default DATA_DIR/secret.key)", s, g)
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
	s, g = dur(func(c *Config) *time.Duration { return &c.InvitationTTL })
	add("invitation-ttl", "how long an invitation link works (1h to 2160h)", s, g)
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
		{"smtp-from", "sender address of mails", func(c *Config) *string { return &c.SMTPFrom }},
		{"smtp-tls", "starttls, opportunistic, tls or none (none only to a loopback host)", func(c *Config) *string { return &c.SMTPTLS }},
		{"sms-provider", "twilio, webhook, or empty for no text messages", func(c *Config) *string { return &c.SMSProvider }},
		{"twilio-account-sid", "Twilio account SID", func(c *Config) *string { return &c.TwilioAccountSID }},
		{"twilio-from", "sending number or messaging service SID", func(c *Config) *string { return &c.TwilioFrom }},
		{"twilio-base-url", "base URL of a Twilio-compatible API", func(c *Config) *string { return &c.TwilioBaseURL }},
		{"sms-webhook-url", "URL that receives text messages as signed JSON", func(c *Config) *string { return &c.SMSWebhookURL }},
	} {
		s, g = str(sf.p)
		add(sf.name, sf.usage, s, g)
	}
	secret("smtp-password", "SMTP AUTH password (prefer --smtp-password-file)", func(c *Config) *string { return &c.SMTPPassword })
	secret("twilio-auth-token", "Twilio auth token (prefer --twilio-auth-token-file)", func(c *Config) *string { return &c.TwilioAuthToken })
	secret("sms-webhook-secret", "HMAC key for the webhook signature, at least 16 bytes (prefer --sms-webhook-secret-file)", func(c *Config) *string { return &c.SMSWebhookSecret })
	s, g = integer(func(c *Config) *int { return &c.SMTPPort })
	add("smtp-port", "SMTP port (0 = 587, or 465 with smtp-tls=tls)", s, g)
	s, g = integer(func(c *Config) *int { return &c.UserSendsPerHour })
	add("user-sends-per-hour", "codes and links sent to one account per hour", s, g)
	s, g = integer(func(c *Config) *int { return &c.OrgSendsPerHour })
	add("org-sends-per-hour", "codes and links sent within one org per hour", s, g)
	s, g = boolean(func(c *Config) *bool { return &c.AdminMFARequired })
	add("admin-mfa-required", "require a second factor of every admin, whatever the org's policy", s, g)
	s, g = str(func(c *Config) *string { return &c.MetricsListen })
	add("metrics-listen", "address of a separate listener for Prometheus /metrics (empty = no metrics; never the public port)", s, g)
	s, g = str(func(c *Config) *string { return &c.OTelEndpoint })
	add("otel-endpoint", "OpenTelemetry OTLP/HTTP endpoint for traces, e.g. http://127.0.0.1:4318 (empty = no tracing)", s, g)
	for _, tf := range []struct {
		name, usage string
		p           func(*Config) *time.Duration
	}{
		{"read-header-timeout", "time a client has to send a request's headers", func(c *Config) *time.Duration { return &c.ReadHeaderTimeout }},
		{"read-timeout", "time a client has to send a whole request", func(c *Config) *time.Duration { return &c.ReadTimeout }},
		{"write-timeout", "time to write an answer", func(c *Config) *time.Duration { return &c.WriteTimeout }},
		{"idle-timeout", "how long an idle keep-alive connection stays open", func(c *Config) *time.Duration { return &c.IdleTimeout }},
	} {
		s, g = dur(tf.p)
		add(tf.name, tf.usage, s, g)
	}
	s, g = days(func(c *Config) *time.Duration { return &c.AuditRetention })
	add("audit-retention", "how long audit events are kept, e.g. 400d or 9600h (0 keeps them forever)", s, g)
	s, g = integer(func(c *Config) *int { return &c.DBMaxConns })
	add("db-max-conns", "PostgreSQL connections this instance keeps at most (the sum over instances must stay below the server's max_connections)", s, g)
	secret("redis-url", "redis:// URL of a Redis that keeps the per-address request limits shared by every instance (empty keeps them in PostgreSQL, or in memory with SQLite)", func(c *Config) *string { return &c.RedisURL })
	s, g = dur(func(c *Config) *time.Duration { return &c.DrainDelay })
	add("drain-delay", "on SIGTERM, how long to keep serving with /readyz answering 503 before in-flight requests are drained (e.g. 10s behind a load balancer)", s, g)
	s, g = days(func(c *Config) *time.Duration { return &c.OIDCKeyRotation })
	add("oidc-key-rotation", "how often the OpenID Connect signing keys are replaced, e.g. 30d; a new key is published an hour before it signs (0 = only by hand)", s, g)
	s, g = dur(func(c *Config) *time.Duration { return &c.DirectoryTimeout })
	add("directory-timeout", "limit for each dial and operation against an org's LDAP directory, and for waiting for a free connection", s, g)
	s, g = integer(func(c *Config) *int { return &c.DirectoryMaxConns })
	add("directory-max-conns", "directory operations at once over all orgs; more wait up to directory-timeout, then get directory_unavailable", s, g)
	s, g = integer(func(c *Config) *int { return &c.DirectoryMaxIdle })
	add("directory-max-idle", "idle directory connections kept per org", s, g)
	return f
}()

// days is dur that also takes whole days ("400d") and prints them so.
func days(p func(*Config) *time.Duration) (func(*Config, string) error, func(*Config) string) {
	return func(c *Config, v string) error {
			if n, ok := strings.CutSuffix(v, "d"); ok {
				d, err := strconv.Atoi(n)
				if err != nil || d < 0 || d > 100*366 {
					return fmt.Errorf("%q is not a number of days", v)
				}
				*p(c) = time.Duration(d) * 24 * time.Hour
				return nil
			}
			d, err := time.ParseDuration(v)
			if err != nil {
				return err
			}
			*p(c) = d
			return nil
		},
		func(c *Config) string {
			if d := *p(c); d%(24*time.Hour) == 0 && d > 0 {
				return strconv.Itoa(int(d/(24*time.Hour))) + "d"
			}
			return p(c).String()
		}
}
