// Package notify sends outgoing email and text messages.
//
// It defines two small interfaces, [Mailer] and [Texter], and their
// implementations:
//
//   - [SMTPMailer] delivers mail over SMTP (STARTTLS, implicit TLS or, for
//     localhost only, plain text) with optional authentication.
//   - [OutboxMailer] writes each message as an .eml file into a folder. It is
//     the embedded default when no SMTP server is configured: in development
//     the operator reads sign-in and confirmation codes from the outbox folder,
//     never from the server log.
//   - [TwilioTexter] sends text messages through Twilio's Messages API (or any
//     service speaking the same wire format).
//   - [WebhookTexter] posts text messages as signed JSON to a URL of the
//     operator's choosing; receivers check the signature with
//     [VerifyWebhookSignature].
//
// Provider failures are reported as [*ProviderError], whose Temporary field
// says whether trying again later may help. The HTTP texters retry temporary
// failures themselves, a bounded number of times and never beyond their
// timeout.
//
// Message bodies carry codes that sign people in. Nothing in this package
// logs a body, a password or a token, and error values never contain them.
//
// The package is a leaf: it imports only the standard library and third-party
// modules, never other Twofold packages.
package notify

import (
	"context"
	"errors"
	"fmt"
	"strconv"
)

// Email is one outgoing mail.
type Email struct {
	// To is the recipient, a single RFC 5322 address ("alice@example.com"
	// or "Alice <alice@example.com>").
	To string
	// Subject is the subject line; it may contain any Unicode text but no
	// line breaks. It may be logged, so it must never contain a code.
	Subject string
	// Text is the plain-text body (UTF-8). It is never logged.
	Text string
	// HTML is an optional HTML alternative of Text. When set, the message is
	// sent as multipart/alternative.
	HTML string
	// Headers are optional extra header fields, such as
	// "X-Twofold-Event". Names made of letters, digits and dashes only;
	// values without line breaks. Headers that this package sets itself
	// (From, To, Subject, Date, Message-ID, MIME and Content headers,
	// Auto-Submitted …) cannot be overridden.
	Headers map[string]string
}

// SMS is one outgoing text message.
type SMS struct {
	// To is the recipient's phone number in E.164 form. Senders pass it
	// through [ValidateE164], so common punctuation is accepted.
	To string
	// Body is the message text. It is never logged.
	Body string
}

// A Mailer sends one email. SendEmail returns nil only when the message was
// handed over to the next hop (or written to the outbox); it must respect
// ctx and must not retain m after it returns. Implementations are safe for
// concurrent use.
type Mailer interface {
	SendEmail(ctx context.Context, m Email) error
}

// A Texter sends one text message. SendSMS returns nil only when the
// provider accepted the message; it must respect ctx. Implementations are
// safe for concurrent use.
type Texter interface {
	SendSMS(ctx context.Context, m SMS) error
}

// Interface guards.
var (
	_ Mailer = (*SMTPMailer)(nil)
	_ Mailer = (*OutboxMailer)(nil)
	_ Texter = (*TwilioTexter)(nil)
	_ Texter = (*WebhookTexter)(nil)
)

// Errors about the message itself rather than its delivery. They are
// returned wrapped; test for them with errors.Is.
var (
	// ErrInvalidAddress means an email address could not be parsed.
	ErrInvalidAddress = errors.New("notify: invalid email address")
	// ErrInvalidPhone means a phone number is not a valid E.164 number.
	ErrInvalidPhone = errors.New("notify: invalid phone number")
	// ErrInvalidMessage means a subject, header or body is not acceptable
	// (a line break in the subject, a reserved header, an empty SMS …).
	ErrInvalidMessage = errors.New("notify: invalid message")
)

// A ProviderError reports that a mail server or SMS provider refused or
// failed to take a message. It never contains the message body.
type ProviderError struct {
	// Provider names the provider: "smtp", "twilio" or "webhook".
	Provider string
	// Status is the HTTP status code of the provider's answer, or 0 when
	// there was none (SMTP, network failure).
	Status int
	// Code is the provider's own error code: Twilio's error code (such as
	// 21211 for an invalid "To" number), or the SMTP reply code. 0 when
	// unknown.
	Code int
	// Message is the provider's human-readable explanation, or a
	// description of the network failure.
	Message string
	// Temporary reports whether the same message may succeed later: true
	// for HTTP 429 and 5xx answers, SMTP 4xx replies and network timeouts.
	Temporary bool
	// Err is the underlying error, if any.
	Err error
}

// Error implements error.
func (e *ProviderError) Error() string {
	s := "notify: " + e.Provider
	if e.Status != 0 {
		s += " status " + strconv.Itoa(e.Status)
	}
	if e.Code != 0 {
		s += " code " + strconv.Itoa(e.Code)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Temporary {
		s += " (temporary)"
	}
	return s
}

// Unwrap returns the underlying error.
func (e *ProviderError) Unwrap() error { return e.Err }

// IsTemporary reports whether err is, or wraps, a [*ProviderError] that is
// temporary.
func IsTemporary(err error) bool {
	var pe *ProviderError
	return errors.As(err, &pe) && pe.Temporary
}

func invalidMessage(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidMessage}, args...)...)
}
