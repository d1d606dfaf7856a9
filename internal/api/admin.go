package api

import (
	"bufio"
	"cmp"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/policy"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

func (h *Handler) adminRoutes() {
	h.handle("GET /api/v1/orgs", h.admined(h.listOrgs))
	h.handle("POST /api/v1/orgs", h.admined(h.createOrg))
	h.handle("GET /api/v1/orgs/{slug}", h.admined(h.getOrg))
	h.handle("PATCH /api/v1/orgs/{slug}", h.admined(h.patchOrg))
	h.handle("DELETE /api/v1/orgs/{slug}", h.admined(h.deleteOrg))
	h.handle("GET /api/v1/orgs/{slug}/policy", h.admined(h.getPolicy))
	h.handle("GET /api/v1/orgs/{slug}/dashboard", h.admined(h.getDashboard))
	h.handle("PUT /api/v1/orgs/{slug}/policy", h.admined(h.putPolicy))
	h.handle("GET /api/v1/users", h.admined(h.listUsers))
	h.handle("POST /api/v1/users", h.admined(h.createUser))
	h.handle("GET /api/v1/users/{id}", h.admined(h.getUser))
	h.handle("PATCH /api/v1/users/{id}", h.admined(h.patchUser))
	h.handle("DELETE /api/v1/users/{id}", h.admined(h.deleteUser))
	h.handle("PUT /api/v1/users/{id}/mfa-required", h.admined(h.setMFARequired))
	h.handle("POST /api/v1/users/{id}/mfa/reset", h.admined(h.resetMFA))
	h.handle("POST /api/v1/users/{id}/unlock", h.admined(h.unlock))
	h.handle("GET /api/v1/audit", h.admined(h.audit))
}

type policyJSON struct {
	MFA    *string `json:"mfa"` // off, optional, required, or null to inherit
	Locked bool    `json:"locked"`
	// LockScope says whom the lock binds: "enforced" (this org's own
	// admins too) or "descendants"; on input "" picks by the caller's
	// level (enforced when the caller is above the org).
	LockScope                      string   `json:"lock_scope,omitempty"`
	AllowedMethods                 []string `json:"allowed_methods"` // null to inherit
	EnrollmentGrace                string   `json:"enrollment_grace,omitempty"`
	OTPCodeTTL                     string   `json:"otp_code_ttl,omitempty"`
	RequireMFAForNewDirectoryUsers bool     `json:"require_mfa_for_new_directory_users"`
	// Lock is the record of who placed the lock; read-only (ignored on
	// input, so an answer can be sent back as it is).
	Lock *lockJSON `json:"lock,omitempty"`
}

// lockJSON is who placed an org's lock, and what an enforced lock fixes.
type lockJSON struct {
	Scope       string     `json:"scope"`
	SetByOrgID  string     `json:"set_by_org_id,omitempty"`
	SetByOrg    *orgRef    `json:"set_by_org,omitempty"`
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

// policyOut is p as the API shows it; lockOrg, when known, names the org
// at whose level p's lock was placed.
func policyOut(p store.OrgPolicy, lockOrg *store.Org) policyJSON {
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
		out.Lock = &lockJSON{Scope: string(scope), SetByOrgID: l.OrgID, SetByOrg: ref(lockOrg), SetByUserID: l.UserID,
			SetByName: l.ActorName, SetAt: tsp(l.At)}
		if p.Enforced() {
			out.Lock.Floor = &floorJSON{MFA: string(l.Floor.MFA), AllowedMethods: l.Floor.AllowedMethods,
				EnrollmentGrace: l.Floor.EnrollmentGrace.String(), RequireMFAForNewDirectoryUsers: l.Floor.RequireMFAForNewDirectoryUsers}
		}
	}
	return out
}

func (pj policyJSON) toStore() (store.OrgPolicy, error) {
	p := store.OrgPolicy{Locked: pj.Locked, AllowedMethods: pj.AllowedMethods, RequireMFAForNewDirectoryUsers: pj.RequireMFAForNewDirectoryUsers}
	if pj.MFA != nil {
		p.MFA = store.MFAMode(*pj.MFA)
	}
	if pj.Locked {
		p.Lock.Scope = store.LockScope(pj.LockScope)
	}
	for _, d := range []struct {
		name string
		in   string
		out  *time.Duration
	}{{"enrollment_grace", pj.EnrollmentGrace, &p.EnrollmentGrace}, {"otp_code_ttl", pj.OTPCodeTTL, &p.OTPCodeTTL}} {
		if d.in == "" {
			continue
		}
		v, err := time.ParseDuration(d.in)
		if err != nil {
			return p, errType.WithMessage(d.name + ` must be a duration such as "72h" or "90s".`).WithField(d.name)
		}
		*d.out = v
	}
	return p, nil
}

type effectiveJSON struct {
	MFA             string   `json:"mfa"`
	AllowedMethods  []string `json:"allowed_methods"`
	EnrollmentGrace string   `json:"enrollment_grace"`
	OTPCodeTTL      string   `json:"otp_code_ttl"`
	MFALockedBy     *orgRef  `json:"mfa_locked_by"`
	MethodsLockedBy *orgRef  `json:"methods_locked_by"`
	// What the locks fix: the weakest mode, the widest method list, the
	// longest grace period (null when no lock binds).
	MFAFloor                *string  `json:"mfa_floor"`
	MethodsCeiling          []string `json:"methods_ceiling"`
	EnrollmentGraceCeiling  *string  `json:"enrollment_grace_ceiling"`
	EnrollmentGraceLockedBy *orgRef  `json:"enrollment_grace_locked_by"`
}

func ref(o *store.Org) *orgRef {
	if o == nil {
		return nil
	}
	return &orgRef{ID: o.ID, Slug: o.Slug, Name: o.Name}
}

func effectiveOut(e policy.Effective) effectiveJSON {
	out := effectiveJSON{MFA: string(e.MFA), AllowedMethods: e.AllowedMethods, EnrollmentGrace: e.Grace.String(),
		OTPCodeTTL: e.OTPCodeTTL.String(), MFALockedBy: ref(e.MFALockedBy), MethodsLockedBy: ref(e.MethodsLockedBy),
		MethodsCeiling: e.MethodsCeiling, EnrollmentGraceLockedBy: ref(e.GraceLockedBy)}
	if e.MFAFloor != "" {
		f := string(e.MFAFloor)
		out.MFAFloor = &f
	}
	if e.GraceLockedBy != nil {
		g := e.GraceCeiling.String()
		out.EnrollmentGraceCeiling = &g
	}
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
	return orgJSON{ID: o.ID, Slug: o.Slug, Name: o.Name, ParentID: o.ParentID, Depth: o.Depth, Policy: policyOut(o.Policy, nil), CreatedAt: ts(o.CreatedAt)}
}

func (h *Handler) listOrgs(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	orgs, err := h.admin.Orgs(r.Context(), a)
	if err != nil {
		return err
	}
	out := make([]orgJSON, len(orgs))
	for i, o := range orgs {
		out[i] = orgOut(o)
	}
	writeJSON(w, http.StatusOK, map[string]any{"orgs": out})
	return nil
}

func (h *Handler) createOrg(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	var req struct {
		Slug   string      `json:"slug"`
		Name   string      `json:"name"`
		Parent string      `json:"parent"`
		Policy *policyJSON `json:"policy"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := require([2]string{"slug", req.Slug}, [2]string{"name", req.Name}); err != nil {
		return err
	}
	var pol store.OrgPolicy
	if req.Policy != nil {
		var err error
		if pol, err = req.Policy.toStore(); err != nil {
			return err
		}
	}
	o, err := h.admin.CreateOrg(r.Context(), a, admin.NewOrg{Slug: req.Slug, Name: req.Name, ParentSlug: req.Parent, Policy: pol}, h.clients(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, orgOut(o))
	return nil
}

func (h *Handler) getOrg(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	o, err := h.admin.Org(r.Context(), a, r.PathValue("slug"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, orgOut(o))
	return nil
}

func (h *Handler) patchOrg(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	var req struct {
		Name   *string `json:"name"`
		Parent *string `json:"parent"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	slug := r.PathValue("slug")
	c := h.clients(r)
	if req.Parent != nil {
		if _, err := h.admin.MoveOrg(r.Context(), a, slug, *req.Parent, c); err != nil {
			return err
		}
	}
	if req.Name != nil {
		if _, err := h.admin.RenameOrg(r.Context(), a, slug, *req.Name, c); err != nil {
			return err
		}
	}
	return h.getOrg(w, r, a)
}

func (h *Handler) deleteOrg(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	if err := h.admin.DeleteOrg(r.Context(), a, r.PathValue("slug"), h.clients(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func writePolicy(w http.ResponseWriter, v admin.PolicyView) {
	writeJSON(w, http.StatusOK, map[string]any{
		"org":         orgRef{ID: v.Org.ID, Slug: v.Org.Slug, Name: v.Org.Name},
		"own":         policyOut(v.Own, v.LockOrg),
		"inherited":   effectiveOut(v.Inherited),
		"effective":   effectiveOut(v.Effective),
		"enforced_by": ref(v.Enforcer),
		"bound":       v.Bound,
		"can_enforce": v.CanEnforce(),
	})
}

func (h *Handler) getPolicy(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	v, err := h.admin.Policy(r.Context(), a, r.PathValue("slug"))
	if err != nil {
		return err
	}
	writePolicy(w, v)
	return nil
}

func (h *Handler) putPolicy(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	var req policyJSON
	if err := decode(w, r, &req); err != nil {
		return err
	}
	pol, err := req.toStore()
	if err != nil {
		return err
	}
	v, err := h.admin.SetPolicy(r.Context(), a, r.PathValue("slug"), pol, h.clients(r))
	if err != nil {
		return err
	}
	writePolicy(w, v)
	return nil
}

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	q := r.URL.Query()
	f := store.UserFilter{Role: store.Role(q.Get("role")), Query: q.Get("q"), Prefix: q.Get("prefix"), AfterID: q.Get("after"), Limit: 100}
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n > 0 && n <= 1000 {
		f.Limit = n
	}
	if c := q.Get("cursor"); c != "" {
		after, err := decodeCursor(cursorUsers, c)
		if err != nil {
			return err
		}
		f.AfterID = after
	}
	if slug := q.Get("org"); slug != "" {
		o, err := h.admin.Org(r.Context(), a, slug)
		if err != nil {
			return err
		}
		f.OrgPath = o.Path
		if q.Get("subtree") == "false" {
			f.OrgID = o.ID
		}
	}
	rows, after, err := h.admin.UserPage(r.Context(), a, f, q.Get("mfa_status"))
	if err != nil {
		return err
	}
	out := make([]userJSON, len(rows))
	for i, row := range rows {
		out[i] = userOut(row.User)
		out[i].MFAStatus = row.MFAStatus
	}
	res := map[string]any{"users": out}
	if after != "" {
		res["next_cursor"] = encodeCursor(cursorUsers, after)
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	var req struct {
		Org         string `json:"org"`
		Username    string `json:"username"`
		Email       string `json:"email"`
		Role        string `json:"role"`
		Password    string `json:"password"`
		MFARequired bool   `json:"mfa_required"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := require([2]string{"org", req.Org}, [2]string{"username", req.Username}); err != nil {
		return err
	}
	u, err := h.admin.CreateUser(r.Context(), a, admin.NewUser{OrgSlug: req.Org, Username: req.Username,
		Email: req.Email, Role: store.Role(req.Role), Password: req.Password, MFARequired: req.MFARequired}, h.clients(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, userOut(u))
	return nil
}

func (h *Handler) getUser(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	u, _, err := h.admin.User(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	ov, err := h.admin.Factors(r.Context(), a, u.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": userOut(u), "mfa": overviewOut(ov)})
	return nil
}

func (h *Handler) patchUser(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	var req struct {
		Email       *string `json:"email"`
		Role        *string `json:"role"`
		Disabled    *bool   `json:"disabled"`
		MFARequired *bool   `json:"mfa_required"`
		Password    *string `json:"password"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	ch := admin.Change{Email: req.Email, Disabled: req.Disabled, MFARequired: req.MFARequired}
	if req.Role != nil {
		role := store.Role(*req.Role)
		ch.Role = &role
	}
	// Role changes, un-requiring MFA and setting a password weaken or
	// hand over access: the admin service asks for a fresh second factor.
	// The password is checked first, so that a bad one changes nothing.
	c := h.clients(r)
	if req.Password != nil {
		if err := signin.CheckPassword(*req.Password); err != nil {
			return err
		}
		if err := h.admin.CanSetPassword(r.Context(), a, r.PathValue("id")); err != nil {
			return err
		}
	}
	if _, err := h.admin.UpdateUser(r.Context(), a, r.PathValue("id"), ch, c); err != nil {
		return err
	}
	if req.Password != nil {
		if err := h.admin.SetPassword(r.Context(), a, r.PathValue("id"), *req.Password, c); err != nil {
			return err
		}
	}
	return h.getUser(w, r, a)
}

func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	if err := h.admin.DeleteUser(r.Context(), a, r.PathValue("id"), h.clients(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) setMFARequired(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	var req struct {
		Required *bool `json:"required"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Required == nil {
		return errMissing.WithMessage(`Field "required" is required.`).WithField("required")
	}
	if _, err := h.admin.UpdateUser(r.Context(), a, r.PathValue("id"), admin.Change{MFARequired: req.Required}, h.clients(r)); err != nil {
		return err
	}
	return h.getUser(w, r, a)
}

func (h *Handler) resetMFA(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	if err := h.admin.ResetMFA(r.Context(), a, r.PathValue("id"), h.clients(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) unlock(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	if err := h.admin.Unlock(r.Context(), a, r.PathValue("id"), h.clients(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type auditJSON struct {
	ID           int64  `json:"id"`
	At           string `json:"at"`
	Event        string `json:"event"`
	Outcome      string `json:"outcome"`
	ActorUserID  string `json:"actor_user_id,omitempty"`
	TargetUserID string `json:"target_user_id,omitempty"`
	OrgID        string `json:"org_id,omitempty"`
	IP           string `json:"ip,omitempty"`
	UserAgent    string `json:"user_agent,omitempty"`
	Detail       string `json:"detail,omitempty"`
	RequestID    string `json:"request_id,omitempty"`
}

// audit lists audit events of the admin's subtree; ?format=jsonl exports
// them as JSON Lines.
func (h *Handler) audit(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	q := r.URL.Query()
	f := store.AuditFilter{UserID: q.Get("user"), Event: q.Get("event")}
	if !a.IsAdmin() {
		return admin.ErrForbidden
	}
	if slug := q.Get("org"); slug != "" {
		o, err := h.admin.Org(r.Context(), a, slug)
		if err != nil {
			return err
		}
		f.OrgPath = o.Path
	}
	for _, t := range []struct {
		name string
		out  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(t.name); v != "" {
			tm, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return errType.WithMessage(t.name + " must be an RFC 3339 time.").WithField(t.name)
			}
			*t.out = tm
		}
	}
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n > 0 && n <= 10000 {
		f.Limit = n
	}
	if n, err := strconv.ParseInt(q.Get("before"), 10, 64); err == nil {
		f.BeforeID = n
	}
	if c := q.Get("cursor"); c != "" {
		before, err := decodeAuditCursor(c)
		if err != nil {
			return err
		}
		f.BeforeID = before
	}
	if q.Get("format") == "jsonl" {
		return h.exportAudit(w, r, a, f)
	}
	evs, err := h.admin.AuditLog(r.Context(), a, f)
	if err != nil {
		return err
	}
	out := make([]auditJSON, len(evs))
	for i, e := range evs {
		out[i] = auditOut(e)
	}
	res := map[string]any{"events": out}
	if limit := cmp.Or(f.Limit, 100); len(evs) >= limit {
		res["next_cursor"] = encodeCursor(cursorAudit, strconv.FormatInt(evs[len(evs)-1].ID, 10))
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func auditOut(e store.AuditEvent) auditJSON {
	return auditJSON{ID: e.ID, At: ts(e.At), Event: e.Event, Outcome: e.Outcome, ActorUserID: e.ActorUserID,
		TargetUserID: e.TargetUserID, OrgID: e.OrgID, IP: e.IP, UserAgent: e.UserAgent, Detail: e.Detail,
		RequestID: e.RequestID}
}

// exportAudit streams every matching event as JSON Lines, newest first,
// paging through the store (limit, when given, caps the total).
func (h *Handler) exportAudit(w http.ResponseWriter, r *http.Request, a access.Actor, f store.AuditFilter) error {
	total := f.Limit
	f.Limit = 1000
	w.Header().Set("Content-Type", "application/jsonl; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="twofold-audit.jsonl"`)
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	n := 0
	for {
		evs, err := h.admin.AuditLog(r.Context(), a, f)
		if err != nil {
			if n == 0 {
				return err
			}
			h.log.ErrorContext(r.Context(), "audit export cut short", "err", err)
			return bw.Flush()
		}
		for _, e := range evs {
			if total > 0 && n >= total {
				return bw.Flush()
			}
			enc.Encode(auditOut(e))
			n++
		}
		if len(evs) < f.Limit {
			return bw.Flush()
		}
		f.BeforeID = evs[len(evs)-1].ID
	}
}

// getDashboard answers an org's dashboard numbers (admin.Dashboard).
func (h *Handler) getDashboard(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	d, err := h.admin.Dashboard(r.Context(), a, r.PathValue("slug"))
	if err != nil {
		return err
	}
	methods := map[string]int{}
	for _, m := range d.Methods {
		methods[m.Kind] = m.Users
	}
	waiting := make([]map[string]any, 0, len(d.Waiting))
	for _, wo := range d.Waiting {
		waiting = append(waiting, map[string]any{"org": wo.Org.Slug, "users": wo.Users, "grace_ends": wo.GraceEnds, "overdue": wo.Overdue})
	}
	days := make([]map[string]any, 0, len(d.Days))
	for _, day := range d.Days {
		days = append(days, map[string]any{"day": day.Day.Format(time.DateOnly), "sign_ins": day.SignIns, "failures": day.Failures})
	}
	writeJSON(w, http.StatusOK, map[string]any{"org": d.Org.Slug, "at": d.At, "users": d.Counts.Users, "disabled": d.Counts.Disabled,
		"enrolled": d.Counts.Enrolled, "locked": d.Counts.Locked, "by_method": methods, "waiting": waiting, "days": days})
	return nil
}
