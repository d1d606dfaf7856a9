package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Severity ranks a Problem.
type Severity int

// Severities, most severe first.
const (
	// Error: the server refuses to start with this configuration.
	Error Severity = iota
	// Insecure: it starts, but secrets or sessions would be exposed.
	Insecure
	// Warning: worth a look; nothing is wrong for certain.
	Warning
)

func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Insecure:
		return "insecure"
	}
	return "warning"
}

// A Problem is one thing wrong with a configuration. Key names the setting
// at fault (TWOFOLD_…) when there is one; Message says what is wrong and
// what to do, and never contains a secret's value.
type Problem struct {
	Severity Severity
	Key      string
	Message  string
}

func (p Problem) Error() string { return p.Message }

// joinErrors returns the problems of severity Error as one error, or nil.
func joinErrors(probs []Problem) error {
	var errs []error
	for _, p := range probs {
		if p.Severity == Error {
			errs = append(errs, p)
		}
	}
	return errors.Join(errs...)
}

// Insecure returns the combinations of settings that work but expose
// passwords, codes or sessions, and the warnings about settings that
// weaken the defaults. The server logs them at start; `twofold config
// check` fails on those of severity Insecure.
func (c Config) Insecure() []Problem { return c.insecure() }

func (c Config) insecure() []Problem {
	var probs []Problem
	add := func(sev Severity, key, format string, args ...any) {
		probs = append(probs, Problem{Severity: sev, Key: key, Message: fmt.Sprintf(format, args...)})
	}
	if c.SMTPHost != "" && !isLoopbackHost(c.SMTPHost) {
		switch c.SMTPTLS {
		case "none":
			add(Insecure, "TWOFOLD_SMTP_TLS", "smtp-tls=none sends mail, codes and the SMTP password in plain text to %s, which is not this machine "+
				"(the server refuses to start with it): use starttls or tls", c.SMTPHost)
		case "opportunistic":
			add(Warning, "TWOFOLD_SMTP_TLS", "smtp-tls=opportunistic falls back to plain text when %s does not offer STARTTLS, "+
				"and anyone on the path can remove the offer: use starttls or tls", c.SMTPHost)
		}
	}
	if base := c.BaseURL(); strings.HasPrefix(base, "http://") {
		if host, _, err := net.SplitHostPort(c.Listen); err == nil && !isLoopbackHost(host) {
			where := c.Listen
			if host == "" || host == "0.0.0.0" || host == "::" {
				where += " (every interface)"
			}
			add(Insecure, "TWOFOLD_PUBLIC_URL", "the server listens on %s but its public URL is %s: passwords, codes and session cookies "+
				"would cross the network unencrypted. Serve it over TLS (a reverse proxy in front) and set public-url to https://…, "+
				"or listen on 127.0.0.1 only", where, base)
		} else if u, err := url.Parse(base); err == nil && !isLoopbackHost(u.Hostname()) {
			add(Warning, "TWOFOLD_PUBLIC_URL", "public-url %s is not https://: session cookies lose the Secure flag and the __Host- prefix", base)
		}
	}
	for _, u := range []struct{ key, value string }{
		{"TWOFOLD_SMS_WEBHOOK_URL", c.SMSWebhookURL}, {"TWOFOLD_TWILIO_BASE_URL", c.TwilioBaseURL},
	} {
		if pu, err := url.Parse(u.value); u.value != "" && err == nil && pu.Scheme == "http" && !isLoopbackHost(pu.Hostname()) {
			add(Insecure, u.key, "%s is http:// to %s, which is not this machine: text-message codes would travel unencrypted; use https://",
				u.key, pu.Hostname())
		}
	}
	if c.DatabaseURL != "" {
		if pu, err := url.Parse(c.DatabaseURL); err == nil && pu.Query().Get("sslmode") == "disable" && !isLoopbackHost(pu.Hostname()) {
			add(Warning, "TWOFOLD_DATABASE_URL", "the database URL has sslmode=disable for %s, which is not this machine: "+
				"use sslmode=verify-full unless the network between them is private", pu.Hostname())
		}
	}
	if c.MetricsListen != "" {
		if host, _, err := net.SplitHostPort(c.MetricsListen); err == nil && !isLoopbackHost(host) {
			add(Warning, "TWOFOLD_METRICS_LISTEN", "metrics are served without authentication on %s: make sure only Prometheus can reach it",
				c.MetricsListen)
		}
	}
	if !c.AdminMFARequired {
		add(Warning, "TWOFOLD_ADMIN_MFA_REQUIRED", "admin-mfa-required=false: admins sign in without a second factor unless their org requires one")
	}
	if c.CookieDomain != "" {
		add(Warning, "TWOFOLD_COOKIE_DOMAIN", "cookie-domain=%s: every host under %s receives the session cookie (and the apps behind "+
			"forward-auth see it in their requests); any of them can use it, or plant its own: set it only for a domain whose hosts "+
			"you all trust (docs/forward-auth.md)", c.CookieDomain, c.CookieDomain)
	}
	if c.SecretKey != "" && c.KeyFile != "" {
		add(Warning, "TWOFOLD_KEY_FILE", "both secret-key and key-file are set: the keys come from secret-key and key-file is not read")
	}
	return probs
}

// isLoopbackHost reports whether host names this machine: localhost or a
// loopback address. An empty host (every interface) is not loopback.
func isLoopbackHost(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
