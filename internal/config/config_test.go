package config

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, args []string, env map[string]string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	done := Register(fs, func(k string) string { return env[k] })
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	return done()
}

func TestDefaultsAreTheEmbeddedSetup(t *testing.T) {
	c, err := load(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "./twofold-data" || c.Listen != "127.0.0.1:8080" || c.DatabaseURL != "" || c.ArgonMemoryKiB != 19456 || c.ArgonTime != 2 {
		t.Fatalf("defaults = %+v", c)
	}
	if c.SQLitePath() != filepath.Join("twofold-data", "twofold.db") {
		t.Fatalf("SQLitePath = %q", c.SQLitePath())
	}
}

func TestFlagsBeatEnvironmentWhichBeatsTheConfigFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "twofold.env")
	os.WriteFile(file, []byte("# comment\nTWOFOLD_LISTEN=127.0.0.1:7000\nTWOFOLD_SESSION_IDLE=\"30m\"\nTWOFOLD_DATA_DIR=/from/file\n"), 0o600)
	c, err := load(t, []string{"--config", file, "--data-dir", "/from/flag"}, map[string]string{"TWOFOLD_LISTEN": "127.0.0.1:9000"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9000" || c.DataDir != "/from/flag" || c.SessionIdle != 30*time.Minute {
		t.Fatalf("listen=%q data=%q idle=%s", c.Listen, c.DataDir, c.SessionIdle)
	}
}

func TestTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"nothing set trusts no proxy", nil, nil, "[]"},
		{"trust-proxy alone trusts loopback", []string{"--trust-proxy", "true"}, nil, "[127.0.0.0/8 ::1/128]"},
		{"TWOFOLD_TRUST_PROXY alone trusts loopback", nil, map[string]string{"TWOFOLD_TRUST_PROXY": "true"}, "[127.0.0.0/8 ::1/128]"},
		{"trusted-proxies replaces loopback", []string{"--trust-proxy=true", "--trusted-proxies", "10.0.0.0/8, 192.0.2.7"}, nil, "[10.0.0.0/8 192.0.2.7/32]"},
		{"trusted-proxies implies trust", nil, map[string]string{"TWOFOLD_TRUSTED_PROXIES": "2001:db8::/32"}, "[2001:db8::/32]"},
		{"trust-proxy=false does not turn a list off", []string{"--trust-proxy=false", "--trusted-proxies", "10.0.0.1"}, nil, "[10.0.0.1/32]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := load(t, tc.args, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(c.TrustedProxyPrefixes()); got != tc.want {
				t.Fatalf("TrustedProxyPrefixes = %s, want %s", got, tc.want)
			}
		})
	}
	c, err := load(t, []string{"--proxy-header", "forwarded"}, nil)
	if err != nil || c.ProxyHeader != "forwarded" {
		t.Fatalf("--proxy-header forwarded: %q, %v", c.ProxyHeader, err)
	}
	if c, _ := load(t, nil, nil); c.ProxyHeader != "X-Forwarded-For" {
		t.Fatalf("default proxy-header = %q", c.ProxyHeader)
	}
	// A list Validate would refuse trusts nobody if it is used anyway.
	if p := (Config{TrustProxy: true, TrustedProxies: "::/0"}).TrustedProxyPrefixes(); p != nil {
		t.Fatalf("unparsable list trusts %v", p)
	}
}

func TestCookieDomainIsAParentOfThePortal(t *testing.T) {
	for _, d := range []string{"example.com", "id.example.com"} {
		if _, err := load(t, []string{"--public-url", "https://id.example.com", "--cookie-domain", d}, nil); err != nil {
			t.Errorf("cookie-domain %s: %v", d, err)
		}
	}
}

func TestBadSettingsAreRefusedWithTheirName(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--argon-memory-kib", "1024"}, nil, "argon-memory-kib"},
		{nil, map[string]string{"TWOFOLD_DATABASE_URL": "mysql://x"}, "database-url"},
		{nil, map[string]string{"TWOFOLD_SESSION_IDLE": "soon"}, "TWOFOLD_SESSION_IDLE"},
		{[]string{"--session-idle", "48h"}, nil, "session-idle"},
		{[]string{"--lockout-threshold", "1000"}, nil, "lockout-threshold"},
		{[]string{"--sms-provider", "carrier-pigeon"}, nil, "sms-provider"},
		{[]string{"--trusted-proxies", "10.0.0.0/8,proxy.internal"}, nil, "trusted-proxies"},
		{nil, map[string]string{"TWOFOLD_TRUSTED_PROXIES": "0.0.0.0/0"}, "trusted-proxies"},
		{nil, map[string]string{"TWOFOLD_TRUSTED_PROXIES": "10.1.2.3/8"}, "did you mean 10.0.0.0/8"},
		{[]string{"--proxy-header", "X-Real-IP"}, nil, "proxy-header"},
		{nil, map[string]string{"TWOFOLD_TRUST_PROXY": "yes please"}, "TWOFOLD_TRUST_PROXY"},
		{[]string{"--public-url", "https://id.example.com", "--cookie-domain", ".example.com"}, nil, "cookie-domain"},
		{[]string{"--public-url", "https://id.example.com", "--cookie-domain", "https://example.com"}, nil, "cookie-domain"},
		{[]string{"--public-url", "https://id.example.com", "--cookie-domain", "com"}, nil, "cookie-domain"},
		{[]string{"--public-url", "https://id.example.com", "--cookie-domain", "other.example"}, nil, "parent of it"},
		{[]string{"--public-url", "https://id.example.com", "--cookie-domain", "wiki.example.com"}, nil, "parent of it"},
	} {
		_, err := load(t, tc.args, tc.env)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: err = %v, want one naming %s", tc.args, tc.env, err, tc.want)
		}
	}
	file := filepath.Join(t.TempDir(), "bad.env")
	os.WriteFile(file, []byte("TWOFOLD_LISTN=typo\n"), 0o600)
	if _, err := load(t, []string{"--config", file}, nil); err == nil || !strings.Contains(err.Error(), "TWOFOLD_LISTN") {
		t.Errorf("unknown key in the config file: err = %v", err)
	}
}

func TestWebAuthnRPIDMustCoverThePublicURL(t *testing.T) {
	for _, tc := range []struct {
		rpID string
		ok   bool
	}{{"", true}, {"id.example.com", true}, {"example.com", true}, {"ample.com", false}, {"evil.test", false}} {
		c := Default()
		c.PublicURL, c.WebAuthnRPID = "https://id.example.com", tc.rpID
		if err := c.Validate(); (err == nil) != tc.ok {
			t.Errorf("webauthn-rp-id %q: Validate() = %v, want ok=%v", tc.rpID, err, tc.ok)
		}
	}
}
