package web_test

import (
	"encoding/csv"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/twofold-id/twofold/internal/store"
)

func readCSV(t *testing.T, pg page) [][]string {
	t.Helper()
	if pg.status != http.StatusOK || !strings.HasPrefix(pg.header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(pg.header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: %d %q %q; body:\n%s", pg.status, pg.header.Get("Content-Type"), pg.header.Get("Content-Disposition"), pg.body)
	}
	recs, err := csv.NewReader(strings.NewReader(pg.body)).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v\n%s", err, pg.body)
	}
	return recs
}

func TestAdminsExportTheirUsersAndAuditAsCSVWithoutFormulaInjection(t *testing.T) {
	p := newConsole(t)
	// A user whose email a spreadsheet would run as a formula if exported raw.
	p.addRoleUser("reseller", "eve", store.RoleMember, "=cmd@example.com")
	for _, n := range []string{"u1", "u2", "u3"} {
		p.addRoleUser("reseller", n, store.RoleMember, "")
	}
	ria := p.browser()
	expect(t, ria.login("reseller", "ria", pw), 200, "/")
	expect(t, ria.get("/admin/users?org=reseller"), 200, "/admin/users", `id="users-export"`, `href="/admin/users/export.csv?org=reseller`)

	recs := readCSV(t, ria.get("/admin/users/export.csv?org=reseller"))
	if got := strings.Join(recs[0], ","); !strings.HasPrefix(got, "username,email,email_confirmed,org,role,mfa_status") {
		t.Fatalf("header %q", got)
	}
	var names []string
	for _, r := range recs[1:] {
		names = append(names, r[0])
		if r[0] == "eve" && r[1] != "'=cmd@example.com" {
			t.Errorf("eve's email exported as %q, want it quoted against formula injection", r[1])
		}
		if r[3] != "reseller" {
			t.Errorf("%s exported with org %q", r[0], r[3])
		}
	}
	slices.Sort(names)
	if want := []string{"eve", "mia", "ria", "u1", "u2", "u3"}; !slices.Equal(names, want) {
		t.Errorf("exported users %v, want %v (and nobody of other orgs)", names, want)
	}
	// The list's filters apply: only those without a factor.
	recs = readCSV(t, ria.get("/admin/users/export.csv?org=reseller&status=not_enrolled&q=u"))
	if len(recs) != 4 {
		t.Errorf("filtered export has %d rows, want the header and u1..u3: %v", len(recs), recs)
	}
	if pg := ria.get("/admin/users/export.csv?org=reseller&status=bogus"); pg.status != http.StatusBadRequest {
		t.Errorf("a bad status filter: %d, want 400", pg.status)
	}
	if pg := ria.get("/admin/users/export.csv?org=other"); pg.status != http.StatusNotFound || strings.Contains(pg.body, "olga") {
		t.Errorf("another org's users: %d", pg.status)
	}

	audit := readCSV(t, ria.get("/admin/audit/export.csv"))
	if strings.Join(audit[0][:4], ",") != "id,at,event,outcome" || len(audit) < 2 {
		t.Fatalf("audit export: %v", audit)
	}
	events := map[string]bool{}
	for _, r := range audit[1:] {
		events[r[2]] = true
	}
	if !events["signin.completed"] {
		t.Errorf("audit export lacks ria's sign-in: %v", events)
	}
}
