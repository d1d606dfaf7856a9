package api

import (
	"encoding/csv"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/store"
)

// Users as CSV: the import and export an org's admins use for bulk work.
func (h *Handler) csvRoutes() {
	h.handle("POST /api/v1/orgs/{slug}/users/import", h.admined(h.importCSV))
	h.handle("GET /api/v1/orgs/{slug}/users/export", h.admined(h.exportCSV))
}

// isCSVImport says whether r posts a CSV import, whose body may be up to
// admin.MaxCSVBytes instead of MaxBody.
func isCSVImport(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/api/v1/orgs/") && strings.HasSuffix(r.URL.Path, "/users/import")
}

var errCSVMediaType = errMediaType.WithMessage("Send the users as text/csv.")

// csvLineError is one bad line of an import.
type csvLineError struct {
	Line    int    `json:"line"`
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// importCSV checks (?dry_run=true) or imports a user CSV into the org: every
// line or none. The columns are those of admin.ParseUserCSV; org defaults
// to the path's org.
func (h *Handler) importCSV(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "text/csv" {
		return errCSVMediaType
	}
	org, err := h.admin.Org(r.Context(), a, r.PathValue("slug"))
	if err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, admin.MaxCSVBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge.WithMessage("The file is larger than " + strconv.Itoa(admin.MaxCSVBytes) + " bytes; split it.")
		}
		return err
	}
	parsed, err := admin.ParseUserCSV(strings.NewReader(string(body)), org.Slug)
	if err != nil {
		return err
	}
	errs := []csvLineError{}
	for _, p := range parsed.Problems {
		errs = append(errs, csvLineError{Line: p.Index, Code: p.Code, Field: p.Field, Message: p.Message})
	}
	dry := r.URL.Query().Get("dry_run") == "true"
	var res admin.ImportResult
	if len(parsed.Users) > 0 {
		res, err = h.admin.ImportUsers(r.Context(), a, parsed.Users, admin.ImportOptions{DryRun: dry || len(errs) > 0}, h.clients(r))
		for _, p := range res.Problems {
			errs = append(errs, csvLineError{Line: parsed.Lines[p.Index], Code: p.Code, Field: p.Field, Message: p.Message})
		}
		if err != nil && !errors.Is(err, admin.ErrImportRejected) {
			return err
		}
	}
	if len(errs) > 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"created": 0, "valid": 0, "errors": errs,
			"error": errorDetail{Code: admin.ErrImportRejected.Code, Message: admin.ErrImportRejected.Message}})
		return nil
	}
	if dry {
		writeJSON(w, http.StatusOK, map[string]any{"created": 0, "valid": len(parsed.Users), "errors": errs})
		return nil
	}
	writeJSON(w, http.StatusCreated, map[string]any{"created": len(res.Imported), "valid": len(parsed.Users), "errors": errs})
	return nil
}

// exportCSV answers the users of the org and below as CSV (every one, read
// a page at a time), optionally of one MFA status (mfa_status) or matching
// a search (q); cells are guarded against formula injection.
func (h *Handler) exportCSV(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	org, err := h.admin.Org(r.Context(), a, r.PathValue("slug"))
	if err != nil {
		return err
	}
	status := r.URL.Query().Get("mfa_status")
	if err := admin.CheckStatus(status); err != nil {
		return err
	}
	slugs := map[string]string{}
	orgSlug := func(id string) string {
		if s, ok := slugs[id]; ok {
			return s
		}
		o, err := h.store.GetOrg(r.Context(), id)
		if err != nil {
			return ""
		}
		slugs[id] = o.Slug
		return o.Slug
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="twofold-users-`+org.Slug+`.csv"`)
	cw := csv.NewWriter(w)
	cw.Write(admin.UserCSVHeader)
	err = h.admin.EachUserRow(r.Context(), a, store.UserFilter{OrgPath: org.Path, Query: strings.TrimSpace(r.URL.Query().Get("q")), Limit: 1000}, status,
		func(row admin.UserRow) bool {
			return cw.Write(admin.UserCSVRecord(row, orgSlug(row.User.OrgID))) == nil
		})
	cw.Flush()
	if err != nil {
		h.log.WarnContext(r.Context(), "users export cut short", "err", err)
	}
	return nil
}
