package web

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

const (
	auditPageSize   = 100
	auditExportSize = 10000
)

// adminAuditPage lists audit events of the admin's subtree.
type adminAuditPage struct {
	adminBase
	Org, UserID, Event, Since, Until string
	Orgs                             []orgOption
	Events                           []auditRow
	Older                            string // link to the next page, or ""
	Export                           string // link to the JSON Lines export
	ExportCSV                        string // the same as CSV
	Err                              *formErr
}

func (adminAuditPage) title() string { return "Admin · Audit log" }

// auditRow is one event with names for its ids where the admin can see
// them.
type auditRow struct {
	E             store.AuditEvent
	Actor, Target string
	OrgName       string
}

// auditFilter reads the filters of r, scoped like the API's audit handler:
// an admin sees events of its own subtree (a superadmin sees all), and an
// org filter must name an org of that subtree.
func (h *handler) auditFilter(r *http.Request, p signin.Principal) (store.AuditFilter, error) {
	q := r.URL.Query()
	a := actorOf(p)
	f := store.AuditFilter{UserID: strings.TrimSpace(q.Get("user")), Event: strings.TrimSpace(q.Get("event"))}
	if f.Event != "" && !strings.Contains(f.Event, ".") {
		f.Event += "." // a bare word is a prefix: "mfa" finds mfa.reset, mfa.unlock…
	}
	if a.User.Role != store.RoleSuperadmin {
		f.OrgPath = a.Org.Path
	}
	if slug := q.Get("org"); slug != "" {
		o, err := h.Admin.Org(r.Context(), a, slug)
		if err != nil {
			return f, err
		}
		f.OrgPath = o.Path
	}
	for _, t := range []struct {
		name string
		out  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		v := strings.TrimSpace(q.Get(t.name))
		if v == "" {
			continue
		}
		tm, err := parseWhen(v)
		if err != nil {
			return f, admin.ErrInvalid.WithMessage("Give a date and time such as 2026-03-02T09:00 (UTC).").WithField(t.name)
		}
		*t.out = tm
	}
	if n, err := strconv.ParseInt(q.Get("before"), 10, 64); err == nil && n > 0 {
		f.BeforeID = n
	}
	return f, nil
}

// parseWhen reads a time as a datetime-local field sends it (taken as UTC),
// a date, or RFC 3339.
func parseWhen(v string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02", time.RFC3339} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, admin.ErrInvalid
}

func (h *handler) adminAudit(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	q := r.URL.Query()
	pg := adminAuditPage{adminBase: adminBase{User: &p, Section: "audit"}, Org: q.Get("org"), UserID: q.Get("user"),
		Event: q.Get("event"), Since: q.Get("since"), Until: q.Get("until")}
	orgs, idx, err := h.visibleOrgs(r, p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	pg.Orgs = append([]orgOption{{Slug: "", Label: "All your organizations", Selected: pg.Org == ""}}, orgOptions(orgs, pg.Org)...)
	filters := url.Values{}
	for k, v := range map[string]string{"org": pg.Org, "user": pg.UserID, "event": pg.Event, "since": pg.Since, "until": pg.Until} {
		if v != "" {
			filters.Set(k, v)
		}
	}
	pg.Export, pg.ExportCSV = "/admin/audit/export", exportLink("/admin/audit/export.csv", filters)
	if len(filters) > 0 {
		pg.Export += "?" + filters.Encode()
	}
	status := http.StatusOK
	evs, err := h.auditEvents(r, p, auditPageSize)
	if err != nil {
		pe := h.public(r, err)
		pg.Err = newFormErr("audit", pe, h.Now(), "since", "until")
		status = pe.HTTPStatus()
	}
	names := map[string]string{}
	userName := func(id string) string {
		if id == "" {
			return ""
		}
		if n, ok := names[id]; ok {
			return n
		}
		n := "user " + id
		if u, o, err := h.Admin.User(r.Context(), actorOf(p), id); err == nil {
			n = u.Username + " (" + o.Slug + ")"
		}
		names[id] = n
		return n
	}
	for _, e := range evs {
		row := auditRow{E: e, Actor: userName(e.ActorUserID), Target: userName(e.TargetUserID), OrgName: idx[e.OrgID].Name}
		pg.Events = append(pg.Events, row)
	}
	if len(evs) == auditPageSize {
		filters.Set("before", strconv.FormatInt(evs[len(evs)-1].ID, 10))
		pg.Older = "/admin/audit?" + filters.Encode()
	}
	h.renderStatus(w, r, status, "admin_audit", pg)
}

// auditEvents reads up to limit events matching the filters of r.
func (h *handler) auditEvents(r *http.Request, p signin.Principal, limit int) ([]store.AuditEvent, error) {
	f, err := h.auditFilter(r, p)
	if err != nil {
		return nil, err
	}
	f.Limit = limit
	return h.Admin.AuditLog(r.Context(), actorOf(p), f)
}

// auditLine is one event of the export, with the field names of the API's
// audit listing.
type auditLine struct {
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
}

// adminAuditExport downloads the events matching the page's filters as JSON
// Lines, newest first.
func (h *handler) adminAuditExport(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	evs, err := h.auditEvents(r, p, auditExportSize)
	if err != nil {
		pe := h.public(r, err)
		h.renderStatus(w, r, pe.HTTPStatus(), "error", errorPage{User: &p, Title: "No export", Message: messageOf(pe, h.Now())})
		return
	}
	w.Header().Set("Content-Type", "application/jsonl; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="twofold-audit.jsonl"`)
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for _, e := range evs {
		if err := enc.Encode(auditLine{ID: e.ID, At: e.At.UTC().Format(time.RFC3339), Event: e.Event, Outcome: e.Outcome,
			ActorUserID: e.ActorUserID, TargetUserID: e.TargetUserID, OrgID: e.OrgID, IP: e.IP, UserAgent: e.UserAgent, Detail: e.Detail}); err != nil {
			return // the client went away
		}
	}
	bw.Flush()
}
