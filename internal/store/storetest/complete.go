package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

var completeTests = []subtest{
	{"complete consumes the flow, resets the counter, creates the session and logs", func(t *testing.T, s store.Store) {
		org, u := mustFixture(t, s)
		f := mustFlow(t, s, u, "f", at(time.Hour))
		_, err := s.UpdateAttempts(ctx(t), u.ID, func(a store.Attempts) (store.Attempts, error) {
			a.Failures, a.LastFailureAt, a.LockedUntil = 7, ptr(at(0)), ptr(at(time.Minute))
			return a, nil
		})
		noErr(t, "UpdateAttempts", err)
		events := []store.AuditEvent{
			{At: at(time.Second), TargetUserID: u.ID, OrgID: org.ID, Event: "signin.second_factor", Outcome: "success"},
			{At: at(time.Second), TargetUserID: u.ID, OrgID: org.ID, Event: "signin.completed", Outcome: "success"},
		}
		sess, ok, err := s.CompleteSignIn(ctx(t), f.ID, at(time.Second), store.Session{TokenHash: []byte("s"), UserID: u.ID,
			CreatedAt: at(time.Second), LastSeenAt: at(time.Second), ExpiresAt: at(24 * time.Hour), AMR: []string{"pwd", "otp"}}, events)
		noErr(t, "CompleteSignIn", err)
		if !ok || sess.ID == "" {
			t.Fatalf("CompleteSignIn = %+v, %v", sess, ok)
		}
		got, err := s.GetSessionByTokenHash(ctx(t), []byte("s"))
		noErr(t, "GetSessionByTokenHash", err)
		if got.ID != sess.ID || len(got.AMR) != 2 {
			t.Errorf("session = %+v", got)
		}
		fl, _ := s.GetFlowByTokenHash(ctx(t), []byte("f"))
		if fl.ConsumedAt == nil {
			t.Error("the flow is not consumed")
		}
		a, _ := s.GetAttempts(ctx(t), u.ID)
		if a.Failures != 0 || a.LockedUntil != nil || a.LastFailureAt != nil {
			t.Errorf("attempts after completion = %+v", a)
		}
		evs, _ := s.ListAudit(ctx(t), store.AuditFilter{UserID: u.ID})
		if len(evs) != 2 {
			t.Errorf("%d audit events, want 2", len(evs))
		}
	}},
	{"a consumed flow completes nothing", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		f := mustFlow(t, s, u, "f", at(time.Hour))
		won, err := s.ConsumeFlow(ctx(t), f.ID, at(0))
		noErr(t, "ConsumeFlow", err)
		if !won {
			t.Fatal("ConsumeFlow lost on a fresh flow")
		}
		_, ok, err := s.CompleteSignIn(ctx(t), f.ID, at(time.Second), store.Session{TokenHash: []byte("s"), UserID: u.ID,
			ExpiresAt: at(time.Hour)}, []store.AuditEvent{{At: at(0), Event: "x", Outcome: "success", TargetUserID: u.ID}})
		noErr(t, "CompleteSignIn", err)
		if ok {
			t.Fatal("a consumed flow completed")
		}
		if _, err := s.GetSessionByTokenHash(ctx(t), []byte("s")); err == nil {
			t.Fatal("a session was created for a consumed flow")
		}
		if evs, _ := s.ListAudit(ctx(t), store.AuditFilter{UserID: u.ID}); len(evs) != 0 {
			t.Fatalf("%d audit events written for a consumed flow", len(evs))
		}
		if _, ok, _ := s.CompleteSignIn(ctx(t), "no-such-flow", at(0), store.Session{TokenHash: []byte("t"), UserID: u.ID, ExpiresAt: at(time.Hour)}, nil); ok {
			t.Fatal("an unknown flow completed")
		}
	}},
	{"50 parallel completions of one flow: exactly one wins", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		f := mustFlow(t, s, u, "f", at(time.Hour))
		var wins atomic.Int64
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Go(func() {
				_, ok, err := s.CompleteSignIn(ctx(t), f.ID, at(0), store.Session{TokenHash: fmt.Appendf(nil, "s%d", i), UserID: u.ID, ExpiresAt: at(time.Hour)}, nil)
				if err != nil {
					t.Errorf("CompleteSignIn: %v", err)
				}
				if ok {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d completions won, want 1", wins.Load())
		}
		live, _ := s.ListSessions(ctx(t), u.ID, at(0))
		if len(live) != 1 {
			t.Fatalf("%d sessions, want 1", len(live))
		}
	}},
}
