// Package audit writes Twofold's security event log: who did what to whom,
// in which org, from where, and with which outcome.
//
// Events go to the store (queryable by org subtree) and, as one structured
// line each, to the process log. Callers must never put a secret, code,
// password or token in an event; Detail is free text for humans.
package audit

import (
	"context"
	"log/slog"
	"time"

	"github.com/twofold-id/twofold/internal/reqid"
	"github.com/twofold-id/twofold/internal/store"
)

// Event names. They are part of the public contract of the audit API.
const (
	SignInPassword     = "signin.password"      // password step (success or failure)
	SignInSecondFactor = "signin.second_factor" // code step
	SignInCompleted    = "signin.completed"     // a session was issued
	SessionRevoked     = "session.revoke"
	SignOut            = "session.signout"
	OrgCreated         = "org.create"
	OrgUpdated         = "org.update"
	OrgMoved           = "org.move"
	OrgDeleted         = "org.delete"
	PolicyUpdated      = "org.policy"
	UserCreated        = "user.create"
	UserImported       = "user.import" // created with credentials from elsewhere
	UserUpdated        = "user.update"
	UserDeleted        = "user.delete"
	PasswordChanged    = "user.password"
	PasswordResetAsked = "password.reset_request" // a "forgot password" link was asked for (and mailed, or not)
	PasswordReset      = "password.reset"         // a password was set through such a link
	InvitationSent     = "invitation.send"
	InvitationRevoked  = "invitation.revoke"
	InvitationAccepted = "invitation.accept"
	FactorAdded        = "factor.add"     // pending factor created
	FactorConfirmed    = "factor.confirm" // factor became active
	FactorRemoved      = "factor.remove"
	FactorRenamed      = "factor.rename"
	FactorCloned       = "factor.cloned" // a security key's signature counter went backwards: refused
	CodeChecked        = "code.check"    // any code check outside sign-in (remove, regenerate, disable)
	CodeSent           = "code.send"     // a code sent by email or text message
	EmailConfirmSent   = "email.confirmation_sent"
	EmailConfirmed     = "email.confirmed"
	Notified           = "notify.security"
	BackupCodeUsed     = "backup_code.use"
	BackupRegenerated  = "backup_code.regenerate"
	MFADisabled        = "mfa.disable"
	MFAReset           = "mfa.reset"
	Lockout            = "mfa.lockout"
	Unlock             = "mfa.unlock"
	KeysRotated        = "keys.rotate"
	SetupAdmin         = "setup.admin"
	APIKeyCreated      = "apikey.create"
	APIKeyRevoked      = "apikey.revoke"
	ClientCreated      = "client.create"
	ClientUpdated      = "client.update"
	ClientDeleted      = "client.delete"
	ClientSecret       = "client.secret" // a client secret was rotated
	TokenIssued        = "oidc.token_issued"
	TokenRefreshed     = "oidc.token_refreshed"
	TokenRevoked       = "oidc.token_revoked"
	TokenRefused       = "oidc.token_refused"
	AppAuthorized      = "oidc.authorize" // a user signed in to an app (or was refused)
	SigningKeyRotated  = "oidc.signing_key_rotate"
	// ProxyReturn: the portal sent a browser back to an app behind
	// forward-auth after a sign-in or step-up, or refused to (another org,
	// no rule). The proxies' per-request questions are not audited.
	ProxyReturn      = "forward_auth.return"
	DirectorySet     = "directory.set"
	DirectoryRemoved = "directory.remove"
	DirectoryTested  = "directory.test"
	DeviceRegistered = "device.register" // a device registration (or its refusal)
	DeviceSession    = "device.session"  // a registered device opened a session (or was refused)
	DevicePasscode   = "device.passcode" // an app passcode was set or changed
	DeviceRemoved    = "device.remove"
)

// Outcomes.
const (
	Success = "success"
	Failure = "failure"
	Denied  = "denied"
)

// A Logger records audit events. The zero value is not usable; use New.
type Logger struct {
	store   store.Audit
	log     *slog.Logger
	now     func() time.Time
	observe func(store.AuditEvent)
}

// New returns a Logger writing to st and log.
func New(st store.Audit, log *slog.Logger, now func() time.Time) *Logger {
	return &Logger{store: st, log: log, now: now}
}

// Observe makes l call f with every event it prepares, before it is
// stored (metrics count security events this way). f must be cheap and
// safe for concurrent use. Call it before l is used.
func (l *Logger) Observe(f func(store.AuditEvent)) { l.observe = f }

// Record stores e (At is filled in when zero). A failure to store is logged
// and returned; callers on a request path usually go on, because the event is
// also in the process log.
func (l *Logger) Record(ctx context.Context, e store.AuditEvent) error {
	e = l.Prepare(ctx, e)
	// The request may have been cancelled (client gone); the event must
	// still be kept.
	ctx = context.WithoutCancel(ctx)
	if err := l.store.AppendAudit(ctx, e); err != nil {
		l.log.ErrorContext(ctx, "audit: store failed", slog.String("event", e.Event), slog.Any("err", err))
		return err
	}
	return nil
}

// Prepare fills in At and the request id of ctx, and writes the event's log line, and returns the
// event for a caller that stores it itself, inside a larger transaction
// (store.SignInCompleter). Such a caller must store it.
func (l *Logger) Prepare(ctx context.Context, e store.AuditEvent) store.AuditEvent {
	if e.At.IsZero() {
		e.At = l.now()
	}
	e.At = e.At.UTC()
	if e.RequestID == "" {
		e.RequestID = reqid.From(ctx)
	}
	if l.observe != nil {
		l.observe(e)
	}
	level := slog.LevelInfo
	if e.Outcome != Success {
		level = slog.LevelWarn
	}
	l.log.LogAttrs(ctx, level, "audit",
		slog.String("event", e.Event),
		slog.String("outcome", e.Outcome),
		slog.String("actor", e.ActorUserID),
		slog.String("target", e.TargetUserID),
		slog.String("org", e.OrgID),
		slog.String("ip", e.IP),
		slog.String("detail", e.Detail),
	)
	return e
}
