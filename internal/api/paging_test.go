package api_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/password"
	"github.com/twofold-id/twofold/internal/store"
)

// TestUserListAndAuditSearchPageWithACursor: an admin pages through the
// user list and the audit search with next_cursor, getting every row once;
// the user list finds users by username or email prefix; the old after and
// before parameters still work; a cursor the server did not issue is a 400.
func TestUserListAndAuditSearchPageWithACursor(t *testing.T) {
	onEachStoreDSN(t, func(t *testing.T, dsn string) {
		pp := password.TestParams()
		s := newServerOn(t, dsn, &pp, nil)
		s.cli(testPassword+"\n", "user", "create", "--org", "platform", "--username", "root", "--role", "superadmin", "--password-stdin")
		root := s.post("/api/v1/auth/login", "", map[string]string{"org": "platform", "username": "root", "password": testPassword}).str(t, "session_token")
		if r := s.post("/api/v1/orgs", root, map[string]string{"slug": "acme", "name": "Acme Corp"}); r.status != http.StatusCreated {
			t.Fatalf("create org: %d %s", r.status, r.body)
		}
		acme, err := s.app.Store.GetOrgBySlug(context.Background(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		var imported []store.ImportedUser
		add := func(name, email string) {
			imported = append(imported, store.ImportedUser{User: store.User{ID: fmt.Sprintf("%032x", len(imported)+1), OrgID: acme.ID,
				Username: name, UsernameNorm: name, Email: email, Role: store.RoleMember, PasswordHash: "$argon2id$x", CreatedAt: now, UpdatedAt: now}})
		}
		for i := range 25 {
			add(fmt.Sprintf("user%02d", i), fmt.Sprintf("u%02d@example.com", i))
		}
		add("alice", "Alice@Example.com")
		add("fred", "ALFRED@example.com")
		if err := s.app.Store.ImportUsers(context.Background(), imported, nil); err != nil {
			t.Fatal(err)
		}

		type page struct {
			names []string
			ids   []string
			next  string
		}
		users := func(query string) page {
			t.Helper()
			r := s.get("/api/v1/users?"+query, root)
			if r.status != http.StatusOK {
				t.Fatalf("GET /api/v1/users?%s: %d %s", query, r.status, r.body)
			}
			m := r.json(t)
			var p page
			for _, u := range m["users"].([]any) {
				p.names = append(p.names, u.(map[string]any)["username"].(string))
				p.ids = append(p.ids, u.(map[string]any)["id"].(string))
			}
			p.next, _ = m["next_cursor"].(string)
			return p
		}

		var all []string
		var sizes []int
		q := "org=acme&limit=10"
		for range 10 {
			p := users(q)
			all = append(all, p.names...)
			sizes = append(sizes, len(p.names))
			if p.next == "" {
				break
			}
			q = "org=acme&limit=10&cursor=" + url.QueryEscape(p.next)
		}
		if !slices.Equal(sizes, []int{10, 10, 7}) {
			t.Fatalf("page sizes %v, want [10 10 7]", sizes)
		}
		sorted := slices.Clone(all)
		slices.Sort(sorted)
		if len(slices.Compact(sorted)) != 27 {
			t.Fatalf("paged through %d users (%d distinct), want 27 once each", len(all), len(slices.Compact(sorted)))
		}

		byPrefix := users("prefix=AL")
		slices.Sort(byPrefix.names)
		if !slices.Equal(byPrefix.names, []string{"alice", "fred"}) || byPrefix.next != "" {
			t.Fatalf("prefix=AL: %v (next %q), want alice and fred (by email)", byPrefix.names, byPrefix.next)
		}
		first := users("org=acme&limit=10")
		if after := users("org=acme&limit=10&after=" + first.ids[9]); after.ids[0] <= first.ids[9] {
			t.Fatalf("after= no longer pages: %v", after.ids)
		}
		for _, path := range []string{"/api/v1/users?cursor=bogus", "/api/v1/audit?cursor=bogus", "/api/v1/audit?cursor=" + base64.RawURLEncoding.EncodeToString([]byte("u1:x")) /* a user-list cursor */} {
			r := s.get(path, root)
			if m := r.json(t); r.status != http.StatusBadRequest || m["error"].(map[string]any)["code"] != "invalid_type" || m["error"].(map[string]any)["field"] != "cursor" {
				t.Fatalf("%s: %d %s", path, r.status, r.body)
			}
		}

		// The audit search: pages of 2 give what one page of 1,000 gives.
		events := func(query string) ([]float64, string) {
			t.Helper()
			r := s.get("/api/v1/audit?"+query, root)
			if r.status != http.StatusOK {
				t.Fatalf("GET /api/v1/audit?%s: %d %s", query, r.status, r.body)
			}
			m := r.json(t)
			var ids []float64
			for _, e := range m["events"].([]any) {
				ids = append(ids, e.(map[string]any)["id"].(float64))
			}
			next, _ := m["next_cursor"].(string)
			return ids, next
		}
		want, next := events("limit=1000")
		if next != "" || len(want) < 3 {
			t.Fatalf("one page of 1,000: %d events, next %q", len(want), next)
		}
		var got []float64
		q = "limit=2"
		for range 100 {
			ids, next := events(q)
			got = append(got, ids...)
			if next == "" {
				break
			}
			q = "limit=2&cursor=" + url.QueryEscape(next)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("paged audit %v, want %v", got, want)
		}
		if ids, _ := events(fmt.Sprintf("limit=1000&before=%d", int64(want[0]))); !slices.Equal(ids, want[1:]) {
			t.Fatalf("before= no longer pages: %v", ids)
		}
	})
}
