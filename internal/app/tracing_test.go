package app_test

import (
	"bytes"
	"compress/gzip"
	"io"
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

// TestTracesGoToTheOTLPEndpoint runs a real OTLP/HTTP exporter against a
// local receiver and finds the request span (named by its route) and the
// password-hash span in what it sent.
func TestTracesGoToTheOTLPEndpoint(t *testing.T) {
	var mu sync.Mutex
	var got bytes.Buffer
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				t.Error(err)
				return
			}
			body = zr
		}
		b, _ := io.ReadAll(body)
		mu.Lock()
		got.WriteString(r.URL.Path + "\n")
		got.Write(b)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()

	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.OTelEndpoint = collector.URL
	pp := password.TestParams()
	a, err := app.Open(t.Context(), cfg, slog.New(slog.DiscardHandler), app.Options{PasswordParams: &pp, BackupParams: &backup.Params{Memory: 64, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/api/v1/auth/login", strings.NewReader(`{"org":"platform","username":"nobody","password":"a long password"}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, r)
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	a.Close() // flushes the spans
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{"/v1/traces", "POST /api/v1/auth/login", "password.hash", "twofold",
		string([]byte{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6})} { // the trace id the proxy sent
		if !strings.Contains(got.String(), want) {
			t.Errorf("the collector did not receive %q", want)
		}
	}
}
