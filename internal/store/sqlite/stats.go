package sqlite

import (
	"database/sql"

	"github.com/twofold-id/twofold/internal/store"
)

var _ store.PoolReporter = (*Store)(nil)

// PoolStats reports the writer connection and the reader pool.
func (s *Store) PoolStats() []store.PoolStats {
	conv := func(name string, st sql.DBStats) store.PoolStats {
		return store.PoolStats{Pool: name, Max: st.MaxOpenConnections, Open: st.OpenConnections, InUse: st.InUse, Idle: st.Idle,
			WaitCount: st.WaitCount, WaitDuration: st.WaitDuration}
	}
	return []store.PoolStats{conv("writer", s.w.Stats()), conv("reader", s.r.Stats())}
}
