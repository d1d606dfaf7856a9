package web

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// tCall matches a message id passed to the template function t.
var tCall = regexp.MustCompile(`\bt \$?\.Lang "([a-z_.]+)"`)

// Every message id a template asks for, and every id a handler asks for,
// is in every message file, and every file has the same ids: a string
// cannot be English on a German page by omission.
func TestEveryTemplateMessageIsTranslated(t *testing.T) {
	files, _ := fs.Glob(localeFS, "locales/*.json")
	if len(files) < 2 {
		t.Fatalf("message files: %v, want English and German at least", files)
	}
	ids := map[string]map[string]bool{}
	for _, f := range files {
		b, _ := fs.ReadFile(localeFS, f)
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		ids[path.Base(f)] = map[string]bool{}
		for id, text := range m {
			if strings.TrimSpace(text) == "" {
				t.Errorf("%s: %q is empty", f, id)
			}
			ids[path.Base(f)][id] = true
		}
	}
	used := map[string]bool{"reset.sent": true} // asked for by recovery.go
	tmpls, _ := fs.Glob(templateFS, "templates/*.html")
	for _, f := range tmpls {
		b, _ := fs.ReadFile(templateFS, f)
		for _, m := range tCall.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
		}
	}
	if len(used) < 20 {
		t.Fatalf("found only %d message ids in the templates; is the pattern broken?", len(used))
	}
	for file, have := range ids {
		for id := range used {
			if !have[id] {
				t.Errorf("%s lacks %q, which a template uses", file, id)
			}
		}
		for other, theirs := range ids {
			for id := range theirs {
				if !have[id] {
					t.Errorf("%s lacks %q, which %s has", file, id, other)
				}
			}
		}
	}
}

// The language is the best match of Accept-Language, English otherwise.
func TestGermanIsChosenByAcceptLanguage(t *testing.T) {
	loadBundle()
	for _, tc := range []struct{ header, want string }{
		{"de-DE,de;q=0.9,en;q=0.5", "de"},
		{"de-AT", "de"},
		{"en-GB,en;q=0.9", "en"},
		{"fr-FR", "en"},
		{"", "en"},
		{"fr;q=0.9, de;q=0.8", "de"},
	} {
		r := httptestRequest(tc.header)
		if got := requestLang(r); got != tc.want {
			t.Errorf("Accept-Language %q: %s, want %s", tc.header, got, tc.want)
		}
	}
	if got := tr("de", "reset.for", "Username", "dora", "Org", "Acme"); !strings.HasPrefix(got, "Für dora bei Acme.") {
		t.Errorf("a German message with data: %q", got)
	}
	if !slices.Contains([]string{"en", "de"}, requestLang(httptestRequest("*"))) {
		t.Error("wildcard")
	}
}

func httptestRequest(acceptLanguage string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "/login", nil)
	if acceptLanguage != "" {
		r.Header.Set("Accept-Language", acceptLanguage)
	}
	return r
}
