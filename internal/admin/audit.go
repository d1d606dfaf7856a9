package admin

import (
	"context"
	"strings"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/store"
)

// AuditLog lists audit events the actor may see: those of its own subtree
// (everything for a superadmin). A filter on an org subtree outside the
// actor's is ErrNotFound.
func (s *Service) AuditLog(ctx context.Context, a access.Actor, f store.AuditFilter) ([]store.AuditEvent, error) {
	if !a.IsAdmin() {
		return nil, ErrForbidden
	}
	scope := a.Org.Path
	if a.User.Role == store.RoleSuperadmin {
		scope = ""
	}
	if f.OrgPath == "" {
		f.OrgPath = scope
	} else if !strings.HasPrefix(f.OrgPath, scope) {
		return nil, ErrNotFound
	}
	return s.store.ListAudit(ctx, f)
}
