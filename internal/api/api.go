// Package api is Twofold's JSON API under /api/v1, for agents, mail add-ins,
// mobile apps and automation. It is documented in openapi.yaml beside this
// file (served at /api/v1/openapi.yaml).
//
// The API speaks JSON only: request bodies must be application/json, are
// bounded in size, and may not contain unknown fields. Every error is
// {"error":{"code":"…","message":"…"}} with a stable code; nothing a client
// sends produces a 500.
package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/clientip"
	"github.com/twofold-id/twofold/internal/problem"
	"github.com/twofold-id/twofold/internal/ratelimit"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

//go:embed openapi.yaml
var openAPI []byte

// MaxBody bounds every request body.
const MaxBody = 64 << 10

// Handler serves the JSON API.
type Handler struct {
	signin  *signin.Service
	admin   *admin.Service
	store   store.Store
	log     *slog.Logger
	now     func() time.Time
	loginIP ratelimit.Limiter
	codeIP  ratelimit.Limiter
	clients ClientFunc
	mux     *http.ServeMux
	// patterns are the registered route patterns, in order.
	patterns []string
}

// ClientFunc tells where a request came from.
type ClientFunc func(r *http.Request) signin.Client

// Deps are the collaborators of a Handler.
type Deps struct {
	Signin *signin.Service
	Admin  *admin.Service
	Store  store.Store
	Log    *slog.Logger
	Now    func() time.Time
	Client ClientFunc
	// LoginPerMinute and CodesPerMinute limit requests per client address
	// (0 = defaults: 60 and 60).
	LoginPerMinute, CodesPerMinute float64
	// Limits keeps those counts; nil counts in this process
	// (ratelimit.Memory). Several instances share a ratelimit.Shared or
	// ratelimit.Redis backend.
	Limits ratelimit.Backend
}

// New returns the API handler; mount it at /api/v1/.
func New(d Deps) *Handler {
	if d.LoginPerMinute == 0 {
		d.LoginPerMinute = 60
	}
	if d.CodesPerMinute == 0 {
		d.CodesPerMinute = 60
	}
	if d.Limits == nil {
		d.Limits = ratelimit.Memory(d.Now)
	}
	h := &Handler{signin: d.Signin, admin: d.Admin, store: d.Store, log: d.Log, now: d.Now,
		loginIP: d.Limits.Limiter("api.login", ratelimit.Rate{PerMinute: d.LoginPerMinute, Burst: 20}),
		codeIP:  d.Limits.Limiter("api.codes", ratelimit.Rate{PerMinute: d.CodesPerMinute, Burst: 20}),
		clients: d.Client, mux: http.NewServeMux()}
	h.routes()
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.ContentLength > MaxBody && !(isCSVImport(r) && r.ContentLength <= admin.MaxCSVBytes) {
		// Refused before a byte of the body is read, so that Go never
		// answers "Expect: 100-continue": the client learns the outcome
		// before it sends the body, instead of losing it mid-upload.
		h.fail(w, r, errTooLarge)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// Mux returns the route table (for metrics labels).
func (h *Handler) Mux() *http.ServeMux { return h.mux }

// A handlerFunc returns an error instead of writing one; fail maps it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// authedFunc is a handler that needs a session.
type authedFunc func(w http.ResponseWriter, r *http.Request, p signin.Principal) error

func (h *Handler) handle(pattern string, f handlerFunc) {
	h.patterns = append(h.patterns, pattern)
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := f(w, r); err != nil {
			h.fail(w, r, err)
		}
	})
}

// authed registers a route that needs a session. A session that lacks what
// its user's current policy demands (signin.Principal.Lacks) reaches f only
// when lackingAllowed lets it; otherwise the answer is the lack itself
// (403 mfa_enrollment_required or mfa_verification_required).
func (h *Handler) authed(pattern string, f authedFunc) {
	allowed := lackingAllowed[pattern]
	h.handle(pattern, func(w http.ResponseWriter, r *http.Request) error {
		p, err := h.principal(r)
		if err != nil {
			return err
		}
		if p.Lacks != nil && !slices.ContainsFunc(allowed, func(e error) bool { return errors.Is(p.Lacks, e) }) {
			return p.Lacks
		}
		if signin.IsDeviceSession(p.Session) && !deviceAllowed[pattern] {
			return errDeviceSession
		}
		return f(w, r, p)
	})
}

