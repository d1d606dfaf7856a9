package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

func apiKeyID(k store.APIKey) string { return k.ID }

// mustAPIKey creates an admin key of org whose token hash is token, created
// at created.
func mustAPIKey(t *testing.T, s store.Store, org store.Org, token string, created time.Time) store.APIKey {
	t.Helper()
	k, err := s.CreateAPIKey(ctx(t), store.APIKey{ID: store.NewID(), OrgID: org.ID, Name: "key " + token,
		Role: store.RoleAdmin, TokenHash: []byte(token), CreatedAt: created})
	if err != nil {
		t.Fatalf("CreateAPIKey(%s): %v", token, err)
	}
	return k
}

var apiKeyTests = []subtest{
	{"create and get round trip", func(t *testing.T, s store.Store) {
		root, u := mustFixture(t, s)
		in := store.APIKey{ID: store.NewID(), OrgID: root.ID, CreatedBy: u.ID, Name: "deploy bot",
			Role: store.RoleMember, TokenHash: []byte{0, 1, 2, 0xff, 0}, CreatedAt: at(0),
			LastUsedAt: ptr(at(time.Second)), ExpiresAt: ptr(at(30 * 24 * time.Hour))}
		created, err := s.CreateAPIKey(ctx(t), in)
		noErr(t, "CreateAPIKey", err)
		if created.ID != in.ID {
			t.Errorf("CreateAPIKey ID = %q, want %q", created.ID, in.ID)
		}
		check := func(what string, got store.APIKey) {
			t.Helper()
			if got.ID != in.ID || got.OrgID != in.OrgID || got.CreatedBy != in.CreatedBy || got.Name != in.Name ||
				got.Role != in.Role || !bytes.Equal(got.TokenHash, in.TokenHash) || got.RevokedAt != nil {
				t.Errorf("%s = %+v, want %+v", what, got, in)
			}
			sameTime(t, what+".CreatedAt", got.CreatedAt, in.CreatedAt)
			samePtrTime(t, what+".LastUsedAt", got.LastUsedAt, in.LastUsedAt)
			samePtrTime(t, what+".ExpiresAt", got.ExpiresAt, in.ExpiresAt)
			isUTC(t, what+".CreatedAt", got.CreatedAt)
		}
		got, err := s.GetAPIKeyByTokenHash(ctx(t), in.TokenHash)
		noErr(t, "GetAPIKeyByTokenHash", err)
		check("GetAPIKeyByTokenHash", got)
		got, err = s.GetAPIKey(ctx(t), in.ID)
		noErr(t, "GetAPIKey", err)
		check("GetAPIKey", got)

		_, err = s.GetAPIKeyByTokenHash(ctx(t), []byte{0, 1, 2, 0xff})
		wantErr(t, "GetAPIKeyByTokenHash(prefix of a hash)", err, store.ErrNotFound)
		_, err = s.GetAPIKey(ctx(t), store.NewID())
		wantErr(t, "GetAPIKey(unknown)", err, store.ErrNotFound)
	}},
	{"a key without expiry or use reads back with nil times", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		k := mustAPIKey(t, s, root, "tok", at(0))
		got, err := s.GetAPIKey(ctx(t), k.ID)
		noErr(t, "GetAPIKey", err)
		if got.LastUsedAt != nil || got.RevokedAt != nil || got.ExpiresAt != nil || got.CreatedBy != "" {
			t.Errorf("GetAPIKey = %+v, want no last use, revocation, expiry or creator", got)
		}
	}},
	{"create generates an id and a creation time", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		k, err := s.CreateAPIKey(ctx(t), store.APIKey{OrgID: root.ID, Name: "n", Role: store.RoleAdmin, TokenHash: []byte("t")})
		noErr(t, "CreateAPIKey", err)
		if k.ID == "" || k.CreatedAt.IsZero() {
			t.Fatalf("CreateAPIKey = %+v, want an id and a creation time", k)
		}
		got, err := s.GetAPIKey(ctx(t), k.ID)
		noErr(t, "GetAPIKey", err)
		sameTime(t, "CreatedAt", got.CreatedAt, k.CreatedAt)
	}},
	{"duplicate token hash is a conflict, unknown org not found", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		mustAPIKey(t, s, root, "tok", at(0))
		_, err := s.CreateAPIKey(ctx(t), store.APIKey{OrgID: root.ID, Name: "again", Role: store.RoleAdmin, TokenHash: []byte("tok")})
		wantErr(t, "CreateAPIKey(same token hash)", err, store.ErrConflict)
		_, err = s.CreateAPIKey(ctx(t), store.APIKey{OrgID: store.NewID(), Name: "lost", Role: store.RoleAdmin, TokenHash: []byte("other")})
		wantErr(t, "CreateAPIKey(unknown org)", err, store.ErrNotFound)
	}},
	{"list covers the subtree, newest first, revoked included", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		a := mustOrg(t, s, root, "a")
		a1 := mustOrg(t, s, a, "a1")
		ab := mustOrg(t, s, root, "ab") // its path does not start with a's
		kRoot := mustAPIKey(t, s, root, "root", at(1*time.Second))
		kA := mustAPIKey(t, s, a, "a", at(2*time.Second))
		kA1 := mustAPIKey(t, s, a1, "a1", at(4*time.Second))
		kAB := mustAPIKey(t, s, ab, "ab", at(3*time.Second))
		noErr(t, "RevokeAPIKey", s.RevokeAPIKey(ctx(t), kA.ID, at(time.Minute)))

		got, err := s.ListAPIKeys(ctx(t), a.Path)
		noErr(t, "ListAPIKeys(a)", err)
		sameIDs(t, "ListAPIKeys(a)", ids(got, apiKeyID), []string{kA1.ID, kA.ID})
		got, err = s.ListAPIKeys(ctx(t), "")
		noErr(t, "ListAPIKeys(all)", err)
		sameIDs(t, "ListAPIKeys(all)", ids(got, apiKeyID), []string{kA1.ID, kAB.ID, kA.ID, kRoot.ID})
		got, err = s.ListAPIKeys(ctx(t), a1.Path)
		noErr(t, "ListAPIKeys(a1)", err)
		sameIDs(t, "ListAPIKeys(a1)", ids(got, apiKeyID), []string{kA1.ID})
		got, err = s.ListAPIKeys(ctx(t), "/nope/")
		noErr(t, "ListAPIKeys(unknown path)", err)
		if len(got) != 0 {
			t.Errorf("ListAPIKeys(unknown path) = %v, want none", ids(got, apiKeyID))
		}
	}},
	{"list follows a moved org", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		a := mustOrg(t, s, root, "a")
		b := mustOrg(t, s, root, "b")
		k := mustAPIKey(t, s, b, "b", at(0))
		_, err := s.MoveOrg(ctx(t), b.ID, a.ID)
		noErr(t, "MoveOrg", err)
		got, err := s.ListAPIKeys(ctx(t), a.Path)
		noErr(t, "ListAPIKeys(a)", err)
		sameIDs(t, "ListAPIKeys(a) after the move", ids(got, apiKeyID), []string{k.ID})
	}},
	{"revoke is idempotent and keeps the first time", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		k := mustAPIKey(t, s, root, "tok", at(0))
		noErr(t, "RevokeAPIKey", s.RevokeAPIKey(ctx(t), k.ID, at(time.Minute)))
		noErr(t, "RevokeAPIKey(again)", s.RevokeAPIKey(ctx(t), k.ID, at(time.Hour)))
		got, err := s.GetAPIKeyByTokenHash(ctx(t), []byte("tok"))
		noErr(t, "GetAPIKeyByTokenHash(revoked)", err)
		samePtrTime(t, "RevokedAt", got.RevokedAt, ptr(at(time.Minute)))
		wantErr(t, "RevokeAPIKey(unknown)", s.RevokeAPIKey(ctx(t), store.NewID(), at(0)), store.ErrNotFound)
	}},
	{"touch records the last use", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		k := mustAPIKey(t, s, root, "tok", at(0))
		noErr(t, "TouchAPIKey", s.TouchAPIKey(ctx(t), k.ID, at(time.Minute)))
		noErr(t, "TouchAPIKey(later)", s.TouchAPIKey(ctx(t), k.ID, at(time.Hour)))
		got, err := s.GetAPIKey(ctx(t), k.ID)
		noErr(t, "GetAPIKey", err)
		samePtrTime(t, "LastUsedAt", got.LastUsedAt, ptr(at(time.Hour)))
		if got.RevokedAt != nil {
			t.Errorf("TouchAPIKey revoked the key: %+v", got)
		}
		wantErr(t, "TouchAPIKey(unknown)", s.TouchAPIKey(ctx(t), store.NewID(), at(0)), store.ErrNotFound)
	}},
	{"keys do not keep an org from being deleted and go with it", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		a := mustOrg(t, s, root, "a")
		b := mustOrg(t, s, root, "b")
		mustUser(t, s, b, "bob")
		k := mustAPIKey(t, s, a, "a", at(0))
		kb := mustAPIKey(t, s, b, "b", at(0))
		wantErr(t, "DeleteOrg(with a user and a key)", s.DeleteOrg(ctx(t), b.ID), store.ErrNotEmpty)
		_, err := s.GetAPIKey(ctx(t), kb.ID)
		noErr(t, "GetAPIKey(key of an org that was not deleted)", err)
		noErr(t, "DeleteOrg(with only a key)", s.DeleteOrg(ctx(t), a.ID))
		_, err = s.GetAPIKey(ctx(t), k.ID)
		wantErr(t, "GetAPIKey(key of a deleted org)", err, store.ErrNotFound)
		_, err = s.GetAPIKeyByTokenHash(ctx(t), []byte("a"))
		wantErr(t, "GetAPIKeyByTokenHash(key of a deleted org)", err, store.ErrNotFound)
	}},
	{"concurrent touches and revokes all succeed", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		k := mustAPIKey(t, s, root, "tok", at(0))
		noErrs(t, "touch or revoke", parallel(16, func(i int) error {
			if i%4 == 0 {
				return s.RevokeAPIKey(ctx(t), k.ID, at(time.Duration(i)*time.Second))
			}
			return s.TouchAPIKey(ctx(t), k.ID, at(time.Duration(i)*time.Second))
		}))
		got, err := s.GetAPIKey(ctx(t), k.ID)
		noErr(t, "GetAPIKey", err)
		if got.RevokedAt == nil || got.LastUsedAt == nil {
			t.Errorf("after touches and revokes: %+v, want both set", got)
		}
	}},
}
