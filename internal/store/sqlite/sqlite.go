// Package sqlite is the embedded SQLite implementation of store.Store, built
// on the pure-Go driver modernc.org/sqlite.
//
// A Store keeps two connection pools on one database file in WAL mode: a
// writer pool of exactly one connection, which runs every write and every
// transaction (begun IMMEDIATE, so a read-modify-write never has to upgrade
// its lock), and a small read-only pool for plain reads, which WAL lets run
// beside the writer. Writers inside one process therefore queue in Go instead
// of racing for SQLite's lock, and writers of other processes wait for it
// through busy_timeout. Together these keep "database is locked" away from
// callers under load.
//
// Times are stored as INTEGER unix microseconds in UTC, durations as INTEGER
// nanoseconds and string lists as JSON arrays. The schema lives in embedded
// goose migrations; Open does not apply them, Migrate does.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/twofold-id/twofold/internal/store"
)

// Store is a store.Store on one SQLite database file. It is safe for
// concurrent use by many goroutines, and by several processes sharing the
// file (which then wait for each other's writes for up to busyTimeout).
type Store struct {
	w *sql.DB // exactly one connection: all writes and transactions
	r *sql.DB // read-only connections for plain reads
	// ck checkpoints the WAL in the background, so that no request waits
	// for a checkpoint's copying and fsync (the writer's automatic
	// checkpoints are off).
	ck        *sql.DB
	stopCk    chan struct{}
	ckStopped chan struct{}
	closeOnce sync.Once
	// clock stamps what a caller leaves without a time (Options.Now).
	clock func() time.Time
}

// Options adjust OpenWith.
type Options struct {
	// Now is the store's clock (default time.Now): it stamps records a
	// caller passes without a time, and the few times the store sets
	// itself (an org's updated_at when it moves).
	Now func() time.Time
}

var _ store.Store = (*Store)(nil)

//go:embed migrations/*.sql
var migrations embed.FS

const (
	// busyTimeout is how long a connection waits for another process's
	// write lock before SQLite reports SQLITE_BUSY, in milliseconds.
	busyTimeout = 10000
	// readers is the size of the read-only pool.
	readers = 6
)

// Open opens (creating if needed) the database file at path and configures
// it: WAL journal, synchronous=NORMAL, foreign keys on, a busy timeout of
// ten seconds. It does not create or upgrade the schema; call Migrate.
func Open(ctx context.Context, path string) (*Store, error) { return OpenWith(ctx, path, Options{}) }

// OpenWith is Open with options.
func OpenWith(ctx context.Context, path string, o Options) (*Store, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if path == "" || strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("sqlite: invalid database path %q", path)
	}
	pragmas := url.Values{"_pragma": {
		fmt.Sprintf("busy_timeout(%d)", busyTimeout),
		"foreign_keys(ON)",
		"synchronous(NORMAL)",
	}}
	wq := url.Values{"_pragma": append(pragmas["_pragma"], "journal_mode(WAL)", "wal_autocheckpoint(0)"), "_txlock": {"immediate"}}
	w, err := sql.Open("sqlite", path+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// The writer connects first so that the file exists and is in WAL mode
	// before any reader opens it.
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	rq := url.Values{"_pragma": append(pragmas["_pragma"], "query_only(1)")}
	r, err := sql.Open("sqlite", path+"?"+rq.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	r.SetConnMaxLifetime(0)
	r.SetConnMaxIdleTime(0)
	if err := r.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	ck, err := sql.Open("sqlite", path+"?"+url.Values{"_pragma": pragmas["_pragma"]}.Encode())
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	ck.SetMaxOpenConns(1)
	s := &Store{w: w, r: r, ck: ck, stopCk: make(chan struct{}), ckStopped: make(chan struct{}), clock: o.Now}
	go s.checkpointer()
	return s, nil
}

// checkpointInterval is how often the background checkpointer runs.
const checkpointInterval = 500 * time.Millisecond

// checkpointer copies committed WAL frames into the database file every
// checkpointInterval with a PASSIVE checkpoint, which never blocks readers
// or the writer.
func (s *Store) checkpointer() {
	defer close(s.ckStopped)
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stopCk:
			return
		case <-t.C:
			s.ck.Exec("PRAGMA wal_checkpoint(PASSIVE)")
		}
	}
}

