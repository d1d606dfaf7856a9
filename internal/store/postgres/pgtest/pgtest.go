// Package pgtest gives tests a fresh PostgreSQL database of their own.
//
// The server comes from the environment: TWOFOLD_TEST_POSTGRES_DSN names a
// database on it that the tests may connect to in order to create others,
// e.g. "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable". When it
// is empty, tests that need PostgreSQL are skipped, unless
// TWOFOLD_REQUIRE_POSTGRES=1 (as in CI), which makes them fail instead; a
// skip prints one line saying how to run them (package skipnote).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/twofold-id/twofold/internal/skipnote"
)

// EnvDSN and EnvRequire are the environment variables pgtest reads.
const (
	EnvDSN     = "TWOFOLD_TEST_POSTGRES_DSN"
	EnvRequire = "TWOFOLD_REQUIRE_POSTGRES"
)

// ServerDSN returns the DSN from TWOFOLD_TEST_POSTGRES_DSN. When it is not
// set it skips t, or fails t if TWOFOLD_REQUIRE_POSTGRES is "1".
func ServerDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("%s is empty but %s=1", EnvDSN, EnvRequire)
		}
		skipnote.Print("postgres", "twofold: PostgreSQL tests skipped: no server configured. Run them with "+
			EnvDSN+"='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable' go test ./... ("+
			EnvRequire+"=1 makes a missing server fail instead)")
		t.Skipf("%s is not set; skipping PostgreSQL test", EnvDSN)
	}
	return dsn
}

// NewDatabase creates an empty database named twofold_test_<random> on the
// test server and returns a DSN for it; the database is dropped (with any
// connections still open to it) when t's cleanup runs. The schema is not
// created: open a store on the DSN and call Migrate. Several stores may be
// opened on one DSN to play several server instances sharing a database.
//
// Like ServerDSN, it skips or fails t when no server is configured.
func NewDatabase(t testing.TB) (dsn string) {
	t.Helper()
	server := ServerDSN(t)
	var b [8]byte
	rand.Read(b[:])
	name := "twofold_test_" + hex.EncodeToString(b[:])

	admin := func(sql string) error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, server)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	ident := pgx.Identifier{name}.Sanitize()
	if err := admin("CREATE DATABASE " + ident); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		if err := admin("DROP DATABASE IF EXISTS " + ident + " WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	dsn, err := withDatabase(server, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dsn
}

// withDatabase returns dsn with its database name replaced by name. It
// understands both URLs and key=value strings.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", err
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	// In a key=value string the last setting of a key wins.
	return dsn + " dbname=" + name, nil
}
