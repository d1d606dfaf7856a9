package notify

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"
)

// maxPhoneInput bounds the input ValidateE164 looks at, so a caller cannot
// make it walk megabytes of punctuation.
const maxPhoneInput = 64

// ValidateE164 checks that s is a phone number in E.164 form and returns its
// canonical form: "+" followed by 8 to 15 ASCII digits, the first of which
// is not 0. Spaces, tabs, dashes, dots and parentheses are removed first, so
// "+1 (555) 123-4567" becomes "+15551234567". Numbers without the leading
// "+" (national formats, "00" prefixes) are rejected rather than guessed.
// The error wraps [ErrInvalidPhone] and does not repeat the input.
func ValidateE164(s string) (string, error) {
	if len(s) > maxPhoneInput {
		return "", fmt.Errorf("%w: too long", ErrInvalidPhone)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch r {
		case ' ', '\t', '\u00a0', '-', '.', '(', ')':
			continue
		}
		b.WriteRune(r)
	}
	c := b.String()
	if !strings.HasPrefix(c, "+") {
		return "", fmt.Errorf("%w: must start with + and the country code", ErrInvalidPhone)
	}
	digits := c[1:]
	if len(digits) < 8 || len(digits) > 15 {
		return "", fmt.Errorf("%w: must have 8 to 15 digits", ErrInvalidPhone)
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return "", fmt.Errorf("%w: only digits may follow +", ErrInvalidPhone)
		}
	}
	if digits[0] == '0' {
		return "", fmt.Errorf("%w: country code cannot start with 0", ErrInvalidPhone)
	}
	return c, nil
}

// mask is the character that stands for hidden characters in masked
// addresses.
const mask = "•"

// MaskPhone returns a form of a phone number that is safe to show as a
// "sent to" hint: the "+", the first digit, seven bullets and the last two
// digits, as in "+1•••••••67" for "+15551234567". The number of bullets is
// fixed so the mask does not reveal the number's length. Input that is not a
// valid E.164 number yields "•••".
func MaskPhone(s string) string {
	c, err := ValidateE164(s)
	if err != nil {
		return strings.Repeat(mask, 3)
	}
	return c[:2] + strings.Repeat(mask, 7) + c[len(c)-2:]
}

// MaskEmail returns a form of an email address that is safe to show as a
// "sent to" hint: the first character of the local part, three bullets and
// the domain, as in "a•••@example.com" for "alice@example.com". A display
// name is dropped. Input that is not an address yields "•••".
func MaskEmail(s string) string {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return strings.Repeat(mask, 3)
	}
	at := strings.LastIndexByte(a.Address, '@')
	if at <= 0 {
		return strings.Repeat(mask, 3)
	}
	first, _ := utf8.DecodeRuneInString(a.Address)
	return string(first) + strings.Repeat(mask, 3) + a.Address[at:]
}
