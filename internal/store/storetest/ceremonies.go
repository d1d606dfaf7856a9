package storetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

var ceremonyTests = []subtest{
	{"a ceremony is consumed once, only with its purpose and binding, before it expires", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		c, err := s.PutCeremony(ctx(t), store.Ceremony{ChallengeHash: []byte("h1"), Purpose: store.CeremonySignIn, Binding: "flow-1",
			UserID: u.ID, Session: []byte(`{"challenge":"x"}`), CreatedAt: at(0), ExpiresAt: at(time.Minute)})
		noErr(t, "PutCeremony", err)
		for _, bad := range []struct{ hash, purpose, binding string }{
			{"h2", store.CeremonySignIn, "flow-1"}, {"h1", store.CeremonyPasskey, "flow-1"}, {"h1", store.CeremonySignIn, "flow-2"},
		} {
			if _, ok, err := s.ConsumeCeremony(ctx(t), []byte(bad.hash), bad.purpose, bad.binding, at(time.Second)); err != nil || ok {
				t.Fatalf("ConsumeCeremony(%v) = %v, %v; want false", bad, ok, err)
			}
		}
		if _, ok, err := s.ConsumeCeremony(ctx(t), []byte("h1"), store.CeremonySignIn, "flow-1", at(time.Minute)); err != nil || ok {
			t.Fatalf("ConsumeCeremony at expiry = %v, %v; want false", ok, err)
		}
		got, ok, err := s.ConsumeCeremony(ctx(t), []byte("h1"), store.CeremonySignIn, "flow-1", at(time.Second))
		if err != nil || !ok {
			t.Fatalf("ConsumeCeremony = %v, %v; want true", ok, err)
		}
		if got.ID != c.ID || got.UserID != u.ID || string(got.Session) != `{"challenge":"x"}` || got.UsedAt == nil {
			t.Errorf("consumed ceremony = %+v", got)
		}
		sameTime(t, "ExpiresAt", got.ExpiresAt, at(time.Minute))
		if _, ok, err := s.ConsumeCeremony(ctx(t), []byte("h1"), store.CeremonySignIn, "flow-1", at(2*time.Second)); err != nil || ok {
			t.Fatalf("second ConsumeCeremony = %v, %v; want false", ok, err)
		}
		n, err := s.DeleteExpiredCeremonies(ctx(t), at(2*time.Minute))
		if err != nil || n != 1 {
			t.Errorf("DeleteExpiredCeremonies = %d, %v; want 1", n, err)
		}
	}},
	{"50 concurrent consumers of one ceremony: exactly one wins", func(t *testing.T, s store.Store) {
		_, err := s.PutCeremony(ctx(t), store.Ceremony{ChallengeHash: []byte("race"), Purpose: store.CeremonyPasskey, Binding: "tok",
			Session: []byte(`{}`), CreatedAt: at(0), ExpiresAt: at(time.Minute)})
		noErr(t, "PutCeremony", err)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, ok, err := s.ConsumeCeremony(ctx(t), []byte("race"), store.CeremonyPasskey, "tok", at(time.Second))
				if err != nil {
					t.Errorf("ConsumeCeremony: %v", err)
				}
				if ok {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Errorf("%d consumers won, want exactly 1", wins.Load())
		}
	}},
	{"a credential id is held by one webauthn factor only, and only a pending factor takes one", func(t *testing.T, s store.Store) {
		root, alice := mustFixture(t, s)
		bob := mustUser(t, s, root, "bob")
		mk := func(u store.User) store.Factor {
			f, err := s.CreateFactor(ctx(t), store.Factor{UserID: u.ID, Kind: "webauthn", Label: "key", Secret: []byte("session"), KeyID: "k1", CreatedAt: at(0)})
			noErr(t, "CreateFactor", err)
			return f
		}
		fa, fb := mk(alice), mk(bob)
		ok, err := s.SetPendingFactorSecret(ctx(t), fa.ID, []byte("cred"), "k2", "cred-id")
		if err != nil || !ok {
			t.Fatalf("SetPendingFactorSecret = %v, %v", ok, err)
		}
		got, err := s.GetFactor(ctx(t), fa.ID)
		noErr(t, "GetFactor", err)
		if string(got.Secret) != "cred" || got.KeyID != "k2" || got.Target != "cred-id" {
			t.Errorf("factor after SetPendingFactorSecret = %+v", got)
		}
		_, err = s.SetPendingFactorSecret(ctx(t), fb.ID, []byte("cred"), "k2", "cred-id")
		wantErr(t, "the same credential id for another user", err, store.ErrConflict)
		ok, err = s.ConfirmFactor(ctx(t), fa.ID, 0, at(time.Second))
		noErr(t, "ConfirmFactor", err)
		if !ok {
			t.Fatal("ConfirmFactor = false")
		}
		if ok, err := s.SetPendingFactorSecret(ctx(t), fa.ID, []byte("other"), "k2", "cred-2"); err != nil || ok {
			t.Errorf("SetPendingFactorSecret on a confirmed factor = %v, %v; want false", ok, err)
		}
		// Other kinds share targets freely (two factors texting one number).
		for range 2 {
			_, err := s.CreateFactor(ctx(t), store.Factor{UserID: alice.ID, Kind: "sms", Target: "+15550100", CreatedAt: at(0)})
			noErr(t, "CreateFactor(sms)", err)
		}
	}},
}
