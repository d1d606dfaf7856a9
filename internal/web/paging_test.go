package web_test

import (
	"context"
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

// TestTheUserListPagesThroughEveryUser: with more users than fit on one
// page, the console's user list links to the next page, and the pages
// together show every user once (it used to stop at the first 200).
func TestTheUserListPagesThroughEveryUser(t *testing.T) {
	p := newConsole(t)
	ctx := context.Background()
	reseller, err := p.app.Store.GetOrgBySlug(ctx, "reseller")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var us []store.ImportedUser
	for i := range 130 {
		name := fmt.Sprintf("bulk%03d", i)
		us = append(us, store.ImportedUser{User: store.User{ID: fmt.Sprintf("b%031x", i), OrgID: reseller.ID, Username: name, UsernameNorm: name,
			Role: store.RoleMember, PasswordHash: "$argon2id$x", CreatedAt: now, UpdatedAt: now}})
	}
	if err := p.app.Store.ImportUsers(ctx, us, nil); err != nil {
		t.Fatal(err)
	}
	ria := p.browser()
	ria.login("reseller", "ria", pw)

	next := regexp.MustCompile(`id="next-page" href="([^"]+)"`)
	seen := map[string]int{}
	path := "/admin/users?org=reseller"
	pages := 0
	for ; path != "" && pages < 5; pages++ {
		pg := ria.get(path)
		expect(t, pg, 200, "/admin/users")
		for _, m := range regexp.MustCompile(`>(bulk\d{3})<`).FindAllStringSubmatch(pg.body, -1) {
			seen[m[1]]++
		}
		path = ""
		if m := next.FindStringSubmatch(pg.body); m != nil {
			path = html.UnescapeString(m[1])
		}
		if pages > 0 && !strings.Contains(pg.body, "First page") {
			t.Fatalf("page %d has no link back to the first", pages+1)
		}
	}
	if pages != 2 {
		t.Fatalf("%d pages for 132 users at 100 a page, want 2", pages)
	}
	if len(seen) != 130 {
		t.Fatalf("%d of 130 users shown", len(seen))
	}
	for name, n := range seen {
		if n != 1 {
			t.Fatalf("%s shown %d times", name, n)
		}
	}
}
