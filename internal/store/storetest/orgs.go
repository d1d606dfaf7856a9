package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

func orgID(o store.Org) string { return o.ID }

var orgTests = []subtest{
	{"create derives id, path and depth", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		if root.ID == "" {
			t.Fatal("root ID is empty; CreateOrg must generate one")
		}
		if root.ParentID != "" || root.Path != "/"+root.ID+"/" || root.Depth != 0 {
			t.Errorf("root = parent %q path %q depth %d, want parent \"\" path %q depth 0",
				root.ParentID, root.Path, root.Depth, "/"+root.ID+"/")
		}
		child := mustOrg(t, s, root, "child")
		grand := mustOrg(t, s, child, "grand")
		if child.Path != root.Path+child.ID+"/" || child.Depth != 1 {
			t.Errorf("child path %q depth %d, want %q depth 1", child.Path, child.Depth, root.Path+child.ID+"/")
		}
		if grand.Path != child.Path+grand.ID+"/" || grand.Depth != 2 || grand.ParentID != child.ID {
			t.Errorf("grandchild path %q depth %d parent %q, want %q depth 2 parent %q",
				grand.Path, grand.Depth, grand.ParentID, child.Path+grand.ID+"/", child.ID)
		}
		if !root.IsAncestorOf(grand) || grand.IsAncestorOf(root) {
			t.Error("IsAncestorOf does not follow the derived paths")
		}
		got, err := s.GetOrg(ctx(t), grand.ID)
		noErr(t, "GetOrg", err)
		if got.Path != grand.Path || got.Depth != 2 || got.Slug != "grand" || got.Name != "Org grand" || got.ParentID != child.ID {
			t.Errorf("GetOrg = %+v, want %+v", got, grand)
		}
		sameTime(t, "CreatedAt", got.CreatedAt, at(0))
		isUTC(t, "CreatedAt", got.CreatedAt)
	}},
	{"create keeps a given id", func(t *testing.T, s store.Store) {
		id := store.NewID()
		o, err := s.CreateOrg(ctx(t), store.Org{ID: id, Slug: "r", Name: "R"})
		noErr(t, "CreateOrg", err)
		if o.ID != id || o.Path != "/"+id+"/" {
			t.Errorf("CreateOrg with ID %q gave ID %q path %q", id, o.ID, o.Path)
		}
	}},
	{"create ignores a path and depth passed in", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		o, err := s.CreateOrg(ctx(t), store.Org{ParentID: root.ID, Slug: "c", Name: "C", Path: "/evil/", Depth: 7})
		noErr(t, "CreateOrg", err)
		got, err := s.GetOrg(ctx(t), o.ID)
		noErr(t, "GetOrg", err)
		if got.Path != root.Path+o.ID+"/" || got.Depth != 1 {
			t.Errorf("stored path %q depth %d, want %q depth 1", got.Path, got.Depth, root.Path+o.ID+"/")
		}
	}},
	{"duplicate slug is a conflict", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		a := mustOrg(t, s, root, "dup")
		_, err := s.CreateOrg(ctx(t), store.Org{ParentID: a.ID, Slug: "dup", Name: "Other"})
		wantErr(t, "CreateOrg(dup slug)", err, store.ErrConflict)
		list, err := s.ListOrgs(ctx(t), "")
		noErr(t, "ListOrgs", err)
		if len(list) != 2 {
			t.Errorf("ListOrgs after conflict has %d orgs, want 2", len(list))
		}
	}},
	{"unknown parent is not found", func(t *testing.T, s store.Store) {
		mustRoot(t, s)
		_, err := s.CreateOrg(ctx(t), store.Org{ParentID: store.NewID(), Slug: "orphan", Name: "Orphan"})
		wantErr(t, "CreateOrg(unknown parent)", err, store.ErrNotFound)
	}},
	{"lookups", func(t *testing.T, s store.Store) {
		_, err := s.RootOrg(ctx(t))
		wantErr(t, "RootOrg on empty store", err, store.ErrNotFound)
		root := mustRoot(t, s)
		child := mustOrg(t, s, root, "child")
		r, err := s.RootOrg(ctx(t))
		noErr(t, "RootOrg", err)
		if r.ID != root.ID {
			t.Errorf("RootOrg = %q, want %q", r.ID, root.ID)
		}
		c, err := s.GetOrgBySlug(ctx(t), "child")
		noErr(t, "GetOrgBySlug", err)
		if c.ID != child.ID || c.Path != child.Path {
			t.Errorf("GetOrgBySlug = %+v, want %+v", c, child)
		}
		_, err = s.GetOrgBySlug(ctx(t), "nope")
		wantErr(t, "GetOrgBySlug(unknown)", err, store.ErrNotFound)
		_, err = s.GetOrg(ctx(t), store.NewID())
		wantErr(t, "GetOrg(unknown)", err, store.ErrNotFound)
	}},
	{"list by path prefix ordered by path", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		a := mustOrg(t, s, root, "a")
		b := mustOrg(t, s, root, "b")
		a1 := mustOrg(t, s, a, "a1")
		a2 := mustOrg(t, s, a, "a2")
		b1 := mustOrg(t, s, b, "b1")
		a11 := mustOrg(t, s, a1, "a11")
		byPath := func(orgs ...store.Org) []string {
			orgs = slices.Clone(orgs)
			slices.SortFunc(orgs, func(x, y store.Org) int {
				switch {
				case x.Path < y.Path:
					return -1
				case x.Path > y.Path:
					return 1
				}
				return 0
			})
			return ids(orgs, orgID)
		}
		all, err := s.ListOrgs(ctx(t), "")
		noErr(t, "ListOrgs(\"\")", err)
		sameIDs(t, "ListOrgs(\"\")", ids(all, orgID), byPath(root, a, b, a1, a2, b1, a11))
		sub, err := s.ListOrgs(ctx(t), a.Path)
		noErr(t, "ListOrgs(a)", err)
		sameIDs(t, "ListOrgs(a.Path)", ids(sub, orgID), byPath(a, a1, a2, a11))
		for _, o := range sub {
			if o.ID == a11.ID && (o.Path != a11.Path || o.Depth != 3) {
				t.Errorf("listed a11 has path %q depth %d, want %q depth 3", o.Path, o.Depth, a11.Path)
			}
		}
		leaf, err := s.ListOrgs(ctx(t), b1.Path)
		noErr(t, "ListOrgs(b1)", err)
		sameIDs(t, "ListOrgs(b1.Path)", ids(leaf, orgID), []string{b1.ID})
		none, err := s.ListOrgs(ctx(t), "/"+store.NewID()+"/")
		noErr(t, "ListOrgs(unknown)", err)
		if len(none) != 0 {
			t.Errorf("ListOrgs(unknown prefix) = %d orgs, want 0", len(none))
		}
	}},
	{"chain is root first", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		a := mustOrg(t, s, root, "a")
		a1 := mustOrg(t, s, a, "a1")
		mustOrg(t, s, a1, "a11")
		mustOrg(t, s, root, "b")
		chain, err := s.OrgChain(ctx(t), a1.ID)
		noErr(t, "OrgChain", err)
		sameIDs(t, "OrgChain(a1)", ids(chain, orgID), []string{root.ID, a.ID, a1.ID})
		chain, err = s.OrgChain(ctx(t), root.ID)
		noErr(t, "OrgChain(root)", err)
		sameIDs(t, "OrgChain(root)", ids(chain, orgID), []string{root.ID})
		_, err = s.OrgChain(ctx(t), store.NewID())
		wantErr(t, "OrgChain(unknown)", err, store.ErrNotFound)
	}},
	{"update persists name and every policy field", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		o := mustOrg(t, s, root, "o")
		o.Name = "Renamed"
		o.Policy = store.OrgPolicy{
			MFA:                            store.MFARequired,
			Locked:                         true,
			AllowedMethods:                 []string{"totp", "email"},
			EnrollmentGrace:                72 * time.Hour,
			OTPCodeTTL:                     120 * time.Second,
			RequireMFAForNewDirectoryUsers: true,
		}
		o.UpdatedAt = at(time.Hour)
		_, err := s.UpdateOrg(ctx(t), o)
		noErr(t, "UpdateOrg", err)
		got, err := s.GetOrg(ctx(t), o.ID)
		noErr(t, "GetOrg", err)
		if got.Name != "Renamed" {
			t.Errorf("Name = %q, want Renamed", got.Name)
		}
		p := got.Policy
		if p.MFA != store.MFARequired || !p.Locked || !slices.Equal(p.AllowedMethods, []string{"totp", "email"}) ||
			p.EnrollmentGrace != 72*time.Hour || p.OTPCodeTTL != 120*time.Second || !p.RequireMFAForNewDirectoryUsers {
			t.Errorf("Policy = %+v, want %+v", p, o.Policy)
		}

		// An empty list (no method allowed) is not the same as nil (inherit).
		o.Policy = store.OrgPolicy{AllowedMethods: []string{}}
		_, err = s.UpdateOrg(ctx(t), o)
		noErr(t, "UpdateOrg(empty methods)", err)
		got, err = s.GetOrg(ctx(t), o.ID)
		noErr(t, "GetOrg", err)
		if got.Policy.AllowedMethods == nil || len(got.Policy.AllowedMethods) != 0 {
			t.Errorf("AllowedMethods = %#v, want empty non-nil", got.Policy.AllowedMethods)
		}
		if got.Policy.MFA != store.MFAInherit || got.Policy.Locked || got.Policy.EnrollmentGrace != 0 ||
			got.Policy.OTPCodeTTL != 0 || got.Policy.RequireMFAForNewDirectoryUsers {
			t.Errorf("Policy after reset = %+v, want zero values", got.Policy)
		}

		o.Policy = store.OrgPolicy{MFA: store.MFAOptional}
		_, err = s.UpdateOrg(ctx(t), o)
		noErr(t, "UpdateOrg(nil methods)", err)
		got, err = s.GetOrg(ctx(t), o.ID)
		noErr(t, "GetOrg", err)
		if got.Policy.AllowedMethods != nil || got.Policy.MFA != store.MFAOptional {
			t.Errorf("Policy = %#v, want MFA optional and nil AllowedMethods", got.Policy)
		}

		// Listing returns the same policy as GetOrg.
		list, err := s.ListOrgs(ctx(t), o.Path)
		noErr(t, "ListOrgs", err)
		if len(list) != 1 || list[0].Policy.MFA != store.MFAOptional || list[0].Name != "Renamed" {
			t.Errorf("ListOrgs = %+v, want the updated org", list)
		}
	}},
	{"the lock record round-trips through create, update, get, list and chain", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		reseller := mustOrg(t, s, root, "reseller")
		enforced := store.Lock{Scope: store.LockEnforced, OrgID: reseller.ID, UserID: store.NewID(), ActorName: "rita", At: ptr(at(time.Minute)),
			Floor: store.LockFloor{MFA: store.MFARequired, AllowedMethods: []string{"totp", "email"}, EnrollmentGrace: 24 * time.Hour,
				RequireMFAForNewDirectoryUsers: true}}
		acme, err := s.CreateOrg(ctx(t), store.Org{ParentID: reseller.ID, Slug: "acme", Name: "Acme",
			Policy: store.OrgPolicy{MFA: store.MFARequired, Locked: true, Lock: enforced}, CreatedAt: at(0)})
		noErr(t, "CreateOrg(enforced lock)", err)
		same := func(what string, got, want store.Lock) {
			t.Helper()
			if got.Scope != want.Scope || got.OrgID != want.OrgID || got.UserID != want.UserID || got.ActorName != want.ActorName ||
				got.Floor.MFA != want.Floor.MFA || !slices.Equal(got.Floor.AllowedMethods, want.Floor.AllowedMethods) ||
				(got.Floor.AllowedMethods == nil) != (want.Floor.AllowedMethods == nil) ||
				got.Floor.EnrollmentGrace != want.Floor.EnrollmentGrace ||
				got.Floor.RequireMFAForNewDirectoryUsers != want.Floor.RequireMFAForNewDirectoryUsers {
				t.Errorf("%s: Lock = %+v, want %+v", what, got, want)
			}
			samePtrTime(t, what+": Lock.At", got.At, want.At)
		}
		same("CreateOrg", acme.Policy.Lock, enforced)
		got, err := s.GetOrg(ctx(t), acme.ID)
		noErr(t, "GetOrg", err)
		same("GetOrg", got.Policy.Lock, enforced)
		if !got.Policy.Enforced() {
			t.Error("an enforced lock does not read as enforced")
		}
		bySlug, err := s.GetOrgBySlug(ctx(t), "acme")
		noErr(t, "GetOrgBySlug", err)
		same("GetOrgBySlug", bySlug.Policy.Lock, enforced)
		list, err := s.ListOrgs(ctx(t), reseller.Path)
		noErr(t, "ListOrgs", err)
		if len(list) != 2 {
			t.Fatalf("ListOrgs = %d orgs, want 2", len(list))
		}
		same("ListOrgs", list[1].Policy.Lock, enforced)
		chain, err := s.OrgChain(ctx(t), acme.ID)
		noErr(t, "OrgChain", err)
		same("OrgChain", chain[2].Policy.Lock, enforced)
		same("OrgChain (reseller)", chain[1].Policy.Lock, store.Lock{})

		// The org's own lock, placed by the operator: no user, no org list.
		own := store.Lock{Scope: store.LockDescendants, OrgID: acme.ID, ActorName: "(cli)", At: ptr(at(2 * time.Minute))}
		acme.Policy = store.OrgPolicy{MFA: store.MFAOptional, Locked: true, Lock: own}
		updated, err := s.UpdateOrg(ctx(t), acme)
		noErr(t, "UpdateOrg(own lock)", err)
		same("UpdateOrg", updated.Policy.Lock, own)
		got, err = s.GetOrg(ctx(t), acme.ID)
		noErr(t, "GetOrg", err)
		same("GetOrg after UpdateOrg", got.Policy.Lock, own)
		if got.Policy.Enforced() {
			t.Error("an org's own lock reads as enforced")
		}

		// Lifting the lock clears the record.
		acme.Policy = store.OrgPolicy{MFA: store.MFAOptional}
		_, err = s.UpdateOrg(ctx(t), acme)
		noErr(t, "UpdateOrg(unlocked)", err)
		got, err = s.GetOrg(ctx(t), acme.ID)
		noErr(t, "GetOrg", err)
		same("GetOrg after unlocking", got.Policy.Lock, store.Lock{})

		// A move keeps the record.
		acme.Policy = store.OrgPolicy{MFA: store.MFARequired, Locked: true, Lock: enforced}
		_, err = s.UpdateOrg(ctx(t), acme)
		noErr(t, "UpdateOrg(enforced again)", err)
		other := mustOrg(t, s, reseller, "other")
		moved, err := s.MoveOrg(ctx(t), acme.ID, other.ID)
		noErr(t, "MoveOrg", err)
		same("MoveOrg", moved.Policy.Lock, enforced)
	}},
	{"update does not move the org", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		a := mustOrg(t, s, root, "a")
		b := mustOrg(t, s, root, "b")
		changed := b
		changed.ParentID, changed.Path, changed.Depth = a.ID, a.Path+b.ID+"/", 2
		_, err := s.UpdateOrg(ctx(t), changed)
		noErr(t, "UpdateOrg", err)
		got, err := s.GetOrg(ctx(t), b.ID)
		noErr(t, "GetOrg", err)
		if got.ParentID != root.ID || got.Path != b.Path || got.Depth != 1 {
			t.Errorf("after UpdateOrg: parent %q path %q depth %d, want %q %q 1", got.ParentID, got.Path, got.Depth, root.ID, b.Path)
		}
	}},
	{"update of an unknown org is not found", func(t *testing.T, s store.Store) {
		mustRoot(t, s)
		_, err := s.UpdateOrg(ctx(t), store.Org{ID: store.NewID(), Name: "x"})
		wantErr(t, "UpdateOrg(unknown)", err, store.ErrNotFound)
	}},
	{"move rewrites the subtree", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		a := mustOrg(t, s, root, "a")
		b := mustOrg(t, s, root, "b")
		b1 := mustOrg(t, s, b, "b1")
		b11 := mustOrg(t, s, b1, "b11")
		moved, err := s.MoveOrg(ctx(t), b.ID, a.ID)
		noErr(t, "MoveOrg", err)
		if moved.ParentID != a.ID || moved.Path != a.Path+b.ID+"/" || moved.Depth != 2 {
			t.Errorf("MoveOrg returned parent %q path %q depth %d", moved.ParentID, moved.Path, moved.Depth)
		}
		want := map[string]struct {
			path  string
			depth int
		}{
			b.ID:   {a.Path + b.ID + "/", 2},
			b1.ID:  {a.Path + b.ID + "/" + b1.ID + "/", 3},
			b11.ID: {a.Path + b.ID + "/" + b1.ID + "/" + b11.ID + "/", 4},
			a.ID:   {a.Path, 1},
		}
		for id, w := range want {
			got, err := s.GetOrg(ctx(t), id)
			noErr(t, "GetOrg", err)
			if got.Path != w.path || got.Depth != w.depth {
				t.Errorf("org %s: path %q depth %d, want %q depth %d", got.Slug, got.Path, got.Depth, w.path, w.depth)
			}
		}
		chain, err := s.OrgChain(ctx(t), b11.ID)
		noErr(t, "OrgChain", err)
		sameIDs(t, "OrgChain(b11) after move", ids(chain, orgID), []string{root.ID, a.ID, b.ID, b1.ID, b11.ID})
		sub, err := s.ListOrgs(ctx(t), a.Path)
		noErr(t, "ListOrgs", err)
		if len(sub) != 4 {
			t.Errorf("ListOrgs(a) after move has %d orgs, want 4", len(sub))
		}
		got, err := s.GetOrg(ctx(t), b1.ID)
		noErr(t, "GetOrg", err)
		if got.ParentID != b.ID {
			t.Errorf("b1 parent = %q, want %q (only the moved org changes parent)", got.ParentID, b.ID)
		}
	}},
	{"move below itself is a conflict", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		a := mustOrg(t, s, root, "a")
		a1 := mustOrg(t, s, a, "a1")
		a11 := mustOrg(t, s, a1, "a11")
		for _, target := range []store.Org{a, a1, a11} {
			_, err := s.MoveOrg(ctx(t), a.ID, target.ID)
			wantErr(t, "MoveOrg(a below "+target.Slug+")", err, store.ErrConflict)
		}
		_, err := s.MoveOrg(ctx(t), root.ID, a11.ID)
		wantErr(t, "MoveOrg(root below a11)", err, store.ErrConflict)
		got, err := s.GetOrg(ctx(t), a11.ID)
		noErr(t, "GetOrg", err)
		if got.Path != a11.Path {
			t.Errorf("a refused move changed a11's path to %q", got.Path)
		}
	}},
	{"move of or to an unknown org is not found", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		a := mustOrg(t, s, root, "a")
		_, err := s.MoveOrg(ctx(t), store.NewID(), root.ID)
		wantErr(t, "MoveOrg(unknown org)", err, store.ErrNotFound)
		_, err = s.MoveOrg(ctx(t), a.ID, store.NewID())
		wantErr(t, "MoveOrg(unknown parent)", err, store.ErrNotFound)
	}},
	{"delete refuses orgs with children or users", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		a := mustOrg(t, s, root, "a")
		a1 := mustOrg(t, s, a, "a1")
		b := mustOrg(t, s, root, "b")
		u := mustUser(t, s, b, "bob")
		wantErr(t, "DeleteOrg(with child)", s.DeleteOrg(ctx(t), a.ID), store.ErrNotEmpty)
		wantErr(t, "DeleteOrg(with user)", s.DeleteOrg(ctx(t), b.ID), store.ErrNotEmpty)
		noErr(t, "DeleteOrg(leaf)", s.DeleteOrg(ctx(t), a1.ID))
		_, err := s.GetOrg(ctx(t), a1.ID)
		wantErr(t, "GetOrg(deleted)", err, store.ErrNotFound)
		noErr(t, "DeleteOrg(now empty)", s.DeleteOrg(ctx(t), a.ID))
		noErr(t, "DeleteUser", s.DeleteUser(ctx(t), u.ID))
		noErr(t, "DeleteOrg(b)", s.DeleteOrg(ctx(t), b.ID))
		wantErr(t, "DeleteOrg(unknown)", s.DeleteOrg(ctx(t), a.ID), store.ErrNotFound)
		list, err := s.ListOrgs(ctx(t), "")
		noErr(t, "ListOrgs", err)
		sameIDs(t, "ListOrgs after deletes", ids(list, orgID), []string{root.ID})
	}},
}
