package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

// confirmWithCodesTests cover what ConfirmFirstFactor stores beside the
// factor: the backup codes and the audit events, all or nothing.
var confirmWithCodesTests = []subtest{
	{"first factor with codes activates the factor, stores the codes and the events", func(t *testing.T, s store.Store) {
		org, u := mustFixture(t, s)
		f := mustFactor(t, s, u, "k", at(0))
		noErr(t, "ReplaceBackupCodes(stale)", s.ReplaceBackupCodes(ctx(t), u.ID, backupCodes(u, 2)))
		codes := backupCodes(u, 10)
		ev := []store.AuditEvent{{At: at(time.Minute), TargetUserID: u.ID, OrgID: org.ID, Event: "factor.confirm", Outcome: "success"}}
		ok, err := s.ConfirmFirstFactor(ctx(t), f.ID, 77, at(time.Minute), "", codes, ev)
		noErr(t, "ConfirmFirstFactor", err)
		if !ok {
			t.Fatal("ConfirmFirstFactor on a pending factor reported false")
		}
		got, _ := s.GetFactor(ctx(t), f.ID)
		if !got.Confirmed() || got.LastStep != 77 {
			t.Errorf("factor after confirmation = %+v", got)
		}
		list, _ := s.ListBackupCodes(ctx(t), u.ID)
		sameIDSet(t, "backup codes", ids(list, codeID), ids(codes, codeID))
		evs, _ := s.ListAudit(ctx(t), store.AuditFilter{UserID: u.ID})
		if len(evs) != 1 || evs[0].Event != "factor.confirm" {
			t.Errorf("audit = %+v", evs)
		}
	}},
	{"first factor with codes of a confirmed or unknown factor changes nothing", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		f := mustFactor(t, s, u, "k", at(0))
		first := backupCodes(u, 3)
		ok, err := s.ConfirmFirstFactor(ctx(t), f.ID, 5, at(time.Minute), "", first, nil)
		noErr(t, "ConfirmFirstFactor", err)
		if !ok {
			t.Fatal("first confirmation reported false")
		}
		ok, err = s.ConfirmFirstFactor(ctx(t), f.ID, 9, at(2*time.Minute), "", backupCodes(u, 4),
			[]store.AuditEvent{{At: at(0), TargetUserID: u.ID, Event: "x", Outcome: "success"}})
		noErr(t, "ConfirmFirstFactor(again)", err)
		if ok {
			t.Error("second confirmation reported true")
		}
		got, _ := s.GetFactor(ctx(t), f.ID)
		if got.LastStep != 5 {
			t.Errorf("a refused confirmation changed LastStep to %d", got.LastStep)
		}
		list, _ := s.ListBackupCodes(ctx(t), u.ID)
		sameIDSet(t, "backup codes after a refused confirmation", ids(list, codeID), ids(first, codeID))
		if evs, _ := s.ListAudit(ctx(t), store.AuditFilter{UserID: u.ID}); len(evs) != 0 {
			t.Errorf("a refused confirmation logged %d events", len(evs))
		}
		ok, err = s.ConfirmFirstFactor(ctx(t), store.NewID(), 1, at(0), "", backupCodes(u, 1), nil)
		if ok || err != nil {
			t.Errorf("ConfirmFirstFactor(unknown) = %v, %v; want false, nil", ok, err)
		}
	}},
	{"first factor with codes is all or nothing", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		f := mustFactor(t, s, u, "k", at(0))
		bad := backupCodes(u, 3)
		bad[2].ID = bad[0].ID // the third insert fails
		if _, err := s.ConfirmFirstFactor(ctx(t), f.ID, 5, at(time.Minute), "", bad, nil); err == nil {
			t.Fatal("ConfirmFirstFactor with duplicate code ids succeeded")
		}
		got, _ := s.GetFactor(ctx(t), f.ID)
		if got.Confirmed() {
			t.Error("the factor is confirmed although its backup codes were not stored")
		}
		if list, _ := s.ListBackupCodes(ctx(t), u.ID); len(list) != 0 {
			t.Errorf("%d backup codes after a failed confirmation", len(list))
		}
	}},
	{"first factor with codes: of 20 racing confirmations exactly one wins", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		f := mustFactor(t, s, u, "k", at(0))
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		var winner []store.BackupCode
		for i := range 20 {
			codes := backupCodes(u, 2)
			wg.Go(func() {
				ok, err := s.ConfirmFirstFactor(ctx(t), f.ID, int64(i+1), at(time.Minute), "", codes, nil)
				if err != nil {
					t.Errorf("ConfirmFirstFactor: %v", err)
				}
				if ok {
					mu.Lock()
					wins++
					winner = codes
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("%d confirmations won, want 1", wins)
		}
		list, _ := s.ListBackupCodes(ctx(t), u.ID)
		sameIDSet(t, "backup codes", ids(list, codeID), ids(winner, codeID))
	}},
}

// imported returns a user of org to import, with one confirmed factor.
func imported(org store.Org, name string) store.ImportedUser {
	u := store.User{ID: store.NewID(), OrgID: org.ID, Username: name, UsernameNorm: name, Role: store.RoleMember,
		PasswordHash: "hash-" + name, CreatedAt: at(0), UpdatedAt: at(0)}
	f := store.Factor{ID: store.NewID(), UserID: u.ID, Kind: "totp", Label: "imported", Secret: []byte("sealed"), KeyID: "k",
		ConfirmedAt: ptr(at(0)), CreatedAt: at(0)}
	return store.ImportedUser{User: u, Factors: []store.Factor{f}}
}

var importTests = []subtest{
	{"import creates users with confirmed factors and logs", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		in := []store.ImportedUser{imported(root, "ann"), imported(root, "ben"), imported(root, "cy")}
		in[2].Factors = nil
		ev := []store.AuditEvent{{At: at(0), OrgID: root.ID, TargetUserID: in[0].User.ID, Event: "user.import", Outcome: "success"}}
		noErr(t, "ImportUsers", s.ImportUsers(ctx(t), in, ev))
		for _, iu := range in {
			u, err := s.GetUserByName(ctx(t), root.ID, iu.User.UsernameNorm)
			noErr(t, "GetUserByName", err)
			if u.ID != iu.User.ID || u.PasswordHash != iu.User.PasswordHash || u.Role != store.RoleMember {
				t.Errorf("imported user = %+v, want %+v", u, iu.User)
			}
			fs, _ := s.ListFactors(ctx(t), u.ID)
			if len(fs) != len(iu.Factors) {
				t.Fatalf("%s has %d factors, want %d", u.Username, len(fs), len(iu.Factors))
			}
			for _, f := range fs {
				if !f.Confirmed() || f.ID != iu.Factors[0].ID || string(f.Secret) != "sealed" || f.KeyID != "k" {
					t.Errorf("imported factor = %+v", f)
				}
			}
		}
		if evs, _ := s.ListAudit(ctx(t), store.AuditFilter{}); len(evs) != 1 {
			t.Errorf("%d audit events, want 1", len(evs))
		}
	}},
	{"import is all or nothing", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		mustUser(t, s, root, "taken")
		in := []store.ImportedUser{imported(root, "new1"), imported(root, "taken"), imported(root, "new2")}
		err := s.ImportUsers(ctx(t), in, []store.AuditEvent{{At: at(0), Event: "x", Outcome: "success"}})
		wantErr(t, "ImportUsers(taken name)", err, store.ErrConflict)
		for _, name := range []string{"new1", "new2"} {
			_, err := s.GetUserByName(ctx(t), root.ID, name)
			wantErr(t, "GetUserByName("+name+")", err, store.ErrNotFound)
		}
		if evs, _ := s.ListAudit(ctx(t), store.AuditFilter{}); len(evs) != 0 {
			t.Errorf("a failed import logged %d events", len(evs))
		}
		twice := []store.ImportedUser{imported(root, "dup"), imported(root, "dup")}
		wantErr(t, "ImportUsers(same name twice)", s.ImportUsers(ctx(t), twice, nil), store.ErrConflict)
		gone := store.Org{ID: store.NewID()}
		wantErr(t, "ImportUsers(unknown org)", s.ImportUsers(ctx(t), []store.ImportedUser{imported(gone, "x")}, nil), store.ErrNotFound)
	}},
}

