package api_test

// The one-time link that creates the first platform admin (issue 19,
// item 1): it works while no superadmin exists, and never after one was
// created by any path.

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/twofold-id/twofold/internal/store"
)

// setupLink issues a setup token the way `twofold serve` does at start.
func (s *server) setupLink() string {
	s.t.Helper()
	tok, err := s.app.Admin.NewSetupToken(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

// postSetup submits the portal's setup form and returns the status.
func (s *server) postSetup(token, username string) int {
	s.t.Helper()
	res, err := s.srv.Client().PostForm(s.srv.URL+"/setup", url.Values{"token": {token}, "username": {username},
		"email": {username + "@example.com"}, "password": {testPassword}})
	if err != nil {
		s.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func (s *server) superadmins() []string {
	s.t.Helper()
	us, err := s.app.Store.ListUsers(context.Background(), store.UserFilter{Role: store.RoleSuperadmin})
	if err != nil {
		s.t.Fatal(err)
	}
	var names []string
	for _, u := range us {
		names = append(names, u.Username)
	}
	return names
}

func TestTheSetupLinkIsDeadOnceAPlatformAdminExists(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(s *server) string // returns the token the attacker holds
	}{
		{"superadmin created at the command line after the link", func(s *server) string {
			tok := s.setupLink()
			s.cli(testPassword+"\n", "user", "create", "--org", "platform", "--username", "root", "--role", "superadmin", "--password-stdin")
			return tok
		}},
		{"admin promoted to superadmin after the link", func(s *server) string {
			s.cli(testPassword+"\n", "user", "create", "--org", "platform", "--username", "root", "--role", "admin", "--password-stdin")
			tok := s.setupLink()
			s.cli("", "user", "set", "--org", "platform", "--username", "root", "--role", "superadmin")
			return tok
		}},
		{"link issued while a superadmin already exists", func(s *server) string {
			s.cli(testPassword+"\n", "user", "create", "--org", "platform", "--username", "root", "--role", "superadmin", "--password-stdin")
			return s.setupLink() // as a start-up check racing the command line would
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			onEachStoreDSN(t, func(t *testing.T, dsn string) {
				s := newServerOn(t, dsn, ptr(testParams()), nil)
				tok := tc.setup(s)
				if st := s.postSetup(tok, "evil"); st == http.StatusOK {
					t.Fatalf("POST /setup with the old link: %d, want a refusal", st)
				}
				if got := s.superadmins(); len(got) != 1 || got[0] != "root" {
					t.Fatalf("superadmins = %v, want only root", got)
				}
			})
		})
	}
}

func TestTheSetupLinkCreatesTheFirstAdminOnce(t *testing.T) {
	onEachStoreDSN(t, func(t *testing.T, dsn string) {
		s := newServerOn(t, dsn, ptr(testParams()), nil)
		tok := s.setupLink()
		if st := s.postSetup(tok, "first"); st != http.StatusOK {
			t.Fatalf("POST /setup: %d", st)
		}
		if st := s.postSetup(tok, "second"); st == http.StatusOK {
			t.Fatalf("POST /setup again: %d", st)
		}
		if got := s.superadmins(); len(got) != 1 || got[0] != "first" {
			t.Fatalf("superadmins = %v, want only first", got)
		}
		s.signIn("platform", "first", "authenticated")
	})
}
