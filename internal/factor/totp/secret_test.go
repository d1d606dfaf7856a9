package totp

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestGenerateSecret(t *testing.T) {
	a, err := GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, err := GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 20 || len(b) != 20 {
		t.Fatalf("secret lengths %d, %d; want 20 bytes (160 bits)", len(a), len(b))
	}
	if bytes.Equal(a, b) {
		t.Error("two generated secrets are equal")
	}
}

func TestEncodeSecret(t *testing.T) {
	// RFC 4648 section 10: BASE32("foobar") = "MZXW6YTBOI======".
	if got := EncodeSecret([]byte("foobar")); got != "MZXW6YTBOI" {
		t.Errorf("EncodeSecret(foobar) = %q, want MZXW6YTBOI", got)
	}
	secret := []byte("12345678901234567890")
	enc := EncodeSecret(secret)
	if enc != "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" {
		t.Errorf("EncodeSecret = %q", enc)
	}
}

func TestFormatSecretGroupsOfFour(t *testing.T) {
	secret := []byte("12345678901234567890")
	got := FormatSecret(secret)
	if want := "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ"; got != want {
		t.Errorf("FormatSecret = %q, want %q", got, want)
	}
	// A last group shorter than four stays short.
	if got := FormatSecret([]byte("foo")); got != "MZXW 6" {
		t.Errorf("FormatSecret(foo) = %q, want %q", got, "MZXW 6")
	}
	if got := FormatSecret(nil); got != "" {
		t.Errorf("FormatSecret(nil) = %q, want empty", got)
	}
}

func TestDecodeSecret(t *testing.T) {
	secret := []byte("12345678901234567890")
	tests := []struct {
		name string
		in   string
		want []byte
	}{
		{"encoded", EncodeSecret(secret), secret},
		{"formatted", FormatSecret(secret), secret},
		{"lowercase", strings.ToLower(FormatSecret(secret)), secret},
		{"dashes and tabs", "GEZD-GNBV\tGY3T-QOJQ GEZD GNBV GY3T QOJQ\n", secret},
		{"padded", "MZXW6YTBOI======", []byte("foobar")},
		{"unpadded", "mzxw6ytboi", []byte("foobar")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeSecret(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("DecodeSecret = %x, want %x", got, tt.want)
			}
		})
	}
}

func TestDecodeSecretRejectsMalformed(t *testing.T) {
	for name, in := range map[string]string{
		"empty":                "",
		"only spaces":          "   ",
		"only padding":         "====",
		"digit outside base32": "GEZD1GNB",
		"padding inside":       "MZ=XW6YTBOI",
		"impossible length":    "A",
		"non-ASCII":            "GEZDGNBVÄ",
	} {
		if _, err := DecodeSecret(in); !errors.Is(err, ErrMalformedSecret) {
			t.Errorf("%s: DecodeSecret(%q) err = %v, want ErrMalformedSecret", name, in, err)
		}
	}
}

func FuzzDecodeSecret(f *testing.F) {
	f.Add("GEZD GNBV GY3T QOJQ")
	f.Add("mzxw6ytboi======")
	f.Add("")
	f.Add("=")
	f.Fuzz(func(t *testing.T, s string) {
		secret, err := DecodeSecret(s)
		if err != nil {
			return
		}
		if len(secret) == 0 {
			t.Fatal("decoded an empty secret without error")
		}
		// What decodes must survive a round trip through both encodings.
		for _, enc := range []string{EncodeSecret(secret), FormatSecret(secret)} {
			again, err := DecodeSecret(enc)
			if err != nil || !bytes.Equal(again, secret) {
				t.Fatalf("round trip failed: %v", err)
			}
		}
	})
}
