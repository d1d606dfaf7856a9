package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

func clientID(c store.Client) string { return c.ID }

// mustClient registers a web client of org.
func mustClient(t *testing.T, s store.Store, org store.Org, name string) store.Client {
	t.Helper()
	c, err := s.CreateClient(ctx(t), store.Client{OrgID: org.ID, Name: name, Kind: store.ClientWeb,
		RedirectURIs: []string{"https://app.example/cb"}, SecretHash: []byte("hash " + name), CreatedAt: at(0), UpdatedAt: at(0)})
	if err != nil {
		t.Fatalf("CreateClient(%s): %v", name, err)
	}
	return c
}

// mustCodeRequest creates an auth request of c for u that is done and has
// the code hash code.
func mustCodeRequest(t *testing.T, s store.Store, c store.Client, u store.User, code string) store.AuthRequest {
	t.Helper()
	r, err := s.CreateAuthRequest(ctx(t), store.AuthRequest{ClientID: c.ID, Params: []byte(`{}`), CreatedAt: at(0), ExpiresAt: at(time.Hour)})
	noErr(t, "CreateAuthRequest", err)
	ok, err := s.CompleteAuthRequest(ctx(t), r.ID, u.ID, "sess", []string{"pwd", "otp", "mfa"}, at(0), at(time.Second))
	if err != nil || !ok {
		t.Fatalf("CompleteAuthRequest = %v, %v", ok, err)
	}
	ok, err = s.SetAuthCode(ctx(t), r.ID, []byte(code), at(time.Minute))
	if err != nil || !ok {
		t.Fatalf("SetAuthCode = %v, %v", ok, err)
	}
	return r
}

// grantFor is the grant a redemption of r inserts.
func grantFor(r store.AuthRequest, u store.User) store.Grant {
	return store.Grant{ID: r.ID, ClientID: r.ClientID, UserID: u.ID, SessionID: "sess", Scopes: []string{"openid"},
		AMR: []string{"pwd", "mfa"}, AuthTime: at(0), CreatedAt: at(2 * time.Second)}
}

