package config

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// check runs Check over args, env and environ (nil = none).
func check(t *testing.T, args []string, env map[string]string, environ []string) (Config, []Problem) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	l := NewLoader(fs, func(k string) string { return env[k] }, func() []string { return environ })
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return l.Check()
}

// problem returns the first problem naming want, or fails.
func problem(t *testing.T, probs []Problem, want string) Problem {
	t.Helper()
	for _, p := range probs {
		if strings.Contains(p.Message, want) {
			return p
		}
	}
	t.Fatalf("no problem mentions %q in %v", want, probs)
	return Problem{}
}

func TestCheckReportsInsecureCombinations(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		sev  Severity
		want string
	}{
		{"plain SMTP to another host", map[string]string{"TWOFOLD_SMTP_HOST": "smtp.example.com", "TWOFOLD_SMTP_TLS": "none"}, Insecure, "plain text to smtp.example.com"},
		{"opportunistic SMTP to another host", map[string]string{"TWOFOLD_SMTP_HOST": "192.0.2.25", "TWOFOLD_SMTP_TLS": "opportunistic"}, Warning, "STARTTLS"},
		{"http public URL on every interface", map[string]string{"TWOFOLD_LISTEN": ":8080"}, Insecure, ":8080 (every interface)"},
		{"http public URL on a public address", map[string]string{"TWOFOLD_LISTEN": "192.0.2.1:80", "TWOFOLD_PUBLIC_URL": "http://id.example.com"}, Insecure, "unencrypted"},
		{"http public URL naming another host", map[string]string{"TWOFOLD_PUBLIC_URL": "http://id.example.com"}, Warning, "Secure flag"},
		{"plain webhook to another host", map[string]string{"TWOFOLD_SMS_WEBHOOK_URL": "http://sms.example.com/send"}, Insecure, "TWOFOLD_SMS_WEBHOOK_URL is http://"},
		{"database without TLS across the network", map[string]string{"TWOFOLD_DATABASE_URL": "postgres://db.example.com/x?sslmode=disable"}, Warning, "sslmode=disable"},
		{"admins without a second factor", map[string]string{"TWOFOLD_ADMIN_MFA_REQUIRED": "false"}, Warning, "admin-mfa-required=false"},
		{"metrics open to the network", map[string]string{"TWOFOLD_METRICS_LISTEN": ":9090"}, Warning, "without authentication"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, probs := check(t, nil, tc.env, nil)
			if p := problem(t, probs, tc.want); p.Severity != tc.sev {
				t.Fatalf("%q is %s, want %s", p.Message, p.Severity, tc.sev)
			}
		})
	}
}

func TestCheckAcceptsWhatIsSafe(t *testing.T) {
	for _, env := range []map[string]string{
		nil, // the defaults: loopback, http://127.0.0.1:8080
		{"TWOFOLD_SMTP_HOST": "localhost", "TWOFOLD_SMTP_TLS": "none", "TWOFOLD_SMTP_PORT": "1025"},
		{"TWOFOLD_LISTEN": ":8080", "TWOFOLD_PUBLIC_URL": "https://id.example.com"},
		{"TWOFOLD_LISTEN": "[::1]:8080"},
		{"TWOFOLD_DATABASE_URL": "postgres://postgres@127.0.0.1:5432/x?sslmode=disable", "TWOFOLD_SECRET_KEY": "k1:AAAA"},
		{"TWOFOLD_METRICS_LISTEN": "127.0.0.1:9090"},
	} {
		if _, probs := check(t, nil, env, nil); len(probs) > 0 {
			t.Errorf("%v: %v", env, probs)
		}
	}
}

func TestCheckListsEveryErrorAtOnce(t *testing.T) {
	file := filepath.Join(t.TempDir(), "twofold.env")
	os.WriteFile(file, []byte("TWOFOLD_LISTN=127.0.0.1:1\nTWOFOLD_FLOW_TTL=forever\nnot a line\nTWOFOLD_SESSION_IDLE='30m'\n"), 0o600)
	c, probs := check(t, []string{"--config", file, "--argon-memory-kib", "1024"}, map[string]string{"TWOFOLD_LOG_FORMAT": "xml"},
		[]string{"TWOFOLD_SMTP_PASWORD=x", "TWOFOLD_TEST_POSTGRES_DSN=postgres://", "PATH=/bin"})
	for _, want := range []string{
		`unknown key "TWOFOLD_LISTN" (did you mean TWOFOLD_LISTEN?)`,
		"TWOFOLD_FLOW_TTL",
		":3: expected KEY=value",
		"argon-memory-kib must be at least 19456",
		"log-format must be json or text",
	} {
		if p := problem(t, probs, want); p.Severity != Error {
			t.Errorf("%q is %s, want error", p.Message, p.Severity)
		}
	}
	if p := problem(t, probs, "TWOFOLD_SMTP_PASWORD is ignored (did you mean TWOFOLD_SMTP_PASSWORD?)"); p.Severity != Warning {
		t.Errorf("unknown environment variable: %s", p.Severity)
	}
	for _, p := range probs {
		if strings.Contains(p.Message, "TEST_POSTGRES") {
			t.Errorf("a test variable is reported: %s", p.Message)
		}
	}
	if c.SessionIdle.String() != "30m0s" {
		t.Errorf("single-quoted value: session idle = %s", c.SessionIdle)
	}
	for i := 1; i < len(probs); i++ {
		if probs[i].Severity < probs[i-1].Severity {
			t.Fatalf("problems are not sorted most severe first: %v", probs)
		}
	}
}

