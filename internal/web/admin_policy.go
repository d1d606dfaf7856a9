package web

// The policy editor of the admin console: the form that holds a policy,
// the controls a lock disables or narrows, and saving it.

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/policy"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// policyForm is a policy as the forms hold it: strings as typed.
type policyForm struct {
	MFA            string // "inherit", "off", "optional", "required"
	Lock           string // lockNone, or a store.LockScope
	MethodsInherit bool
	Methods        []string
	GraceHours     string // "" inherits
	CodeTTL        string // seconds; "" inherits
	DirectoryMFA   bool
}

// lockNone is the form value of "no lock".
const lockNone = "none"

// choice is one option of a select, or one checkbox or radio of a group.
type choice struct {
	Value, Label, Hint string
	On, Disabled       bool
}

func policyFormOf(p store.OrgPolicy) policyForm {
	f := policyForm{MFA: string(p.MFA), Lock: lockNone, MethodsInherit: p.AllowedMethods == nil,
		Methods: p.AllowedMethods, DirectoryMFA: p.RequireMFAForNewDirectoryUsers}
	if f.MFA == "" {
		f.MFA = "inherit"
	}
	if p.Locked {
		f.Lock = string(store.LockDescendants)
		if p.Enforced() {
			f.Lock = string(store.LockEnforced)
		}
	}
	if p.EnrollmentGrace > 0 {
		f.GraceHours = strconv.FormatFloat(p.EnrollmentGrace.Hours(), 'f', -1, 64)
	}
	if p.OTPCodeTTL > 0 {
		f.CodeTTL = strconv.Itoa(int(p.OTPCodeTTL / time.Second))
	}
	return f
}

// policyFormFrom reads a policy form. A control the page disabled (a
// lock leaves no choice) is not sent by the browser: it keeps its value
// from cur.
func policyFormFrom(v url.Values, cur policyForm, ed policyEditor) policyForm {
	f := cur
	if v.Has("mfa") {
		f.MFA = v.Get("mfa")
	}
	if v.Has("lock") {
		f.Lock = v.Get("lock")
	}
	f.MethodsInherit = v.Get("methods_inherit") == "yes"
	f.Methods = v["method"]
	if v.Has("grace_hours") {
		f.GraceHours = strings.TrimSpace(v.Get("grace_hours"))
	}
	if v.Has("code_ttl") {
		f.CodeTTL = strings.TrimSpace(v.Get("code_ttl"))
	}
	if !ed.DirDisabled {
		f.DirectoryMFA = v.Get("directory_mfa") == "yes"
	}
	return f
}

// toStore turns the form into a policy; the admin service validates the
// values and decides the lock's record.
func (f policyForm) toStore() (store.OrgPolicy, error) {
	p := store.OrgPolicy{RequireMFAForNewDirectoryUsers: f.DirectoryMFA}
	switch f.Lock {
	case lockNone, "":
	case string(store.LockDescendants), string(store.LockEnforced):
		p.Locked, p.Lock.Scope = true, store.LockScope(f.Lock)
	default:
		return p, admin.ErrInvalid.WithMessage("Choose who decides these settings.").WithField("lock_scope")
	}
	if f.MFA != "inherit" {
		p.MFA = store.MFAMode(f.MFA)
	}
	if !f.MethodsInherit {
		p.AllowedMethods = append([]string{}, f.Methods...)
	}
	if f.GraceHours != "" {
		h, err := strconv.ParseFloat(f.GraceHours, 64)
		if err != nil || h < 0 || h > 90*24 {
			return p, admin.ErrInvalid.WithMessage("The grace period is a number of hours between 0 and 2160 (90 days).").WithField("enrollment_grace")
		}
		p.EnrollmentGrace = time.Duration(h * float64(time.Hour)).Round(time.Second)
	}
	if f.CodeTTL != "" {
		s, err := strconv.Atoi(f.CodeTTL)
		if err != nil || s < 30 || s > 600 {
			return p, admin.ErrInvalid.WithMessage("The code lifetime is a number of seconds between 30 and 600.").WithField("otp_code_ttl")
		}
		p.OTPCodeTTL = time.Duration(s) * time.Second
	}
	return p, nil
}

