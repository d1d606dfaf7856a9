// Package metrics is Twofold's Prometheus instrumentation: HTTP requests by
// route pattern, security events (sign-in steps, second-factor failures,
// delays and lockouts, messages sent, quota hits), the password-hash queue,
// and the database pools and queries.
//
// Every App has its own registry; it is served only on the separate metrics
// listener (--metrics-listen), never on the public port. Security events are
// counted from the audit log (audit.Logger.Observe), so whatever the audit
// log records, the metrics count, with no second set of calls in the
// sign-in code. Labels take values from small fixed sets: route patterns,
// never raw paths; methods and outcomes, never user or org ids.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/factor"
	"github.com/twofold-id/twofold/internal/factor/methods"
	"github.com/twofold-id/twofold/internal/password"
	"github.com/twofold-id/twofold/internal/store"
)

// Metrics holds the collectors of one Twofold instance.
type Metrics struct {
	reg *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	httpInFlight prometheus.Gauge

	signinSteps     *prometheus.CounterVec
	signinsDone     prometheus.Counter
	codeChecks      *prometheus.CounterVec
	lockouts        prometheus.Counter
	messagesSent    *prometheus.CounterVec
	quotaHits       *prometheus.CounterVec
	securityNotices *prometheus.CounterVec

	hashWait      prometheus.Histogram
	queryDuration *prometheus.HistogramVec
}

// Label values for unknown or missing parts.
const unknown = "unknown"

// New returns the metrics of one instance; version goes into
// twofold_build_info.
func New(version string) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{reg: reg}
	info := prometheus.NewGauge(prometheus.GaugeOpts{Name: "twofold_build_info", Help: "Always 1; the version label says which build runs.",
		ConstLabels: prometheus.Labels{"version": version}})
	info.Set(1)
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "twofold_http_requests_total", Help: "HTTP requests by route pattern, method and status code.",
	}, []string{"route", "method", "code"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "twofold_http_request_duration_seconds", Help: "HTTP request duration by route pattern, until the handler returned.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route"})
	m.httpInFlight = prometheus.NewGauge(prometheus.GaugeOpts{Name: "twofold_http_requests_in_flight", Help: "HTTP requests being served."})
	m.signinSteps = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "twofold_signin_steps_total",
		Help: "Sign-in steps: step=password (method password) or second_factor (method totp, backup_code, email, sms); " +
			"outcome success, failure, delayed (too many recent failures) or locked.",
	}, []string{"step", "method", "outcome"})
	m.signinsDone = prometheus.NewCounter(prometheus.CounterOpts{Name: "twofold_signins_completed_total", Help: "Sign-ins that issued a session."})
	m.codeChecks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "twofold_code_checks_total",
		Help: "Second-factor checks outside sign-in (self-service changes, step-up) by method and outcome (success, failure, delayed, locked).",
	}, []string{"method", "outcome"})
	m.lockouts = prometheus.NewCounter(prometheus.CounterOpts{Name: "twofold_second_factor_lockouts_total",
		Help: "Accounts whose second factor locked after too many consecutive failures."})
	m.messagesSent = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "twofold_messages_sent_total",
		Help: "Codes (kind=code) and confirmation links (kind=confirmation) sent, by channel (email, sms) and outcome (success, failure, quota).",
	}, []string{"kind", "channel", "outcome"})
	m.quotaHits = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "twofold_send_quota_hits_total", Help: "Sends refused because the hourly quota of an account (scope=user) or an org (scope=org) was spent.",
	}, []string{"scope", "kind"})
	m.securityNotices = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "twofold_security_notices_total", Help: "Security notices mailed to users, by outcome.",
	}, []string{"outcome"})
	m.hashWait = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "twofold_password_hash_wait_seconds", Help: "How long a password hash waited for a free slot (see --hash-concurrency).",
		Buckets: []float64{0, .001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	})
	m.queryDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "twofold_db_query_duration_seconds", Help: "Database query duration by statement kind (PostgreSQL) and outcome.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
	}, []string{"op", "outcome"})
	reg.MustRegister(info, m.httpRequests, m.httpDuration, m.httpInFlight, m.signinSteps, m.signinsDone, m.codeChecks, m.lockouts,
		m.messagesSent, m.quotaHits, m.securityNotices, m.hashWait, m.queryDuration)
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry returns the registry (tests read it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// RequestStarted counts a request in flight until the returned function is
// called with its route pattern, method, status and duration. An empty
// route (no pattern matched) is counted as "unmatched".
func (m *Metrics) RequestStarted() func(route, method string, status int, d time.Duration) {
	m.httpInFlight.Inc()
	return func(route, method string, status int, d time.Duration) {
		m.httpInFlight.Dec()
		if route == "" {
			route = "unmatched"
		}
		m.httpRequests.WithLabelValues(route, methodLabel(method), strconv.Itoa(status)).Inc()
		m.httpDuration.WithLabelValues(route).Observe(d.Seconds())
	}
}

// methodLabel keeps the method label to the methods Twofold serves.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// Audit counts a security event; pass it to audit.Logger.Observe.
func (m *Metrics) Audit(e store.AuditEvent) {
	switch e.Event {
	case audit.SignInPassword:
		m.signinSteps.WithLabelValues("password", "password", checkOutcome(e)).Inc()
	case audit.SignInSecondFactor:
		m.signinSteps.WithLabelValues("second_factor", detailMethod(e.Detail), checkOutcome(e)).Inc()
	case audit.SignInCompleted:
		m.signinsDone.Inc()
	case audit.CodeChecked:
		m.codeChecks.WithLabelValues(detailMethod(e.Detail), checkOutcome(e)).Inc()
	case audit.Lockout:
		m.lockouts.Inc()
	case audit.CodeSent:
		m.sent("code", e)
	case audit.EmailConfirmSent:
		m.sent("confirmation", e)
	case audit.Notified:
		m.securityNotices.WithLabelValues(outcomeLabel(e.Outcome)).Inc()
	}
}

// sent counts a code or confirmation link sent, failed, or refused by a quota.
func (m *Metrics) sent(kind string, e store.AuditEvent) {
	if e.Outcome == audit.Denied {
		// "quota user exhausted" / "quota org exhausted"
		scope := unknown
		if f := strings.Fields(e.Detail); len(f) >= 2 && f[0] == "quota" {
			scope = strings.TrimSuffix(f[1], ":")
		}
		m.quotaHits.WithLabelValues(oneOf(scope, "user", "org"), kind).Inc()
		// Refused before a channel was chosen.
		m.messagesSent.WithLabelValues(kind, unknown, "quota").Inc()
		return
	}
	channel := "email" // confirmation links go by mail
	if kind == "code" {
		// "sms code for signin", "email delivery failed": the method sent.
		channel = oneOf(firstWord(e.Detail), methods.Default.Kinds(factor.Sent)...)
	}
	m.messagesSent.WithLabelValues(kind, channel, outcomeLabel(e.Outcome)).Inc()
}

// checkOutcome is the outcome of a code or password check: success,
// failure, or for a refused attempt delayed or locked.
func checkOutcome(e store.AuditEvent) string {
	if e.Outcome != audit.Denied {
		return outcomeLabel(e.Outcome)
	}
	if strings.Contains(e.Detail, "locked") {
		return "locked"
	}
	return "delayed"
}

func outcomeLabel(o string) string { return oneOf(o, audit.Success, audit.Failure, audit.Denied) }

// detailMethod reads "method=totp" from an audit detail.
func detailMethod(detail string) string {
	for _, f := range strings.Fields(detail) {
		if v, ok := strings.CutPrefix(f, "method="); ok {
			if _, ok := methods.Default.Lookup(v); ok || v == "any" {
				return v
			}
			return unknown
		}
	}
	return unknown
}

func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

// oneOf returns v when it is one of allowed, and "unknown" otherwise, so a
// label never takes a value outside a small set.
func oneOf(v string, allowed ...string) string {
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	return unknown
}

// WatchHasher exports h's queue (running, waiting, capacity) at every
// scrape and the wait of every hash.
func (m *Metrics) WatchHasher(h *password.Hasher) {
	gauge := func(name, help string, f func(password.Stats) int) {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
			func() float64 { return float64(f(h.Stats())) }))
	}
	gauge("twofold_password_hash_running", "Password hashes being computed.", func(s password.Stats) int { return s.Running })
	gauge("twofold_password_hash_queue_depth", "Password hashes waiting for a free slot.", func(s password.Stats) int { return s.Waiting })
	gauge("twofold_password_hash_slots", "Password hashes allowed at once (--hash-concurrency).", func(s password.Stats) int { return s.Capacity })
	h.OnWait(func(d time.Duration) { m.hashWait.Observe(d.Seconds()) })
}