func TestEverySecretCanComeFromAFile(t *testing.T) {
	dir := t.TempDir()
	secrets := map[string]string{ // setting → a value it accepts
		"smtp-password":      "mail pass word",
		"secret-key":         "k1:AAAA\nk0:BBBB",
		"twilio-auth-token":  "0123456789abcdef",
		"sms-webhook-secret": "a webhook secret of 32 bytes....",
		"database-url":       "postgres://twofold:pw@db.internal/twofold",
		"redis-url":          "redis://:pw@cache.internal:6379/0",
	}
	get := map[string]func(Config) string{
		"smtp-password":      func(c Config) string { return c.SMTPPassword },
		"secret-key":         func(c Config) string { return c.SecretKey },
		"twilio-auth-token":  func(c Config) string { return c.TwilioAuthToken },
		"sms-webhook-secret": func(c Config) string { return c.SMSWebhookSecret },
		"database-url":       func(c Config) string { return c.DatabaseURL },
		"redis-url":          func(c Config) string { return c.RedisURL },
	}
	for _, s := range Settings() {
		if s.FileEnv == "" {
			continue
		}
		want, ok := secrets[s.Flag]
		if !ok {
			t.Fatalf("secret %s has no case in this test", s.Flag)
		}
		path := filepath.Join(dir, s.Flag)
		os.WriteFile(path, []byte(want+"\r\n\n"), 0o600) // trailing line breaks are not part of it
		conf := filepath.Join(dir, s.Flag+".env")
		os.WriteFile(conf, []byte(s.FileEnv+"="+path+"\n"), 0o600)
		for _, way := range []struct {
			name string
			args []string
			env  map[string]string
		}{
			{"environment", nil, map[string]string{s.FileEnv: path}},
			{"flag", []string{"--" + s.Flag + "-file", path}, nil},
			{"config file", []string{"--config", conf}, nil},
		} {
			c, err := load(t, way.args, way.env)
			if err != nil {
				t.Errorf("%s by %s: %v", s.FileEnv, way.name, err)
				continue
			}
			if got := get[s.Flag](c); got != want {
				t.Errorf("%s by %s: got %q, want %q", s.FileEnv, way.name, got, want)
			}
		}
		// A value and a file is an error, whichever layers they come from.
		_, err := load(t, []string{"--" + s.Flag + "-file", path}, map[string]string{s.Env: want})
		if err == nil || !strings.Contains(err.Error(), "not both") || strings.Contains(err.Error(), want) {
			t.Errorf("%s and %s: err = %v", s.Env, s.FileEnv, err)
		}
		_, err = load(t, []string{"--config", conf, "--" + s.Flag, want}, nil)
		if err == nil || !strings.Contains(err.Error(), "not both") {
			t.Errorf("%s in the file and --%s: err = %v", s.FileEnv, s.Flag, err)
		}
		// A missing or empty file is an error naming the setting.
		if _, err := load(t, nil, map[string]string{s.FileEnv: filepath.Join(dir, "missing")}); err == nil || !strings.Contains(err.Error(), s.FileEnv) {
			t.Errorf("%s names a missing file: err = %v", s.FileEnv, err)
		}
		empty := filepath.Join(dir, "empty")
		os.WriteFile(empty, []byte("\n"), 0o600)
		if _, err := load(t, nil, map[string]string{s.FileEnv: empty}); err == nil || !strings.Contains(err.Error(), "empty") {
			t.Errorf("%s names an empty file: err = %v", s.FileEnv, err)
		}
	}
	for _, want := range []string{"TWOFOLD_SMTP_PASSWORD_FILE", "TWOFOLD_SECRET_KEY_FILE", "TWOFOLD_TWILIO_AUTH_TOKEN_FILE",
		"TWOFOLD_SMS_WEBHOOK_SECRET_FILE", "TWOFOLD_DATABASE_URL_FILE"} {
		if !knownKeys()[want] {
			t.Errorf("%s is not a setting", want)
		}
	}
}
