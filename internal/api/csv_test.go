package api_test

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
)

func TestUsersComeInAndGoOutAsCSV(t *testing.T) {
	s := newServer(t)
	key := s.importKey()
	post := func(path, body string) response {
		return s.do(request{method: http.MethodPost, path: path, token: key, body: body, contentType: "text/csv"})
	}

	// A dry run of a file with bad lines: each named, nothing written.
	bad := "username,email,role\nann,ann@example.com,member\nbob,not-an-address,member\n,x@example.com,member\ncid,,superhero\n"
	r := post("/api/v1/orgs/acme/users/import?dry_run=true", bad)
	if r.status != http.StatusBadRequest || r.errorCode(t) != "import_rejected" {
		t.Fatalf("bad file: %d %s", r.status, r.body)
	}
	var lines []float64
	for _, e := range r.json(t)["errors"].([]any) {
		lines = append(lines, e.(map[string]any)["line"].(float64))
	}
	if len(lines) != 3 || lines[0] != 3 || lines[1] != 4 || lines[2] != 5 {
		t.Errorf("bad lines %v, want 3, 4, 5", lines)
	}

	good := "username,email,name,role,mfa_required\nann,ann@example.com,Ann,member,yes\nbob,=HYPERLINK(\"x\"),Bob,member,no\n"
	r = post("/api/v1/orgs/acme/users/import?dry_run=true", good)
	if r.status != http.StatusBadRequest { // bob's email is not an address
		t.Fatalf("formula email accepted: %d %s", r.status, r.body)
	}
	good = "username,email,name,role,mfa_required\nann,ann@example.com,Ann,member,yes\n=bob,,Bob,admin,no\n"
	if r = post("/api/v1/orgs/acme/users/import?dry_run=true", good); r.status != http.StatusOK || r.json(t)["valid"] != 2.0 {
		t.Fatalf("dry run: %d %s", r.status, r.body)
	}
	if r = post("/api/v1/orgs/acme/users/import", good); r.status != http.StatusCreated || r.json(t)["created"] != 2.0 {
		t.Fatalf("import: %d %s", r.status, r.body)
	}
	if r = post("/api/v1/orgs/acme/users/import", good); r.status != http.StatusBadRequest {
		t.Fatalf("the same file twice: %d %s", r.status, r.body)
	}
	if r = s.do(request{method: http.MethodPost, path: "/api/v1/orgs/acme/users/import", token: key, body: good, contentType: "application/json"}); r.status != http.StatusUnsupportedMediaType {
		t.Errorf("JSON content type: %d", r.status)
	}
	// A file over 64 KiB (the JSON limit) but under the CSV limit is read.
	var big strings.Builder
	big.WriteString("username\n")
	for i := 0; big.Len() < 100<<10; i++ {
		big.WriteString("bulkuser")
		big.WriteString(strings.Repeat("x", 20))
		big.WriteString(string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676%26)) + "\n")
	}
	if r = post("/api/v1/orgs/acme/users/import?dry_run=true", big.String()); r.status != http.StatusOK {
		t.Errorf("a 100 KiB file: %d %.300s", r.status, r.body)
	}

	exp := s.get("/api/v1/orgs/acme/users/export", key)
	if exp.status != http.StatusOK || !strings.HasPrefix(exp.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("export: %d %s", exp.status, exp.body)
	}
	recs, err := csv.NewReader(strings.NewReader(string(exp.body))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string][]string{}
	for _, rec := range recs[1:] {
		found[rec[0]] = rec
	}
	if ann := found["ann"]; ann == nil || ann[1] != "ann@example.com" || ann[6] != "true" {
		t.Errorf("ann exported as %v", ann)
	}
	if found["'=bob"] == nil {
		t.Errorf("a username starting with = is not guarded: %v", recs)
	}
	if r := s.get("/api/v1/orgs/acme/users/export?mfa_status=bogus", key); r.status != http.StatusBadRequest {
		t.Errorf("bogus status: %d", r.status)
	}
}
