// Package normalize turns what people type into the one canonical form
// Twofold stores, looks up and counts.
//
// Every identifier is normalized before any lookup, rate limit or lockout
// counter, so that "Alice" and "alice" share one account and one failure
// counter; every code is normalized once, before the replay and lockout
// checks, so that "123 456" and "123-456" are the same attempt.
//
// The functions here are pure: no I/O, no clock, no randomness. They return
// one sentinel error per kind of input (ErrInvalidUsername, ErrInvalidSlug,
// ErrInvalidCode, ErrInvalidEmail) and never panic, whatever the input.
package normalize

import (
	"errors"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Sentinel errors. Callers compare with errors.Is; the messages are safe to
// show to the person who typed the input.
var (
	ErrInvalidUsername = errors.New("normalize: invalid username")
	ErrInvalidSlug     = errors.New("normalize: invalid organization slug")
	ErrInvalidCode     = errors.New("normalize: invalid code")
	ErrInvalidEmail    = errors.New("normalize: invalid email address")
)

// MaxUsernameBytes is the longest normalized username, in bytes of UTF-8.
const MaxUsernameBytes = 128

// maxUsernameInput bounds the raw input Username is willing to normalize, so
// that a megabyte-long "username" is rejected without normalizing it. Four
// times the output limit leaves room for surrounding white space and for
// composition (NFKC turns three 3-byte Hangul jamo into one 3-byte syllable),
// and no real username comes near it.
const maxUsernameInput = 4 * MaxUsernameBytes

// fold is full Unicode case folding (not Turkic): "ß" becomes "ss" and "İ"
// becomes "i̇" (i followed by U+0307 COMBINING DOT ABOVE). cases.Fold is
// documented as stateless and safe for concurrent use.
var fold = cases.Fold()

// Username returns the canonical form of a username, the form used for
// storage, lookup and every per-account counter.
//
// The steps are: trim leading and trailing white space, Unicode NFKC, full
// case folding, NFKC again (folding may leave a string that is not in NFKC).
// "Alice", "ALICE", " alice " and "ａｌｉｃｅ" (full-width letters) all
// normalize to "alice". German "Straße" becomes "strasse". Case folding is
// the language-neutral one: "I" folds to "i" (not to Turkish dotless "ı"),
// "İ" (capital I with dot) folds to "i̇" (i + U+0307), which is a different
// username from "i", and dotless "ı" stays "ı".
//
// Username returns ErrInvalidUsername when the input is not valid UTF-8, the
// result is empty or longer than MaxUsernameBytes, or it contains white space,
// a control character (Unicode Cc) or an invisible format character (Unicode
// Cf, such as U+200B ZERO WIDTH SPACE or bidirectional overrides, which would
// let two different names look identical).
func Username(s string) (string, error) {
	if len(s) > maxUsernameInput || !utf8.ValidString(s) {
		return "", ErrInvalidUsername
	}
	u := strings.TrimSpace(s)
	u = norm.NFKC.String(u)
	u = fold.String(u)
	u = norm.NFKC.String(u)
	if u == "" || len(u) > MaxUsernameBytes {
		return "", ErrInvalidUsername
	}
	for _, r := range u {
		if unicode.IsSpace(r) || unicode.In(r, unicode.Zs, unicode.Cc, unicode.Cf) {
			return "", ErrInvalidUsername
		}
	}
	return u, nil
}

// Slug reports whether s is a valid organization slug, returning
// ErrInvalidSlug if not. A slug is 2 to 63 characters of lowercase ASCII
// letters, digits and hyphens; it starts with a letter, does not end with a
// hyphen and has no two hyphens in a row ("acme-eu-2" is valid; "Acme",
// "2acme", "acme-", "acme--eu" and "a" are not). Slugs are not normalized:
// the caller shows the rule and the user types it again.
func Slug(s string) error {
	if len(s) < 2 || len(s) > 63 {
		return ErrInvalidSlug
	}
	if s[0] < 'a' || s[0] > 'z' || s[len(s)-1] == '-' {
		return ErrInvalidSlug
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' && s[i-1] != '-': // i > 0: s[0] is a letter
		default:
			return ErrInvalidSlug
		}
	}
	return nil
}

// maxSlugInput bounds the raw input OrgSlug is willing to normalize.
const maxSlugInput = 4 * 63

// OrgSlug returns the canonical form of an organization slug as a person
// types it to sign in, or ErrInvalidSlug: the same steps as Username (trim
// white space, NFKC, full case folding, NFKC), after which the result must
// be a valid Slug. "Acme", " ACME " and "ａｃｍｅ" (full-width letters) are
// all "acme". Slugs are stored in this form already (Slug admits nothing
// else), so OrgSlug(s) == s for every stored slug.
func OrgSlug(s string) (string, error) {
	if len(s) > maxSlugInput || !utf8.ValidString(s) {
		return "", ErrInvalidSlug
	}
	out := norm.NFKC.String(fold.String(norm.NFKC.String(strings.TrimSpace(s))))
	if err := Slug(out); err != nil {
		return "", err
	}
	return out, nil
}

