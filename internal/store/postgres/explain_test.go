package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/twofold-id/twofold/internal/store"
	"github.com/twofold-id/twofold/internal/store/postgres"
	"github.com/twofold-id/twofold/internal/store/postgres/pgtest"
)

// explain returns the plan PostgreSQL makes for q with sequential scans
// discouraged — the test tables are tiny, so a sequential scan would be
// cheapest; what is shown is that an index can serve the statement.
func explain(t *testing.T, s *postgres.Store, q string, args []any) string {
	t.Helper()
	ctx := context.Background()
	var plan []string
	err := pgx.BeginFunc(ctx, s.Pool(), func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "EXPLAIN "+q, args...)
		if err != nil {
			return err
		}
		plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		t.Fatalf("EXPLAIN %s: %v", q, err)
	}
	return strings.Join(plan, "\n")
}

// TestTheAdminListingsAreServedByIndexes shows with EXPLAIN that the user
// list (keyset by id, prefix search) and the audit search (keyset by id,
// an org's subtree) read indexes, not whole tables.
func TestTheAdminListingsAreServedByIndexes(t *testing.T) {
	s := open(t, pgtest.NewDatabase(t))
	ctx := context.Background()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	root, err := s.CreateOrg(ctx, store.Org{Slug: "platform", Name: "P", CreatedAt: now, UpdatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	// 2,000 users, so that a prefix selects few of them.
	var users []store.ImportedUser
	for i := range 2000 {
		users = append(users, store.ImportedUser{User: store.User{ID: fmt.Sprintf("%032x", i+1), OrgID: root.ID,
			Username: fmt.Sprint("user", i), UsernameNorm: fmt.Sprint("user", i), Email: fmt.Sprintf("u%d@example.com", i),
			Role: store.RoleMember, PasswordHash: "h", CreatedAt: now, UpdatedAt: now}})
	}
	if err := s.ImportUsers(ctx, users, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		q     string
		args  []any
		wants []string
		table string
	}{
		{name: "users, next page", table: "users", wants: []string{"users_pkey"}},
		{name: "users by prefix", table: "users", wants: []string{"users_username_prefix", "users_email_prefix"}},
		{name: "users of a subtree by prefix", table: "users", wants: []string{"users_username_prefix", "users_email_prefix"}},
		{name: "audit, next page", table: "audit_events", wants: []string{"audit_events_pkey"}},
		{name: "audit of a subtree, next page", table: "audit_events", wants: []string{"Index Scan"}},
	} {
		switch c.name {
		case "users, next page":
			c.q, c.args = postgres.ListUsersQuery(store.UserFilter{AfterID: "m", Limit: 50})
		case "users by prefix":
			c.q, c.args = postgres.ListUsersQuery(store.UserFilter{Prefix: "User123", AfterID: "0", Limit: 50})
		case "users of a subtree by prefix":
			c.q, c.args = postgres.ListUsersQuery(store.UserFilter{Prefix: "u123", OrgPath: root.Path, Limit: 50})
		case "audit, next page":
			c.q, c.args = postgres.ListAuditQuery(store.AuditFilter{BeforeID: 1000, Limit: 50})
		case "audit of a subtree, next page":
			c.q, c.args = postgres.ListAuditQuery(store.AuditFilter{OrgPath: root.Path, BeforeID: 1000, Limit: 50})
		}
		plan := explain(t, s, c.q, c.args)
		for _, w := range c.wants {
			if !strings.Contains(plan, w) {
				t.Errorf("%s: the plan does not use %s:\n%s", c.name, w, plan)
			}
		}
		if strings.Contains(plan, "Seq Scan on "+c.table) {
			t.Errorf("%s: the plan reads all of %s:\n%s", c.name, c.table, plan)
		}
	}
}
