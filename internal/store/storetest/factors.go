package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

func factorID(f store.Factor) string { return f.ID }

// mustFactor creates a pending TOTP factor of u sealed under keyID.
func mustFactor(t *testing.T, s store.Store, u store.User, keyID string, created time.Time) store.Factor {
	t.Helper()
	f, err := s.CreateFactor(ctx(t), store.Factor{
		ID: store.NewID(), UserID: u.ID, Kind: "totp", Label: "phone", Secret: []byte("sealed-" + keyID), KeyID: keyID, CreatedAt: created,
	})
	if err != nil {
		t.Fatalf("CreateFactor: %v", err)
	}
	return f
}

var factorTests = []subtest{
	{"a first factor is confirmed only while it is the first, and ends other sign-ins", func(t *testing.T, s store.Store) {
		root, u := mustFixture(t, s)
		bob := mustUser(t, s, root, "bob")
		f1, f2 := mustFactor(t, s, u, "k", at(0)), mustFactor(t, s, u, "k", at(0))
		mine := mustFlow(t, s, u, "mine", at(time.Hour))
		other := mustFlow(t, s, u, "other", at(time.Hour))
		bobs := mustFlow(t, s, bob, "bobs", at(time.Hour))

		ok, err := s.ConfirmFirstFactor(ctx(t), f1.ID, 7, at(time.Minute), mine.ID, nil, nil)
		noErr(t, "ConfirmFirstFactor", err)
		if !ok {
			t.Fatal("the first factor was not confirmed")
		}
		got, _ := s.GetFactor(ctx(t), f1.ID)
		if !got.Confirmed() || got.LastStep != 7 {
			t.Errorf("after ConfirmFirstFactor: %+v", got)
		}
		user, _ := s.GetUser(ctx(t), u.ID)
		if user.SecurityVersion != u.SecurityVersion+1 {
			t.Errorf("SecurityVersion = %d, want %d", user.SecurityVersion, u.SecurityVersion+1)
		}
		if kept, err := s.GetFlowByTokenHash(ctx(t), mine.TokenHash); err != nil || kept.UserVersion != user.SecurityVersion {
			t.Errorf("the confirming flow = %+v, %v; want it kept at version %d", kept, err, user.SecurityVersion)
		}
		if _, err := s.GetFlowByTokenHash(ctx(t), other.TokenHash); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("another flow of the user survived the first factor (%v)", err)
		}
		if _, err := s.GetFlowByTokenHash(ctx(t), bobs.TokenHash); err != nil {
			t.Errorf("another user's flow went: %v", err)
		}

		ok, err = s.ConfirmFirstFactor(ctx(t), f2.ID, 8, at(time.Minute), "", nil, nil)
		noErr(t, "ConfirmFirstFactor(second)", err)
		if ok {
			t.Error("a second factor was confirmed as the first")
		}
		if got, _ := s.GetFactor(ctx(t), f2.ID); got.Confirmed() {
			t.Error("the refused factor is confirmed")
		}
		ok, err = s.ConfirmFirstFactor(ctx(t), store.NewID(), 1, at(0), "", nil, nil)
		if ok || err != nil {
			t.Errorf("ConfirmFirstFactor(unknown) = %v, %v; want false, nil", ok, err)
		}
	}},
	{"first factors confirmed at once: exactly one wins", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		for r := range rounds {
			u := mustUser(t, s, root, fmt.Sprint("u", r))
			fs := make([]store.Factor, racers)
			for i := range fs {
				fs[i] = mustFactor(t, s, u, "k", at(0))
			}
			wins := countWins(t, racers, func(i int) (bool, error) { return s.ConfirmFirstFactor(ctx(t), fs[i].ID, 1, at(0), "", nil, nil) })
			if wins != 1 {
				t.Fatalf("round %d: %d of %d first factors were confirmed, want 1", r, wins, racers)
			}
		}
	}},
	{"create, get and list oldest first", func(t *testing.T, s store.Store) {
		root, u := mustFixture(t, s)
		other := mustUser(t, s, root, "bob")
		in := store.Factor{ID: store.NewID(), UserID: u.ID, Kind: "email", Label: "work mail", Secret: []byte{0, 9, 0xfe},
			KeyID: "k1", Target: "alice@example.com", CreatedAt: at(time.Hour)}
		_, err := s.CreateFactor(ctx(t), in)
		noErr(t, "CreateFactor", err)
		got, err := s.GetFactor(ctx(t), in.ID)
		noErr(t, "GetFactor", err)
		if got.UserID != u.ID || got.Kind != "email" || got.Label != "work mail" || string(got.Secret) != string(in.Secret) ||
			got.KeyID != "k1" || got.Target != in.Target || got.LastStep != 0 || got.ConfirmedAt != nil || got.LastUsedAt != nil || got.Confirmed() {
			t.Errorf("GetFactor = %+v, want %+v", got, in)
		}
		sameTime(t, "CreatedAt", got.CreatedAt, in.CreatedAt)
		older := mustFactor(t, s, u, "k1", at(0))
		newer := mustFactor(t, s, u, "k1", at(2*time.Hour))
		mustFactor(t, s, other, "k1", at(0))
		list, err := s.ListFactors(ctx(t), u.ID)
		noErr(t, "ListFactors", err)
		sameIDs(t, "ListFactors", ids(list, factorID), []string{older.ID, in.ID, newer.ID})
		_, err = s.GetFactor(ctx(t), store.NewID())
		wantErr(t, "GetFactor(unknown)", err, store.ErrNotFound)
	}},
	{"confirm works once", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		f := mustFactor(t, s, u, "k", at(0))
		ok, err := s.ConfirmFactor(ctx(t), f.ID, 1000, at(time.Minute))
		noErr(t, "ConfirmFactor", err)
		if !ok {
			t.Fatal("ConfirmFactor on a pending factor reported false")
		}
		got, _ := s.GetFactor(ctx(t), f.ID)
		if !got.Confirmed() || got.LastStep != 1000 {
			t.Errorf("after confirm: confirmed %v LastStep %d, want true 1000", got.Confirmed(), got.LastStep)
		}
		samePtrTime(t, "ConfirmedAt", got.ConfirmedAt, ptr(at(time.Minute)))
		ok, err = s.ConfirmFactor(ctx(t), f.ID, 2000, at(2*time.Minute))
		noErr(t, "ConfirmFactor(again)", err)
		if ok {
			t.Error("second ConfirmFactor reported true")
		}
		got, _ = s.GetFactor(ctx(t), f.ID)
		if got.LastStep != 1000 {
			t.Errorf("refused ConfirmFactor changed LastStep to %d", got.LastStep)
		}
		ok, err = s.ConfirmFactor(ctx(t), store.NewID(), 1, at(0))
		if ok || err != nil {
			t.Errorf("ConfirmFactor(unknown) = %v, %v; want false, nil", ok, err)
		}
	}},
	{"advance step only forward", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		f := mustFactor(t, s, u, "k", at(0))
		_, err := s.ConfirmFactor(ctx(t), f.ID, 100, at(0))
		noErr(t, "ConfirmFactor", err)
		steps := []struct {
			step int64
			want bool
		}{{100, false}, {99, false}, {101, true}, {101, false}, {105, true}, {103, false}}
		for _, st := range steps {
			ok, err := s.AdvanceStep(ctx(t), f.ID, st.step, at(time.Duration(st.step)*time.Second))
			noErr(t, "AdvanceStep", err)
			if ok != st.want {
				t.Errorf("AdvanceStep(%d) = %v, want %v", st.step, ok, st.want)
			}
		}
		got, _ := s.GetFactor(ctx(t), f.ID)
		if got.LastStep != 105 {
			t.Errorf("LastStep = %d, want 105", got.LastStep)
		}
		samePtrTime(t, "LastUsedAt", got.LastUsedAt, ptr(at(105*time.Second)))
		if ok, _ := s.AdvanceStep(ctx(t), store.NewID(), 1, at(0)); ok {
			t.Error("AdvanceStep on an unknown factor reported true")
		}
	}},
	{"touch and relabel", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		f := mustFactor(t, s, u, "k", at(0))
		noErr(t, "TouchFactor", s.TouchFactor(ctx(t), f.ID, at(time.Hour)))
		noErr(t, "UpdateFactorLabel", s.UpdateFactorLabel(ctx(t), f.ID, "new label"))
		got, _ := s.GetFactor(ctx(t), f.ID)
		samePtrTime(t, "LastUsedAt", got.LastUsedAt, ptr(at(time.Hour)))
		if got.Label != "new label" || got.LastStep != 0 {
			t.Errorf("Label %q LastStep %d, want \"new label\" 0", got.Label, got.LastStep)
		}
		wantErr(t, "TouchFactor(unknown)", s.TouchFactor(ctx(t), store.NewID(), at(0)), store.ErrNotFound)
		wantErr(t, "UpdateFactorLabel(unknown)", s.UpdateFactorLabel(ctx(t), store.NewID(), "x"), store.ErrNotFound)
	}},
	{"update secret is compare and swap on key id", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		f := mustFactor(t, s, u, "k1", at(0))
		ok, err := s.UpdateFactorSecret(ctx(t), f.ID, "k0", []byte("x"), "k2")
		noErr(t, "UpdateFactorSecret(wrong old key)", err)
		if ok {
			t.Error("UpdateFactorSecret with a stale key id reported true")
		}
		ok, err = s.UpdateFactorSecret(ctx(t), f.ID, "k1", []byte("resealed"), "k2")
		noErr(t, "UpdateFactorSecret", err)
		if !ok {
			t.Error("UpdateFactorSecret with the current key id reported false")
		}
		got, _ := s.GetFactor(ctx(t), f.ID)
		if got.KeyID != "k2" || string(got.Secret) != "resealed" {
			t.Errorf("after rotation: key %q secret %q", got.KeyID, got.Secret)
		}
		ok, _ = s.UpdateFactorSecret(ctx(t), f.ID, "k1", []byte("again"), "k3")
		if ok {
			t.Error("second rotation from k1 reported true")
		}
	}},
	{"list factors not under key", func(t *testing.T, s store.Store) {
		root, u := mustFixture(t, s)
		other := mustUser(t, s, root, "bob")
		var old []string
		for i := range 3 {
			old = append(old, mustFactor(t, s, u, "k1", at(time.Duration(i)*time.Second)).ID)
		}
		old = append(old, mustFactor(t, s, other, "k0", at(0)).ID)
		mustFactor(t, s, u, "k2", at(0))
		// A factor without a sealed secret needs no rotation.
		_, err := s.CreateFactor(ctx(t), store.Factor{ID: store.NewID(), UserID: u.ID, Kind: "email", Target: "a@example.com", CreatedAt: at(0)})
		noErr(t, "CreateFactor(no secret)", err)

		got, err := s.ListFactorsNotUnderKey(ctx(t), "k2", 100)
		noErr(t, "ListFactorsNotUnderKey", err)
		sameIDSet(t, "ListFactorsNotUnderKey(k2)", ids(got, factorID), old)
		got, err = s.ListFactorsNotUnderKey(ctx(t), "k2", 2)
		noErr(t, "ListFactorsNotUnderKey(limit 2)", err)
		if len(got) != 2 {
			t.Errorf("ListFactorsNotUnderKey(limit 2) returned %d", len(got))
		}
		for _, f := range got {
			if f.KeyID == "k2" || len(f.Secret) == 0 {
				t.Errorf("listed factor %+v needs no rotation", f)
			}
		}
		// Rotating them all empties the list.
		all, _ := s.ListFactorsNotUnderKey(ctx(t), "k2", 100)
		for _, f := range all {
			ok, err := s.UpdateFactorSecret(ctx(t), f.ID, f.KeyID, []byte("new"), "k2")
			if err != nil || !ok {
				t.Fatalf("UpdateFactorSecret = %v, %v", ok, err)
			}
		}
		got, _ = s.ListFactorsNotUnderKey(ctx(t), "k2", 100)
		if len(got) != 0 {
			t.Errorf("after rotation %d factors remain under old keys", len(got))
		}
	}},
	{"delete one factor", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		f := mustFactor(t, s, u, "k", at(0))
		g := mustFactor(t, s, u, "k", at(time.Second))
		noErr(t, "DeleteFactor", s.DeleteFactor(ctx(t), f.ID))
		_, err := s.GetFactor(ctx(t), f.ID)
		wantErr(t, "GetFactor(deleted)", err, store.ErrNotFound)
		list, _ := s.ListFactors(ctx(t), u.ID)
		sameIDs(t, "ListFactors", ids(list, factorID), []string{g.ID})
		wantErr(t, "DeleteFactor(again)", s.DeleteFactor(ctx(t), f.ID), store.ErrNotFound)
	}},
	{"delete user factors removes backup codes too", func(t *testing.T, s store.Store) {
		root, u := mustFixture(t, s)
		other := mustUser(t, s, root, "bob")
		mustFactor(t, s, u, "k", at(0))
		mustFactor(t, s, u, "k", at(0))
		keep := mustFactor(t, s, other, "k", at(0))
		noErr(t, "ReplaceBackupCodes", s.ReplaceBackupCodes(ctx(t), u.ID, backupCodes(u, 3)))
		noErr(t, "ReplaceBackupCodes(other)", s.ReplaceBackupCodes(ctx(t), other.ID, backupCodes(other, 2)))
		noErr(t, "DeleteUserFactors", s.DeleteUserFactors(ctx(t), u.ID))
		list, _ := s.ListFactors(ctx(t), u.ID)
		if len(list) != 0 {
			t.Errorf("%d factors left after DeleteUserFactors", len(list))
		}
		codes, _ := s.ListBackupCodes(ctx(t), u.ID)
		if len(codes) != 0 {
			t.Errorf("%d backup codes left after DeleteUserFactors", len(codes))
		}
		list, _ = s.ListFactors(ctx(t), other.ID)
		sameIDs(t, "other user's factors", ids(list, factorID), []string{keep.ID})
		codes, _ = s.ListBackupCodes(ctx(t), other.ID)
		if len(codes) != 2 {
			t.Errorf("other user has %d backup codes, want 2", len(codes))
		}
	}},
	{"delete pending factors", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		cutoff := at(time.Hour)
		oldPending := mustFactor(t, s, u, "k", at(0))
		oldConfirmed := mustFactor(t, s, u, "k", at(0))
		newPending := mustFactor(t, s, u, "k", at(2*time.Hour))
		_, err := s.ConfirmFactor(ctx(t), oldConfirmed.ID, 1, at(time.Minute))
		noErr(t, "ConfirmFactor", err)
		n, err := s.DeletePendingFactors(ctx(t), cutoff)
		noErr(t, "DeletePendingFactors", err)
		if n != 1 {
			t.Errorf("DeletePendingFactors = %d, want 1", n)
		}
		list, _ := s.ListFactors(ctx(t), u.ID)
		sameIDs(t, "ListFactors", ids(list, factorID), []string{oldConfirmed.ID, newPending.ID})
		_, err = s.GetFactor(ctx(t), oldPending.ID)
		wantErr(t, "GetFactor(deleted)", err, store.ErrNotFound)
	}},
}

