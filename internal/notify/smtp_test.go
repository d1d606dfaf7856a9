package notify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/notify/smtptest"
)

// selfSignedTLS makes a server TLS config with a fresh self-signed
// certificate for 127.0.0.1 and localhost.
func selfSignedTLS(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "mx.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

func newTestSMTP(t *testing.T, cfg SMTPConfig) *SMTPMailer {
	t.Helper()
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if cfg.From == "" {
		cfg.From = "Twofold <no-reply@twofold.test>"
	}
	m, err := NewSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var messageIDPattern = regexp.MustCompile(`^<[0-9a-f]{32}@twofold\.test>$`)

// checkHeaders asserts the headers every mail from the test mailer has.
func checkHeaders(t *testing.T, msg *mail.Message, wantTo, wantSubject string) {
	t.Helper()
	from, err := msg.Header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Address != "no-reply@twofold.test" || from[0].Name != "Twofold" {
		t.Errorf("From = %v, %v", from, err)
	}
	to, err := msg.Header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Address != wantTo {
		t.Errorf("To = %v, %v; want %s", to, err, wantTo)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subject != wantSubject {
		t.Errorf("Subject = %q (raw %q), %v; want %q", subject, msg.Header.Get("Subject"), err, wantSubject)
	}
	if got := msg.Header.Get("Auto-Submitted"); got != "auto-generated" {
		t.Errorf("Auto-Submitted = %q", got)
	}
	if got := msg.Header.Get("Message-Id"); !messageIDPattern.MatchString(got) {
		t.Errorf("Message-ID = %q, want %v", got, messageIDPattern)
	}
	if _, err := msg.Header.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}
	if got := msg.Header.Get("User-Agent") + msg.Header.Get("X-Mailer"); got != "" {
		t.Errorf("mail advertises its software: %q", got)
	}
}

// readPart returns the decoded text of a single-part entity.
func readPart(t *testing.T, header interface{ Get(string) string }, body io.Reader) string {
	t.Helper()
	if strings.EqualFold(header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSMTPMailerSendsOverSTARTTLSWithAuth(t *testing.T) {
	srv := smtptest.Start(t, smtptest.StartTLS(selfSignedTLS(t)), smtptest.RequireAuth("twofold", "s3cret pass"))
	m := newTestSMTP(t, SMTPConfig{
		Port: srv.Port(), Username: "twofold", Password: "s3cret pass",
		TLS: "starttls", InsecureSkipVerify: true, HeloName: "twofold.test",
	})
	subject := "Ihr Anmeldecode – Bestätigung ✓"
	err := m.SendEmail(t.Context(), Email{
		To:      "Bob Müller <bob@example.org>",
		Subject: subject,
		Text:    "Grüße! Your code is 123456.\n",
		HTML:    "<p>Your code is <b>123456</b>.</p>",
		Headers: map[string]string{"X-Twofold-Event": "signin-code"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := srv.Messages()
	if len(got) != 1 {
		t.Fatalf("server received %d messages, want 1", len(got))
	}
	r := got[0]
	if r.From != "no-reply@twofold.test" || len(r.To) != 1 || r.To[0] != "bob@example.org" {
		t.Errorf("envelope = MAIL FROM %q RCPT TO %q", r.From, r.To)
	}
	if !r.TLS || r.AuthUser != "twofold" {
		t.Errorf("TLS = %v, authenticated user = %q; want TLS and twofold", r.TLS, r.AuthUser)
	}

	msg, err := mail.ReadMessage(bytes.NewReader(r.Raw))
	if err != nil {
		t.Fatal(err)
	}
	checkHeaders(t, msg, "bob@example.org", subject)
	if got := msg.Header.Get("X-Twofold-Event"); got != "signin-code" {
		t.Errorf("X-Twofold-Event = %q", got)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type = %q, %v", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var types []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, cparams, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		types = append(types, ct)
		if !strings.EqualFold(cparams["charset"], "utf-8") {
			t.Errorf("%s charset = %q", ct, cparams["charset"])
		}
		text := readPart(t, p.Header, p) // multipart already undoes quoted-printable
		switch ct {
		case "text/plain":
			if text != "Grüße! Your code is 123456.\n" && text != "Grüße! Your code is 123456.\r\n" {
				t.Errorf("text part = %q", text)
			}
		case "text/html":
			if !strings.Contains(text, "<b>123456</b>") {
				t.Errorf("html part = %q", text)
			}
		}
	}
	if strings.Join(types, ",") != "text/plain,text/html" {
		t.Errorf("parts = %v, want text/plain then text/html", types)
	}
}

func TestSMTPMailerSendsPlainTextOnly(t *testing.T) {
	srv := smtptest.Start(t, smtptest.StartTLS(selfSignedTLS(t)))
	m := newTestSMTP(t, SMTPConfig{Port: srv.Port(), InsecureSkipVerify: true}) // TLS "" means starttls
	if err := m.SendEmail(t.Context(), Email{To: "carol@example.org", Subject: "Confirm", Text: "Click here"}); err != nil {
		t.Fatal(err)
	}
	got := srv.Messages()
	if len(got) != 1 || !got[0].TLS {
		t.Fatalf("received %+v, want one message over TLS", got)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(got[0].Raw))
	if err != nil {
		t.Fatal(err)
	}
	checkHeaders(t, msg, "carol@example.org", "Confirm")
	mediaType, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if mediaType != "text/plain" || !strings.EqualFold(params["charset"], "utf-8") {
		t.Errorf("Content-Type = %q", msg.Header.Get("Content-Type"))
	}
	if body := readPart(t, msg.Header, msg.Body); strings.TrimRight(body, "\r\n") != "Click here" {
		t.Errorf("body = %q", body)
	}
}

func TestSMTPMailerImplicitTLS(t *testing.T) {
	srv := smtptest.Start(t, smtptest.ImplicitTLS(selfSignedTLS(t)), smtptest.RequireAuth("u", "p"))
	m := newTestSMTP(t, SMTPConfig{Port: srv.Port(), TLS: "tls", InsecureSkipVerify: true, Username: "u", Password: "p"})
	if err := m.SendEmail(t.Context(), Email{To: "dave@example.org", Subject: "Hi", Text: "x"}); err != nil {
		t.Fatal(err)
	}
	if got := srv.Messages(); len(got) != 1 || !got[0].TLS || got[0].AuthUser != "u" {
		t.Fatalf("received %+v, want one authenticated message over TLS", got)
	}
}

func TestSMTPMailerVerifiesCertificateByDefault(t *testing.T) {
	srv := smtptest.Start(t, smtptest.StartTLS(selfSignedTLS(t)))
	m := newTestSMTP(t, SMTPConfig{Port: srv.Port()})
	err := m.SendEmail(t.Context(), Email{To: "erin@example.org", Subject: "Hi", Text: "x"})
	if err == nil || srv.Count() != 0 {
		t.Fatalf("self-signed certificate accepted without InsecureSkipVerify: err = %v", err)
	}
}

func TestSMTPMailerErrors(t *testing.T) {
	// A port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := l.Addr().(*net.TCPAddr).Port
	l.Close()

	// A server that accepts connections and never says a word.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		connMu sync.Mutex
		conns  []net.Conn
	)
	t.Cleanup(func() {
		silent.Close()
		connMu.Lock()
		defer connMu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			connMu.Lock()
			conns = append(conns, c)
			connMu.Unlock()
		}
	}()
	silentPort := silent.Addr().(*net.TCPAddr).Port
	cert := selfSignedTLS(t)

	mail := Email{To: "frank@example.org", Subject: "Hi", Text: "secret code 999111"}
	tests := []struct {
		name     string
		server   []smtptest.Option // a server with these options, when port is 0
		port     int               // instead of a server
		cfg      SMTPConfig
		ctx      time.Duration // a shorter caller deadline, if set
		check    func(t *testing.T, err error)
		maxDelay time.Duration
	}{
		{
			name:   "rejected recipient is a permanent provider error naming the reply",
			server: []smtptest.Option{smtptest.StartTLS(cert), smtptest.RejectRecipient("frank@example.org")},
			cfg:    SMTPConfig{InsecureSkipVerify: true},
			check: func(t *testing.T, err error) {
				var pe *ProviderError
				if !errors.As(err, &pe) || pe.Code != 550 || pe.Temporary || !strings.Contains(err.Error(), "no such user") {
					t.Errorf("err = %#v (%v), want permanent ProviderError with code 550", pe, err)
				}
			},
		},
		{
			name: "starttls required but not offered fails without sending",
			cfg:  SMTPConfig{TLS: "starttls"},
			check: func(t *testing.T, err error) {
				if !strings.Contains(err.Error(), "STARTTLS") {
					t.Errorf("err = %v, want it to mention STARTTLS", err)
				}
			},
		},
		{
			name: "credentials are not sent when the server offers no AUTH over plain text",
			cfg:  SMTPConfig{TLS: "opportunistic", Username: "u", Password: "p"},
			check: func(t *testing.T, err error) {
				if !strings.Contains(err.Error(), "AUTH") {
					t.Errorf("err = %v, want it to mention AUTH", err)
				}
			},
		},
		{
			name:   "wrong password",
			server: []smtptest.Option{smtptest.StartTLS(cert), smtptest.RequireAuth("u", "right")},
			cfg:    SMTPConfig{InsecureSkipVerify: true, Username: "u", Password: "wrong"},
			check: func(t *testing.T, err error) {
				if strings.Contains(err.Error(), "wrong") {
					t.Errorf("error repeats the password: %v", err)
				}
			},
		},
		{
			name: "server not listening fails at once",
			port: closedPort, cfg: SMTPConfig{Timeout: 2 * time.Second},
			maxDelay: time.Second,
		},
		{
			name: "silent server fails within the timeout",
			port: silentPort, cfg: SMTPConfig{Timeout: 300 * time.Millisecond},
			check: func(t *testing.T, err error) {
				if !IsTemporary(err) {
					t.Errorf("err = %v, want temporary", err)
				}
			},
			maxDelay: 2 * time.Second,
		},
		{
			name: "silent server fails when the caller's context ends first",
			port: silentPort, cfg: SMTPConfig{Timeout: 10 * time.Second}, ctx: 300 * time.Millisecond,
			check: func(t *testing.T, err error) {
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("err = %v, want it to wrap context.DeadlineExceeded", err)
				}
			},
			maxDelay: 2 * time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port := tt.port
			var srv *smtptest.Server
			if port == 0 {
				srv = smtptest.Start(t, tt.server...)
				port = srv.Port()
			}
			cfg := tt.cfg
			cfg.Port = port
			m := newTestSMTP(t, cfg)
			ctx := t.Context()
			if tt.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctx)
				defer cancel()
			}
			start := time.Now()
			err := m.SendEmail(ctx, mail)
			elapsed := time.Since(start)
			if err == nil {
				t.Fatal("SendEmail succeeded")
			}
			t.Logf("error: %v", err)
			if strings.Contains(err.Error(), "999111") {
				t.Errorf("error contains the body: %v", err)
			}
			if tt.maxDelay > 0 && elapsed > tt.maxDelay {
				t.Errorf("SendEmail took %v, want under %v", elapsed, tt.maxDelay)
			}
			if srv != nil && srv.Count() != 0 {
				t.Errorf("server received a message despite the error")
			}
			if tt.check != nil {
				tt.check(t, err)
			}
		})
	}
}

func TestSMTPMailerRejectsBadMessagesBeforeConnecting(t *testing.T) {
	// Port 1 on loopback: connecting would fail with a different error.
	m := newTestSMTP(t, SMTPConfig{Port: 1})
	tests := []struct {
		name string
		mail Email
		want error
	}{
		{"error/recipient without domain", Email{To: "alice", Text: "x"}, ErrInvalidAddress},
		{"error/two recipients", Email{To: "a@example.org, b@example.org", Text: "x"}, ErrInvalidAddress},
		{"error/header injection in recipient", Email{To: "a@example.org\r\nBcc: x@evil.test", Text: "x"}, ErrInvalidAddress},
		{"error/line break in subject", Email{To: "a@example.org", Subject: "Hi\r\nBcc: x@evil.test"}, ErrInvalidMessage},
		{"error/reserved header", Email{To: "a@example.org", Headers: map[string]string{"bcc": "x@evil.test"}}, ErrInvalidMessage},
		{"error/bad header name", Email{To: "a@example.org", Headers: map[string]string{"X Bad": "1"}}, ErrInvalidMessage},
		{"error/line break in header value", Email{To: "a@example.org", Headers: map[string]string{"X-Ok": "1\nBcc: x"}}, ErrInvalidMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := m.SendEmail(t.Context(), tt.mail); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestNewSMTPChecksConfig(t *testing.T) {
	ok := SMTPConfig{Host: "smtp.example.com", From: "no-reply@example.com"}
	tests := []struct {
		name   string
		change func(*SMTPConfig)
		ok     bool
	}{
		{"defaults", func(*SMTPConfig) {}, true},
		{"error/no host", func(c *SMTPConfig) { c.Host = "" }, false},
		{"error/no from", func(c *SMTPConfig) { c.From = "" }, false},
		{"error/bad from", func(c *SMTPConfig) { c.From = "no-reply" }, false},
		{"error/unknown tls mode", func(c *SMTPConfig) { c.TLS = "ssl" }, false},
		{"error/plain text to a remote host", func(c *SMTPConfig) { c.TLS = "none" }, false},
		{"plain text to localhost", func(c *SMTPConfig) { c.TLS, c.Host = "none", "localhost" }, true},
		{"plain text to ::1", func(c *SMTPConfig) { c.TLS, c.Host = "none", "::1" }, true},
		{"error/port out of range", func(c *SMTPConfig) { c.Port = 70000 }, false},
		{"error/negative timeout", func(c *SMTPConfig) { c.Timeout = -time.Second }, false},
		{"error/password without user", func(c *SMTPConfig) { c.Password = "p" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.change(&cfg)
			m, err := NewSMTP(cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("NewSMTP error = %v, want ok=%v", err, tt.ok)
			}
			if err == nil && (m.cfg.Port != 587 || m.cfg.Timeout != defaultTimeout) {
				t.Errorf("defaults: port %d timeout %v", m.cfg.Port, m.cfg.Timeout)
			}
		})
	}
	m, err := NewSMTP(SMTPConfig{Host: "smtp.example.com", From: "a@example.com", TLS: "tls"})
	if err != nil || m.cfg.Port != 465 {
		t.Errorf("implicit TLS default port = %v, %v; want 465", m, err)
	}
}

func TestSMTPMailerPlainToLocalhost(t *testing.T) {
	srv := smtptest.Start(t)
	m := newTestSMTP(t, SMTPConfig{Port: srv.Port(), TLS: "none"})
	if err := m.SendEmail(t.Context(), Email{To: "gina@example.org", Subject: "Hi", Text: "x"}); err != nil {
		t.Fatal(err)
	}
	if got := srv.Messages(); len(got) != 1 || got[0].TLS {
		t.Fatalf("received %+v, want one plain-text message", got)
	}
}