// Migrate brings the schema up to the newest embedded migration. It is
// idempotent and safe to call on every start.
func (s *Store) Migrate(ctx context.Context) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, s.w, fsys)
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	return nil
}

// Ping reports whether both pools can reach the database.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return err
	}
	return s.r.PingContext(ctx)
}

// Close stops the checkpointer and closes the pools (the last connection
// to close checkpoints the WAL fully). Close is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stopCk)
		<-s.ckStopped
	})
	return errors.Join(s.ck.Close(), s.r.Close(), s.w.Close())
}

// inTx runs fn in one IMMEDIATE transaction on the writer connection and
// commits if fn returns nil. fn must not call other Store methods: the
// writer has one connection, which fn's transaction holds.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return mapErr(err)
	}
	// Rolling back a committed transaction does nothing; this one also
	// releases the writer if fn panics.
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return mapErr(tx.Commit())
}

// exec runs one write statement on the writer and returns the number of
// rows it affected.
func (s *Store) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := s.w.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n, mapErr(err)
}

// execOne runs a write that must affect exactly one row; none is ErrNotFound.
func (s *Store) execOne(ctx context.Context, query string, args ...any) error {
	n, err := s.exec(ctx, query, args...)
	if err == nil && n == 0 {
		err = store.ErrNotFound
	}
	return err
}

// mapErr turns driver errors into the store's errors: no rows is
// ErrNotFound, a violated UNIQUE or PRIMARY KEY constraint is ErrConflict.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %v", store.ErrConflict, err)
		}
	}
	return err
}

// A scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// queryAll runs a read on the reader pool and scans every row with scan.
func queryAll[T any](ctx context.Context, db *sql.DB, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, mapErr(rows.Err())
}

// micro is t as stored: unix microseconds.
func micro(t time.Time) int64 { return t.UnixMicro() }

// microPtr is a nullable time as stored.
func microPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

// fromMicro is the UTC time stored as v.
func fromMicro(v int64) time.Time { return time.UnixMicro(v).UTC() }

// fromNullMicro is the nullable time stored as v.
func fromNullMicro(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicro(v.Int64)
	return &t
}

// norm is t as it reads back from the database.
func norm(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Truncate(time.Microsecond).UTC()
}

// normPtr is norm for a nullable time.
func normPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	n := norm(*t)
	return &n
}

// now is the store's clock at stored precision.
func (s *Store) now() time.Time { return norm(s.clock()) }

// orNow is t, or the current time if t is zero.
func (s *Store) orNow(t time.Time) time.Time {
	if t.IsZero() {
		return s.now()
	}
	return norm(t)
}

// encodeList stores a string list as JSON; nil stays NULL.
func encodeList(l []string) any {
	if l == nil {
		return nil
	}
	b, _ := json.Marshal(l) // a []string always marshals
	return string(b)
}

// decodeList reads a list stored by encodeList.
func decodeList(v sql.NullString) ([]string, error) {
	if !v.Valid {
		return nil, nil
	}
	l := []string{}
	if err := json.Unmarshal([]byte(v.String), &l); err != nil {
		return nil, fmt.Errorf("sqlite: bad string list %q: %w", v.String, err)
	}
	return l, nil
}

// prefixEnd returns the smallest string greater than every string with the
// given prefix, so that "x >= prefix AND x < prefixEnd(prefix)" is an
// index-friendly prefix match with no LIKE wildcards to escape. ok is false
// when no such bound exists (the prefix is all 0xff bytes).
func prefixEnd(prefix string) (end string, ok bool) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// prefixCond returns an SQL condition and arguments matching col against
// prefix (as a byte-wise prefix, no wildcards).
func prefixCond(col, prefix string) (string, []any) {
	if end, ok := prefixEnd(prefix); ok {
		return "(" + col + " >= ? AND " + col + " < ?)", []any{prefix, end}
	}
	return col + " >= ?", []any{prefix}
}

// limitOr100 is the listing limit: 100 unless a positive one is given.
func limitOr100(n int) int {
	if n <= 0 {
		return 100
	}
	return n
}
