package totp

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/binary"
	"hash"
	"time"
)

// MaxSkew is the largest Verifier.Skew Match honours.
const MaxSkew = 10

// maxDigits is the most digits a code can have: the truncated HMAC value of
// RFC 4226 is a 31-bit number, at most ten decimal digits.
const maxDigits = 10

// A Verifier computes and checks time-based one-time passwords (RFC 6238).
//
// The zero value of Period, Digits and Algorithm means the default (30 s,
// 6 digits, SHA-1); the zero value of Skew means no tolerance for clock
// drift. Use Default for the settings every authenticator app honours.
// A Verifier with a negative Period or Skew, a Skew above MaxSkew, or Digits
// outside 1..10 is invalid: its Code returns "" and its Match never matches.
// A Verifier holds no state and is safe for concurrent use.
type Verifier struct {
	// Period is the length of one time step in seconds.
	Period int64
	// Digits is the number of decimal digits in a code.
	Digits int
	// Skew is how many steps before and after the current one are also
	// accepted, to allow for clock drift between server and phone.
	Skew int64
	// Algorithm is the HMAC hash function; nil means crypto/sha1.New.
	Algorithm func() hash.Hash
}

// Default returns the verifier for SHA-1, 6 digits, 30-second steps and
// ±1 step of skew: what NIST allows and every authenticator app honours.
func Default() Verifier {
	return Verifier{Period: 30, Digits: 6, Skew: 1, Algorithm: sha1.New}
}

// withDefaults fills in zero fields and reports whether v is valid.
func (v Verifier) withDefaults() (Verifier, bool) {
	if v.Period == 0 {
		v.Period = 30
	}
	if v.Digits == 0 {
		v.Digits = 6
	}
	if v.Algorithm == nil {
		v.Algorithm = sha1.New
	}
	ok := v.Period > 0 && v.Digits >= 1 && v.Digits <= maxDigits &&
		v.Skew >= 0 && v.Skew <= MaxSkew
	return v, ok
}

// Step returns the time step t falls in: the number of whole periods since
// the Unix epoch (rounded down, also before 1970). It returns 0 for an
// invalid Verifier.
func (v Verifier) Step(t time.Time) int64 {
	v, ok := v.withDefaults()
	if !ok {
		return 0
	}
	s := t.Unix()
	step := s / v.Period
	if s%v.Period < 0 {
		step--
	}
	return step
}

// Code returns the code for secret at the given time step: the HOTP value of
// RFC 4226 with the step as counter, as exactly v.Digits ASCII digits with
// leading zeros. It returns "" for an invalid Verifier.
func (v Verifier) Code(secret []byte, step int64) string {
	v, ok := v.withDefaults()
	if !ok {
		return ""
	}
	var buf [maxDigits]byte
	return string(v.code(hmac.New(v.Algorithm, secret), step, buf[:v.Digits]))
}

// code writes the code for step into dst (len(dst) digits) using mac, an
// HMAC keyed with the secret, and returns dst.
func (v Verifier) code(mac hash.Hash, step int64, dst []byte) []byte {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(step))
	mac.Reset()
	mac.Write(msg[:])
	var sum [64]byte
	h := mac.Sum(sum[:0])
	// Dynamic truncation, RFC 4226 section 5.3.
	off := h[len(h)-1] & 0x0f
	n := binary.BigEndian.Uint32(h[off:off+4]) & 0x7fffffff
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte('0' + n%10)
		n /= 10
	}
	return dst
}

// Match reports whether code is a valid code for secret at now, and if so
// the time step it matched. It checks every step from Step(now)-Skew to
// Step(now)+Skew, but only steps greater than lastStep are eligible: after
// the caller stores the returned step as the factor's last accepted step, the
// same code, and any code of an earlier step, is refused. At enrollment,
// before any step was accepted, pass lastStep = math.MinInt64.
//
// The caller must record the step with an atomic compare-and-set
// (store.Factors.AdvanceStep) and treat losing that race as a failed
// attempt: Match alone does not stop two concurrent requests with the same
// code.
//
// code must already be normalized to ASCII digits (internal/normalize does
// that); anything else, including a code of the wrong length, an empty
// secret or an invalid Verifier, does not match. Every candidate step is
// computed and compared in constant time, so the time Match takes does not
// reveal which step, if any, matched. If codes of two eligible steps happen
// to be equal, the later step is returned, which refuses more on replay.
func (v Verifier) Match(secret []byte, code string, now time.Time, lastStep int64) (step int64, ok bool) {
	v, valid := v.withDefaults()
	if !valid || len(secret) == 0 || len(code) != v.Digits {
		return 0, false
	}
	mac := hmac.New(v.Algorithm, secret)
	cur := v.Step(now)
	var buf [maxDigits]byte
	want := buf[:v.Digits]
	input := []byte(code)
	var found int
	var matched int64
	// Iterating over offsets makes the count of candidates fixed (2·Skew+1)
	// even where cur±Skew would overflow, at times no clock reaches.
	for i := -v.Skew; i <= v.Skew; i++ {
		s := cur + i
		got := v.code(mac, s, want)
		// lastStep is not secret, so branching on it is fine; the result
		// of the comparison never steers the work done.
		eq := subtle.ConstantTimeCompare(got, input) & boolToInt(s > lastStep)
		mask := -int64(eq) // all ones if this step matched
		matched = s&mask | matched&^mask
		found |= eq
	}
	if found == 0 {
		return 0, false
	}
	return matched, true
}

// boolToInt returns 1 for true and 0 for false.
func boolToInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
