package password

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// CheckHash reports whether encoded is a hash Verify accepts — an argon2id
// PHC string within Verify's bounds, or a bcrypt hash ($2a$, $2b$, $2y$) of
// cost at most 14 — without computing anything. It is for hashes brought in
// from elsewhere (user import); errors wrap ErrMalformedHash and never
// contain the hash.
func CheckHash(encoded string) error {
	if !strings.HasPrefix(encoded, "$2") {
		_, err := parseArgon2id(encoded)
		return err
	}
	if len(encoded) != 60 || !strings.HasPrefix(encoded, "$2a$") && !strings.HasPrefix(encoded, "$2b$") && !strings.HasPrefix(encoded, "$2y$") {
		return fmt.Errorf("%w: not a $2a$, $2b$ or $2y$ bcrypt hash", ErrMalformedHash)
	}
	cost, err := bcrypt.Cost([]byte(encoded))
	if err != nil {
		return fmt.Errorf("%w: bcrypt: %v", ErrMalformedHash, err)
	}
	if cost > maxBcryptCost {
		return fmt.Errorf("%w: bcrypt cost %d above %d", ErrMalformedHash, cost, maxBcryptCost)
	}
	return nil
}

// HashWith returns an argon2id PHC string for password made with p and a
// new random salt, without a Hasher's concurrency cap. It is for programs
// that prepare hashes outside the server — a load test seeding users, an
// import file — never for a request path, which must use Hasher.Hash.
func HashWith(p Params, password string) (string, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	h := &Hasher{params: p, sem: make(chan struct{}, 1)}
	return h.Hash(context.Background(), password)
}
