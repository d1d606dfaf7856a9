package postgres

import "github.com/jackc/pgx/v5/pgxpool"

// For the EXPLAIN tests: the statements of the listings and the pool.
var (
	ListUsersQuery = listUsersQuery
	ListAuditQuery = listAuditQuery
)

func (s *Store) Pool() *pgxpool.Pool { return s.pool }
