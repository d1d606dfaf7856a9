package api_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/notify/smtptest"
)

var resetLinkRE = regexp.MustCompile(`https://id\.twofold\.test/reset-password\?token=\S+`)

// resetLink waits for the reset mail to addr sent from index n on and
// returns the token of its link.
func (e *sentEnv) resetLink(n int, addr string) (string, smtptest.Message) {
	e.t.Helper()
	m := e.mail.WaitFor(e.t, func(m smtptest.Message) bool {
		if m.Index < n {
			return false
		}
		return to(addr)(m) && strings.HasPrefix(m.Subject, "Reset your password")

	}, 30*time.Second) // mailed after the answer, in the background: slow under load
	u, err := url.Parse(resetLinkRE.FindString(m.Body))
	if err != nil || !strings.HasPrefix(u.Query().Get("token"), "tfr_") {
		e.t.Fatalf("reset mail body %q has no /reset-password?token=tfr_… link", m.Body)
	}
	return u.Query().Get("token"), m
}

// askReset asks for a reset link and requires the one answer.
func (e *sentEnv) askReset(org, login string) []byte {
	e.t.Helper()
	r := e.post("/api/v1/auth/password-reset", "", map[string]string{"org": org, "login": login})
	if r.status != http.StatusAccepted {
		e.t.Fatalf("password-reset %s/%s: %d %s, want 202", org, login, r.status, r.body)
	}
	return r.body
}

// drain waits until the server's background work (mails) is done.
func (e *sentEnv) drainMail(n int, want int) {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for e.mail.Count()-n < want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // room for a mail that should not come
}

func TestForgotPasswordAnswersAlikeAndTheLinkWorksOnce(t *testing.T) {
	onEachStoreDSN(t, func(t *testing.T, dsn string) {
		e := newSentServerOn(t, dsn, nil)
		e.addUser("acme", "alice", "alice@example.com", true)
		e.addUser("acme", "nomail", "", false)
		old := e.session("acme", "alice")

		n := e.mail.Count()
		known := e.askReset("acme", "Alice")
		for _, other := range [][2]string{{"acme", "nobody"}, {"nosuchorg", "alice"}, {"acme", "nomail"}, {"acme", "x@example.com"}} {
			if body := e.askReset(other[0], other[1]); !bytes.Equal(body, known) {
				t.Errorf("answer for %v = %s, for a real account %s: they must not differ", other, body, known)
			}
		}
		tok, _ := e.resetLink(n, "alice@example.com")
		e.drainMail(n, 1)
		if got := len(e.mail.since(n)); got != 1 {
			t.Errorf("%d mails sent for one real account among five requests, want 1", got)
		}
		if strings.Contains(e.logs.String(), tok) {
			t.Error("the reset token appears in the server log")
		}

		// A short password is refused without spending the link.
		if r := e.post("/api/v1/auth/password-reset/confirm", "", map[string]string{"token": tok, "new_password": "short"}); r.status != 400 || r.errorCode(t) != "invalid_password" {
			t.Fatalf("short password: %d %s", r.status, r.body)
		}
		n = e.mail.Count()
		const newPW = "a brand new passphrase"
		if r := e.post("/api/v1/auth/password-reset/confirm", "", map[string]string{"token": tok, "new_password": newPW}); r.status != 200 {
			t.Fatalf("confirm: %d %s", r.status, r.body)
		}
		if r := e.post("/api/v1/auth/password-reset/confirm", "", map[string]string{"token": tok, "new_password": "yet another one!"}); r.status != 400 || r.errorCode(t) != "invalid_reset_token" {
			t.Errorf("second use of the link: %d %s, want 400 invalid_reset_token", r.status, r.body)
		}
		e.mail.wait(t, n, "reset notice", func(m smtptest.Message) bool {
			return to("alice@example.com")(m) && strings.Contains(m.Subject, "password was reset") && !strings.Contains(m.Body, "tfr_")
		})
		if r := e.get("/api/v1/me", old); r.status != http.StatusUnauthorized {
			t.Errorf("the session from before the reset still works: %d", r.status)
		}
		if r := e.post("/api/v1/auth/login", "", map[string]string{"org": "acme", "username": "alice", "password": testPassword}); r.status != http.StatusUnauthorized {
			t.Errorf("the old password still signs in: %d %s", r.status, r.body)
		}
		if r := e.post("/api/v1/auth/login", "", map[string]string{"org": "acme", "username": "alice", "password": newPW}); r.status != 200 || r.str(t, "status") != "authenticated" {
			t.Errorf("the new password does not sign in: %d %s", r.status, r.body)
		}

		// An email address works as the login too (after the minute that
		// throttles links to one account).
		e.clock.Advance(61 * time.Second)
		n = e.mail.Count()
		e.askReset("acme", "ALICE@example.com")
		e.resetLink(n, "alice@example.com")
	})
}

