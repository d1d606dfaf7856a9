package storetest

import (
	"slices"
	"testing"

	"github.com/twofold-id/twofold/internal/store"
)

var prefixTests = []subtest{
	{"ListUsers by username or email prefix, paged by id", func(t *testing.T, s store.Store) {
		root := mustRoot(t, s)
		sub := mustOrg(t, s, root, "sub")
		for _, u := range []struct {
			org         store.Org
			name, email string
		}{
			{root, "alice", "Alice@Example.com"},
			{root, "alfred", ""},
			{sub, "bob", "AL.bob@example.com"},
			{sub, "carol", "carol@al.example"},
			{root, "xal", "x@example.com"},
			{sub, "al", "al@example.com"},
		} {
			_, err := s.CreateUser(ctx(t), store.User{OrgID: u.org.ID, Username: u.name, UsernameNorm: u.name, Email: u.email,
				Role: store.RoleMember, PasswordHash: "h", CreatedAt: at(0), UpdatedAt: at(0)})
			noErr(t, "CreateUser", err)
		}
		names := func(us []store.User) []string {
			var out []string
			for _, u := range us {
				out = append(out, u.Username)
			}
			slices.Sort(out)
			return out
		}
		all, err := s.ListUsers(ctx(t), store.UserFilter{Prefix: "Al"})
		noErr(t, "ListUsers", err)
		if got, want := names(all), []string{"al", "alfred", "alice", "bob"}; !slices.Equal(got, want) {
			t.Fatalf("prefix Al: %v, want %v", got, want)
		}
		inSub, err := s.ListUsers(ctx(t), store.UserFilter{Prefix: "al", OrgPath: sub.Path})
		noErr(t, "ListUsers", err)
		if got, want := names(inSub), []string{"al", "bob"}; !slices.Equal(got, want) {
			t.Fatalf("prefix al in sub: %v, want %v", got, want)
		}
		// Pages of two, by id, together give each match once.
		var paged []store.User
		after := ""
		for range 10 {
			page, err := s.ListUsers(ctx(t), store.UserFilter{Prefix: "al", Limit: 2, AfterID: after})
			noErr(t, "ListUsers", err)
			paged = append(paged, page...)
			if len(page) < 2 {
				break
			}
			after = page[len(page)-1].ID
		}
		if got, want := names(paged), names(all); !slices.Equal(got, want) {
			t.Fatalf("paged: %v, want %v", got, want)
		}
		if none, err := s.ListUsers(ctx(t), store.UserFilter{Prefix: "alicex"}); err != nil || len(none) != 0 {
			t.Fatalf("prefix alicex: %v %v", names(none), err)
		}
	}},
}
