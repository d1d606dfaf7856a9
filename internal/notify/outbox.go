package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"os"
	"path/filepath"
	"time"
)

// outboxFrom is the sender of mail written to an outbox.
const outboxFrom = "Twofold <twofold@localhost>"

// An OutboxMailer writes each message as an RFC 5322 .eml file into a
// folder instead of sending it. It is the embedded default when no SMTP
// server is configured, so a newcomer can still sign in: in development the
// operator reads codes and confirmation links from the outbox folder (any
// mail client opens .eml files; they are plain text too).
//
// The folder is created with mode 0700 and every file with mode 0600,
// because the files contain codes that sign people in. File names sort by
// creation time: "20060102T150405.000000000Z-<random>.eml". For each message
// the mailer logs one line with the recipient, the subject and the file
// path, never the body. It is safe for concurrent use.
type OutboxMailer struct {
	dir  string
	log  *slog.Logger
	from *mail.Address
	now  func() time.Time
}

// NewOutbox returns a mailer that writes into dir, creating it (mode 0700)
// if needed. A nil log discards the log lines.
func NewOutbox(dir string, log *slog.Logger) (*OutboxMailer, error) {
	if dir == "" {
		return nil, errors.New("notify: outbox: directory is required")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("notify: outbox: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	from, err := mail.ParseAddress(outboxFrom)
	if err != nil {
		return nil, err
	}
	return &OutboxMailer{dir: dir, log: log, from: from, now: time.Now}, nil
}

// Dir returns the outbox folder, for the start-up message that tells the
// operator where mail goes.
func (o *OutboxMailer) Dir() string { return o.dir }

// SendEmail writes m to a new file in the outbox. The file appears under its
// final name only once it is complete. Invalid messages give an error
// wrapping [ErrInvalidAddress] or [ErrInvalidMessage] and write nothing.
func (o *OutboxMailer) SendEmail(ctx context.Context, m Email) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := o.now().UTC()
	msg, err := buildMessage(o.from, m, now)
	if err != nil {
		return err
	}
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return fmt.Errorf("notify: outbox: %w", err)
	}
	name := now.Format("20060102T150405.000000000Z") + "-" + hex.EncodeToString(rnd[:]) + ".eml"
	final := filepath.Join(o.dir, name)
	tmp := filepath.Join(o.dir, "."+name+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("notify: outbox: %w", err)
	}
	_, werr := msg.WriteTo(f)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("notify: outbox: write %s: %w", name, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("notify: outbox: %w", err)
	}
	o.log.InfoContext(ctx, "mail written to outbox (no SMTP server configured)",
		"to", m.To, "subject", m.Subject, "path", final)
	return nil
}
