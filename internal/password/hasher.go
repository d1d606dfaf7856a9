package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/text/unicode/norm"
)

// ErrMalformedHash is returned (wrapped, with a detail) by Verify when the
// stored hash is not a well-formed argon2id PHC string or bcrypt hash, uses an
// unsupported variant or version, or has parameters outside the bounds
// Verify accepts (see MaxMemory, MaxTime, maxBcryptCost). It means the stored
// record is wrong, not that the password is.
var ErrMalformedHash = errors.New("password: malformed or unsupported hash")

// maxBcryptCost bounds the cost of bcrypt hashes Verify accepts (2^14 rounds,
// about a second; common defaults are 10 to 12).
const maxBcryptCost = 14

// bcryptMaxPassword is how many bytes of a password bcrypt uses.
const bcryptMaxPassword = 72

// A Hasher hashes and verifies passwords with fixed argon2id parameters,
// running at most a fixed number of hash computations at once. Callers over
// the limit wait their turn, or until their context ends. A Hasher is safe for
// concurrent use.
type Hasher struct {
	params Params
	sem    chan struct{} // one token per running computation
	dummy  string        // see VerifyDummy

	waiting atomic.Int64                     // callers waiting for a slot
	onWait  func(wait time.Duration)         // see OnWait
	trace   func(ctx context.Context) func() // see OnCompute

	// inSlot, if set (by tests), runs while a computation holds its slot.
	inSlot func()
}

// NewHasher returns a Hasher that makes hashes with p and runs at most
// maxConcurrent computations (hashes and verifications) at once;
// maxConcurrent <= 0 means runtime.NumCPU(). Since argon2id with p=1 keeps one
// core busy, more would only add memory, not throughput.
//
// NewHasher panics if p.Validate() fails: parameters come from configuration,
// which is validated before the server starts.
func NewHasher(p Params, maxConcurrent int) *Hasher {
	if err := p.Validate(); err != nil {
		panic(err)
	}
	if maxConcurrent <= 0 {
		maxConcurrent = runtime.NumCPU()
	}
	h := &Hasher{params: p, sem: make(chan struct{}, maxConcurrent)}
	// The dummy hash has the Hasher's parameters and a random salt and key.
	// Verifying against it costs exactly what a real verification costs, and
	// no password matches it (that would take a 2^-8·KeyLen coincidence).
	h.dummy = encodeArgon2id(p, randomBytes(p.SaltLen), randomBytes(p.KeyLen))
	return h
}

// Params returns the parameters h makes new hashes with.
func (h *Hasher) Params() Params { return h.params }

// Stats is a snapshot of a Hasher's queue.
type Stats struct {
	Running  int // computations holding a slot
	Waiting  int // callers waiting for a slot
	Capacity int // slots: computations allowed at once
}

// Stats returns how busy h is now.
func (h *Hasher) Stats() Stats {
	return Stats{Running: len(h.sem), Waiting: int(h.waiting.Load()), Capacity: cap(h.sem)}
}

// OnWait makes h call f with how long each computation waited for its slot
// (0 when one was free). f must be cheap and safe for concurrent use. Call
// it before h is used.
func (h *Hasher) OnWait(f func(wait time.Duration)) { h.onWait = f }

// OnCompute makes h call start with the caller's context when a
// computation begins (after its wait), and the function start returns
// when it ends — a tracing span around the hash. Call it before h is used.
func (h *Hasher) OnCompute(start func(ctx context.Context) (end func())) { h.trace = start }

// acquire waits for a computation slot or for ctx to end, and returns
// ctx.Err() in the latter case. A context that has already ended never gets
// a slot.
func (h *Hasher) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case h.sem <- struct{}{}:
		if h.onWait != nil {
			h.onWait(0)
		}
	default:
		h.waiting.Add(1)
		start := time.Now()
		select {
		case h.sem <- struct{}{}:
			h.waiting.Add(-1)
			if h.onWait != nil {
				h.onWait(time.Since(start))
			}
		case <-ctx.Done():
			h.waiting.Add(-1)
			return ctx.Err()
		}
	}
	if h.inSlot != nil {
		h.inSlot()
	}
	return nil
}

func (h *Hasher) release() { <-h.sem }

// span starts the tracing span of one computation; the caller defers the
// result.
func (h *Hasher) span(ctx context.Context) func() {
	if h.trace == nil {
		return func() {}
	}
	return h.trace(ctx)
}

