package config

import (
	"flag"
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
