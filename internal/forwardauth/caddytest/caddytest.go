// Package caddytest runs a real Caddy (Debian's caddy 2.6) for tests: a
// generated Caddyfile in the test's directory, with HOME, XDG_DATA_HOME and
// XDG_CONFIG_HOME there too (Caddy keeps its storage and autosave in them),
// the admin endpoint off, automatic HTTPS off and its HTTP port on a free
// port, in the foreground, so it needs no root and leaves nothing behind.
//
// Start skips the test when caddy is not installed, unless the environment
// sets TWOFOLD_REQUIRE_CADDY=1 (CI does), in which case it fails.
package caddytest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// A Server is a running Caddy.
type Server struct {
	Port int // Caddy's http_port: every site address in the Caddyfile should use it
	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
	out  bytes.Buffer
}

// Binary returns the caddy binary, or skips (fails under
// TWOFOLD_REQUIRE_CADDY=1) when there is none.
func Binary(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("caddy")
	if err != nil {
		if os.Getenv("TWOFOLD_REQUIRE_CADDY") == "1" {
			t.Fatal("caddy is not installed and TWOFOLD_REQUIRE_CADDY=1")
		}
		t.Skip("caddy is not installed (apt-get install caddy); set TWOFOLD_REQUIRE_CADDY=1 to fail instead")
	}
	return bin
}

// Global is the global options block Start puts before the sites: no
// admin endpoint, no automatic HTTPS (no certificates, no redirects), and
// port as the HTTP port.
func Global(port int) string {
	return fmt.Sprintf("{\n\tadmin off\n\tauto_https off\n\thttp_port %d\n}\n\n", port)
}

// Start runs caddy with Global(port) followed by sites (site blocks of a
// Caddyfile) until the test ends, and returns once port answers.
func Start(t testing.TB, port int, sites string) *Server {
	t.Helper()
	bin := Binary(t)
	dir := t.TempDir()
	s := &Server{Port: port}
	conf := Global(port) + sites
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+filepath.Join(dir, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
	validate := exec.Command(bin, "validate", "--config", path, "--adapter", "caddyfile")
	validate.Env = env
	if out, err := validate.CombinedOutput(); err != nil {
		t.Fatalf("caddy validate: %v\n%s\n%s", err, out, conf)
	}
	s.cmd = exec.Command(bin, "run", "--config", path, "--adapter", "caddyfile")
	s.cmd.Env = env
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = (*logWriter)(s), (*logWriter)(s)
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.done = make(chan struct{})
	go func() { s.cmd.Wait(); close(s.done) }()
	t.Cleanup(s.stop)
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			return s
		}
		select {
		case <-s.done:
			t.Fatalf("caddy exited:\n%s\n%s", s.Log(), conf)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("caddy did not start listening: %v\n%s", err, s.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type logWriter Server

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.Write(p)
}

// Log returns what caddy wrote so far (for failure messages).
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// stop ends caddy.
func (s *Server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}
