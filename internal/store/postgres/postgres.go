// Package postgres is the PostgreSQL implementation of store.Store, the
// backend for several Twofold instances sharing one database.
//
// Open connects (through a pgx connection pool) without touching the schema;
// Migrate applies the embedded migrations in migrations/ with goose, holding
// a PostgreSQL advisory lock so that instances starting together migrate
// once. Every single-use thing (a TOTP step, a backup code, a flow, a setup
// token, a failure counter) is consumed by one conditional UPDATE or DELETE,
// or by a transaction holding the row locked, so the winner of a race is
// decided by the database, never by the caller.
//
// Times are stored as timestamptz, which keeps microseconds: values read back
// are truncated to the microsecond and in UTC.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/twofold-id/twofold/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrateLockID is the key of the session advisory lock Migrate holds. It is
// arbitrary but fixed, so that every Twofold process contends for the same
// lock (advisory locks are per database).
const migrateLockID int64 = 0x7477_6f66_6f6c_64 // "twofold"

// connectTimeout bounds each attempt to open a connection, unless the DSN
// sets connect_timeout.
const connectTimeout = 5 * time.Second

// A Store is a store.Store kept in PostgreSQL. It is safe for concurrent use
// by many goroutines and by many processes sharing the database.
type Store struct {
	pool *pgxpool.Pool
	// clock stamps what a caller leaves without a time (Options.Now).
	clock func() time.Time
}

var _ store.Store = (*Store)(nil)

// Open connects to the database named by dsn (a postgres:// URL or a
// key=value connection string) and checks that it answers. It does not
// create or change tables: call Migrate for that.
func Open(ctx context.Context, dsn string) (*Store, error) { return OpenWith(ctx, dsn, Options{}) }

// Options adjust OpenWith.
type Options struct {
	// QueryHook, when set, observes every query (metrics, tracing).
	QueryHook store.QueryHook
	// Now is the store's clock (default time.Now): it stamps records a
	// caller passes without a time, and the few times the store sets
	// itself (an org's updated_at when it moves).
	Now func() time.Time
	// MaxConns, when positive, is the size of the connection pool; it
	// overrides pool_max_conns in the DSN and pgx's default (4, or the CPU
	// count).
	MaxConns int
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, dsn string, o Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse dsn: %w", err)
	}
	if o.QueryHook != nil {
		cfg.ConnConfig.Tracer = tracer{o.QueryHook}
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = int32(o.MaxConns)
	}
	cfg.AfterConnect = func(_ context.Context, c *pgx.Conn) error {
		// Read timestamptz values in UTC rather than time.Local.
		c.TypeMap().RegisterType(&pgtype.Type{
			Name:  "timestamptz",
			OID:   pgtype.TimestamptzOID,
			Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
		})
		return nil
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		// Without a bound, a request waits as long as the operating system
		// tries to connect to a server that does not answer; with one, it
		// fails (503 unavailable) and the next request tries again.
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: ping: %w", err)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Store{pool: pool, clock: o.Now}, nil
}

// Migrate brings the schema up to date with the embedded migrations. It is
// safe to call from several processes at once: a session advisory lock
// serializes them, and those that come later find nothing left to do.
func (s *Store) Migrate(ctx context.Context) (err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrateLockID); err != nil {
		conn.Release()
		return fmt.Errorf("postgres: migrate: lock: %w", err)
	}
	defer func() {
		uctx := context.WithoutCancel(ctx)
		if _, uerr := conn.Exec(uctx, "SELECT pg_advisory_unlock($1)", migrateLockID); uerr != nil {
			// A connection that may still hold the lock must not go back
			// into the pool; closing it releases the lock.
			conn.Conn().Close(uctx)
			err = errors.Join(err, fmt.Errorf("postgres: migrate: unlock: %w", uerr))
		}
		conn.Release()
	}()

	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	return nil
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// Close closes every connection. It waits for connections in use to be
// returned to the pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// querier is what pgxpool.Pool and pgx.Tx have in common.
// execer runs statements without reading rows: a connection, a
// transaction, or a batch being queued (batchExec).
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// batchExec queues statements on a batch instead of running them; their
// errors come from the batch's Close.
type batchExec struct{ b *pgx.Batch }

func (e batchExec) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	e.b.Queue(sql, args...)
	return pgconn.CommandTag{}, nil
}

type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// inTx runs fn in a transaction, committing if fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// mapErr turns database errors into the store's sentinel errors: no rows and
// a foreign key violation (a reference to a missing record) are
// store.ErrNotFound, a unique violation is store.ErrConflict. Other errors
// are wrapped with op.
func mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %s: %w", op, store.ErrNotFound)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return fmt.Errorf("postgres: %s: %w (%s)", op, store.ErrConflict, pgErr.ConstraintName)
		case "23503": // foreign_key_violation: the record referred to is gone
			return fmt.Errorf("postgres: %s: %w (%s)", op, store.ErrNotFound, pgErr.ConstraintName)
		}
	}
	if unreachable(err) {
		return fmt.Errorf("postgres: %s: %w: %w", op, store.ErrUnavailable, err)
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotEmpty) {
		return err
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// unreachable reports whether err means the server could not be reached or
// went away: a failed connect, a broken connection (or one pgx closed after
// its socket broke), or the server shutting
// down (SQLSTATE class 08, and 57P01–57P03). A cancelled context is not.
func unreachable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || errors.Is(err, pgconn.ErrConnClosed) || store.Unavailable(err) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	return false
}

// isForeignKeyViolation reports whether err is SQLSTATE 23503.
func isForeignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23503"
}

// notFound is the error for op when a statement matched no row.
func notFound(op string) error {
	return fmt.Errorf("postgres: %s: %w", op, store.ErrNotFound)
}

// ts normalizes t to what the database will hand back: UTC, microseconds.
func ts(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// tsp is ts for optional times.
func tsp(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := ts(*t)
	return &v
}

// now is the store's clock at stored precision.
func (s *Store) now() time.Time { return s.clock() }

// orNow returns ts(t), or the store's current time if t is zero.
func (s *Store) orNow(t time.Time) time.Time {
	if t.IsZero() {
		return ts(s.now())
	}
	return ts(t)
}

// nullStr maps "" to SQL NULL (for optional references).
func nullStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// likePrefix returns a LIKE pattern matching every string that starts with
// prefix, with LIKE's metacharacters in prefix escaped.
func likePrefix(prefix string) string {
	return likeEscape(prefix) + "%"
}

// likeContains returns a LIKE pattern matching every string containing sub.
func likeContains(sub string) string {
	return "%" + likeEscape(sub) + "%"
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func likeEscape(s string) string { return likeEscaper.Replace(s) }

// limitOr returns n, or def if n is not positive.
func limitOr(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// interval converts d to a PostgreSQL interval (microsecond precision).
func interval(d time.Duration) pgtype.Interval {
	return pgtype.Interval{Microseconds: d.Microseconds(), Valid: true}
}

// duration converts an interval read from the database back to a Duration.
// Our intervals never carry days or months, but they are honoured anyway.
func duration(iv pgtype.Interval) time.Duration {
	if !iv.Valid {
		return 0
	}
	d := time.Duration(iv.Microseconds) * time.Microsecond
	d += time.Duration(iv.Days) * 24 * time.Hour
	d += time.Duration(iv.Months) * 30 * 24 * time.Hour
	return d
}
