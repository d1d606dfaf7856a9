package store

import (
	"context"
	"time"
)

// PoolStats is a snapshot of one database connection pool.
type PoolStats struct {
	Pool         string // "writer" or "reader" (SQLite), "pool" (PostgreSQL)
	Max          int    // connections allowed
	Open         int    // connections open, in use or idle
	InUse        int
	Idle         int
	WaitCount    int64         // callers that waited for a connection, since start
	WaitDuration time.Duration // their total wait, since start
}

// A PoolReporter reports its connection pools; both stores are one. Metrics
// read it at every scrape.
type PoolReporter interface {
	PoolStats() []PoolStats
}

// A QueryHook observes database queries: it is called as a query starts
// with the statement's first keyword (select, insert, update, delete, …)
// and returns the context to run it with (which may carry a tracing span)
// and a function to call when the query ends. It must be cheap and safe
// for concurrent use.
type QueryHook func(ctx context.Context, op string) (context.Context, func(err error))
