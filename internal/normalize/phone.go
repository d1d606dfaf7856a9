package normalize

import (
	"errors"
	"strings"
)

// ErrInvalidPhone is returned for a phone number that is not E.164.
var ErrInvalidPhone = errors.New("normalize: invalid phone number")

// Phone returns s as an E.164 number: "+" and 8 to 15 digits, the first not
// 0. Spaces, dashes, dots and parentheses are removed first; a leading "00"
// is read as "+". Numbers without a country code are refused (Twofold cannot
// guess the country).
func Phone(s string) (string, error) {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '\u00a0':
		default:
			return "", ErrInvalidPhone
		}
	}
	p := b.String()
	if strings.HasPrefix(p, "00") {
		p = "+" + p[2:]
	}
	if !strings.HasPrefix(p, "+") || len(p) < 9 || len(p) > 16 || p[1] == '0' {
		return "", ErrInvalidPhone
	}
	return p, nil
}

// MaskPhone shows only the country-code digit(s) start and the last two
// digits: "+15551234567" → "+1•••••••67".
func MaskPhone(p string) string {
	if len(p) < 5 {
		return "•••"
	}
	return p[:2] + strings.Repeat("•", len(p)-4) + p[len(p)-2:]
}

// MaskEmail shows the first letter of the local part and the domain:
// "alice@example.com" → "a•••@example.com".
func MaskEmail(e string) string {
	at := strings.LastIndexByte(e, '@')
	if at < 1 {
		return "•••"
	}
	return e[:1] + "•••" + e[at:]
}
