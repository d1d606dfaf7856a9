// Package signin is Twofold's authentication core: the password step, the
// sign-in flow that waits for a second factor or a first enrollment,
// sessions, and the self-service management of one's own factors.
//
// A sign-in flow is not a session. A flow token can do exactly two things:
// answer the second-factor challenge, or set up a first factor when policy
// requires one and the account has none. Every code check — at sign-in and
// in self-service — goes through one path (checkCode) that normalizes the
// code, reserves an attempt on the account's shared failure counter, checks
// the code, and consumes what is single-use atomically in the store.
//
// The HTTP surfaces (internal/api, internal/web) call Service; nothing here
// knows about HTTP.
package signin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/background"
	"github.com/twofold-id/twofold/internal/factor"
	"github.com/twofold-id/twofold/internal/factor/backup"
	"github.com/twofold-id/twofold/internal/factor/methods"
	"github.com/twofold-id/twofold/internal/factor/totp"
	"github.com/twofold-id/twofold/internal/factor/webauthn"
	"github.com/twofold-id/twofold/internal/notice"
	"github.com/twofold-id/twofold/internal/password"
	"github.com/twofold-id/twofold/internal/ratelimit"
	"github.com/twofold-id/twofold/internal/secretbox"
	"github.com/twofold-id/twofold/internal/store"
)

// Keys seals and opens factor secrets (a *secretbox.Keyring, or one that
// reloads its key file when it meets an unknown key id).
type Keys interface {
	Seal(plaintext, ad []byte) (ciphertext []byte, keyID string, err error)
	Open(ciphertext []byte, keyID string, ad []byte) ([]byte, error)
}

var _ Keys = (*secretbox.Keyring)(nil)

// Service holds what sign-in needs. Build it with New; all fields are
// read-only after that.
type Service struct {
	store   store.Store
	hasher  *password.Hasher
	keys    Keys
	audit   *audit.Logger
	log     *slog.Logger
	lockout ratelimit.Lockout
	// pwLockout throttles the password step per account name.
	pwLockout ratelimit.Lockout
	totp      totp.Verifier
	// methods are the second-factor methods, checking TOTP with totp.
	methods *factor.Registry
	backup  backup.Params
	now     func() time.Time
	opts    Options
	codes   store.CodeStore
	deliver Delivery
	bg      *background.Group
	// dir checks directory users' passwords (nil: no directory sign-in).
	dir Directory
	// dirSeen is when the directory last confirmed a directory user's
	// entry (goneFromDirectory), by user id.
	dirSeenMu sync.Mutex
	dirSeen   map[string]time.Time
}

// Options are the tunable durations of sign-in.
type Options struct {
	SessionIdle      time.Duration // default 1 h
	SessionAbsolute  time.Duration // default 24 h
	FlowTTL          time.Duration // default 5 min
	ReauthWindow     time.Duration // default 15 min
	PendingFactorTTL time.Duration // default 10 min
	FlowMaxFailures  int           // wrong codes that end a flow; default 5

	// BaseURL is where users reach the server; links in mails start with it.
	// Its origin is the one security keys answer for.
	BaseURL string
	// WebAuthnRPID is the relying party id of security keys (default: the
	// host of BaseURL).
	WebAuthnRPID string
	// ResendInterval is the least time between two codes for one flow or
	// action (default 30 s).
	ResendInterval time.Duration
	// UserSendsPerHour and OrgSendsPerHour cap sent codes and links per
	// account and per org in a clock hour (defaults 10 and 1000), so no one
	// can run up an SMS bill or flood a mailbox.
	UserSendsPerHour, OrgSendsPerHour int
	// CodeMaxAttempts is how many wrong tries one sent code takes (default 5).
	CodeMaxAttempts int
	// AdminsNeedMFA makes a second factor required for every user whose
	// role is admin or above, whatever the org's policy (the platform rule
	// --admin-mfa-required).
	AdminsNeedMFA bool
	// InvitationTTL is how long an invitation link works (default 7 days).
	InvitationTTL time.Duration
}

func (o *Options) defaults() {
	if o.SessionIdle == 0 {
		o.SessionIdle = time.Hour
	}
	if o.SessionAbsolute == 0 {
		o.SessionAbsolute = 24 * time.Hour
	}
	if o.FlowTTL == 0 {
		o.FlowTTL = 5 * time.Minute
	}
	if o.ReauthWindow == 0 {
		o.ReauthWindow = 15 * time.Minute
	}
	if o.PendingFactorTTL == 0 {
		o.PendingFactorTTL = 10 * time.Minute
	}
	if o.FlowMaxFailures == 0 {
		o.FlowMaxFailures = 5
	}
	if o.ResendInterval == 0 {
		o.ResendInterval = 30 * time.Second
	}
	if o.UserSendsPerHour == 0 {
		o.UserSendsPerHour = 10
	}
	if o.OrgSendsPerHour == 0 {
		o.OrgSendsPerHour = 1000
	}
	if o.CodeMaxAttempts == 0 {
		o.CodeMaxAttempts = 5
	}
	if o.InvitationTTL == 0 {
		o.InvitationTTL = 7 * 24 * time.Hour
	}
}