// Run runs compute — one argon2id computation made elsewhere, such as a
// backup code's hash — in one of h's computation slots, so that every
// argon2id computation of the process shares the one cap the operator set
// (--hash-concurrency). It waits for a slot; if ctx ends first, it returns
// ctx.Err() without running compute.
func (h *Hasher) Run(ctx context.Context, compute func()) error {
	if err := h.acquire(ctx); err != nil {
		return err
	}
	defer h.release()
	defer h.span(ctx)()
	compute()
	return nil
}

// Hash returns an argon2id PHC string for password, made with h's parameters
// and a new random salt. The password is normalized to NFKC first. Hash
// waits for a computation slot; if ctx ends first, it returns ctx.Err().
// It does not check the password policy (see CheckPolicy).
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := randomBytes(h.params.SaltLen)
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	defer h.span(ctx)()
	p := h.params
	key := argon2.IDKey([]byte(norm.NFKC.String(password)), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return encodeArgon2id(p, salt, key), nil
}

// Verify reports whether password matches the stored hash encoded, comparing
// in constant time. encoded is an argon2id PHC string (with any parameters
// within the bounds above) or a bcrypt hash ($2a$, $2b$, $2y$, cost at most
// 14). For bcrypt, only the first 72 bytes of the password count, as in every
// bcrypt implementation.
//
// needsRehash is true when ok is true and the hash should be replaced by
// Hash(password): it is bcrypt, or argon2id with parameters (including key or
// salt length) other than h's.
//
// A malformed or unsupported hash yields an error wrapping ErrMalformedHash
// (and ok false), never a panic. Verify waits for a computation slot; if ctx
// ends first, it returns ctx.Err().
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok bool, needsRehash bool, err error) {
	return h.verify(ctx, password, encoded, nil)
}

// A Gate brackets one verification inside its computation slot: Enter runs
// once the slot is held and before anything is computed (an error refuses
// the verification), Leave right after the comparison with its outcome,
// still inside the slot.
//
// Callers reserve a counted attempt in Enter and settle it in Leave. Since
// at most the Hasher's concurrency limit of verifications are between Enter
// and Leave, a burst of right passwords for one account never has more than
// that many reservations outstanding, while the reservations still bound
// how many guesses a burst of wrong ones gets.
type Gate interface {
	Enter() error
	Leave(match bool)
}

// VerifyGated is Verify with a gate (see Gate); when Enter returns an
// error, VerifyGated returns it without computing. An empty encoded means
// the dummy hash (see VerifyDummy).
func (h *Hasher) VerifyGated(ctx context.Context, password, encoded string, gate Gate) (ok bool, needsRehash bool, err error) {
	if encoded == "" {
		encoded = h.dummy
	}
	return h.verify(ctx, password, encoded, gate)
}

