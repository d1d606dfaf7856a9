package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/twofold-id/twofold/internal/api"
	"github.com/twofold-id/twofold/internal/clientip"
	"github.com/twofold-id/twofold/internal/forwardauth"
	"github.com/twofold-id/twofold/internal/oidc"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/version"
	"github.com/twofold-id/twofold/internal/web"
)

// Handler returns the whole HTTP surface: the JSON API under /api/v1/, the
// browser portal everywhere else, and the health endpoints. Browser routes
// and API routes are separate handlers with their own protections (CSRF and
// CSP for pages; JSON-only for the API). Every request gets a request id,
// one access-log line and its metrics (see observe); the metrics themselves
// are served only by MetricsHandler, on their own listener.
func (a *App) Handler() http.Handler {
	client := a.clientFunc()
	apiH := api.New(api.Deps{Signin: a.Signin, Admin: a.Admin, Store: a.Store, Log: a.Log, Now: a.Now, Client: client,
		Limits: a.Limits})
	webH := web.New(web.Deps{Signin: a.Signin, Admin: a.Admin, Log: a.Log, Now: a.Now, Client: client,
		SecureCookies: strings.HasPrefix(a.Config.BaseURL(), "https://"), Version: version.String(), Apps: appSignIn{a},
		Proxies:   &forwardauth.Gate{Store: a.Store, Signin: a.Signin, Audit: a.Audit, Now: a.Now},
		PortalURL: a.Config.BaseURL(), CookieDomain: a.Config.CookieDomain,
		Limits: a.Limits})

	mux := http.NewServeMux()
	mux.Handle("/api/", apiH)
	mux.Handle("/", webH)
	mux.Handle(oidc.PathPrefix, a.oidcHandler(client))
	mux.Handle("GET "+oidc.DiscoveryPath, a.oidcHandler(client))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintf(w, "{\"status\":\"ok\",\"version\":%q}\n", version.String())
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if a.draining.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("draining\n"))
			return
		}
		if err := a.Store.Ping(ctx); err != nil {
			a.Log.WarnContext(ctx, "readyz: database unreachable", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("database unreachable\n"))
			return
		}
		w.Write([]byte("ready\n"))
	})
	return a.observe(recoverer(a, mux), client)
}

// MetricsHandler serves /metrics in the Prometheus format, for the metrics
// listener (--metrics-listen) alone.
func (a *App) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.Metrics.Handler())
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("Twofold metrics: /metrics\n"))
	})
	return mux
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

// recoverer turns a panic into a logged 500 instead of a dropped connection.
func recoverer(a *App, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.Log.ErrorContext(r.Context(), "panic serving request", "path", r.URL.Path, "panic", v)
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// HTTPServer returns the HTTP server of the whole surface (Handler), with
// the configured timeouts: a client gets ReadHeaderTimeout to send its
// headers and ReadTimeout for the whole request, and a keep-alive
// connection closes after IdleTimeout without a request, so slow clients
// (slowloris) cannot hold connections. Its own errors (TLS handshakes,
// malformed requests) go to the structured log.
func (a *App) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: a.Config.ReadHeaderTimeout,
		ReadTimeout:       a.Config.ReadTimeout,
		WriteTimeout:      a.Config.WriteTimeout,
		IdleTimeout:       a.Config.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
}

