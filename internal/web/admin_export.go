package web

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// usersExportPage is how many users one store query of an export reads;
// an export pages through all of them.
const usersExportPage = 1000

// csvDownload starts a CSV attachment named name with the header row.
func csvDownload(w http.ResponseWriter, name string, header ...string) *csv.Writer {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	cw := csv.NewWriter(w)
	_ = cw.Write(header)
	return cw
}

// writeCSV writes one guarded row; false when the client went away.
func writeCSV(cw *csv.Writer, cells ...string) bool {
	return cw.Write(admin.CSVRow(cells...)) == nil
}

// adminUsersExport downloads the users the list page's filters select
// (search, MFA status, org and below) as CSV — all of them, page by page.
func (h *handler) adminUsersExport(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	q := r.URL.Query()
	slug := q.Get("org")
	if slug == "" {
		slug = p.Org.Slug
	}
	o, err := h.Admin.Org(r.Context(), actorOf(p), slug)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	_, idx, err := h.visibleOrgs(r, p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f := store.UserFilter{OrgPath: o.Path, Query: strings.TrimSpace(q.Get("q")), Limit: usersExportPage}
	status := q.Get("status")
	if err := admin.CheckStatus(status); err != nil {
		h.fail(w, r, err) // before the download starts
		return
	}
	cw := csvDownload(w, "twofold-users-"+o.Slug+".csv", admin.UserCSVHeader...)
	err = h.Admin.EachUserRow(r.Context(), actorOf(p), f, status, func(row admin.UserRow) bool {
		return cw.Write(admin.UserCSVRecord(row, idx[row.User.OrgID].Slug)) == nil
	})
	if err != nil {
		// Mid-download the status line is sent: the file ends short.
		h.Log.WarnContext(r.Context(), "users export cut short", "err", err)
	}
	cw.Flush()
}

// adminAuditCSV downloads the events matching the audit page's filters as
// CSV (at most auditExportSize, newest first).
func (h *handler) adminAuditCSV(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	evs, err := h.auditEvents(r, p, auditExportSize)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	cw := csvDownload(w, "twofold-audit.csv", "id", "at", "event", "outcome", "actor_user_id", "target_user_id", "org_id", "ip", "user_agent", "detail", "request_id")
	for _, e := range evs {
		if !writeCSV(cw, strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339), e.Event, e.Outcome, e.ActorUserID, e.TargetUserID,
			e.OrgID, e.IP, e.UserAgent, e.Detail, e.RequestID) {
			return
		}
	}
	cw.Flush()
}

// exportLink is path with the list page's filters.
func exportLink(path string, filters url.Values) string {
	if len(filters) == 0 {
		return path
	}
	return path + "?" + filters.Encode()
}
