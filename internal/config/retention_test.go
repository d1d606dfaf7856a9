package config

import (
	"testing"
	"time"
)

func TestAuditRetentionTakesDaysOrDurations(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want time.Duration
		bad  bool
	}{
		{"default is 400 days", nil, nil, 400 * 24 * time.Hour, false},
		{"days", []string{"--audit-retention", "90d"}, nil, 90 * 24 * time.Hour, false},
		{"a Go duration", nil, map[string]string{"TWOFOLD_AUDIT_RETENTION": "720h"}, 30 * 24 * time.Hour, false},
		{"0 keeps everything", []string{"--audit-retention", "0"}, nil, 0, false},
		{"less than a day is refused", []string{"--audit-retention", "1h"}, nil, 0, true},
		{"negative days are refused", []string{"--audit-retention", "-1d"}, nil, 0, true},
		{"words are refused", []string{"--audit-retention", "forever"}, nil, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := load(t, tc.args, tc.env)
			if tc.bad {
				if err == nil {
					t.Fatalf("accepted, retention %s", c.AuditRetention)
				}
				return
			}
			if err != nil || c.AuditRetention != tc.want {
				t.Fatalf("retention %s, %v; want %s", c.AuditRetention, err, tc.want)
			}
		})
	}
}

func TestServerTimeoutsHaveDefaultsAndMustBePositive(t *testing.T) {
	c, err := load(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.ReadHeaderTimeout != 10*time.Second || c.ReadTimeout != 30*time.Second || c.WriteTimeout != time.Minute || c.IdleTimeout != 2*time.Minute {
		t.Fatalf("timeouts = %s %s %s %s", c.ReadHeaderTimeout, c.ReadTimeout, c.WriteTimeout, c.IdleTimeout)
	}
	c, err = load(t, []string{"--read-header-timeout", "2s", "--idle-timeout", "30s"}, nil)
	if err != nil || c.ReadHeaderTimeout != 2*time.Second || c.IdleTimeout != 30*time.Second {
		t.Fatalf("set timeouts = %s %s, %v", c.ReadHeaderTimeout, c.IdleTimeout, err)
	}
	if _, err := load(t, []string{"--read-timeout", "0s"}, nil); err == nil {
		t.Fatal("a zero read timeout was accepted")
	}
}
