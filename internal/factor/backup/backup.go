// Package backup implements single-use backup (recovery) codes.
//
// A batch is Count codes of Length symbols from Alphabet, shown to the user
// once as "xxxxx-xxxxx". Only argon2id hashes of the codes are kept. All
// codes of one batch share one random salt and one set of parameters, so
// checking an input costs one argon2id computation however many codes are
// left: Match hashes the input once and compares the result with every stored
// hash in constant time.
//
// Apart from Method (method.go), which adapts it to factor.Method over the
// store, the package is pure: it neither stores nor reads anything. A code is used
// up only when the caller marks it used with the store's atomic
// store.BackupCodes.UseBackupCode; a caller that loses that race must treat
// the attempt as failed. Codes are never logged or formatted into errors by
// this package.
package backup

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Alphabet holds the 32 symbols codes are made of: the digits 2–9 and the
// lowercase letters other than i and l. 0, 1, i and l are left out because
// they are easily confused with one another and with o; o is kept to reach 32
// symbols (5 bits each), and Normalize reads a typed 0 as o.
const Alphabet = "23456789abcdefghjkmnopqrstuvwxyz"

const (
	// Count is the number of codes in a batch.
	Count = 10
	// Length is the number of symbols in a code.
	Length = 10
	// EntropyBits is the strength of one code: Length symbols of 5 bits.
	EntropyBits = Length * 5
)

const (
	saltSize = 16
	keySize  = 32
)

// Limits on parameters, also applied to parameters read from stored hashes
// so that a corrupted row cannot make Match allocate without bound.
const (
	maxMemory  = 1 << 22 // KiB: 4 GiB
	maxTime    = 64
	minSaltLen = 8
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 64
)

var (
	// ErrMalformedHash is returned by Match when a stored hash is not an
	// argon2id hash this package can read.
	ErrMalformedHash = errors.New("backup: malformed stored hash")
	// ErrMixedBatch is returned by Match when the stored hashes do not all
	// share one salt, parameter set and length, that is, are not one batch.
	ErrMixedBatch = errors.New("backup: stored hashes are not one batch")
	// ErrInvalidParams is returned by Generate for parameters outside the
	// limits argon2id and this package accept.
	ErrInvalidParams = errors.New("backup: invalid argon2id parameters")
)

// Params are the argon2id parameters a batch is hashed with.
type Params struct {
	// Memory is the memory cost in KiB; at least 8×Threads.
	Memory uint32
	// Time is the number of passes; at least 1.
	Time uint32
	// Threads is the degree of parallelism; at least 1.
	Threads uint8
}

// DefaultParams returns m=19456 KiB (19 MiB), t=2, p=1: the argon2id minimum
// OWASP recommends for passwords. NIST SP 800-63B asks for a salted password
// hash for look-up secrets of fewer than 112 bits, such as these 50-bit codes.
func DefaultParams() Params {
	return Params{Memory: 19456, Time: 2, Threads: 1}
}

// valid reports whether p is within the limits.
func (p Params) valid() bool {
	return p.Threads >= 1 && p.Time >= 1 && p.Time <= maxTime &&
		p.Memory >= 8*uint32(p.Threads) && p.Memory <= maxMemory
}

// A Runner runs compute, one argon2id computation, when the caller's limit
// on concurrent hashing allows (password.Hasher.Run); if ctx ends first it
// returns ctx's error without running compute.
type Runner func(ctx context.Context, compute func()) error

// Unlimited runs every computation at once, in the caller's goroutine.
func Unlimited(_ context.Context, compute func()) error { compute(); return nil }

// Generate is GenerateWith without a limit.
func Generate(p Params) (codes []string, hashes []string, err error) {
	return GenerateWith(context.Background(), p, Unlimited)
}

// GenerateWith returns a new batch: Count distinct codes formatted
// "xxxxx-xxxxx", to be shown to the user once, and their argon2id hashes in
// the same order, to be stored. The hashes share one fresh random salt and
// p, and are encoded as "$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>" (unpadded
// standard base64). It costs Count argon2id computations, each run through
// run on its own (so other sign-ins get slots between them).
func GenerateWith(ctx context.Context, p Params, run Runner) (codes []string, hashes []string, err error) {
	if !p.valid() {
		return nil, nil, ErrInvalidParams
	}
	salt := make([]byte, saltSize)
	if _, err := rand.Read(salt); err != nil {
		return nil, nil, err
	}
	seen := make(map[string]bool, Count)
	raw := make([]string, 0, Count)
	for len(raw) < Count {
		c, err := newCode()
		if err != nil {
			return nil, nil, err
		}
		if seen[c] {
			continue // about one batch in 2^44 draws a repeat
		}
		seen[c] = true
		raw = append(raw, c)
	}
	codes = make([]string, Count)
	hashes = make([]string, Count)
	for i, c := range raw {
		codes[i] = c[:Length/2] + "-" + c[Length/2:]
		var key []byte
		if err := run(ctx, func() { key = argon2.IDKey([]byte(c), salt, p.Time, p.Memory, p.Threads, keySize) }); err != nil {
			return nil, nil, err
		}
		hashes[i] = encode(p, salt, key)
	}
	return codes, hashes, nil
}

