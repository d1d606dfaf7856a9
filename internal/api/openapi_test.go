package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/clientip"
	"github.com/twofold-id/twofold/internal/problem"
)

// The tests in this file keep openapi.yaml honest: every route the package
// registers is documented with the same method and path, and nothing else
// is. Routes are those a Handler registers (Handler.patterns), so routes
// made in a loop over the factor methods are counted too. The YAML is
// read with a small indentation-based scanner that understands the subset
// the document uses (block mappings, "- " sequences, block scalars, quoted
// keys); it is not a general YAML parser.

// registeredRoutes returns "METHOD /path" for every method-qualified
// pattern the package's handler registers, and the patterns without a
// method (catch-alls).
func registeredRoutes(t *testing.T) (routes, catchAll []string) {
	t.Helper()
	h := New(Deps{Now: time.Now})
	for _, p := range h.patterns {
		method, path, ok := strings.Cut(p, " ")
		if !ok {
			catchAll = append(catchAll, p)
			continue
		}
		routes = append(routes, method+" "+strings.TrimSpace(path))
	}
	sort.Strings(routes)
	return routes, catchAll
}

// yamlEntry is one "key: value" line of the document with the chain of
// mapping keys above it ("-" for a sequence item).
type yamlEntry struct {
	path  []string
	value string
	line  int
}

func (e yamlEntry) at(prefix ...string) bool {
	return len(e.path) == len(prefix) && slices.Equal(e.path, prefix)
}

var yamlKey = regexp.MustCompile(`^('[^']*'|"[^"]*"|[^\s'"#:][^:#]*?)\s*:(?:\s+(.*))?$`)

