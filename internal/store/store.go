// Package store defines Twofold's domain records and the interfaces every
// storage backend implements.
//
// Two backends exist: internal/store/sqlite (the embedded default) and
// internal/store/postgres (the shared store for several instances). Both run
// the conformance suite in internal/store/storetest, which is the executable
// form of the contracts written in the doc comments below.
//
// Anything usable once — a TOTP time step, a backup code, a sign-in flow, a
// failure counter — is consumed by one atomic statement or transaction inside
// the store, never by "read, then write" in the caller.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned when a record does not exist (or is not visible).
var ErrNotFound = errors.New("store: not found")

// ErrConflict is returned when a write would violate a uniqueness rule, such
// as a second organization with the same slug.
var ErrConflict = errors.New("store: conflict")

// ErrNotEmpty is returned by DeleteOrg when the org still has children or users.
var ErrNotEmpty = errors.New("store: not empty")

// ErrStale is returned when a write depends on the state of an account that
// has changed since the caller read it: a flow or session for a user who has
// been disabled meanwhile, or whose SecurityVersion has moved on.
var ErrStale = errors.New("store: account changed")

// Role is a user's role. Roles are ordered: member < admin < superadmin.
type Role string

const (
	RoleMember     Role = "member"
	RoleAdmin      Role = "admin"
	RoleSuperadmin Role = "superadmin"
)

// Rank orders roles so that a higher rank may do more. Unknown roles rank 0.
func (r Role) Rank() int {
	switch r {
	case RoleMember:
		return 1
	case RoleAdmin:
		return 2
	case RoleSuperadmin:
		return 3
	}
	return 0
}

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool { return r.Rank() > 0 }

// MFAMode is an organization's own MFA setting.
type MFAMode string

const (
	MFAInherit  MFAMode = "" // take the parent's setting
	MFAOff      MFAMode = "off"
	MFAOptional MFAMode = "optional"
	MFARequired MFAMode = "required"
)

// OrgPolicy is the policy an org sets for itself. Zero values mean "inherit".
type OrgPolicy struct {
	MFA MFAMode
	// Locked makes the org's settings a floor that descendants cannot go
	// below; Lock says whom else it binds and who placed it.
	Locked bool
	// AllowedMethods is a subset of factor kinds ("totp", "email", "sms");
	// nil means inherit.
	AllowedMethods                 []string
	EnrollmentGrace                time.Duration // 0 = inherit / at next sign-in
	OTPCodeTTL                     time.Duration // 0 = inherit (default 90 s)
	RequireMFAForNewDirectoryUsers bool
	// Lock records whom Locked binds and who placed it. It is meaningful
	// only while Locked is true; the store keeps it as given.
	Lock Lock
}

// LockScope says whom an org's lock binds.
type LockScope string

const (
	// LockDescendants is an org's lock on its own policy: it binds the
	// orgs below it, not the org itself. The empty scope reads the same
	// (locks placed before scopes were recorded).
	LockDescendants LockScope = "descendants"
	// LockEnforced is enforcement from above: an admin of an ancestor
	// placed the lock on this org, and it binds the org's own admins as
	// well as its descendants. Only admins who can manage the enforcing
	// org (Lock.OrgID) may loosen or release it.
	LockEnforced LockScope = "enforced"
)

// Lock records whom an org's lock binds and who placed it.
type Lock struct {
	Scope LockScope
	// OrgID is the org at whose level the lock was placed: the org of the
	// admin or API key that placed it, or the root for the operator. For
	// LockEnforced it is the enforcing ancestor. "" when unknown.
	OrgID string
	// UserID is the admin who placed it ("apikey:ID" for an API key, ""
	// for the operator); ActorName is that actor's name at the time, so
	// the record outlives the account. Neither is a foreign key.
	UserID    string
	ActorName string
	At        *time.Time // when it was placed; nil when unknown
	// Floor is what a LockEnforced lock fixes: the org's effective
	// settings when it was placed. The org and everything below it may be
	// stricter, never weaker. Unused for LockDescendants, whose floor is
	// the org's current effective policy.
	Floor LockFloor
}

