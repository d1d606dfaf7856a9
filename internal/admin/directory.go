package admin

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/directory"
	"github.com/twofold-id/twofold/internal/problem"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// Directories is what the admin service needs of internal/directory.
type Directories interface {
	Resolve(ctx context.Context, chain []store.Org) (store.Directory, error)
	Find(ctx context.Context, d store.Directory, username string) (directory.Entry, error)
	Seal(orgID string, c directory.Config) (store.Directory, error)
	Forget(orgID string)
}

var _ Directories = (*directory.Service)(nil)

// Errors of directory administration.
var (
	ErrNoDirectory = problem.Define(http.StatusNotFound, "directory_not_configured",
		"No directory is configured for this organization or above it.")
	ErrBindPasswordRequired = problem.Define(http.StatusBadRequest, "invalid_directory",
		"The bind password is required when the directory is first set up.").WithField("bind_password")
)

// UseDirectory turns on directory administration (app wires it).
func (s *Service) UseDirectory(d Directories) { s.dir = d }

// DirectoryView is an org's directory as admins see it: never the bind
// password, only whether one is stored.
type DirectoryView struct {
	Org store.Org
	// Own is false when the org has no directory of its own and uses an
	// ancestor's (InheritedFrom); its settings are then not shown.
	Own           bool
	InheritedFrom store.Org
	Config        directory.Config // BindPassword always empty
	UpdatedAt     time.Time
}

// Directory returns the directory of an org in the actor's subtree: its
// own, or which ancestor's it inherits. None at all is ErrNoDirectory.
func (s *Service) Directory(ctx context.Context, a access.Actor, slug string) (DirectoryView, error) {
	o, err := s.Org(ctx, a, slug)
	if err != nil {
		return DirectoryView{}, err
	}
	return s.directoryView(ctx, o)
}

func (s *Service) directoryView(ctx context.Context, o store.Org) (DirectoryView, error) {
	if s.dir == nil {
		return DirectoryView{}, ErrNoDirectory
	}
	chain, err := s.store.OrgChain(ctx, o.ID)
	if err != nil {
		return DirectoryView{}, storeErr(err)
	}
	d, err := s.dir.Resolve(ctx, chain)
	if errors.Is(err, directory.ErrNoDirectory) {
		return DirectoryView{}, ErrNoDirectory
	}
	if err != nil {
		return DirectoryView{}, err
	}
	if d.OrgID != o.ID {
		for _, anc := range chain {
			if anc.ID == d.OrgID {
				return DirectoryView{Org: o, InheritedFrom: anc}, nil
			}
		}
	}
	return DirectoryView{Org: o, Own: true, Config: directory.FromStore(d), UpdatedAt: d.UpdatedAt}, nil
}

// SetDirectory creates or replaces the own directory of an org in the
// actor's subtree. An empty BindPassword keeps the stored one. It hands
// sign-in for the org's users to a directory, so it is a sensitive action
// (requireStepUp).
func (s *Service) SetDirectory(ctx context.Context, a access.Actor, slug string, cfg directory.Config, c signin.Client) (DirectoryView, error) {
	o, err := s.Org(ctx, a, slug)
	if err != nil {
		return DirectoryView{}, err
	}
	if s.dir == nil {
		return DirectoryView{}, ErrNoDirectory
	}
	if err := s.requireStepUp(ctx, a); err != nil {
		s.record(ctx, a, store.AuditEvent{Event: audit.DirectorySet, OrgID: o.ID, Outcome: audit.Denied, Detail: "step-up required"}, c)
		return DirectoryView{}, err
	}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return DirectoryView{}, err
	}
	old, oerr := s.store.GetDirectory(ctx, o.ID)
	if oerr != nil && !errors.Is(oerr, store.ErrNotFound) {
		return DirectoryView{}, oerr
	}
	if cfg.BindPassword == "" && oerr != nil {
		return DirectoryView{}, ErrBindPasswordRequired
	}
	keep := cfg.BindPassword == ""
	d, err := s.dir.Seal(o.ID, cfg) // with the stored password put back below when kept
	if err != nil {
		return DirectoryView{}, err
	}
	if keep {
		d.BindPassword, d.KeyID = old.BindPassword, old.KeyID
	}
	d.UpdatedAt = s.now().UTC()
	if _, err := s.store.PutDirectory(ctx, d); err != nil {
		return DirectoryView{}, storeErr(err)
	}
	s.dir.Forget(o.ID)
	detail := "url=" + cfg.URL + " bind_dn=" + cfg.BindDN + " base=" + cfg.UserBaseDN
	if !keep {
		detail += " (new bind password)"
	}
	s.record(ctx, a, store.AuditEvent{Event: audit.DirectorySet, OrgID: o.ID, Detail: detail}, c)
	return s.directoryView(ctx, o)
}

// RemoveDirectory removes the own directory of an org in the actor's
// subtree; its directory users can then no longer sign in (unless an
// ancestor's directory applies). It is a sensitive action.
func (s *Service) RemoveDirectory(ctx context.Context, a access.Actor, slug string, c signin.Client) error {
	o, err := s.Org(ctx, a, slug)
	if err != nil {
		return err
	}
	if err := s.requireStepUp(ctx, a); err != nil {
		s.record(ctx, a, store.AuditEvent{Event: audit.DirectoryRemoved, OrgID: o.ID, Outcome: audit.Denied, Detail: "step-up required"}, c)
		return err
	}
	if err := s.store.DeleteDirectory(ctx, o.ID); errors.Is(err, store.ErrNotFound) {
		return ErrNoDirectory
	} else if err != nil {
		return err
	}
	if s.dir != nil {
		s.dir.Forget(o.ID)
	}
	s.record(ctx, a, store.AuditEvent{Event: audit.DirectoryRemoved, OrgID: o.ID}, c)
	return nil
}

// DirectoryTest is what a test search found.
type DirectoryTest struct {
	Found bool
	Entry directory.Entry
}

// TestDirectory binds with the service account of the directory that
// applies to an org in the actor's subtree, searches username, and reports
// what it found, without any password check. An unreachable directory is
// directory.ErrUnavailable.
func (s *Service) TestDirectory(ctx context.Context, a access.Actor, slug, username string, c signin.Client) (DirectoryTest, error) {
	o, err := s.Org(ctx, a, slug)
	if err != nil {
		return DirectoryTest{}, err
	}
	if s.dir == nil {
		return DirectoryTest{}, ErrNoDirectory
	}
	if username == "" || len(username) > 256 {
		return DirectoryTest{}, ErrInvalid.WithField("username")
	}
	chain, err := s.store.OrgChain(ctx, o.ID)
	if err != nil {
		return DirectoryTest{}, storeErr(err)
	}
	d, err := s.dir.Resolve(ctx, chain)
	if errors.Is(err, directory.ErrNoDirectory) {
		return DirectoryTest{}, ErrNoDirectory
	}
	if err != nil {
		return DirectoryTest{}, err
	}
	e, err := s.dir.Find(ctx, d, username)
	res := DirectoryTest{Found: err == nil, Entry: e}
	if errors.Is(err, directory.ErrRejected) {
		err = nil
	}
	outcome, detail := audit.Success, "searched "+username
	if err != nil {
		outcome, detail = audit.Failure, "directory unavailable"
	} else if res.Found {
		detail += ": found " + e.DN
	} else {
		detail += ": nobody found"
	}
	s.record(ctx, a, store.AuditEvent{Event: audit.DirectoryTested, OrgID: o.ID, Outcome: outcome, Detail: detail}, c)
	return res, err
}
