package web_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

func TestAdminsImportUsersFromCSVAfterADryRunAllOrNothing(t *testing.T) {
	p := newConsole(t)
	ria := p.browser()
	expect(t, ria.login("reseller", "ria", pw), 200, "/")
	secret := ria.addTOTP()
	expect(t, ria.get("/admin/users/import?org=reseller"), 200, "/admin/users/import", `id="import-form"`, `enctype="multipart/form-data"`)

	// A bad file: line numbers for each problem, and nothing written.
	bad := "username,email,role\nanna,anna@example.com,member\n,nobody@example.com,member\nben,not-an-address,member\ncarl,carl@example.com,superadmin\nanna,anna2@example.com,member\n"
	p.clock.Advance(30 * time.Second)
	pg := ria.post("/admin/users/import", url.Values{"org": {"reseller"}, "csv": {bad}, "reauth_code": {p.code(secret)}})
	expect(t, pg, http.StatusBadRequest, "/admin/users/import", `id="import-problems"`, "Nothing was imported")
	problems := textOf(t, pg.body, "import-problems")
	for _, line := range []string{"3 username", "4 email", "5 role", "6 username"} {
		if !strings.Contains(problems, line) {
			t.Errorf("problems %q lack line %q", problems, line)
		}
	}
	lacks(t, pg, `id="import-confirm"`)
	sys, _ := p.app.Admin.System(context.Background())
	if _, _, err := p.app.Admin.UserByName(context.Background(), sys, "reseller", "anna"); err == nil {
		t.Fatal("anna was created by a rejected import")
	}

	// A good file, uploaded: the dry run shows the users and writes nothing.
	good := "Username,Email,Name,Role,MFA_required\r\nanna,anna@example.com,Anna A,member,yes\r\nbert,,\"Bert, B.\",admin,no\r\n"
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("org", "reseller")
	fw, _ := mw.CreateFormFile("file", "people.csv")
	fw.Write([]byte(good))
	mw.Close()
	req, _ := http.NewRequest("POST", p.srv.URL+"/admin/users/import", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", p.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	preview := ria.do(req) // the code above is still fresh: no second prompt
	expect(t, preview, 200, "/admin/users/import", "Ready to import 2 users", `id="import-names"`, `id="import-confirm"`)
	if _, _, err := p.app.Admin.UserByName(context.Background(), sys, "reseller", "anna"); err == nil {
		t.Fatal("a dry run created anna")
	}

	// Confirmed: both users exist, with what the file said.
	done := ria.post("/admin/users/import", url.Values{"org": {"reseller"}, "csv": {good}, "confirm": {"yes"}})
	expect(t, done, 200, "/admin/users/import", "2 users were created")
	anna, _, err := p.app.Admin.UserByName(context.Background(), sys, "reseller", "anna")
	if err != nil || anna.Email != "anna@example.com" || !anna.MFARequired || anna.Role != store.RoleMember || anna.PasswordHash != "" {
		t.Errorf("anna = %+v (%v)", anna, err)
	}
	if bert, _, err := p.app.Admin.UserByName(context.Background(), sys, "reseller", "bert"); err != nil || bert.Role != store.RoleAdmin {
		t.Errorf("bert = %+v (%v)", bert, err)
	}
	// The same file again: every row is taken now, and nothing changes.
	again := ria.post("/admin/users/import", url.Values{"org": {"reseller"}, "csv": {good}, "confirm": {"yes"}})
	expect(t, again, http.StatusBadRequest, "/admin/users/import", "Nothing was imported")

	// Not a CSV, or another admin's org.
	expect(t, ria.post("/admin/users/import", url.Values{"org": {"reseller"}, "csv": {"\"unterminated\n"}}), http.StatusBadRequest, "/admin/users/import", "not a CSV")
	other := ria.post("/admin/users/import", url.Values{"org": {"other"}, "csv": {"username\nzed\n"}})
	if other.status == http.StatusOK {
		t.Errorf("import into another org's tree: %d", other.status)
	}
	// A member has no import at all.
	mia := p.browser()
	expect(t, mia.login("reseller", "mia", pw), 200, "/")
	if pg := mia.post("/admin/users/import", url.Values{"org": {"reseller"}, "csv": {"username\nzed\n"}}); pg.status != http.StatusForbidden && pg.status != http.StatusNotFound {
		t.Errorf("member import: %d", pg.status)
	}
}
