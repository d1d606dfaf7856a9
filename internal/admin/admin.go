// Package admin manages the organization tree and its users on behalf of an
// actor: a signed-in admin (API and portal) or the operator at the command
// line (System). Every method checks the actor's scope with package access
// before it reads or changes anything, and writes the audit log.
package admin

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/problem"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// Errors of this package; their codes are part of the public API.
var (
	ErrForbidden   = problem.Define(http.StatusForbidden, "forbidden", "You are not allowed to do that.")
	ErrNotFound    = problem.Define(http.StatusNotFound, "not_found", "Not found.")
	ErrConflict    = problem.Define(http.StatusConflict, "conflict", "That already exists.")
	ErrInvalid     = problem.Define(http.StatusBadRequest, "invalid_request", "The request is not valid.")
	ErrNotEmpty    = problem.Define(http.StatusConflict, "org_not_empty", "An organization with users or child organizations cannot be deleted.")
	ErrLocked      = problem.Define(http.StatusForbidden, "policy_locked", "A parent organization has locked this setting.")
	ErrReauth      = problem.Define(http.StatusForbidden, "reauthentication_required", "Please confirm with a current code first.")
	ErrRootOrg     = problem.Define(http.StatusForbidden, "root_org", "The platform organization cannot be moved or deleted.")
	ErrSelfAction  = problem.Define(http.StatusForbidden, "self_action", "Use your own security settings for your own account.")
	ErrRoleTooHigh = problem.Define(http.StatusForbidden, "role_too_high", "You cannot grant a role above your own.")
)

// Service performs admin actions.
type Service struct {
	store  store.Store
	signin *signin.Service
	audit  *audit.Logger
	log    *slog.Logger
	now    func() time.Time
	dir    Directories // nil: directories cannot be configured
}

// New returns a Service.
func New(st store.Store, sg *signin.Service, al *audit.Logger, log *slog.Logger, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: st, signin: sg, audit: al, log: log, now: now}
}

// System returns the actor of the command line: a superadmin without a user
// record, acting on the whole tree. It is never available over HTTP.
func (s *Service) System(ctx context.Context) (access.Actor, error) {
	root, err := s.store.RootOrg(ctx)
	if err != nil {
		return access.Actor{}, err
	}
	a := Actor(store.User{Role: store.RoleSuperadmin, OrgID: root.ID, Username: "(cli)"}, root)
	a.Via = access.ViaOperator
	return a, nil
}

// Actor returns the actor for user u of org o without saying how it
// authenticated: it may read, but sensitive actions refuse it. Sessions use
// SessionActor.
func Actor(u store.User, o store.Org) access.Actor { return access.Actor{User: u, Org: o} }

// storeErr maps store errors to public ones.
func storeErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, store.ErrConflict):
		return ErrConflict
	case errors.Is(err, store.ErrNotEmpty):
		return ErrNotEmpty
	}
	return err
}

func (s *Service) record(ctx context.Context, a access.Actor, e store.AuditEvent, c signin.Client) {
	e.ActorUserID = a.User.ID
	e.IP, e.UserAgent = c.IP, c.UserAgent
	if e.Outcome == "" {
		e.Outcome = audit.Success
	}
	s.audit.Record(ctx, e)
}

// denied records a refused admin action and returns ErrForbidden.
func (s *Service) denied(ctx context.Context, a access.Actor, event, orgID, targetID string, c signin.Client) error {
	s.record(ctx, a, store.AuditEvent{Event: event, Outcome: audit.Denied, OrgID: orgID, TargetUserID: targetID}, c)
	return ErrForbidden
}