// lackingAllowed is everything a session that lacks a second factor under
// its user's current policy may still do, by what it lacks: exactly what a
// sign-in flow in the same state could — set up a first factor
// (enrollment), confirm with a current code (step-up), turn itself into
// that flow (resume), read who it is, and sign out. Every other route,
// including every admin route, refuses it. A new route is refused unless
// it is added here on purpose.
var lackingAllowed = func() map[string][]error {
	enroll := []error{signin.ErrEnrollmentRequired}
	stepUp := []error{signin.ErrStepUpRequired}
	either := []error{signin.ErrEnrollmentRequired, signin.ErrStepUpRequired}
	return map[string][]error{
		"GET /api/v1/me":                       either,
		"POST /api/v1/auth/logout":             either,
		"POST /api/v1/auth/resume":             either,
		"GET /api/v1/me/factors":               either,
		"POST /api/v1/auth/reauthenticate":     stepUp,
		"POST /api/v1/me/codes":                stepUp,
		"POST /api/v1/me/factors/totp":         enroll,
		"POST /api/v1/me/factors/email":        enroll,
		"POST /api/v1/me/factors/sms":          enroll,
		"POST /api/v1/me/factors/webauthn":     enroll,
		"POST /api/v1/me/factors/{id}/confirm": enroll,
		"POST /api/v1/me/factors/{id}/resend":  enroll,
		"POST /api/v1/me/email-confirmation":   enroll,
	}
}()

// principal authenticates the bearer token of r.
func (h *Handler) principal(r *http.Request) (signin.Principal, error) {
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		return signin.Principal{}, signin.ErrUnauthenticated
	}
	return h.signin.Authenticate(r.Context(), strings.TrimSpace(tok))
}

// Errors of the API layer.
var (
	errMalformed   = problem.Define(http.StatusBadRequest, "malformed_json", "The request body is not valid JSON.")
	errEmpty       = problem.Define(http.StatusBadRequest, "empty_body", "The request body is empty.")
	errTooLarge    = problem.Define(http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("The request body is larger than %d bytes.", MaxBody))
	errMediaType   = problem.Define(http.StatusUnsupportedMediaType, "unsupported_media_type", "Send the request body as application/json.")
	errUnknown     = problem.Define(http.StatusBadRequest, "unknown_field", "The request has a field this endpoint does not take.")
	errType        = problem.Define(http.StatusBadRequest, "invalid_type", "A field of the request has the wrong type.")
	errMissing     = problem.Define(http.StatusBadRequest, "missing_field", "A required field is missing.")
	errRateLimited = problem.Define(http.StatusTooManyRequests, "rate_limited", "Too many requests from your address. Please wait.")
	errNotFound    = problem.Define(http.StatusNotFound, "not_found", "No such endpoint.")
	errInternal    = problem.Define(http.StatusInternalServerError, "internal_error", "Something went wrong on our side. It has been logged.")
	errUnavailable = problem.Define(http.StatusServiceUnavailable, "unavailable", "The service cannot reach its database just now. Please try again in a moment.")
)

// statusClientClosed is what the metrics record for a request whose client
// went away before the answer (nginx's 499); nobody receives it.
const statusClientClosed = 499

// unavailableRetry is the Retry-After of a 503 unavailable answer.
const unavailableRetry = 2 * time.Second

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	Field      string `json:"field,omitempty"`
	RetryAfter int    `json:"retry_after,omitempty"`
	URL        string `json:"url,omitempty"`
	TriesLeft  *int   `json:"tries_left,omitempty"`
}

