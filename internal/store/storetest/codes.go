package storetest

import (
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

// mustChallenge puts a fresh challenge of u for factor f, flow and purpose,
// created at at(0), whose code hash is code.
func mustChallenge(t *testing.T, s store.Store, u store.User, f store.Factor, flowID, purpose, code string, expires time.Time) store.Challenge {
	t.Helper()
	c, err := s.PutChallenge(ctx(t), store.Challenge{
		UserID: u.ID, FactorID: f.ID, FlowID: flowID, Purpose: purpose, CodeHash: []byte(code),
		CreatedAt: at(0), ExpiresAt: expires,
	})
	if err != nil {
		t.Fatalf("PutChallenge(%s/%s): %v", flowID, purpose, err)
	}
	if c.ID == "" {
		t.Fatal("PutChallenge returned an empty ID")
	}
	return c
}

// mustEmailConfirmation creates a confirmation of u whose token hash is token.
func mustEmailConfirmation(t *testing.T, s store.Store, u store.User, token string, created, expires time.Time) store.EmailConfirmation {
	t.Helper()
	ec, err := s.CreateEmailConfirmation(ctx(t), store.EmailConfirmation{
		UserID: u.ID, Email: u.Email, TokenHash: []byte(token), CreatedAt: created, ExpiresAt: expires,
	})
	if err != nil {
		t.Fatalf("CreateEmailConfirmation(%s): %v", token, err)
	}
	if ec.ID == "" {
		t.Fatal("CreateEmailConfirmation returned an empty ID")
	}
	return ec
}

// sameChallenge fails unless got and want agree in every field.
func sameChallenge(t *testing.T, what string, got, want store.Challenge) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || got.FactorID != want.FactorID || got.FlowID != want.FlowID ||
		got.Purpose != want.Purpose || string(got.CodeHash) != string(want.CodeHash) || got.Attempts != want.Attempts {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
	sameTime(t, what+".CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, what+".ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	samePtrTime(t, what+".UsedAt", got.UsedAt, want.UsedAt)
	isUTC(t, what+".CreatedAt", got.CreatedAt)
	isUTC(t, what+".ExpiresAt", got.ExpiresAt)
}

// sameEmailConfirmation fails unless got and want agree in every field.
func sameEmailConfirmation(t *testing.T, what string, got, want store.EmailConfirmation) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || got.Email != want.Email || string(got.TokenHash) != string(want.TokenHash) {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
	sameTime(t, what+".CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, what+".ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	samePtrTime(t, what+".UsedAt", got.UsedAt, want.UsedAt)
	isUTC(t, what+".CreatedAt", got.CreatedAt)
}

// mustUse calls UseChallenge and fails unless it reports want.
func mustUse(t *testing.T, s store.Store, what string, id string, now time.Time, maxAttempts int, want bool) {
	t.Helper()
	ok, err := s.UseChallenge(ctx(t), id, now, maxAttempts)
	noErr(t, "UseChallenge: "+what, err)
	if ok != want {
		t.Errorf("UseChallenge: %s = %v, want %v", what, ok, want)
	}
}

// countAll returns how many challenges the store holds, by deleting every
// one that expired before a far cutoff.
func countAll(t *testing.T, s store.Store) int {
	t.Helper()
	n, err := s.DeleteExpiredChallenges(ctx(t), at(1000*time.Hour))
	noErr(t, "DeleteExpiredChallenges", err)
	return n
}

var codeTests = []subtest{
	{"put and get a challenge round trip", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		f := mustFactor(t, s, u, "k", at(0))
		in := store.Challenge{UserID: u.ID, FactorID: f.ID, FlowID: "flow1", Purpose: store.PurposeSignIn,
			CodeHash: []byte{0, 1, 0xfe, 0xff}, CreatedAt: at(time.Second), ExpiresAt: at(90 * time.Second)}
		c, err := s.PutChallenge(ctx(t), in)
		noErr(t, "PutChallenge", err)
		if c.ID == "" {
			t.Fatal("PutChallenge did not generate an ID")
		}
		in.ID = c.ID
		sameChallenge(t, "PutChallenge result", c, in)
		got, err := s.GetChallenge(ctx(t), u.ID, "flow1", store.PurposeSignIn)
		noErr(t, "GetChallenge", err)
		sameChallenge(t, "GetChallenge", got, in)

		_, err = s.GetChallenge(ctx(t), u.ID, "flow2", store.PurposeSignIn)
		wantErr(t, "GetChallenge(other flow)", err, store.ErrNotFound)
		_, err = s.GetChallenge(ctx(t), u.ID, "flow1", store.PurposeReauth)
		wantErr(t, "GetChallenge(other purpose)", err, store.ErrNotFound)
	}},
	{"put with an ID keeps it; a used challenge is still returned", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		f := mustFactor(t, s, u, "k", at(0))
		id := store.NewID()
		c, err := s.PutChallenge(ctx(t), store.Challenge{ID: id, UserID: u.ID, FactorID: f.ID, Purpose: store.PurposeConfirm,
			CodeHash: []byte("c"), CreatedAt: at(0), ExpiresAt: at(time.Hour)})
		noErr(t, "PutChallenge", err)
		if c.ID != id {
			t.Errorf("ID = %q, want the given %q", c.ID, id)
		}
		mustUse(t, s, "fresh", id, at(time.Minute), 5, true)
		got, err := s.GetChallenge(ctx(t), u.ID, "", store.PurposeConfirm)
		noErr(t, "GetChallenge(used)", err)
		samePtrTime(t, "UsedAt", got.UsedAt, ptr(at(time.Minute)))
	}},
	{"put replaces the challenge of the same user, flow and purpose", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		f := mustFactor(t, s, u, "k", at(0))
		old := mustChallenge(t, s, u, f, "flow1", store.PurposeSignIn, "old", at(time.Hour))
		_, err := s.AddChallengeAttempt(ctx(t), old.ID)
		noErr(t, "AddChallengeAttempt", err)
		mustUse(t, s, "old", old.ID, at(0), 5, true)

		f2 := mustFactor(t, s, u, "k", at(0))
		nw := mustChallenge(t, s, u, f2, "flow1", store.PurposeSignIn, "new", at(2*time.Hour))
		if nw.ID == old.ID {
			t.Fatal("the new challenge got the old one's ID")
		}
		got, err := s.GetChallenge(ctx(t), u.ID, "flow1", store.PurposeSignIn)
		noErr(t, "GetChallenge", err)
		sameChallenge(t, "GetChallenge after replace", got, nw)

		// The old challenge is gone: it can be neither counted nor used.
		_, err = s.AddChallengeAttempt(ctx(t), old.ID)
		wantErr(t, "AddChallengeAttempt(replaced)", err, store.ErrNotFound)
		mustUse(t, s, "replaced", old.ID, at(0), 5, false)
		if n := countAll(t, s); n != 1 {
			t.Errorf("%d challenges stored after a replace, want 1", n)
		}
	}},
	{"put leaves other flows, purposes and users alone", func(t *testing.T, s store.Store) {
		root, u := mustFixture(t, s)
		bob := mustUser(t, s, root, "bob")
		f := mustFactor(t, s, u, "k", at(0))
		fb := mustFactor(t, s, bob, "k", at(0))
		others := []store.Challenge{
			mustChallenge(t, s, u, f, "flow2", store.PurposeSignIn, "a", at(time.Hour)),
			mustChallenge(t, s, u, f, "", store.PurposeConfirm, "b", at(time.Hour)),
			mustChallenge(t, s, u, f, "", store.PurposeReauth, "c", at(time.Hour)),
			mustChallenge(t, s, u, f, "flow1", store.PurposeReauth, "d", at(time.Hour)),
			mustChallenge(t, s, bob, fb, "flow1", store.PurposeSignIn, "e", at(time.Hour)),
		}
		for i, o := range others {
			for range i + 1 {
				_, err := s.AddChallengeAttempt(ctx(t), o.ID)
				noErr(t, "AddChallengeAttempt", err)
			}
			others[i].Attempts = i + 1
		}
		mustChallenge(t, s, u, f, "flow1", store.PurposeSignIn, "x", at(time.Hour))
		mustChallenge(t, s, u, f, "flow1", store.PurposeSignIn, "y", at(time.Hour))
		for _, o := range others {
			got, err := s.GetChallenge(ctx(t), o.UserID, o.FlowID, o.Purpose)
			noErr(t, "GetChallenge("+o.FlowID+"/"+o.Purpose+")", err)
			sameChallenge(t, "untouched challenge", got, o)
		}
		if n := countAll(t, s); n != len(others)+1 {
			t.Errorf("%d challenges stored, want %d", n, len(others)+1)
		}
	}},
	{"AddChallengeAttempt increments and returns the count", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		f := mustFactor(t, s, u, "k", at(0))
		c := mustChallenge(t, s, u, f, "flow", store.PurposeSignIn, "c", at(time.Hour))
		for want := 1; want <= 3; want++ {
			n, err := s.AddChallengeAttempt(ctx(t), c.ID)
			noErr(t, "AddChallengeAttempt", err)
			if n != want {
				t.Errorf("AddChallengeAttempt = %d, want %d", n, want)
			}
		}
		got, err := s.GetChallenge(ctx(t), u.ID, "flow", store.PurposeSignIn)
		noErr(t, "GetChallenge", err)
		if got.Attempts != 3 {
			t.Errorf("Attempts = %d, want 3", got.Attempts)
		}
		_, err = s.AddChallengeAttempt(ctx(t), store.NewID())
		wantErr(t, "AddChallengeAttempt(unknown)", err, store.ErrNotFound)
	}},
	{"UseChallenge uses once", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		f := mustFactor(t, s, u, "k", at(0))
		c := mustChallenge(t, s, u, f, "flow", store.PurposeSignIn, "c", at(time.Hour))
		mustUse(t, s, "first", c.ID, at(time.Minute), 5, true)
		mustUse(t, s, "second", c.ID, at(2*time.Minute), 5, false)
		got, err := s.GetChallenge(ctx(t), u.ID, "flow", store.PurposeSignIn)
		noErr(t, "GetChallenge", err)
		samePtrTime(t, "UsedAt", got.UsedAt, ptr(at(time.Minute)))
		mustUse(t, s, "unknown id", store.NewID(), at(0), 5, false)
	}},
	{"UseChallenge refuses an expired challenge", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		f := mustFactor(t, s, u, "k", at(0))
		c := mustChallenge(t, s, u, f, "flow", store.PurposeSignIn, "c", at(time.Hour))
		mustUse(t, s, "after expiry", c.ID, at(2*time.Hour), 5, false)
		mustUse(t, s, "at the expiry instant", c.ID, at(time.Hour), 5, false)
		mustUse(t, s, "a microsecond before expiry", c.ID, at(time.Hour-time.Microsecond), 5, true)
	}},
	{"UseChallenge refuses at or over the attempt limit", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		f := mustFactor(t, s, u, "k", at(0))
		c := mustChallenge(t, s, u, f, "flow", store.PurposeSignIn, "c", at(time.Hour))
		for range 3 {
			_, err := s.AddChallengeAttempt(ctx(t), c.ID)
			noErr(t, "AddChallengeAttempt", err)
		}
		mustUse(t, s, "3 attempts, max 2", c.ID, at(0), 2, false)
		mustUse(t, s, "3 attempts, max 3", c.ID, at(0), 3, false)
		mustUse(t, s, "3 attempts, max 0", c.ID, at(0), 0, false)
		mustUse(t, s, "3 attempts, max 4", c.ID, at(0), 4, true)
	}},
	{"delete expired challenges removes only those expired before the cutoff", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		f := mustFactor(t, s, u, "k", at(0))
		early := mustChallenge(t, s, u, f, "f1", store.PurposeSignIn, "a", at(time.Minute))
		atCutoff := mustChallenge(t, s, u, f, "f2", store.PurposeSignIn, "b", at(time.Hour))
		late := mustChallenge(t, s, u, f, "f3", store.PurposeSignIn, "c", at(2*time.Hour))
		n, err := s.DeleteExpiredChallenges(ctx(t), at(time.Hour))
		noErr(t, "DeleteExpiredChallenges", err)
		if n != 1 {
			t.Errorf("DeleteExpiredChallenges = %d, want 1", n)
		}
		_, err = s.GetChallenge(ctx(t), u.ID, early.FlowID, early.Purpose)
		wantErr(t, "GetChallenge(expired)", err, store.ErrNotFound)
		for _, c := range []store.Challenge{atCutoff, late} {
			if _, err := s.GetChallenge(ctx(t), u.ID, c.FlowID, c.Purpose); err != nil {
				t.Errorf("challenge expiring at %v was deleted with cutoff %v: %v", c.ExpiresAt, at(time.Hour), err)
			}
		}
	}},
	{"put for an unknown user or factor fails", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		f := mustFactor(t, s, u, "k", at(0))
		if _, err := s.PutChallenge(ctx(t), store.Challenge{UserID: store.NewID(), FactorID: f.ID, Purpose: store.PurposeSignIn,
			CodeHash: []byte("c"), ExpiresAt: at(time.Hour)}); err == nil {
			t.Error("PutChallenge for an unknown user succeeded")
		}
		if _, err := s.PutChallenge(ctx(t), store.Challenge{UserID: u.ID, FactorID: store.NewID(), Purpose: store.PurposeSignIn,
			CodeHash: []byte("c"), ExpiresAt: at(time.Hour)}); err == nil {
			t.Error("PutChallenge for an unknown factor succeeded")
		}
	}},
	{"deleting the factor deletes its challenges", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		f := mustFactor(t, s, u, "k", at(0))
		keep := mustFactor(t, s, u, "k", at(0))
		mustChallenge(t, s, u, f, "flow", store.PurposeSignIn, "c", at(time.Hour))
		mustChallenge(t, s, u, keep, "", store.PurposeConfirm, "d", at(time.Hour))
		noErr(t, "DeleteFactor", s.DeleteFactor(ctx(t), f.ID))
		_, err := s.GetChallenge(ctx(t), u.ID, "flow", store.PurposeSignIn)
		wantErr(t, "GetChallenge after DeleteFactor", err, store.ErrNotFound)
		if _, err := s.GetChallenge(ctx(t), u.ID, "", store.PurposeConfirm); err != nil {
			t.Errorf("another factor's challenge was deleted: %v", err)
		}
	}},
	{"deleting the user deletes its challenges and confirmations", func(t *testing.T, s store.Store) {
		root, u := mustFixture(t, s)
		bob := mustUser(t, s, root, "bob")
		f := mustFactor(t, s, u, "k", at(0))
		fb := mustFactor(t, s, bob, "k", at(0))
		mustChallenge(t, s, u, f, "flow", store.PurposeSignIn, "c", at(time.Hour))
		mustChallenge(t, s, bob, fb, "flow", store.PurposeSignIn, "c", at(time.Hour))
		mustEmailConfirmation(t, s, u, "tok-u", at(0), at(time.Hour))
		mustEmailConfirmation(t, s, bob, "tok-b", at(0), at(time.Hour))
		noErr(t, "DeleteUser", s.DeleteUser(ctx(t), u.ID))

		_, err := s.GetChallenge(ctx(t), u.ID, "flow", store.PurposeSignIn)
		wantErr(t, "GetChallenge after DeleteUser", err, store.ErrNotFound)
		_, err = s.LatestEmailConfirmation(ctx(t), u.ID)
		wantErr(t, "LatestEmailConfirmation after DeleteUser", err, store.ErrNotFound)
		if _, ok, err := s.ConsumeEmailConfirmation(ctx(t), []byte("tok-u"), at(0)); ok || err != nil {
			t.Errorf("ConsumeEmailConfirmation of a deleted user = %v, %v; want false, nil", ok, err)
		}
		if _, err := s.GetChallenge(ctx(t), bob.ID, "flow", store.PurposeSignIn); err != nil {
			t.Errorf("another user's challenge was deleted: %v", err)
		}
		if _, err := s.LatestEmailConfirmation(ctx(t), bob.ID); err != nil {
			t.Errorf("another user's confirmation was deleted: %v", err)
		}
	}},

	{"email confirmation: create and consume once", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		in := store.EmailConfirmation{UserID: u.ID, Email: "new@example.com", TokenHash: []byte{9, 0, 9},
			CreatedAt: at(time.Second), ExpiresAt: at(time.Hour)}
		ec, err := s.CreateEmailConfirmation(ctx(t), in)
		noErr(t, "CreateEmailConfirmation", err)
		if ec.ID == "" {
			t.Fatal("CreateEmailConfirmation did not generate an ID")
		}
		in.ID = ec.ID
		sameEmailConfirmation(t, "CreateEmailConfirmation result", ec, in)

		got, ok, err := s.ConsumeEmailConfirmation(ctx(t), []byte{9, 0, 9}, at(time.Minute))
		noErr(t, "ConsumeEmailConfirmation", err)
		if !ok {
			t.Fatal("ConsumeEmailConfirmation refused a fresh confirmation")
		}
		in.UsedAt = ptr(at(time.Minute))
		sameEmailConfirmation(t, "consumed confirmation", got, in)

		_, ok, err = s.ConsumeEmailConfirmation(ctx(t), []byte{9, 0, 9}, at(2*time.Minute))
		noErr(t, "ConsumeEmailConfirmation(again)", err)
		if ok {
			t.Error("a confirmation was consumed twice")
		}
		latest, err := s.LatestEmailConfirmation(ctx(t), u.ID)
		noErr(t, "LatestEmailConfirmation", err)
		sameEmailConfirmation(t, "LatestEmailConfirmation after use", latest, in)
	}},
	{"email confirmation: expired and wrong hash are refused", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		mustEmailConfirmation(t, s, u, "tok", at(0), at(time.Hour))
		for _, c := range []struct {
			what  string
			token string
			now   time.Time
		}{
			{"wrong hash", "tok2", at(0)},
			{"hash prefix", "to", at(0)},
			{"after expiry", "tok", at(2 * time.Hour)},
			{"at the expiry instant", "tok", at(time.Hour)},
		} {
			ec, ok, err := s.ConsumeEmailConfirmation(ctx(t), []byte(c.token), c.now)
			noErr(t, "ConsumeEmailConfirmation: "+c.what, err)
			if ok || ec.ID != "" {
				t.Errorf("ConsumeEmailConfirmation: %s = %+v, %v; want nothing, false", c.what, ec, ok)
			}
		}
		if _, ok, err := s.ConsumeEmailConfirmation(ctx(t), []byte("tok"), at(time.Hour-time.Microsecond)); !ok || err != nil {
			t.Errorf("ConsumeEmailConfirmation just before expiry = %v, %v; want true (the refusals must not use it)", ok, err)
		}
	}},
	{"email confirmation: a token hash in use is a conflict", func(t *testing.T, s store.Store) {
		root, u := mustFixture(t, s)
		bob := mustUser(t, s, root, "bob")
		mustEmailConfirmation(t, s, u, "tok", at(0), at(time.Hour))
		_, err := s.CreateEmailConfirmation(ctx(t), store.EmailConfirmation{UserID: bob.ID, Email: bob.Email,
			TokenHash: []byte("tok"), CreatedAt: at(0), ExpiresAt: at(time.Hour)})
		wantErr(t, "CreateEmailConfirmation(same hash)", err, store.ErrConflict)
	}},
	{"latest email confirmation is the newest of the user", func(t *testing.T, s store.Store) {
		root, u := mustFixture(t, s)
		bob := mustUser(t, s, root, "bob")
		_, err := s.LatestEmailConfirmation(ctx(t), u.ID)
		wantErr(t, "LatestEmailConfirmation(none)", err, store.ErrNotFound)
		mustEmailConfirmation(t, s, u, "a", at(time.Minute), at(time.Hour))
		newest := mustEmailConfirmation(t, s, u, "b", at(3*time.Minute), at(time.Hour))
		mustEmailConfirmation(t, s, u, "c", at(2*time.Minute), at(time.Hour))
		mustEmailConfirmation(t, s, bob, "d", at(4*time.Minute), at(time.Hour))
		got, err := s.LatestEmailConfirmation(ctx(t), u.ID)
		noErr(t, "LatestEmailConfirmation", err)
		sameEmailConfirmation(t, "LatestEmailConfirmation", got, newest)
	}},

	{"delete expired email confirmations removes only those expired before the cutoff", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		mustEmailConfirmation(t, s, u, "old", at(0), at(time.Hour))
		mustEmailConfirmation(t, s, u, "edge", at(0), at(2*time.Hour))
		fresh := mustEmailConfirmation(t, s, u, "fresh", at(time.Hour), at(3*time.Hour))
		n, err := s.DeleteExpiredEmailConfirmations(ctx(t), at(2*time.Hour))
		noErr(t, "DeleteExpiredEmailConfirmations", err)
		if n != 1 {
			t.Errorf("deleted %d, want 1 (only the one expired before the cutoff)", n)
		}
		got, err := s.LatestEmailConfirmation(ctx(t), u.ID)
		noErr(t, "LatestEmailConfirmation", err)
		sameEmailConfirmation(t, "LatestEmailConfirmation", got, fresh)
		if _, ok, _ := s.ConsumeEmailConfirmation(ctx(t), []byte("edge"), at(time.Minute)); !ok {
			t.Error("the confirmation expiring at the cutoff was deleted")
		}
	}},

	{"CountSend counts per key and window", func(t *testing.T, s store.Store) {
		w1, w2 := at(0), at(time.Hour)
		for _, c := range []struct {
			key    string
			window time.Time
			want   int
		}{
			{"email:alice", w1, 1},
			{"email:alice", w1, 2},
			{"email:bob", w1, 1},
			{"email:alice", w2, 1},
			{"email:alice", w1, 3},
			{"email:bob", w2, 1},
			{"email:alice", w2, 2},
			{"email:alice", w1.Add(time.Microsecond), 1},
		} {
			n, err := s.CountSend(ctx(t), c.key, c.window)
			noErr(t, "CountSend", err)
			if n != c.want {
				t.Errorf("CountSend(%s, %v) = %d, want %d", c.key, c.window, n, c.want)
			}
		}
	}},
	{"delete old send counts removes only windows before the cutoff", func(t *testing.T, s store.Store) {
		for _, w := range []time.Time{at(0), at(time.Hour), at(2 * time.Hour)} {
			for range 2 {
				_, err := s.CountSend(ctx(t), "k", w)
				noErr(t, "CountSend", err)
			}
		}
		n, err := s.DeleteOldSendCounts(ctx(t), at(time.Hour))
		noErr(t, "DeleteOldSendCounts", err)
		if n != 1 {
			t.Errorf("DeleteOldSendCounts = %d, want 1", n)
		}
		for _, c := range []struct {
			window time.Time
			want   int
		}{{at(0), 1}, {at(time.Hour), 3}, {at(2 * time.Hour), 3}} {
			got, err := s.CountSend(ctx(t), "k", c.window)
			noErr(t, "CountSend", err)
			if got != c.want {
				t.Errorf("CountSend(k, %v) after cleanup = %d, want %d", c.window, got, c.want)
			}
		}
	}},

	{"race: exactly one UseChallenge wins", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		f := mustFactor(t, s, u, "k", at(0))
		for r := range rounds {
			c := mustChallenge(t, s, u, f, fmt.Sprint("flow", r), store.PurposeSignIn, "c", at(time.Hour))
			wins := countWins(t, racers, func(int) (bool, error) { return s.UseChallenge(ctx(t), c.ID, at(0), 5) })
			if wins != 1 {
				t.Fatalf("round %d: %d of %d UseChallenge calls won, want 1", r, wins, racers)
			}
		}
	}},
	{"race: parallel challenge attempts all count", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		f := mustFactor(t, s, u, "k", at(0))
		c := mustChallenge(t, s, u, f, "flow", store.PurposeSignIn, "c", at(time.Hour))
		var seen [racers + 1]atomic.Bool
		errs := parallel(racers, func(int) error {
			n, err := s.AddChallengeAttempt(ctx(t), c.ID)
			if err != nil {
				return err
			}
			if n < 1 || n > racers {
				return fmt.Errorf("count %d out of range", n)
			}
			if seen[n].Swap(true) {
				return fmt.Errorf("count %d returned twice", n)
			}
			return nil
		})
		noErrs(t, "AddChallengeAttempt", errs)
		got, err := s.GetChallenge(ctx(t), u.ID, "flow", store.PurposeSignIn)
		noErr(t, "GetChallenge", err)
		if got.Attempts != racers {
			t.Errorf("Attempts = %d after %d parallel AddChallengeAttempt, want %d", got.Attempts, racers, racers)
		}
	}},
	{"race: an attempt counted before UseChallenge is never missed", func(t *testing.T, s store.Store) {
		// The challenge stands one attempt below the limit. Every racer
		// counts a wrong code and then tries to use the challenge: each use
		// comes after at least one counted attempt, so none may win.
		_, u := mustFixture(t, s)
		f := mustFactor(t, s, u, "k", at(0))
		const limit = 5
		for r := range rounds {
			c := mustChallenge(t, s, u, f, fmt.Sprint("flow", r), store.PurposeSignIn, "c", at(time.Hour))
			for range limit - 1 {
				_, err := s.AddChallengeAttempt(ctx(t), c.ID)
				noErr(t, "AddChallengeAttempt", err)
			}
			wins := countWins(t, racers, func(int) (bool, error) {
				if _, err := s.AddChallengeAttempt(ctx(t), c.ID); err != nil {
					return false, err
				}
				return s.UseChallenge(ctx(t), c.ID, at(0), limit)
			})
			if wins != 0 {
				t.Fatalf("round %d: %d UseChallenge calls won over the attempt limit", r, wins)
			}
		}
	}},
	{"race: uses mixed with attempts: at most one wins, never over the limit", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		f := mustFactor(t, s, u, "k", at(0))
		const limit = 3
		for r := range rounds {
			c := mustChallenge(t, s, u, f, fmt.Sprint("flow", r), store.PurposeSignIn, "c", at(time.Hour))
			// Odd racers use the challenge, even ones count a wrong code; the
			// limit is usually reached while uses are still coming. A shared
			// clock orders calls in real time: a use that starts after an
			// attempt call that reached the limit has returned must refuse.
			var (
				clock       atomic.Int64
				attempts    atomic.Int64
				limitAt     atomic.Int64 // clock when a call returning >= limit returned
				winStartsAt atomic.Int64 // clock when the winning use started
			)
			limitAt.Store(1 << 62)
			wins := countWins(t, racers, func(i int) (bool, error) {
				if i%2 == 0 {
					n, err := s.AddChallengeAttempt(ctx(t), c.ID)
					done := clock.Add(1)
					attempts.Add(1)
					if err == nil && n >= limit {
						for {
							old := limitAt.Load()
							if done >= old || limitAt.CompareAndSwap(old, done) {
								break
							}
						}
					}
					return false, err
				}
				start := clock.Add(1)
				ok, err := s.UseChallenge(ctx(t), c.ID, at(0), limit)
				if ok {
					winStartsAt.Store(start)
				}
				return ok, err
			})
			if wins > 1 {
				t.Fatalf("round %d: %d UseChallenge calls won, want at most 1", r, wins)
			}
			if wins == 1 && winStartsAt.Load() > limitAt.Load() {
				t.Fatalf("round %d: a UseChallenge that started after the attempt limit was reached won", r)
			}
			got, err := s.GetChallenge(ctx(t), u.ID, c.FlowID, c.Purpose)
			noErr(t, "GetChallenge", err)
			if got.Attempts != int(attempts.Load()) {
				t.Errorf("round %d: Attempts = %d, want %d", r, got.Attempts, attempts.Load())
			}
			if (got.UsedAt != nil) != (wins == 1) {
				t.Errorf("round %d: UsedAt = %v with %d wins", r, fmtPtr(got.UsedAt), wins)
			}
			// Now the limit is certainly reached.
			mustUse(t, s, "after the race", c.ID, at(0), limit, false)
		}
	}},
	{"race: parallel puts for one flow leave one challenge", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		f := mustFactor(t, s, u, "k", at(0))
		put := make([]string, racers)
		errs := parallel(racers, func(i int) error {
			c, err := s.PutChallenge(ctx(t), store.Challenge{UserID: u.ID, FactorID: f.ID, FlowID: "flow", Purpose: store.PurposeSignIn,
				CodeHash: []byte(fmt.Sprint("code", i)), CreatedAt: at(0), ExpiresAt: at(time.Hour)})
			put[i] = c.ID
			return err
		})
		noErrs(t, "PutChallenge", errs)
		got, err := s.GetChallenge(ctx(t), u.ID, "flow", store.PurposeSignIn)
		noErr(t, "GetChallenge", err)
		i := slices.Index(put, got.ID)
		if i < 0 {
			t.Fatalf("GetChallenge returned %s, which no PutChallenge returned", got.ID)
		}
		if string(got.CodeHash) != fmt.Sprint("code", i) {
			t.Errorf("challenge %s has code hash %q, want %q (a mix of two puts)", got.ID, got.CodeHash, fmt.Sprint("code", i))
		}
		if n := countAll(t, s); n != 1 {
			t.Errorf("%d challenges stored after %d parallel puts, want 1", n, racers)
		}
	}},
	{"race: exactly one ConsumeEmailConfirmation wins", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		for r := range rounds {
			token := fmt.Sprint("tok", r)
			ec := mustEmailConfirmation(t, s, u, token, at(0), at(time.Hour))
			var winner atomic.Value
			wins := countWins(t, racers, func(int) (bool, error) {
				got, ok, err := s.ConsumeEmailConfirmation(ctx(t), []byte(token), at(0))
				if ok {
					winner.Store(got.ID)
				}
				return ok, err
			})
			if wins != 1 {
				t.Fatalf("round %d: %d of %d ConsumeEmailConfirmation calls won, want 1", r, wins, racers)
			}
			if id, _ := winner.Load().(string); id != ec.ID {
				t.Errorf("round %d: the winner got confirmation %q, want %q", r, id, ec.ID)
			}
		}
	}},
	{"race: parallel CountSend returns each count once", func(t *testing.T, s store.Store) {
		for r := range rounds {
			window := at(time.Duration(r) * time.Hour)
			counts := make([]int, racers)
			errs := parallel(racers, func(i int) error {
				n, err := s.CountSend(ctx(t), "sms:+15550100", window)
				counts[i] = n
				return err
			})
			noErrs(t, "CountSend", errs)
			slices.Sort(counts)
			for i, n := range counts {
				if n != i+1 {
					t.Fatalf("round %d: CountSend returned %v, want each of 1..%d once", r, counts, racers)
				}
			}
			n, err := s.CountSend(ctx(t), "sms:+15550100", window)
			noErr(t, "CountSend", err)
			if n != racers+1 {
				t.Fatalf("round %d: CountSend after the race = %d, want %d", r, n, racers+1)
			}
		}
	}},
}
