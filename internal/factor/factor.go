// Package factor says what a second-factor method is, and holds the
// registry that sign-in, policy, the portal and the API iterate.
//
// A method (an authenticator app, a code by email or text message, a backup
// code, later a security key) lives in its own package under
// internal/factor and implements Method: its kind (the name stored in
// store.Factor.Kind and spelled by the API), its traits (how it is added,
// whether a challenge is sent and over which channel, whether NIST calls it
// restricted, whether it resists phishing, what it records in a session's
// amr) and how an answer is normalized and checked. internal/factor/methods
// registers them all in one list.
//
// The sign-in core keeps what is common to every method: the account's
// failure counter, the flows and sessions, sending codes, the audit log.
// Outside the method packages no code compares a method name with a
// literal; it asks the registry.
package factor

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

// Channel is how a method's challenge reaches the user.
type Channel int

const (
	// NotSent: the user holds the secret (an app, printed codes).
	NotSent Channel = iota
	// ByEmail: a code is mailed to the user's confirmed address.
	ByEmail
	// BySMS: a code is texted to a phone number.
	BySMS
)

// Enrollment is how a user adds a factor of a method.
type Enrollment int

const (
	// Issued methods are not added by the user: they come with the first
	// factor (backup codes).
	Issued Enrollment = iota
	// SharedSecret: a secret is shown once (a QR code) and the factor is
	// confirmed with a code computed from it.
	SharedSecret
	// SentCode: a code is sent to an address or number and the factor is
	// confirmed with it.
	SentCode
	// Ceremony: the browser and an authenticator run a WebAuthn ceremony
	// with options the server sends (the method is a Ceremonial); the
	// answer is the authenticator's credential as JSON, not a typed code.
	// The factor is confirmed with the credential the authenticator
	// created, and the second step is answered with an assertion.
	Ceremony
)

// Traits describe a method; they never change at run time.
type Traits struct {
	// Name is what users read ("Authenticator app").
	Name string
	// DefaultLabel names a new factor the user did not name.
	DefaultLabel string
	// AMR is recorded in a session's amr when this method passed its
	// second step ("otp", "email", "sms", "backup_code").
	AMR string
	// RFC8176 is the standard amr value apps receive in ID tokens.
	RFC8176 string
	// Restricted methods are NIST SP 800-63B "restricted authenticators"
	// (SMS): never the only method a policy allows.
	Restricted bool
	// PhishingResistant methods bind the answer to the site's origin.
	PhishingResistant bool
	// Channel is how a challenge is sent (NotSent for none).
	Channel Channel
	// Enrollment is how a factor of the method is added.
	Enrollment Enrollment
	// Recovery methods are offered only beside another factor, and are not
	// a choice in an org's allowed methods.
	Recovery bool
	// CodeLength is the number of digits of a typed code (0: not digits).
	CodeLength int
}

// Scope says which sent code a check may use: the one of a sign-in flow, or
// the one requested for a purpose (self-service, confirmation).
type Scope struct {
	FlowID  string
	Purpose string
	// Until is when the flow ends (zero outside a flow): a code sent for a
	// flow never outlives it.
	Until time.Time
}

// Match is a successful check.
type Match struct {
	// Factor is the factor that matched (nil for methods without factor
	// records, such as backup codes).
	Factor *store.Factor
	// Event, when set, is an audit event the match adds to the check's own
	// (a backup code used), with Detail; Notice, when set, is the security
	// notice the user gets once the sign-in or action commits. A method
	// may return them with a failed check too (a security key whose
	// signature counter went backwards): the core records and sends them
	// with the failure.
	Event, Detail, Notice string
	// AMR are further values the answer proved, recorded in the session's
	// amr beside the method's own ("user": the authenticator verified the
	// user, RFC 8176).
	AMR []string
}

// Env is what a method needs from the sign-in core.
type Env interface {
	Now() time.Time
	Store() store.Store
	Log() *slog.Logger
	// Open returns the plaintext secret of u's factor f; the caller clears
	// it after use.
	Open(u store.User, f store.Factor) ([]byte, error)
	// Seal encrypts plaintext as the secret of u's factor f (bound to both,
	// as Open expects) and names the key that sealed it.
	Seal(u store.User, f store.Factor, plaintext []byte) (sealed []byte, keyID string, err error)
	// CompareSent checks code against the live sent code of scope sc, whose
	// factor must be of kind; a wrong code counts against that code's tries,
	// the right one is consumed atomically. Pending factors match only in
	// the confirmation scope.
	CompareSent(ctx context.Context, u store.User, sc Scope, kind, code string) (Match, bool, error)
	// Hash runs compute, one argon2id computation (a backup code's hash),
	// in a slot of the process's one hash limiter (--hash-concurrency);
	// if ctx ends first it returns ctx's error without running compute.
	Hash(ctx context.Context, compute func()) error
}

