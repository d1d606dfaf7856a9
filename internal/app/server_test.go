package app_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/twofold-id/twofold/internal/app"
	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/factor/backup"
	"github.com/twofold-id/twofold/internal/password"
)

// lockedBuffer is a log destination safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestAForwardingHeaderFromAnUntrustedPeerIsReportedOnce checks that an
// operator whose proxy is missing from --trusted-proxies learns it from the
// log, once, and not once per request.
func TestAForwardingHeaderFromAnUntrustedPeerIsReportedOnce(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.TrustedProxies = "192.0.2.1"
	var logs lockedBuffer
	pp := password.TestParams()
	a, err := app.Open(t.Context(), cfg, slog.New(slog.NewTextHandler(&logs, nil)),
		app.Options{PasswordParams: &pp, BackupParams: &backup.Params{Memory: 64, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	h := a.Handler()
	if !strings.Contains(logs.String(), "trusted_proxies=[192.0.2.1/32]") {
		t.Errorf("the trusted proxies are not logged at start:\n%s", logs.String())
	}
	for range 3 {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/auth/login", strings.NewReader(`{}`))
		r.RemoteAddr = "198.51.100.7:4711"
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-Forwarded-For", "203.0.113.1")
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	if n := strings.Count(logs.String(), "not a trusted proxy"); n != 1 {
		t.Fatalf("%d warnings about the untrusted peer, want 1:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "peer=198.51.100.7") {
		t.Errorf("the warning does not name the peer:\n%s", logs.String())
	}
}
