package normalize

import "testing"

func TestPhone(t *testing.T) {
	for in, want := range map[string]string{
		"+1 (555) 123-4567": "+15551234567",
		"0049 30 1234567":   "+49301234567",
		"+44.20.7946.0958":  "+442079460958",
	} {
		if got, err := Phone(in); err != nil || got != want {
			t.Errorf("Phone(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "5551234567", "+0123456789", "+1234", "+1234567890123456", "+1 555 CALL NOW", "++15551234567", "+١٢٣٤٥٦٧٨٩"} {
		if got, err := Phone(bad); err == nil {
			t.Errorf("Phone(%q) = %q, want an error", bad, got)
		}
	}
}

func TestMasks(t *testing.T) {
	if got := MaskPhone("+15551234567"); got != "+1••••••••67" {
		t.Errorf("MaskPhone = %q", got)
	}
	if got := MaskEmail("alice@example.com"); got != "a•••@example.com" {
		t.Errorf("MaskEmail = %q", got)
	}
}

func FuzzPhone(f *testing.F) {
	f.Add("+15551234567")
	f.Add("00 49 (30) 12")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Phone(s)
		if err != nil {
			return
		}
		if p[0] != '+' || p[1] < '1' || p[1] > '9' || len(p) < 9 || len(p) > 16 {
			t.Fatalf("Phone(%q) = %q", s, p)
		}
		for _, r := range p[1:] {
			if r < '0' || r > '9' {
				t.Fatalf("Phone(%q) = %q has a non-digit", s, p)
			}
		}
		if again, err := Phone(p); err != nil || again != p {
			t.Fatalf("Phone is not idempotent on %q: %q, %v", p, again, err)
		}
	})
}
