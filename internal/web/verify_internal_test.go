package web

import (
	"slices"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/factor/totp"
	"github.com/twofold-id/twofold/internal/signin"
)

func TestVerifyPagePicksTheMethod(t *testing.T) {
	for _, tc := range []struct {
		name       string
		methods    []string
		asked      string
		wantMethod string
		wantChoose bool
		wantNone   bool
		wantBackup bool
	}{
		{name: "app only/asks for its code", methods: []string{"totp"}, wantMethod: "totp"},
		{name: "app and backup/app first", methods: []string{"totp", "backup_code"}, wantMethod: "totp", wantBackup: true},
		{name: "app and backup/backup when asked", methods: []string{"totp", "backup_code"}, asked: "backup_code", wantMethod: "backup_code", wantBackup: true},
		{name: "backup not offered/ignored when asked", methods: []string{"totp"}, asked: "backup_code", wantMethod: "totp"},
		{name: "unknown method asked/falls back", methods: []string{"totp", "backup_code"}, asked: "carrier-pigeon", wantMethod: "totp", wantBackup: true},
		{name: "email only with backup/email", methods: []string{"email", "backup_code"}, wantMethod: "email", wantBackup: true},
		{name: "sms only/sms", methods: []string{"sms"}, wantMethod: "sms"},
		{name: "app and sms/asks which", methods: []string{"totp", "sms", "backup_code"}, wantChoose: true, wantBackup: true},
		{name: "unknown kind only/none", methods: []string{"carrier-pigeon"}, wantNone: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pg := verifyPageFor(signin.FlowInfo{Methods: tc.methods}, tc.asked)
			if pg.Method != tc.wantMethod || pg.Choose != tc.wantChoose || pg.None != tc.wantNone || pg.HasBackup != tc.wantBackup {
				t.Fatalf("got %+v", pg)
			}
		})
	}
}

func TestSeveralMethodsLetTheUserChoose(t *testing.T) {
	old := challengeable
	challengeable = []string{totp.Kind, "email"}
	defer func() { challengeable = old }()
	pg := verifyPageFor(signin.FlowInfo{Methods: []string{"totp", "email", "backup_code"}}, "")
	if !pg.Choose || pg.Method != "" || !slices.Equal(pg.Choices, []string{"totp", "email"}) {
		t.Fatalf("got %+v", pg)
	}
	pg = verifyPageFor(signin.FlowInfo{Methods: []string{"totp", "email", "backup_code"}}, "email")
	if pg.Choose || pg.Method != "email" {
		t.Fatalf("got %+v", pg)
	}
}

func TestWaitText(t *testing.T) {
	for d, want := range map[int]string{0: "1 second", 1: "1 second", 12: "12 seconds", 89: "89 seconds", 90: "about 2 minutes", 900: "about 15 minutes", 7200: "about 2 hours"} {
		if got := waitText(seconds(d)); got != want {
			t.Errorf("waitText(%ds) = %q, want %q", d, got, want)
		}
	}
}

func seconds(n int) time.Duration { return time.Duration(n) * time.Second }
