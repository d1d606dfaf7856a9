package sqlite

import (
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/twofold-id/twofold/internal/store"
)

// TestUpgradeKeepsTheMeaningOfExistingLocks migrates a database that holds
// locks from before 00004_policy_locks: each keeps binding only the org's
// descendants, with its origin unknown.
func TestUpgradeKeepsTheMeaningOfExistingLocks(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "twofold.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, s.w, fsys)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 3); err != nil {
		t.Fatal(err)
	}
	for _, row := range [][]any{
		{"root", nil, "platform", "/root/", 0, 0},
		{"res", "root", "reseller", "/root/res/", 1, 1},
		{"acme", "res", "acme", "/root/res/acme/", 2, 0},
	} {
		if _, err := s.w.ExecContext(ctx, `INSERT INTO orgs (id, parent_id, slug, name, path, depth, mfa, locked, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, 'required', ?, 0, 0)`, row[0], row[1], row[2], row[2], row[3], row[4], row[5]); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := s.GetOrg(ctx, "res")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Policy.Locked || res.Policy.Lock.Scope != store.LockDescendants || res.Policy.Enforced() ||
		res.Policy.Lock.OrgID != "" || res.Policy.Lock.At != nil {
		t.Errorf("an existing lock after the upgrade: %+v, want scope descendants with no origin", res.Policy)
	}
	acme, err := s.GetOrg(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if acme.Policy.Locked || acme.Policy.Lock.Scope != "" || acme.Policy.Lock.OrgID != "" || acme.Policy.Lock.At != nil {
		t.Errorf("an unlocked org after the upgrade: %+v, want no lock", acme.Policy)
	}
}
