package webauthn

import (
	"strings"
	"testing"

	"github.com/twofold-id/twofold/internal/factor"
)

func TestNormalizeTakesOneJSONObjectAndNoCode(t *testing.T) {
	var m Method
	for _, tc := range []struct {
		raw, want string
		ok        bool
	}{
		{`{ "id": "abc", "type": "public-key" }`, `{"id":"abc","type":"public-key"}`, true},
		{"123456", "", false},
		{"abcde-fghjk", "", false},
		{`[1,2]`, "", false},
		{`{"id":`, "", false},
		{`{"a":"` + strings.Repeat("x", MaxAnswer) + `"}`, "", false},
	} {
		got, ok := m.Normalize(tc.raw)
		if ok != tc.ok || got != tc.want {
			t.Errorf("Normalize(%.30q) = %q, %v; want %q, %v", tc.raw, got, ok, tc.want, tc.ok)
		}
	}
}

func TestTraitsSayPhishingResistantCeremony(t *testing.T) {
	tr := Method{}.Traits()
	if !tr.PhishingResistant || tr.Enrollment != factor.Ceremony || tr.RFC8176 != "hwk" || tr.Restricted || tr.Recovery {
		t.Fatalf("traits = %+v", tr)
	}
	if (Method{}).Configured() {
		t.Fatal("the zero Method runs ceremonies")
	}
}

func TestNewDerivesTheRelyingPartyFromThePublicURL(t *testing.T) {
	m, err := New("https://id.example.com", "", nil, "")
	if err != nil || m.RPID() != "id.example.com" || !m.Configured() {
		t.Fatalf("New = %q, %v", m.RPID(), err)
	}
	if m, err = New("https://id.example.com", "example.com", nil, ""); err != nil || m.RPID() != "example.com" {
		t.Fatalf("New with an rp id = %q, %v", m.RPID(), err)
	}
	if _, err := New("http://127.0.0.1:8080", "", nil, ""); err == nil {
		t.Fatal("an IP address became a relying party id")
	}
}
