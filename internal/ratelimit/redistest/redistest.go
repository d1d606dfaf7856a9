// Package redistest gives tests the Redis server named by
// TWOFOLD_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0). When it is empty,
// tests that need Redis are skipped, unless TWOFOLD_REQUIRE_REDIS=1 (as in
// CI), which makes them fail instead; a skip prints one line saying how to
// run them (package skipnote).
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/twofold-id/twofold/internal/skipnote"
)

// EnvURL and EnvRequire are the environment variables redistest reads.
const (
	EnvURL     = "TWOFOLD_TEST_REDIS_URL"
	EnvRequire = "TWOFOLD_REQUIRE_REDIS"
)

// URL returns the URL from TWOFOLD_TEST_REDIS_URL after checking that the
// server answers. When it is not set it skips t, or fails t if
// TWOFOLD_REQUIRE_REDIS is "1".
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("%s is empty but %s=1", EnvURL, EnvRequire)
		}
		skipnote.Print("redis", "twofold: Redis tests skipped: no server configured. Run them with "+
			EnvURL+"='redis://127.0.0.1:6379/0' go test ./... ("+EnvRequire+"=1 makes a missing server fail instead)")
		t.Skipf("%s is not set; skipping Redis test", EnvURL)
	}
	c := Client(t, u)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis at %s: %v", u, err)
	}
	return u
}

// Client returns a client of url, closed when t ends.
func Client(t testing.TB, url string) *redis.Client {
	t.Helper()
	o, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}

// Prefix returns a key prefix of t's own, so that tests sharing one server
// (and runs following each other) never see each other's keys.
func Prefix() string {
	var b [6]byte
	rand.Read(b[:])
	return "twofold-test-" + hex.EncodeToString(b[:]) + ":"
}
