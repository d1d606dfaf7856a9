// Package reqid gives every HTTP request an id: the one a proxy sent in
// X-Request-Id when it is well formed, or a new random one. The id travels
// in the request's context into every log line written with that context
// (see Handler) and into the audit events of the request.
package reqid

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
)

// Header is the request and response header that carries the id.
const Header = "X-Request-Id"

// MaxLen bounds an id taken from a request.
const MaxLen = 128

// Valid reports whether s may be used as a request id: 1 to MaxLen
// characters from A–Z, a–z, 0–9 and . _ - : = + / — enough for UUIDs,
// hex and base64 ids and AWS trace ids, and nothing that could break a
// log line or a header.
func Valid(s string) bool {
	if len(s) == 0 || len(s) > MaxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.' || c == '_' || c == '-' || c == ':' || c == '=' || c == '+' || c == '/':
		default:
			return false
		}
	}
	return true
}

// New returns a new random id of 24 hex digits (96 bits).
func New() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Choose returns incoming when it is Valid, and a new id otherwise.
func Choose(incoming string) string {
	if Valid(incoming) {
		return incoming
	}
	return New()
}

type key struct{}

// With returns ctx carrying the request id id.
func With(ctx context.Context, id string) context.Context { return context.WithValue(ctx, key{}, id) }

// From returns the request id ctx carries, or "".
func From(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	id, _ := ctx.Value(key{}).(string)
	return id
}

// Handler returns a slog.Handler that adds request_id to every record
// logged with a context that carries one (slog's …Context methods and
// LogAttrs), and otherwise passes records to h unchanged. Wrapping twice
// is the same as wrapping once.
func Handler(h slog.Handler) slog.Handler {
	if _, ok := h.(handler); ok {
		return h
	}
	return handler{h}
}

type handler struct{ slog.Handler }

func (h handler) Handle(ctx context.Context, r slog.Record) error {
	if id := From(ctx); id != "" {
		r = r.Clone()
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return handler{h.Handler.WithAttrs(attrs)}
}
func (h handler) WithGroup(name string) slog.Handler { return handler{h.Handler.WithGroup(name)} }
