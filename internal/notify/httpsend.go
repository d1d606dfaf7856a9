package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// maxAttempts is how many times the HTTP texters try one message.
const maxAttempts = 3

// defaultBackoff is the pause before the second and third attempt.
var defaultBackoff = []time.Duration{200 * time.Millisecond, 400 * time.Millisecond}

// maxResponseBody bounds how much of a provider's answer is read.
const maxResponseBody = 64 << 10

// retrier runs one delivery with a total time budget, retrying temporary
// failures. Its zero value is not usable; see newRetrier.
type retrier struct {
	timeout time.Duration
	// backoff[i] is the pause before attempt i+2; tests shorten it.
	backoff []time.Duration
}

func newRetrier(timeout time.Duration) (retrier, error) {
	if timeout < 0 {
		return retrier{}, errors.New("negative timeout")
	}
	if timeout == 0 {
		timeout = defaultTimeout
	}
	return retrier{timeout: timeout, backoff: defaultBackoff}, nil
}

// do calls attempt up to maxAttempts times while it fails with a temporary
// *ProviderError, pausing between attempts. The whole call, pauses
// included, ends within r.timeout or when ctx ends, whichever is first.
func (r retrier) do(ctx context.Context, attempt func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	var err error
	for i := range maxAttempts {
		if i > 0 {
			pause := r.backoff[min(i-1, len(r.backoff)-1)]
			t := time.NewTimer(pause)
			select {
			case <-ctx.Done():
				t.Stop()
				return err
			case <-t.C:
			}
		}
		err = attempt(ctx)
		if err == nil || !IsTemporary(err) {
			return err
		}
		if ctx.Err() != nil {
			return err
		}
	}
	return err
}

// newHTTPClient returns the client used when a config has none: no
// redirects are followed (a provider answering with a redirect is
// misconfigured, and the request carries a code).
func newHTTPClient() *http.Client {
	return &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// checkEndpoint requires an absolute https URL, or http to a loopback
// host (tests, a local gateway): requests carry codes and credentials.
func checkEndpoint(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("bad URL: %w", err)
	}
	switch {
	case u.Host == "":
		return nil, fmt.Errorf("URL %q has no host", raw)
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopbackHost(u.Hostname()):
	default:
		return nil, fmt.Errorf("URL %q must use https (http only for localhost)", raw)
	}
	if u.User != nil {
		return nil, errors.New("URL must not contain credentials")
	}
	return u, nil
}

// roundTrip sends req and returns the status and (bounded) body of the
// answer. A transport failure is returned as a *ProviderError, Temporary for
// timeouts; the caller's ctx ending is reported as such.
func roundTrip(ctx context.Context, c *http.Client, provider string, req *http.Request) (int, []byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, transportError(ctx, provider, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil {
		return resp.StatusCode, nil, transportError(ctx, provider, err)
	}
	return resp.StatusCode, body, nil
}

func transportError(ctx context.Context, provider string, err error) error {
	pe := &ProviderError{Provider: provider, Message: "request failed", Err: err}
	var ne net.Error
	switch {
	case ctx.Err() != nil:
		pe.Message = "gave up: " + ctx.Err().Error()
		pe.Temporary = true
	case errors.As(err, &ne) && ne.Timeout():
		pe.Message = "timeout"
		pe.Temporary = true
	}
	return pe
}

// statusTemporary reports whether an HTTP status may succeed when retried.
func statusTemporary(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}
