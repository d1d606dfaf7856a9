package api_test

import (
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

var inviteLinkRE = regexp.MustCompile(`https://id\.twofold\.test/invitation\?token=\S+`)

// inviteLink waits for the invitation mail to addr sent from index n on and
// returns the token of its link.
func (e *sentEnv) inviteLink(n int, addr string) string {
	e.t.Helper()
	m := e.mail.WaitFor(e.t, func(m smtptest.Message) bool {
		if m.Index < n {
			return false
		}
		return to(addr)(m) && strings.HasPrefix(m.Subject, "You are invited")

	}, 30*time.Second) // mailed after the answer, in the background: slow under load
	u, err := url.Parse(inviteLinkRE.FindString(m.Body))
	if err != nil || !strings.HasPrefix(u.Query().Get("token"), "tfi_") {
		e.t.Fatalf("invitation mail body %q has no /invitation?token=tfi_… link", m.Body)
	}
	return u.Query().Get("token")
}

// inviteEnv is a server with org acme and its admin ada, signed in with a
// fresh second factor.
func inviteEnv(t *testing.T, dsn string) (*sentEnv, string) {
	e := newSentServerOn(t, dsn, nil)
	e.cli(testPassword+"\n", "user", "create", "--org", "acme", "--username", "ada", "--role", "admin", "--password-stdin")
	return e, e.adminSession("acme", "ada")
}

func (e *sentEnv) accept(tok, username string) response {
	e.t.Helper()
	return e.post("/api/v1/auth/invitation/accept", "", map[string]string{"token": tok, "username": username, "password": testPassword})
}

func TestAnInviteeOpensTheAccountOnce(t *testing.T) {
	onEachStoreDSN(t, func(t *testing.T, dsn string) {
		e, ada := inviteEnv(t, dsn)
		n := e.mail.Count()
		r := e.post("/api/v1/invitations", ada, map[string]string{"org": "acme", "email": "nina@example.com", "name": "Nina Neu"})
		if r.status != http.StatusCreated || r.str(t, "status") != "pending" || r.str(t, "role") != "member" {
			t.Fatalf("invite: %d %s", r.status, r.body)
		}
		id := r.str(t, "id")
		tok := e.inviteLink(n, "nina@example.com")
		if strings.Contains(e.logs.String(), tok) {
			t.Error("the invitation token appears in the server log")
		}
		if l := e.get("/api/v1/invitations?org=acme", ada); l.status != 200 || !strings.Contains(string(l.body), id) {
			t.Fatalf("list: %d %s", l.status, l.body)
		}
		if r := e.post("/api/v1/invitations", ada, map[string]string{"org": "acme", "email": "nina@example.com"}); r.status != 409 || r.errorCode(t) != "invitation_pending" {
			t.Errorf("a second invitation to the same address: %d %s", r.status, r.body)
		}
		if r := e.accept(tok, "ada"); r.status != 409 || r.errorCode(t) != "username_taken" {
			t.Fatalf("accept with a taken username: %d %s", r.status, r.body)
		}
		r = e.accept(tok, "nina")
		if r.status != 200 || r.str(t, "status") != "authenticated" {
			t.Fatalf("accept: %d %s", r.status, r.body)
		}
		me := e.get("/api/v1/me", r.str(t, "session_token"))
		if me.status != 200 || !strings.Contains(string(me.body), "nina@example.com") || !strings.Contains(string(me.body), `"email_confirmed":true`) {
			t.Errorf("the new account: %d %s", me.status, me.body)
		}
		if r := e.accept(tok, "nina2"); r.status != 400 || r.errorCode(t) != "invalid_invitation" {
			t.Errorf("second use of the link: %d %s", r.status, r.body)
		}
		if l := e.get("/api/v1/invitations?org=acme", ada); strings.Contains(string(l.body), id) {
			t.Errorf("an accepted invitation is still listed: %s", l.body)
		}
		if r := e.post("/api/v1/invitations", ada, map[string]string{"org": "acme", "email": "nina@example.com"}); r.status != 409 || r.errorCode(t) != "conflict" {
			t.Errorf("inviting an address that has an account: %d %s", r.status, r.body)
		}
	})
}

func TestAnInviteeEnrollsWhenPolicyRequires(t *testing.T) {
	e, ada := inviteEnv(t, "")
	e.cli("", "org", "set-policy", "--org", "acme", "--mfa", "required")
	n := e.mail.Count()
	if r := e.post("/api/v1/invitations", ada, map[string]string{"org": "acme", "email": "olaf@example.com"}); r.status != 201 {
		t.Fatalf("invite: %d %s", r.status, r.body)
	}
	r := e.accept(e.inviteLink(n, "olaf@example.com"), "olaf")
	if r.status != 200 || r.str(t, "status") != "enrollment_required" || r.str(t, "session_token") != "" {
		t.Fatalf("accept under a required policy: %d %s, want enrollment_required and no session", r.status, r.body)
	}
	_, out := e.enrollInFlow(r.str(t, "flow_token"))
	if out["status"] != "authenticated" {
		t.Errorf("after enrollment: %v", out)
	}
}

func TestInvitationsAreResentRevokedAndExpire(t *testing.T) {
	e, ada := inviteEnv(t, "")
	n := e.mail.Count()
	id := e.post("/api/v1/invitations", ada, map[string]string{"org": "acme", "email": "paul@example.com"}).str(t, "id")
	first := e.inviteLink(n, "paul@example.com")
	n = e.mail.Count()
	if r := e.post("/api/v1/invitations/"+id+"/resend", ada, nil); r.status != 200 {
		t.Fatalf("resend: %d %s", r.status, r.body)
	}
	second := e.inviteLink(n, "paul@example.com")
	if r := e.accept(first, "paul"); r.status != 400 || r.errorCode(t) != "invalid_invitation" {
		t.Errorf("the link from before the resend: %d %s", r.status, r.body)
	}
	if r := e.do(request{method: http.MethodDelete, path: "/api/v1/invitations/" + id, token: ada}); r.status != 204 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := e.accept(second, "paul"); r.status != 400 || r.errorCode(t) != "invalid_invitation" {
		t.Errorf("a revoked invitation's link: %d %s", r.status, r.body)
	}
	if r := e.do(request{method: http.MethodDelete, path: "/api/v1/invitations/" + id, token: ada}); r.status != 404 {
		t.Errorf("revoking twice: %d %s", r.status, r.body)
	}

	n = e.mail.Count()
	id = e.post("/api/v1/invitations", ada, map[string]string{"org": "acme", "email": "quinn@example.com"}).str(t, "id")
	tok := e.inviteLink(n, "quinn@example.com")
	e.clock.Advance(7*24*time.Hour + time.Second)
	if r := e.accept(tok, "quinn"); r.status != 400 || r.errorCode(t) != "invalid_invitation" {
		t.Errorf("a link older than 7 days: %d %s", r.status, r.body)
	}
	l := e.get("/api/v1/invitations?org=acme", e.adminSession("acme", "ada"))
	if !strings.Contains(string(l.body), `"status":"expired"`) {
		t.Errorf("the expired invitation is not listed as expired: %s", l.body)
	}
}

func TestInvitationsStayInTheAdminsSubtreeAndRole(t *testing.T) {
	e, ada := inviteEnv(t, "")
	e.cli("", "org", "create", "--slug", "other", "--name", "Other Ltd")
	e.cli(testPassword+"\n", "user", "create", "--org", "other", "--username", "otto", "--role", "admin", "--password-stdin")
	otto := e.adminSession("other", "otto")
	if r := e.post("/api/v1/invitations", otto, map[string]string{"org": "acme", "email": "x@example.com"}); r.status != 404 && r.status != 403 {
		t.Errorf("an admin of another org invites into acme: %d %s", r.status, r.body)
	}
	if r := e.post("/api/v1/invitations", ada, map[string]string{"org": "acme", "email": "x@example.com", "role": "superadmin"}); r.status != 403 || r.errorCode(t) != "role_too_high" {
		t.Errorf("an admin invites a superadmin: %d %s", r.status, r.body)
	}
	id := e.post("/api/v1/invitations", ada, map[string]string{"org": "acme", "email": "y@example.com"}).str(t, "id")
	for _, r := range []response{
		e.get("/api/v1/invitations?org=acme", otto),
		e.post("/api/v1/invitations/"+id+"/resend", otto, nil),
		e.do(request{method: http.MethodDelete, path: "/api/v1/invitations/" + id, token: otto}),
	} {
		if r.status != 404 && r.status != 403 {
			t.Errorf("another org's admin reached acme's invitation: %d %s", r.status, r.body)
		}
	}
	e.cli(testPassword+"\n", "user", "create", "--org", "acme", "--username", "mia", "--password-stdin")
	if r := e.post("/api/v1/invitations", e.session("acme", "mia"), map[string]string{"org": "acme", "email": "z@example.com"}); r.status != 403 {
		t.Errorf("a member invites: %d %s", r.status, r.body)
	}
}

func TestInvitationsFromCSVAreAllOrNothing(t *testing.T) {
	e, ada := inviteEnv(t, "")
	n := e.mail.Count()
	bad := "email,name,role\nrita@example.com,Rita,member\nnot-an-address,,\nrita@example.com,,\nsam@example.com,Sam,superadmin\n"
	r := e.post("/api/v1/invitations/import", ada, map[string]any{"org": "acme", "csv": bad})
	if r.status != 400 || r.errorCode(t) != "invitations_rejected" {
		t.Fatalf("a CSV with bad lines: %d %s", r.status, r.body)
	}
	for _, want := range []string{`"line":3`, `"line":4`, `"line":5`, `"code":"role_too_high"`} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("the answer lacks %s: %s", want, r.body)
		}
	}
	if strings.Contains(string(r.body), `"line":2,`) {
		t.Errorf("a good line is listed as bad: %s", r.body)
	}
	good := "rita@example.com,Rita,\nsam@example.com,Sam,admin\n"
	if r := e.post("/api/v1/invitations/import", ada, map[string]any{"org": "acme", "csv": good, "dry_run": true}); r.status != 200 || !strings.Contains(string(r.body), `"checked":2`) {
		t.Fatalf("dry run: %d %s", r.status, r.body)
	}
	time.Sleep(100 * time.Millisecond)
	if got := e.mail.Count() - n; got != 0 {
		t.Errorf("%d mails sent for a rejected CSV and a dry run, want 0", got)
	}
	if r := e.post("/api/v1/invitations/import", ada, map[string]any{"org": "acme", "csv": good}); r.status != 200 || !strings.Contains(string(r.body), `"invited":2`) {
		t.Fatalf("import: %d %s", r.status, r.body)
	}
	e.inviteLink(n, "rita@example.com")
	e.inviteLink(n, "sam@example.com")
}

