// Package tracing sends OpenTelemetry traces over OTLP/HTTP when an
// endpoint is configured (--otel-endpoint): a span for every HTTP request
// (named by its route pattern, continuing a W3C traceparent sent by a
// proxy), for every password hash, and for every PostgreSQL query. A nil
// *Tracer is off: every method then returns at once without allocating.
package tracing

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/twofold-id/twofold/internal/store"
)

// A Tracer makes Twofold's spans. The nil Tracer makes none.
type Tracer struct {
	tp    *sdktrace.TracerProvider
	t     trace.Tracer
	props propagation.TextMapPropagator
}

// New returns a Tracer exporting to the OTLP/HTTP receiver at endpoint,
// e.g. http://127.0.0.1:4318 (the path /v1/traces is added when the URL has
// none), or nil when endpoint is empty. Spans are batched and sent in the
// background; an unreachable collector costs dropped spans, not requests.
func New(endpoint, version string) (*Tracer, error) {
	if endpoint == "" {
		return nil, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("otel endpoint: %w", err)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces"
	}
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(u.String()), otlptracehttp.WithTimeout(5*time.Second))
	if err != nil {
		return nil, fmt.Errorf("otel exporter: %w", err)
	}
	res := resource.NewSchemaless(attribute.String("service.name", "twofold"), attribute.String("service.version", version))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())))
	return &Tracer{tp: tp, t: tp.Tracer("github.com/twofold-id/twofold"), props: propagation.TraceContext{}}, nil
}

// NewWithProvider returns a Tracer over tp (tests use an in-memory one).
func NewWithProvider(tp *sdktrace.TracerProvider) *Tracer {
	return &Tracer{tp: tp, t: tp.Tracer("github.com/twofold-id/twofold"), props: propagation.TraceContext{}}
}

// Shutdown sends the spans still buffered and stops the exporter.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.tp.Shutdown(ctx)
}

func noEnd(string, int) {}

// Request starts the span of an HTTP request, continuing the trace of a
// traceparent header, and returns the function that ends it with the
// route pattern and status.
func (t *Tracer) Request(ctx context.Context, r *http.Request) (context.Context, func(route string, status int)) {
	if t == nil {
		return ctx, noEnd
	}
	ctx = t.props.Extract(ctx, propagation.HeaderCarrier(r.Header))
	ctx, span := t.t.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path)))
	return ctx, func(route string, status int) {
		if route != "" {
			span.SetName(route)
			span.SetAttributes(attribute.String("http.route", route))
		}
		span.SetAttributes(attribute.Int("http.response.status_code", status))
		if status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
		span.End()
	}
}

func noop() {}

// Hash starts the span of one password-hash computation (see
// password.Hasher.OnCompute) and returns the function that ends it.
func (t *Tracer) Hash(ctx context.Context) func() {
	if t == nil {
		return noop
	}
	_, span := t.t.Start(ctx, "password.hash")
	return func() { span.End() }
}

// QueryHook returns the hook that makes a span of every query, or nil
// when t is off.
func (t *Tracer) QueryHook() store.QueryHook {
	if t == nil {
		return nil
	}
	return func(ctx context.Context, op string) (context.Context, func(error)) {
		ctx, span := t.t.Start(ctx, "db "+op, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("db.system.name", "postgresql"), attribute.String("db.operation.name", op)))
		return ctx, func(err error) {
			if err != nil {
				span.SetStatus(codes.Error, "query failed")
			}
			span.End()
		}
	}
}
