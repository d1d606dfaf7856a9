// Package nginxtest runs a real nginx (Debian's nginx, with the
// auth_request module) for tests: a generated configuration with its own
// pid file, error log and temporary paths in the test's directory, in the
// foreground on a free loopback port, so it needs no root and leaves
// nothing behind.
//
// Start skips the test when nginx is not installed, unless the environment
// sets TWOFOLD_REQUIRE_NGINX=1 (CI does), in which case it fails.
package nginxtest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A Server is a running nginx.
type Server struct {
	Port int // the port every server block listens on (127.0.0.1)
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
	out  *bytes.Buffer
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Binary returns the nginx binary, or skips (fails under
// TWOFOLD_REQUIRE_NGINX=1) when there is none.
func Binary(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		bin = "/usr/sbin/nginx"
		if _, err := os.Stat(bin); err != nil {
			if os.Getenv("TWOFOLD_REQUIRE_NGINX") == "1" {
				t.Fatal("nginx is not installed and TWOFOLD_REQUIRE_NGINX=1")
			}
			t.Skip("nginx is not installed (apt-get install nginx); set TWOFOLD_REQUIRE_NGINX=1 to fail instead")
		}
	}
	return bin
}

// Start runs nginx on port with the http block's contents httpBlock (server
// blocks and the like; PORT in it is replaced by port) until the test ends.
func Start(t testing.TB, port int, httpBlock string) *Server {
	t.Helper()
	bin := Binary(t)
	dir := t.TempDir()
	s := &Server{Port: port, dir: dir, out: &bytes.Buffer{}}
	user := ""
	if os.Geteuid() == 0 {
		// As root, nginx would switch its workers to nobody, who cannot
		// read the test's directory.
		user = "user root root;\n"
	}
	conf := user + strings.NewReplacer("DIR", dir).Replace(`daemon off;
master_process on;
worker_processes 1;
pid DIR/nginx.pid;
error_log DIR/error.log info;
events { worker_connections 64; }
http {
    access_log DIR/access.log;
    client_body_temp_path DIR/body;
    proxy_temp_path DIR/proxy;
    fastcgi_temp_path DIR/fastcgi;
    uwsgi_temp_path DIR/uwsgi;
    scgi_temp_path DIR/scgi;
`) + strings.ReplaceAll(httpBlock, "PORT", fmt.Sprint(port)) + "\n}\n"
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-t", "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", path).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s\n%s", err, out, conf)
	}
	s.cmd = exec.Command(bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", path)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.done = make(chan struct{})
	go func() { s.cmd.Wait(); close(s.done) }()
	t.Cleanup(s.stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			return s
		}
		select {
		case <-s.done:
			t.Fatalf("nginx exited: %s\n%s", s.out, s.ErrorLog())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not start listening: %v\n%s", err, s.ErrorLog())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ErrorLog returns nginx's error log so far (for failure messages).
func (s *Server) ErrorLog() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "error.log"))
	return string(b)
}

// stop ends nginx: the master process and, with it, its worker.
func (s *Server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	// SIGQUIT would wait for open connections; the test is over.
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}
