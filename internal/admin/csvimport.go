package admin

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/twofold-id/twofold/internal/store"
)

// CSV imports of users from the console.
const (
	// MaxCSVRows is the most users one CSV import takes.
	MaxCSVRows = 10000
	// MaxCSVBytes is the largest CSV file an import should take; callers
	// bound what they hand ParseUserCSV by it.
	MaxCSVBytes = 4 << 20
)

// csvColumns are the columns a user CSV may have; username is required.
// name is read and not kept: Twofold stores no display name yet.
var csvColumns = []string{"username", "email", "name", "role", "org", "mfa_required"}

// CSVUsers is a parsed user CSV.
type CSVUsers struct {
	Users []ImportUser
	// Lines are the line numbers of Users in the file (1 is the header),
	// for ImportProblem.Index → line.
	Lines []int
	// Problems are rows that could not be read (Index is the line).
	Problems []ImportProblem
	// HasNames says the file had a name column (which is not kept).
	HasNames bool
}

// ParseUserCSV reads a user CSV: a header row naming some of the columns
// username, email, name, role, org, mfa_required (in any order, any case),
// then one user per row. org defaults to defaultOrg, role to member. Rows
// that cannot be read are Problems with their line; a file that is not CSV
// at all, has no username column, an unknown column or too many rows is
// an error. Imported users get no password: they sign in once an admin
// sets one or they accept an invitation.
func ParseUserCSV(r io.Reader, defaultOrg string) (CSVUsers, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return CSVUsers{}, ErrInvalid.WithMessage("The file is empty: it needs a header row, e.g. username,email,role.").WithField("csv")
	}
	if err != nil {
		return CSVUsers{}, ErrInvalid.WithMessage("This is not a CSV file: " + csvErr(err)).WithField("csv")
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !slices.Contains(csvColumns, h) {
			return CSVUsers{}, ErrInvalid.WithMessage(fmt.Sprintf("Unknown column %q in the header; the columns are %s.", h, strings.Join(csvColumns, ", "))).WithField("csv")
		}
		if _, dup := col[h]; dup {
			return CSVUsers{}, ErrInvalid.WithMessage(fmt.Sprintf("Column %q appears twice in the header.", h)).WithField("csv")
		}
		col[h] = i
	}
	if _, ok := col["username"]; !ok {
		return CSVUsers{}, ErrInvalid.WithMessage("The header has no username column.").WithField("csv")
	}
	_, hasNames := col["name"]
	out := CSVUsers{HasNames: hasNames}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && !errors.Is(err, csv.ErrFieldCount) {
				out.Problems = append(out.Problems, ImportProblem{Index: pe.Line, Code: "invalid_request", Field: "csv", Message: csvErr(err)})
				if errors.Is(pe.Err, csv.ErrQuote) || errors.Is(pe.Err, csv.ErrBareQuote) {
					return out, nil // the rest of the file cannot be read reliably
				}
				continue
			}
			return CSVUsers{}, ErrInvalid.WithMessage("The file could not be read: " + csvErr(err)).WithField("csv")
		}
		line, _ := cr.FieldPos(0) // only after a record was read
		if len(out.Users)+len(out.Problems) >= MaxCSVRows {
			return CSVUsers{}, ErrInvalid.WithMessage(fmt.Sprintf("At most %d users per import; split the file.", MaxCSVRows)).WithField("csv")
		}
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		if len(rec) != len(header) {
			out.Problems = append(out.Problems, ImportProblem{Index: line, Code: "invalid_request", Field: "csv",
				Message: fmt.Sprintf("This row has %d fields; the header has %d.", len(rec), len(header))})
			continue
		}
		if strings.Join(rec, "") == "" {
			continue // a blank row
		}
		u := ImportUser{OrgSlug: get("org"), Username: get("username"), Email: get("email"), Role: store.Role(strings.ToLower(get("role")))}
		if u.OrgSlug == "" {
			u.OrgSlug = defaultOrg
		}
		switch strings.ToLower(get("mfa_required")) {
		case "", "no", "false", "0":
		case "yes", "true", "1":
			u.MFARequired = true
		default:
			out.Problems = append(out.Problems, ImportProblem{Index: line, Code: "invalid_request", Field: "mfa_required",
				Message: "mfa_required is yes or no."})
			continue
		}
		out.Users = append(out.Users, u)
		out.Lines = append(out.Lines, line)
	}
	if len(out.Users) == 0 && len(out.Problems) == 0 {
		return CSVUsers{}, ErrInvalid.WithMessage("The file has a header but no users.").WithField("csv")
	}
	return out, nil
}

// csvErr is a parse error without the package prefix.
func csvErr(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("line %d: %v", pe.Line, pe.Err)
	}
	return err.Error()
}