// mfaChoices are the options of the MFA select; modes weaker than floor
// (a rank, -1 for none) are disabled.
func mfaChoices(selected string, floor int) []choice {
	out := []choice{{Value: "inherit", Label: "Inherit from the parent"}}
	for _, m := range []store.MFAMode{store.MFAOff, store.MFAOptional, store.MFARequired} {
		out = append(out, choice{Value: string(m), Label: mfaMode(m).Text(), Disabled: policy.Rank(m) < floor})
	}
	for i := range out {
		out[i].On = out[i].Value == selected
	}
	return out
}

// methodChoices are the method checkboxes; methods outside allowed are
// disabled.
func methodChoices(checked, allowed []string) []choice {
	out := make([]choice, 0, len(policy.AllMethods))
	for _, m := range policy.AllMethods {
		out = append(out, choice{Value: m, Label: methodName(m), On: slices.Contains(checked, m), Disabled: !slices.Contains(allowed, m)})
	}
	return out
}

// lockChoices are the radios that say who decides the lockable settings.
// above is true when the admin acts from above the org (its lock would be
// enforced on the org itself), bound when a lock from above leaves no
// choice; enforcer names who enforces the current lock ("" when nobody).
func lockChoices(selected string, above, bound bool, enforcer string) []choice {
	var out []choice
	if above {
		out = []choice{
			{Value: lockNone, Label: "Let this organization decide", Hint: "Its admins may change these settings."},
			{Value: string(store.LockDescendants), Label: "Let this organization decide, but lock it for the organizations below it",
				Hint: "Its admins may change these settings; nothing below it may set anything weaker."},
			{Value: string(store.LockEnforced), Label: "Enforce on this organization and everything below it",
				Hint: "Its own admins see these settings disabled and can only make them stricter."},
		}
	} else {
		out = []choice{
			{Value: lockNone, Label: "Let the organizations below decide"},
			{Value: string(store.LockDescendants), Label: "Lock it for the organizations below: they cannot set anything weaker"},
		}
		if enforcer != "" {
			out = append(out, choice{Value: string(store.LockEnforced), Label: "Enforced by " + enforcer + " on this organization and everything below it"})
		}
	}
	for i := range out {
		out[i].On = out[i].Value == selected
		out[i].Disabled = bound
	}
	return out
}

// policyEditor is what the locks leave of the policy form for one admin:
// which choices are open, and a note on each locked control naming who
// locked it.
type policyEditor struct {
	MFA         []choice
	MFADisabled bool // a lock leaves no choice
	MFANote     string
	Methods     []choice
	MethodsNote string
	GraceNote   string
	DirDisabled bool
	DirNote     string
	Lock        []choice
	LockBound   bool // a lock from above that this admin cannot release
	Current     *lockInfo
}

// lockInfo describes the org's current lock.
type lockInfo struct {
	Enforced bool
	Enforcer string // the enforcing org's name
	ByName   string // who placed it
	ByOrg    string // the org at whose level it was placed
	At       *time.Time
}

// editorOf works out the editor for view v with form f in it. A disabled
// control shows what applies (the effective setting), not an own value
// that a lock overrides.
func editorOf(v admin.PolicyView, f policyForm) policyEditor {
	lim := v.Limits
	var ed policyEditor
	verb := func(by *store.Org) string {
		if v.Bound && v.Enforcer != nil && by.ID == v.Enforcer.ID {
			return "Enforced by " + by.Name
		}
		return "Locked by " + by.Name
	}
	floor := policy.Rank(lim.MFAFloor)
	ed.MFADisabled = floor >= policy.Rank(store.MFARequired)
	selected := f.MFA
	if ed.MFADisabled {
		selected = string(v.Effective.MFA)
	}
	ed.MFA = mfaChoices(selected, floor)
	if by := lim.MFALockedBy; by != nil {
		ed.MFANote = verb(by)
		if !ed.MFADisabled && floor >= policy.Rank(store.MFAOptional) {
			ed.MFANote += ": at least " + mfaMode(lim.MFAFloor).Text()
		}
		ed.MFANote += "."
	}
	ceiling := policy.AllMethods
	if lim.MethodsCeiling != nil {
		ceiling = lim.MethodsCeiling
	}
	ed.Methods = methodChoices(f.Methods, ceiling)
	if by := lim.MethodsLockedBy; by != nil {
		ed.MethodsNote = verb(by) + ": only the methods it allows can be chosen."
	}
	if by := lim.GraceLockedBy; by != nil {
		ed.GraceNote = verb(by) + ": setup at the next sign-in, no grace period."
		if lim.GraceCeiling > 0 {
			ed.GraceNote = verb(by) + ": at most " + durationText(lim.GraceCeiling) + "."
		}
	}
	if v.Bound && v.Own.Lock.Floor.RequireMFAForNewDirectoryUsers {
		ed.DirDisabled, ed.DirNote = true, "Enforced by "+v.Enforcer.Name+"."
	}
	enforcer := ""
	if v.Enforcer != nil {
		enforcer = v.Enforcer.Name
	}
	ed.LockBound = v.Bound
	ed.Lock = lockChoices(f.Lock, v.CanEnforce(), v.Bound, enforcer)
	if v.Own.Locked {
		ed.Current = &lockInfo{Enforced: v.Own.Enforced(), Enforcer: enforcer, ByName: v.Own.Lock.ActorName, At: v.Own.Lock.At}
		if v.LockOrg != nil {
			ed.Current.ByOrg = v.LockOrg.Name
		}
	}
	return ed
}