// WatchPools exports the connection pools of st at every scrape.
func (m *Metrics) WatchPools(st store.PoolReporter) { m.reg.MustRegister(poolCollector{st}) }

var (
	poolMax     = prometheus.NewDesc("twofold_db_pool_max_connections", "Connections the pool may open.", []string{"pool"}, nil)
	poolOpen    = prometheus.NewDesc("twofold_db_pool_open_connections", "Connections open (in use or idle).", []string{"pool"}, nil)
	poolInUse   = prometheus.NewDesc("twofold_db_pool_in_use_connections", "Connections in use.", []string{"pool"}, nil)
	poolIdle    = prometheus.NewDesc("twofold_db_pool_idle_connections", "Idle connections.", []string{"pool"}, nil)
	poolWaits   = prometheus.NewDesc("twofold_db_pool_waits_total", "Times a caller waited for a connection.", []string{"pool"}, nil)
	poolWaitSec = prometheus.NewDesc("twofold_db_pool_wait_seconds_total", "Total time callers waited for a connection.", []string{"pool"}, nil)
)

type poolCollector struct{ st store.PoolReporter }

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolMax, poolOpen, poolInUse, poolIdle, poolWaits, poolWaitSec} {
		ch <- d
	}
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.st.PoolStats() {
		ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(p.Max), p.Pool)
		ch <- prometheus.MustNewConstMetric(poolOpen, prometheus.GaugeValue, float64(p.Open), p.Pool)
		ch <- prometheus.MustNewConstMetric(poolInUse, prometheus.GaugeValue, float64(p.InUse), p.Pool)
		ch <- prometheus.MustNewConstMetric(poolIdle, prometheus.GaugeValue, float64(p.Idle), p.Pool)
		ch <- prometheus.MustNewConstMetric(poolWaits, prometheus.CounterValue, float64(p.WaitCount), p.Pool)
		ch <- prometheus.MustNewConstMetric(poolWaitSec, prometheus.CounterValue, p.WaitDuration.Seconds(), p.Pool)
	}
}

// QueryHook returns a store.QueryHook that records query durations and
// then calls next (which may be nil).
func (m *Metrics) QueryHook(next store.QueryHook) store.QueryHook {
	return func(ctx context.Context, op string) (context.Context, func(error)) {
		start := time.Now()
		var end func(error)
		if next != nil {
			ctx, end = next(ctx, op)
		}
		return ctx, func(err error) {
			outcome := "ok"
			if err != nil {
				outcome = "error"
			}
			m.queryDuration.WithLabelValues(op, outcome).Observe(time.Since(start).Seconds())
			if end != nil {
				end(err)
			}
		}
	}
}