// Enforced reports whether p is locked with enforcement from above, so
// that the lock binds the org itself.
func (p OrgPolicy) Enforced() bool { return p.Locked && p.Lock.Scope == LockEnforced }

// LockFloor is the minimum an enforced lock fixes.
type LockFloor struct {
	MFA                            MFAMode       // the weakest mode allowed
	AllowedMethods                 []string      // the widest list allowed
	EnrollmentGrace                time.Duration // the longest grace period allowed when MFA is required
	RequireMFAForNewDirectoryUsers bool
}

// Org is a tenant. Orgs form a tree; the root has an empty ParentID.
type Org struct {
	ID       string
	ParentID string // "" for the root
	Slug     string
	Name     string
	// Path lists the ids from the root down to and including this org, as
	// "/rootid/childid/thisid/". A descendant's Path has this Path as prefix.
	Path      string
	Depth     int // root = 0
	Policy    OrgPolicy
	CreatedAt time.Time
	UpdatedAt time.Time
}

// IsAncestorOf reports whether o is other or one of its ancestors.
func (o Org) IsAncestorOf(other Org) bool {
	return len(other.Path) >= len(o.Path) && other.Path[:len(o.Path)] == o.Path
}

// User is an account in one org.
type User struct {
	ID    string
	OrgID string
	// Username is as the user typed it at creation; UsernameNorm is its
	// NFKC case-folded form, the only one used for lookups and counting.
	Username         string
	UsernameNorm     string
	Email            string
	EmailConfirmedAt *time.Time
	Role             Role
	PasswordHash     string
	MFARequired      bool // set by an admin
	Disabled         bool
	CreatedAt        time.Time
	UpdatedAt        time.Time
	// MFARequiredSince is when MFA first became required for this user by
	// any means the server noticed; it starts enrollment grace periods.
	MFARequiredSince *time.Time
	// SecurityVersion counts the changes that must end every sign-in in
	// flight: a new password, an MFA reset, a new role, disabling. The
	// store increments it (and deletes the user's flows) in the same
	// transaction as the change; flows and sessions are created only for
	// the current version.
	SecurityVersion int64
}

// Session is what a completed sign-in yields. Only the hash of its token is
// stored.
type Session struct {
	ID           string
	TokenHash    []byte
	UserID       string
	CreatedAt    time.Time
	LastSeenAt   time.Time
	ExpiresAt    time.Time // absolute expiry
	AMR          []string  // authentication methods used: "pwd", "otp", "backup_code", …
	MFAAt        *time.Time
	IP           string
	UserAgent    string
	RevokedAt    *time.Time
	RevokeReason string
	// UserVersion is the user's SecurityVersion the session was issued
	// under; CreateSession refuses any other.
	UserVersion int64
}

// FlowKind says what a sign-in flow is waiting for.
type FlowKind string

const (
	FlowMFA    FlowKind = "mfa"    // password done; a second factor is due
	FlowEnroll FlowKind = "enroll" // password done; a first factor must be set up
)

// Flow is the short-lived state between a correct password and a session.
// It is not a session and grants nothing else.
type Flow struct {
	ID        string
	TokenHash []byte
	UserID    string
	Kind      FlowKind
	CreatedAt time.Time
	ExpiresAt time.Time
	Failures  int // wrong codes entered in this flow
	IP        string
	UserAgent string
	// ConsumedAt is set when the flow yielded a session; a consumed flow
	// can do nothing more.
	ConsumedAt *time.Time
	// UserVersion is the user's SecurityVersion when the password was
	// checked; the flow is dead once the user's version differs.
	UserVersion int64
}

// Factor is one enrolled second factor of a user.
type Factor struct {
	ID     string
	UserID string
	Kind   string // "totp", later "email", "sms", "webauthn"
	Label  string
	// Secret is the sealed (encrypted) secret; KeyID names the key that
	// sealed it. The store never sees plaintext secrets.
	Secret []byte
	KeyID  string
	// Target is the address a code is sent to (email, E.164 phone); empty
	// for authenticator apps.
	Target string
	// LastStep is the last accepted TOTP time step (replay protection).
	LastStep    int64
	ConfirmedAt *time.Time // nil until the user confirmed it with a code
	CreatedAt   time.Time
	LastUsedAt  *time.Time
}

