package api_test

// What is mailed where (issue 10, item 5): security notices warn the
// account's address whether or not it is confirmed, never carry a code or
// link, and to an unconfirmed address leave out where the change came from.

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/twofold-id/twofold/internal/factor/totp"
	"github.com/twofold-id/twofold/internal/notify/smtptest"
	"github.com/twofold-id/twofold/internal/signin"
)

func TestSecurityNoticesReachAnUnconfirmedAddressWithoutDetailsOrSecrets(t *testing.T) {
	onEachStoreDSN(t, func(t *testing.T, dsn string) {
		e := newSentServerOn(t, dsn, nil)
		const addr, ip, ua = "alice@example.com", "203.0.113.9", "NoticeTest/1.0"
		e.addUser("acme", "alice", addr, false)
		e.addUser("acme", "carol", "carol@example.com", true)
		id := e.userID("acme", "alice")

		notice := func(n int, who, subject string) smtptest.Message {
			t.Helper()
			m := e.mail.wait(t, n, subject+" notice to "+who, func(m smtptest.Message) bool {
				return to(who)(m) && strings.Contains(m.Subject, subject)
			})
			if sixDigitsRE.MatchString(m.Subject+m.Body) || strings.Contains(m.Body, "://") || strings.Contains(m.Body, "token") {
				t.Errorf("%s notice carries a code or link:\n%s", subject, m.Body)
			}
			return m
		}
		unconfirmed := func(m smtptest.Message) {
			t.Helper()
			if strings.Contains(m.Body, ip) || strings.Contains(m.Body, ua) {
				t.Errorf("a notice to an unconfirmed address names where the change came from:\n%s", m.Body)
			}
			if !strings.Contains(m.Body, "not confirmed") || !strings.Contains(m.Body, "alice") {
				t.Errorf("a notice to an unconfirmed address does not say so or whose account it is:\n%s", m.Body)
			}
		}
		hdr := map[string]string{"X-Forwarded-For": ip, "User-Agent": ua}

		// A factor is added to alice's account (by whoever has her session).
		tok := e.session("acme", "alice")
		n := e.mail.Count()
		p, _ := enrollOverHTTP(t, e.server, tok, "Phone")
		unconfirmed(notice(n, addr, "added"))

		// New backup codes.
		n = e.mail.Count()
		r, err := e.call(context.Background(), http.MethodPost, "/api/v1/me/backup-codes", tok, map[string]string{"code": p.code(e.clock.Now())}, hdr)
		if err != nil || r.status != http.StatusOK {
			t.Fatalf("new backup codes: %v %d %s", err, r.status, r.body)
		}
		unconfirmed(notice(n, addr, "backup codes"))

		// An admin resets her MFA.
		n = e.mail.Count()
		sys, _ := e.app.Admin.System(context.Background())
		if err := e.app.Admin.ResetMFA(context.Background(), sys, id, signin.Client{IP: ip, UserAgent: ua}); err != nil {
			t.Fatal(err)
		}
		unconfirmed(notice(n, addr, "reset"))

		// A confirmed address keeps getting the whole story.
		ctok := e.session("acme", "carol")
		n = e.mail.Count()
		r, err = e.call(context.Background(), http.MethodPost, "/api/v1/me/factors/totp", ctok, map[string]string{"label": "Phone"}, hdr)
		if err != nil || r.status != http.StatusCreated {
			t.Fatalf("carol starts TOTP: %v %d", err, r.status)
		}
		cp := phoneFrom(t, r)
		r, err = e.call(context.Background(), http.MethodPost, "/api/v1/me/factors/"+r.str(t, "factor_id")+"/confirm", ctok,
			map[string]string{"code": cp.code(e.clock.Now())}, hdr)
		if err != nil || r.status != http.StatusOK {
			t.Fatalf("carol confirms TOTP: %v %d", err, r.status)
		}
		m := notice(n, "carol@example.com", "added")
		if !strings.Contains(m.Body, ip) || !strings.Contains(m.Body, ua) || strings.Contains(m.Body, "not confirmed") {
			t.Errorf("the notice to a confirmed address lacks where it came from:\n%s", m.Body)
		}
	})
}

// phoneFrom is the authenticator app holding the secret of a TOTP setup
// answer.
func phoneFrom(t *testing.T, r response) phone {
	t.Helper()
	secret, err := totp.DecodeSecret(r.str(t, "secret"))
	if err != nil {
		t.Fatal(err)
	}
	return phone{secret: secret, v: totp.Default()}
}