// isSeparator reports whether r is one of the separators Code and BackupCode
// remove before validating: ASCII space, tab and hyphen-minus; the Unicode
// dashes U+2010 HYPHEN through U+2015 HORIZONTAL BAR (hyphen, non-breaking
// hyphen, figure dash, en dash, em dash, horizontal bar); and the no-break
// spaces U+00A0 and U+202F, which copying a code from a formatted message
// often produces.
func isSeparator(r rune) bool {
	switch r {
	case ' ', '\t', '-', '\u00a0', '\u202f':
		return true
	}
	return r >= '\u2010' && r <= '\u2015'
}

// Code returns the canonical form of a one-time code (TOTP, email or SMS):
// exactly digits ASCII digits '0'-'9'. It is the one place codes are
// normalized, and callers run it before any replay or lockout check.
//
// Code removes every separator (ASCII space, tab and '-', U+2010 to U+2015
// dashes, U+00A0 and U+202F no-break spaces) and then requires exactly digits
// ASCII digits. Any other rune, including digits of other scripts such as
// Arabic-Indic '٣' or full-width '３', is ErrInvalidCode; so is digits < 1.
// The result is idempotent: Code(Code(s)) == Code(s).
func Code(s string, digits int) (string, error) {
	if digits < 1 {
		return "", ErrInvalidCode
	}
	out := make([]byte, 0, digits)
	for _, r := range s {
		switch {
		case isSeparator(r):
		case r >= '0' && r <= '9':
			if len(out) == digits {
				return "", ErrInvalidCode
			}
			out = append(out, byte(r))
		default:
			return "", ErrInvalidCode
		}
	}
	if len(out) != digits {
		return "", ErrInvalidCode
	}
	return string(out), nil
}

// BackupAlphabet is the set of 32 symbols backup codes are written in: the
// digits 2-9 and the lowercase ASCII letters without 'i' and 'l'. '0', '1',
// 'i' and 'l' are left out because they look alike; 'o' is kept so that the
// alphabet has exactly 32 symbols and each symbol carries 5 bits, and
// BackupCode reads a typed '0' as 'o'. It is the alphabet of
// internal/factor/backup.Alphabet.
const BackupAlphabet = "23456789abcdefghjkmnopqrstuvwxyz"

// BackupCodeLength is the number of BackupAlphabet symbols in a backup code:
// 10 symbols of 5 bits each, 50 bits per code.
const BackupCodeLength = 10

// BackupCode returns the canonical form of a backup code: exactly
// BackupCodeLength symbols of BackupAlphabet. It removes the same separators
// as Code, lowercases ASCII letters, reads the digit '0' as the letter 'o'
// (the one look-alike the alphabet keeps), and returns ErrInvalidCode for
// anything else: a wrong length, the excluded '1', 'i' and 'l', or any
// non-ASCII letter. The result is idempotent.
func BackupCode(s string) (string, error) {
	out := make([]byte, 0, BackupCodeLength)
	for _, r := range s {
		if isSeparator(r) {
			continue
		}
		switch {
		case r >= 'A' && r <= 'Z':
			r += 'a' - 'A'
		case r == '0':
			r = 'o'
		}
		if r >= utf8.RuneSelf || !strings.ContainsRune(BackupAlphabet, r) || len(out) == BackupCodeLength {
			return "", ErrInvalidCode
		}
		out = append(out, byte(r))
	}
	if len(out) != BackupCodeLength {
		return "", ErrInvalidCode
	}
	return string(out), nil
}

// MaxEmailBytes is the longest accepted email address (RFC 5321 path limit).
const MaxEmailBytes = 254

// Email returns the canonical form of an email address: a bare address
// (no display name, no angle brackets, no comments, no quoted local part) with
// its domain lowercased. The local part keeps its case, because RFC 5321 lets
// the receiving server treat it as case-sensitive. Leading and trailing white
// space is trimmed. Anything net/mail.ParseAddress rejects, or that it would
// rewrite, is ErrInvalidEmail, as is an address longer than MaxEmailBytes.
func Email(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > MaxEmailBytes || !utf8.ValidString(s) {
		return "", ErrInvalidEmail
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s {
		return "", ErrInvalidEmail
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return "", ErrInvalidEmail
	}
	return s[:at+1] + strings.ToLower(s[at+1:]), nil
}
