// Package totp implements authenticator-app second factors: time-based
// one-time passwords as specified by RFC 6238 (built on the HOTP algorithm of
// RFC 4226), with the key URI and QR code that enroll a secret in an app.
//
// Apart from Method (method.go), which adapts it to factor.Method over the
// store, the package is pure: it neither stores nor reads anything. Verification
// reports the time step a code matched; the caller makes that step the
// factor's new last accepted step with one atomic store operation
// (store.Factors.AdvanceStep, or ConfirmFactor at enrollment), which is the
// replay guard. Clocks are injected: no function here calls time.Now.
//
// Secrets and codes are never logged or formatted into errors by this
// package.
package totp

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"strings"
)

// SecretSize is the length in bytes of secrets made by GenerateSecret:
// 160 bits, the size RFC 4226 recommends and every authenticator app accepts.
const SecretSize = 20

// ErrMalformedSecret is returned by DecodeSecret for text that is not a
// base32-encoded secret.
var ErrMalformedSecret = errors.New("totp: malformed secret")

// b32 is RFC 4648 base32 (uppercase alphabet) without padding, the encoding
// the key URI format requires.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// GenerateSecret returns SecretSize bytes from crypto/rand.
func GenerateSecret() ([]byte, error) {
	secret := make([]byte, SecretSize)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	return secret, nil
}

// EncodeSecret returns secret in unpadded, uppercase RFC 4648 base32: the form
// the key URI carries.
func EncodeSecret(secret []byte) string {
	return b32.EncodeToString(secret)
}

// FormatSecret returns EncodeSecret(secret) in groups of four characters
// separated by single spaces ("JBSW Y3DP EHPK 3PXP"), for people who type the
// secret into an app instead of scanning the QR code. DecodeSecret accepts
// this form.
func FormatSecret(secret []byte) string {
	enc := EncodeSecret(secret)
	var b strings.Builder
	b.Grow(len(enc) + len(enc)/4)
	for i := 0; i < len(enc); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(enc[i:min(i+4, len(enc))])
	}
	return b.String()
}

// DecodeSecret decodes a base32 secret as a person or an app may write it:
// letters of either case, ASCII spaces, tabs, line breaks and dashes anywhere,
// with or without trailing "=" padding. It returns ErrMalformedSecret for
// anything else, including an empty secret.
func DecodeSecret(s string) ([]byte, error) {
	clean := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '-':
			continue
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		clean = append(clean, c)
	}
	// Padding may only trail; an "=" anywhere else fails decoding below.
	for len(clean) > 0 && clean[len(clean)-1] == '=' {
		clean = clean[:len(clean)-1]
	}
	if len(clean) == 0 {
		return nil, ErrMalformedSecret
	}
	secret, err := b32.DecodeString(string(clean))
	if err != nil || len(secret) == 0 {
		return nil, ErrMalformedSecret
	}
	return secret, nil
}
