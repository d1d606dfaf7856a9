package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/notice"
	"github.com/twofold-id/twofold/internal/notify"
	"github.com/twofold-id/twofold/internal/secretbox"
	"github.com/twofold-id/twofold/internal/signin"
)

// delivery adapts the notify senders to what signin needs.
type delivery struct {
	mail notify.Mailer
	sms  notify.Texter // nil when no SMS provider is configured
}

var _ signin.Delivery = delivery{}

func (d delivery) Email(ctx context.Context, to string, m notice.Message) error {
	return d.mail.SendEmail(ctx, notify.Email{To: to, Subject: m.Subject, Text: m.Text})
}

func (d delivery) SMS(ctx context.Context, to string, m notice.Message) error {
	if d.sms == nil {
		return signin.ErrNoSMSProvider
	}
	return d.sms.SendSMS(ctx, notify.SMS{To: to, Body: m.Text})
}

func (d delivery) SMSConfigured() bool { return d.sms != nil }

// Outbox returns the folder mail goes to when no SMTP server is configured.
func Outbox(cfg config.Config) string { return filepath.Join(cfg.DataDir, "outbox") }

// newDelivery builds the mail and SMS senders that cfg describes. Without an
// SMTP host, mail is written to the outbox folder (and a line to the log),
// so a newcomer can still receive codes.
func newDelivery(cfg config.Config, log *slog.Logger) (delivery, error) {
	d, err := senders(cfg)
	if err != nil {
		return d, err
	}
	if d.mail == nil {
		m, err := notify.NewOutbox(Outbox(cfg), log)
		if err != nil {
			return d, fmt.Errorf("mail outbox: %w", err)
		}
		d.mail = m
	}
	return d, nil
}

// senders builds the SMTP mailer (nil without an SMTP host) and the SMS
// texter (nil without a provider) that cfg describes, touching nothing.
func senders(cfg config.Config) (delivery, error) {
	var d delivery
	if cfg.SMTPHost != "" {
		m, err := notify.NewSMTP(notify.SMTPConfig{Host: cfg.SMTPHost, Port: cfg.SMTPPort, Username: cfg.SMTPUsername,
			Password: cfg.SMTPPassword, From: cfg.SMTPFrom, TLS: cfg.SMTPTLS})
		if err != nil {
			return d, fmt.Errorf("smtp: %w", err)
		}
		d.mail = m
	}
	switch cfg.SMSProvider {
	case "twilio":
		t, err := notify.NewTwilio(notify.TwilioConfig{AccountSID: cfg.TwilioAccountSID, AuthToken: cfg.TwilioAuthToken,
			From: cfg.TwilioFrom, BaseURL: cfg.TwilioBaseURL})
		if err != nil {
			return d, fmt.Errorf("twilio: %w", err)
		}
		d.sms = t
	case "webhook":
		w, err := notify.NewWebhook(notify.WebhookConfig{URL: cfg.SMSWebhookURL, Secret: []byte(cfg.SMSWebhookSecret)})
		if err != nil {
			return d, fmt.Errorf("sms webhook: %w", err)
		}
		d.sms = w
	}
	return d, nil
}

// CheckConfig reports what Open would refuse in cfg beyond what
// config.Validate sees, without opening anything: mail and SMS settings the
// senders refuse, inline keys that do not parse, and PostgreSQL without a
// key shared by every instance.
func CheckConfig(cfg config.Config) []error {
	var errs []error
	if _, err := senders(cfg); err != nil {
		errs = append(errs, err)
	}
	if cfg.SecretKey != "" {
		if _, err := secretbox.FromEnv(cfg.SecretKey); err != nil {
			errs = append(errs, fmt.Errorf("secret-key: %w", err))
		}
	} else if _, err := os.Stat(cfg.KeyFilePath()); err != nil {
		switch {
		case !errors.Is(err, os.ErrNotExist):
			errs = append(errs, fmt.Errorf("key file: %w", err))
		case cfg.DatabaseURL != "":
			// Open would refuse to create a key per instance (see LoadKeys).
			errs = append(errs, fmt.Errorf("key file %s does not exist: with PostgreSQL every instance needs the same key; "+
				"create it once with `twofold keys init --key-file FILE` and set key-file, or set secret-key-file", cfg.KeyFilePath()))
		}
	}
	return errs
}