// backupCodes returns n fresh unused codes of u with distinct ids.
func backupCodes(u store.User, n int) []store.BackupCode {
	codes := make([]store.BackupCode, n)
	for i := range codes {
		codes[i] = store.BackupCode{ID: store.NewID(), UserID: u.ID, Hash: fmt.Sprintf("hash-%d", i), CreatedAt: at(0)}
	}
	return codes
}

func codeID(c store.BackupCode) string { return c.ID }

var backupCodeTests = []subtest{
	{"replace and list", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		first := backupCodes(u, 3)
		noErr(t, "ReplaceBackupCodes", s.ReplaceBackupCodes(ctx(t), u.ID, first))
		got, err := s.ListBackupCodes(ctx(t), u.ID)
		noErr(t, "ListBackupCodes", err)
		sameIDSet(t, "ListBackupCodes", ids(got, codeID), ids(first, codeID))
		for _, c := range got {
			if c.UserID != u.ID || c.Hash == "" || c.UsedAt != nil {
				t.Errorf("listed code %+v", c)
			}
			sameTime(t, "CreatedAt", c.CreatedAt, at(0))
		}
		second := backupCodes(u, 2)
		noErr(t, "ReplaceBackupCodes(again)", s.ReplaceBackupCodes(ctx(t), u.ID, second))
		got, _ = s.ListBackupCodes(ctx(t), u.ID)
		sameIDSet(t, "ListBackupCodes after replace", ids(got, codeID), ids(second, codeID))
		if ok, _ := s.UseBackupCode(ctx(t), first[0].ID, at(0)); ok {
			t.Error("a replaced code could still be used")
		}
		noErr(t, "ReplaceBackupCodes(none)", s.ReplaceBackupCodes(ctx(t), u.ID, nil))
		got, _ = s.ListBackupCodes(ctx(t), u.ID)
		if len(got) != 0 {
			t.Errorf("%d codes after replacing with none", len(got))
		}
	}},
	{"replace is all or nothing", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		first := backupCodes(u, 3)
		noErr(t, "ReplaceBackupCodes", s.ReplaceBackupCodes(ctx(t), u.ID, first))
		bad := backupCodes(u, 3)
		bad[2].ID = bad[0].ID // the third insert fails
		if err := s.ReplaceBackupCodes(ctx(t), u.ID, bad); err == nil {
			t.Fatal("ReplaceBackupCodes with duplicate ids succeeded")
		}
		got, _ := s.ListBackupCodes(ctx(t), u.ID)
		sameIDSet(t, "codes after a failed replace", ids(got, codeID), ids(first, codeID))
	}},
	{"use works once and hides the code", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		codes := backupCodes(u, 3)
		noErr(t, "ReplaceBackupCodes", s.ReplaceBackupCodes(ctx(t), u.ID, codes))
		ok, err := s.UseBackupCode(ctx(t), codes[1].ID, at(time.Minute))
		noErr(t, "UseBackupCode", err)
		if !ok {
			t.Fatal("UseBackupCode on an unused code reported false")
		}
		ok, err = s.UseBackupCode(ctx(t), codes[1].ID, at(2*time.Minute))
		noErr(t, "UseBackupCode(again)", err)
		if ok {
			t.Error("second UseBackupCode reported true")
		}
		got, _ := s.ListBackupCodes(ctx(t), u.ID)
		sameIDSet(t, "unused codes", ids(got, codeID), []string{codes[0].ID, codes[2].ID})
		if ok, _ := s.UseBackupCode(ctx(t), store.NewID(), at(0)); ok {
			t.Error("UseBackupCode on an unknown code reported true")
		}
	}},
}
