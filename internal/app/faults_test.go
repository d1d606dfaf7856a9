package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/password"
	"github.com/twofold-id/twofold/internal/store"
)

// closedWithin reports whether the server closes c (or answers and then
// closes) within d while dribble keeps writing to it; it returns how long
// that took.
func closedWithin(t *testing.T, c net.Conn, d time.Duration, dribble func(i int) string) (bool, time.Duration) {
	t.Helper()
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(io.Discard, c) // returns when the server closes the connection
	}()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-done:
			return true, time.Since(start)
		case <-time.After(time.Until(start.Add(d))):
			return false, d
		case <-tick.C:
			if dribble != nil {
				c.Write([]byte(dribble(i)))
			}
		}
	}
}

// TestSlowClientsCannotHoldConnections runs the real HTTP server with short
// timeouts and three kinds of slow client on raw TCP: one that dribbles
// header lines, one that dribbles a body, and one that opens a keep-alive
// connection and goes quiet. The server closes each connection long before
// the client would have let go.
func TestSlowClientsCannotHoldConnections(t *testing.T) {
	clk := &clock{t: time.Now()}
	a := openAt(t, "sqlite", clk, func(c *config.Config) {
		c.ReadHeaderTimeout, c.ReadTimeout, c.IdleTimeout = 300*time.Millisecond, time.Second, 500*time.Millisecond
	})
	if _, _, err := a.EnsureRoot(t.Context()); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := a.HTTPServer()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	dial := func() net.Conn {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	const patience = 5 * time.Second // the client would go on for this long

	t.Run("headers dribbled a line at a time", func(t *testing.T) {
		c := dial()
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
		if ok, _ := closedWithin(t, c, patience, func(i int) string { return "X-Slow: " + strings.Repeat("a", i%10) + "\r\n" }); !ok {
			t.Fatalf("a client dribbling headers held the connection for %v", patience)
		}
	})
	t.Run("a body dribbled a byte at a time", func(t *testing.T) {
		c := dial()
		io.WriteString(c, "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n{")
		if ok, _ := closedWithin(t, c, patience, func(int) string { return " " }); !ok {
			t.Fatalf("a client dribbling a body held the connection for %v", patience)
		}
	})
	t.Run("an idle keep-alive connection", func(t *testing.T) {
		c := dial()
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(c)
		res, err := http.ReadResponse(br, nil)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("healthz: %v %v", res, err)
		}
		io.Copy(io.Discard, res.Body)
		done := make(chan struct{})
		go func() { defer close(done); io.Copy(io.Discard, br) }()
		select {
		case <-done:
		case <-time.After(patience):
			t.Fatalf("an idle keep-alive connection stayed open for %v", patience)
		}
	})
}

// proxy is a TCP proxy in front of PostgreSQL that a test can cut and
// restore, as a database restart or a network failure would, without
// touching the real server that others use.
type proxy struct {
	t        *testing.T
	addr     string
	upstream string
	mu       sync.Mutex
	ln       net.Listener
	conns    map[net.Conn]bool
}

func newProxy(t *testing.T, upstream string) *proxy {
	p := &proxy{t: t, upstream: upstream, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.upstream)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close(); c.Close() }()
			go func() { io.Copy(c, up); up.Close(); c.Close() }()
		}
	}()
}

// cut closes the listener (new connections are refused) and every open
// connection.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// restore listens again on the same address.
func (p *proxy) restore() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("restore the proxy on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

// TestAnUnreachableDatabaseIs503UnavailableAndTheServerRecoversByItself
// points a server at PostgreSQL through a proxy, cuts the proxy while
// requests come in, and restores it. While it is cut, API and portal
// answer 503 with the stable code unavailable (never 500, never a hang);
// afterwards they serve again without a restart.
func TestAnUnreachableDatabaseIs503UnavailableAndTheServerRecoversByItself(t *testing.T) {
	clk := &clock{t: time.Now()}
	var px *proxy
	a := openAt(t, "postgres", clk, func(c *config.Config) {
		u, err := url.Parse(c.DatabaseURL)
		if err != nil {
			t.Fatal(err)
		}
		px = newProxy(t, u.Host)
		u.Host = px.addr
		c.DatabaseURL = u.String()
	})
	ctx := t.Context()
	root, _, err := a.EnsureRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := password.HashWith(password.TestParams(), testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Store.CreateUser(ctx, store.User{OrgID: root.ID, Username: "alice", UsernameNorm: "alice", Role: store.RoleMember, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	client := &http.Client{Timeout: 15 * time.Second}
	login := func() (int, string, http.Header) {
		t.Helper()
		res, err := client.Post(srv.URL+"/api/v1/auth/login", "application/json",
			strings.NewReader(`{"org":"platform","username":"alice","password":"`+testPassword+`"}`))
		if err != nil {
			t.Fatalf("login: %v (a hang is a failure too)", err)
		}
		defer res.Body.Close()
		var body struct {
			Status string
			Error  struct{ Code string }
		}
		json.NewDecoder(res.Body).Decode(&body)
		return res.StatusCode, body.Status + body.Error.Code, res.Header
	}
	if st, what, _ := login(); st != http.StatusOK {
		t.Fatalf("before the cut: %d %s", st, what)
	}

	px.cut()
	for i := range 3 {
		st, code, hdr := login()
		if st != http.StatusServiceUnavailable || code != "unavailable" || hdr.Get("Retry-After") == "" {
			t.Fatalf("cut, try %d: %d %q (Retry-After %q), want 503 unavailable", i, st, code, hdr.Get("Retry-After"))
		}
	}
	res, err := client.PostForm(srv.URL+"/login", url.Values{"org": {"platform"}, "username": {"alice"}, "password": {testPassword}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("portal sign-in while cut: %d, want 503", res.StatusCode)
	}
	if res, err := client.Get(srv.URL + "/readyz"); err != nil || res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz while cut: %v %v", res, err)
	}

	px.restore()
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, what, _ := login()
		if st == http.StatusOK {
			break
		}
		if st != http.StatusServiceUnavailable {
			t.Fatalf("after the restore: %d %s", st, what)
		}
		if time.Now().After(deadline) {
			t.Fatal("the server did not recover within 15 s of the database coming back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := a.Store.Ping(context.Background()); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("ping after recovery: %v", err)
	}
}
