package app_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/config"
)

// TestStoppingInstanceReportsNotReadyWhileItDrains plays SIGTERM (the
// context of Serve ends) on an instance with --drain-delay: /readyz answers
// 503 at once while other requests are still served, a request in flight
// gets its real answer, and Serve returns nil.
func TestStoppingInstanceReportsNotReadyWhileItDrains(t *testing.T) {
	a := openAt(t, "sqlite", &clock{t: time.Now()}, func(c *config.Config) { c.DrainDelay = 5 * time.Second })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	served := make(chan error, 1)
	go func() { served <- a.Serve(ctx, ln) }()

	get := func(path string) (int, string) {
		res, err := http.Get(base + path)
		if err != nil {
			return 0, err.Error()
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := get("/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz before the stop: %d %s", code, body)
	}

	// A sign-in whose body is still being sent when the stop comes.
	pr, pw := io.Pipe()
	inflight := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest("POST", base+"/api/v1/auth/login", pr)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			inflight <- err.Error()
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		inflight <- fmt.Sprint(res.StatusCode, " ", string(b))
	}()
	fmt.Fprint(pw, `{"org":"platform","username":"nobody",`)

	stop()
	var code int
	var body string
	for range 200 {
		if code, body = get("/readyz"); code == http.StatusServiceUnavailable {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "draining") {
		t.Fatalf("/readyz while draining: %d %s", code, body)
	}
	if code, body := get("/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz while draining: %d %s", code, body)
	}
	fmt.Fprint(pw, `"password":"wrong password"}`)
	pw.Close()
	if got := <-inflight; !strings.HasPrefix(got, "401 ") || !strings.Contains(got, "invalid_credentials") {
		t.Fatalf("the sign-in in flight at the stop: %s", got)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve after the drain: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Serve did not return after the drain")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("still serving after the drain")
	}
}