var auditRetentionTests = []subtest{
	{"delete audit before removes only older events, at most limit at a time", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		for i := range 10 {
			noErr(t, "AppendAudit", s.AppendAudit(ctx(t), store.AuditEvent{At: at(time.Duration(i) * time.Hour), OrgID: root.ID,
				Event: "signin.password", Outcome: "success"}))
		}
		cutoff := at(7 * time.Hour) // events 0…6 are older
		n, err := s.DeleteAuditBefore(ctx(t), cutoff, 4)
		noErr(t, "DeleteAuditBefore", err)
		if n != 4 {
			t.Fatalf("first batch deleted %d, want 4", n)
		}
		left, _ := s.ListAudit(ctx(t), store.AuditFilter{})
		if len(left) != 6 {
			t.Fatalf("%d events left, want 6", len(left))
		}
		oldest := left[len(left)-1]
		sameTime(t, "oldest left", oldest.At, at(4*time.Hour))
		n, err = s.DeleteAuditBefore(ctx(t), cutoff, 4)
		noErr(t, "DeleteAuditBefore(2)", err)
		if n != 3 {
			t.Fatalf("second batch deleted %d, want 3", n)
		}
		n, err = s.DeleteAuditBefore(ctx(t), cutoff, 4)
		if n != 0 || err != nil {
			t.Fatalf("third batch = %d, %v; want 0, nil", n, err)
		}
		left, _ = s.ListAudit(ctx(t), store.AuditFilter{})
		if len(left) != 3 {
			t.Fatalf("%d events left, want 3", len(left))
		}
		for _, e := range left {
			if e.At.Before(cutoff) {
				t.Errorf("an event at %v survived the cutoff %v", e.At, cutoff)
			}
		}
	}},
}
