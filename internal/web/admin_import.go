package web

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/signin"
)

// importPath is where a user CSV is posted; its body may be larger than
// other forms' (maxImportBody).
const importPath = "/admin/users/import"

// maxImportBody bounds an import's request: the CSV and the form around it.
const maxImportBody = admin.MaxCSVBytes + 64<<10

// adminImportPage imports users from CSV: a dry run first, then the import.
type adminImportPage struct {
	adminBase
	Orgs []orgOption
	Org  string
	CSV  string // the file, carried from the dry run to the import
	// Preview are the users a dry run found importable; Problems what is
	// wrong, by line.
	Preview  []admin.ImportUser
	Problems []importLine
	Checked  bool // a dry run happened
	HasNames bool
	Imported int
	Err      *formErr
}

// importLine is a problem of one line of the file.
type importLine struct {
	Line    int
	Field   string
	Message string
}

func (adminImportPage) title() string { return "Admin · Import users" }

func (h *handler) adminImportForm(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	h.renderImport(w, r, p, http.StatusOK, adminImportPage{Org: r.URL.Query().Get("org")})
}

func (h *handler) renderImport(w http.ResponseWriter, r *http.Request, p signin.Principal, status int, pg adminImportPage) {
	orgs, _, err := h.visibleOrgs(r, p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if pg.Org == "" {
		pg.Org = p.Org.Slug
	}
	pg.adminBase = adminBase{User: &p, Section: "users"}
	pg.Orgs = orgOptions(orgs, pg.Org)
	h.renderStatus(w, r, status, "admin_import", pg)
}

// adminImport checks a CSV (dry run) or, with confirm=yes, imports it:
// all rows or none. Both ask for a current code like every creation of
// accounts in bulk.
func (h *handler) adminImport(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	if err := r.ParseMultipartForm(maxImportBody); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		h.fail(w, r, errTooLarge)
		return
	}
	if r.MultipartForm != nil {
		// An uploaded file becomes the csv field, so that a re-authentication
		// page can carry it on as text.
		if fhs := r.MultipartForm.File["file"]; len(fhs) > 0 && fhs[0].Size > 0 {
			f, err := fhs[0].Open()
			if err != nil {
				h.fail(w, r, err)
				return
			}
			b, err := io.ReadAll(io.LimitReader(f, admin.MaxCSVBytes+1))
			f.Close()
			if err != nil || len(b) > admin.MaxCSVBytes {
				h.fail(w, r, errTooLarge)
				return
			}
			r.PostForm.Set("csv", string(b))
		}
	}
	pg := adminImportPage{Org: r.PostForm.Get("org"), CSV: r.PostForm.Get("csv")}
	if len(pg.CSV) > admin.MaxCSVBytes {
		h.fail(w, r, errTooLarge)
		return
	}
	fail := func(err error) {
		pe := h.public(r, err)
		pg.Err = newFormErr("import", pe, h.Now(), "csv")
		h.renderImport(w, r, p, pe.HTTPStatus(), pg)
	}
	parsed, err := admin.ParseUserCSV(strings.NewReader(pg.CSV), pg.Org)
	if err != nil {
		fail(err)
		return
	}
	pg.HasNames = parsed.HasNames
	for _, pr := range parsed.Problems {
		pg.Problems = append(pg.Problems, importLine{Line: pr.Index, Field: pr.Field, Message: pr.Message})
	}
	confirm := r.PostForm.Get("confirm") == "yes" && len(parsed.Problems) == 0
	var res admin.ImportResult
	handled, err := h.adminSensitive(w, r, p, "Import users from a CSV file", importPath+"?org="+pg.Org, func(np signin.Principal) error {
		p = np
		if len(parsed.Users) == 0 {
			return nil
		}
		var err error
		res, err = h.Admin.ImportUsers(r.Context(), actorOf(np), parsed.Users, admin.ImportOptions{DryRun: !confirm}, h.Client(r))
		return err
	})
	if handled {
		return
	}
	for _, pr := range res.Problems {
		pg.Problems = append(pg.Problems, importLine{Line: parsed.Lines[pr.Index], Field: pr.Field, Message: pr.Message})
	}
	if err != nil && !errors.Is(err, admin.ErrImportRejected) {
		fail(err)
		return
	}
	pg.Checked = true
	if len(pg.Problems) > 0 {
		h.renderImport(w, r, p, http.StatusBadRequest, pg)
		return
	}
	if confirm {
		pg.Imported = len(res.Imported)
		pg.CSV = ""
	} else {
		pg.Preview = parsed.Users
	}
	h.renderImport(w, r, p, http.StatusOK, pg)
}