// newCode returns Length uniformly random symbols of Alphabet.
func newCode() (string, error) {
	var b [Length]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	for i := range b {
		// 256 is a multiple of 32, so the low five bits are uniform.
		b[i] = Alphabet[b[i]&31]
	}
	return string(b[:]), nil
}

// Normalize returns s as a bare code of Length symbols, as Match hashes it:
// ASCII spaces, tabs and dashes are removed, ASCII letters lowercased, and a
// zero read as the letter o. It reports false for anything else: a wrong
// length or a character outside Alphabet (including every non-ASCII one).
func Normalize(s string) (string, bool) {
	if len(s) > 4*Length { // far longer than any spacing of a real code
		return "", false
	}
	var b [Length]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '-':
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case c == '0':
			c = 'o'
		}
		if strings.IndexByte(Alphabet, c) < 0 || n == Length {
			return "", false
		}
		b[n] = c
		n++
	}
	if n != Length {
		return "", false
	}
	return string(b[:]), true
}

// Match reports which of hashes, the stored hashes of one batch's unused
// codes, belongs to input, and returns its index into hashes. It normalizes
// input itself; input that is not a well-formed code does not match and costs
// no hash computation. Otherwise Match computes argon2id once, with the salt
// and parameters of the batch, and compares the result with every hash in
// constant time. Run it under the same concurrency limit as password hashing:
// it costs as much memory and time as one password check: MatchWith does.
//
// A match does not use the code up: the caller must mark hashes[index]'s code
// used with store.BackupCodes.UseBackupCode and treat losing that race as a
// failed attempt.
//
// Match returns ErrMalformedHash or ErrMixedBatch (wrapped, with the position
// of the offending hash) for stored hashes it cannot use; it never panics.
// With no hashes it reports no match.
func Match(input string, hashes []string) (index int, ok bool, err error) {
	return MatchWith(context.Background(), input, hashes, Unlimited)
}

// MatchWith is Match with its one argon2id computation run through run.
func MatchWith(ctx context.Context, input string, hashes []string, run Runner) (index int, ok bool, err error) {
	if len(hashes) == 0 {
		return -1, false, nil
	}
	var first encoded
	keys := make([][]byte, len(hashes))
	for i, h := range hashes {
		e, err := decode(h)
		if err != nil {
			return -1, false, fmt.Errorf("hash %d: %w", i, err)
		}
		if i == 0 {
			first = e
		} else if e.params != first.params || len(e.key) != len(first.key) ||
			!bytes.Equal(e.salt, first.salt) {
			return -1, false, fmt.Errorf("hash %d: %w", i, ErrMixedBatch)
		}
		keys[i] = e.key
	}
	code, valid := Normalize(input)
	if !valid {
		return -1, false, nil
	}
	p := first.params
	var key []byte
	if err := run(ctx, func() {
		key = argon2.IDKey([]byte(code), first.salt, p.Time, p.Memory, p.Threads, uint32(len(first.key)))
	}); err != nil {
		return -1, false, err
	}
	index = -1
	found := 0
	for i, k := range keys {
		eq := subtle.ConstantTimeCompare(key, k)
		index = subtle.ConstantTimeSelect(eq, i, index)
		found |= eq
	}
	if found == 0 {
		return -1, false, nil
	}
	return index, true, nil
}

// encoded is a decoded stored hash.
type encoded struct {
	params Params
	salt   []byte
	key    []byte
}

// encode returns the PHC string form of an argon2id hash.
func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt),
		base64.RawStdEncoding.EncodeToString(key))
}

// decode parses a string made by encode, strictly: argon2id version 19,
// parameters in the order m, t, p as plain decimal numbers within the
// limits, salt and key in unpadded standard base64 of bounded length.
func decode(s string) (encoded, error) {
	var e encoded
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" ||
		parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return e, ErrMalformedHash
	}
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return e, ErrMalformedHash
	}
	m, okM := number(kv[0], "m=", maxMemory)
	t, okT := number(kv[1], "t=", maxTime)
	p, okP := number(kv[2], "p=", 255)
	if !okM || !okT || !okP {
		return e, ErrMalformedHash
	}
	e.params = Params{Memory: m, Time: t, Threads: uint8(p)}
	if !e.params.valid() {
		return e, ErrMalformedHash
	}
	var err error
	e.salt, err = base64.RawStdEncoding.Strict().DecodeString(parts[4])
	if err != nil || len(e.salt) < minSaltLen || len(e.salt) > maxSaltLen {
		return e, ErrMalformedHash
	}
	e.key, err = base64.RawStdEncoding.Strict().DecodeString(parts[5])
	if err != nil || len(e.key) < minKeyLen || len(e.key) > maxKeyLen {
		return e, ErrMalformedHash
	}
	return e, nil
}

// number parses "<prefix><decimal>" with a value of at most limit.
func number(s, prefix string, limit uint64) (uint32, bool) {
	digits, ok := strings.CutPrefix(s, prefix)
	if !ok || digits == "" || (len(digits) > 1 && digits[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(digits, 10, 32)
	if err != nil || n > limit {
		return 0, false
	}
	return uint32(n), true
}
