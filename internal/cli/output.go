package cli

import (
	"encoding/json"
	"flag"
	"io"
	"time"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/store"
)

// jsonFlag adds --json to a command that prints records: with it, the
// command prints one JSON document (an array for lists, an object for one
// record) instead of a table, so scripts need not parse text. The field
// names are those of the JSON API.
func jsonFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("json", false, "print JSON (field names as in the API) instead of text")
}

// printJSON writes v as indented JSON and a newline.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func tsp(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := ts(*t)
	return &s
}

type policyJSON struct {
	MFA                            *string   `json:"mfa"` // off, optional, required, or null to inherit
	Locked                         bool      `json:"locked"`
	LockScope                      string    `json:"lock_scope,omitempty"` // enforced or descendants
	AllowedMethods                 []string  `json:"allowed_methods"`      // null to inherit
	EnrollmentGrace                string    `json:"enrollment_grace,omitempty"`
	OTPCodeTTL                     string    `json:"otp_code_ttl,omitempty"`
	RequireMFAForNewDirectoryUsers bool      `json:"require_mfa_for_new_directory_users"`
	Lock                           *lockJSON `json:"lock,omitempty"`
}

type lockJSON struct {
	Scope       string     `json:"scope"`
	SetByOrgID  string     `json:"set_by_org_id,omitempty"`
	SetByUserID string     `json:"set_by_user_id,omitempty"`
	SetByName   string     `json:"set_by_name,omitempty"`
	SetAt       *string    `json:"set_at,omitempty"`
	Floor       *floorJSON `json:"enforced_floor,omitempty"`
}

type floorJSON struct {
	MFA                            string   `json:"mfa"`
	AllowedMethods                 []string `json:"allowed_methods"`
	EnrollmentGrace                string   `json:"enrollment_grace"`
	RequireMFAForNewDirectoryUsers bool     `json:"require_mfa_for_new_directory_users"`
}

func policyOut(p store.OrgPolicy) policyJSON {
	out := policyJSON{Locked: p.Locked, AllowedMethods: p.AllowedMethods, RequireMFAForNewDirectoryUsers: p.RequireMFAForNewDirectoryUsers}
	if p.MFA != store.MFAInherit {
		m := string(p.MFA)
		out.MFA = &m
	}
	if p.EnrollmentGrace > 0 {
		out.EnrollmentGrace = p.EnrollmentGrace.String()
	}
	if p.OTPCodeTTL > 0 {
		out.OTPCodeTTL = p.OTPCodeTTL.String()
	}
	if p.Locked {
		l := p.Lock
		scope := l.Scope
		if scope == "" {
			scope = store.LockDescendants
		}
		out.LockScope = string(scope)
		out.Lock = &lockJSON{Scope: string(scope), SetByOrgID: l.OrgID, SetByUserID: l.UserID, SetByName: l.ActorName, SetAt: tsp(l.At)}
		if p.Enforced() {
			out.Lock.Floor = &floorJSON{MFA: string(l.Floor.MFA), AllowedMethods: l.Floor.AllowedMethods,
				EnrollmentGrace: l.Floor.EnrollmentGrace.String(), RequireMFAForNewDirectoryUsers: l.Floor.RequireMFAForNewDirectoryUsers}
		}
	}
	return out
}

// policyViewJSON is `org show --json` and `org set-policy --json`.
type policyViewJSON struct {
	Org       orgJSON    `json:"org"`
	Policy    policyJSON `json:"policy"`
	Effective struct {
		MFA                     string   `json:"mfa"`
		AllowedMethods          []string `json:"allowed_methods"`
		EnrollmentGrace         string   `json:"enrollment_grace"`
		OTPCodeTTL              string   `json:"otp_code_ttl"`
		MFALockedBy             *orgRef  `json:"mfa_locked_by"`
		MethodsLockedBy         *orgRef  `json:"methods_locked_by"`
		EnrollmentGraceLockedBy *orgRef  `json:"enrollment_grace_locked_by"`
	} `json:"effective"`
}

