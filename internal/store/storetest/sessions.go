package storetest

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

func sessionID(s store.Session) string { return s.ID }

// mustSession creates a session of u whose token hash is token.
func mustSession(t *testing.T, s store.Store, u store.User, token string, created, expires time.Time) store.Session {
	t.Helper()
	sess, err := s.CreateSession(ctx(t), store.Session{
		ID: store.NewID(), TokenHash: []byte(token), UserID: u.ID, CreatedAt: created, LastSeenAt: created,
		ExpiresAt: expires, AMR: []string{"pwd"},
	})
	if err != nil {
		t.Fatalf("CreateSession(%s): %v", token, err)
	}
	return sess
}

// mustFlow creates a flow of u whose token hash is token.
func mustFlow(t *testing.T, s store.Store, u store.User, token string, expires time.Time) store.Flow {
	t.Helper()
	f, err := s.CreateFlow(ctx(t), store.Flow{
		ID: store.NewID(), TokenHash: []byte(token), UserID: u.ID, Kind: store.FlowMFA, CreatedAt: at(0), ExpiresAt: expires,
	})
	if err != nil {
		t.Fatalf("CreateFlow(%s): %v", token, err)
	}
	return f
}

var sessionTests = []subtest{
	{"create and get round trip", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		in := store.Session{
			ID: store.NewID(), TokenHash: []byte{0, 1, 2, 0xff, 0}, UserID: u.ID,
			CreatedAt: at(0), LastSeenAt: at(time.Second), ExpiresAt: at(12 * time.Hour),
			AMR: []string{"pwd", "otp"}, MFAAt: ptr(at(time.Second)), IP: "2001:db8::1", UserAgent: "Firefox/140",
		}
		created, err := s.CreateSession(ctx(t), in)
		noErr(t, "CreateSession", err)
		if created.ID != in.ID {
			t.Errorf("CreateSession ID = %q, want %q", created.ID, in.ID)
		}
		check := func(what string, got store.Session) {
			t.Helper()
			if got.ID != in.ID || string(got.TokenHash) != string(in.TokenHash) || got.UserID != u.ID ||
				!slices.Equal(got.AMR, in.AMR) || got.IP != in.IP || got.UserAgent != in.UserAgent ||
				got.RevokedAt != nil || got.RevokeReason != "" {
				t.Errorf("%s = %+v, want %+v", what, got, in)
			}
			sameTime(t, what+".CreatedAt", got.CreatedAt, in.CreatedAt)
			sameTime(t, what+".LastSeenAt", got.LastSeenAt, in.LastSeenAt)
			sameTime(t, what+".ExpiresAt", got.ExpiresAt, in.ExpiresAt)
			samePtrTime(t, what+".MFAAt", got.MFAAt, in.MFAAt)
			isUTC(t, what+".ExpiresAt", got.ExpiresAt)
		}
		got, err := s.GetSessionByTokenHash(ctx(t), in.TokenHash)
		noErr(t, "GetSessionByTokenHash", err)
		check("GetSessionByTokenHash", got)
		got, err = s.GetSession(ctx(t), in.ID)
		noErr(t, "GetSession", err)
		check("GetSession", got)

		_, err = s.GetSessionByTokenHash(ctx(t), []byte{0, 1, 2, 0xff})
		wantErr(t, "GetSessionByTokenHash(prefix of a hash)", err, store.ErrNotFound)
		_, err = s.GetSession(ctx(t), store.NewID())
		wantErr(t, "GetSession(unknown)", err, store.ErrNotFound)
	}},
	{"duplicate token hash is a conflict", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		mustSession(t, s, u, "tok", at(0), at(time.Hour))
		_, err := s.CreateSession(ctx(t), store.Session{ID: store.NewID(), TokenHash: []byte("tok"), UserID: u.ID,
			CreatedAt: at(0), LastSeenAt: at(0), ExpiresAt: at(time.Hour)})
		wantErr(t, "CreateSession(same token hash)", err, store.ErrConflict)
	}},
	{"list excludes revoked and expired, newest first", func(t *testing.T, s store.Store) {
		root, u := mustFixture(t, s)
		other := mustUser(t, s, root, "bob")
		now := at(10 * time.Hour)
		old := mustSession(t, s, u, "old", at(1*time.Hour), at(20*time.Hour))
		newest := mustSession(t, s, u, "newest", at(3*time.Hour), at(20*time.Hour))
		mid := mustSession(t, s, u, "mid", at(2*time.Hour), at(20*time.Hour))
		mustSession(t, s, u, "expired", at(4*time.Hour), at(9*time.Hour))
		revoked := mustSession(t, s, u, "revoked", at(5*time.Hour), at(20*time.Hour))
		mustSession(t, s, other, "bobs", at(6*time.Hour), at(20*time.Hour))
		noErr(t, "RevokeSession", s.RevokeSession(ctx(t), revoked.ID, at(6*time.Hour), "logout"))
		got, err := s.ListSessions(ctx(t), u.ID, now)
		noErr(t, "ListSessions", err)
		sameIDs(t, "ListSessions", ids(got, sessionID), []string{newest.ID, mid.ID, old.ID})
		got, err = s.ListSessions(ctx(t), store.NewID(), now)
		noErr(t, "ListSessions(unknown user)", err)
		if len(got) != 0 {
			t.Errorf("ListSessions(unknown user) = %d sessions", len(got))
		}
	}},
	{"touch sets last seen", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		sess := mustSession(t, s, u, "t", at(0), at(time.Hour))
		noErr(t, "TouchSession", s.TouchSession(ctx(t), sess.ID, at(30*time.Minute)))
		got, err := s.GetSession(ctx(t), sess.ID)
		noErr(t, "GetSession", err)
		sameTime(t, "LastSeenAt", got.LastSeenAt, at(30*time.Minute))
		sameTime(t, "CreatedAt", got.CreatedAt, at(0))
		sameTime(t, "ExpiresAt", got.ExpiresAt, at(time.Hour))
		wantErr(t, "TouchSession(unknown)", s.TouchSession(ctx(t), store.NewID(), at(0)), store.ErrNotFound)
	}},
	{"mark mfa records the check and nothing else", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		sess := mustSession(t, s, u, "m", at(0), at(time.Hour))
		noErr(t, "MarkSessionMFA", s.MarkSessionMFA(ctx(t), sess.ID, []string{"pwd", "mfa", "otp"}, at(10*time.Minute)))
		got, err := s.GetSession(ctx(t), sess.ID)
		noErr(t, "GetSession", err)
		if strings.Join(got.AMR, ",") != "pwd,mfa,otp" || got.MFAAt == nil {
			t.Fatalf("after MarkSessionMFA: amr %v, mfa_at %v", got.AMR, got.MFAAt)
		}
		sameTime(t, "MFAAt", *got.MFAAt, at(10*time.Minute))
		sameTime(t, "CreatedAt", got.CreatedAt, at(0))
		sameTime(t, "ExpiresAt", got.ExpiresAt, at(time.Hour))
		if !bytes.Equal(got.TokenHash, sess.TokenHash) {
			t.Error("MarkSessionMFA changed the token")
		}
		noErr(t, "RevokeSession", s.RevokeSession(ctx(t), sess.ID, at(11*time.Minute), "test"))
		wantErr(t, "MarkSessionMFA(revoked)", s.MarkSessionMFA(ctx(t), sess.ID, []string{"pwd"}, at(12*time.Minute)), store.ErrNotFound)
		wantErr(t, "MarkSessionMFA(unknown)", s.MarkSessionMFA(ctx(t), store.NewID(), []string{"pwd"}, at(0)), store.ErrNotFound)
	}},
	{"revoke is idempotent", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		sess := mustSession(t, s, u, "r", at(0), at(time.Hour))
		noErr(t, "RevokeSession", s.RevokeSession(ctx(t), sess.ID, at(time.Minute), "logout"))
		got, err := s.GetSessionByTokenHash(ctx(t), []byte("r"))
		noErr(t, "GetSessionByTokenHash(revoked)", err)
		samePtrTime(t, "RevokedAt", got.RevokedAt, ptr(at(time.Minute)))
		if got.RevokeReason != "logout" {
			t.Errorf("RevokeReason = %q, want logout", got.RevokeReason)
		}
		noErr(t, "RevokeSession(again)", s.RevokeSession(ctx(t), sess.ID, at(2*time.Minute), "again"))
		got, err = s.GetSession(ctx(t), sess.ID)
		noErr(t, "GetSession", err)
		if got.RevokedAt == nil {
			t.Error("second revoke un-revoked the session")
		}
		wantErr(t, "RevokeSession(unknown)", s.RevokeSession(ctx(t), store.NewID(), at(0), "x"), store.ErrNotFound)
	}},
	{"revoke user sessions except one", func(t *testing.T, s store.Store) {
		root, u := mustFixture(t, s)
		other := mustUser(t, s, root, "bob")
		now := at(2 * time.Hour)
		keep := mustSession(t, s, u, "keep", at(0), at(10*time.Hour))
		s2 := mustSession(t, s, u, "s2", at(0), at(10*time.Hour))
		s3 := mustSession(t, s, u, "s3", at(0), at(10*time.Hour))
		gone := mustSession(t, s, u, "already", at(0), at(10*time.Hour))
		mustSession(t, s, u, "expired", at(0), at(time.Hour))
		bobs := mustSession(t, s, other, "bobs", at(0), at(10*time.Hour))
		noErr(t, "RevokeSession", s.RevokeSession(ctx(t), gone.ID, at(time.Minute), "logout"))

		n, err := s.RevokeUserSessions(ctx(t), u.ID, keep.ID, now, "password.change")
		noErr(t, "RevokeUserSessions", err)
		if n != 2 {
			t.Errorf("RevokeUserSessions = %d, want 2 (live sessions other than the kept one)", n)
		}
		for _, id := range []string{s2.ID, s3.ID} {
			got, _ := s.GetSession(ctx(t), id)
			if got.RevokedAt == nil || got.RevokeReason != "password.change" {
				t.Errorf("session %s: revoked %v reason %q", id, fmtPtr(got.RevokedAt), got.RevokeReason)
			}
			samePtrTime(t, "RevokedAt", got.RevokedAt, &now)
		}
		got, _ := s.GetSession(ctx(t), gone.ID)
		if got.RevokeReason != "logout" {
			t.Errorf("already revoked session's reason rewritten to %q", got.RevokeReason)
		}
		for _, id := range []string{keep.ID, bobs.ID} {
			got, _ := s.GetSession(ctx(t), id)
			if got.RevokedAt != nil {
				t.Errorf("session %s was revoked but should not be", id)
			}
		}
		live, err := s.ListSessions(ctx(t), u.ID, now)
		noErr(t, "ListSessions", err)
		sameIDs(t, "ListSessions after revoke", ids(live, sessionID), []string{keep.ID})

		n, err = s.RevokeUserSessions(ctx(t), u.ID, "", now, "admin")
		noErr(t, "RevokeUserSessions(all)", err)
		if n != 1 {
			t.Errorf("RevokeUserSessions(all) = %d, want 1", n)
		}
	}},
	{"delete expired sessions", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		cutoff := at(10 * time.Hour)
		expired := mustSession(t, s, u, "expired", at(0), at(5*time.Hour))
		revokedEarly := mustSession(t, s, u, "revoked-early", at(0), at(20*time.Hour))
		revokedLate := mustSession(t, s, u, "revoked-late", at(0), at(20*time.Hour))
		live := mustSession(t, s, u, "live", at(0), at(20*time.Hour))
		noErr(t, "RevokeSession", s.RevokeSession(ctx(t), revokedEarly.ID, at(time.Hour), "x"))
		noErr(t, "RevokeSession", s.RevokeSession(ctx(t), revokedLate.ID, at(11*time.Hour), "x"))
		n, err := s.DeleteExpiredSessions(ctx(t), cutoff)
		noErr(t, "DeleteExpiredSessions", err)
		if n != 2 {
			t.Errorf("DeleteExpiredSessions = %d, want 2", n)
		}
		for _, id := range []string{expired.ID, revokedEarly.ID} {
			_, err := s.GetSession(ctx(t), id)
			wantErr(t, "GetSession(deleted)", err, store.ErrNotFound)
		}
		for _, id := range []string{revokedLate.ID, live.ID} {
			_, err := s.GetSession(ctx(t), id)
			noErr(t, "GetSession(kept)", err)
		}
	}},
}

