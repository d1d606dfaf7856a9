package signin_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/twofold-id/twofold/internal/factor/backup"
	"github.com/twofold-id/twofold/internal/factor/totp"
	"github.com/twofold-id/twofold/internal/signin"
)

// TestBackupCodeHashesTakeTheHashersSlots: the ten backup-code hashes made
// when a first factor is confirmed, and the one made when a backup code is
// typed, run in the password hasher's slots like password checks, so
// parallel confirmations never compute more argon2id hashes at once than
// --hash-concurrency allows.
func TestBackupCodeHashesTakeTheHashersSlots(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	const users = 6
	names := []string{"u0", "u1", "u2", "u3", "u4", "u5"}
	sessions := make([]string, users)
	for i, n := range names {
		w.user("acme", n)
		sessions[i] = w.mustLogin("acme", n, signin.StatusAuthenticated).SessionToken
	}
	var running, peak, computed atomic.Int64
	w.hasher.OnCompute(func(context.Context) func() {
		n := running.Add(1)
		computed.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		return func() { running.Add(-1) }
	})

	codes := make([][]string, users)
	errs := make([]error, users)
	var wg sync.WaitGroup
	for i := range users {
		wg.Go(func() {
			p, err := w.signin.Authenticate(w.ctx, sessions[i])
			if err != nil {
				errs[i] = err
				return
			}
			e, err := w.signin.StartTOTP(w.ctx, p, "Phone", client)
			if err != nil {
				errs[i] = err
				return
			}
			secret, err := totp.DecodeSecret(e.Secret)
			if err != nil {
				errs[i] = err
				return
			}
			codes[i], errs[i] = w.signin.ConfirmTOTP(w.ctx, p, e.FactorID, w.totp.Code(secret, w.totp.Step(w.clock.Now())), client)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil || len(codes[i]) != backup.Count {
			t.Fatalf("confirmation %d: %d codes, %v", i, len(codes[i]), err)
		}
	}
	if got, want := computed.Load(), int64(users*backup.Count); got != want {
		t.Fatalf("%d argon2id computations went through the hasher for %d confirmations, want %d", got, users, want)
	}
	if c := int64(w.hasher.Stats().Capacity); peak.Load() > c {
		t.Fatalf("%d hashes at once, the cap is %d", peak.Load(), c)
	}

	// A backup code typed at sign-in is one computation in a slot, too.
	before := computed.Load()
	flow := w.flow("acme", "u0")
	if _, err := w.signin.Verify(w.ctx, flow, backup.Kind, codes[0][0], client); err != nil {
		t.Fatalf("sign-in with a backup code: %v", err)
	}
	// The password check of the sign-in and the backup code's hash.
	if got := computed.Load() - before; got != 2 {
		t.Fatalf("a sign-in with a backup code: %d computations through the hasher, want 2 (password, code)", got)
	}
}