var oidcTests = []subtest{
	{"clients round trip, list by subtree, update and delete", func(t *testing.T, s store.Store) {
		root, _ := mustFixture(t, s)
		child := mustOrg(t, s, root, "child")
		in := store.Client{OrgID: child.ID, Name: "Wiki", Kind: store.ClientNative,
			RedirectURIs: []string{"http://127.0.0.1/cb", "com.example:/cb"}, PostLogoutRedirectURIs: []string{"https://wiki/"},
			Scopes: []string{"openid", "email"}, RequireMFA: true, IDTokenAlg: "RS256", CreatedBy: "admin1", CreatedAt: at(0), UpdatedAt: at(0)}
		c, err := s.CreateClient(ctx(t), in)
		noErr(t, "CreateClient", err)
		got, err := s.GetClient(ctx(t), c.ID)
		noErr(t, "GetClient", err)
		if got.Name != "Wiki" || got.Kind != store.ClientNative || !slices.Equal(got.RedirectURIs, in.RedirectURIs) ||
			!slices.Equal(got.PostLogoutRedirectURIs, in.PostLogoutRedirectURIs) || !slices.Equal(got.Scopes, in.Scopes) ||
			!got.RequireMFA || got.SecretHash != nil || got.CreatedBy != "admin1" || got.OrgID != child.ID || got.IDTokenAlg != "RS256" {
			t.Errorf("GetClient = %+v, want %+v", got, in)
		}
		sameTime(t, "CreatedAt", got.CreatedAt, at(0))
		other := mustClient(t, s, root, "Another")

		all, err := s.ListClients(ctx(t), "")
		noErr(t, "ListClients(all)", err)
		sameIDs(t, "ListClients(all)", ids(all, clientID), []string{other.ID, c.ID})
		sub, err := s.ListClients(ctx(t), child.Path)
		noErr(t, "ListClients(child)", err)
		sameIDs(t, "ListClients(child)", ids(sub, clientID), []string{c.ID})

		got.Name, got.RedirectURIs, got.RequireMFA, got.SecretHash, got.UpdatedAt = "Wiki 2", []string{"http://localhost/x"}, false, []byte{1, 2}, at(time.Hour)
		got.IDTokenAlg = ""
		up, err := s.UpdateClient(ctx(t), got)
		noErr(t, "UpdateClient", err)
		if up.Name != "Wiki 2" || up.RequireMFA || !bytes.Equal(up.SecretHash, []byte{1, 2}) || up.Kind != store.ClientNative || up.IDTokenAlg != "" ||
			!slices.Equal(up.RedirectURIs, []string{"http://localhost/x"}) {
			t.Errorf("UpdateClient = %+v", up)
		}
		sameTime(t, "UpdatedAt", up.UpdatedAt, at(time.Hour))

		noErr(t, "DeleteClient", s.DeleteClient(ctx(t), c.ID))
		_, err = s.GetClient(ctx(t), c.ID)
		wantErr(t, "GetClient(deleted)", err, store.ErrNotFound)
		wantErr(t, "DeleteClient(again)", s.DeleteClient(ctx(t), c.ID), store.ErrNotFound)
		_, err = s.UpdateClient(ctx(t), got)
		wantErr(t, "UpdateClient(deleted)", err, store.ErrNotFound)
		_, err = s.CreateClient(ctx(t), store.Client{OrgID: store.NewID(), Name: "x", Kind: store.ClientWeb})
		wantErr(t, "CreateClient(unknown org)", err, store.ErrNotFound)
	}},
	{"an auth request completes once, gets one code, and the code is redeemed once", func(t *testing.T, s store.Store) {
		root, u := mustFixture(t, s)
		c := mustClient(t, s, root, "App")
		r, err := s.CreateAuthRequest(ctx(t), store.AuthRequest{ClientID: c.ID, Params: []byte(`{"a":1}`), CreatedAt: at(0), ExpiresAt: at(time.Hour)})
		noErr(t, "CreateAuthRequest", err)
		got, err := s.GetAuthRequest(ctx(t), r.ID)
		noErr(t, "GetAuthRequest", err)
		if string(got.Params) != `{"a":1}` || got.DoneAt != nil || got.UserID != "" || got.CodeHash != nil {
			t.Errorf("GetAuthRequest = %+v", got)
		}
		if ok, err := s.SetAuthCode(ctx(t), r.ID, []byte("code"), at(time.Minute)); err != nil || ok {
			t.Errorf("SetAuthCode before completion = %v, %v; want false", ok, err)
		}
		ok, err := s.CompleteAuthRequest(ctx(t), r.ID, u.ID, "sess1", []string{"pwd", "otp", "mfa"}, at(-time.Minute), at(time.Second))
		if err != nil || !ok {
			t.Fatalf("CompleteAuthRequest = %v, %v", ok, err)
		}
		if ok, _ := s.CompleteAuthRequest(ctx(t), r.ID, "someone", "sess2", nil, at(0), at(0)); ok {
			t.Error("CompleteAuthRequest twice succeeded")
		}
		if ok, err := s.SetAuthCode(ctx(t), r.ID, []byte("code"), at(time.Minute)); err != nil || !ok {
			t.Fatalf("SetAuthCode = %v, %v", ok, err)
		}
		if ok, _ := s.SetAuthCode(ctx(t), r.ID, []byte("code2"), at(time.Minute)); ok {
			t.Error("SetAuthCode twice succeeded")
		}
		got, err = s.GetAuthRequestByCode(ctx(t), []byte("code"))
		noErr(t, "GetAuthRequestByCode", err)
		if got.ID != r.ID || got.UserID != u.ID || got.SessionID != "sess1" || !slices.Equal(got.AMR, []string{"pwd", "otp", "mfa"}) {
			t.Errorf("GetAuthRequestByCode = %+v", got)
		}
		samePtrTime(t, "AuthTime", got.AuthTime, ptr(at(-time.Minute)))
		samePtrTime(t, "CodeExpiresAt", got.CodeExpiresAt, ptr(at(time.Minute)))
		_, err = s.GetAuthRequestByCode(ctx(t), []byte("code2"))
		wantErr(t, "GetAuthRequestByCode(other)", err, store.ErrNotFound)

		g := grantFor(r, u)
		a := store.AccessToken{ID: store.NewID(), GrantID: g.ID, CreatedAt: at(0), ExpiresAt: at(time.Hour)}
		rt := store.RefreshToken{ID: store.NewID(), GrantID: g.ID, TokenHash: []byte("rt1"), CreatedAt: at(0), ExpiresAt: at(time.Hour)}
		ok, err = s.RedeemAuthCode(ctx(t), r.ID, at(2*time.Second), g, a, &rt)
		if err != nil || !ok {
			t.Fatalf("RedeemAuthCode = %v, %v", ok, err)
		}
		ok, err = s.RedeemAuthCode(ctx(t), r.ID, at(3*time.Second), g, store.AccessToken{ID: store.NewID(), GrantID: g.ID, ExpiresAt: at(time.Hour)}, nil)
		if err != nil || ok {
			t.Errorf("RedeemAuthCode twice = %v, %v; want false, nil", ok, err)
		}
		got, _ = s.GetAuthRequest(ctx(t), r.ID)
		samePtrTime(t, "RedeemedAt", got.RedeemedAt, ptr(at(2*time.Second)))
		gg, err := s.GetGrant(ctx(t), g.ID)
		noErr(t, "GetGrant", err)
		if gg.UserID != u.ID || gg.ClientID != c.ID || !slices.Equal(gg.Scopes, g.Scopes) || !slices.Equal(gg.AMR, g.AMR) || gg.RevokedAt != nil {
			t.Errorf("GetGrant = %+v", gg)
		}
		sameTime(t, "Grant.AuthTime", gg.AuthTime, at(0))
		at1, err := s.GetAccessToken(ctx(t), a.ID)
		noErr(t, "GetAccessToken", err)
		if at1.GrantID != g.ID || at1.RevokedAt != nil {
			t.Errorf("GetAccessToken = %+v", at1)
		}
		noErr(t, "RevokeAccessToken", s.RevokeAccessToken(ctx(t), a.ID, at(time.Minute)))
		at1, _ = s.GetAccessToken(ctx(t), a.ID)
		samePtrTime(t, "AccessToken.RevokedAt", at1.RevokedAt, ptr(at(time.Minute)))
		rr, err := s.GetRefreshToken(ctx(t), []byte("rt1"))
		noErr(t, "GetRefreshToken", err)
		if rr.ID != rt.ID || rr.GrantID != g.ID || rr.UsedAt != nil {
			t.Errorf("GetRefreshToken = %+v", rr)
		}
		list, err := s.ListUserGrants(ctx(t), u.ID)
		noErr(t, "ListUserGrants", err)
		sameIDs(t, "ListUserGrants", ids(list, func(g store.Grant) string { return g.ID }), []string{g.ID})

		// Deleting the client takes everything issued to it.
		noErr(t, "DeleteClient", s.DeleteClient(ctx(t), c.ID))
		_, err = s.GetGrant(ctx(t), g.ID)
		wantErr(t, "GetGrant(client deleted)", err, store.ErrNotFound)
		_, err = s.GetRefreshToken(ctx(t), []byte("rt1"))
		wantErr(t, "GetRefreshToken(client deleted)", err, store.ErrNotFound)
		_, err = s.GetAuthRequest(ctx(t), r.ID)
		wantErr(t, "GetAuthRequest(client deleted)", err, store.ErrNotFound)
	}},
	{"a refresh token rotates once, and not after its grant is revoked", func(t *testing.T, s store.Store) {
		root, u := mustFixture(t, s)
		c := mustClient(t, s, root, "App")
		r := mustCodeRequest(t, s, c, u, "code")
		g := grantFor(r, u)
		rt := store.RefreshToken{ID: store.NewID(), GrantID: g.ID, TokenHash: []byte("rt1"), ExpiresAt: at(time.Hour)}
		if ok, err := s.RedeemAuthCode(ctx(t), r.ID, at(0), g, store.AccessToken{ID: store.NewID(), GrantID: g.ID, ExpiresAt: at(time.Hour)}, &rt); !ok || err != nil {
			t.Fatalf("RedeemAuthCode = %v, %v", ok, err)
		}
		next := func(h string) store.RefreshToken {
			return store.RefreshToken{ID: store.NewID(), GrantID: g.ID, TokenHash: []byte(h), ExpiresAt: at(time.Hour)}
		}
		acc := func() store.AccessToken {
			return store.AccessToken{ID: store.NewID(), GrantID: g.ID, ExpiresAt: at(time.Hour)}
		}
		if ok, err := s.RotateRefreshToken(ctx(t), []byte("rt1"), at(time.Second), next("rt2"), acc()); !ok || err != nil {
			t.Fatalf("RotateRefreshToken = %v, %v", ok, err)
		}
		if ok, err := s.RotateRefreshToken(ctx(t), []byte("rt1"), at(time.Second), next("rt3"), acc()); ok || err != nil {
			t.Errorf("RotateRefreshToken(used) = %v, %v; want false, nil", ok, err)
		}
		_, err := s.GetRefreshToken(ctx(t), []byte("rt3"))
		wantErr(t, "GetRefreshToken(from a lost rotation)", err, store.ErrNotFound)
		used, _ := s.GetRefreshToken(ctx(t), []byte("rt1"))
		samePtrTime(t, "UsedAt", used.UsedAt, ptr(at(time.Second)))

		noErr(t, "RevokeGrant", s.RevokeGrant(ctx(t), g.ID, at(time.Minute), "reuse"))
		noErr(t, "RevokeGrant(again)", s.RevokeGrant(ctx(t), g.ID, at(time.Hour), "later"))
		noErr(t, "RevokeGrant(unknown)", s.RevokeGrant(ctx(t), store.NewID(), at(time.Hour), "x"))
		gg, _ := s.GetGrant(ctx(t), g.ID)
		samePtrTime(t, "Grant.RevokedAt", gg.RevokedAt, ptr(at(time.Minute)))
		if gg.RevokeReason != "reuse" {
			t.Errorf("RevokeReason = %q", gg.RevokeReason)
		}
		if ok, err := s.RotateRefreshToken(ctx(t), []byte("rt2"), at(2*time.Minute), next("rt4"), acc()); ok || err != nil {
			t.Errorf("RotateRefreshToken(revoked grant) = %v, %v; want false, nil", ok, err)
		}
		list, _ := s.ListUserGrants(ctx(t), u.ID)
		if len(list) != 0 {
			t.Errorf("ListUserGrants after revoke = %d grants", len(list))
		}
	}},
	{"50 parallel redemptions of one code and rotations of one refresh token: one wins each", func(t *testing.T, s store.Store) {
		root, u := mustFixture(t, s)
		c := mustClient(t, s, root, "App")
		r := mustCodeRequest(t, s, c, u, "code")
		g := grantFor(r, u)
		var rotWins int
		won := make([]bool, 50)
		errs := parallel(50, func(i int) error {
			rt := store.RefreshToken{ID: store.NewID(), GrantID: g.ID, TokenHash: []byte(fmt.Sprint("first", i)), ExpiresAt: at(time.Hour)}
			ok, err := s.RedeemAuthCode(ctx(t), r.ID, at(0), g, store.AccessToken{ID: store.NewID(), GrantID: g.ID, ExpiresAt: at(time.Hour)}, &rt)
			won[i] = ok
			return err
		})
		noErrs(t, "RedeemAuthCode", errs)
		if n := len(slices.DeleteFunc(won, func(ok bool) bool { return !ok })); n != 1 {
			t.Errorf("%d parallel redemptions of one code won, want 1", n)
		}
		// The stored state agrees: exactly one refresh token exists.
		var first []byte
		for i := range 50 {
			if _, err := s.GetRefreshToken(ctx(t), []byte(fmt.Sprint("first", i))); err == nil {
				if first != nil {
					t.Fatal("two redemptions of one code stored refresh tokens")
				}
				first = []byte(fmt.Sprint("first", i))
			}
		}
		if first == nil {
			t.Fatal("no redemption won")
		}
		results := make([]bool, 50)
		errs = parallel(50, func(i int) error {
			ok, err := s.RotateRefreshToken(ctx(t), first, at(time.Second),
				store.RefreshToken{ID: store.NewID(), GrantID: g.ID, TokenHash: []byte(fmt.Sprint("next", i)), ExpiresAt: at(time.Hour)},
				store.AccessToken{ID: store.NewID(), GrantID: g.ID, ExpiresAt: at(time.Hour)})
			results[i] = ok
			return err
		})
		noErrs(t, "RotateRefreshToken", errs)
		for _, ok := range results {
			if ok {
				rotWins++
			}
		}
		if rotWins != 1 {
			t.Errorf("%d parallel rotations of one refresh token won, want 1", rotWins)
		}
	}},
	{"old and revoked grants and expired tokens are deleted", func(t *testing.T, s store.Store) {
		root, u := mustFixture(t, s)
		c := mustClient(t, s, root, "App")
		redeem := func(code string, created time.Time) store.Grant {
			r := mustCodeRequest(t, s, c, u, code)
			g := grantFor(r, u)
			g.CreatedAt = created
			rt := store.RefreshToken{ID: store.NewID(), GrantID: g.ID, TokenHash: []byte("rt" + code), ExpiresAt: created.Add(time.Hour)}
			if ok, err := s.RedeemAuthCode(ctx(t), r.ID, created, g, store.AccessToken{ID: store.NewID(), GrantID: g.ID,
				ExpiresAt: created.Add(time.Minute)}, &rt); !ok || err != nil {
				t.Fatalf("RedeemAuthCode = %v, %v", ok, err)
			}
			return g
		}
		old := redeem("a", at(0))
		revoked := redeem("b", at(10*time.Hour))
		live := redeem("c", at(10*time.Hour))
		noErr(t, "RevokeGrant", s.RevokeGrant(ctx(t), revoked.ID, at(11*time.Hour), "x"))
		n, err := s.DeleteOldGrants(ctx(t), at(12*time.Hour), at(time.Hour))
		noErr(t, "DeleteOldGrants", err)
		if n != 2 {
			t.Errorf("DeleteOldGrants removed %d grants, want 2", n)
		}
		for _, g := range []store.Grant{old, revoked} {
			_, err := s.GetGrant(ctx(t), g.ID)
			wantErr(t, "GetGrant(deleted)", err, store.ErrNotFound)
		}
		if _, err := s.GetGrant(ctx(t), live.ID); err != nil {
			t.Errorf("the live grant went: %v", err)
		}
		// Its tokens expired before the cutoff and went; the grant stays.
		_, err = s.GetRefreshToken(ctx(t), []byte("rtc"))
		wantErr(t, "GetRefreshToken(expired)", err, store.ErrNotFound)
	}},
	{"signing keys list newest first and delete", func(t *testing.T, s store.Store) {
		noErr(t, "CreateSigningKey", s.CreateSigningKey(ctx(t), store.SigningKey{ID: "k1", Alg: "ES256", Sealed: []byte{1}, KeyID: "sb1", CreatedAt: at(0)}))
		noErr(t, "CreateSigningKey", s.CreateSigningKey(ctx(t), store.SigningKey{ID: "k2", Alg: "RS256", Sealed: []byte{2}, KeyID: "sb1", CreatedAt: at(time.Hour)}))
		wantErr(t, "CreateSigningKey(dup)", s.CreateSigningKey(ctx(t), store.SigningKey{ID: "k1", Alg: "ES256", Sealed: []byte{1}, KeyID: "sb1"}), store.ErrConflict)
		ks, err := s.ListSigningKeys(ctx(t))
		noErr(t, "ListSigningKeys", err)
		sameIDs(t, "ListSigningKeys", ids(ks, func(k store.SigningKey) string { return k.ID }), []string{"k2", "k1"})
		if ks[0].Alg != "RS256" || !bytes.Equal(ks[0].Sealed, []byte{2}) || ks[0].KeyID != "sb1" {
			t.Errorf("ListSigningKeys[0] = %+v", ks[0])
		}
		sameTime(t, "CreatedAt", ks[1].CreatedAt, at(0))
		noErr(t, "DeleteSigningKey", s.DeleteSigningKey(ctx(t), "k1"))
		wantErr(t, "DeleteSigningKey(again)", s.DeleteSigningKey(ctx(t), "k1"), store.ErrNotFound)
	}},
	{"a signing key announced for later lists by when it starts to sign", func(t *testing.T, s store.Store) {
		noErr(t, "CreateSigningKey", s.CreateSigningKey(ctx(t), store.SigningKey{ID: "now", Alg: "ES256", Sealed: []byte{1}, KeyID: "sb1", CreatedAt: at(time.Hour)}))
		noErr(t, "CreateSigningKey", s.CreateSigningKey(ctx(t), store.SigningKey{ID: "later", Alg: "ES256", Sealed: []byte{2}, KeyID: "sb1",
			CreatedAt: at(0), ActiveFrom: at(2 * time.Hour)}))
		ks, err := s.ListSigningKeys(ctx(t))
		noErr(t, "ListSigningKeys", err)
		sameIDs(t, "ListSigningKeys", ids(ks, func(k store.SigningKey) string { return k.ID }), []string{"later", "now"})
		sameTime(t, "ActiveFrom", ks[0].ActiveFrom, at(2*time.Hour))
		sameTime(t, "Active()", ks[1].Active(), at(time.Hour))
		if !ks[1].ActiveFrom.IsZero() {
			t.Errorf("a key without ActiveFrom lists with %v", ks[1].ActiveFrom)
		}
		// Resealing is a compare-and-swap on the secretbox key id.
		ok, err := s.ResealSigningKey(ctx(t), "now", "sb1", []byte{9}, "sb2")
		if err != nil || !ok {
			t.Fatalf("ResealSigningKey = %v, %v", ok, err)
		}
		ok, err = s.ResealSigningKey(ctx(t), "now", "sb1", []byte{8}, "sb3")
		if err != nil || ok {
			t.Fatalf("ResealSigningKey under a stale key id = %v, %v; want false", ok, err)
		}
		ks, _ = s.ListSigningKeys(ctx(t))
		if ks[1].KeyID != "sb2" || !bytes.Equal(ks[1].Sealed, []byte{9}) {
			t.Errorf("after reseal: %+v", ks[1])
		}
	}},
}
