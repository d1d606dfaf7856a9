// Package config holds Twofold's configuration: its defaults, how flags,
// TWOFOLD_* environment variables and an optional config file combine, and
// validation.
//
// Precedence, highest first: command-line flags, environment variables, the
// config file, defaults. The config file uses the systemd EnvironmentFile
// format (KEY=value lines with TWOFOLD_* keys, # comments), so the same file
// can serve both `twofold --config FILE` and a systemd unit.
//
// Every secret setting can also be read from a file (TWOFOLD_SMTP_PASSWORD_FILE,
// --smtp-password-file, …), so secrets need not appear in the process list
// or the environment; setting both a secret and its file is an error.
// Check reports everything wrong with a configuration at once, including
// combinations that work but are insecure.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
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
	// CookieDomain scopes the session cookie to a parent domain (e.g.
	// example.com) so that forward-auth proxies of apps on its subdomains
	// receive it. Empty (the default) keeps the __Host- cookie, bound to
	// the portal's host alone.
	CookieDomain string
	// WebAuthnRPID is the relying party id of security keys and passkeys: the
	// public URL's host when empty, or a registrable suffix of it
	// (example.com for id.example.com) so keys work across its subdomains.
	WebAuthnRPID string
	SecretKey    string // TWOFOLD_SECRET_KEY: keys inline (see secretbox.FromEnv)
	KeyFile      string // key file; default DataDir/secret.key
	LogLevel     string // debug, info, warn, error
	LogFormat    string // json or text

	// Password hashing (argon2id).
	ArgonMemoryKiB  uint32
	ArgonTime       uint32
	ArgonThreads    uint8
	HashConcurrency int // 0 = number of CPUs

	SessionIdle     time.Duration
	SessionAbsolute time.Duration
	FlowTTL         time.Duration // how long a sign-in flow waits for the second step
	InvitationTTL   time.Duration // how long an invitation link works

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

	// Observability.
	MetricsListen string // host:port of the Prometheus listener; empty = no metrics
	OTelEndpoint  string // OTLP/HTTP endpoint for traces; empty = no tracing

	// HTTP server timeouts: for reading a request's headers, the whole
	// request, writing the answer, and an idle keep-alive connection. They
	// keep slow clients (slowloris) from holding connections.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration

	// AuditRetention is how long audit events are kept; older ones are
	// deleted by the background sweep. 0 keeps them forever.
	AuditRetention time.Duration

	// DBMaxConns is the size of the PostgreSQL connection pool of this
	// instance (pgx's own default is 4, or the CPU count, which starves
	// sign-ins under load).
	DBMaxConns int
	// RedisURL (redis://…) keeps the per-address request limits in Redis,
	// shared by every instance using it. Without it they are kept in
	// PostgreSQL (shared likewise) or, with SQLite, in memory.
	RedisURL string
	// DrainDelay is how long a stopping instance keeps serving with
	// /readyz answering 503, so that load balancers take it out of
	// rotation before it stops accepting connections.
	DrainDelay time.Duration
	// OIDCKeyRotation is how often the OpenID Connect signing keys are
	// replaced on a schedule (a new key is announced an hour before it
	// signs). 0 rotates only by hand (twofold keys rotate-signing).
	OIDCKeyRotation time.Duration

	// DirectoryTimeout bounds each dial and operation against an org's
	// directory and the wait for a free connection; DirectoryMaxConns is
	// how many directory operations run at once (over all orgs), and
	// DirectoryMaxIdle how many idle connections are kept per org.
	DirectoryTimeout  time.Duration
	DirectoryMaxConns int
	DirectoryMaxIdle  int
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
		InvitationTTL:    7 * 24 * time.Hour,
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

		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		AuditRetention:    400 * 24 * time.Hour,
		DBMaxConns:        32,

		OIDCKeyRotation: 30 * 24 * time.Hour,

		DirectoryTimeout:  5 * time.Second,
		DirectoryMaxConns: 8,
		DirectoryMaxIdle:  2,
	}
}

// Validate reports every setting that cannot work.
func (c Config) Validate() error { return errors.Join(c.validate()...) }