// Deps are the collaborators of a Service.
type Deps struct {
	Store   store.Store
	Hasher  *password.Hasher
	Keys    Keys
	Audit   *audit.Logger
	Log     *slog.Logger
	Lockout ratelimit.Lockout
	// PasswordLockout throttles wrong passwords per account name (the
	// same delays, cap and cool-down as Lockout when zero).
	PasswordLockout ratelimit.Lockout
	TOTP            totp.Verifier
	Backup          backup.Params
	Now             func() time.Time // default time.Now
	// Codes keeps sent codes, email confirmations and send quotas; without
	// it (or without Delivery) email and text-message codes are off.
	Codes store.CodeStore
	// Delivery sends mails and text messages.
	Delivery Delivery
	// Background runs security notices after the request; nil runs them
	// in a group of the service's own (tests).
	Background *background.Group
	// Directory checks the passwords of directory users; nil turns
	// directory sign-in off.
	Directory Directory
	// WebAuthn is the relying party of security keys and passkeys; the zero
	// Method derives it from Options.BaseURL and Options.WebAuthnRPID.
	WebAuthn webauthn.Method
}

// Delivery sends composed messages. Email and SMS return an error when the
// message could not be handed to the mail server or SMS provider; an SMS
// error for a server without an SMS provider is ErrNoSMSProvider.
type Delivery interface {
	Email(ctx context.Context, to string, m notice.Message) error
	SMS(ctx context.Context, to string, m notice.Message) error
	// SMSConfigured reports whether text messages can be sent at all.
	SMSConfigured() bool
}

// New returns a Service.
func New(d Deps, o Options) *Service {
	o.defaults()
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Background == nil {
		d.Background = background.New(d.Log, 30*time.Second)
	}
	if d.PasswordLockout.Threshold == 0 {
		d.PasswordLockout = d.Lockout
	}
	if d.WebAuthn.RPID() == "" && o.BaseURL != "" {
		wa, err := webauthn.New(o.BaseURL, o.WebAuthnRPID, nil, "")
		if err != nil {
			d.Log.Info("security keys and passkeys are off: the public URL has no domain name", "err", err)
		}
		d.WebAuthn = wa
	}
	return &Service{
		store: d.Store, hasher: d.Hasher, keys: d.Keys, audit: d.Audit, log: d.Log,
		lockout: d.Lockout, pwLockout: d.PasswordLockout, totp: d.TOTP, methods: methods.New(d.TOTP, d.WebAuthn), backup: d.Backup, now: d.Now, opts: o,
		codes: d.Codes, deliver: d.Delivery, bg: d.Background,
		dir: d.Directory, dirSeen: map[string]time.Time{},
	}
}

// Options returns the options in force (with defaults filled in).
func (s *Service) Options() Options { return s.opts }

// Client describes where a request came from, for the audit log and sessions.
type Client struct {
	IP        string
	UserAgent string
}

// Status values of a sign-in Result.
const (
	StatusAuthenticated      = "authenticated"
	StatusMFARequired        = "mfa_required"
	StatusEnrollmentRequired = "enrollment_required"
)

// Result is the outcome of a sign-in step.
type Result struct {
	Status string

	// Set when Status is authenticated.
	SessionToken string
	Session      store.Session

	// Set when a second step is due.
	FlowToken     string
	FlowExpiresAt time.Time
	Methods       []string
	// EnrollmentDeadline is set during a grace period: until then the user
	// may skip setup.
	EnrollmentDeadline *time.Time

	// BackupCodes are returned once, when a first factor was just enrolled.
	BackupCodes []string

	User store.User
	Org  store.Org
}

// Token prefixes make leaked tokens recognizable to secret scanners and
// keep a flow token from ever being mistaken for a session token.
const (
	sessionPrefix = "tfs_"
	flowPrefix    = "tff_"
)

// newToken returns a token with 256 bits of randomness and its SHA-256 hash,
// which is all the store keeps.
func newToken(prefix string) (string, []byte) {
	var b [32]byte
	rand.Read(b[:])
	tok := prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return tok, hashToken(tok)
}

// HashToken returns the stored form of a token.
func hashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// wellFormed reports whether tok could be a token of the given kind; it
// keeps garbage from reaching the store.
func wellFormed(tok, prefix string) bool {
	return strings.HasPrefix(tok, prefix) && len(tok) == len(prefix)+43
}

func (s *Service) record(ctx context.Context, e store.AuditEvent, c Client) {
	e.IP, e.UserAgent = c.IP, c.UserAgent
	s.audit.Record(ctx, e)
}

// FactorAD is the additional data that binds a sealed TOTP secret to its
// user and factor: a ciphertext copied to another row does not open.
func FactorAD(userID, factorID string) []byte {
	return []byte("twofold/totp/v1|" + userID + "|" + factorID)
}