// scanYAML flattens the block structure of doc into entries.
func scanYAML(t *testing.T, doc string) []yamlEntry {
	t.Helper()
	type level struct {
		indent int
		key    string
	}
	var (
		stack   []level
		out     []yamlEntry
		scalarI = -1 // indent of the key that opened a block scalar
	)
	for n, raw := range strings.Split(doc, "\n") {
		if strings.Contains(raw, "\t") {
			t.Fatalf("openapi.yaml:%d: tab character", n+1)
		}
		body := strings.TrimLeft(raw, " ")
		indent := len(raw) - len(body)
		if scalarI >= 0 {
			if body == "" || indent > scalarI {
				continue
			}
			scalarI = -1
		}
		if body == "" || strings.HasPrefix(body, "#") {
			continue
		}
		for strings.HasPrefix(body, "- ") || body == "-" {
			for len(stack) > 0 && stack[len(stack)-1].indent >= indent {
				stack = stack[:len(stack)-1]
			}
			stack = append(stack, level{indent, "-"})
			body = strings.TrimLeft(strings.TrimPrefix(body, "-"), " ")
			indent += 2
			if body == "" {
				break
			}
		}
		m := yamlKey.FindStringSubmatch(body)
		if m == nil {
			// A scalar sequence item is recorded under "-"; anything else
			// (a continuation of a flow value) is skipped.
			if len(stack) > 0 && stack[len(stack)-1].key == "-" && stack[len(stack)-1].indent == indent-2 {
				p := make([]string, len(stack))
				for i, l := range stack {
					p[i] = l.key
				}
				out = append(out, yamlEntry{path: p, value: strings.Trim(body, `'"`), line: n + 1})
			}
			continue
		}
		key := strings.Trim(m[1], `'"`)
		for len(stack) > 0 && stack[len(stack)-1].indent >= indent {
			stack = stack[:len(stack)-1]
		}
		stack = append(stack, level{indent, key})
		value := strings.TrimSpace(m[2])
		if value == "|" || value == ">" || value == "|-" || value == ">-" {
			scalarI = indent
			value = ""
		}
		p := make([]string, len(stack))
		for i, l := range stack {
			p[i] = l.key
		}
		out = append(out, yamlEntry{path: p, value: strings.Trim(value, `'"`), line: n + 1})
	}
	return out
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// documentedRoutes returns "METHOD /path" for every operation under paths,
// and each path item's parameter $refs.
func documentedRoutes(entries []yamlEntry) (routes []string, params map[string][]string) {
	params = map[string][]string{}
	for _, e := range entries {
		if len(e.path) == 3 && e.path[0] == "paths" && slices.Contains(httpMethods, e.path[2]) {
			routes = append(routes, strings.ToUpper(e.path[2])+" "+e.path[1])
		}
		// paths./x.parameters.-.$ref and paths./x.<method>.parameters.-.$ref
		if n := len(e.path); n >= 5 && e.path[0] == "paths" && e.path[n-1] == "$ref" && e.path[n-2] == "-" && e.path[n-3] == "parameters" {
			params[e.path[1]] = append(params[e.path[1]], e.value)
		}
	}
	sort.Strings(routes)
	return routes, params
}

func readOpenAPI(t *testing.T) []yamlEntry {
	t.Helper()
	doc, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if string(doc) != string(openAPI) {
		t.Fatal("embedded openAPI differs from openapi.yaml")
	}
	return scanYAML(t, string(doc))
}

func TestOpenAPIRoutesMatchCode(t *testing.T) {
	code, catchAll := registeredRoutes(t)
	if len(code) < 30 {
		t.Fatalf("found only %d registered routes; has the registration style changed? %v", len(code), code)
	}
	for _, p := range catchAll {
		if !strings.HasSuffix(p, "/") {
			t.Errorf("pattern %q has no method and is not a subtree catch-all; document it", p)
		}
	}
	if dup := duplicates(code); len(dup) > 0 {
		t.Errorf("routes registered twice: %v", dup)
	}

	doc, _ := documentedRoutes(readOpenAPI(t))
	if dup := duplicates(doc); len(dup) > 0 {
		t.Errorf("operations documented twice: %v", dup)
	}
	for _, r := range code {
		if !slices.Contains(doc, r) {
			t.Errorf("route %s is registered but not in openapi.yaml", r)
		}
	}
	for _, r := range doc {
		if !slices.Contains(code, r) {
			t.Errorf("openapi.yaml documents %s, which is not registered", r)
		}
	}
}

func TestOpenAPIPathParameters(t *testing.T) {
	entries := readOpenAPI(t)
	_, refs := documentedRoutes(entries)
	// components.parameters.<Name>.name / .in
	names, ins := map[string]string{}, map[string]string{}
	for _, e := range entries {
		if len(e.path) == 4 && e.path[0] == "components" && e.path[1] == "parameters" {
			switch e.path[3] {
			case "name":
				names[e.path[2]] = e.value
			case "in":
				ins[e.path[2]] = e.value
			}
		}
	}
	brace := regexp.MustCompile(`\{([^}]+)\}`)
	seen := map[string]bool{}
	for _, e := range entries {
		if len(e.path) != 2 || e.path[0] != "paths" || seen[e.path[1]] {
			continue
		}
		path := e.path[1]
		seen[path] = true
		var want []string
		for _, m := range brace.FindAllStringSubmatch(path, -1) {
			want = append(want, m[1])
		}
		var got []string
		for _, ref := range refs[path] {
			name, ok := strings.CutPrefix(ref, "#/components/parameters/")
			if !ok || ins[name] != "path" {
				continue
			}
			got = append(got, names[name])
		}
		sort.Strings(want)
		sort.Strings(got)
		if !slices.Equal(want, got) {
			t.Errorf("%s: path parameters in the template %v, declared %v", path, want, got)
		}
	}
	if len(seen) == 0 {
		t.Fatal("no paths found in openapi.yaml")
	}
}

func TestOpenAPIReferencesResolve(t *testing.T) {
	entries := readOpenAPI(t)
	defined := map[string]bool{}
	for _, e := range entries {
		if len(e.path) == 3 && e.path[0] == "components" {
			defined["#/components/"+e.path[1]+"/"+e.path[2]] = true
		}
	}
	ids := map[string]int{}
	for _, e := range entries {
		last := e.path[len(e.path)-1]
		if last == "$ref" && !defined[e.value] {
			t.Errorf("openapi.yaml:%d: unresolved $ref %q", e.line, e.value)
		}
		if last == "operationId" && len(e.path) == 4 && e.path[0] == "paths" {
			if prev, dup := ids[e.value]; dup {
				t.Errorf("openapi.yaml:%d: operationId %q also used on line %d", e.line, e.value, prev)
			}
			ids[e.value] = e.line
		}
	}
	if len(ids) == 0 {
		t.Fatal("no operationIds found in openapi.yaml")
	}
	for _, want := range [][]string{
		{"openapi"},
		{"info", "title"},
		{"servers", "-", "url"},
		{"components", "securitySchemes", "sessionToken", "scheme"},
		{"components", "schemas", "Error"},
		{"components", "schemas", "SignInResult"},
	} {
		if !slices.ContainsFunc(entries, func(e yamlEntry) bool { return e.at(want...) }) {
			t.Errorf("openapi.yaml lacks %s", strings.Join(want, "."))
		}
	}
}

// TestOpenAPIErrorCodes checks that every public error code the API maps to
// a status, and every error of the API layer, is in the Error schema's enum.
func TestOpenAPIErrorCodes(t *testing.T) {
	enum := []string{"components", "schemas", "Error", "properties", "error", "properties", "code", "enum", "-"}
	var codes []string
	for _, e := range readOpenAPI(t) {
		if e.at(enum...) {
			codes = append(codes, e.value)
		}
	}
	if len(codes) == 0 {
		t.Fatal("no error codes found in the Error schema")
	}
	for code := range problem.Codes() {
		if !slices.Contains(codes, code) {
			t.Errorf("error code %q (defined with problem.Define) is not in the Error schema's code enum", code)
		}
	}
	for _, p := range []*problem.Error{errMalformed, errEmpty, errTooLarge, errMediaType, errUnknown, errType, errMissing, errRateLimited, errNotFound, errInternal} {
		if !slices.Contains(codes, p.Code) {
			t.Errorf("error code %q of the API layer is not in the Error schema's code enum", p.Code)
		}
	}
}

func TestOpenAPIServed(t *testing.T) {
	h := New(Deps{Now: time.Now, Client: ClientFromRequest(&clientip.Resolver{})})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/openapi.yaml", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/yaml") {
		t.Errorf("Content-Type %q", ct)
	}
	if rec.Body.String() != string(openAPI) {
		t.Error("served document differs from the embedded one")
	}
}

