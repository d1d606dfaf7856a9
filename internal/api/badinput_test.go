package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/app"
	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/factor/backup"
	"github.com/twofold-id/twofold/internal/password"
)

// endpoint is a POST endpoint that reads a JSON body.
type endpoint struct {
	path     string
	authed   bool
	field    string // a string field, for the wrong-type case
	optional bool   // an empty body is allowed
}

func postEndpoints(factorID string) []endpoint {
	return []endpoint{
		{path: "/api/v1/auth/login", field: "username"},
		{path: "/api/v1/auth/verify", field: "code"},
		{path: "/api/v1/auth/enroll/totp", field: "flow_token"},
		{path: "/api/v1/auth/enroll/totp/confirm", field: "code"},
		{path: "/api/v1/auth/enroll/skip", field: "flow_token"},
		{path: "/api/v1/auth/reauthenticate", authed: true, field: "code"},
		{path: "/api/v1/me/password", authed: true, field: "new_password"},
		{path: "/api/v1/me/factors/totp", authed: true, field: "label", optional: true},
		{path: "/api/v1/me/factors/" + factorID + "/confirm", authed: true, field: "code"},
		{path: "/api/v1/me/backup-codes", authed: true, field: "code"},
		{path: "/api/v1/me/mfa/disable", authed: true, field: "code"},
		{path: "/api/v1/orgs", authed: true, field: "slug"},
		{path: "/api/v1/users", authed: true, field: "username"},
	}
}

func TestBadInputToEveryPOSTEndpointGetsAClear4xx(t *testing.T) {
	s := newServer(t)
	s.orgAndUser()
	s.cli(testPassword+"\n", "user", "create", "--org", "platform", "--username", "root", "--role", "superadmin", "--password-stdin")
	r := s.post("/api/v1/auth/login", "", map[string]string{"org": "platform", "username": "root", "password": testPassword})
	tok := r.str(t, "session_token")
	pending := s.post("/api/v1/me/factors/totp", tok, map[string]string{"label": "x"}).str(t, "factor_id")

	huge := `{"username":"` + strings.Repeat("a", 1<<20) + `"}`
	cases := []struct {
		name     string
		body     string
		ct       string
		want     int    // 0: any 4xx
		wantCode string // "" : any code
		skipOpt  bool   // not an error where the body is optional
	}{
		{name: "malformed JSON", body: `{"org":`, want: 400, wantCode: "malformed_json"},
		{name: "not JSON at all", body: `org=acme&username=alice`, want: 400, wantCode: "malformed_json"},
		{name: "a 1 MiB body", body: huge, want: 413, wantCode: "body_too_large"},
		{name: "a form content type", body: `{}`, ct: "application/x-www-form-urlencoded", want: 415, wantCode: "unsupported_media_type"},
		{name: "a text content type", body: `{}`, ct: "text/plain", want: 415, wantCode: "unsupported_media_type"},
		{name: "no content type", body: `{}`, ct: "-", want: 415, wantCode: "unsupported_media_type", skipOpt: true},
		{name: "an unknown field", body: `{"is_admin":true}`, want: 400, wantCode: "unknown_field"},
		{name: "a number for a string", body: `{"FIELD":12345}`, want: 400, wantCode: "invalid_type"},
		{name: "an object for a string", body: `{"FIELD":{"$ne":null}}`, want: 400, wantCode: "invalid_type"},
		{name: "a list for a string", body: `{"FIELD":["a"]}`, want: 400, wantCode: "invalid_type"},
		{name: "an empty object", body: `{}`, want: 400, wantCode: "missing_field", skipOpt: true},
		{name: "an empty body", body: ``, want: 400, wantCode: "empty_body", skipOpt: true},
		{name: "JSON null", body: `null`, skipOpt: true},
		{name: "a JSON list", body: `[]`, want: 400},
		{name: "trailing garbage", body: `{} x`, want: 400, wantCode: "malformed_json"},
		{name: "two objects", body: `{}{}`, want: 400, wantCode: "malformed_json"},
		{name: "a NUL byte in the body", body: "{\"FIELD\":\"a\x00b\"}", want: 400},
		{name: "an escaped NUL in a string", body: `{"FIELD":"a\u0000b"}`},
		{name: "invalid UTF-8", body: "{\"FIELD\":\"\xff\xfe\"}"},
		{name: "a lone surrogate", body: `{"FIELD":"\ud800"}`},
		{name: "SQL in a string", body: `{"FIELD":"' OR 1=1; DROP TABLE users; --"}`},
		{name: "RTL override and emoji", body: `{"FIELD":"\u202egnp.exe🙂"}`},
		{name: "a deeply nested value", body: `{"FIELD":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`, want: 400},
	}
	for _, ep := range postEndpoints(pending) {
		for _, c := range cases {
			if c.skipOpt && ep.optional {
				continue
			}
			t.Run(strings.TrimPrefix(ep.path, "/api/v1/")+"/"+c.name, func(t *testing.T) {
				req := request{method: http.MethodPost, path: ep.path, body: strings.ReplaceAll(c.body, "FIELD", ep.field), contentType: c.ct}
				if ep.authed {
					req.token = tok
				}
				res := s.do(req)
				if res.status >= 500 {
					t.Fatalf("%d %s", res.status, res.body)
				}
				if res.status < 400 {
					return // some strange but valid inputs are fine
				}
				code := res.errorCode(t)
				if c.want != 0 && res.status != c.want {
					t.Fatalf("status %d (%s), want %d", res.status, code, c.want)
				}
				if c.wantCode != "" && code != c.wantCode {
					t.Fatalf("code %q, want %q", code, c.wantCode)
				}
			})
		}
	}
	if strings.Contains(s.logs.String(), "panic") {
		t.Fatal("the server logged a panic")
	}
}

