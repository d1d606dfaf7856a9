package loadtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/twofold-id/twofold/internal/factor/totp"
	"github.com/twofold-id/twofold/internal/password"
)

// A SeedFile holds what the load test knows of the users it seeded, so that
// later runs can use them without seeding again (--seed). It holds their
// password and authenticator-app secrets in the clear: it is test data,
// written 0600.
type SeedFile struct {
	Target   string     `json:"target"`
	Org      string     `json:"org"`
	Password string     `json:"password"`
	SeededAt time.Time  `json:"seeded_at"`
	Users    []SeedUser `json:"users"`
}

// SeedUser is one seeded user.
type SeedUser struct {
	Username string `json:"username"`
	Secret   string `json:"totp_secret"` // base32
	// LastStep is the newest TOTP time step the server saw from this user
	// (at the import, or in a run); the next run starts after it, so that
	// no code is replayed. Runs write it back to the file.
	LastStep int64 `json:"last_step"`
}

// readSeed reads a seed file.
func readSeed(path string) (SeedFile, error) {
	var sf SeedFile
	b, err := os.ReadFile(path)
	if err != nil {
		return sf, err
	}
	if err := json.Unmarshal(b, &sf); err != nil {
		return sf, fmt.Errorf("seed file %s: %w", path, err)
	}
	if sf.Org == "" || sf.Password == "" || len(sf.Users) == 0 {
		return sf, fmt.Errorf("seed file %s: no org, password or users", path)
	}
	return sf, nil
}

// writeSeed writes a seed file, readable only by its owner.
func writeSeed(path string, sf SeedFile) error {
	b, err := json.MarshalIndent(sf, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// seedBatch is how many users one import request carries (well within the
// API's 64 KiB body bound), and the number of users sharing one password
// hash.
const seedBatch = 200

// seed creates an org below cfg.ParentOrg (or the caller's own org) that
// requires a second factor, and n users in it with confirmed authenticator
// apps, through the admin API's bulk import (POST /api/v1/users/import).
//
// This is honest about what a sign-in costs: every user has a real argon2id
// hash with the server's parameters, so the server verifies it exactly as
// it would any other; only seeding is cheaper. The load test computes one
// hash per batch of seedBatch users who share the password (their hashes
// share a salt), instead of the twelve argon2id computations per user of
// signing up through the API (the password, the sign-in, ten backup codes);
// imported users have no backup codes, which no sign-in here uses.
func seed(ctx context.Context, c *client, cfg Config) (SeedFile, SeedStats, error) {
	start := time.Now()
	parent := cfg.ParentOrg
	if parent == "" {
		a := c.call(ctx, http.MethodGet, "/api/v1/orgs", c.token, "", nil)
		if a.status != http.StatusOK {
			return SeedFile{}, SeedStats{}, fmt.Errorf("list orgs with the token: %s", a.outcome())
		}
		orgs, _ := a.body["orgs"].([]any)
		best := -1
		for _, o := range orgs {
			m, _ := o.(map[string]any)
			d, _ := m["depth"].(float64)
			if slug, _ := m["slug"].(string); slug != "" && (best < 0 || int(d) < best) {
				best, parent = int(d), slug
			}
		}
		if parent == "" {
			return SeedFile{}, SeedStats{}, errors.New("the token sees no org to create the load-test org in")
		}
	}
	var rnd [4]byte
	rand.Read(rnd[:])
	slug := "loadtest-" + hex.EncodeToString(rnd[:])
	a := c.call(ctx, http.MethodPost, "/api/v1/orgs", c.token, "", map[string]any{
		"slug": slug, "name": "Load test " + time.Now().UTC().Format("2006-01-02 15:04"), "parent": parent,
		"policy": map[string]any{"mfa": "required", "allowed_methods": []string{"totp"}},
	})
	if a.status != http.StatusCreated {
		return SeedFile{}, SeedStats{}, fmt.Errorf("create org %s below %s: %s", slug, parent, a.outcome())
	}
	pw := cfg.Password
	if pw == "" {
		var b [12]byte
		rand.Read(b[:])
		pw = "lt-" + hex.EncodeToString(b[:])
	}
	sf := SeedFile{Target: c.base, Org: slug, Password: pw, SeededAt: time.Now().UTC(), Users: make([]SeedUser, cfg.Users)}
	for i := range sf.Users {
		secret, err := totp.GenerateSecret()
		if err != nil {
			return SeedFile{}, SeedStats{}, err
		}
		sf.Users[i] = SeedUser{Username: fmt.Sprintf("u%07d", i), Secret: totp.EncodeSecret(secret)}
	}

	batches := make(chan int)
	var (
		mu       sync.Mutex
		firstErr error
		hashes   int
		wg       sync.WaitGroup
	)
	for range 2 {
		wg.Go(func() {
			for from := range batches {
				hash, err := password.HashWith(cfg.HashParams, pw)
				if err == nil {
					err = importBatch(ctx, c, slug, hash, sf.Users[from:min(from+seedBatch, len(sf.Users))])
				}
				mu.Lock()
				hashes++
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	for from := 0; from < len(sf.Users); from += seedBatch {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed {
			break
		}
		batches <- from
	}
	close(batches)
	wg.Wait()
	if firstErr != nil {
		return SeedFile{}, SeedStats{}, firstErr
	}
	d := time.Since(start)
	return sf, SeedStats{Users: len(sf.Users), Seconds: d.Seconds(), PerSecond: float64(len(sf.Users)) / d.Seconds(), Hashes: hashes}, nil
}

// importBatch imports users sharing one password hash.
func importBatch(ctx context.Context, c *client, org, hash string, users []SeedUser) error {
	list := make([]map[string]any, len(users))
	for i, u := range users {
		list[i] = map[string]any{"username": u.Username, "password_hash": hash,
			"totp": []map[string]string{{"secret": u.Secret, "label": "load test"}}}
	}
	a := c.call(ctx, http.MethodPost, "/api/v1/users/import", c.token, "", map[string]any{"org": org, "users": list})
	if a.status != http.StatusOK {
		return fmt.Errorf("import users into %s: %s %v", org, a.outcome(), a.body["problems"])
	}
	return nil
}