func (h *Hasher) verify(ctx context.Context, password, encoded string, gate Gate) (ok bool, needsRehash bool, err error) {
	if strings.HasPrefix(encoded, "$2") {
		return h.verifyBcrypt(ctx, password, encoded, gate)
	}
	a, err := parseArgon2id(encoded)
	if err != nil {
		return false, false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	defer h.span(ctx)()
	if gate != nil {
		if err := gate.Enter(); err != nil {
			return false, false, err
		}
	}
	key := argon2.IDKey([]byte(norm.NFKC.String(password)), a.salt, a.params.Time, a.params.Memory, a.params.Threads, a.params.KeyLen)
	ok = subtle.ConstantTimeCompare(key, a.key) == 1
	if gate != nil {
		gate.Leave(ok)
	}
	return ok, ok && a.params != h.params, nil
}

// verifyBcrypt is Verify for a hash that starts with "$2".
func (h *Hasher) verifyBcrypt(ctx context.Context, password, encoded string, gate Gate) (ok bool, needsRehash bool, err error) {
	switch {
	case len(encoded) != 60,
		!strings.HasPrefix(encoded, "$2a$") && !strings.HasPrefix(encoded, "$2b$") && !strings.HasPrefix(encoded, "$2y$"):
		return false, false, fmt.Errorf("%w: not a $2a$, $2b$ or $2y$ bcrypt hash", ErrMalformedHash)
	}
	cost, err := bcrypt.Cost([]byte(encoded))
	if err != nil {
		return false, false, fmt.Errorf("%w: bcrypt: %v", ErrMalformedHash, err)
	}
	if cost > maxBcryptCost {
		return false, false, fmt.Errorf("%w: bcrypt cost %d above %d", ErrMalformedHash, cost, maxBcryptCost)
	}
	pw := []byte(password)
	if len(pw) > bcryptMaxPassword {
		pw = pw[:bcryptMaxPassword]
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	defer h.span(ctx)()
	if gate != nil {
		if err := gate.Enter(); err != nil {
			return false, false, err
		}
	}
	err = bcrypt.CompareHashAndPassword([]byte(encoded), pw)
	if gate != nil {
		gate.Leave(err == nil)
	}
	switch {
	case err == nil:
		return true, true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, false, nil
	default:
		return false, false, fmt.Errorf("%w: bcrypt: %v", ErrMalformedHash, err)
	}
}

// VerifyDummy spends the time of a Verify against a hash made with h's
// parameters, and matches nothing. Call it when the user does not exist, so
// that "no such user" and "wrong password" take the same time. Like Verify it
// waits for a computation slot and returns early if ctx ends.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) {
	_, _, _ = h.Verify(ctx, password, h.dummy) // the outcome is meaningless by design
}

// argon2idHash is a parsed argon2id PHC string.
type argon2idHash struct {
	params    Params
	salt, key []byte
}

// encodeArgon2id returns the PHC string for key, derived with p and salt.
func encodeArgon2id(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// parseArgon2id parses "$argon2id$v=19$m=<KiB>,t=<passes>,p=<threads>$<salt>$<key>",
// salt and key in unpadded standard base64, and checks every parameter
// against the bounds Verify accepts. Errors wrap ErrMalformedHash.
func parseArgon2id(encoded string) (argon2idHash, error) {
	var a argon2idHash
	fields := strings.Split(encoded, "$")
	if len(fields) != 6 || fields[0] != "" {
		return a, fmt.Errorf("%w: not an argon2id or bcrypt hash", ErrMalformedHash)
	}
	if fields[1] != "argon2id" {
		return a, fmt.Errorf("%w: unsupported algorithm %q", ErrMalformedHash, truncate(fields[1]))
	}
	if fields[2] != "v=19" {
		return a, fmt.Errorf("%w: unsupported argon2 version %q", ErrMalformedHash, truncate(fields[2]))
	}
	m, t, p, err := parseArgon2Params(fields[3])
	if err != nil {
		return a, err
	}
	salt, err := decodeB64(fields[4])
	if err != nil || len(salt) < 8 || len(salt) > 64 {
		return a, fmt.Errorf("%w: argon2id salt must be 8 to 64 bytes of unpadded base64", ErrMalformedHash)
	}
	key, err := decodeB64(fields[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return a, fmt.Errorf("%w: argon2id hash must be 16 to 64 bytes of unpadded base64", ErrMalformedHash)
	}
	a.params = Params{Memory: m, Time: t, Threads: p, KeyLen: uint32(len(key)), SaltLen: uint32(len(salt))}
	a.salt, a.key = salt, key
	return a, nil
}

// parseArgon2Params parses "m=<KiB>,t=<passes>,p=<threads>", in that order,
// within the bounds Verify accepts.
func parseArgon2Params(s string) (m, t uint32, p uint8, err error) {
	bad := fmt.Errorf("%w: argon2id parameters are not m=<KiB>,t=<passes>,p=<threads> within bounds",
		ErrMalformedHash)
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return 0, 0, 0, bad
	}
	var v [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		digits, found := strings.CutPrefix(parts[i], name)
		if !found || digits == "" || digits[0] == '+' || len(digits) > 1 && digits[0] == '0' {
			return 0, 0, 0, bad
		}
		if v[i], err = strconv.ParseUint(digits, 10, 32); err != nil {
			return 0, 0, 0, bad
		}
	}
	switch {
	case v[1] < 1 || v[1] > MaxTime, v[2] < 1 || v[2] > 255, v[0] > MaxMemory, v[0] < 8*v[2]:
		return 0, 0, 0, bad
	}
	return uint32(v[0]), uint32(v[1]), uint8(v[2]), nil
}

// decodeB64 decodes unpadded standard base64 in its one canonical spelling:
// the decoder alone would skip embedded '\r' and '\n'.
func decodeB64(s string) ([]byte, error) {
	b, err := base64.RawStdEncoding.Strict().DecodeString(s)
	if err != nil || base64.RawStdEncoding.EncodeToString(b) != s {
		return nil, errors.New("not canonical unpadded base64")
	}
	return b, nil
}

// truncate shortens s for an error message.
func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}

// randomBytes returns n random bytes.
func randomBytes(n uint32) []byte {
	b := make([]byte, n)
	rand.Read(b) // never returns an error (crypto/rand, Go 1.24+)
	return b
}