func TestStrangeUsernamesAreRefusedAsCredentialsNotAsErrors(t *testing.T) {
	s := newServer(t)
	s.orgAndUser()
	for _, name := range []string{
		"' OR '1'='1", `alice' --`, `alice"; DROP TABLE users; --`, "%", "_", "alice%", "*", "\\",
		"🙂", "👩‍💻", "\u202ealice", "alice\u200b", "\u0627\u0644\u0639\u0631\u0628\u064a\u0629", "ℌ𝔢𝔩𝔩𝔬",
		"a\x00b", "alice\x00", "\t", " ", strings.Repeat("a", 10000), "\xff\xfe", "İ", "ß",
	} {
		r := s.post("/api/v1/auth/login", "", map[string]string{"org": "acme", "username": name, "password": testPassword})
		if r.status >= 500 {
			t.Fatalf("username %q: %d %s", name, r.status, r.body)
		}
		if code := r.errorCode(t); r.status != http.StatusUnauthorized && code != "missing_field" {
			t.Fatalf("username %q: %d %s", name, r.status, r.body)
		}
	}
	// The same names, in org slugs and passwords.
	for _, v := range []string{"' OR 1=1 --", "🙂", "\u202e", "a\x00b", strings.Repeat("x", 5000)} {
		for _, body := range []map[string]string{
			{"org": v, "username": "alice", "password": testPassword},
			{"org": "acme", "username": "alice", "password": v},
		} {
			if r := s.post("/api/v1/auth/login", "", body); r.status != http.StatusUnauthorized {
				t.Fatalf("%q: %d %s", v, r.status, r.body)
			}
		}
	}
	// Five wrong passwords for alice: the next attempt waits a second.
	s.clock.Advance(time.Second)
	s.login("alice", "authenticated")
}

func TestAdminsCanCreateUsersWithUnicodeNamesButNotAmbiguousOnes(t *testing.T) {
	s := newServer(t)
	s.orgAndUser()
	s.cli(testPassword+"\n", "user", "create", "--org", "platform", "--username", "root", "--role", "superadmin", "--password-stdin")
	tok := s.post("/api/v1/auth/login", "", map[string]string{"org": "platform", "username": "root", "password": testPassword}).str(t, "session_token")
	for _, name := range []string{"josé", "日本語", "🙂", "' OR 1=1 --", "\u202eevil", "a\x00b", "bad name", "", "ALICE", "ａｌｉｃｅ"} {
		r := s.post("/api/v1/users", tok, map[string]string{"org": "acme", "username": name, "password": testPassword})
		if r.status >= 500 {
			t.Fatalf("username %q: %d %s", name, r.status, r.body)
		}
		if r.status >= 400 {
			r.errorCode(t)
		}
		if (name == "ALICE" || name == "ａｌｉｃｅ") && r.status != http.StatusConflict {
			t.Fatalf("%q next to alice: %d %s, want 409", name, r.status, r.body)
		}
	}
}

// fuzzHandler is one server for all fuzz inputs: cheap hashing, no CLI.
func fuzzHandler(f *testing.F) http.Handler {
	cfg := config.Default()
	cfg.DataDir = f.TempDir()
	pp := password.TestParams()
	a, err := app.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)),
		app.Options{PasswordParams: &pp, BackupParams: &backup.Params{Memory: 64, Time: 1, Threads: 1}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { a.Close() })
	if _, _, err := a.EnsureRoot(context.Background()); err != nil {
		f.Fatal(err)
	}
	return a.Handler()
}

func FuzzLogin(f *testing.F) {
	for _, seed := range []string{
		`{"org":"platform","username":"admin","password":"password123"}`,
		`{"org":`, `{}`, ``, `null`, `[]`, `{"org":1}`, `{"x":"y"}`, `{} {}`,
		"{\"org\":\"a\x00\",\"username\":\"\xff\",\"password\":\"\u202e\"}",
		`{"org":"acme","username":"\ud800","password":"` + strings.Repeat("p", 2000) + `"}`,
	} {
		f.Add([]byte(seed), "application/json")
	}
	f.Add([]byte(`{}`), "text/plain")
	f.Add([]byte(`{}`), "application/json; charset=utf-8")
	h := fuzzHandler(f)
	var n atomic.Uint64
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/auth/login", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		// A fresh address each time keeps the per-address limit out of play.
		i := n.Add(1)
		req.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:1234", i>>16&255, i>>8&255, i&255)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%d %s for body %q", rec.Code, rec.Body, body)
		}
		var e struct {
			Error *struct{ Code, Message string } `json:"error"`
		}
		if rec.Code >= 400 {
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("%d with body %q for input %q", rec.Code, rec.Body, body)
			}
		}
	})
}
