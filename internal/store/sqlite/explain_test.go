package sqlite

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

// queryPlan returns SQLite's EXPLAIN QUERY PLAN of q, one step a line.
func queryPlan(t *testing.T, s *Store, q string, args []any) string {
	t.Helper()
	rows, err := s.r.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatalf("EXPLAIN QUERY PLAN %s: %v", q, err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, detail)
	}
	return strings.Join(lines, "\n")
}

// TestTheAdminListingsAreServedByIndexes shows with EXPLAIN QUERY PLAN that
// the user list (keyset by id, prefix search) and the audit search (keyset
// by id, an org's subtree) read indexes, not whole tables.
func TestTheAdminListingsAreServedByIndexes(t *testing.T) {
	s := newTestStore(t)
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	root, err := s.CreateOrg(ctx, store.Org{Slug: "platform", Name: "P", CreatedAt: now, UpdatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	var users []store.ImportedUser
	for i := range 2000 {
		users = append(users, store.ImportedUser{User: store.User{ID: fmt.Sprintf("%032x", i+1), OrgID: root.ID,
			Username: fmt.Sprint("user", i), UsernameNorm: fmt.Sprint("user", i), Email: fmt.Sprintf("u%d@example.com", i),
			Role: store.RoleMember, PasswordHash: "h", CreatedAt: now, UpdatedAt: now}})
	}
	if err := s.ImportUsers(ctx, users, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		q     string
		args  []any
		wants []string
		table string
	}{
		{name: "users, next page", table: "users"},
		{name: "users by prefix", table: "users", wants: []string{"users_username_prefix", "users_email_prefix"}},
		// (Within an org the unique index on (org_id, username_norm) serves.)
		// The email side may use the per-org email index of invitations
		// (users_org_email) as well as the global prefix index.
		{name: "users of a subtree by prefix", table: "users", wants: []string{"username_norm>? AND username_norm<?", "users_email_prefix|users_org_email"}},
		{name: "audit, next page", table: "audit_events"},
		{name: "audit of a subtree, next page", table: "audit_events", wants: []string{"audit_events_org"}},
	} {
		switch c.name {
		case "users, next page":
			c.q, c.args = listUsersQuery(store.UserFilter{AfterID: "0", Limit: 50})
		case "users by prefix":
			c.q, c.args = listUsersQuery(store.UserFilter{Prefix: "User123", AfterID: "0", Limit: 50})
		case "users of a subtree by prefix":
			c.q, c.args = listUsersQuery(store.UserFilter{Prefix: "u123", OrgPath: root.Path, Limit: 50})
		case "audit, next page":
			c.q, c.args = listAuditQuery(store.AuditFilter{BeforeID: 1000, Limit: 50})
		case "audit of a subtree, next page":
			c.q, c.args = listAuditQuery(store.AuditFilter{OrgPath: root.Path, BeforeID: 1000, Limit: 50})
		}
		plan := queryPlan(t, s, c.q, c.args)
		for _, w := range c.wants {
			if !slices.ContainsFunc(strings.Split(w, "|"), func(alt string) bool { return strings.Contains(plan, alt) }) {
				t.Errorf("%s: the plan does not use %s:\n%s", c.name, w, plan)
			}
		}
		// A SCAN of the table itself reads every row; SEARCH uses an index,
		// and so does a SCAN ... USING INDEX in key order.
		for _, line := range strings.Split(plan, "\n") {
			if strings.HasPrefix(line, "SCAN "+c.table) && !strings.Contains(line, "INDEX") ||
				strings.HasPrefix(line, "SCAN "+c.table[:1]+" ") && !strings.Contains(line, "INDEX") {
				t.Errorf("%s: the plan reads all of %s:\n%s", c.name, c.table, plan)
			}
		}
	}
}
