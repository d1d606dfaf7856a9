package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/factor/totp"
)

// TestAConfirmationCancelledByTheClientNeverLeavesAFactorWithoutBackupCodes
// confirms first authenticator apps over HTTP with clients that give up
// after 0, 1, 2, … milliseconds. Whatever moment the client left, the
// factor is afterwards either pending or active with its ten backup codes,
// and the server logs the cancellations as such, never as internal errors.
func TestAConfirmationCancelledByTheClientNeverLeavesAFactorWithoutBackupCodes(t *testing.T) {
	s := newServer(t)
	s.orgAndUser()
	// Handlers are counted, so each check runs after the server is done.
	var inFlight sync.WaitGroup
	h := s.srv.Config.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inFlight.Add(1)
		defer inFlight.Done()
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	s.srv = srv

	cancelled, completed := 0, 0
	for i := range 40 {
		name := fmt.Sprintf("user%d", i)
		s.cli(testPassword+"\n", "user", "create", "--org", "acme", "--username", name, "--password-stdin")
		tok := s.session("acme", name)
		r := s.post("/api/v1/me/factors/totp", tok, map[string]string{"label": "Phone"})
		if r.status != http.StatusCreated {
			t.Fatalf("start: %d %s", r.status, r.body)
		}
		secret, _ := totp.DecodeSecret(r.str(t, "secret"))
		id := r.str(t, "factor_id")
		ctx, cancel := context.WithTimeout(t.Context(), time.Duration(i)*250*time.Microsecond)
		_, err := s.call(ctx, http.MethodPost, "/api/v1/me/factors/"+id+"/confirm", tok,
			map[string]string{"code": phone{secret: secret, v: totp.Default()}.code(s.clock.Now())}, nil)
		cancel()
		inFlight.Wait()
		if err != nil {
			cancelled++
		} else {
			completed++
		}
		f, err := s.app.Store.GetFactor(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		codes, _ := s.app.Store.ListBackupCodes(t.Context(), f.UserID)
		if f.Confirmed() != (len(codes) == 10) || !f.Confirmed() && len(codes) != 0 {
			t.Fatalf("client gone after %v: factor confirmed %v with %d backup codes", time.Duration(i)*250*time.Microsecond, f.Confirmed(), len(codes))
		}
	}
	if cancelled == 0 || completed == 0 {
		t.Logf("cancelled %d, completed %d: the delays did not straddle the request", cancelled, completed)
	}
	for _, line := range strings.Split(s.logs.String(), "\n") {
		if strings.Contains(line, `"level":"ERROR"`) {
			t.Errorf("error logged: %s", line)
		}
	}
}

func TestARequestWhoseClientIsGoneIsLoggedAsCancelledNotAsAnInternalError(t *testing.T) {
	s := newServer(t)
	s.orgAndUser()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequest(http.MethodPost, "/api/v1/auth/login",
		strings.NewReader(`{"org":"acme","username":"alice","password":"`+testPassword+`"}`)).WithContext(ctx)
	r.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	s.app.Handler().ServeHTTP(rec, r)
	if rec.Code != 499 {
		t.Errorf("status %d, want 499 (client closed request)", rec.Code)
	}
	logs := s.logs.String()
	if strings.Contains(logs, "internal error") || !strings.Contains(logs, "the client went away") {
		t.Errorf("logs:\n%s", logs)
	}
}

// rawExchange sends head (request line and headers) on a new connection,
// then body in the background unless sendBody is false, and returns the
// status line and the body of the first final response (after any 1xx
// responses, which are returned too).
func rawExchange(t *testing.T, addr, head string, body []byte, waitContinue bool) (interim []string, status string, resBody []byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	if !waitContinue {
		go c.Write(body) // a client that does not wait; errors are the server closing
	}
	br := bufio.NewReader(c)
	for {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("reading the answer: %v (1xx so far: %v)", err, interim)
		}
		if res.StatusCode >= 200 {
			b, _ := io.ReadAll(res.Body)
			return interim, res.Status, b
		}
		interim = append(interim, res.Status)
		if waitContinue && res.StatusCode == http.StatusContinue {
			go c.Write(body)
		}
	}
}

func TestAnOversizedBodyIs413BeforeAnythingIsReadEvenWithExpectContinue(t *testing.T) {
	s := newServer(t)
	addr := strings.TrimPrefix(s.srv.URL, "http://")
	big := make([]byte, 3<<20)
	for _, c := range []struct {
		name, path, ctype string
		expect            bool
		wantJSON          bool
	}{
		{"API with Expect: 100-continue", "/api/v1/auth/login", "application/json", true, true},
		{"API without Expect", "/api/v1/auth/login", "application/json", false, true},
		{"portal with Expect: 100-continue", "/login", "application/x-www-form-urlencoded", true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			head := "POST " + c.path + " HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: " + c.ctype +
				"\r\nContent-Length: " + fmt.Sprint(len(big)) + "\r\n"
			if c.expect {
				head += "Expect: 100-continue\r\n"
			}
			head += "\r\n"
			for try := range 5 {
				interim, status, body := rawExchange(t, addr, head, big, c.expect)
				if len(interim) != 0 {
					t.Fatalf("try %d: interim answers %v before the refusal", try, interim)
				}
				if !strings.HasPrefix(status, "413") {
					t.Fatalf("try %d: status %q, want 413", try, status)
				}
				if c.wantJSON {
					var e struct{ Error struct{ Code string } }
					if err := json.Unmarshal(body, &e); err != nil || e.Error.Code != "body_too_large" {
						t.Fatalf("try %d: body %q", try, body)
					}
				}
			}
		})
	}
}

func TestABodyWithinTheLimitStillGets100Continue(t *testing.T) {
	s := newServer(t)
	s.orgAndUser()
	addr := strings.TrimPrefix(s.srv.URL, "http://")
	body := []byte(`{"org":"acme","username":"alice","password":"` + testPassword + `"}`)
	head := "POST /api/v1/auth/login HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\nX-Forwarded-For: 10.9.9.9\r\n" +
		"Content-Length: " + fmt.Sprint(len(body)) + "\r\nExpect: 100-continue\r\n\r\n"
	interim, status, res := rawExchange(t, addr, head, body, true)
	if len(interim) != 1 || !strings.HasPrefix(interim[0], "100") || !strings.HasPrefix(status, "200") {
		t.Fatalf("interim %v, status %q, body %s", interim, status, res)
	}
}