// Serve serves the public handler on ln, and the metrics on
// --metrics-listen when it is set, until ctx is done (SIGTERM); then it
// drains: /readyz answers 503 at once while requests are still served for
// --drain-delay (so load balancers take the instance out), then both
// servers shut down gracefully — in-flight requests and pending notices get
// up to 15 s — and Serve returns nil. The servers' own errors (TLS
// handshakes, malformed requests) go to the structured log.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	errLog := slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn)
	srv := a.HTTPServer()
	servers := []*http.Server{srv}
	listeners := []net.Listener{ln}
	if a.Config.MetricsListen != "" {
		mln, err := net.Listen("tcp", a.Config.MetricsListen)
		if err != nil {
			return fmt.Errorf("metrics listener: %w", err)
		}
		a.Log.Info("serving metrics", "listen", mln.Addr().String(), "path", "/metrics")
		servers = append(servers, &http.Server{Handler: a.MetricsHandler(), ReadHeaderTimeout: 10 * time.Second,
			WriteTimeout: 30 * time.Second, ErrorLog: errLog})
		listeners = append(listeners, mln)
	}
	go a.janitor(ctx)
	errc := make(chan error, len(servers))
	for i, s := range servers {
		go func() { errc <- s.Serve(listeners[i]) }()
	}
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	a.draining.Store(true)
	if err == nil && a.Config.DrainDelay > 0 {
		a.Log.Info("draining: /readyz answers 503", "delay", a.Config.DrainDelay.String())
		select {
		case err = <-errc:
		case <-time.After(a.Config.DrainDelay):
		}
	}
	a.Log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for _, s := range servers {
		err = errors.Join(err, s.Shutdown(sctx))
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	// Notices queued by the last requests are sent before the process
	// ends, within the same deadline.
	a.Background.Drain(sctx)
	return err
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
// past windows, WebAuthn ceremonies an hour after they expired, confirmation and password reset links a day after they
// expired, invitations 30 days after they expired unaccepted, password
// counters a day after their last failure (unless still locked), OpenID
// Connect authorization requests an hour after they expired, grants and
// tokens a day after they were revoked or expired, request-rate keys whose
// bucket is full again, and audit events older than the retention
// (--audit-retention), in batches; and it rotates the OpenID Connect
// signing keys when due (--oidc-key-rotation) and drops keys that left the
// key set. Several
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
	_, err = a.Store.DeleteExpiredCeremonies(ctx, now.Add(-time.Hour))
	warn("webauthn ceremonies", err)
	_, err = a.Store.DeleteOldSendCounts(ctx, now.Add(-2*time.Hour))
	warn("send counters", err)
	_, err = a.Store.DeleteExpiredEmailConfirmations(ctx, now.Add(-24*time.Hour))
	warn("email confirmations", err)
	_, err = a.Store.DeleteExpiredPasswordResets(ctx, now.Add(-24*time.Hour))
	warn("password reset links", err)
	// An invitation nobody accepted is kept 30 days past its expiry, so
	// admins can still see and resend it for a while.
	_, err = a.Store.DeleteOldInvitations(ctx, now.Add(-30*24*time.Hour))
	warn("invitations", err)
	// A password counter without a failure for a day and without a live
	// lock is forgotten; under a flood of made-up names this keeps the
	// table small.
	_, err = a.Store.DeleteOldPasswordAttempts(ctx, now.Add(-24*time.Hour))
	warn("password counters", err)
	_, err = a.Store.DeleteExpiredAuthRequests(ctx, now.Add(-time.Hour))
	warn("oidc auth requests", err)
	// A grant ends with its session (24 h by default) and its refresh
	// tokens within 30 days; what is past both is removed.
	_, err = a.Store.DeleteOldGrants(ctx, now.Add(-24*time.Hour), now.Add(-31*24*time.Hour))
	warn("oidc grants", err)
	// Device registrations that never passed their second step, and
	// devices removed a day ago (their tokens then answer unauthenticated
	// instead of device_revoked).
	_, err = a.Store.DeleteOldDevices(ctx, now.Add(-24*time.Hour))
	warn("devices", err)
	// A request-rate key whose bucket has been full for a minute means
	// what no key means (the minute allows for instances' clocks).
	_, err = a.Store.DeleteOldRates(ctx, now.Add(-time.Minute))
	warn("request rates", err)
	if a.Config.AuditRetention > 0 {
		_, err = a.PruneAudit(ctx, now.Add(-a.Config.AuditRetention))
		warn("audit retention", err)
	}
	warn("oidc signing keys", a.rotateSigningKeysIfDue(ctx))
}

// Audit retention works in batches of auditBatch events, one short
// transaction each, with auditPause between them so that sign-ins waiting
// for the database (SQLite has one writer) get their turn; one sweep
// deletes at most auditBatches batches, the next sweep goes on.
const (
	auditBatch   = 1000
	auditBatches = 100
	auditPause   = 20 * time.Millisecond
)

// PruneAudit deletes audit events older than cutoff in batches and returns
// how many it deleted (see auditBatch).
func (a *App) PruneAudit(ctx context.Context, cutoff time.Time) (int, error) {
	total := 0
	for range auditBatches {
		n, err := a.Store.DeleteAuditBefore(ctx, cutoff, auditBatch)
		total += n
		if err != nil || n < auditBatch {
			return total, err
		}
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(auditPause):
		}
	}
	return total, nil
}
