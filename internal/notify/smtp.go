package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/textproto"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// TLS modes of [SMTPConfig].
const (
	// TLSStartTLS upgrades the connection with STARTTLS and fails when the
	// server does not offer it; there is no plain-text fallback. The default.
	TLSStartTLS = "starttls"
	// TLSOpportunistic upgrades with STARTTLS when the server offers it and
	// otherwise continues in plain text.
	TLSOpportunistic = "opportunistic"
	// TLSImplicit speaks TLS from the first byte (SMTPS, usually port 465).
	TLSImplicit = "tls"
	// TLSNone never encrypts. It is accepted only for a loopback host
	// (localhost, 127.0.0.1, ::1), for development and tests.
	TLSNone = "none"
)

// defaultTimeout bounds one send (all of its attempts) when a config leaves
// Timeout zero.
const defaultTimeout = 10 * time.Second

// SMTPConfig configures an [SMTPMailer].
type SMTPConfig struct {
	// Host is the SMTP server's host name or IP address. Required.
	Host string
	// Port is the server's port; 0 means 465 for TLS "tls" and 587
	// otherwise.
	Port int
	// Username and Password enable SMTP AUTH when Username is set. The
	// mechanism is the strongest offered of SCRAM-SHA-256, SCRAM-SHA-1,
	// PLAIN and LOGIN; PLAIN and LOGIN are only used over TLS (or to
	// localhost). When set, a server that does not offer AUTH is an error.
	Username, Password string
	// From is the sender address, such as "Twofold <no-reply@example.com>".
	// Required.
	From string
	// TLS is one of "starttls" (the default when empty), "opportunistic",
	// "tls" or "none"; see the TLS… constants.
	TLS string
	// InsecureSkipVerify disables verification of the server certificate.
	// Only for tests and self-signed development servers.
	InsecureSkipVerify bool
	// Timeout bounds one SendEmail call from dialing to the server's last
	// reply; 0 means 10 s.
	Timeout time.Duration
	// HeloName is the name sent in EHLO; empty means the local host name.
	HeloName string
}

// An SMTPMailer delivers mail to one SMTP server (a relay or submission
// server). It opens one connection per message. It is safe for concurrent
// use.
type SMTPMailer struct {
	cfg  SMTPConfig
	from *mail.Address
	now  func() time.Time
}

// NewSMTP checks cfg and returns a mailer for it. It does not connect; the
// first SendEmail does. Errors name the offending field and never contain
// the password.
func NewSMTP(cfg SMTPConfig) (*SMTPMailer, error) {
	if cfg.Host == "" {
		return nil, errors.New("notify: smtp: host is required")
	}
	switch cfg.TLS {
	case "":
		cfg.TLS = TLSStartTLS
	case TLSStartTLS, TLSOpportunistic, TLSImplicit:
	case TLSNone:
		if !isLoopbackHost(cfg.Host) {
			return nil, fmt.Errorf("notify: smtp: tls %q is only allowed for localhost, not %q", TLSNone, cfg.Host)
		}
	default:
		return nil, fmt.Errorf("notify: smtp: unknown tls mode %q (want starttls, opportunistic, tls or none)", cfg.TLS)
	}
	if cfg.Port == 0 {
		cfg.Port = 587
		if cfg.TLS == TLSImplicit {
			cfg.Port = 465
		}
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("notify: smtp: port %d out of range", cfg.Port)
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("notify: smtp: negative timeout")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = defaultTimeout
	}
	if cfg.Password != "" && cfg.Username == "" {
		return nil, errors.New("notify: smtp: password given without username")
	}
	from, err := parseAddress("from", cfg.From)
	if err != nil {
		return nil, fmt.Errorf("notify: smtp: %w", err)
	}
	return &SMTPMailer{cfg: cfg, from: from, now: time.Now}, nil
}

// isLoopbackHost reports whether host names this machine.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// SendEmail delivers m over a new connection. It returns nil once the server
// accepted the message. Invalid messages give an error wrapping
// [ErrInvalidAddress] or [ErrInvalidMessage] without connecting; delivery
// failures give a [*ProviderError] (Temporary for 4xx replies and timeouts).
// The call returns within the configured Timeout, or earlier when ctx ends.
func (s *SMTPMailer) SendEmail(ctx context.Context, m Email) error {
	msg, err := buildMessage(s.from, m, s.now())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	client, err := s.client(ctx)
	if err != nil {
		return err
	}
	err = client.DialAndSendWithContext(ctx, msg)
	if err == nil {
		return nil
	}
	return smtpError(ctx, err)
}

// client builds a go-mail client for one send. Its dialer ties the
// connection to ctx: when ctx ends, the connection is closed, which ends any
// command waiting on the server.
func (s *SMTPMailer) client(ctx context.Context) (*gomail.Client, error) {
	cfg := s.cfg
	tlsConfig := &tls.Config{
		ServerName:         cfg.Host,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: cfg.InsecureSkipVerify, // the operator's explicit, documented choice
	}
	opts := []gomail.Option{
		gomail.WithPort(cfg.Port),
		gomail.WithTimeout(cfg.Timeout),
		gomail.WithTLSConfig(tlsConfig),
		gomail.WithDialContextFunc(func(dctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			conn, err := d.DialContext(dctx, network, addr)
			if err != nil {
				return nil, err
			}
			context.AfterFunc(ctx, func() { conn.Close() })
			if cfg.TLS != TLSImplicit {
				return conn, nil
			}
			tc := tls.Client(conn, tlsConfig)
			if err := tc.HandshakeContext(dctx); err != nil {
				conn.Close()
				return nil, err
			}
			return tc, nil
		}),
	}
	switch cfg.TLS {
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSOpportunistic:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case TLSImplicit, TLSNone:
		// Implicit TLS is done by the dialer above; go-mail must not try
		// STARTTLS on top of it.
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if cfg.HeloName != "" {
		opts = append(opts, gomail.WithHELO(cfg.HeloName))
	}
	if cfg.Username != "" {
		// PLAIN and LOGIN (without -NOENC) refuse to send the password
		// unless the connection is TLS or goes to localhost.
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthSCRAMSHA1,
				gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(cfg.Username),
			gomail.WithPassword(cfg.Password))
	}
	c, err := gomail.NewClient(cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("notify: smtp: %w", err)
	}
	return c, nil
}

// smtpError turns a go-mail error into a *ProviderError.
func smtpError(ctx context.Context, err error) error {
	pe := &ProviderError{Provider: "smtp", Message: err.Error(), Err: err}
	var se *gomail.SendError
	if errors.As(err, &se) {
		pe.Code = se.ErrorCode()
		pe.Temporary = se.IsTemp()
	}
	var ne net.Error
	if ctx.Err() != nil || errors.As(err, &ne) && ne.Timeout() {
		pe.Temporary = true
		if ctx.Err() != nil {
			pe.Message = "gave up: " + ctx.Err().Error() + " (" + pe.Message + ")"
			pe.Err = errors.Join(ctx.Err(), err)
		}
	}
	if pe.Code == 0 {
		pe.Code = replyCode(err)
	}
	if pe.Code >= 400 && pe.Code < 500 {
		pe.Temporary = true
	}
	return pe
}

// replyCode returns the SMTP reply code carried by err, or 0.
func replyCode(err error) int {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}