func duplicates(xs []string) []string {
	var d []string
	for i := 1; i < len(xs); i++ {
		if xs[i] == xs[i-1] && !slices.Contains(d, xs[i]) {
			d = append(d, xs[i])
		}
	}
	return d
}

// TestOpenAPIConventions checks general claims of the document's
// introduction that need no store: JSON-only bodies, the 64 KiB bound,
// unknown fields, the error shape, and 404 (never 405) for a wrong method
// or an unknown path.
func TestOpenAPIConventions(t *testing.T) {
	h := New(Deps{Now: time.Now, Client: ClientFromRequest(&clientip.Resolver{})})
	do := func(method, path, ctype, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	for _, c := range []struct {
		name, method, path, ctype, body string
		status                          int
		code, field                     string
	}{
		{"wrong media type", "POST", "/api/v1/auth/login", "text/plain", `{}`, 415, "unsupported_media_type", ""},
		{"too large", "POST", "/api/v1/auth/login", "application/json", `{"org":"` + strings.Repeat("a", MaxBody) + `"}`, 413, "body_too_large", ""},
		{"unknown field", "POST", "/api/v1/auth/login", "application/json; charset=utf-8", `{"org":"a","nope":1}`, 400, "unknown_field", "nope"},
		{"wrong type", "POST", "/api/v1/auth/login", "application/json", `{"org":1}`, 400, "invalid_type", "org"},
		{"missing field", "POST", "/api/v1/auth/login", "application/json", `{"org":"acme","username":" "}`, 400, "missing_field", "username"},
		{"empty body", "POST", "/api/v1/auth/verify", "application/json", ``, 400, "empty_body", ""},
		{"two values", "POST", "/api/v1/auth/verify", "application/json", `{} {}`, 400, "malformed_json", ""},
		{"no bearer", "GET", "/api/v1/me", "", ``, 401, "unauthenticated", ""},
		{"wrong method", "DELETE", "/api/v1/auth/login", "", ``, 404, "not_found", ""},
		{"unknown path", "GET", "/api/v1/nope", "", ``, 404, "not_found", ""},
	} {
		rec := do(c.method, c.path, c.ctype, c.body)
		if rec.Code != c.status {
			t.Errorf("%s: status %d, want %d (%s)", c.name, rec.Code, c.status, rec.Body)
			continue
		}
		var got errorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Errorf("%s: body %q: %v", c.name, rec.Body, err)
			continue
		}
		if got.Error.Code != c.code || got.Error.Field != c.field || got.Error.Message == "" {
			t.Errorf("%s: error %+v, want code %q field %q", c.name, got.Error, c.code, c.field)
		}
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", c.name, rec.Header().Get("Cache-Control"))
		}
		if c.code == "unauthenticated" && rec.Header().Get("WWW-Authenticate") != `Bearer realm="twofold"` {
			t.Errorf("%s: WWW-Authenticate %q", c.name, rec.Header().Get("WWW-Authenticate"))
		}
	}
}
