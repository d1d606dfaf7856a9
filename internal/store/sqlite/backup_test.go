package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/twofold-id/twofold/internal/store"
)

func TestBackupCopiesCommittedDataToAFileThatOpens(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, filepath.Join(dir, "live.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateOrg(ctx, store.Org{Slug: "acme", Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "copy.db")
	if err := s.Backup(ctx, out); err != nil {
		t.Fatal(err)
	}
	c, err := Open(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if o, err := c.GetOrgBySlug(ctx, "acme"); err != nil || o.Name != "Acme" {
		t.Fatalf("copy: org = %+v, err = %v", o, err)
	}
	if err := s.Backup(ctx, out); err == nil {
		t.Fatal("backup over an existing file succeeded")
	}
}
