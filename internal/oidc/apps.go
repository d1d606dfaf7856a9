package oidc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// An App is one app a user signed in to and that still holds a grant:
// what the security page lists as "apps you signed in to".
type App struct {
	GrantID  string
	Client   string // the client's name
	Scopes   []string
	AuthTime time.Time
	Since    time.Time
}

// Grants are the user's side of what apps hold: listing and revoking them
// needs neither the protocol nor the signing keys.
type Grants struct {
	Store store.Store
	Audit *audit.Logger
	Now   func() time.Time
}

// List returns the user's live grants, newest first. Grants of deleted
// clients are gone with them.
func (p Grants) List(ctx context.Context, userID string) ([]App, error) {
	gs, err := p.Store.ListUserGrants(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]App, 0, len(gs))
	for _, g := range gs {
		cl, err := p.Store.GetClient(ctx, g.ClientID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, App{GrantID: g.ID, Client: cl.Name, Scopes: g.Scopes, AuthTime: g.AuthTime, Since: g.CreatedAt})
	}
	return out, nil
}

// Revoke revokes one of the user's grants: the app's refresh and access
// tokens stop working at once. Another user's grant is ErrRequestGone.
func (p Grants) Revoke(ctx context.Context, userID, grantID string, c signin.Client) error {
	g, err := p.Store.GetGrant(ctx, grantID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && g.UserID != userID) {
		return ErrRequestGone.WithMessage("That app is not in your list.")
	}
	if err != nil {
		return err
	}
	if err := p.Store.RevokeGrant(ctx, g.ID, p.Now().UTC(), "revoked by the user"); err != nil {
		return err
	}
	p.Audit.Record(ctx, store.AuditEvent{ActorUserID: userID, TargetUserID: userID, Event: audit.TokenRevoked,
		Outcome: audit.Success, IP: c.IP, UserAgent: c.UserAgent,
		Detail: fmt.Sprintf("client %s grant %s: revoked by the user", g.ClientID, g.ID)})
	return nil
}
