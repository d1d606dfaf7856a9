package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

func deviceID(d store.Device) string { return d.ID }

// mustDevice registers a device of u through a new mobile client, with the
// first token hash tok and the sign-in session sess (may be "").
func mustDevice(t *testing.T, s store.Store, u store.User, tok, sess string) store.Device {
	t.Helper()
	org, err := s.GetOrg(ctx(t), u.OrgID)
	noErr(t, "GetOrg", err)
	c, err := s.CreateClient(ctx(t), store.Client{OrgID: org.ID, Name: "App " + tok, Kind: store.ClientMobile, CreatedAt: at(0), UpdatedAt: at(0)})
	noErr(t, "CreateClient", err)
	f := mustFlow(t, s, u, "flow "+tok, at(time.Hour))
	d, err := s.CreateDevice(ctx(t), store.Device{UserID: u.ID, ClientID: c.ID, Kind: store.DeviceMobile, Name: "Phone " + tok,
		Platform: "iOS 18", FlowID: f.ID, CreatedAt: at(0)})
	noErr(t, "CreateDevice", err)
	d, err = s.RegisterDevice(ctx(t), d.ID, u.SecurityVersion, store.DeviceToken{TokenHash: []byte(tok), CreatedAt: at(time.Second)},
		sess, "192.0.2.1", at(time.Second))
	noErr(t, "RegisterDevice", err)
	return d
}

// deviceSession is a session record for OpenDeviceSession.
func deviceSession(u store.User, tok string) store.Session {
	return store.Session{TokenHash: []byte(tok), UserID: u.ID, CreatedAt: at(time.Minute), ExpiresAt: at(time.Hour),
		AMR: []string{"swk", "mfa"}, IP: "198.51.100.7", UserVersion: u.SecurityVersion}
}

func sessionRevoked(t *testing.T, s store.Store, id string) bool {
	t.Helper()
	sess, err := s.GetSession(ctx(t), id)
	noErr(t, "GetSession", err)
	return sess.RevokedAt != nil
}

