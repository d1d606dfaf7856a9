package main

// Crash tests: the built binary, killed with SIGKILL in the middle of a
// sign-in load, loses nothing a client was told had happened.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/twofold-id/twofold/internal/factor/totp"
	"github.com/twofold-id/twofold/internal/password"
	"github.com/twofold-id/twofold/internal/store"
	"github.com/twofold-id/twofold/internal/store/postgres"
	"github.com/twofold-id/twofold/internal/store/postgres/pgtest"
	"github.com/twofold-id/twofold/internal/store/sqlite"
)

const crashPassword = "correct horse battery staple"

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds this command once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "twofold-crash-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "twofold")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// instance is a running `twofold serve`.
type instance struct {
	name string
	cmd  *exec.Cmd
	url  string
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serve starts the binary's server on a free port and waits until it
// listens.
func serve(t *testing.T, name string, args ...string) *instance {
	t.Helper()
	in := &instance{name: name, logs: &syncBuffer{}}
	in.cmd = exec.Command(binary(t), append([]string{"serve", "--listen", "127.0.0.1:0", "--trusted-proxies", "127.0.0.1",
		"--log-level", "warn"}, args...)...)
	in.cmd.Stderr = in.logs
	out, err := in.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.cmd.Process.Kill()
		in.cmd.Wait()
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if _, rest, ok := strings.Cut(sc.Text(), "listening on "); ok {
				found <- strings.Fields(rest)[0]
			}
		}
	}()
	select {
	case in.url = <-found:
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not start listening:\n%s", name, in.logs.String())
	}
	return in
}

// kill sends SIGKILL: no shutdown, no flush, nothing.
func (in *instance) kill(t *testing.T) {
	t.Helper()
	if err := in.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	in.cmd.Wait()
}

