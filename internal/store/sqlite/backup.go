package sqlite

import (
	"context"
	"fmt"
)

// Backup writes a consistent copy of the database to path (which must not
// exist) with VACUUM INTO, while readers go on; writers wait for the copy (it holds the one writer connection).
func (s *Store) Backup(ctx context.Context, path string) error {
	if _, err := s.w.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		return fmt.Errorf("sqlite backup: %w", err)
	}
	return nil
}
