package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/twofold-id/twofold/internal/api"
	"github.com/twofold-id/twofold/internal/clientip"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/web"
)

// Handler returns the whole HTTP surface: the JSON API under /api/v1/, the
// browser portal everywhere else, and the health and metrics endpoints.
// Browser routes and API routes are separate handlers with their own
// protections (CSRF and CSP for pages; JSON-only for the API).
func (a *App) Handler() http.Handler {
	client := a.clientFunc()
	apiH := api.New(api.Deps{Signin: a.Signin, Admin: a.Admin, Hasher: a.Hasher, Store: a.Store, Log: a.Log, Now: a.Now, Client: client})
	webH := web.New(web.Deps{Signin: a.Signin, Admin: a.Admin, Hasher: a.Hasher, Log: a.Log, Now: a.Now, Client: client,
		SecureCookies: strings.HasPrefix(a.Config.BaseURL(), "https://")})

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "twofold_http_requests_total", Help: "HTTP requests by surface, method and status.",
	}, []string{"surface", "method", "status"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "twofold_http_request_duration_seconds", Help: "HTTP request latency by surface.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"surface"})
	reg.MustRegister(requests, latency)
	instrument := func(surface string, h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
			h.ServeHTTP(sw, r)
			requests.WithLabelValues(surface, r.Method, strconv.Itoa(sw.status)).Inc()
			latency.WithLabelValues(surface).Observe(time.Since(start).Seconds())
		})
	}

	mux := http.NewServeMux()
	mux.Handle("/api/", instrument("api", apiH))
	mux.Handle("/", instrument("web", webH))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := a.Store.Ping(ctx); err != nil {
			a.Log.Warn("readyz: database unreachable", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("database unreachable\n"))
			return
		}
		w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return recoverer(a, mux)
}

// clientFunc tells where a request came from, for the API and the portal
// alike: the peer of the connection, or, when that is a trusted proxy, what
// the proxies' forwarding header says (package clientip). The first request
// carrying that header from a peer that is not trusted is logged once, so an
// operator whose proxy is missing from --trusted-proxies can see why every
// client has the proxy's address.
func (a *App) clientFunc() api.ClientFunc {
	res := &clientip.Resolver{Trusted: a.Config.TrustedProxyPrefixes(), Header: a.Config.ProxyHeader}
	header := clientip.XForwardedFor
	if strings.EqualFold(res.Header, clientip.Forwarded) {
		header = clientip.Forwarded
	}
	a.Log.Info("client addresses", "trusted_proxies", fmt.Sprint(res.Trusted), "header", header)
	client := api.ClientFromRequest(res)
	if len(res.Trusted) == 0 {
		return client
	}
	var once sync.Once
	return func(r *http.Request) signin.Client {
		c := client(r)
		if _, ok := r.Header[header]; ok {
			if p, ok := clientip.Peer(r); ok && !res.Trusts(p) {
				once.Do(func() {
					a.Log.Warn("a request carries "+header+" from a peer that is not a trusted proxy; the header is ignored (is the proxy missing from --trusted-proxies?)",
						"peer", p.String())
				})
			}
		}
		return c
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// recoverer turns a panic into a logged 500 instead of a dropped connection.
func recoverer(a *App, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.Log.Error("panic serving request", "path", r.URL.Path, "panic", v)
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// Serve listens on the configured address until ctx is done, then shuts
// down gracefully (in-flight requests get up to 15 s).
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          nil,
	}
	go a.janitor(ctx)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.Log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	// Notices queued by the last requests are sent before the process
	// ends, within the same deadline.
	a.Background.Drain(sctx)
	return nil
}

// janitor runs Sweep once a minute until ctx is done.
func (a *App) janitor(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a.Sweep(ctx)
	}
}

// Sweep removes what has expired: sessions a day after they ended, flows an
// hour after, abandoned pending factors, old sent codes, send counters of
// past windows, confirmation links a day after they expired, and password
// counters a day after their last failure (unless still locked). Several
// instances may sweep at once; every delete is idempotent. Failures are
// logged, not returned: the next sweep tries again.
func (a *App) Sweep(ctx context.Context) {
	now := a.Now().UTC()
	warn := func(what string, err error) {
		if err != nil && ctx.Err() == nil {
			a.Log.Warn("sweep: "+what, "err", err)
		}
	}
	_, err := a.Store.DeleteExpiredSessions(ctx, now.Add(-24*time.Hour))
	warn("sessions", err)
	_, err = a.Store.DeleteExpiredFlows(ctx, now.Add(-time.Hour))
	warn("flows", err)
	_, err = a.Store.DeletePendingFactors(ctx, now.Add(-a.Signin.Options().PendingFactorTTL))
	warn("pending factors", err)
	_, err = a.Store.DeleteExpiredChallenges(ctx, now.Add(-time.Hour))
	warn("challenges", err)
	_, err = a.Store.DeleteOldSendCounts(ctx, now.Add(-2*time.Hour))
	warn("send counters", err)
	_, err = a.Store.DeleteExpiredEmailConfirmations(ctx, now.Add(-24*time.Hour))
	warn("email confirmations", err)
	// A password counter without a failure for a day and without a live
	// lock is forgotten; under a flood of made-up names this keeps the
	// table small.
	_, err = a.Store.DeleteOldPasswordAttempts(ctx, now.Add(-24*time.Hour))
	warn("password counters", err)
}
