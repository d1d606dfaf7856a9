package api_test

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/store"
)

// TestTheClientBehindAProxyCannotChooseItsAddress signs in 30 times at once
// through the real handler, as a client behind the proxy the test plays (the
// test's connections come from loopback). The login limiter allows a burst
// of 20 per address and the clock stands still, so a client that cannot
// choose its address is refused 10 times; the audit log records only the
// address the walk found.
func TestTheClientBehindAProxyCannotChooseItsAddress(t *testing.T) {
	t.Parallel()
	const n = 30
	for _, tc := range []struct {
		name    string
		config  func(*config.Config) // on top of --trust-proxy=true (loopback)
		headers func(i int) http.Header
		limited int
		ips     func(i int) string // the audited address of request i
	}{
		{
			name: "two X-Forwarded-For lines, the client varying the first (issue 10)",
			headers: func(i int) http.Header {
				return http.Header{"X-Forwarded-For": {fmt.Sprintf("198.51.100.%d", i), "203.0.113.9"}}
			},
			limited: 10, ips: func(int) string { return "203.0.113.9" },
		},
		{
			name: "one X-Forwarded-For line, the client varying its left part",
			headers: func(i int) http.Header {
				return http.Header{"X-Forwarded-For": {fmt.Sprintf("198.51.100.%d, 203.0.113.9", i)}}
			},
			limited: 10, ips: func(int) string { return "203.0.113.9" },
		},
		{
			name:   "Forwarded, quoted IPv6 with a port, the client varying an element and an X-Forwarded-For",
			config: func(c *config.Config) { c.ProxyHeader = "Forwarded" },
			headers: func(i int) http.Header {
				return http.Header{
					"Forwarded":       {fmt.Sprintf("for=198.51.100.%d", i), `for="[2001:db8::9]:4711";proto=https`},
					"X-Forwarded-For": {fmt.Sprintf("198.51.100.%d", i)},
				}
			},
			limited: 10, ips: func(int) string { return "2001:db8::9" },
		},
		{
			name: "malformed rightmost entries stop at the proxy's address",
			headers: func(i int) http.Header {
				last := fmt.Sprintf("garbage-%d", i)
				if i%2 == 1 {
					last = fmt.Sprintf("198.51.100.%d:4711", i)
				}
				return http.Header{"X-Forwarded-For": {fmt.Sprintf("198.51.100.%d", i), last}}
			},
			limited: 10, ips: func(int) string { return "127.0.0.1" },
		},
		{
			name:   "a peer outside --trusted-proxies is not believed",
			config: func(c *config.Config) { c.TrustedProxies = "192.0.2.0/24" },
			headers: func(i int) http.Header {
				return http.Header{"X-Forwarded-For": {fmt.Sprintf("198.51.100.%d", i)}}
			},
			limited: 10, ips: func(int) string { return "127.0.0.1" },
		},
		{
			name:   "different clients behind a trusted proxy keep their own limits",
			config: func(c *config.Config) { c.TrustedProxies = "127.0.0.1, ::1" },
			headers: func(i int) http.Header {
				return http.Header{"X-Forwarded-For": {"6.6.6.6", fmt.Sprintf("198.51.100.%d", i)}}
			},
			limited: 0, ips: func(i int) string { return fmt.Sprintf("198.51.100.%d", i) },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newServerConfig(t, func(c *config.Config) {
				if tc.config != nil {
					tc.config(c)
				}
			})
			s.orgAndUser()
			body := []byte(`{"org":"acme","username":"alice","password":"` + testPassword + `"}`)
			var wg sync.WaitGroup
			status := make([]int, n)
			for i := range n {
				wg.Go(func() {
					req, err := http.NewRequest(http.MethodPost, s.srv.URL+"/api/v1/auth/login", bytes.NewReader(body))
					if err != nil {
						t.Error(err)
						return
					}
					req.Header = tc.headers(i)
					req.Header.Set("Content-Type", "application/json")
					res, err := s.srv.Client().Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					status[i] = res.StatusCode
				})
			}
			wg.Wait()
			limited, want := 0, map[string]bool{}
			for i, st := range status {
				switch st {
				case http.StatusTooManyRequests:
					limited++
				case http.StatusOK:
					want[tc.ips(i)] = true
				default:
					t.Fatalf("sign-in %d: status %d", i, st)
				}
			}
			if limited != tc.limited {
				t.Fatalf("%d of %d sign-ins limited, want %d (statuses %v)", limited, n, tc.limited, status)
			}
			events, err := s.app.Store.ListAudit(t.Context(), store.AuditFilter{Event: "signin.", Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, e := range events {
				got[e.IP] = true
			}
			if len(events) == 0 || !maps.Equal(got, want) {
				t.Fatalf("audited addresses %v, want %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
			}
		})
	}
}
