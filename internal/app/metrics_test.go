package app_test

import (
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/twofold-id/twofold/internal/app"
	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/factor/backup"
	"github.com/twofold-id/twofold/internal/password"
	"github.com/twofold-id/twofold/internal/store/postgres/pgtest"
)

// TestPostgreSQLPoolAndQueriesAreMeasured reads the pool and query metrics
// of an App on PostgreSQL (the SQLite pools are checked in internal/api).
func TestPostgreSQLPoolAndQueriesAreMeasured(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	var key [32]byte
	rand.Read(key[:])
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.DatabaseURL = dsn
	cfg.SecretKey = "k1:" + base64.StdEncoding.EncodeToString(key[:])
	pp := password.TestParams()
	a, err := app.Open(t.Context(), cfg, slog.New(slog.DiscardHandler), app.Options{PasswordParams: &pp, BackupParams: &backup.Params{Memory: 64, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, _, err := a.EnsureRoot(t.Context()); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	a.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, want := range []string{`twofold_db_pool_max_connections{pool="pool"}`, `twofold_db_pool_open_connections{pool="pool"}`,
		`twofold_db_query_duration_seconds_count{op="select",outcome="ok"}`, `twofold_db_query_duration_seconds_count{op="insert",outcome="ok"}`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
