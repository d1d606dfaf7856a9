package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// client speaks Twofold's JSON API over real HTTP.
type client struct {
	base  string
	http  *http.Client
	token string // admin session or API key, for seeding
}

func newClient(base, token string, conns int) *client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &client{base: strings.TrimRight(base, "/"), token: token,
		http: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

// answer is the outcome of one request: the status (0 when no answer came),
// the API's error code or the sign-in status, and the decoded body.
type answer struct {
	status int
	code   string
	body   map[string]any
	err    error
}

// outcome is how an answer is counted: "200 mfa_required", "401
// invalid_code", "transport: connection reset".
func (a answer) outcome() string {
	if a.err != nil {
		return "transport: " + shortErr(a.err)
	}
	return fmt.Sprintf("%d %s", a.status, a.code)
}

func shortErr(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	case strings.Contains(err.Error(), "connection reset"):
		return "connection reset"
	case strings.Contains(err.Error(), "connection refused"):
		return "connection refused"
	}
	s := err.Error()
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}

// call sends one JSON request. forwardedFor, when set, is sent as
// X-Forwarded-For (one address per simulated user; the server believes it
// only from a trusted proxy).
func (c *client) call(ctx context.Context, method, path, bearer, forwardedFor string, body any) answer {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return answer{err: err}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return answer{err: err}
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if forwardedFor != "" {
		req.Header.Set("X-Forwarded-For", forwardedFor)
	}
	req.Header.Set("User-Agent", "twofold-loadtest")
	res, err := c.http.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return answer{status: res.StatusCode, err: err}
	}
	a := answer{status: res.StatusCode}
	if len(raw) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		json.Unmarshal(raw, &a.body)
	}
	if e, ok := a.body["error"].(map[string]any); ok {
		a.code, _ = e["code"].(string)
	} else if st, ok := a.body["status"].(string); ok {
		a.code = st
	}
	return a
}

func (a answer) str(key string) string {
	s, _ := a.body[key].(string)
	return s
}

// healthz asks /healthz and reports how long the answer took.
func (c *client) healthz(ctx context.Context) (time.Duration, bool) {
	start := time.Now()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/healthz", nil)
	res, err := c.http.Do(req)
	if err != nil {
		return time.Since(start), false
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return time.Since(start), res.StatusCode == http.StatusOK
}

// addressOf is the client address simulated for user i: 10.x.y.z.
func addressOf(i int) string {
	return fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
}
