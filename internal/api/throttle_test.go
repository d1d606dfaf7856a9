package api_test

// Wrong passwords are counted per account name (issue 19, item 9): growing
// delays, a lock at 100 that lifts after a cool-down or at an admin's
// unlock, one notice per lock, and no difference between a real account and
// a name nobody has.

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/notify/smtptest"
)

// guess is one answer to a wrong password, as the attacker sees it.
type guess struct {
	status     int
	code       string
	retryAfter string
	body       string
}

// guessPasswords sends wrong passwords for org/user one after the other,
// waiting out every delay the server asks for (the clock moves by
// Retry-After), until n of them got an answer other than a delay, and
// returns every answer.
func (s *server) guessPasswords(org, user string, n int) []guess {
	s.t.Helper()
	var out []guess
	for i, answered := 0, 0; answered < n; i++ {
		if i > 10*n {
			s.t.Fatalf("%d guesses without %d answers", i, n)
		}
		r := s.post("/api/v1/auth/login", "", map[string]string{"org": org, "username": user, "password": fmt.Sprintf("guess number %d", i)})
		g := guess{status: r.status, code: r.errorCode(s.t), retryAfter: r.header.Get("Retry-After"), body: string(r.body)}
		out = append(out, g)
		if g.code == "too_many_attempts" {
			secs, err := strconv.Atoi(g.retryAfter)
			if err != nil || secs < 1 {
				s.t.Fatalf("guess %d: too_many_attempts with Retry-After %q", i, g.retryAfter)
			}
			s.clock.Advance(time.Duration(secs) * time.Second)
		} else {
			answered++
		}
	}
	return out
}

// realChecks counts the answers that came from a password check (401).
func realChecks(gs []guess) int {
	n := 0
	for _, g := range gs {
		if g.status == http.StatusUnauthorized {
			n++
		}
	}
	return n
}

func TestWrongPasswordsAreSlowedThenLockedAndUnknownNamesLookTheSame(t *testing.T) {
	onEachStoreDSN(t, func(t *testing.T, dsn string) {
		e := newSentServerOn(t, dsn, nil)
		e.addUser("acme", "alice", "alice@example.com", true)
		e.signIn("acme", "alice", "authenticated")
		mails := e.mail.Count()

		// 130 wrong passwords (besides those refused to wait), spelled
		// three ways: one counter.
		const each = 44 // 132 in all
		var alice []guess
		for _, name := range []string{"alice", "ALICE", "ａｌｉｃｅ"} {
			alice = append(alice, e.guessPasswords("acme", name, each)...)
		}
		if n := realChecks(alice); n != 100 {
			t.Fatalf("%d of %d wrong passwords were checked, want 100 (the cap) and the rest refused", n, len(alice))
		}
		if alice[5].code != "too_many_attempts" || alice[5].status != http.StatusTooManyRequests {
			t.Fatalf("guess 6 answered %d %s, want a delay after 5 free failures", alice[5].status, alice[5].code)
		}
		last := alice[len(alice)-1]
		if last.status != http.StatusTooManyRequests || last.code != "signin_locked" || last.retryAfter == "" {
			t.Fatalf("after the cap: %d %s (Retry-After %q), want 429 signin_locked", last.status, last.code, last.retryAfter)
		}
		if strings.Contains(last.body, "password") && strings.Contains(last.body, "guess") {
			t.Fatalf("the answer echoes the password: %s", last.body)
		}

		// The right password is refused too, until an admin unlocks.
		r := e.post("/api/v1/auth/login", "", map[string]string{"org": "acme", "username": "alice", "password": testPassword})
		if r.status != http.StatusTooManyRequests || r.errorCode(t) != "signin_locked" {
			t.Fatalf("right password while locked: %d %s", r.status, r.body)
		}

		// One notice per lock, without secrets.
		m := e.mail.wait(t, mails, "lock notice", func(m smtptest.Message) bool {
			return to("alice@example.com")(m) && strings.Contains(m.Subject, "locked")
		})
		if sixDigitsRE.MatchString(m.Body) || strings.Contains(m.Body, "guess") || strings.Contains(m.Body, "://") {
			t.Errorf("lock notice carries a secret or link:\n%s", m.Body)
		}
		time.Sleep(200 * time.Millisecond) // let any further background mail arrive
		locks := 0
		for _, m := range e.mail.since(mails) {
			if to("alice@example.com")(m) && strings.Contains(m.Subject, "locked") {
				locks++
			}
		}
		if locks != 1 {
			t.Errorf("%d lock notices for one lock, want 1", locks)
		}

		// An unknown name in the same org and an unknown org get exactly
		// the same answers, delays and lock included.
		for _, who := range [][2]string{{"acme", "mallory"}, {"nosuch", "alice"}} {
			other := e.guessPasswords(who[0], who[1], 3*each)
			if len(other) != len(alice) {
				t.Fatalf("%s/%s: %d answers, alice got %d", who[0], who[1], len(other), len(alice))
			}
			for i := range alice {
				if alice[i] != other[i] {
					t.Fatalf("%s/%s guess %d: %+v; alice's was %+v", who[0], who[1], i, other[i], alice[i])
				}
			}
		}

		e.cli("", "user", "unlock", "--org", "acme", "--username", "alice")
		e.signIn("acme", "alice", "authenticated")

		// Locked again, the lock lifts by itself after the cool-down.
		e.guessPasswords("acme", "alice", 130)
		r = e.post("/api/v1/auth/login", "", map[string]string{"org": "acme", "username": "alice", "password": testPassword})
		secs, _ := strconv.Atoi(r.header.Get("Retry-After"))
		if r.errorCode(t) != "signin_locked" || secs < 60 {
			t.Fatalf("second lock: %d %s Retry-After %d", r.status, r.body, secs)
		}
		e.clock.Advance(time.Duration(secs) * time.Second)
		e.signIn("acme", "alice", "authenticated")
	})
}