func TestForgotPasswordKeepsTheSecondFactor(t *testing.T) {
	e := newSentServer(t, nil)
	e.addUser("acme", "alice", "alice@example.com", true)
	p, backups := enrollOverHTTP(t, e.server, e.session("acme", "alice"), "Phone")
	other := e.signIn("acme", "alice", "mfa_required")["flow_token"].(string)

	n := e.mail.Count()
	e.askReset("acme", "alice")
	tok, m := e.resetLink(n, "alice@example.com")
	if !strings.Contains(m.Body, "backup code") {
		t.Errorf("the reset mail does not say a code will be needed:\n%s", m.Body)
	}
	const newPW = "a brand new passphrase"
	confirm := func(method, code string) response {
		return e.post("/api/v1/auth/password-reset/confirm", "", map[string]string{"token": tok, "new_password": newPW, "method": method, "code": code})
	}
	if r := confirm("", ""); r.status != 400 || r.errorCode(t) != "code_required" {
		t.Fatalf("reset without a code: %d %s, want 400 code_required", r.status, r.body)
	}
	if r := confirm("totp", p.wrong(e.clock.Now())); r.status != 401 || r.errorCode(t) != "invalid_code" {
		t.Fatalf("reset with a wrong code: %d %s, want 401 invalid_code", r.status, r.body)
	}
	// The wrong code counted on the account's failure counter, and the link still works.
	if r := confirm("backup_code", backups[0]); r.status != 200 {
		t.Fatalf("reset with a backup code: %d %s", r.status, r.body)
	}
	// The flow that was waiting for a code ended; the next sign-in asks for the code again.
	if r := e.post("/api/v1/auth/verify", "", map[string]string{"flow_token": other, "method": "totp", "code": p.code(e.clock.Now())}); r.status != 401 {
		t.Errorf("a sign-in flow from before the reset still works: %d %s", r.status, r.body)
	}
	r := e.post("/api/v1/auth/login", "", map[string]string{"org": "acme", "username": "alice", "password": newPW})
	if r.status != 200 || r.str(t, "status") != "mfa_required" {
		t.Fatalf("sign-in after the reset: %d %s, want mfa_required", r.status, r.body)
	}
	if r := e.post("/api/v1/auth/verify", "", map[string]string{"flow_token": r.str(t, "flow_token"), "method": "backup_code", "code": backups[0]}); r.status != 401 {
		t.Errorf("the backup code spent on the reset worked again: %d", r.status)
	}
}

func TestForgotPasswordWithAnEmailedCode(t *testing.T) {
	e := newSentServer(t, nil)
	e.addUser("acme", "alice", "alice@example.com", true)
	e.emailFactor("alice", "alice@example.com")
	n := e.mail.Count()
	e.askReset("acme", "alice")
	tok, _ := e.resetLink(n, "alice@example.com")
	n = e.mail.Count()
	if r := e.post("/api/v1/auth/password-reset/code", "", map[string]string{"token": tok, "method": "email"}); r.status != 200 {
		t.Fatalf("send a code for the reset: %d %s", r.status, r.body)
	}
	code := e.mail.code(t, n, "alice@example.com")
	r := e.post("/api/v1/auth/password-reset/confirm", "", map[string]string{"token": tok, "new_password": "a brand new passphrase", "method": "email", "code": code})
	if r.status != 200 {
		t.Fatalf("reset with the emailed code: %d %s", r.status, r.body)
	}
}

func TestForgotPasswordIsThrottled(t *testing.T) {
	e := newSentServer(t, nil)
	e.addUser("acme", "alice", "alice@example.com", true)
	n := e.mail.Count()
	e.askReset("acme", "alice")
	e.askReset("acme", "alice")
	e.askReset("acme", "alice@example.com")
	e.resetLink(n, "alice@example.com")
	e.drainMail(n, 1)
	if got := len(e.mail.since(n)); got != 1 {
		t.Errorf("three requests within a minute sent %d mails, want 1", got)
	}
	e.clock.Advance(61 * time.Second)
	n = e.mail.Count()
	e.askReset("acme", "alice")
	e.resetLink(n, "alice@example.com")

	// Per client address, the answer itself is limited (the same for every name).
	limited := 0
	for i := range 40 {
		r := e.do(request{method: http.MethodPost, path: "/api/v1/auth/password-reset", ip: "198.51.100.7",
			body: map[string]string{"org": "acme", "login": fmt.Sprintf("user%d", i)}})
		if r.status == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited == 0 {
		t.Error("40 reset requests from one address in an instant were all answered 202")
	}
}

func TestFiftyParallelUsesOfOneResetLinkOneWins(t *testing.T) {
	onEachStoreDSN(t, func(t *testing.T, dsn string) {
		e := newSentServerOn(t, dsn, nil)
		e.addUser("acme", "alice", "alice@example.com", true)
		n := e.mail.Count()
		e.askReset("acme", "alice")
		tok, _ := e.resetLink(n, "alice@example.com")
		var ok, refused atomic.Int64
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := e.call(context.Background(), http.MethodPost, "/api/v1/auth/password-reset/confirm", "",
					map[string]string{"token": tok, "new_password": fmt.Sprintf("new password number %d", i)},
					map[string]string{"X-Forwarded-For": fmt.Sprintf("10.99.0.%d", i+1)})
				switch {
				case err != nil:
					t.Error(err)
				case r.status == 200:
					ok.Add(1)
				case r.status == 400 && strings.Contains(string(r.body), "invalid_reset_token"):
					refused.Add(1)
				default:
					t.Errorf("parallel use: %d %s", r.status, r.body)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 1 || refused.Load() != 49 {
			t.Errorf("50 parallel uses of one link: %d succeeded, %d refused; want 1 and 49", ok.Load(), refused.Load())
		}
	})
}
