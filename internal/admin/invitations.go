package admin

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/normalize"
	"github.com/twofold-id/twofold/internal/problem"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// Errors of invitations; their codes are part of the public API.
var (
	ErrInvitationPending = problem.Define(http.StatusConflict, "invitation_pending",
		"An invitation to that address is already waiting. Resend it instead.")
	ErrInvitationsRejected = problem.Define(http.StatusBadRequest, "invitations_rejected",
		"Some lines cannot be invited; nobody was invited. See the list of errors.")
)

// MaxInvitations is the most lines one CSV of invitations takes.
const MaxInvitations = 1000

// NewInvitation is an invitation an admin asks for.
type NewInvitation struct {
	OrgSlug string
	Email   string
	Role    store.Role // member when empty
	Name    string
}

// Invite sends an invitation to open an account in an org of the actor's
// subtree, with a role no higher than the actor's (granting admin rights
// takes a recent second factor, as for CreateUser). An address that already
// has an account in the org is ErrConflict; one with an open, unexpired
// invitation is ErrInvitationPending.
func (s *Service) Invite(ctx context.Context, a access.Actor, n NewInvitation, c signin.Client) (store.Invitation, error) {
	org, inv, err := s.checkInvitation(ctx, a, n)
	if err != nil {
		return store.Invitation{}, err
	}
	if inv.Role != store.RoleMember {
		if err := s.requireStepUp(ctx, a); err != nil {
			return store.Invitation{}, err
		}
	}
	if err := s.invitable(ctx, org, inv.Email, nil); err != nil {
		return store.Invitation{}, err
	}
	return s.signin.SendInvitation(ctx, a.User.ID, inviterName(a), inv, c)
}

// checkInvitation validates n for the actor and returns the org and the
// record to store.
func (s *Service) checkInvitation(ctx context.Context, a access.Actor, n NewInvitation) (store.Org, store.Invitation, error) {
	org, err := s.Org(ctx, a, n.OrgSlug)
	if err != nil {
		return store.Org{}, store.Invitation{}, err
	}
	if n.Role == "" {
		n.Role = store.RoleMember
	}
	if !n.Role.Valid() {
		return store.Org{}, store.Invitation{}, ErrInvalid.WithMessage("role must be member, admin or superadmin.").WithField("role")
	}
	if !a.CanGrant(n.Role) {
		return store.Org{}, store.Invitation{}, ErrRoleTooHigh
	}
	email, err := normalize.Email(n.Email)
	if err != nil {
		return store.Org{}, store.Invitation{}, ErrInvalid.WithMessage("That is not a valid email address.").WithField("email")
	}
	name := strings.TrimSpace(n.Name)
	if len(name) > 200 {
		return store.Org{}, store.Invitation{}, ErrInvalid.WithMessage("A name is at most 200 characters.").WithField("name")
	}
	return org, store.Invitation{OrgID: org.ID, Email: email, Name: name, Role: n.Role}, nil
}

// invitable reports why email cannot be invited to org, or nil. seen holds
// the addresses of a CSV checked so far (nil for one invitation).
func (s *Service) invitable(ctx context.Context, org store.Org, email string, seen map[string]bool) error {
	key := strings.ToLower(email)
	if seen != nil {
		if seen[key] {
			return ErrInvalid.WithMessage("This address is on an earlier line too.").WithField("email")
		}
		seen[key] = true
	}
	us, err := s.store.UsersByEmail(ctx, org.ID, email)
	if err != nil {
		return err
	}
	if len(us) > 0 {
		return ErrConflict.WithMessage("Someone in " + org.Name + " has this address already.").WithField("email")
	}
	open, err := s.store.ListInvitations(ctx, org.ID)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	for _, i := range open {
		if strings.EqualFold(i.Email, email) && i.Pending(now) {
			return ErrInvitationPending.WithField("email")
		}
	}
	return nil
}

func inviterName(a access.Actor) string {
	if a.Via == access.ViaOperator {
		return ""
	}
	return a.User.Username
}

// A LineError is what is wrong with one line of a CSV of invitations.
type LineError struct {
	Line    int // 1-based, counting the header
	Code    string
	Message string
}

// InviteResult is what InviteCSV did.
type InviteResult struct {
	Invited []store.Invitation // empty on a dry run or when any line is bad
	Checked int                // lines that would be (or were) invited
	Errors  []LineError
}