// Confirmed reports whether the factor is active.
func (f Factor) Confirmed() bool { return f.ConfirmedAt != nil }

// BackupCode is one single-use recovery code, stored only as a salted hash.
type BackupCode struct {
	ID        string
	UserID    string
	Hash      string // encoded password hash of the code
	CreatedAt time.Time
	UsedAt    *time.Time
}

// Attempts is a failure counter: the second-factor failure state of one
// account, shared by every endpoint that checks a code (UserID set), or the
// password failure state of one account name (PasswordCounters; UserID
// empty).
type Attempts struct {
	UserID        string
	Failures      int // consecutive failures since the last success
	LastFailureAt *time.Time
	LockedUntil   *time.Time
}

// AuditEvent is one entry of the security event log.
type AuditEvent struct {
	ID           int64
	At           time.Time
	ActorUserID  string // "" for the system or an anonymous caller
	TargetUserID string
	OrgID        string // the org the event concerns
	IP           string
	UserAgent    string
	Event        string // e.g. "signin.password", "session.revoke"
	Outcome      string // "success", "failure", "denied", …
	Detail       string // free text without secrets
	RequestID    string // the id of the HTTP request that caused it (X-Request-Id); "" outside a request
}

// AuditFilter selects audit events. Zero fields do not filter.
type AuditFilter struct {
	OrgPath  string // events of orgs in this subtree (an Org.Path)
	UserID   string // events whose actor or target is this user
	Event    string // exact event name, or a prefix ending in "."
	Since    time.Time
	Until    time.Time
	Limit    int   // 0 = 100
	BeforeID int64 // for paging: only events with ID < BeforeID
}

// UserChange is a partial update of a user; nil fields stay as stored.
type UserChange struct {
	// Email replaces the address; a different address clears
	// EmailConfirmedAt.
	Email *string
	Role  *Role
	// Disabled disables or enables the account.
	Disabled *bool
	// MFARequired sets the admin's per-user requirement; false also clears
	// MFARequiredSince.
	MFARequired *bool
}

// UserFilter selects users for listing. Zero fields do not filter.
type UserFilter struct {
	OrgPath string // users of orgs in this subtree
	OrgID   string // users of exactly this org
	Role    Role
	Query   string // substring of username or email
	// Prefix selects users whose username (normalized) or email starts
	// with it, ignoring case; unlike Query it is served by an index.
	Prefix  string
	Limit   int    // 0 = 100
	AfterID string // for paging: only users with ID > AfterID (ordered by ID)
}

// Store is everything a Twofold server keeps. Implementations must be safe
// for concurrent use, by several goroutines and by several server processes
// sharing one database.
type Store interface {
	Orgs
	Users
	Sessions
	Flows
	Factors
	BackupCodes
	AttemptCounters
	PasswordCounters
	Audit
	SetupTokens
	CodeStore
	Onboarding
	Ceremonies
	APIKeys
	Clients
	OIDC
	Directories
	Devices
	SignInCompleter
	UserImporter
	AuditPruner
	Dashboards
	RateLimits

	// Ping reports whether the database is reachable.
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error
}

// Orgs keeps the organization tree.
type Orgs interface {
	// CreateOrg inserts org. ID, Path and Depth are derived from ParentID by
	// the store (ID is generated when empty). A duplicate slug is ErrConflict;
	// an unknown parent is ErrNotFound.
	CreateOrg(ctx context.Context, org Org) (Org, error)
	GetOrg(ctx context.Context, id string) (Org, error)
	GetOrgBySlug(ctx context.Context, slug string) (Org, error)
	// RootOrg returns the org without a parent, or ErrNotFound.
	RootOrg(ctx context.Context) (Org, error)
	// ListOrgs returns the orgs whose Path starts with pathPrefix ("" for
	// all), ordered by Path.
	ListOrgs(ctx context.Context, pathPrefix string) ([]Org, error)
	// OrgChain returns the org with the given id and all its ancestors,
	// root first.
	OrgChain(ctx context.Context, id string) ([]Org, error)
	// UpdateOrg stores Name and Policy of org (identified by ID).
	UpdateOrg(ctx context.Context, org Org) (Org, error)
	// MoveOrg gives org a new parent, rewriting the paths of its subtree in
	// one transaction. Moving an org below itself is ErrConflict.
	MoveOrg(ctx context.Context, id, newParentID string) (Org, error)
	// DeleteOrg removes an org without children or users; otherwise ErrNotEmpty.
	DeleteOrg(ctx context.Context, id string) error
}

