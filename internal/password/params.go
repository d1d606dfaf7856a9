// Package password hashes and verifies passwords and checks the password
// policy.
//
// New hashes are argon2id in the PHC string format of the reference
// implementation:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// with salt and hash in unpadded standard base64. Verify also accepts argon2id
// hashes with other parameters and bcrypt hashes ($2a$, $2b$, $2y$) imported
// from other systems, and reports when a hash should be replaced by one made
// with the current parameters.
//
// Argon2id is memory-hard by design: each computation holds Params.Memory
// KiB. A Hasher therefore lets only a fixed number of computations run at
// once and queues the rest, so a login flood costs time, not memory.
//
// Passwords are normalized to Unicode NFKC before argon2id hashing, as NIST
// SP 800-63B recommends, so that the same password typed on two keyboards
// (composed or decomposed accents, full-width forms) verifies. Imported
// bcrypt hashes are checked against the password as typed, as the system
// that made them did.
package password

import (
	"errors"
	"fmt"
	"testing"
)

// Bounds on argon2id parameters. Validate enforces them on the Hasher's own
// parameters; Verify enforces them on every stored hash, so that a planted or
// corrupt hash cannot make one verification take gigabytes or minutes.
const (
	// MinMemory is the least memory, in KiB, Validate accepts outside tests
	// (19 MiB, the OWASP and NIST SP 800-63B minimum for t=2).
	MinMemory = 19 * 1024
	// MaxMemory is the most memory, in KiB, a hash may use (256 MiB).
	MaxMemory = 256 * 1024
	// MaxTime is the most argon2id passes a hash may use.
	MaxTime = 32
	// minCost is the least Memory×Time product Validate accepts outside
	// tests: 19 MiB with t=2, or at least 38 MiB with t=1 (OWASP lists 46 MiB
	// for t=1), so that t=1 cannot quietly halve the cost.
	minCost = MinMemory * 2
)

// Params are argon2id cost parameters.
type Params struct {
	Memory  uint32 // memory in KiB
	Time    uint32 // number of passes
	Threads uint8  // degree of parallelism
	KeyLen  uint32 // length of the derived key in bytes
	SaltLen uint32 // length of the random salt in bytes
}

// DefaultParams returns Twofold's default parameters: m=19 MiB (19456 KiB),
// t=2, p=1, a 32-byte key and a 16-byte salt — the OWASP minimum, which keeps one
// core busy for a few tens of milliseconds (see BenchmarkHashDefault).
func DefaultParams() Params {
	return Params{Memory: MinMemory, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}
}

// TestParams returns parameters so cheap (8 KiB, one pass) that a hash
// costs microseconds. They are for unit tests only: Validate accepts them only
// in a test binary (as reported by testing.Testing), so a server cannot be
// configured with them by mistake.
func TestParams() Params {
	return Params{Memory: 8, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}
}

// Validate reports whether p is safe to hash new passwords with. It requires
// Memory >= MinMemory KiB and Memory×Time >= 2×MinMemory (both waived in test
// binaries, for TestParams), Memory <= MaxMemory, 1 <= Time <= MaxTime,
// Threads >= 1 with Memory >= 8×Threads (an argon2 rule), and KeyLen and
// SaltLen between 16 and 64 bytes.
func (p Params) Validate() error {
	return p.validate(testing.Testing())
}

// validate is Validate; testCost waives the minimum cost.
func (p Params) validate(testCost bool) error {
	switch {
	case p.Time < 1 || p.Time > MaxTime:
		return fmt.Errorf("password: argon2id time %d out of range 1..%d", p.Time, MaxTime)
	case p.Threads < 1:
		return errors.New("password: argon2id threads must be at least 1")
	case p.Memory > MaxMemory:
		return fmt.Errorf("password: argon2id memory %d KiB above the maximum %d KiB", p.Memory, MaxMemory)
	case p.Memory < 8*uint32(p.Threads):
		return fmt.Errorf("password: argon2id memory %d KiB below 8 KiB per thread", p.Memory)
	case p.KeyLen < 16 || p.KeyLen > 64:
		return fmt.Errorf("password: argon2id key length %d out of range 16..64", p.KeyLen)
	case p.SaltLen < 16 || p.SaltLen > 64:
		return fmt.Errorf("password: argon2id salt length %d out of range 16..64", p.SaltLen)
	}
	if testCost {
		return nil
	}
	if p.Memory < MinMemory {
		return fmt.Errorf("password: argon2id memory %d KiB below the minimum %d KiB (19 MiB)", p.Memory, MinMemory)
	}
	if uint64(p.Memory)*uint64(p.Time) < minCost {
		return fmt.Errorf("password: argon2id memory %d KiB with time %d is below the minimum cost "+
			"(19 MiB with t=2, or 38 MiB with t=1)", p.Memory, p.Time)
	}
	return nil
}
