package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/twofold-id/twofold/internal/factor/methods"
	"github.com/twofold-id/twofold/internal/problem"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages holds one parsed template set per page: the layout, the shared
// partials and the page's own file.
type pages struct {
	byName map[string]*template.Template
	css    string // URL of the stylesheet, with a content version
	js     string // URL of the script, with a content version
}

// assetURL returns /static/name?v=<hash of its content>, so assets can be
// cached long and still change with a new binary.
func assetURL(name string) string {
	b, err := staticFS.ReadFile("static/" + name)
	if err != nil {
		panic("web: missing static asset " + name)
	}
	sum := sha256.Sum256(b)
	return "/static/" + name + "?v=" + hex.EncodeToString(sum[:6])
}

func loadPages() *pages {
	funcs := template.FuncMap{
		"errFor":     errFor,
		"formErr":    formErrFor,
		"fieldErr":   fieldErrFor,
		"codeInput":  codeInput,
		"when":       when,
		"methodName": methodName,
		"roleName":   roleName,
		"seconds":    func(d time.Duration) int { return int((d + time.Second - 1) / time.Second) },
		"waitText":   waitText,
		"join":       strings.Join,
		"policyText": policyText,
		"allowed":    allowedText,
		"phoneInput": phoneInput, // sent.go
		"device":     deviceName, // device.go
		"clip":       clip,
		"t":          tr, // i18n.go
		"clientFields": func(f clientForm, e *formErr, form string) clientFieldsData { // admin_clients.go
			return clientFieldsData{Form: form, F: f, Err: e}
		},
	}
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html"))
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	p := &pages{byName: map[string]*template.Template{}, css: assetURL("style.css"), js: assetURL("app.js")}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" || name == "partials" {
			continue
		}
		p.byName[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, n))
	}
	return p
}

// frame is what the layout needs around every page.
type frame struct {
	Title string
	User  *signin.Principal // signed-in user, for the header
	CSS   string
	JS    string
	P     any // the page's own data
	// Version is the server's version, set for admins only (footer).
	Version string
	// Lang is the page's language ("en" unless the page is translated).
	Lang string
}

// titled is implemented by page data that names its page.
type titled interface{ title() string }

// render writes a page with status 200.
func (h *handler) render(w http.ResponseWriter, r *http.Request, name string, data any) {
	h.renderStatus(w, r, http.StatusOK, name, data)
}