// runCLI runs an admin command of the binary.
func runCLI(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("twofold %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// crashUser is a user with an authenticator app, as its phone knows it.
type crashUser struct {
	name   string
	secret []byte
	addr   string
	last   int64 // newest step presented
}

// importUsers creates n users of the root org, with the default argon2id
// parameters and an authenticator app each, through `twofold user import`.
func importUsers(t *testing.T, n int, dbArgs ...string) []*crashUser {
	t.Helper()
	hash, err := password.HashWith(password.DefaultParams(), crashPassword)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	users := make([]*crashUser, n)
	for i := range users {
		secret, _ := totp.GenerateSecret()
		users[i] = &crashUser{name: fmt.Sprintf("user%d", i), secret: secret, addr: fmt.Sprintf("10.0.%d.%d", i/250, i%250+1)}
		line, _ := json.Marshal(map[string]any{"username": users[i].name, "password_hash": hash,
			"totp": []map[string]string{{"secret": totp.EncodeSecret(secret)}}})
		lines = append(lines, string(line))
	}
	file := filepath.Join(t.TempDir(), "users.jsonl")
	os.WriteFile(file, []byte(strings.Join(lines, "\n")), 0o600)
	runCLI(t, "", append([]string{"user", "import", "--org", "platform", "--file", file}, dbArgs...)...)
	// The import's step is refused; start after it.
	now := totp.Default().Step(time.Now())
	for _, u := range users {
		u.last = now
	}
	return users
}

var httpClient = &http.Client{Timeout: 20 * time.Second}

// post sends a JSON request; status 0 means no answer came.
func post(url, path, addr string, body any) (int, map[string]any) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", addr)
	res, err := httpClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer res.Body.Close()
	var m map[string]any
	json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

// nextCode returns the code of the earliest step the server accepts that
// is newer than any u presented, or "" when u has to wait for the next
// step.
func (u *crashUser) nextCode() (string, int64) {
	v := totp.Default()
	now := v.Step(time.Now())
	step := max(u.last+1, now)
	if step > now+1 {
		return "", 0
	}
	u.last = step
	return v.Code(u.secret, step), step
}

// success is a sign-in a client saw succeed.
type success struct {
	user     *crashUser
	step     int64
	instance string
	token    string
	at       time.Time
}

// login asks for a flow on one instance.
func login(url string, u *crashUser) string {
	st, m := post(url, "/api/v1/auth/login", u.addr, map[string]string{"org": "platform", "username": u.name, "password": crashPassword})
	if st != http.StatusOK {
		return ""
	}
	tok, _ := m["flow_token"].(string)
	return tok
}

// verify answers the flow with code; it returns the session token on
// success.
func verify(url, flow string, u *crashUser, code string) string {
	st, m := post(url, "/api/v1/auth/verify", u.addr, map[string]string{"flow_token": flow, "method": "totp", "code": code})
	if st != http.StatusOK {
		return ""
	}
	tok, _ := m["session_token"].(string)
	return tok
}

// waitFor polls cond until it holds, failing t after d.
func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting after %v", d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tokenHash(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// TestKill9OfOneInstanceUnderSignInLoadOnPostgreSQL runs two instances on
// one database. Clients sign users in with the same code on both at once
// (one may win); one instance is killed with SIGKILL in the middle. Every
// sign-in a client saw succeed has its session and its audit record, no
// code was accepted twice, and the other instance went on serving.
func TestKill9OfOneInstanceUnderSignInLoadOnPostgreSQL(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	var k [32]byte
	rand.Read(k[:])
	key := "k1:" + base64.StdEncoding.EncodeToString(k[:])
	db := []string{"--database-url", dsn, "--secret-key", key}
	binary(t)
	t0 := time.Now()
	a := serve(t, "A", append(db, "--data-dir", t.TempDir())...)
	b := serve(t, "B", append(db, "--data-dir", t.TempDir())...)
	users := importUsers(t, 16, append(db, "--data-dir", t.TempDir())...)
	t.Logf("started two instances and imported users in %v", time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()
	defer func() { t.Logf("load, kill and checks took %v", time.Since(t0).Round(time.Millisecond)) }()

	var (
		mu        sync.Mutex
		successes []success
		killedAt  atomic.Int64
		stop      atomic.Bool
		wg        sync.WaitGroup
	)
	const workers = 4
	for w := range workers {
		wg.Go(func() {
			for i := w; !stop.Load(); i += workers {
				u := users[i%len(users)]
				code, step := u.nextCode()
				if code == "" {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				// Every other sign-in presents the same code at both
				// instances at once; the others go to one of them.
				var flows map[*instance]string
				switch i / workers % 3 {
				case 0:
					flows = map[*instance]string{a: login(a.url, u), b: login(b.url, u)}
				case 1:
					flows = map[*instance]string{a: login(a.url, u)}
				case 2:
					flows = map[*instance]string{b: login(b.url, u)}
				}
				var inner sync.WaitGroup
				for in, flow := range flows {
					if flow == "" {
						continue
					}
					inner.Go(func() {
						if tok := verify(in.url, flow, u, code); tok != "" {
							mu.Lock()
							successes = append(successes, success{user: u, step: step, instance: in.name, token: tok, at: time.Now()})
							mu.Unlock()
						}
					})
				}
				inner.Wait()
			}
		})
	}
	// Kill A once it has served some sign-ins (however loaded the machine
	// is), with requests in flight; stop once B has served some after.
	count := func(pred func(success) bool) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, s := range successes {
			if pred(s) {
				n++
			}
		}
		return n
	}
	waitFor(t, 30*time.Second, func() bool { return count(func(s success) bool { return s.instance == "A" }) >= 3 })
	a.kill(t)
	killedAt.Store(time.Now().UnixNano())
	waitFor(t, 30*time.Second, func() bool {
		return count(func(s success) bool { return s.instance == "B" && s.at.UnixNano() > killedAt.Load() }) >= 3
	})
	stop.Store(true)
	wg.Wait()

	perStep := map[string]int{}
	afterKill, onA := 0, 0
	for _, s := range successes {
		perStep[fmt.Sprintf("%s@%d", s.user.name, s.step)]++
		if s.instance == "B" && s.at.UnixNano() > killedAt.Load() {
			afterKill++
		}
		if s.instance == "A" {
			onA++
		}
	}
	t.Logf("%d sign-ins seen to succeed (%d on A before its kill, %d on B after it)", len(successes), onA, afterKill)
	for k, n := range perStep {
		if n > 1 {
			t.Errorf("the code of %s was accepted %d times", k, n)
		}
	}
	if onA == 0 || afterKill == 0 {
		t.Fatalf("the load did not straddle the kill: %d on A, %d on B after it", onA, afterKill)
	}

	// Every session a client got exists and works on the survivor, and its
	// audit record is there: sessions and completion events are written in
	// one transaction, so they match one for one.
	st, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	seen := map[*crashUser]int{}
	for _, s := range successes {
		seen[s.user]++
		if _, err := st.GetSessionByTokenHash(t.Context(), tokenHash(s.token)); err != nil {
			t.Errorf("the session of a sign-in %s acknowledged is missing: %v", s.instance, err)
		}
		req, _ := http.NewRequest(http.MethodGet, b.url+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+s.token)
		if res, err := httpClient.Do(req); err != nil || res.StatusCode != http.StatusOK {
			t.Errorf("a session from %s does not work on B: %v %v", s.instance, res, err)
		} else {
			res.Body.Close()
		}
	}
	root, err := st.RootOrg(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		su, err := st.GetUserByName(t.Context(), root.ID, u.name)
		if err != nil {
			t.Fatal(err)
		}
		sessions, _ := st.ListSessions(t.Context(), su.ID, time.Now())
		events, _ := st.ListAudit(t.Context(), store.AuditFilter{UserID: su.ID, Event: "signin.completed", Limit: 1000})
		if len(events) != len(sessions) || len(sessions) < seen[u] {
			t.Errorf("%s: %d sessions, %d completion events, %d sign-ins seen", u.name, len(sessions), len(events), seen[u])
		}
	}
	if strings.Contains(b.logs.String(), `"level":"ERROR"`) {
		t.Errorf("B logged errors:\n%s", b.logs.String())
	}
}

// TestKill9UnderWriteLoadOnSQLite kills the server with SIGKILL while
// clients sign in (every sign-in writes a flow, counters, a session and
// audit events). The database file is intact afterwards, every sign-in a
// client saw succeed is in it, and a restarted server honours the sessions.
func TestKill9UnderWriteLoadOnSQLite(t *testing.T) {
	dir := t.TempDir()
	users := importUsers(t, 16, "--data-dir", dir)
	s := serve(t, "sqlite", "--data-dir", dir)

	var (
		mu        sync.Mutex
		successes []success
		stop      atomic.Bool
		wg        sync.WaitGroup
	)
	const workers = 6
	for w := range workers {
		wg.Go(func() {
			for i := w; !stop.Load(); i += workers {
				u := users[i%len(users)]
				code, step := u.nextCode()
				if code == "" {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				flow := login(s.url, u)
				if flow == "" {
					continue
				}
				if tok := verify(s.url, flow, u, code); tok != "" {
					mu.Lock()
					successes = append(successes, success{user: u, step: step, instance: "sqlite", token: tok})
					mu.Unlock()
				}
			}
		})
	}
	waitFor(t, 30*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(successes) >= 6
	})
	s.kill(t)
	stop.Store(true)
	wg.Wait()
	if len(successes) == 0 {
		t.Fatal("no sign-in succeeded before the kill")
	}
	t.Logf("%d sign-ins seen to succeed before the kill", len(successes))

	path := filepath.Join(dir, "twofold.db")
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	var check string
	if err := raw.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check after kill -9: %q, %v", check, err)
	}
	raw.Close()
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range successes {
		sess, err := st.GetSessionByTokenHash(t.Context(), tokenHash(x.token))
		if err != nil {
			t.Errorf("an acknowledged sign-in of %s is missing after kill -9: %v", x.user.name, err)
			continue
		}
		events, _ := st.ListAudit(t.Context(), store.AuditFilter{UserID: sess.UserID, Event: "signin.completed", Limit: 1000})
		sessions, _ := st.ListSessions(t.Context(), sess.UserID, time.Now())
		if len(events) != len(sessions) {
			t.Errorf("%s: %d sessions, %d completion events", x.user.name, len(sessions), len(events))
		}
	}
	st.Close()

	again := serve(t, "sqlite again", "--data-dir", dir)
	for _, x := range successes {
		req, _ := http.NewRequest(http.MethodGet, again.url+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+x.token)
		res, err := httpClient.Do(req)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("after the restart a session is refused: %v %v", res, err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
}
