package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

var directoryTests = []subtest{
	{"put, get, replace and delete round trip", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		in := store.Directory{OrgID: root.ID, URL: "ldap://127.0.0.1:3389", StartTLS: true, CACert: "PEM",
			BindDN: "cn=svc,dc=example,dc=org", BindPassword: []byte{0, 1, 0xff}, KeyID: "k1",
			UserBaseDN: "ou=people,dc=example,dc=org", UsernameAttribute: "uid", UserFilter: "(objectClass=inetOrgPerson)",
			EmailAttribute: "mail", NameAttribute: "cn", AdminGroupDN: "cn=admins,dc=example,dc=org", UpdatedAt: at(0)}
		_, err := s.GetDirectory(ctx(t), root.ID)
		wantErr(t, "GetDirectory(none)", err, store.ErrNotFound)
		put, err := s.PutDirectory(ctx(t), in)
		noErr(t, "PutDirectory", err)
		got, err := s.GetDirectory(ctx(t), root.ID)
		noErr(t, "GetDirectory", err)
		for what, d := range map[string]store.Directory{"PutDirectory": put, "GetDirectory": got} {
			if d.URL != in.URL || !d.StartTLS || d.CACert != in.CACert || d.BindDN != in.BindDN ||
				!bytes.Equal(d.BindPassword, in.BindPassword) || d.KeyID != in.KeyID || d.UserBaseDN != in.UserBaseDN ||
				d.UsernameAttribute != "uid" || d.UserFilter != in.UserFilter || d.EmailAttribute != "mail" ||
				d.NameAttribute != "cn" || d.AdminGroupDN != in.AdminGroupDN {
				t.Errorf("%s = %+v, want %+v", what, d, in)
			}
			sameTime(t, what+".CreatedAt", d.CreatedAt, at(0))
			sameTime(t, what+".UpdatedAt", d.UpdatedAt, at(0))
			isUTC(t, what+".UpdatedAt", d.UpdatedAt)
		}

		in.URL, in.StartTLS, in.AdminGroupDN, in.UpdatedAt = "ldaps://ldap.example.org", false, "", at(time.Hour)
		_, err = s.PutDirectory(ctx(t), in)
		noErr(t, "PutDirectory(replace)", err)
		got, err = s.GetDirectory(ctx(t), root.ID)
		noErr(t, "GetDirectory(after replace)", err)
		if got.URL != in.URL || got.StartTLS || got.AdminGroupDN != "" {
			t.Errorf("after replace = %+v", got)
		}
		sameTime(t, "CreatedAt after replace", got.CreatedAt, at(0))
		sameTime(t, "UpdatedAt after replace", got.UpdatedAt, at(time.Hour))

		noErr(t, "DeleteDirectory", s.DeleteDirectory(ctx(t), root.ID))
		wantErr(t, "DeleteDirectory(again)", s.DeleteDirectory(ctx(t), root.ID), store.ErrNotFound)
		_, err = s.GetDirectory(ctx(t), root.ID)
		wantErr(t, "GetDirectory(deleted)", err, store.ErrNotFound)
	}},
	{"a directory of an unknown org is not found", func(t *testing.T, s store.Store) {
		_, err := s.PutDirectory(ctx(t), store.Directory{OrgID: store.NewID(), URL: "ldaps://x", UserBaseDN: "dc=x", UsernameAttribute: "uid"})
		wantErr(t, "PutDirectory(unknown org)", err, store.ErrNotFound)
	}},
	{"a directory user is linked to its entry, unique per org", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		child := mustOrg(t, s, root, "child")
		local := mustUser(t, s, root, "local")
		u, err := s.CreateDirectoryUser(ctx(t), store.User{OrgID: root.ID, Username: "Dana", UsernameNorm: "dana",
			Email: "dana@example.org", Role: store.RoleMember, MFARequired: true, CreatedAt: at(0)}, "uuid-1")
		noErr(t, "CreateDirectoryUser", err)
		got, err := s.GetDirectoryUser(ctx(t), root.ID, "uuid-1")
		noErr(t, "GetDirectoryUser", err)
		if got.ID != u.ID || got.Username != "Dana" || !got.MFARequired {
			t.Errorf("GetDirectoryUser = %+v, want %+v", got, u)
		}
		byName, err := s.GetUserByName(ctx(t), root.ID, "dana")
		noErr(t, "GetUserByName(directory user)", err)
		if byName.ID != u.ID {
			t.Errorf("GetUserByName = %s, want %s", byName.ID, u.ID)
		}
		entry, err := s.DirectoryEntryOf(ctx(t), u.ID)
		noErr(t, "DirectoryEntryOf", err)
		if entry != "uuid-1" {
			t.Errorf("DirectoryEntryOf = %q, want uuid-1", entry)
		}
		_, err = s.DirectoryEntryOf(ctx(t), local.ID)
		wantErr(t, "DirectoryEntryOf(local user)", err, store.ErrNotFound)
		_, err = s.GetDirectoryUser(ctx(t), child.ID, "uuid-1")
		wantErr(t, "GetDirectoryUser(other org)", err, store.ErrNotFound)

		_, err = s.CreateDirectoryUser(ctx(t), store.User{OrgID: root.ID, Username: "other", UsernameNorm: "other",
			Role: store.RoleMember}, "uuid-1")
		wantErr(t, "CreateDirectoryUser(same entry)", err, store.ErrConflict)
		if _, err := s.GetUserByName(ctx(t), root.ID, "other"); err == nil {
			t.Error("a refused CreateDirectoryUser left its user behind")
		}
		_, err = s.CreateDirectoryUser(ctx(t), store.User{OrgID: root.ID, Username: "local", UsernameNorm: "local",
			Role: store.RoleMember}, "uuid-2")
		wantErr(t, "CreateDirectoryUser(username of a local user)", err, store.ErrConflict)
		_, err = s.CreateDirectoryUser(ctx(t), store.User{OrgID: child.ID, Username: "dana", UsernameNorm: "dana",
			Role: store.RoleMember}, "uuid-1")
		noErr(t, "CreateDirectoryUser(same entry, other org)", err)

		renamed, err := s.RenameDirectoryUser(ctx(t), u.ID, "Dana.K", "dana.k", at(time.Hour))
		noErr(t, "RenameDirectoryUser", err)
		if renamed.ID != u.ID || renamed.Username != "Dana.K" || renamed.UsernameNorm != "dana.k" {
			t.Errorf("RenameDirectoryUser = %+v", renamed)
		}
		sameTime(t, "renamed.UpdatedAt", renamed.UpdatedAt, at(time.Hour))
		_, err = s.RenameDirectoryUser(ctx(t), u.ID, "local", "local", at(time.Hour))
		wantErr(t, "RenameDirectoryUser(to a taken name)", err, store.ErrConflict)
		_, err = s.RenameDirectoryUser(ctx(t), local.ID, "x", "x", at(time.Hour))
		wantErr(t, "RenameDirectoryUser(a local user)", err, store.ErrNotFound)
		noErr(t, "DeleteUser", s.DeleteUser(ctx(t), u.ID))
		_, err = s.GetDirectoryUser(ctx(t), root.ID, "uuid-1")
		wantErr(t, "GetDirectoryUser(deleted user)", err, store.ErrNotFound)
		_, err = s.CreateDirectoryUser(ctx(t), store.User{OrgID: root.ID, Username: "dana", UsernameNorm: "dana",
			Role: store.RoleMember}, "uuid-1")
		noErr(t, "CreateDirectoryUser(after the linked user was deleted)", err)
	}},
	{"deleting an org deletes its directory", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		child := mustOrg(t, s, root, "child")
		_, err := s.PutDirectory(ctx(t), store.Directory{OrgID: child.ID, URL: "ldaps://x", UserBaseDN: "dc=x", UsernameAttribute: "uid"})
		noErr(t, "PutDirectory", err)
		noErr(t, "DeleteOrg", s.DeleteOrg(ctx(t), child.ID))
		_, err = s.GetDirectory(ctx(t), child.ID)
		wantErr(t, "GetDirectory(deleted org)", err, store.ErrNotFound)
	}},
}