// Method is one way to answer the second step.
//
// Check and ConfirmPending run inside the core's counted attempt: the core
// has normalized the answer and reserved an attempt on the account's
// failure counter before calling them, and resets or keeps the counter
// after. They must consume what is single-use by one atomic store update;
// losing that race is no match.
type Method interface {
	Kind() string
	Traits() Traits
	// Normalize returns the canonical form of a typed answer, or false when
	// raw cannot be an answer of this method.
	Normalize(raw string) (string, bool)
	// Usable reports whether u can answer with this method now, given u's
	// factors.
	Usable(ctx context.Context, env Env, u store.User, factors []store.Factor) (bool, error)
	// Check compares a normalized answer with u's confirmed factors of this
	// method.
	Check(ctx context.Context, env Env, u store.User, sc Scope, code string) (Match, bool, error)
	// ConfirmPending checks a normalized answer against u's pending factor
	// f; step is what the confirmed factor records as its last used time
	// step (0 when the method has none).
	ConfirmPending(ctx context.Context, env Env, u store.User, f store.Factor, sc Scope, code string) (step int64, ok bool, err error)
}

// Ceremonial is what a method whose Enrollment is Ceremony adds to Method:
// the options that start a WebAuthn ceremony in the browser, as the JSON
// that navigator.credentials.create or get take ({"publicKey":{…}}). The
// server side of each ceremony is stored and usable once; the answers come
// back through Normalize, then ConfirmPending or Check, inside the core's
// counted attempt like any code.
type Ceremonial interface {
	Method
	// Configured reports whether this server can run the method's
	// ceremonies (it has a relying party: a public URL with a domain name).
	Configured() bool
	// BeginRegistration returns the creation options for u's pending
	// factor f; discoverable asks for a passkey (a resident credential with
	// user verification). The ceremony ends at until.
	BeginRegistration(ctx context.Context, env Env, u store.User, f store.Factor, discoverable bool, until time.Time) (json.RawMessage, error)
	// BeginAssertion returns the request options for u to answer a check
	// in scope sc: the second step of the flow sc.FlowID, or (no flow) a
	// signed-in user's self-service check.
	BeginAssertion(ctx context.Context, env Env, u store.User, sc Scope) (json.RawMessage, error)
	// BeginDiscoverable returns the request options of a sign-in with a
	// passkey alone, for no user yet, bound to binding until until. Its
	// answer is checked by Check in the scope {FlowID: binding, Purpose:
	// store.CeremonyPasskey} for the user Claimant names.
	BeginDiscoverable(ctx context.Context, env Env, binding string, until time.Time) (json.RawMessage, error)
	// Claimant returns the id of the user an answer to a discoverable
	// request claims to be (its user handle); nothing is verified yet.
	Claimant(answer string) (userID string, ok bool)
}

// Describer is implemented by methods whose factors have details worth
// showing their owner beyond label and times (a security key's backup
// flags and model): short names to plain values, nothing secret.
type Describer interface {
	Describe(env Env, u store.User, f store.Factor) (map[string]any, error)
}

// Registry is the ordered list of methods; the order is the order in which
// they are offered. A Registry is read-only and safe for concurrent use.
type Registry struct {
	all    []Method
	byKind map[string]Method
}

// NewRegistry registers ms in that order. It panics on a repeated kind: that
// is a programming error found at start-up.
func NewRegistry(ms ...Method) *Registry {
	r := &Registry{byKind: make(map[string]Method, len(ms))}
	for _, m := range ms {
		if _, dup := r.byKind[m.Kind()]; dup {
			panic("factor: method " + m.Kind() + " registered twice")
		}
		r.all = append(r.all, m)
		r.byKind[m.Kind()] = m
	}
	return r
}

// Lookup returns the method of kind.
func (r *Registry) Lookup(kind string) (Method, bool) {
	m, ok := r.byKind[kind]
	return m, ok
}

// All returns the methods in order; the caller must not modify the slice.
func (r *Registry) All() []Method { return r.all }

// Kinds returns, in order, the kinds of the methods whose traits satisfy
// keep (all when keep is nil).
func (r *Registry) Kinds(keep func(Traits) bool) []string {
	var out []string
	for _, m := range r.all {
		if keep == nil || keep(m.Traits()) {
			out = append(out, m.Kind())
		}
	}
	return out
}

// TraitsOf returns the traits of kind, and false for an unknown kind.
func (r *Registry) TraitsOf(kind string) (Traits, bool) {
	m, ok := r.byKind[kind]
	if !ok {
		return Traits{}, false
	}
	return m.Traits(), true
}

// Selectable reports whether t is a method admins allow or forbid in a
// policy and users add themselves.
func Selectable(t Traits) bool { return !t.Recovery }

// Sent reports whether t's challenge is sent to the user.
func Sent(t Traits) bool { return t.Channel != NotSent }

// HasConfirmed reports whether factors hold a confirmed factor of kind: the
// Usable of every method whose factors are store.Factor records.
func HasConfirmed(factors []store.Factor, kind string) bool {
	for _, f := range factors {
		if f.Kind == kind && f.Confirmed() {
			return true
		}
	}
	return false
}
