package storetest

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

// racers is how many goroutines race for a single-use thing, and rounds
// how many times a race is repeated: one round of fast in-process calls
// often runs one after the other and would let a "read, then write" bug
// pass.
const racers, rounds = 50, 20

// countWins runs fn in n goroutines at once, fails the test on any error,
// and returns how many calls reported true.
func countWins(t *testing.T, n int, fn func(i int) (bool, error)) int {
	t.Helper()
	var wins atomic.Int64
	errs := parallel(n, func(i int) error {
		ok, err := fn(i)
		if ok {
			wins.Add(1)
		}
		return err
	})
	noErrs(t, "racer", errs)
	return int(wins.Load())
}

// errRefused is what the refusing updater returns once the limit is reached.
var errRefused = errors.New("refused: limit reached")

var raceTests = []subtest{
	{"same TOTP step: exactly one AdvanceStep wins", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		f := mustFactor(t, s, u, "k", at(0))
		_, err := s.ConfirmFactor(ctx(t), f.ID, 100, at(0))
		noErr(t, "ConfirmFactor", err)
		for r := range rounds {
			step := int64(101 + r)
			wins := countWins(t, racers, func(int) (bool, error) { return s.AdvanceStep(ctx(t), f.ID, step, at(time.Minute)) })
			if wins != 1 {
				t.Fatalf("round %d: %d of %d AdvanceStep calls with the same step won, want 1", r, wins, racers)
			}
		}
	}},
	{"increasing TOTP steps never go backwards", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		f := mustFactor(t, s, u, "k", at(0))
		countWins(t, racers, func(i int) (bool, error) { return s.AdvanceStep(ctx(t), f.ID, int64(i+1), at(0)) })
		got, _ := s.GetFactor(ctx(t), f.ID)
		if got.LastStep != racers {
			t.Errorf("LastStep = %d after racing steps 1..%d, want %d", got.LastStep, racers, racers)
		}
	}},
	{"one backup code: exactly one UseBackupCode wins", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		codes := backupCodes(u, rounds+1)
		noErr(t, "ReplaceBackupCodes", s.ReplaceBackupCodes(ctx(t), u.ID, codes))
		for r := range rounds {
			wins := countWins(t, racers, func(int) (bool, error) { return s.UseBackupCode(ctx(t), codes[r].ID, at(0)) })
			if wins != 1 {
				t.Fatalf("round %d: %d of %d UseBackupCode calls won, want 1", r, wins, racers)
			}
		}
		left, _ := s.ListBackupCodes(ctx(t), u.ID)
		sameIDs(t, "unused codes", ids(left, codeID), []string{codes[rounds].ID})
	}},
	{"one flow: exactly one ConsumeFlow wins", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		for r := range rounds {
			f := mustFlow(t, s, u, fmt.Sprint("f", r), at(time.Hour))
			wins := countWins(t, racers, func(int) (bool, error) { return s.ConsumeFlow(ctx(t), f.ID, at(0)) })
			if wins != 1 {
				t.Fatalf("round %d: %d of %d ConsumeFlow calls won, want 1", r, wins, racers)
			}
		}
	}},
	{"one pending factor: exactly one ConfirmFactor wins", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		for r := range rounds {
			f := mustFactor(t, s, u, "k", at(0))
			wins := countWins(t, racers, func(i int) (bool, error) { return s.ConfirmFactor(ctx(t), f.ID, int64(i+1), at(0)) })
			if wins != 1 {
				t.Fatalf("round %d: %d of %d ConfirmFactor calls won, want 1", r, wins, racers)
			}
		}
	}},
	{"sessions racing a disable: none stays live once the disable's revocation ran", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		for r := range rounds {
			_, live, err := s.PatchUser(ctx(t), u.ID, store.UserChange{Disabled: ptr(false)}, at(0))
			noErr(t, "PatchUser(enable)", err)
			errs := parallel(racers+1, func(i int) error {
				if i == racers/2 {
					// The admin: disable, then revoke what exists.
					if _, _, err := s.PatchUser(ctx(t), u.ID, store.UserChange{Disabled: ptr(true)}, at(0)); err != nil {
						return err
					}
					_, err := s.RevokeUserSessions(ctx(t), u.ID, "", at(0), "disabled")
					return err
				}
				_, err := s.CreateSession(ctx(t), store.Session{TokenHash: []byte(fmt.Sprint(r, "/", i)), UserID: u.ID,
					CreatedAt: at(0), ExpiresAt: at(time.Hour), UserVersion: live.SecurityVersion})
				if errors.Is(err, store.ErrStale) {
					return nil
				}
				return err
			})
			noErrs(t, "racer", errs)
			if l, _ := s.ListSessions(ctx(t), u.ID, at(0)); len(l) != 0 {
				t.Fatalf("round %d: %d sessions of the disabled user are live", r, len(l))
			}
		}
	}},
	{"flows racing a password change: none of the old version survives it", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		for r := range rounds {
			cur, err := s.GetUser(ctx(t), u.ID)
			noErr(t, "GetUser", err)
			tokens := make([][]byte, racers)
			errs := parallel(racers+1, func(i int) error {
				if i == racers {
					return s.SetPassword(ctx(t), u.ID, fmt.Sprint("h", r), at(0))
				}
				tokens[i] = []byte(fmt.Sprint(r, "/", i))
				_, err := s.CreateFlow(ctx(t), store.Flow{TokenHash: tokens[i], UserID: u.ID, Kind: store.FlowEnroll,
					CreatedAt: at(0), ExpiresAt: at(time.Hour), UserVersion: cur.SecurityVersion})
				if errors.Is(err, store.ErrStale) {
					return nil
				}
				return err
			})
			noErrs(t, "racer", errs)
			for _, tok := range tokens {
				if f, err := s.GetFlowByTokenHash(ctx(t), tok); err == nil {
					t.Fatalf("round %d: a flow of the old version %d outlived the password change (%+v)", r, cur.SecurityVersion, f)
				}
			}
		}
	}},
	{"parallel flow failures all count", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		f := mustFlow(t, s, u, "f", at(time.Hour))
		var seen [racers + 1]atomic.Bool
		errs := parallel(racers, func(int) error {
			n, err := s.AddFlowFailure(ctx(t), f.ID)
			if err == nil && n >= 1 && n <= racers {
				if seen[n].Swap(true) {
					return fmt.Errorf("count %d returned twice", n)
				}
			} else if err == nil {
				return fmt.Errorf("count %d out of range", n)
			}
			return err
		})
		noErrs(t, "AddFlowFailure", errs)
		got, _ := s.GetFlowByTokenHash(ctx(t), []byte("f"))
		if got.Failures != racers {
			t.Errorf("Failures = %d after %d parallel AddFlowFailure, want %d", got.Failures, racers, racers)
		}
	}},
	{"parallel attempt increments all count", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		for r := range rounds {
			errs := parallel(racers, func(int) error {
				_, err := s.UpdateAttempts(ctx(t), u.ID, func(a store.Attempts) (store.Attempts, error) {
					a.Failures++
					a.LastFailureAt = ptr(at(time.Duration(a.Failures) * time.Second))
					return a, nil
				})
				return err
			})
			noErrs(t, "UpdateAttempts", errs)
			a, err := s.GetAttempts(ctx(t), u.ID)
			noErr(t, "GetAttempts", err)
			want := (r + 1) * racers
			if a.Failures != want {
				t.Fatalf("round %d: Failures = %d after %d parallel increments, want %d (lost updates)", r, a.Failures, want, want)
			}
			samePtrTime(t, "LastFailureAt", a.LastFailureAt, ptr(at(time.Duration(want)*time.Second)))
		}
	}},
	{"parallel attempts against a limit: exactly the limit succeeds", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		const limit = 10
		for r := range rounds {
			// Each round raises the limit by 10 above the stored count.
			ceiling := (r + 1) * limit
			var ok atomic.Int64
			errs := parallel(racers, func(int) error {
				_, err := s.UpdateAttempts(ctx(t), u.ID, func(a store.Attempts) (store.Attempts, error) {
					if a.Failures >= ceiling {
						return a, errRefused
					}
					a.Failures++
					return a, nil
				})
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, errRefused):
					return nil
				}
				return err
			})
			noErrs(t, "UpdateAttempts", errs)
			if ok.Load() != limit {
				t.Fatalf("round %d: %d updates succeeded, want exactly %d", r, ok.Load(), limit)
			}
			a, _ := s.GetAttempts(ctx(t), u.ID)
			if a.Failures != ceiling {
				t.Fatalf("round %d: Failures = %d, want %d", r, a.Failures, ceiling)
			}
		}
	}},
	{"64 clients of mixed reads and writes see no errors", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		const clients, rounds = 64, 4
		errs := parallel(clients, func(i int) error {
			for r := range rounds {
				name := fmt.Sprintf("c%d-r%d", i, r)
				u, err := s.CreateUser(ctx(t), store.User{OrgID: root.ID, Username: name, UsernameNorm: name, Role: store.RoleMember})
				if err != nil {
					return fmt.Errorf("CreateUser: %w", err)
				}
				sess, err := s.CreateSession(ctx(t), store.Session{ID: store.NewID(), TokenHash: []byte(name), UserID: u.ID,
					CreatedAt: at(0), LastSeenAt: at(0), ExpiresAt: at(time.Hour), AMR: []string{"pwd"}})
				if err != nil {
					return fmt.Errorf("CreateSession: %w", err)
				}
				if _, err := s.GetSessionByTokenHash(ctx(t), []byte(name)); err != nil {
					return fmt.Errorf("GetSessionByTokenHash: %w", err)
				}
				if err := s.TouchSession(ctx(t), sess.ID, at(time.Minute)); err != nil {
					return fmt.Errorf("TouchSession: %w", err)
				}
				if err := s.AppendAudit(ctx(t), store.AuditEvent{At: at(0), ActorUserID: u.ID, OrgID: root.ID, Event: "signin.password", Outcome: "success"}); err != nil {
					return fmt.Errorf("AppendAudit: %w", err)
				}
				if _, err := s.UpdateAttempts(ctx(t), u.ID, func(a store.Attempts) (store.Attempts, error) { a.Failures = 0; return a, nil }); err != nil {
					return fmt.Errorf("UpdateAttempts: %w", err)
				}
				if _, err := s.ListSessions(ctx(t), u.ID, at(0)); err != nil {
					return fmt.Errorf("ListSessions: %w", err)
				}
				if _, err := s.ListAudit(ctx(t), store.AuditFilter{UserID: u.ID, Limit: 5}); err != nil {
					return fmt.Errorf("ListAudit: %w", err)
				}
				if _, err := s.OrgChain(ctx(t), root.ID); err != nil {
					return fmt.Errorf("OrgChain: %w", err)
				}
			}
			return nil
		})
		noErrs(t, "client", errs)
		users, err := s.ListUsers(ctx(t), store.UserFilter{Limit: clients * rounds})
		noErr(t, "ListUsers", err)
		if len(users) != clients*rounds {
			t.Errorf("%d users after the run, want %d", len(users), clients*rounds)
		}
		ev, err := s.ListAudit(ctx(t), store.AuditFilter{Limit: clients * rounds})
		noErr(t, "ListAudit", err)
		if len(ev) != clients*rounds {
			t.Errorf("%d audit events after the run, want %d", len(ev), clients*rounds)
		}
	}},
}
