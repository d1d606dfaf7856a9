package password

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckPolicy(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"eight ASCII letters", "abcdefgh", nil},
		{"eight spaces (no composition rules)", "        ", nil},
		{"passphrase", "correct horse battery staple", nil},
		{"eight Cyrillic letters (16 bytes)", "пароль12", nil},
		{"eight CJK characters", "正确的马电池订书", nil},
		{"eight emoji", strings.Repeat("🔑", 8), nil},
		{"128 characters", strings.Repeat("a", 128), nil},
		{"1024 bytes", strings.Repeat("a", MaxBytes), nil},
		{"256 four-byte characters", strings.Repeat("🔑", 256), nil},
		{"decomposed accents counted once each", strings.Repeat("e\u0301", 8), nil},
		{"ligatures count as their letters", strings.Repeat("ﬁ", 4), nil},

		{"empty", "", ErrTooShort},
		{"seven letters", "abcdefg", ErrTooShort},
		{"seven Cyrillic letters (14 bytes)", "пароль1", ErrTooShort},
		{"four accented letters typed decomposed (8 code points)", strings.Repeat("e\u0301", 4), ErrTooShort},
		{"1025 bytes", strings.Repeat("a", MaxBytes+1), ErrTooLong},
		{"257 four-byte characters", strings.Repeat("🔑", 257), ErrTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := CheckPolicy(tt.in); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("CheckPolicy = %v; want %v", err, tt.want)
			}
		})
	}
}