func TestFiftyParallelAcceptsOfOneInvitationOneWins(t *testing.T) {
	onEachStoreDSN(t, func(t *testing.T, dsn string) {
		e, ada := inviteEnv(t, dsn)
		n := e.mail.Count()
		e.post("/api/v1/invitations", ada, map[string]string{"org": "acme", "email": "race@example.com"})
		tok := e.inviteLink(n, "race@example.com")
		var ok, refused atomic.Int64
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := e.call(context.Background(), http.MethodPost, "/api/v1/auth/invitation/accept", "",
					map[string]string{"token": tok, "username": fmt.Sprintf("racer%d", i), "password": testPassword}, nil)
				switch {
				case err != nil:
					t.Error(err)
				case r.status == 200:
					ok.Add(1)
				case r.status == 400 && strings.Contains(string(r.body), "invalid_invitation"):
					refused.Add(1)
				default:
					t.Errorf("parallel accept: %d %s", r.status, r.body)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 1 || refused.Load() != 49 {
			t.Errorf("50 parallel accepts: %d opened an account, %d refused; want 1 and 49", ok.Load(), refused.Load())
		}
		if out := e.cli("", "user", "list", "--org", "acme"); strings.Count(out, "racer") != 1 {
			t.Errorf("accounts created by one invitation:\n%s", out)
		}
	})
}