var deviceTests = []subtest{
	{"a pending device is found by its flow, registers once and is then listed", func(t *testing.T, s store.Store) {
		root, u := mustFixture(t, s)
		c, err := s.CreateClient(ctx(t), store.Client{OrgID: root.ID, Name: "Sync", Kind: store.ClientAgent, CreatedAt: at(0), UpdatedAt: at(0)})
		noErr(t, "CreateClient", err)
		f := mustFlow(t, s, u, "flow", at(time.Hour))
		_, err = s.CreateDevice(ctx(t), store.Device{UserID: "nobody", ClientID: c.ID, Kind: store.DeviceAgent, Name: "x", FlowID: f.ID})
		wantErr(t, "CreateDevice for an unknown user", err, store.ErrNotFound)
		d, err := s.CreateDevice(ctx(t), store.Device{UserID: u.ID, ClientID: c.ID, Kind: store.DeviceAgent, Name: "Alice's MacBook — sync agent",
			Platform: "macOS 15", FlowID: f.ID, CreatedAt: at(0)})
		noErr(t, "CreateDevice", err)
		if list, _ := s.ListDevices(ctx(t), u.ID); len(list) != 0 {
			t.Fatalf("ListDevices lists a pending device: %v", list)
		}
		p, err := s.PendingDevice(ctx(t), f.ID)
		noErr(t, "PendingDevice", err)
		if p.ID != d.ID || p.Live() {
			t.Fatalf("PendingDevice = %+v, want pending %s", p, d.ID)
		}
		sess := mustSession(t, s, u, "sess", at(0), at(time.Hour))
		var wins atomic.Int64
		errs := parallel(racers, func(i int) error {
			_, err := s.RegisterDevice(ctx(t), d.ID, u.SecurityVersion, store.DeviceToken{TokenHash: []byte(fmt.Sprint("tok", i))},
				sess.ID, "192.0.2.1", at(time.Second))
			if err == nil {
				wins.Add(1)
			} else if !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrConflict) {
				return err
			}
			return nil
		})
		noErrs(t, "RegisterDevice", errs)
		if wins.Load() != 1 {
			t.Fatalf("%d of %d RegisterDevice calls won, want 1", wins.Load(), racers)
		}
		_, err = s.PendingDevice(ctx(t), f.ID)
		wantErr(t, "PendingDevice after registration", err, store.ErrNotFound)
		got, err := s.GetDevice(ctx(t), d.ID)
		noErr(t, "GetDevice", err)
		if !got.Live() || got.Kind != store.DeviceAgent || got.Name != "Alice's MacBook — sync agent" || got.Platform != "macOS 15" ||
			got.ClientID != c.ID || got.LastIP != "192.0.2.1" || got.FlowID != "" {
			t.Fatalf("GetDevice = %+v", got)
		}
		samePtrTime(t, "RegisteredAt", got.RegisteredAt, ptr(at(time.Second)))
		sameTime(t, "CreatedAt", got.CreatedAt, at(0))
		if id, err := s.SessionDevice(ctx(t), sess.ID); err != nil || id != d.ID {
			t.Fatalf("SessionDevice = %q, %v; want %s", id, err, d.ID)
		}
		other := mustSession(t, s, u, "other", at(0), at(time.Hour))
		_, err = s.SessionDevice(ctx(t), other.ID)
		wantErr(t, "SessionDevice of a plain session", err, store.ErrNotFound)
		list, err := s.ListDevices(ctx(t), u.ID)
		noErr(t, "ListDevices", err)
		sameIDs(t, "ListDevices", ids(list, deviceID), []string{d.ID})
		// Revoking the device revokes the sign-in session linked to it.
		ok, err := s.RevokeDevice(ctx(t), d.ID, at(time.Hour), "removed by user")
		if err != nil || !ok {
			t.Fatalf("RevokeDevice = %v, %v", ok, err)
		}
		if ok, _ := s.RevokeDevice(ctx(t), d.ID, at(time.Hour), "again"); ok {
			t.Error("RevokeDevice twice reported true")
		}
		if !sessionRevoked(t, s, sess.ID) {
			t.Error("the session linked to the device survived its revocation")
		}
		if list, _ := s.ListDevices(ctx(t), u.ID); len(list) != 0 {
			t.Errorf("ListDevices lists a revoked device")
		}
	}},
	{"a device is not registered for a changed or disabled user", func(t *testing.T, s store.Store) {
		root, u := mustFixture(t, s)
		c, err := s.CreateClient(ctx(t), store.Client{OrgID: root.ID, Name: "Mail", Kind: store.ClientAddIn, CreatedAt: at(0), UpdatedAt: at(0)})
		noErr(t, "CreateClient", err)
		f := mustFlow(t, s, u, "flow", at(time.Hour))
		d, err := s.CreateDevice(ctx(t), store.Device{UserID: u.ID, ClientID: c.ID, Kind: store.DeviceAddIn, Name: "Outlook", FlowID: f.ID})
		noErr(t, "CreateDevice", err)
		_, err = s.RegisterDevice(ctx(t), d.ID, u.SecurityVersion+1, store.DeviceToken{TokenHash: []byte("t")}, "", "", at(0))
		wantErr(t, "RegisterDevice with a stale version", err, store.ErrStale)
		_, _, err = s.PatchUser(ctx(t), u.ID, store.UserChange{Disabled: ptr(true)}, at(0))
		noErr(t, "PatchUser", err)
		cur, _ := s.GetUser(ctx(t), u.ID)
		_, err = s.RegisterDevice(ctx(t), d.ID, cur.SecurityVersion, store.DeviceToken{TokenHash: []byte("t")}, "", "", at(0))
		if !errors.Is(err, store.ErrStale) && !errors.Is(err, store.ErrNotFound) { // disabling revoked the pending device
			t.Fatalf("RegisterDevice for a disabled user: %v, want ErrStale or ErrNotFound", err)
		}
		if got, _ := s.GetDevice(ctx(t), d.ID); got.Live() {
			t.Fatal("a device was registered for a disabled user")
		}
	}},
	{"a device token opens one session and is replaced; the old one then revokes the device", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		d := mustDevice(t, s, u, "t0", "")
		_, err := s.OpenDeviceSession(ctx(t), d.ID, []byte("nope"), store.DeviceToken{TokenHash: []byte("t1")}, deviceSession(u, "s1"), at(time.Minute))
		wantErr(t, "OpenDeviceSession with an unknown token", err, store.ErrNotFound)
		tok, err := s.GetDeviceToken(ctx(t), d.ID, []byte("t0"))
		noErr(t, "GetDeviceToken", err)
		if tok.UsedAt != nil {
			t.Fatalf("a fresh token is used: %+v", tok)
		}
		sess, err := s.OpenDeviceSession(ctx(t), d.ID, []byte("t0"), store.DeviceToken{TokenHash: []byte("t1")}, deviceSession(u, "s1"), at(time.Minute))
		noErr(t, "OpenDeviceSession", err)
		if id, _ := s.SessionDevice(ctx(t), sess.ID); id != d.ID {
			t.Errorf("SessionDevice of an opened session = %q, want %s", id, d.ID)
		}
		got, _ := s.GetDevice(ctx(t), d.ID)
		samePtrTime(t, "LastUsedAt", got.LastUsedAt, ptr(at(time.Minute)))
		if got.LastIP != "198.51.100.7" {
			t.Errorf("LastIP = %q", got.LastIP)
		}
		sess2, err := s.OpenDeviceSession(ctx(t), d.ID, []byte("t1"), store.DeviceToken{TokenHash: []byte("t2")}, deviceSession(u, "s2"), at(2*time.Minute))
		noErr(t, "OpenDeviceSession with the successor", err)
		_, err = s.OpenDeviceSession(ctx(t), d.ID, []byte("t0"), store.DeviceToken{TokenHash: []byte("t3")}, deviceSession(u, "s3"), at(3*time.Minute))
		wantErr(t, "OpenDeviceSession with a used token", err, store.ErrTokenReused)
		got, _ = s.GetDevice(ctx(t), d.ID)
		if got.RevokedAt == nil {
			t.Fatal("a reused token left its device live")
		}
		if !sessionRevoked(t, s, sess.ID) || !sessionRevoked(t, s, sess2.ID) {
			t.Error("a reused token left sessions of its device live")
		}
		_, err = s.OpenDeviceSession(ctx(t), d.ID, []byte("t2"), store.DeviceToken{TokenHash: []byte("t4")}, deviceSession(u, "s4"), at(4*time.Minute))
		wantErr(t, "OpenDeviceSession on a revoked device", err, store.ErrDeviceRevoked)
	}},
	{"50 parallel uses of one device token: one opens a session, the reuse revokes the family", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		for r := range 5 {
			d := mustDevice(t, s, u, fmt.Sprint("r", r), "")
			var wins, reused, revoked atomic.Int64
			errs := parallel(racers, func(i int) error {
				_, err := s.OpenDeviceSession(ctx(t), d.ID, []byte(fmt.Sprint("r", r)), store.DeviceToken{TokenHash: []byte(fmt.Sprint("r", r, "n", i))},
					deviceSession(u, fmt.Sprint("r", r, "s", i)), at(time.Minute))
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, store.ErrTokenReused):
					reused.Add(1)
				case errors.Is(err, store.ErrDeviceRevoked):
					revoked.Add(1)
				default:
					return err
				}
				return nil
			})
			noErrs(t, "OpenDeviceSession", errs)
			if wins.Load() != 1 || reused.Load() == 0 {
				t.Fatalf("round %d: %d wins, %d reuses, %d on a revoked device; want exactly 1 win and some reuse", r, wins.Load(), reused.Load(), revoked.Load())
			}
			got, _ := s.GetDevice(ctx(t), d.ID)
			if got.RevokedAt == nil || got.RevokeReason != "device token reused" {
				t.Fatalf("round %d: the device after a reuse = %+v, want revoked", r, got)
			}
		}
	}},
	{"a device session is refused for a changed user", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		d := mustDevice(t, s, u, "t0", "")
		sess := deviceSession(u, "s")
		sess.UserVersion++
		_, err := s.OpenDeviceSession(ctx(t), d.ID, []byte("t0"), store.DeviceToken{TokenHash: []byte("t1")}, sess, at(time.Minute))
		wantErr(t, "OpenDeviceSession with a stale version", err, store.ErrStale)
		if tok, _ := s.GetDeviceToken(ctx(t), d.ID, []byte("t0")); tok.UsedAt != nil {
			t.Error("a refused session used the token")
		}
	}},
	{"UpdateDevice stores the passcode and its failures and can revoke", func(t *testing.T, s store.Store) {
		_, u := mustFixture(t, s)
		sess := mustSession(t, s, u, "sess", at(0), at(time.Hour))
		d := mustDevice(t, s, u, "t0", sess.ID)
		got, err := s.UpdateDevice(ctx(t), d.ID, func(d store.Device) (store.Device, error) {
			d.PasscodeHash, d.PasscodeFailures = "hash", 2
			return d, nil
		})
		noErr(t, "UpdateDevice", err)
		if got.PasscodeHash != "hash" || got.PasscodeFailures != 2 {
			t.Fatalf("UpdateDevice = %+v", got)
		}
		_, err = s.UpdateDevice(ctx(t), d.ID, func(store.Device) (store.Device, error) { return store.Device{}, errRefused })
		wantErr(t, "UpdateDevice with a refusing fn", err, errRefused)
		// 50 parallel increments are serialized.
		errs := parallel(racers, func(int) error {
			_, err := s.UpdateDevice(ctx(t), d.ID, func(d store.Device) (store.Device, error) { d.PasscodeFailures++; return d, nil })
			return err
		})
		noErrs(t, "UpdateDevice", errs)
		got, _ = s.GetDevice(ctx(t), d.ID)
		if got.PasscodeHash != "hash" || got.PasscodeFailures != 2+racers {
			t.Fatalf("after %d increments: %+v", racers, got)
		}
		_, err = s.UpdateDevice(ctx(t), d.ID, func(d store.Device) (store.Device, error) {
			d.RevokedAt, d.RevokeReason = ptr(at(time.Hour)), "too many wrong passcodes"
			return d, nil
		})
		noErr(t, "UpdateDevice revoking", err)
		got, _ = s.GetDevice(ctx(t), d.ID)
		if got.RevokedAt == nil || got.RevokeReason != "too many wrong passcodes" {
			t.Fatalf("UpdateDevice did not revoke: %+v", got)
		}
		if !sessionRevoked(t, s, sess.ID) {
			t.Error("revoking by UpdateDevice left the device's session live")
		}
	}},
	{"a password change, an MFA reset and disabling revoke every device", func(t *testing.T, s store.Store) {
		root, _ := mustFixture(t, s)
		for _, tc := range []struct {
			name   string
			change func(u store.User) error
			reason string
		}{
			{"password", func(u store.User) error { return s.SetPassword(ctx(t), u.ID, "new", at(time.Hour)) }, "password changed"},
			{"mfa", func(u store.User) error { return s.ResetUserMFA(ctx(t), u.ID, at(time.Hour)) }, "mfa reset"},
			{"disable", func(u store.User) error {
				_, _, err := s.PatchUser(ctx(t), u.ID, store.UserChange{Disabled: ptr(true)}, at(time.Hour))
				return err
			}, "user disabled"},
		} {
			u := mustUser(t, s, root, "u-"+tc.name)
			sess := mustSession(t, s, u, "sess-"+tc.name, at(0), at(2*time.Hour))
			a := mustDevice(t, s, u, tc.name+"a", sess.ID)
			b := mustDevice(t, s, u, tc.name+"b", "")
			other := mustUser(t, s, root, "other-"+tc.name)
			keep := mustDevice(t, s, other, tc.name+"keep", "")
			noErr(t, tc.name, tc.change(u))
			for _, d := range []store.Device{a, b} {
				got, _ := s.GetDevice(ctx(t), d.ID)
				if got.RevokedAt == nil || got.RevokeReason != tc.reason {
					t.Errorf("%s: device after the change = %+v, want revoked with %q", tc.name, got, tc.reason)
				}
			}
			if !sessionRevoked(t, s, sess.ID) {
				t.Errorf("%s: the device's session survived", tc.name)
			}
			evs, err := s.ListAudit(ctx(t), store.AuditFilter{UserID: u.ID, Event: "device.remove"})
			noErr(t, "ListAudit", err)
			if len(evs) != 2 || !strings.Contains(evs[0].Detail, tc.reason) || evs[0].OrgID != root.ID || evs[0].TargetUserID != u.ID {
				t.Errorf("%s: audit of the removals = %+v, want 2 device.remove events", tc.name, evs)
			}
			if got, _ := s.GetDevice(ctx(t), keep.ID); got.RevokedAt != nil {
				t.Errorf("%s: another user's device was revoked", tc.name)
			}
		}
		u := mustUser(t, s, root, "bulk")
		mustDevice(t, s, u, "bulk1", "")
		mustDevice(t, s, u, "bulk2", "")
		n, err := s.RevokeUserDevices(ctx(t), u.ID, at(time.Hour), "removed by admin")
		if err != nil || n != 2 {
			t.Fatalf("RevokeUserDevices = %d, %v; want 2", n, err)
		}
	}},
	{"old pending and revoked devices are deleted", func(t *testing.T, s store.Store) {
		root, u := mustFixture(t, s)
		live := mustDevice(t, s, u, "live", "")
		gone := mustDevice(t, s, u, "gone", "")
		_, err := s.RevokeDevice(ctx(t), gone.ID, at(time.Minute), "x")
		noErr(t, "RevokeDevice", err)
		c, _ := s.CreateClient(ctx(t), store.Client{OrgID: root.ID, Name: "P", Kind: store.ClientMobile})
		f := mustFlow(t, s, u, "pf", at(time.Hour))
		pending, err := s.CreateDevice(ctx(t), store.Device{UserID: u.ID, ClientID: c.ID, Kind: store.DeviceMobile, Name: "p", FlowID: f.ID, CreatedAt: at(0)})
		noErr(t, "CreateDevice", err)
		n, err := s.DeleteOldDevices(ctx(t), at(time.Hour))
		if err != nil || n != 2 {
			t.Fatalf("DeleteOldDevices = %d, %v; want 2", n, err)
		}
		for _, id := range []string{gone.ID, pending.ID} {
			_, err := s.GetDevice(ctx(t), id)
			wantErr(t, "GetDevice of a deleted device", err, store.ErrNotFound)
		}
		if _, err := s.GetDevice(ctx(t), live.ID); err != nil {
			t.Errorf("a live device was deleted: %v", err)
		}
	}},
	{"a device authorization: by user code, polls no faster than the interval, decided once, redeemed once", func(t *testing.T, s store.Store) {
		root, u := mustFixture(t, s)
		c, err := s.CreateClient(ctx(t), store.Client{OrgID: root.ID, Name: "Agent", Kind: store.ClientAgent, CreatedAt: at(0), UpdatedAt: at(0)})
		noErr(t, "CreateClient", err)
		in := store.DeviceAuthorization{ID: "da1", ClientID: c.ID, DeviceCodeHash: []byte("dc"), UserCode: "BCDFGHJK",
			Scopes: []string{"openid", "offline_access"}, CreatedAt: at(0), ExpiresAt: at(10 * time.Minute)}
		noErr(t, "CreateDeviceAuthorization", s.CreateDeviceAuthorization(ctx(t), in))
		dup := in
		dup.ID, dup.DeviceCodeHash = "da2", []byte("dc2")
		wantErr(t, "a second authorization with the same user code", s.CreateDeviceAuthorization(ctx(t), dup), store.ErrConflict)
		got, err := s.GetDeviceAuthorizationByUserCode(ctx(t), "BCDFGHJK")
		noErr(t, "GetDeviceAuthorizationByUserCode", err)
		if got.ID != "da1" || got.ClientID != c.ID || got.DecidedAt != nil || len(got.Scopes) != 2 {
			t.Fatalf("GetDeviceAuthorizationByUserCode = %+v", got)
		}
		_, _, err = s.PollDeviceAuthorization(ctx(t), "other-client", []byte("dc"), at(time.Second), 5*time.Second)
		wantErr(t, "a poll by another client", err, store.ErrNotFound)
		if _, fast, err := s.PollDeviceAuthorization(ctx(t), c.ID, []byte("dc"), at(time.Second), 5*time.Second); err != nil || fast {
			t.Fatalf("first poll: fast=%v err=%v", fast, err)
		}
		if _, fast, _ := s.PollDeviceAuthorization(ctx(t), c.ID, []byte("dc"), at(3*time.Second), 5*time.Second); !fast {
			t.Fatal("a poll 2 s after the last with a 5 s interval is not too fast")
		}
		if _, fast, _ := s.PollDeviceAuthorization(ctx(t), c.ID, []byte("dc"), at(6*time.Second), 5*time.Second); fast {
			t.Fatal("a poll 5 s after the last recorded one is too fast")
		}
		wins := countWins(t, racers, func(i int) (bool, error) {
			return s.DecideDeviceAuthorization(ctx(t), "da1", i >= 0, u.ID, "sess", []string{"pwd", "mfa", "otp"}, at(time.Minute), at(time.Minute))
		})
		if wins != 1 {
			t.Fatalf("%d of %d decisions won, want 1", wins, racers)
		}
		got, _ = s.GetDeviceAuthorizationByUserCode(ctx(t), "BCDFGHJK")
		if got.DecidedAt == nil || got.UserID != u.ID || got.SessionID != "sess" || len(got.AMR) != 3 {
			t.Fatalf("after the decision: %+v", got)
		}
		if !got.Approved {
			ok, err := s.RedeemDeviceAuthorization(ctx(t), "da1", at(2*time.Minute), store.Grant{ID: "g", ClientID: c.ID, UserID: u.ID},
				store.AccessToken{ID: "a", GrantID: "g", ExpiresAt: at(time.Hour)}, nil)
			if err != nil || ok {
				t.Fatalf("redeeming a denied authorization = %v, %v", ok, err)
			}
			return
		}
		wins = countWins(t, racers, func(i int) (bool, error) {
			g := fmt.Sprint("g", i)
			return s.RedeemDeviceAuthorization(ctx(t), "da1", at(2*time.Minute), store.Grant{ID: g, ClientID: c.ID, UserID: u.ID,
				SessionID: "sess", Scopes: []string{"openid"}, AMR: []string{"mfa"}, AuthTime: at(time.Minute), CreatedAt: at(2 * time.Minute)},
				store.AccessToken{ID: "a" + g, GrantID: g, CreatedAt: at(2 * time.Minute), ExpiresAt: at(time.Hour)},
				&store.RefreshToken{ID: "r" + g, GrantID: g, TokenHash: []byte("r" + g), CreatedAt: at(2 * time.Minute), ExpiresAt: at(time.Hour)})
		})
		if wins != 1 {
			t.Fatalf("%d of %d redemptions won, want 1", wins, racers)
		}
	}},
	{"a device authorization cannot be decided after it expired", func(t *testing.T, s store.Store) {
		root, u := mustFixture(t, s)
		c, _ := s.CreateClient(ctx(t), store.Client{OrgID: root.ID, Name: "Agent", Kind: store.ClientAgent, CreatedAt: at(0), UpdatedAt: at(0)})
		noErr(t, "CreateDeviceAuthorization", s.CreateDeviceAuthorization(ctx(t), store.DeviceAuthorization{ClientID: c.ID,
			DeviceCodeHash: []byte("x"), UserCode: "XXXX", CreatedAt: at(0), ExpiresAt: at(time.Minute)}))
		a, _ := s.GetDeviceAuthorizationByUserCode(ctx(t), "XXXX")
		if ok, err := s.DecideDeviceAuthorization(ctx(t), a.ID, true, u.ID, "s", nil, at(2*time.Minute), at(2*time.Minute)); err != nil || ok {
			t.Fatalf("deciding an expired authorization = %v, %v", ok, err)
		}
	}},
	{"a client keeps its device rules", func(t *testing.T, s store.Store) {
		root, _ := mustFixture(t, s)
		rules := store.DeviceRules{SessionCode: "every", Passcode: "required", SessionLifetime: 10 * time.Minute}
		c, err := s.CreateClient(ctx(t), store.Client{OrgID: root.ID, Name: "Mail", Kind: store.ClientAddIn, DeviceRules: rules, CreatedAt: at(0), UpdatedAt: at(0)})
		noErr(t, "CreateClient", err)
		got, err := s.GetClient(ctx(t), c.ID)
		noErr(t, "GetClient", err)
		if got.DeviceRules != rules {
			t.Fatalf("DeviceRules = %+v, want %+v", got.DeviceRules, rules)
		}
		got.DeviceRules = store.DeviceRules{SessionCode: "never"}
		up, err := s.UpdateClient(ctx(t), got)
		noErr(t, "UpdateClient", err)
		if up.DeviceRules != (store.DeviceRules{SessionCode: "never"}) {
			t.Fatalf("after UpdateClient: %+v", up.DeviceRules)
		}
		plain := mustClient(t, s, root, "Plain")
		if got, _ := s.GetClient(ctx(t), plain.ID); got.DeviceRules != (store.DeviceRules{}) {
			t.Fatalf("a client without rules reads %+v", got.DeviceRules)
		}
	}},
}