var flowTests = []subtest{
	{"create and get round trip", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		in := store.Flow{ID: store.NewID(), TokenHash: []byte("flow"), UserID: u.ID, Kind: store.FlowEnroll,
			CreatedAt: at(0), ExpiresAt: at(5 * time.Minute), IP: "192.0.2.1", UserAgent: "curl"}
		_, err := s.CreateFlow(ctx(t), in)
		noErr(t, "CreateFlow", err)
		got, err := s.GetFlowByTokenHash(ctx(t), []byte("flow"))
		noErr(t, "GetFlowByTokenHash", err)
		if got.ID != in.ID || got.UserID != u.ID || got.Kind != store.FlowEnroll || got.Failures != 0 ||
			got.IP != in.IP || got.UserAgent != in.UserAgent || got.ConsumedAt != nil {
			t.Errorf("GetFlowByTokenHash = %+v, want %+v", got, in)
		}
		sameTime(t, "CreatedAt", got.CreatedAt, in.CreatedAt)
		sameTime(t, "ExpiresAt", got.ExpiresAt, in.ExpiresAt)
		_, err = s.GetFlowByTokenHash(ctx(t), []byte("nope"))
		wantErr(t, "GetFlowByTokenHash(unknown)", err, store.ErrNotFound)
		_, err = s.CreateFlow(ctx(t), store.Flow{ID: store.NewID(), TokenHash: []byte("flow"), UserID: u.ID, Kind: store.FlowMFA,
			CreatedAt: at(0), ExpiresAt: at(time.Minute)})
		wantErr(t, "CreateFlow(same token hash)", err, store.ErrConflict)
	}},
	{"add failure returns the new count", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		f := mustFlow(t, s, u, "f", at(time.Hour))
		for want := 1; want <= 3; want++ {
			n, err := s.AddFlowFailure(ctx(t), f.ID)
			noErr(t, "AddFlowFailure", err)
			if n != want {
				t.Errorf("AddFlowFailure = %d, want %d", n, want)
			}
		}
		got, _ := s.GetFlowByTokenHash(ctx(t), []byte("f"))
		if got.Failures != 3 {
			t.Errorf("Failures = %d, want 3", got.Failures)
		}
		_, err := s.AddFlowFailure(ctx(t), store.NewID())
		wantErr(t, "AddFlowFailure(unknown)", err, store.ErrNotFound)
	}},
	{"consume works once", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		f := mustFlow(t, s, u, "f", at(time.Hour))
		ok, err := s.ConsumeFlow(ctx(t), f.ID, at(time.Minute))
		noErr(t, "ConsumeFlow", err)
		if !ok {
			t.Fatal("first ConsumeFlow reported false")
		}
		ok, err = s.ConsumeFlow(ctx(t), f.ID, at(2*time.Minute))
		noErr(t, "ConsumeFlow(again)", err)
		if ok {
			t.Error("second ConsumeFlow reported true")
		}
		got, _ := s.GetFlowByTokenHash(ctx(t), []byte("f"))
		samePtrTime(t, "ConsumedAt", got.ConsumedAt, ptr(at(time.Minute)))
		if ok, _ := s.ConsumeFlow(ctx(t), store.NewID(), at(0)); ok {
			t.Error("ConsumeFlow on an unknown flow reported true")
		}
	}},
	{"delete expired flows", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		mustFlow(t, s, u, "old", at(time.Minute))
		mustFlow(t, s, u, "old2", at(2*time.Minute))
		mustFlow(t, s, u, "new", at(time.Hour))
		n, err := s.DeleteExpiredFlows(ctx(t), at(10*time.Minute))
		noErr(t, "DeleteExpiredFlows", err)
		if n != 2 {
			t.Errorf("DeleteExpiredFlows = %d, want 2", n)
		}
		_, err = s.GetFlowByTokenHash(ctx(t), []byte("old"))
		wantErr(t, "GetFlowByTokenHash(deleted)", err, store.ErrNotFound)
		_, err = s.GetFlowByTokenHash(ctx(t), []byte("new"))
		noErr(t, "GetFlowByTokenHash(kept)", err)
	}},
}