// renderStatus writes a page. A template failure is a bug: it is logged and
// answered with a plain error, never a half-written page.
func (h *handler) renderStatus(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	t := h.pages.byName[name]
	f := frame{CSS: h.pages.css, JS: h.pages.js, P: data}
	if tt, ok := data.(titled); ok {
		f.Title = tt.title()
	}
	f.Lang = "en"
	if l, ok := data.(interface{ language() string }); ok && l.language() != "" {
		f.Lang = l.language()
	}
	if u, ok := data.(interface{ principal() *signin.Principal }); ok {
		f.User = u.principal()
	}
	if f.User != nil && f.User.User.Role.Rank() >= store.RoleAdmin.Rank() {
		f.Version = h.Version
	}
	var buf bytes.Buffer
	if t == nil {
		h.Log.ErrorContext(r.Context(), "web: no such page template", "page", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, "layout.html", f); err != nil {
		h.Log.ErrorContext(r.Context(), "web: render failed", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// errorPage is a page that only explains a failure.
type errorPage struct {
	Title   string
	Message string
	User    *signin.Principal
}

func (e errorPage) title() string                { return e.Title }
func (e errorPage) principal() *signin.Principal { return e.User }

// formErr is a failure to show on a form: next to a field when Field is
// set, above the form otherwise. Form names the form on pages that have
// several.
type formErr struct {
	Code    string // the error's public code
	Form    string
	Field   string
	Message string
	Wait    time.Duration // how long until the user may retry, shown as a countdown
}

// newFormErr places p on form: next to its field when that field is one of
// fields, otherwise above the form. Code failures belong to the "code"
// field when the form has one.
func newFormErr(form string, p *problem.Error, now time.Time, fields ...string) *formErr {
	e := &formErr{Code: p.Code, Form: form, Message: messageOf(p, now), Wait: p.RetryAfter}
	field := p.Field
	switch p.Code {
	case "invalid_code", "too_many_attempts", "mfa_locked":
		if field == "" {
			field = "code"
		}
	}
	for _, f := range fields {
		if f == field {
			e.Field = field
		}
	}
	return e
}

// errFor returns the message for one field of one form, or "".
func errFor(e *formErr, form, field string) string {
	if e == nil || e.Form != form || e.Field != field {
		return ""
	}
	return e.Message
}

// fieldError is the message shown under one field; ID is the field's id.
type fieldError struct {
	ID      string
	Message string
	Wait    time.Duration
}

// fieldErrFor returns the error of one field of one form for the field with
// id, or nil.
func fieldErrFor(e *formErr, form, field, id string) *fieldError {
	if errFor(e, form, field) == "" {
		return nil
	}
	return &fieldError{ID: id, Message: e.Message, Wait: e.Wait}
}

// codeField is the data of the code-input partial.
type codeField struct {
	ID, Label, Hint string
	Err             *fieldError
	Autofocus       bool
	Numeric, Backup bool // a 6-digit code, a backup code, or (neither) either
}

// codeInput builds a code field; kind is "numeric", "backup" or "any".
func codeInput(id, label, hint string, fe *fieldError, autofocus bool, kind string) codeField {
	return codeField{ID: id, Label: label, Hint: hint, Err: fe, Autofocus: autofocus || fe != nil,
		Numeric: kind == "numeric", Backup: kind == "backup"}
}

// formErrFor returns the form-level error of one form, or nil.
func formErrFor(e *formErr, form string) *formErr {
	if e == nil || e.Form != form || e.Field != "" {
		return nil
	}
	return e
}

// messageOf returns the message to show for p, with the time to wait
// spelled out where there is one.
func messageOf(p *problem.Error, now time.Time) string {
	switch p.Code {
	case "too_many_attempts":
		if p.Field == "password" {
			return "Too many failed sign-ins for this account. Please wait " + waitText(p.RetryAfter) + " before trying again."
		}
		return "Too many wrong codes. Please wait " + waitText(p.RetryAfter) + " before trying again."
	case "signin_locked":
		msg := "Sign-in to this account is locked after too many wrong passwords."
		if p.RetryAfter > 0 {
			until := now.Add(p.RetryAfter).UTC().Format("15:04 UTC")
			msg += " It unlocks by itself in " + waitText(p.RetryAfter) + " (at " + until + "), or an admin can unlock it sooner."
		} else {
			msg += " It unlocks by itself later, or an admin can unlock it."
		}
		return msg
	case "mfa_locked":
		msg := "Two-factor sign-in is locked after too many wrong codes."
		if p.RetryAfter > 0 {
			until := now.Add(p.RetryAfter).UTC().Format("15:04 UTC")
			msg += " It unlocks by itself in " + waitText(p.RetryAfter) + " (at " + until + "), or an admin can unlock it sooner."
		} else {
			msg += " It unlocks by itself later, or an admin can unlock it."
		}
		return msg
	case "rate_limited":
		if p.RetryAfter > 0 {
			return "Too many attempts from your address. Please wait " + waitText(p.RetryAfter) + " and try again."
		}
	}
	return p.Message
}

// waitText spells a duration the way people say it: "12 seconds",
// "about 3 minutes".
func waitText(d time.Duration) string {
	s := int((d + time.Second - 1) / time.Second)
	switch {
	case s <= 1:
		return "1 second"
	case s < 90:
		return fmt.Sprintf("%d seconds", s)
	case s < 90*60:
		return fmt.Sprintf("about %d minutes", (s+30)/60)
	}
	return fmt.Sprintf("about %d hours", (s+1800)/3600)
}

// when renders a time as a <time> element; the script shows it in the
// reader's own time zone.
func when(t any) template.HTML {
	var tt time.Time
	switch v := t.(type) {
	case time.Time:
		tt = v
	case *time.Time:
		if v == nil {
			return "never"
		}
		tt = *v
	default:
		return ""
	}
	if tt.IsZero() {
		return "never"
	}
	tt = tt.UTC()
	return template.HTML(`<time datetime="` + tt.Format(time.RFC3339) + `">` + tt.Format("2 Jan 2006, 15:04 UTC") + `</time>`)
}

// roleName is the name people see for a role.
func roleName(r store.Role) string {
	switch r {
	case store.RoleSuperadmin:
		return "Platform admin"
	case store.RoleAdmin:
		return "Admin"
	case store.RoleMember:
		return "Member"
	}
	return string(r)
}

// methodName is the name people see for a sign-in method.
func methodName(m string) string {
	if t, ok := methods.Default.TraitsOf(m); ok {
		return t.Name
	}
	return m
}

// staticHandler serves the embedded stylesheet and script. Their URLs carry
// a content version, so they may be cached for a long time.
func staticHandler() http.Handler {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no directory listings
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=86400")
		files.ServeHTTP(w, r)
	})
}
