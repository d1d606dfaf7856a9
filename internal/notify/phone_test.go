package notify

import (
	"errors"
	"regexp"
	"testing"
)

func TestValidateE164(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"+15551234567", "+15551234567"},
		{"+1 (555) 123-4567", "+15551234567"},
		{"+49.151.2345.6789", "+4915123456789"},
		{" +44 20 7946 0958 ", "+442079460958"},
		{"+12345678", "+12345678"},               // 8 digits, the shortest
		{"+123456789012345", "+123456789012345"}, // 15 digits, the longest
		{"error/no plus 15551234567", ""},
		{"00491512345678", ""},
		{"+1234567", ""},          // 7 digits
		{"+1234567890123456", ""}, // 16 digits
		{"+05551234567", ""},
		{"++15551234567", ""},
		{"+1555123456a", ""},
		{"+1555١٢٣٤٥٦٧", ""}, // Arabic-Indic digits are not ASCII digits
		{"+1/555/1234567", ""},
		{"", ""},
		{"+", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ValidateE164(tt.in)
			if tt.want == "" {
				if !errors.Is(err, ErrInvalidPhone) {
					t.Errorf("ValidateE164(%q) = %q, %v; want ErrInvalidPhone", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ValidateE164(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestMasks(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"phone", MaskPhone("+15551234567"), "+1•••••••67"},
		{"phone with punctuation", MaskPhone("+49 151 2345 6789"), "+4•••••••89"},
		{"phone length is hidden", MaskPhone("+12345678"), "+1•••••••78"},
		{"invalid phone", MaskPhone("555"), "•••"},
		{"email", MaskEmail("alice@example.com"), "a•••@example.com"},
		{"email with display name", MaskEmail("Alice <alice@example.com>"), "a•••@example.com"},
		{"email with non-ASCII local part", MaskEmail("émile@example.fr"), "é•••@example.fr"},
		{"invalid email", MaskEmail("alice"), "•••"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)

func FuzzValidateE164(f *testing.F) {
	for _, s := range []string{
		"+15551234567", "+1 (555) 123-4567", "+49.151.2345.6789", "0015551234567",
		"+0123456789", "+١٢٣٤٥٦٧٨٩", "+1\u00a0555\t1234567", "", "+", "++1", "\xff+12345678",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ValidateE164(s)
		if err != nil {
			if got != "" || !errors.Is(err, ErrInvalidPhone) {
				t.Fatalf("ValidateE164(%q) = %q, %v", s, got, err)
			}
			return
		}
		if !e164.MatchString(got) {
			t.Fatalf("ValidateE164(%q) = %q, not E.164", s, got)
		}
		if again, err := ValidateE164(got); err != nil || again != got {
			t.Fatalf("not idempotent: %q → %q → %q, %v", s, got, again, err)
		}
		if m := MaskPhone(got); len([]rune(m)) != 11 {
			t.Fatalf("MaskPhone(%q) = %q", got, m)
		}
	})
}