// InviteCSV invites every line of a CSV (columns email, name, role; a
// first line "email,…" is a header; name and role may be empty) to the org.
// Every line is checked first; when any is bad nobody is invited and the
// result lists each bad line with ErrInvitationsRejected. With dryRun
// nothing is sent either way. Mails that fail after the checks are listed
// as line errors with code delivery_failed; those invitations stay stored
// and can be resent.
func (s *Service) InviteCSV(ctx context.Context, a access.Actor, orgSlug string, r io.Reader, dryRun bool, c signin.Client) (InviteResult, error) {
	org, err := s.Org(ctx, a, orgSlug)
	if err != nil {
		return InviteResult{}, err
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var res InviteResult
	type line struct {
		no  int
		inv store.Invitation
	}
	var todo []line
	seen := map[string]bool{}
	stepUp := false
	for no := 1; ; no++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			res.Errors = append(res.Errors, LineError{Line: no, Code: ErrInvalid.Code, Message: "This line is not valid CSV."})
			break
		}
		if no == 1 && len(rec) > 0 && strings.EqualFold(strings.TrimSpace(rec[0]), "email") {
			continue
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(todo)+len(res.Errors) >= MaxInvitations {
			res.Errors = append(res.Errors, LineError{Line: no, Code: ErrInvalid.Code,
				Message: fmt.Sprintf("One CSV holds at most %d invitations; send the rest in another.", MaxInvitations)})
			break
		}
		if len(rec) > 3 {
			res.Errors = append(res.Errors, LineError{Line: no, Code: ErrInvalid.Code, Message: "A line has at most three columns: email, name, role."})
			continue
		}
		rec = append(rec, "", "", "")
		n := NewInvitation{OrgSlug: org.Slug, Email: strings.TrimSpace(rec[0]), Name: rec[1], Role: store.Role(strings.TrimSpace(rec[2]))}
		_, inv, err := s.checkInvitation(ctx, a, n)
		if err == nil {
			err = s.invitable(ctx, org, inv.Email, seen)
		}
		if err != nil {
			p := problem.As(err)
			if p == nil {
				return InviteResult{}, err
			}
			res.Errors = append(res.Errors, LineError{Line: no, Code: p.Code, Message: p.Message})
			continue
		}
		stepUp = stepUp || inv.Role != store.RoleMember
		todo = append(todo, line{no, inv})
	}
	if len(todo) == 0 && len(res.Errors) == 0 {
		return res, ErrInvalid.WithMessage("The CSV holds no invitations.").WithField("csv")
	}
	if len(res.Errors) > 0 {
		return res, ErrInvitationsRejected
	}
	res.Checked = len(todo)
	if dryRun {
		return res, nil
	}
	if stepUp {
		if err := s.requireStepUp(ctx, a); err != nil {
			return InviteResult{}, err
		}
	}
	for _, l := range todo {
		inv, err := s.signin.SendInvitation(ctx, a.User.ID, inviterName(a), l.inv, c)
		if err != nil {
			p := problem.As(err)
			if p == nil || inv.ID == "" {
				return res, err
			}
			res.Errors = append(res.Errors, LineError{Line: l.no, Code: p.Code, Message: p.Message})
		}
		res.Invited = append(res.Invited, inv)
	}
	return res, nil
}

// Invitations lists the open invitations of an org the actor may manage,
// newest first (expired ones too, so they can be resent).
func (s *Service) Invitations(ctx context.Context, a access.Actor, orgSlug string) ([]store.Invitation, error) {
	org, err := s.Org(ctx, a, orgSlug)
	if err != nil {
		return nil, err
	}
	return s.store.ListInvitations(ctx, org.ID)
}

// invitation returns an open invitation the actor may act on; anything
// else, including one for a role above the actor's, is ErrNotFound.
func (s *Service) invitation(ctx context.Context, a access.Actor, id string) (store.Invitation, error) {
	if !a.IsAdmin() {
		return store.Invitation{}, ErrForbidden
	}
	inv, err := s.store.GetInvitation(ctx, id)
	if err != nil {
		return store.Invitation{}, storeErr(err)
	}
	org, err := s.store.GetOrg(ctx, inv.OrgID)
	if err != nil {
		return store.Invitation{}, storeErr(err)
	}
	if !a.CanManageOrg(org) || !a.CanGrant(inv.Role) || inv.AcceptedAt != nil || inv.RevokedAt != nil {
		return store.Invitation{}, ErrNotFound
	}
	return inv, nil
}

// ResendInvitation mails an open invitation again with a new link (the old
// one stops working) and a new expiry.
func (s *Service) ResendInvitation(ctx context.Context, a access.Actor, id string, c signin.Client) (store.Invitation, error) {
	inv, err := s.invitation(ctx, a, id)
	if err != nil {
		return store.Invitation{}, err
	}
	inv, err = s.signin.SendInvitation(ctx, a.User.ID, inviterName(a), inv, c)
	if errors.Is(err, store.ErrNotFound) {
		return store.Invitation{}, ErrNotFound // accepted or revoked meanwhile
	}
	return inv, err
}

// RevokeInvitation withdraws an open invitation: its link stops working.
func (s *Service) RevokeInvitation(ctx context.Context, a access.Actor, id string, c signin.Client) error {
	inv, err := s.invitation(ctx, a, id)
	if err != nil {
		return err
	}
	if err := s.store.RevokeInvitation(ctx, inv.ID, s.now().UTC()); err != nil {
		return storeErr(err)
	}
	s.record(ctx, a, store.AuditEvent{Event: audit.InvitationRevoked, OrgID: inv.OrgID, Detail: "invitation " + inv.ID}, c)
	return nil
}
