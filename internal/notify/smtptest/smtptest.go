// Package smtptest runs a real SMTP server (emersion/go-smtp) on a loopback
// port for tests, and keeps the messages it receives, parsed the way a mail
// client reads them.
//
// It is test support: only _test.go files import it, and it is never part
// of the twofold binary.
//
//	srv := smtptest.Start(t)
//	cfg.SMTPHost, cfg.SMTPPort, cfg.SMTPTLS = srv.Host(), srv.Port(), "none"
//	…
//	m := srv.WaitFor(t, func(m smtptest.Message) bool { return m.To[0] == "bob@example.com" }, 5*time.Second)
//
// By default the server speaks plain SMTP and accepts any sender and
// recipient; options add STARTTLS, implicit TLS, required authentication
// and a refused recipient for tests of the sending side.
package smtptest

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one message as the server received it.
type Message struct {
	// Index is the message's position in the order of arrival, from 0:
	// Messages()[i].Index == i.
	Index int
	// From and To are the envelope: MAIL FROM and the accepted RCPT TO.
	From string
	To   []string
	// Raw is the message as sent in DATA.
	Raw []byte

	// Header is the parsed header; Subject is its Subject with RFC 2047
	// encoded words decoded.
	Header  mail.Header
	Subject string
	// Body is the text/plain content, with its transfer encoding
	// (quoted-printable or base64) undone and CRLF line ends turned into
	// LF. For a multipart message it is the first text/plain part (the
	// plain alternative of multipart/alternative); it is empty when there
	// is none. Charsets other than UTF-8 are not converted.
	Body string
	// Err says why Header, Subject or Body could not be read; nil when
	// they could.
	Err error

	// TLS says whether the connection was encrypted when MAIL FROM came.
	TLS bool
	// AuthUser is the user that authenticated on the connection, if any.
	AuthUser string
}

// An Option changes how the server behaves.
type Option func(*options)

type options struct {
	startTLS    *tls.Config
	implicitTLS *tls.Config
	user, pass  string
	rejectRcpt  map[string]bool
}

// StartTLS makes the server offer STARTTLS with cfg.
func StartTLS(cfg *tls.Config) Option { return func(o *options) { o.startTLS = cfg } }

// ImplicitTLS makes the server speak TLS from the first byte (SMTPS, as on
// port 465) with cfg.
func ImplicitTLS(cfg *tls.Config) Option { return func(o *options) { o.implicitTLS = cfg } }

// RequireAuth makes the server offer AUTH PLAIN (over TLS only) and refuse
// MAIL FROM until the client authenticated as user with pass. A wrong
// password is answered 535 5.7.8.
func RequireAuth(user, pass string) Option {
	return func(o *options) { o.user, o.pass = user, pass }
}

// RejectRecipient makes the server answer RCPT TO addr with 550 5.1.1 "no
// such user here".
func RejectRecipient(addr string) Option {
	return func(o *options) {
		if o.rejectRcpt == nil {
			o.rejectRcpt = map[string]bool{}
		}
		o.rejectRcpt[addr] = true
	}
}

// Server is a running SMTP server. Its methods are safe for concurrent use.
type Server struct {
	opts options
	port int

	mu      sync.Mutex
	msgs    []Message
	changed chan struct{} // closed and replaced when a message arrives
}

// Start runs a server on 127.0.0.1 at a free port until the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{changed: make(chan struct{})}
	for _, o := range opts {
		o(&s.opts)
	}
	srv := smtp.NewServer(&backend{s})
	srv.Domain = "mx.test"
	srv.ReadTimeout, srv.WriteTimeout = 5*time.Second, 5*time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	var (
		l   net.Listener
		err error
	)
	if s.opts.implicitTLS != nil {
		l, err = tls.Listen("tcp", "127.0.0.1:0", s.opts.implicitTLS)
	} else {
		srv.TLSConfig = s.opts.startTLS
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatalf("smtptest: %v", err)
	}
	s.port = l.Addr().(*net.TCPAddr).Port
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s
}

// Host is the address the server listens on, 127.0.0.1.
func (s *Server) Host() string { return "127.0.0.1" }

// Port is the port the server listens on.
func (s *Server) Port() int { return s.port }

// Messages returns the messages received so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Count is the number of messages received so far.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

// WaitFor returns the oldest message that match accepts, waiting up to
// timeout for it to arrive (mail may be sent in the background). It fails
// the test, listing what did arrive, when none does. match is called on
// the test's goroutine without locks held, so it may call t.Fatal.
func (s *Server) WaitFor(t testing.TB, match func(Message) bool, timeout time.Duration) Message {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	seen := 0
	for {
		s.mu.Lock()
		msgs, changed := s.msgs[seen:len(s.msgs):len(s.msgs)], s.changed
		s.mu.Unlock()
		for _, m := range msgs {
			if match(m) {
				return m
			}
		}
		seen += len(msgs)
		select {
		case <-changed:
		case <-timer.C:
			var got []string
			for _, m := range s.Messages() {
				got = append(got, fmt.Sprintf("#%d to %v %q", m.Index, m.To, m.Subject))
			}
			t.Fatalf("smtptest: no matching message within %v; received %d: %s", timeout, len(got), strings.Join(got, ", "))
			return Message{}
		}
	}
}

func (s *Server) add(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m.Index = len(s.msgs)
	s.msgs = append(s.msgs, m)
	close(s.changed)
	s.changed = make(chan struct{})
}

type backend struct{ s *Server }

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: b.s, conn: c}, nil
}

type session struct {
	s      *Server
	conn   *smtp.Conn
	authed string
	cur    Message
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != ss.s.opts.user || password != ss.s.opts.pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		ss.authed = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opts.user != "" && ss.authed == "" {
		return smtp.ErrAuthRequired
	}
	_, isTLS := ss.conn.TLSConnectionState()
	ss.cur = Message{From: from, TLS: isTLS, AuthUser: ss.authed}
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if ss.s.opts.rejectRcpt[to] {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user here"}
	}
	ss.cur.To = append(ss.cur.To, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := ss.cur
	m.To = append([]string(nil), m.To...)
	m.Raw = raw
	parse(&m)
	ss.s.add(m)
	return nil
}

func (ss *session) Reset()        { ss.cur = Message{} }
func (ss *session) Logout() error { return nil }

// parse fills in Header, Subject and Body from Raw, or Err.
func parse(m *Message) {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		m.Err = err
		return
	}
	m.Header = msg.Header
	if m.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		m.Err = fmt.Errorf("subject: %w", err)
		return
	}
	m.Body, _, m.Err = textPlain(msg.Header, msg.Body)
}

// textPlain returns the first text/plain entity of a message or part,
// depth first, decoded; found is false when there is none.
func textPlain(h interface{ Get(string) string }, r io.Reader) (text string, found bool, err error) {
	mt, params := "text/plain", map[string]string(nil) // RFC 2045's default
	if ct := h.Get("Content-Type"); ct != "" {
		if mt, params, err = mime.ParseMediaType(ct); err != nil {
			return "", false, fmt.Errorf("Content-Type %q: %w", ct, err)
		}
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(r, params["boundary"])
		for {
			p, err := mr.NextPart() // undoes quoted-printable itself
			if err == io.EOF {
				return "", false, nil
			}
			if err != nil {
				return "", false, fmt.Errorf("%s: %w", mt, err)
			}
			if text, found, err := textPlain(p.Header, p); found || err != nil {
				return text, found, err
			}
		}
	}
	if mt != "text/plain" {
		return "", false, nil
	}
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return "", true, fmt.Errorf("text/plain body: %w", err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n"), true, nil
}
