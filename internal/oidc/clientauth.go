package oidc

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/ratelimit"
	"github.com/twofold-id/twofold/internal/store"
)

// Failed client authentications at the token, introspection and revocation
// endpoints are limited per address and per client_id, each with a token
// bucket of failures: an address may fail clientAuthIPBurst times at once
// and then clientAuthIPPerMinute times a minute; a client_id (from any
// address) clientAuthClientBurst times and then clientAuthClientPerMinute a
// minute. Past either, every request with that address or client_id is
// answered 429 with an RFC 6749 error body (invalid_client) and
// Retry-After, before its credentials are looked at. Client secrets are 256
// random bits, so this bounds load and noise rather than guessing; the
// per-client bucket is large so that an attacker cannot cheaply lock a
// real app out, and it refills within minutes.
const (
	clientAuthIPBurst         = 20
	clientAuthIPPerMinute     = 10
	clientAuthClientBurst     = 100
	clientAuthClientPerMinute = 30
)

// clientAuthLimits are the two failure buckets.
type clientAuthLimits struct {
	byIP, byClient *ratelimit.IPLimiter
}

func newClientAuthLimits(now func() time.Time) clientAuthLimits {
	return clientAuthLimits{byIP: ratelimit.NewIPLimiter(clientAuthIPPerMinute, clientAuthIPBurst, now),
		byClient: ratelimit.NewIPLimiter(clientAuthClientPerMinute, clientAuthClientBurst, now)}
}

type clientIPKey struct{}

// WithClientIP returns ctx carrying the address a request came from (as
// the server's trusted-proxy rules resolved it), for the client
// authentication limits.
func WithClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, clientIPKey{}, ip)
}

func clientIPOf(ctx context.Context) string {
	ip, _ := ctx.Value(clientIPKey{}).(string)
	return ip
}

// limitClientAuth refuses a request to an endpoint that authenticates
// clients while its address or its client_id (HTTP Basic, the only method
// confidential clients have) used up its failures.
func (p *Provider) limitClientAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		blocked, wait := p.authLimits.byIP.Blocked(clientIPOf(r.Context()))
		if !blocked {
			if id, _, ok := r.BasicAuth(); ok {
				if id, err := url.QueryUnescape(id); err == nil {
					blocked, wait = p.authLimits.byClient.Blocked(id)
				}
			}
		}
		if !blocked {
			next.ServeHTTP(w, r)
			return
		}
		secs := int((wait + time.Second - 1) / time.Second)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		w.WriteHeader(http.StatusTooManyRequests)
		json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client",
			"error_description": fmt.Sprintf("Too many failed client authentications. Try again in %d seconds.", secs)})
	})
}

// clientAuthFailed counts a failed client authentication against the
// request's address and the client_id, and records it.
func (p *Provider) clientAuthFailed(ctx context.Context, clientID string) {
	ip := clientIPOf(ctx)
	p.authLimits.byIP.Allow(ctx, ip) // in memory: never an error
	if clientID != "" {
		p.authLimits.byClient.Allow(ctx, clientID)
	}
	if len(clientID) > 64 {
		clientID = clientID[:64]
	}
	p.audit.Record(ctx, store.AuditEvent{Event: audit.TokenRefused, Outcome: audit.Denied, IP: ip,
		Detail: fmt.Sprintf("client %q: invalid client credentials", clientID)})
}

type signingAlgKey struct{}

// signingAlgOf is the signing algorithm withClientAlg chose, or ES256.
func signingAlgOf(ctx context.Context) string {
	if alg, _ := ctx.Value(signingAlgKey{}).(string); alg != "" {
		return alg
	}
	return algES256
}

// withClientAlg puts the signing algorithm of the token request's client
// (id_token_signed_response_alg) into the request's context, for
// SigningKey, which op asks without naming the client. The client is the
// one the request names — HTTP Basic for confidential clients, client_id
// in the form for public ones; op then authenticates it as always, so a
// request naming a client it is not gets no token at all.
func (p *Provider) withClientAlg(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _, ok := r.BasicAuth()
		if ok {
			id, _ = url.QueryUnescape(id)
		} else if r.Method == http.MethodPost {
			id = r.PostFormValue("client_id")
		}
		if id != "" {
			if cl, err := p.store.GetClient(r.Context(), id); err == nil && cl.SigningAlg() != algES256 {
				r = r.WithContext(context.WithValue(r.Context(), signingAlgKey{}, cl.SigningAlg()))
			}
		}
		next.ServeHTTP(w, r)
	})
}
