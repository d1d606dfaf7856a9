package app_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/app"
	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/factor/backup"
	"github.com/twofold-id/twofold/internal/password"
	"github.com/twofold-id/twofold/internal/store"
)

// TestSweepRemovesWhatHasExpiredAndKeepsWhatLives stands the clock two days
// after a set of records was made and checks that Sweep removes the dead
// ones and leaves the live ones.
func TestSweepRemovesWhatHasExpiredAndKeepsWhatLives(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC)}
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	pp := password.TestParams()
	a, err := app.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)),
		app.Options{Now: clk.Now, PasswordParams: &pp, BackupParams: &backup.Params{Memory: 64, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	root, _, err := a.EnsureRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u, err := a.Store.CreateUser(ctx, store.User{OrgID: root.ID, Username: "alice", UsernameNorm: "alice", Email: "a@example.com", Role: store.RoleMember})
	if err != nil {
		t.Fatal(err)
	}
	then := clk.Now().Add(-48 * time.Hour)
	now := clk.Now()
	mustNil := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	mustNil(a.Store.CreateSession(ctx, store.Session{TokenHash: []byte("dead"), UserID: u.ID, CreatedAt: then, ExpiresAt: then.Add(time.Hour)}))
	mustNil(a.Store.CreateSession(ctx, store.Session{TokenHash: []byte("live"), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	mustNil(a.Store.CreateFlow(ctx, store.Flow{TokenHash: []byte("dead"), UserID: u.ID, Kind: store.FlowMFA, CreatedAt: then, ExpiresAt: then.Add(time.Minute)}))
	mustNil(a.Store.CreateFlow(ctx, store.Flow{TokenHash: []byte("live"), UserID: u.ID, Kind: store.FlowMFA, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}))
	mustNil(a.Store.CreateFactor(ctx, store.Factor{UserID: u.ID, Kind: "sms", Label: "abandoned", Target: "+15551234567", CreatedAt: then}))
	mustNil(a.Store.CreateEmailConfirmation(ctx, store.EmailConfirmation{UserID: u.ID, Email: u.Email, TokenHash: []byte("dead"), CreatedAt: then, ExpiresAt: then.Add(time.Hour)}))
	mustNil(a.Store.CountSend(ctx, "user:"+u.ID, then.Truncate(time.Hour)))
	counter := func(key string, last time.Time, locked *time.Time) {
		mustNil(a.Store.UpdatePasswordAttempts(ctx, key, func(x store.Attempts) (store.Attempts, error) {
			x.Failures, x.LastFailureAt, x.LockedUntil = 3, &last, locked
			return x, nil
		}))
	}
	counter("old", then, nil)
	counter("recent", now.Add(-time.Hour), nil)
	lockEnd := now.Add(time.Hour)
	counter("locked", then, &lockEnd)
	// Request-rate keys: one whose bucket filled up again a day ago, one
	// still draining (a burst of 3 at an hour per request).
	take := func(key string, at time.Time) {
		if _, _, err := a.Store.TakeRate(ctx, key, at, time.Hour, 3); err != nil {
			t.Fatal(err)
		}
	}
	take("full", then)
	for range 3 {
		take("draining", now)
	}

	a.Sweep(ctx)

	if _, err := a.Store.GetSessionByTokenHash(ctx, []byte("dead")); err == nil {
		t.Error("a session that ended two days ago is still stored")
	}
	if _, err := a.Store.GetSessionByTokenHash(ctx, []byte("live")); err != nil {
		t.Errorf("a live session was swept: %v", err)
	}
	if _, err := a.Store.GetFlowByTokenHash(ctx, []byte("dead")); err == nil {
		t.Error("an expired flow is still stored")
	}
	if _, err := a.Store.GetFlowByTokenHash(ctx, []byte("live")); err != nil {
		t.Errorf("a live flow was swept: %v", err)
	}
	if fs, _ := a.Store.ListFactors(ctx, u.ID); len(fs) != 0 {
		t.Errorf("%d abandoned pending factors left", len(fs))
	}
	if _, err := a.Store.LatestEmailConfirmation(ctx, u.ID); err == nil {
		t.Error("an expired confirmation link is still stored")
	}
	if n, _ := a.Store.CountSend(ctx, "user:"+u.ID, then.Truncate(time.Hour)); n != 1 {
		t.Errorf("the old send counter survived (count %d after one more send)", n)
	}
	if n, _ := a.Store.DeleteOldRates(ctx, now.Add(24*time.Hour)); n != 1 {
		t.Errorf("%d request-rate keys left after the sweep, want 1 (the draining one)", n)
	}
	for key, want := range map[string]int{"old": 0, "recent": 3, "locked": 3} {
		if x, _ := a.Store.GetPasswordAttempts(ctx, key); x.Failures != want {
			t.Errorf("password counter %s: %d failures after the sweep, want %d", key, x.Failures, want)
		}
	}
}
