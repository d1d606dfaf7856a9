package app

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/notice"
	"github.com/twofold-id/twofold/internal/notify"
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
	var d delivery
	if cfg.SMTPHost != "" {
		m, err := notify.NewSMTP(notify.SMTPConfig{Host: cfg.SMTPHost, Port: cfg.SMTPPort, Username: cfg.SMTPUsername,
			Password: cfg.SMTPPassword, From: cfg.SMTPFrom, TLS: cfg.SMTPTLS})
		if err != nil {
			return d, fmt.Errorf("smtp: %w", err)
		}
		d.mail = m
	} else {
		m, err := notify.NewOutbox(Outbox(cfg), log)
		if err != nil {
			return d, fmt.Errorf("mail outbox: %w", err)
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
