package app

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/twofold-id/twofold/internal/api"
	"github.com/twofold-id/twofold/internal/reqid"
)

// observe wraps the whole HTTP surface: it gives each request an id — the
// X-Request-Id a proxy sent when well formed, or a new one — echoes it in
// the response, and puts it in the request's context, where log lines
// (reqid.Handler) and audit events pick it up. When the handler returns it
// writes one access-log line and records the request's metrics under its
// route pattern, never its raw path. Health checks are logged at debug
// level, so probes do not drown the log.
func (a *App) observe(next http.Handler, client api.ClientFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		done := a.Metrics.RequestStarted()
		id := reqid.Choose(r.Header.Get(reqid.Header))
		w.Header().Set(reqid.Header, id)
		ctx := reqid.With(r.Context(), id)
		ctx, endSpan := a.tracer.Request(ctx, r)
		r = r.WithContext(ctx)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			// r.Pattern is the innermost pattern: the API's and the
			// portal's muxes set it on this same request.
			d := time.Since(start)
			status := sw.statusOrOK()
			done(r.Pattern, r.Method, status, d)
			endSpan(r.Pattern, status)
			level := slog.LevelInfo
			if r.Pattern == "GET /healthz" || r.Pattern == "GET /readyz" {
				level = slog.LevelDebug
			}
			a.Log.LogAttrs(ctx, level, "request",
				slog.String("method", r.Method),
				slog.String("route", r.Pattern),
				slog.String("path", r.URL.Path),
				slog.Int("status", status),
				slog.Duration("duration", d),
				slog.Int64("bytes", sw.bytes),
				slog.String("client", client(r).IP),
			)
		}()
		next.ServeHTTP(sw, r)
	})
}

// statusWriter remembers the status and counts the bytes of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) statusOrOK() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
