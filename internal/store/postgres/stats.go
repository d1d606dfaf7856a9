package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/twofold-id/twofold/internal/store"
)

var _ store.PoolReporter = (*Store)(nil)

// PoolStats reports the connection pool.
func (s *Store) PoolStats() []store.PoolStats {
	st := s.pool.Stat()
	return []store.PoolStats{{Pool: "pool", Max: int(st.MaxConns()), Open: int(st.TotalConns()), InUse: int(st.AcquiredConns()),
		Idle: int(st.IdleConns()), WaitCount: st.EmptyAcquireCount(), WaitDuration: st.EmptyAcquireWaitTime()}}
}

// tracer calls a store.QueryHook around every query pgx runs.
type tracer struct{ hook store.QueryHook }

type endKey struct{}

func (t tracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	ctx, end := t.hook(ctx, operation(data.SQL))
	return context.WithValue(ctx, endKey{}, end)
}

func (t tracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	if end, ok := ctx.Value(endKey{}).(func(error)); ok {
		end(data.Err)
	}
}

// operation returns the first keyword of a statement, lowercased: select,
// insert, update, delete, with, begin, … — a label with few values.
func operation(sql string) string {
	sql = strings.TrimSpace(sql)
	end := strings.IndexFunc(sql, func(r rune) bool { return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') })
	if end < 0 {
		end = len(sql)
	}
	op := strings.ToLower(sql[:end])
	switch op {
	case "select", "insert", "update", "delete", "with", "begin", "commit", "rollback":
		return op
	}
	return "other"
}