func (h *handler) adminSetPolicy(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	if !h.form(w, r) {
		return
	}
	slug := r.PathValue("slug")
	cur, err := h.Admin.Policy(r.Context(), actorOf(p), slug)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	own := policyFormOf(cur.Own)
	f := policyFormFrom(r.PostForm, own, editorOf(cur, own))
	fail := func(err error) {
		pe := h.public(r, err)
		h.renderOrg(w, r, p, pe.HTTPStatus(), nil, &f, newFormErr("policy", pe, h.Now(), "mfa", "allowed_methods", "enrollment_grace", "otp_code_ttl", "locked", "lock_scope"))
	}
	next, err := f.toStore()
	if err != nil {
		fail(err)
		return
	}
	handled, err := h.adminSensitive(w, r, p, "Save a policy that lowers security for "+cur.Org.Name, "/admin/orgs/"+slug,
		func(np signin.Principal) error {
			p = np
			_, err := h.Admin.SetPolicy(r.Context(), actorOf(np), slug, next, h.Client(r))
			return err
		})
	if handled {
		return
	}
	if err != nil {
		fail(err)
		return
	}
	http.Redirect(w, r, "/admin/orgs/"+slug+"?msg=policy", http.StatusSeeOther)
}

// policyRow is one line of the own / inherited / effective table.
type policyRow struct {
	Setting, Own, Inherited, Effective string
	LockedBy                           string
}

func policyRows(v admin.PolicyView) []policyRow {
	own, in, eff := v.Own, v.Inherited, v.Effective
	ownOr := func(set bool, s string) string {
		if !set {
			return "Inherit"
		}
		return s
	}
	lockName := func(o *store.Org) string {
		if o == nil {
			return ""
		}
		return o.Name
	}
	lock := "No"
	switch {
	case own.Enforced() && v.Enforcer != nil:
		lock = "Enforced by " + v.Enforcer.Name + " on this organization and everything below it"
	case own.Locked:
		lock = "Locked for the organizations below"
	}
	return []policyRow{
		{Setting: "Two-step sign-in", Own: mfaMode(own.MFA).Text(), Inherited: mfaMode(in.MFA).Text(), Effective: mfaMode(eff.MFA).Text(),
			LockedBy: lockName(eff.MFALockedBy)},
		{Setting: "Allowed methods", Own: ownOr(own.AllowedMethods != nil, allowedOrNone(own.AllowedMethods)),
			Inherited: allowedOrNone(in.AllowedMethods), Effective: allowedOrNone(eff.AllowedMethods), LockedBy: lockName(eff.MethodsLockedBy)},
		{Setting: "Setup grace period", Own: ownOr(own.EnrollmentGrace > 0, durationText(own.EnrollmentGrace)),
			Inherited: durationText(in.Grace), Effective: durationText(eff.Grace), LockedBy: lockName(eff.GraceLockedBy)},
		{Setting: "Emailed and texted codes last", Own: ownOr(own.OTPCodeTTL > 0, durationText(own.OTPCodeTTL)),
			Inherited: durationText(in.OTPCodeTTL), Effective: durationText(eff.OTPCodeTTL)},
		{Setting: "Required for new directory users", Own: ownOr(own.RequireMFAForNewDirectoryUsers, "Yes"),
			Inherited: yesNo(in.RequireMFAForNewDirectoryUsers), Effective: yesNo(eff.RequireMFAForNewDirectoryUsers)},
		{Setting: "Lock", Own: lock, Inherited: "—", Effective: "—"},
	}
}