// Users keeps accounts.
type Users interface {
	// CreateUser inserts u (ID generated when empty). A second user with the
	// same UsernameNorm in the same org is ErrConflict. Creating a
	// superadmin deletes the setup token in the same transaction.
	CreateUser(ctx context.Context, u User) (User, error)
	GetUser(ctx context.Context, id string) (User, error)
	// GetUserByName looks a user up by org id and normalized username.
	GetUserByName(ctx context.Context, orgID, usernameNorm string) (User, error)
	ListUsers(ctx context.Context, f UserFilter) ([]User, error)
	// PatchUser applies ch to the stored user in one transaction, sets
	// UpdatedAt to at, and returns the user as it was before and after.
	// Only the columns ch names are written, so a concurrent change of
	// another column is never undone (there is deliberately no "store this
	// whole record" update: a caller's copy may be stale). A new role, or
	// disabling, increments SecurityVersion and deletes the user's flows in
	// the same transaction; the superadmin role also deletes the setup
	// token. An unknown user is ErrNotFound.
	PatchUser(ctx context.Context, id string, ch UserChange, at time.Time) (before, after User, err error)
	// SetMFARequiredSince sets MFARequiredSince to at only if it is not set
	// yet, and returns the stored user.
	SetMFARequiredSince(ctx context.Context, id string, at time.Time) (User, error)
	// ConfirmUserEmail sets EmailConfirmedAt to at only if the user's
	// address is still email and not confirmed yet; it reports whether it
	// did.
	ConfirmUserEmail(ctx context.Context, id, email string, at time.Time) (bool, error)
	// SetPasswordHash replaces the stored hash only if it still equals old
	// (so a concurrent rehash never overwrites a password change); it
	// reports whether it did.
	SetPasswordHash(ctx context.Context, userID, old, new string) (bool, error)
	// SetPassword stores a new password hash (a password change, as
	// opposed to SetPasswordHash's rehash of the same password), sets
	// UpdatedAt to at, increments SecurityVersion and deletes the user's
	// flows, in one transaction. An unknown user is ErrNotFound.
	SetPassword(ctx context.Context, userID, hash string, at time.Time) error
	// ResetUserMFA removes every factor and backup code of the user, clears
	// its second-factor failure counter, increments SecurityVersion and
	// deletes the user's flows, in one transaction (an admin's MFA reset).
	// An unknown user is ErrNotFound.
	ResetUserMFA(ctx context.Context, userID string, at time.Time) error
	DeleteUser(ctx context.Context, id string) error
}