func ref(o *store.Org) *orgRef {
	if o == nil {
		return nil
	}
	return &orgRef{ID: o.ID, Slug: o.Slug, Name: o.Name}
}

func policyViewOut(v admin.PolicyView) policyViewJSON {
	out := policyViewJSON{Org: orgOut(v.Org), Policy: policyOut(v.Own)}
	e := v.Effective
	out.Effective.MFA, out.Effective.AllowedMethods = string(e.MFA), e.AllowedMethods
	out.Effective.EnrollmentGrace, out.Effective.OTPCodeTTL = e.Grace.String(), e.OTPCodeTTL.String()
	out.Effective.MFALockedBy, out.Effective.MethodsLockedBy, out.Effective.EnrollmentGraceLockedBy = ref(e.MFALockedBy), ref(e.MethodsLockedBy), ref(e.GraceLockedBy)
	return out
}

type orgJSON struct {
	ID        string     `json:"id"`
	Slug      string     `json:"slug"`
	Name      string     `json:"name"`
	ParentID  string     `json:"parent_id,omitempty"`
	Depth     int        `json:"depth"`
	Policy    policyJSON `json:"policy"`
	CreatedAt string     `json:"created_at"`
}

func orgOut(o store.Org) orgJSON {
	return orgJSON{ID: o.ID, Slug: o.Slug, Name: o.Name, ParentID: o.ParentID, Depth: o.Depth, Policy: policyOut(o.Policy), CreatedAt: ts(o.CreatedAt)}
}

type userJSON struct {
	ID             string  `json:"id"`
	Username       string  `json:"username"`
	Email          string  `json:"email,omitempty"`
	EmailConfirmed bool    `json:"email_confirmed"`
	Role           string  `json:"role"`
	OrgID          string  `json:"org_id"`
	MFARequired    bool    `json:"mfa_required"`
	Disabled       bool    `json:"disabled"`
	CreatedAt      string  `json:"created_at"`
	MFASince       *string `json:"mfa_required_since,omitempty"`
}

func userOut(u store.User) userJSON {
	return userJSON{ID: u.ID, Username: u.Username, Email: u.Email, EmailConfirmed: u.EmailConfirmedAt != nil, Role: string(u.Role),
		OrgID: u.OrgID, MFARequired: u.MFARequired, Disabled: u.Disabled, CreatedAt: ts(u.CreatedAt), MFASince: tsp(u.MFARequiredSince)}
}

type orgRef struct {
	ID   string `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
}

type apiKeyJSON struct {
	ID         string  `json:"id"`
	Org        orgRef  `json:"org"`
	Name       string  `json:"name"`
	Role       string  `json:"role"`
	CreatedBy  string  `json:"created_by,omitempty"`
	CreatedAt  string  `json:"created_at"`
	LastUsedAt *string `json:"last_used_at"`
	ExpiresAt  *string `json:"expires_at"`
	RevokedAt  *string `json:"revoked_at"`
	Token      string  `json:"token,omitempty"` // only when the key is created
}

func apiKeyOut(row admin.APIKeyRow) apiKeyJSON {
	k, o := row.Key, row.Org
	return apiKeyJSON{ID: k.ID, Org: orgRef{ID: o.ID, Slug: o.Slug, Name: o.Name}, Name: k.Name, Role: string(k.Role),
		CreatedBy: k.CreatedBy, CreatedAt: ts(k.CreatedAt), LastUsedAt: tsp(k.LastUsedAt), ExpiresAt: tsp(k.ExpiresAt), RevokedAt: tsp(k.RevokedAt)}
}

type factorJSON struct {
	ID         string  `json:"id"`
	Kind       string  `json:"kind"`
	Label      string  `json:"label"`
	Confirmed  bool    `json:"confirmed"`
	CreatedAt  string  `json:"created_at"`
	LastUsedAt *string `json:"last_used_at"`
}
