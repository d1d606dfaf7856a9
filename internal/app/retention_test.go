package app_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/app"
	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/factor/backup"
	"github.com/twofold-id/twofold/internal/password"
	"github.com/twofold-id/twofold/internal/store"
	"github.com/twofold-id/twofold/internal/store/postgres/pgtest"
)

// countingPruner counts the batches of audit deletion.
type countingPruner struct {
	store.Store
	calls atomic.Int64
}

func (c *countingPruner) DeleteAuditBefore(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	c.calls.Add(1)
	return c.Store.DeleteAuditBefore(ctx, cutoff, limit)
}

// openAt opens an app on SQLite in a temp dir, or on a fresh PostgreSQL
// database, with the clock clk.
func openAt(t *testing.T, backend string, clk *clock, change func(*config.Config)) *app.App {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	if backend == "postgres" {
		cfg.DatabaseURL = pgtest.NewDatabase(t)
		var key [32]byte
		rand.Read(key[:])
		cfg.SecretKey = "k1:" + base64.StdEncoding.EncodeToString(key[:])
	}
	if change != nil {
		change(&cfg)
	}
	pp := password.TestParams()
	a, err := app.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)),
		app.Options{Now: clk.Now, PasswordParams: &pp, BackupParams: &backup.Params{Memory: 64, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// TestSweepDeletesAuditEventsPastTheRetentionInBatches puts 2,500 events
// older than the retention and some younger ones in the log; one sweep
// deletes exactly the old ones, in batches of at most 1,000.
func TestSweepDeletesAuditEventsPastTheRetentionInBatches(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			ctx := t.Context()
			clk := &clock{t: time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC)}
			a := openAt(t, backend, clk, func(c *config.Config) { c.AuditRetention = 30 * 24 * time.Hour })
			root, _, err := a.EnsureRoot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			old := clk.Now().Add(-31 * 24 * time.Hour)
			var events []store.AuditEvent
			for i := range 2500 {
				events = append(events, store.AuditEvent{At: old.Add(time.Duration(i) * time.Second), OrgID: root.ID, Event: "signin.password", Outcome: "success"})
			}
			for i := range 7 {
				events = append(events, store.AuditEvent{At: clk.Now().Add(-time.Duration(i) * 24 * time.Hour), OrgID: root.ID, Event: "signin.password", Outcome: "success"})
			}
			// One transaction writes them all (ImportUsers with no users).
			if err := a.Store.ImportUsers(ctx, nil, events); err != nil {
				t.Fatal(err)
			}
			cp := &countingPruner{Store: a.Store}
			a.Store = cp

			a.Sweep(ctx)

			left, err := a.Store.ListAudit(ctx, store.AuditFilter{Limit: 5000})
			if err != nil {
				t.Fatal(err)
			}
			if len(left) != 7 {
				t.Fatalf("%d events left after the sweep, want the 7 younger than the retention", len(left))
			}
			if n := cp.calls.Load(); n != 3 {
				t.Errorf("the sweep deleted in %d batches, want 3 (1000 + 1000 + 500)", n)
			}
		})
	}
}

func TestAnAuditRetentionOfZeroKeepsEverything(t *testing.T) {
	ctx := t.Context()
	clk := &clock{t: time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC)}
	a := openAt(t, "sqlite", clk, func(c *config.Config) { c.AuditRetention = 0 })
	root, _, err := a.EnsureRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Store.AppendAudit(ctx, store.AuditEvent{At: clk.Now().AddDate(-10, 0, 0), OrgID: root.ID, Event: "x", Outcome: "success"}); err != nil {
		t.Fatal(err)
	}
	a.Sweep(ctx)
	if left, _ := a.Store.ListAudit(ctx, store.AuditFilter{}); len(left) != 1 {
		t.Fatalf("%d events left; retention 0 must keep them", len(left))
	}
}