// fail writes err as a JSON error. Errors without a public face are
// answered by what caused them: a client that went away gets nothing (it is
// logged as such, not as a failure), an unreachable database a 503
// unavailable, and anything else a generic 500, logged as an error.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	p := problem.As(err)
	if p == nil {
		switch {
		case r.Context().Err() != nil:
			h.log.InfoContext(r.Context(), "api: request cancelled: the client went away", "method", r.Method, "path", r.URL.Path, "err", err)
			w.WriteHeader(statusClientClosed)
			return
		case store.Unavailable(err):
			h.log.WarnContext(r.Context(), "api: database unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
			p = errUnavailable.WithRetry(unavailableRetry)
		default:
			h.log.ErrorContext(r.Context(), "api: internal error", "method", r.Method, "path", r.URL.Path, "err", err)
			p = errInternal
		}
	}
	status := p.HTTPStatus()
	body := errorBody{Error: errorDetail{Code: p.Code, Message: p.Message, Field: p.Field, URL: p.URL, TriesLeft: p.TriesLeft}}
	if p.RetryAfter > 0 {
		secs := int((p.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		body.Error.RetryAfter = secs
	}
	if status == http.StatusUnauthorized && p.Code == "unauthenticated" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="twofold"`)
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

// decode reads the JSON body of r into v: application/json only, at most
// MaxBody bytes, no unknown fields, exactly one value.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return errMediaType
	}
	body := http.MaxBytesReader(w, r.Body, MaxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeErr(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge
		}
		return errMalformed.WithMessage("The request body must hold exactly one JSON object.")
	}
	return nil
}

func decodeErr(err error) error {
	var mbe *http.MaxBytesError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return errTooLarge
	case errors.Is(err, io.EOF):
		return errEmpty
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF):
		return errMalformed
	case errors.As(err, &te):
		if te.Field == "" {
			return errType.WithMessage("The request body must be a JSON object.")
		}
		return errType.WithMessage(fmt.Sprintf("Field %q must be %s.", te.Field, jsonKind(te.Type.Kind().String()))).WithField(te.Field)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return errUnknown.WithMessage(fmt.Sprintf("Unknown field %q.", f)).WithField(f)
	}
	return errMalformed
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "a list"
	case "struct", "map", "ptr":
		return "an object"
	}
	return "a number"
}

// require returns errMissing for the first empty field.
func require(fields ...[2]string) error {
	for _, f := range fields {
		if strings.TrimSpace(f[1]) == "" {
			return errMissing.WithMessage(fmt.Sprintf("Field %q is required.", f[0])).WithField(f[0])
		}
	}
	return nil
}

// limitedDecode applies the per-address limiter l to r's client and then
// decodes r's JSON body into v; it returns the client for the service call.
func (h *Handler) limitedDecode(w http.ResponseWriter, r *http.Request, l ratelimit.Limiter, v any) (signin.Client, error) {
	c := h.clients(r)
	if err := limit(r.Context(), l, c); err != nil {
		return c, err
	}
	return c, decode(w, r, v)
}

// limit applies a per-address limiter. When the limiter's shared state
// cannot be reached the request is refused with that error (503
// unavailable), never let through unlimited.
func limit(ctx context.Context, l ratelimit.Limiter, c signin.Client) error {
	ok, wait, err := l.Allow(ctx, c.IP)
	if err != nil {
		return err
	}
	if !ok {
		return errRateLimited.WithRetry(wait)
	}
	return nil
}

// ClientFromRequest returns the client of r: its address as res resolves it
// (always a valid IP, so only addresses reach limiters and the audit log)
// and its user agent, cut to 512 bytes.
func ClientFromRequest(res *clientip.Resolver) ClientFunc {
	return func(r *http.Request) signin.Client {
		ua := r.UserAgent()
		if len(ua) > 512 {
			ua = ua[:512]
		}
		return signin.Client{IP: res.IP(r), UserAgent: ua}
	}
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func tsp(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := ts(*t)
	return &s
}
