package smtptest

import (
	"fmt"
	"net/smtp"
	"strings"
	"testing"
	"time"
)

func send(t *testing.T, s *Server, to, msg string) {
	t.Helper()
	addr := fmt.Sprintf("%s:%d", s.Host(), s.Port())
	if err := smtp.SendMail(addr, nil, "from@example.net", []string{to}, []byte(strings.ReplaceAll(msg, "\n", "\r\n"))); err != nil {
		t.Fatal(err)
	}
}

func TestBodiesAreDecoded(t *testing.T) {
	s := Start(t)
	tests := []struct{ name, msg, subject, body string }{
		{"plain, no content type", "Subject: Hi\n\nline one\nline two\n", "Hi", "line one\nline two\n"},
		{"quoted-printable", "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\nGr=C3=BC=C3=9Fe, a long=\n line\n",
			"Grüße", "Grüße, a long line\n"},
		{"base64", "Subject: b\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\nR3LDvMOfZSwgeW91ciBjb2Rl\nIGlzIDEyMzQ1Ng==\n", "b", "Grüße, your code is 123456"},
		{"multipart/alternative", "Subject: m\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=XX\n\n--XX\nContent-Type: text/html\n\n<p>html</p>\n--XX\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\ncode =3D 1\n--XX--\n",
			"m", "code = 1"},
		{"html only", "Subject: h\nContent-Type: text/html\n\n<p>x</p>\n", "h", ""},
	}
	for i, tt := range tests {
		send(t, s, fmt.Sprintf("u%d@example.org", i), tt.msg)
		m := s.WaitFor(t, func(m Message) bool { return m.Index == i }, 5*time.Second)
		if m.Err != nil || m.Subject != tt.subject || m.Body != tt.body || m.From != "from@example.net" ||
			len(m.To) != 1 || m.To[0] != fmt.Sprintf("u%d@example.org", i) || m.TLS || m.AuthUser != "" {
			t.Errorf("%s: got %+v", tt.name, m)
		}
	}
	if s.Count() != len(tests) {
		t.Errorf("Count = %d", s.Count())
	}
}

func TestUnreadableMessageIsKeptWithItsError(t *testing.T) {
	s := Start(t)
	send(t, s, "a@example.org", "Subject: x\nContent-Type: multipart/alternative\n\nno boundary\n")
	if m := s.Messages(); len(m) != 1 || m[0].Err == nil || len(m[0].Raw) == 0 {
		t.Fatalf("got %+v, want one message with Err", m)
	}
}

func TestRejectRecipient(t *testing.T) {
	s := Start(t, RejectRecipient("no@example.org"))
	err := smtp.SendMail(fmt.Sprintf("%s:%d", s.Host(), s.Port()), nil, "f@example.net", []string{"no@example.org"}, []byte("Subject: x\r\n\r\nx\r\n"))
	if err == nil || !strings.Contains(err.Error(), "550") || s.Count() != 0 {
		t.Fatalf("err = %v, count %d", err, s.Count())
	}
}

func TestWaitForSeesLaterMessages(t *testing.T) {
	s := Start(t)
	sent := make(chan error, 1)
	go func() {
		time.Sleep(50 * time.Millisecond) // so that WaitFor has to wait
		sent <- smtp.SendMail(fmt.Sprintf("%s:%d", s.Host(), s.Port()), nil, "f@example.net", []string{"late@example.org"}, []byte("Subject: late\r\n\r\nx\r\n"))
	}()
	m := s.WaitFor(t, func(m Message) bool { return m.Subject == "late" }, 5*time.Second)
	if err := <-sent; err != nil || m.To[0] != "late@example.org" {
		t.Fatalf("got %+v, send error %v", m, err)
	}
}
