package password

import (
	"errors"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Password length limits (NIST SP 800-63B: at least 8, accept at least 64,
// no composition rules).
const (
	// MinLength is the least number of Unicode code points a password has
	// after NFKC normalization.
	MinLength = 8
	// MaxBytes is the longest password accepted, in bytes of the input as
	// given (1024 bytes: at least 256 characters of any script, 1024 ASCII).
	MaxBytes = 1024
)

// Errors returned by CheckPolicy.
var (
	ErrTooShort = errors.New("password: too short (at least 8 characters)")
	ErrTooLong  = errors.New("password: too long (at most 1024 bytes)")
)

// CheckPolicy reports whether password may be set as a new password. It
// returns ErrTooLong if password is longer than MaxBytes bytes, and
// ErrTooShort if it has fewer than MinLength Unicode code points after NFKC
// normalization (so "ﬁ", one ligature, counts as the two letters it becomes,
// and an accented letter with a precomposed form counts once whether it was
// typed composed or as letter plus combining accent). There are no
// composition rules: any characters, including spaces, are allowed. An
// invalid UTF-8 byte counts as one character.
//
// CheckPolicy applies to passwords being set; never to passwords at sign-in,
// where a password that was valid under an older policy must still verify.
func CheckPolicy(password string) error {
	if len(password) > MaxBytes {
		return ErrTooLong
	}
	if utf8.RuneCountInString(norm.NFKC.String(password)) < MinLength {
		return ErrTooShort
	}
	return nil
}
