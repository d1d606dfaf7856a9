package signin_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/factor/backup"
	"github.com/twofold-id/twofold/internal/factor/totp"
	"github.com/twofold-id/twofold/internal/password"
	"github.com/twofold-id/twofold/internal/ratelimit"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
	"github.com/twofold-id/twofold/internal/store/sqlite"
)

// cuttingStore is the real store with a client that goes away: just before
// the write numbered cutAt (counting from 1), it cancels the request's
// context, as a browser closing the tab would.
type cuttingStore struct {
	*sqlite.Store
	cutAt  int
	writes int
	cancel context.CancelFunc
}

func (s *cuttingStore) write() {
	s.writes++
	if s.writes == s.cutAt {
		s.cancel()
	}
}

func (s *cuttingStore) UpdateAttempts(ctx context.Context, id string, fn func(store.Attempts) (store.Attempts, error)) (store.Attempts, error) {
	s.write()
	return s.Store.UpdateAttempts(ctx, id, fn)
}

func (s *cuttingStore) ConfirmFactor(ctx context.Context, id string, step int64, at time.Time) (bool, error) {
	s.write()
	return s.Store.ConfirmFactor(ctx, id, step, at)
}

func (s *cuttingStore) ConfirmFirstFactor(ctx context.Context, id string, step int64, at time.Time, keepFlow string, codes []store.BackupCode, ev []store.AuditEvent) (bool, error) {
	s.write()
	return s.Store.ConfirmFirstFactor(ctx, id, step, at, keepFlow, codes, ev)
}

func (s *cuttingStore) ReplaceBackupCodes(ctx context.Context, userID string, codes []store.BackupCode) error {
	s.write()
	return s.Store.ReplaceBackupCodes(ctx, userID, codes)
}

func (s *cuttingStore) AppendAudit(ctx context.Context, e store.AuditEvent) error {
	s.write()
	return s.Store.AppendAudit(ctx, e)
}

// TestAConfirmationCutOffAtAnyWriteNeverLeavesAnActiveFactorWithoutBackupCodes
// confirms a first authenticator app again and again, the client going away
// before the first write, then before the second, and so on until a
// confirmation runs through. After each, a factor is either still pending
// (the user simply confirms again) or active with its ten backup codes and
// the audit event — never active without codes.
func TestAConfirmationCutOffAtAnyWriteNeverLeavesAnActiveFactorWithoutBackupCodes(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	log := slog.New(slog.NewJSONHandler(w.log, nil))
	for cut := 1; ; cut++ {
		name := "user" + string(rune('a'+cut))
		u := w.user("acme", name)
		tok := w.mustLogin("acme", name, signin.StatusAuthenticated).SessionToken
		p := w.principal(tok)
		e, err := w.signin.StartTOTP(w.ctx, p, "Phone", client)
		if err != nil {
			t.Fatal(err)
		}
		secret, _ := totp.DecodeSecret(e.Secret)
		ctx, cancel := context.WithCancel(w.ctx)
		cs := &cuttingStore{Store: w.store, cutAt: cut, cancel: cancel}
		al := audit.New(cs, log, w.clock.Now)
		sg := signin.New(signin.Deps{Store: cs, Hasher: password.NewHasher(password.TestParams(), 0), Keys: w.keys, Audit: al,
			Log: log, Lockout: ratelimit.DefaultLockout(), TOTP: totp.Default(),
			Backup: backup.Params{Memory: 64, Time: 1, Threads: 1}, Now: w.clock.Now}, signin.Options{})
		codes, err := sg.ConfirmTOTP(ctx, p, e.FactorID, w.totp.Code(secret, w.totp.Step(w.clock.Now())), client)
		cancel()

		f, ferr := w.store.GetFactor(w.ctx, e.FactorID)
		if ferr != nil {
			t.Fatal(ferr)
		}
		stored, _ := w.store.ListBackupCodes(w.ctx, u.ID)
		events, _ := w.store.ListAudit(w.ctx, store.AuditFilter{UserID: u.ID, Event: audit.FactorConfirmed})
		switch {
		case f.Confirmed() && len(stored) != 10:
			t.Fatalf("cut before write %d: the factor is active with %d backup codes (err %v)", cut, len(stored), err)
		case f.Confirmed() && len(events) != 1:
			t.Fatalf("cut before write %d: the factor is active with %d confirmation events", cut, len(events))
		case !f.Confirmed() && (len(stored) != 0 || err == nil):
			t.Fatalf("cut before write %d: pending factor, %d backup codes, err %v", cut, len(stored), err)
		case f.Confirmed() && err == nil && len(codes) != 10:
			t.Fatalf("cut before write %d: %d codes returned", cut, len(codes))
		}
		if cs.writes < cut {
			// The confirmation ran through before the cut: every point was tried.
			if !f.Confirmed() || err != nil {
				t.Fatalf("an uncut confirmation failed: %v", err)
			}
			return
		}
		w.clock.Advance(30 * time.Second)
	}
}