func TestFiftyParallelWrongPasswordsMakeAtMostTheFreeChecks(t *testing.T) {
	onEachStoreDSN(t, func(t *testing.T, dsn string) {
		s := newServerOn(t, dsn, ptr(testParams()), nil)
		s.orgAndUser()
		burst := func(user, pw string) (checked, refused, ok int) {
			var mu sync.Mutex
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range 50 {
				wg.Go(func() {
					<-start
					r, err := s.call(context.Background(), http.MethodPost, "/api/v1/auth/login", "",
						map[string]string{"org": "acme", "username": user, "password": pw}, nil)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err != nil:
						t.Errorf("login: %v", err)
					case r.status == http.StatusOK:
						ok++
					case r.status == http.StatusUnauthorized:
						checked++
					case r.status == http.StatusTooManyRequests:
						refused++
					default:
						t.Errorf("login: %d %s", r.status, r.body)
					}
				})
			}
			close(start)
			wg.Wait()
			return
		}
		for _, user := range []string{"alice", "nobody"} {
			checked, refused, _ := burst(user, "wrong password")
			if checked > 5 || checked+refused != 50 {
				t.Fatalf("%s: 50 parallel wrong passwords: %d checked, %d refused; want at most 5 checked", user, checked, refused)
			}
		}
		// A burst of right passwords of a fresh account all get in.
		s.cli(testPassword+"\n", "user", "create", "--org", "acme", "--username", "bob", "--password-stdin")
		if _, refused, ok := burst("bob", testPassword); ok != 50 {
			t.Fatalf("50 parallel right passwords: %d signed in, %d refused", ok, refused)
		}
	})
}

func TestAStolenSessionCannotGuessTheCurrentPasswordFaster(t *testing.T) {
	onEachStoreDSN(t, func(t *testing.T, dsn string) {
		s := newServerOn(t, dsn, ptr(testParams()), nil)
		s.orgAndUser()
		tok := s.login("alice", "authenticated").str(t, "session_token")
		var r response
		for i := range 6 {
			r = s.post("/api/v1/me/password", tok, map[string]string{"current_password": fmt.Sprint("guess ", i), "new_password": "a new passphrase"})
		}
		if r.status != http.StatusTooManyRequests || r.errorCode(t) != "too_many_attempts" {
			t.Fatalf("sixth wrong current password: %d %s, want 429 too_many_attempts", r.status, r.body)
		}
		// The same counter as the sign-in's.
		r = s.post("/api/v1/auth/login", "", map[string]string{"org": "acme", "username": "alice", "password": testPassword})
		if r.status != http.StatusTooManyRequests {
			t.Fatalf("sign-in right after: %d %s, want it delayed", r.status, r.body)
		}
	})
}