// Sessions keeps signed-in sessions.
type Sessions interface {
	// CreateSession inserts s (ID generated when empty). It is ErrStale
	// when the user is disabled or its SecurityVersion is not
	// s.UserVersion, decided under a lock on the user's row, so a session is
	// never issued after a concurrent change has committed (and one issued
	// before is there for the change's revocation to find).
	CreateSession(ctx context.Context, s Session) (Session, error)
	// GetSessionByTokenHash returns the session, revoked or not; callers
	// check RevokedAt and the timeouts.
	GetSessionByTokenHash(ctx context.Context, hash []byte) (Session, error)
	GetSession(ctx context.Context, id string) (Session, error)
	// ListSessions returns the user's sessions that are not revoked and not
	// past their absolute expiry at now, newest first.
	ListSessions(ctx context.Context, userID string, now time.Time) ([]Session, error)
	// TouchSession sets LastSeenAt.
	TouchSession(ctx context.Context, id string, at time.Time) error
	// MarkSessionMFA records a second-factor check on a live session: amr
	// becomes the given list and MFAAt at. It touches nothing else (the
	// token, creation and expiry stay). A revoked or unknown session is
	// ErrNotFound.
	MarkSessionMFA(ctx context.Context, id string, amr []string, at time.Time) error
	// RevokeSession marks one session revoked; revoking twice is not an error.
	RevokeSession(ctx context.Context, id string, at time.Time, reason string) error
	// RevokeUserSessions revokes every live session of the user except
	// exceptID (may be ""), and returns how many it revoked.
	RevokeUserSessions(ctx context.Context, userID, exceptID string, at time.Time, reason string) (int, error)
	// DeleteExpiredSessions removes sessions expired or revoked before cutoff.
	DeleteExpiredSessions(ctx context.Context, cutoff time.Time) (int, error)
}

// Flows keeps sign-in flows.
type Flows interface {
	// CreateFlow inserts f (ID generated when empty); like CreateSession it
	// is ErrStale when the user is disabled or its SecurityVersion is not
	// f.UserVersion.
	CreateFlow(ctx context.Context, f Flow) (Flow, error)
	GetFlowByTokenHash(ctx context.Context, hash []byte) (Flow, error)
	// AddFlowFailure atomically increments the flow's failure count and
	// returns the new count.
	AddFlowFailure(ctx context.Context, id string) (int, error)
	// ConsumeFlow marks the flow consumed if it is not already; it reports
	// whether this call consumed it (exactly one caller wins).
	ConsumeFlow(ctx context.Context, id string, at time.Time) (bool, error)
	// DeleteExpiredFlows removes flows that expired before cutoff.
	DeleteExpiredFlows(ctx context.Context, cutoff time.Time) (int, error)
}

// Factors keeps enrolled second factors.
type Factors interface {
	CreateFactor(ctx context.Context, f Factor) (Factor, error)
	GetFactor(ctx context.Context, id string) (Factor, error)
	// ListFactors returns all factors of the user, confirmed or not, oldest first.
	ListFactors(ctx context.Context, userID string) ([]Factor, error)
	// ConfirmFactor activates a pending factor and records step as its last
	// accepted TOTP step; it reports false if the factor was already
	// confirmed or does not exist.
	ConfirmFactor(ctx context.Context, id string, step int64, at time.Time) (bool, error)
	// ConfirmFirstFactor is ConfirmFactor for the user's first factor: it
	// activates the pending factor only while its user has no confirmed
	// factor, and reports false otherwise (exactly one of several
	// concurrent calls for one user wins). A first factor changes how every
	// sign-in in flight must go on, so in the same transaction it
	// increments the user's SecurityVersion and deletes the user's flows
	// except keepFlow ("" for none), whose UserVersion it brings up to date.
	// In the same transaction too it replaces the user's backup codes with
	// codes (unless codes is nil) and appends events, so a confirmation cut
	// off half-way (a client gone, a crash) never leaves an active first
	// factor without its backup codes or its audit record.
	ConfirmFirstFactor(ctx context.Context, id string, step int64, at time.Time, keepFlow string, codes []BackupCode, events []AuditEvent) (bool, error)
	// AdvanceStep atomically sets LastStep = step and LastUsedAt = at only if
	// step > LastStep; it reports whether it did. This is the TOTP replay guard.
	AdvanceStep(ctx context.Context, id string, step int64, at time.Time) (bool, error)
	// TouchFactor sets LastUsedAt.
	TouchFactor(ctx context.Context, id string, at time.Time) error
	// UpdateFactorLabel renames a factor.
	UpdateFactorLabel(ctx context.Context, id, label string) error
	// UpdateFactorSecret replaces the sealed secret only if its key id is
	// still oldKeyID (used by key rotation); it reports whether it did.
	UpdateFactorSecret(ctx context.Context, id, oldKeyID string, secret []byte, keyID string) (bool, error)
	// ListFactorsNotUnderKey returns up to limit factors that hold a sealed
	// secret under a key other than keyID (for key rotation).
	ListFactorsNotUnderKey(ctx context.Context, keyID string, limit int) ([]Factor, error)
	DeleteFactor(ctx context.Context, id string) error
	// DeleteUserFactors removes every factor and backup code of the user.
	DeleteUserFactors(ctx context.Context, userID string) error
	// DeletePendingFactors removes unconfirmed factors created before cutoff.
	DeletePendingFactors(ctx context.Context, cutoff time.Time) (int, error)
}

