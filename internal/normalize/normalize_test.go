package normalize

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestUsername(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // "" means ErrInvalidUsername
	}{
		{"lowercase stays", "alice", "alice"},
		{"capitalized folds", "Alice", "alice"},
		{"upper folds", "ALICE", "alice"},
		{"full-width folds", "ａｌｉｃｅ", "alice"},
		{"full-width capitals fold", "ＡＬＩＣＥ", "alice"},
		{"surrounding spaces trimmed", "  alice\t\n", "alice"},
		{"surrounding no-break spaces trimmed", "\u00a0alice\u3000", "alice"},
		{"punctuation kept", "alice.smith+tag@example.com", "alice.smith+tag@example.com"},
		{"german sharp s folds to ss", "Straße", "strasse"},
		{"german capital sharp s folds to ss", "STRAẞE", "strasse"},
		{"plain capital I folds to i", "INGRID", "ingrid"},
		{"turkish dotted capital I keeps its dot", "İnci", "i\u0307nci"},
		{"turkish dotless i stays dotless", "ınci", "ınci"},
		{"ligature is decomposed", "ﬁona", "fiona"},
		{"composed and decomposed e-acute agree", "Jose\u0301", "jos\u00e9"},
		{"kelvin sign folds to k", "\u212Aarl", "karl"},
		{"greek final sigma folds", "ΣΟΦΙΑ", "σοφια"},
		{"circled letters fold", "ⓐⓑ", "ab"},
		{"digits only", "12345", "12345"},
		{"exactly 128 bytes", strings.Repeat("a", 128), strings.Repeat("a", 128)},

		{"error/empty", "", ""},
		{"error/only spaces", " \t ", ""},
		{"error/inner space", "alice smith", ""},
		{"error/inner tab", "alice\tsmith", ""},
		{"error/inner no-break space", "alice\u00a0smith", ""},
		{"error/inner ideographic space", "alice\u3000smith", ""},
		{"error/newline inside", "alice\nsmith", ""},
		{"error/NUL", "alice\x00", ""},
		{"error/DEL", "alice\x7f", ""},
		{"error/C1 control", "alice\u0085x", ""},
		{"error/zero width space", "ali\u200bce", ""},
		{"error/right-to-left override", "\u202ealice", ""},
		{"error/invalid UTF-8", "alice\xff", ""},
		{"error/129 bytes", strings.Repeat("a", 129), ""},
		{"error/grows past the limit", strings.Repeat("ß", 65), ""},
		{"error/huge input", strings.Repeat("a", 1<<20), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Username(tt.in)
			if tt.want == "" {
				if !errors.Is(err, ErrInvalidUsername) {
					t.Fatalf("Username(%q) = %q, %v; want ErrInvalidUsername", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Username(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestSlug(t *testing.T) {
	valid := []string{"ab", "acme", "acme-eu-2", "a1", "x-y", strings.Repeat("a", 63)}
	for _, s := range valid {
		if err := Slug(s); err != nil {
			t.Errorf("Slug(%q) = %v; want nil", s, err)
		}
	}
	invalid := []string{
		"", "a", "-a", "a-", "acme--eu", "2acme", "Acme", "ac_me", "ac.me", "ac me",
		"acmé", "ａcme", strings.Repeat("a", 64), "a\x00", "ab\n",
	}
	for _, s := range invalid {
		if err := Slug(s); !errors.Is(err, ErrInvalidSlug) {
			t.Errorf("Slug(%q) = %v; want ErrInvalidSlug", s, err)
		}
	}
}

func TestOrgSlug(t *testing.T) {
	for in, want := range map[string]string{
		"acme": "acme", "Acme": "acme", "ACME": "acme", " acme\t": "acme", "ａｃｍｅ": "acme", "ＡＣＭＥ-eu-2": "acme-eu-2",
		"Acme-EU-2": "acme-eu-2", "\u212Acorp": "kcorp", // KELVIN SIGN folds to k
	} {
		if got, err := OrgSlug(in); err != nil || got != want {
			t.Errorf("OrgSlug(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", " ", "a", "A", "acme--eu", "2acme", "ac me", "acmé", "ac_me", "İstanbul", "a\x00b", "\xff\xfe",
		strings.Repeat("a", 64), strings.Repeat("A", 1000)} {
		if got, err := OrgSlug(in); !errors.Is(err, ErrInvalidSlug) {
			t.Errorf("OrgSlug(%q) = %q, %v; want ErrInvalidSlug", in, got, err)
		}
	}
	// Every valid slug is its own canonical form.
	for _, s := range []string{"ab", "acme", "acme-eu-2", "a1"} {
		if got, err := OrgSlug(s); err != nil || got != s {
			t.Errorf("OrgSlug(%q) = %q, %v", s, got, err)
		}
	}
}

func TestCode(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		digits int
		want   string // "" means ErrInvalidCode
	}{
		{"plain", "123456", 6, "123456"},
		{"leading zeros kept", "000123", 6, "000123"},
		{"space in the middle", "123 456", 6, "123456"},
		{"dash in the middle", "123-456", 6, "123456"},
		{"surrounding spaces and tabs", " \t123456\t ", 6, "123456"},
		{"every ascii separator", "1 2\t3-4 5-6", 6, "123456"},
		{"en dash", "123\u2013456", 6, "123456"},
		{"em dash", "123\u2014456", 6, "123456"},
		{"unicode hyphen", "123\u2010456", 6, "123456"},
		{"horizontal bar", "123\u2015456", 6, "123456"},
		{"no-break space", "123\u00a0456", 6, "123456"},
		{"narrow no-break space", "123\u202f456", 6, "123456"},
		{"eight digits", "1234 5678", 8, "12345678"},

		{"error/empty", "", 6, ""},
		{"error/only separators", " - ", 6, ""},
		{"error/too short", "12345", 6, ""},
		{"error/too long", "1234567", 6, ""},
		{"error/letter", "12345a", 6, ""},
		{"error/letter O for zero", "12345O", 6, ""},
		{"error/arabic-indic digit", "12345\u0663", 6, ""},
		{"error/full-width digit", "12345\uff13", 6, ""},
		{"error/superscript digit", "12345\u00b3", 6, ""},
		{"error/newline", "123\n456", 6, ""},
		{"error/minus sign is not a dash", "123\u2212456", 6, ""},
		{"error/ideographic space is not accepted", "123\u3000456", 6, ""},
		{"error/plus sign", "+123456", 6, ""},
		{"error/invalid UTF-8", "123456\xff", 6, ""},
		{"error/zero digits requested", "", 0, ""},
		{"error/negative digits requested", "123", -1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Code(tt.in, tt.digits)
			if tt.want == "" {
				if !errors.Is(err, ErrInvalidCode) {
					t.Fatalf("Code(%q, %d) = %q, %v; want ErrInvalidCode", tt.in, tt.digits, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Code(%q, %d) = %q, %v; want %q", tt.in, tt.digits, got, err, tt.want)
			}
		})
	}
}

func TestBackupAlphabet(t *testing.T) {
	if n := len(BackupAlphabet); n != 32 {
		t.Fatalf("len(BackupAlphabet) = %d; want 32", n)
	}
	seen := map[rune]bool{}
	for _, r := range BackupAlphabet {
		if seen[r] {
			t.Errorf("BackupAlphabet repeats %q", r)
		}
		seen[r] = true
		if strings.ContainsRune("01il", r) {
			t.Errorf("BackupAlphabet contains ambiguous %q", r)
		}
		if !(r >= 'a' && r <= 'z' || r >= '2' && r <= '9') {
			t.Errorf("BackupAlphabet contains %q, not a lowercase letter or digit 2-9", r)
		}
	}
}

func TestBackupCode(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // "" means ErrInvalidCode
	}{
		{"plain", "abcde23456", "abcde23456"},
		{"grouped with a dash", "abcde-23456", "abcde23456"},
		{"grouped with spaces", " abcde 23456 ", "abcde23456"},
		{"uppercase is lowercased", "ABCDE-23456", "abcde23456"},
		{"every symbol class", "zyxwo98765", "zyxwo98765"},
		{"zero is read as the letter o", "abcde0o456", "abcdeoo456"},
		{"capital O is o", "abcdeO3456", "abcdeo3456"},
		{"unicode dash", "abcde\u201323456", "abcde23456"},

		{"error/empty", "", ""},
		{"error/nine symbols", "abcde2345", ""},
		{"error/eleven symbols", "abcde234567", ""},
		{"error/one", "abcde23451", ""},
		{"error/letter l", "abcdel3456", ""},
		{"error/letter i", "abcdei3456", ""},
		{"error/capital I", "abcdeI3456", ""},
		{"error/capital L", "abcdeL3456", ""},
		{"error/underscore", "abcde_23456", ""},
		{"error/full-width letter", "ａbcde23456", ""},
		{"error/non-ASCII letter", "äbcde23456", ""},
		{"error/kelvin sign is not k", "\u212Abcde23456", ""},
		{"error/invalid UTF-8", "abcde2345\xff", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := BackupCode(tt.in)
			if tt.want == "" {
				if !errors.Is(err, ErrInvalidCode) {
					t.Fatalf("BackupCode(%q) = %q, %v; want ErrInvalidCode", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("BackupCode(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestEmail(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // "" means ErrInvalidEmail
	}{
		{"plain", "alice@example.com", "alice@example.com"},
		{"domain is lowercased", "alice@Example.COM", "alice@example.com"},
		{"local part keeps its case", "Alice.Smith@example.com", "Alice.Smith@example.com"},
		{"surrounding spaces trimmed", "  alice@example.com\n", "alice@example.com"},
		{"plus tag kept", "alice+mfa@example.com", "alice+mfa@example.com"},
		{"subdomain", "bob@mail.Corp.Example", "bob@mail.corp.example"},

		{"error/empty", "", ""},
		{"error/no at sign", "alice.example.com", ""},
		{"error/no local part", "@example.com", ""},
		{"error/no domain", "alice@", ""},
		{"error/display name", "Alice <alice@example.com>", ""},
		{"error/angle brackets", "<alice@example.com>", ""},
		{"error/two addresses", "a@example.com, b@example.com", ""},
		{"error/comment", "alice@example.com (Alice)", ""},
		{"error/quoted local part", `"alice smith"@example.com`, ""},
		{"error/inner space", "ali ce@example.com", ""},
		{"error/newline injection", "alice@example.com\r\nBcc: x@example.com", ""},
		{"error/two at signs", "a@b@example.com", ""},
		{"error/too long", strings.Repeat("a", 250) + "@example.com", ""},
		{"error/invalid UTF-8", "alice\xff@example.com", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Email(tt.in)
			if tt.want == "" {
				if !errors.Is(err, ErrInvalidEmail) {
					t.Fatalf("Email(%q) = %q, %v; want ErrInvalidEmail", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Email(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func FuzzUsername(f *testing.F) {
	for _, s := range []string{"alice", "ALICE", "ａｌｉｃｅ", "Straße", "İnci", "ı", "\u0345", "ﬁ", "a b", "\xff", " \u00a0x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := Username(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidUsername) {
				t.Fatalf("Username(%q) error %v is not ErrInvalidUsername", s, err)
			}
			return
		}
		if u == "" || len(u) > MaxUsernameBytes || !utf8.ValidString(u) {
			t.Fatalf("Username(%q) = %q: empty, too long or invalid UTF-8", s, u)
		}
		again, err := Username(u)
		if err != nil || again != u {
			t.Fatalf("Username is not idempotent: %q -> %q -> %q, %v", s, u, again, err)
		}
	})
}

func FuzzCode(f *testing.F) {
	for _, s := range []string{"123456", "123 456", "123-456", "12\u201334\u00a056", "١٢٣٤٥٦", "１２３４５６", "", "1234567"} {
		f.Add(s, 6)
	}
	f.Add("12345678", 8)
	f.Fuzz(func(t *testing.T, s string, digits int) {
		c, err := Code(s, digits)
		if err != nil {
			if !errors.Is(err, ErrInvalidCode) {
				t.Fatalf("Code(%q, %d) error %v is not ErrInvalidCode", s, digits, err)
			}
			return
		}
		if len(c) != digits {
			t.Fatalf("Code(%q, %d) = %q: length %d", s, digits, c, len(c))
		}
		for i := 0; i < len(c); i++ {
			if c[i] < '0' || c[i] > '9' {
				t.Fatalf("Code(%q, %d) = %q: non-digit byte %q", s, digits, c, c[i])
			}
		}
		again, err := Code(c, digits)
		if err != nil || again != c {
			t.Fatalf("Code is not idempotent: %q -> %q -> %q, %v", s, c, again, err)
		}
	})
}

func FuzzBackupCode(f *testing.F) {
	for _, s := range []string{"abcde-23456", "ABCDE 23456", "abcde23450", "abcde23451", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := BackupCode(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidCode) {
				t.Fatalf("BackupCode(%q) error %v is not ErrInvalidCode", s, err)
			}
			return
		}
		if len(c) != BackupCodeLength {
			t.Fatalf("BackupCode(%q) = %q: length %d", s, c, len(c))
		}
		for _, r := range c {
			if !strings.ContainsRune(BackupAlphabet, r) {
				t.Fatalf("BackupCode(%q) = %q: %q outside the alphabet", s, c, r)
			}
		}
		if again, err := BackupCode(c); err != nil || again != c {
			t.Fatalf("BackupCode is not idempotent: %q -> %q -> %q, %v", s, c, again, err)
		}
	})
}

func FuzzEmail(f *testing.F) {
	for _, s := range []string{"alice@example.com", "Alice <a@b.c>", "a@B.C", `"x y"@z`, "a@[127.0.0.1]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Email(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidEmail) {
				t.Fatalf("Email(%q) error %v is not ErrInvalidEmail", s, err)
			}
			return
		}
		if again, err := Email(e); err != nil || again != e {
			t.Fatalf("Email is not idempotent: %q -> %q -> %q, %v", s, e, again, err)
		}
	})
}
