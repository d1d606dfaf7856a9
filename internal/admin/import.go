package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/normalize"
	"github.com/twofold-id/twofold/internal/password"
	"github.com/twofold-id/twofold/internal/problem"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// ImportOptions change how ImportUsers treats problems.
type ImportOptions struct {
	// Partial imports the good entries even when others have problems.
	Partial bool
	// DryRun checks every entry and writes nothing.
	DryRun bool
}

// ErrImportRejected is the answer to an import with bad entries when
// partial imports were not asked for: nothing was written.
var ErrImportRejected = problem.New("import_rejected", "Some users cannot be imported; nothing was written. See the list of problems.")

// ImportUser is a user brought in with credentials it already has, as an
// organization moving to Twofold exports them: a password hash (argon2id or
// bcrypt; replaced by one with the current parameters at the next sign-in)
// and the secrets of its authenticator apps, so nobody has to set up an app
// again.
type ImportUser struct {
	OrgSlug      string
	Username     string
	Email        string     // optional; imported unconfirmed, no mail is sent
	Role         store.Role // default member
	MFARequired  bool
	PasswordHash string // empty: the user cannot sign in until one is set
	TOTP         []ImportTOTP
}

// ImportTOTP is one authenticator app of an imported user.
type ImportTOTP struct {
	Secret string // base32, 128 to 512 bits
	Label  string
}

// An ImportProblem is why one entry (Index, from 0) cannot be imported.
type ImportProblem struct {
	Index   int
	Code    string
	Field   string
	Message string
}

// ImportResult says what an import did.
type ImportResult struct {
	Imported []store.User
	Problems []ImportProblem
}

// ImportUsers creates users with their credentials, in orgs of the actor's
// subtree and with roles no higher than the actor's. It is a sensitive
// action (it sets passwords and second factors): it needs a recent second
// factor like the others (requireStepUp). It only ever creates users: a
// username already taken is a problem, never a way to add a factor to an
// existing account.
//
// Every entry is checked first. With problems and o.Partial false, nothing
// is written and the error is ErrImportRejected (the result lists them);
// with o.Partial the good entries are imported. The users are written in
// one transaction, each with an audit event; callers bound the size of a
// call (the API takes 1000 users at most, the command line sends batches).
func (s *Service) ImportUsers(ctx context.Context, a access.Actor, in []ImportUser, o ImportOptions, c signin.Client) (ImportResult, error) {
	if !a.IsAdmin() {
		return ImportResult{}, ErrForbidden
	}
	if len(in) == 0 {
		return ImportResult{}, ErrInvalid.WithMessage("An import holds at least one user.").WithField("users")
	}
	if err := s.requireStepUp(ctx, a); err != nil {
		return ImportResult{}, err
	}
	var (
		res    ImportResult
		batch  []store.ImportedUser
		events []store.AuditEvent
		orgs   = map[string]store.Org{}
		seen   = map[string]bool{}
		now    = s.now().UTC()
	)
	for i, n := range in {
		u, err := s.importEntry(ctx, a, n, orgs, seen)
		if err != nil {
			p := problem.As(err)
			if p == nil {
				return ImportResult{}, err
			}
			res.Problems = append(res.Problems, ImportProblem{Index: i, Code: p.Code, Field: p.Field, Message: p.Message})
			continue
		}
		u.User.CreatedAt, u.User.UpdatedAt = now, now
		batch = append(batch, u)
		kind := "none"
		if u.User.PasswordHash != "" {
			kind, _, _ = strings.Cut(strings.TrimPrefix(u.User.PasswordHash, "$"), "$")
		}
		events = append(events, store.AuditEvent{At: now, ActorUserID: a.User.ID, TargetUserID: u.User.ID, OrgID: u.User.OrgID,
			IP: c.IP, UserAgent: c.UserAgent, Event: audit.UserImported, Outcome: audit.Success,
			Detail: fmt.Sprintf("role=%s password_hash=%s authenticator_apps=%d", u.User.Role, kind, len(u.Factors))})
	}
	if len(res.Problems) > 0 && !o.Partial {
		return res, ErrImportRejected
	}
	if len(batch) == 0 || o.DryRun {
		return res, nil
	}
	if err := s.store.ImportUsers(ctx, batch, events); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return ImportResult{}, ErrConflict.WithMessage("A user of this import was created meanwhile; nothing was written.")
		}
		return ImportResult{}, storeErr(err)
	}
	for _, e := range events {
		s.audit.Prepare(ctx, e) // the log line; the store has the event
	}
	for _, u := range batch {
		res.Imported = append(res.Imported, u.User)
	}
	return res, nil
}

// importEntry checks one entry and builds what to store. orgs caches the
// orgs by slug; seen holds the (org, username) pairs of earlier entries.
func (s *Service) importEntry(ctx context.Context, a access.Actor, n ImportUser, orgs map[string]store.Org, seen map[string]bool) (store.ImportedUser, error) {
	org, ok := orgs[n.OrgSlug]
	if !ok {
		var err error
		if org, err = s.Org(ctx, a, n.OrgSlug); err != nil {
			if p := problem.As(err); p != nil {
				return store.ImportedUser{}, p.WithField("org")
			}
			return store.ImportedUser{}, err
		}
		orgs[n.OrgSlug] = org
	}
	if n.Role == "" {
		n.Role = store.RoleMember
	}
	if !n.Role.Valid() {
		return store.ImportedUser{}, ErrInvalid.WithMessage("role must be member, admin or superadmin.").WithField("role")
	}
	if !a.CanGrant(n.Role) {
		return store.ImportedUser{}, ErrRoleTooHigh.WithField("role")
	}
	norm, err := normalize.Username(n.Username)
	if err != nil {
		return store.ImportedUser{}, ErrInvalid.WithMessage("A username is 1 to 128 characters without spaces or control characters.").WithField("username")
	}
	var email string
	if n.Email != "" {
		if email, err = normalize.Email(n.Email); err != nil {
			return store.ImportedUser{}, ErrInvalid.WithMessage("That is not a valid email address.").WithField("email")
		}
	}
	if n.PasswordHash != "" {
		if err := password.CheckHash(n.PasswordHash); err != nil {
			return store.ImportedUser{}, ErrInvalid.WithMessage("password_hash must be an argon2id PHC string or a bcrypt hash of cost 14 or less.").WithField("password_hash")
		}
	}
	key := org.ID + "/" + norm
	if seen[key] {
		return store.ImportedUser{}, ErrConflict.WithMessage("The same username appears twice in " + org.Slug + ".").WithField("username")
	}
	if _, err := s.store.GetUserByName(ctx, org.ID, norm); err == nil {
		return store.ImportedUser{}, ErrConflict.WithMessage("A user with that username already exists in " + org.Slug + ".").WithField("username")
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.ImportedUser{}, err
	}
	u := store.User{ID: store.NewID(), OrgID: org.ID, Username: n.Username, UsernameNorm: norm, Email: email, Role: n.Role,
		PasswordHash: n.PasswordHash, MFARequired: n.MFARequired}
	iu := store.ImportedUser{User: u}
	for _, t := range n.TOTP {
		f, err := s.signin.ImportedTOTP(u.ID, t.Secret, t.Label)
		if err != nil {
			if p := problem.As(err); p != nil {
				return store.ImportedUser{}, p.WithField("totp." + p.Field)
			}
			return store.ImportedUser{}, err
		}
		iu.Factors = append(iu.Factors, f)
	}
	seen[key] = true
	return iu, nil
}
