package admin

import (
	"context"
	"slices"
	"time"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/store"
)

// MFA statuses of a user, as admins filter them.
const (
	StatusNotEnrolled     = "not_enrolled"     // no factor, and none required
	StatusEnrolled        = "enrolled"         // at least one confirmed factor
	StatusRequiredMissing = "required_missing" // policy or an admin requires MFA, and there is no factor yet
	StatusLocked          = "locked"           // the second factor is locked after failures
)

// Statuses lists the MFA statuses in display order.
var Statuses = []string{StatusNotEnrolled, StatusEnrolled, StatusRequiredMissing, StatusLocked}

// UserRow is a user with its MFA status, for admin lists.
type UserRow struct {
	User      store.User
	MFAStatus string
}

// UserRows lists users of the actor's subtree like Users, with their MFA
// status; when status is not empty only users with that status are kept
// (a page may then hold fewer than f.Limit rows).
func (s *Service) UserRows(ctx context.Context, a access.Actor, f store.UserFilter, status string) ([]UserRow, error) {
	rows, _, err := s.UserPage(ctx, a, f, status)
	return rows, err
}

// UserPage is UserRows that also returns where the next page starts: the
// ID of the last user read (pass it as f.AfterID) when the store gave a
// full page of f.Limit (100 when zero) users, "" when there is no more.
// With a status filter the rows may be fewer than the users read.
func (s *Service) UserPage(ctx context.Context, a access.Actor, f store.UserFilter, status string) (rows []UserRow, after string, err error) {
	if status != "" && !slices.Contains(Statuses, status) {
		return nil, "", ErrInvalid.WithMessage("mfa_status must be one of not_enrolled, enrolled, required_missing, locked.").WithField("mfa_status")
	}
	us, err := s.Users(ctx, a, f)
	if err != nil {
		return nil, "", err
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	if len(us) >= limit {
		after = us[len(us)-1].ID
	}
	chains := map[string][]store.Org{}
	now := s.now()
	out := make([]UserRow, 0, len(us))
	for _, u := range us {
		st, err := s.mfaStatus(ctx, u, chains, now)
		if err != nil {
			return nil, "", err
		}
		if status == "" || st == status {
			out = append(out, UserRow{User: u, MFAStatus: st})
		}
	}
	return out, after, nil
}

func (s *Service) mfaStatus(ctx context.Context, u store.User, chains map[string][]store.Org, now time.Time) (string, error) {
	att, err := s.store.GetAttempts(ctx, u.ID)
	if err != nil {
		return "", err
	}
	if att.LockedUntil != nil && now.Before(*att.LockedUntil) {
		return StatusLocked, nil
	}
	fs, err := s.store.ListFactors(ctx, u.ID)
	if err != nil {
		return "", err
	}
	if slices.ContainsFunc(fs, store.Factor.Confirmed) {
		return StatusEnrolled, nil
	}
	chain, ok := chains[u.OrgID]
	if !ok {
		if chain, err = s.store.OrgChain(ctx, u.OrgID); err != nil {
			return "", err
		}
		chains[u.OrgID] = chain
	}
	if s.signin.PolicyIn(chain, u).Required {
		return StatusRequiredMissing, nil
	}
	return StatusNotEnrolled, nil
}