// BackupCodes keeps single-use recovery codes.
type BackupCodes interface {
	// ReplaceBackupCodes deletes every backup code of the user and inserts
	// codes, in one transaction.
	ReplaceBackupCodes(ctx context.Context, userID string, codes []BackupCode) error
	// ListBackupCodes returns the user's unused codes.
	ListBackupCodes(ctx context.Context, userID string) ([]BackupCode, error)
	// UseBackupCode marks the code used if it is unused; it reports whether
	// this call used it (exactly one caller wins).
	UseBackupCode(ctx context.Context, id string, at time.Time) (bool, error)
}

// AttemptCounters keeps the per-account second-factor failure state.
type AttemptCounters interface {
	GetAttempts(ctx context.Context, userID string) (Attempts, error)
	// UpdateAttempts runs fn on the user's current state (the zero state
	// with UserID set if none is stored) inside one transaction that holds
	// the row locked, and stores what fn returns. If fn returns an error,
	// nothing is stored and the error is returned. Concurrent calls for one
	// user are serialized.
	UpdateAttempts(ctx context.Context, userID string, fn func(Attempts) (Attempts, error)) (Attempts, error)
}

// PasswordCounters keeps the failure counters of the password step. They
// are keyed by account name, not by user: the key is whatever the caller
// derives from what was typed (a hash of the normalized org slug and
// username), so a name nobody has is counted exactly like a real account.
type PasswordCounters interface {
	// GetPasswordAttempts returns the state under key, the zero state if
	// none is stored.
	GetPasswordAttempts(ctx context.Context, key string) (Attempts, error)
	// UpdatePasswordAttempts is UpdateAttempts for the counter under key:
	// fn runs on the current state inside one transaction that holds the
	// row locked, and what it returns is stored (nothing when it returns an
	// error, which is returned). Concurrent calls for one key are
	// serialized.
	UpdatePasswordAttempts(ctx context.Context, key string, fn func(Attempts) (Attempts, error)) (Attempts, error)
	// DeletePasswordAttempts removes the counters under keys (an admin's
	// unlock).
	DeletePasswordAttempts(ctx context.Context, keys ...string) error
	// DeleteOldPasswordAttempts removes counters whose last failure and
	// lock both lie before cutoff, and returns how many.
	DeleteOldPasswordAttempts(ctx context.Context, cutoff time.Time) (int, error)
}

// Audit keeps the security event log.
type Audit interface {
	AppendAudit(ctx context.Context, e AuditEvent) error
	// ListAudit returns matching events, newest first.
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
}

// ErrSetupDone is returned by CreateFirstAdmin when a superadmin exists
// already.
var ErrSetupDone = errors.New("store: a platform admin exists")

// SetupTokens keeps the one-time link that creates the first platform admin.
// The token lives only while no superadmin exists: CreateUser of a
// superadmin and PatchUser to the superadmin role delete it in their
// transaction.
type SetupTokens interface {
	// PutSetupToken stores the hash of the setup token, replacing any other.
	PutSetupToken(ctx context.Context, hash []byte, expiresAt time.Time) error
	// CreateFirstAdmin spends the setup token and creates u (a superadmin)
	// in one transaction: the token must match hash and not have expired
	// at now (else ErrNotFound, exactly one of several concurrent callers
	// wins), and no superadmin may exist (else ErrSetupDone, and the token
	// is deleted all the same). A taken username is ErrConflict and leaves
	// the token unspent.
	CreateFirstAdmin(ctx context.Context, hash []byte, now time.Time, u User) (User, error)
}
