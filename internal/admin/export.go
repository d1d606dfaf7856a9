package admin

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/store"
)

// EachUserRow calls fn for every user of f (within the actor's subtree,
// like Users) whose MFA status is status (every user when ""), reading
// f.Limit users per store query (100 when 0) and paging on by id, until fn
// returns false or the users run out. It is what an export reads: every
// matching user, however many, never all in memory at once.
func (s *Service) EachUserRow(ctx context.Context, a access.Actor, f store.UserFilter, status string, fn func(UserRow) bool) error {
	if err := CheckStatus(status); err != nil {
		return err
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	chains := map[string][]store.Org{}
	for {
		us, err := s.Users(ctx, a, f)
		if err != nil {
			return err
		}
		now := s.now()
		for _, u := range us {
			st, err := s.mfaStatus(ctx, u, chains, now)
			if err != nil {
				return err
			}
			if (status == "" || st == status) && !fn(UserRow{User: u, MFAStatus: st}) {
				return nil
			}
		}
		if len(us) < f.Limit {
			return nil
		}
		f.AfterID = us[len(us)-1].ID
	}
}

// CheckStatus refuses an MFA status filter that is not one of Statuses
// ("" means any).
func CheckStatus(status string) error {
	if status != "" && !slices.Contains(Statuses, status) {
		return ErrInvalid.WithMessage("mfa_status must be one of not_enrolled, enrolled, required_missing, locked.").WithField("mfa_status")
	}
	return nil
}

// CSVRow guards the cells of an exported row against formula injection: a
// spreadsheet runs a cell that starts with =, +, -, @, a tab or a carriage
// return as a formula, so such a cell is prefixed with a quote (OWASP's
// advice). It changes cells in place and returns them.
func CSVRow(cells ...string) []string {
	for i, c := range cells {
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			cells[i] = "'" + c
		}
	}
	return cells
}

// UserCSVHeader are the columns of a users export, in order.
var UserCSVHeader = []string{"username", "email", "email_confirmed", "org", "role", "mfa_status", "mfa_required", "disabled", "created_at", "id"}

// UserCSVRecord is row as a record of a users export (UserCSVHeader),
// guarded by CSVRow; orgSlug is the slug of the user's org.
func UserCSVRecord(row UserRow, orgSlug string) []string {
	u := row.User
	return CSVRow(u.Username, u.Email, strconv.FormatBool(u.EmailConfirmedAt != nil), orgSlug, string(u.Role),
		row.MFAStatus, strconv.FormatBool(u.MFARequired), strconv.FormatBool(u.Disabled), u.CreatedAt.UTC().Format(time.RFC3339), u.ID)
}