func (c Config) validate() []error {
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
	if c.InvitationTTL < time.Hour || c.InvitationTTL > 90*24*time.Hour {
		errs = append(errs, errors.New("invitation-ttl must be between 1h and 2160h (90 days)"))
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
	if c.ReadHeaderTimeout <= 0 || c.ReadTimeout <= 0 || c.WriteTimeout <= 0 || c.IdleTimeout <= 0 {
		errs = append(errs, errors.New("read-header-timeout, read-timeout, write-timeout and idle-timeout must be positive"))
	}
	if c.DBMaxConns < 1 || c.DBMaxConns > 1000 {
		errs = append(errs, errors.New("db-max-conns must be between 1 and 1000"))
	}
	if c.RedisURL != "" && !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") && !strings.HasPrefix(c.RedisURL, "unix://") {
		errs = append(errs, errors.New("redis-url must start with redis://, rediss:// or unix://"))
	}
	if c.DrainDelay < 0 || c.DrainDelay > 5*time.Minute {
		errs = append(errs, errors.New("drain-delay must be between 0 and 5m"))
	}
	if c.AuditRetention < 0 || c.AuditRetention > 0 && c.AuditRetention < 24*time.Hour {
		errs = append(errs, errors.New("audit-retention must be 0 (keep forever) or at least 1d"))
	}
	if c.OIDCKeyRotation < 0 || c.OIDCKeyRotation > 0 && c.OIDCKeyRotation < 24*time.Hour {
		errs = append(errs, errors.New("oidc-key-rotation must be 0 (by hand only) or at least 1d"))
	}
	if c.DirectoryTimeout < time.Second || c.DirectoryTimeout > 5*time.Minute {
		errs = append(errs, errors.New("directory-timeout must be between 1s and 5m"))
	}
	if c.DirectoryMaxConns < 1 || c.DirectoryMaxIdle < 0 || c.DirectoryMaxIdle > c.DirectoryMaxConns {
		errs = append(errs, errors.New("directory-max-conns must be at least 1, and directory-max-idle between 0 and directory-max-conns"))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, errors.New("log-level must be debug, info, warn or error"))
	}
	switch c.SMTPTLS {
	case "starttls", "opportunistic", "tls", "none":
	default:
		errs = append(errs, errors.New("smtp-tls must be starttls, opportunistic, tls or none"))
	}
	if c.SMTPPort < 0 || c.SMTPPort > 65535 {
		errs = append(errs, errors.New("smtp-port must be between 0 and 65535"))
	}
	if c.HashConcurrency < 0 {
		errs = append(errs, errors.New("hash-concurrency must be 0 (CPU count) or more"))
	}
	if c.ReauthWindow <= 0 {
		errs = append(errs, errors.New("reauth-window must be positive"))
	}
	if c.WebAuthnRPID != "" {
		host := strings.ToLower(c.WebAuthnRPID)
		if u, err := url.Parse(c.BaseURL()); err != nil || (u.Hostname() != host && !strings.HasSuffix(u.Hostname(), "."+host)) {
			errs = append(errs, fmt.Errorf("webauthn-rp-id %q must be the public URL's host or a domain it is under", c.WebAuthnRPID))
		}
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			errs = append(errs, errors.New("public-url must be an http:// or https:// URL without query, fragment or user, e.g. https://id.example.com"))
		}
	}
	if c.CookieDomain != "" {
		if err := c.checkCookieDomain(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			errs = append(errs, fmt.Errorf("metrics-listen must be host:port: %w", err))
		} else if c.MetricsListen == c.Listen {
			errs = append(errs, errors.New("metrics-listen must differ from listen: metrics are never served on the public port"))
		}
	}
	if c.OTelEndpoint != "" {
		if u, err := url.Parse(c.OTelEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, errors.New("otel-endpoint must be an http:// or https:// URL of an OTLP/HTTP receiver, e.g. http://127.0.0.1:4318"))
		}
	}
	return errs
}

// checkCookieDomain checks that the cookie domain is a domain name (no
// scheme, port, leading dot or IP address) and that the portal's own host
// lies in it, or browsers would refuse the cookie.
func (c Config) checkCookieDomain() error {
	d := c.CookieDomain
	if strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") || !strings.Contains(d, ".") || strings.ContainsAny(d, ":/@ \\") ||
		net.ParseIP(d) != nil || strings.ToLower(d) != d {
		return errors.New("cookie-domain must be a lower-case domain name such as example.com (no scheme, port, leading dot or IP address)")
	}
	u, err := url.Parse(c.BaseURL())
	if err != nil {
		return nil // public-url's own check reports it
	}
	host := strings.ToLower(u.Hostname())
	if host != d && !strings.HasSuffix(host, "."+d) {
		return fmt.Errorf("cookie-domain %s must be the portal's host %s or a parent of it", d, host)
	}
	return nil
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
