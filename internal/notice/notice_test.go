package notice

import (
	"strings"
	"testing"
	"time"
)

func TestCodeMessagesCarryTheCodeAndItsLifetime(t *testing.T) {
	m := CodeEmail("Acme", "123456", 90*time.Second, "signin")
	if !strings.Contains(m.Subject, "123456") || !strings.Contains(m.Text, "123456") || !strings.Contains(m.Text, "90 seconds") {
		t.Fatalf("code email = %+v", m)
	}
	s := CodeSMS("Acme", "654321", 5*time.Minute, "id.example.com")
	if !strings.Contains(s.Text, "654321") || !strings.Contains(s.Text, "5 minutes") || !strings.HasSuffix(s.Text, "@id.example.com #654321") {
		t.Fatalf("code sms = %q", s.Text)
	}
}

func TestNotificationsNameTimePlaceAndBrowser(t *testing.T) {
	at := time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC)
	m := Notification(Event{Kind: FactorAdded, OrgName: "Acme", Username: "alice", Detail: "Work phone", At: at, IP: "192.0.2.7", UserAgent: "Firefox"})
	for _, want := range []string{"added", "alice", "Acme", "Work phone", "22 Nov 2026 10:30:00 UTC", "192.0.2.7", "Firefox"} {
		if !strings.Contains(m.Subject+m.Text, want) {
			t.Errorf("notification lacks %q:\n%s", want, m.Text)
		}
	}
}

func TestNotificationsToAnUnconfirmedAddressLeaveOutWhereFrom(t *testing.T) {
	at := time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC)
	m := Notification(Event{Kind: MFAReset, OrgName: "Acme", Username: "alice", At: at, IP: "192.0.2.7", UserAgent: "Firefox", Unconfirmed: true})
	for _, want := range []string{"reset", "alice", "Acme", "22 Nov 2026 10:30:00 UTC", "not confirmed"} {
		if !strings.Contains(m.Subject+m.Text, want) {
			t.Errorf("notification lacks %q:\n%s", want, m.Text)
		}
	}
	for _, not := range []string{"192.0.2.7", "Firefox"} {
		if strings.Contains(m.Text, not) {
			t.Errorf("notification to an unconfirmed address names %q:\n%s", not, m.Text)
		}
	}
}

func TestHumanDurations(t *testing.T) {
	for d, want := range map[time.Duration]string{90 * time.Second: "90 seconds", 10 * time.Minute: "10 minutes", 24 * time.Hour: "24 hours", 150 * time.Second: "150 seconds"} {
		if got := human(d); got != want {
			t.Errorf("human(%s) = %q, want %q", d, got, want)
		}
	}
}
