package api_test

// Every identifier a person types at sign-in goes through the same
// normalization (issue 10, item 5): the organization as much as the
// username.

import (
	"net/http"
	"strings"
	"testing"
)

func TestTheOrganizationAtSignInIsCaseFoldedLikeTheUsername(t *testing.T) {
	onEachStoreDSN(t, func(t *testing.T, dsn string) {
		s := newServerOn(t, dsn, ptr(testParams()), nil)
		s.cli("", "org", "create", "--slug", "acme", "--name", "Acme Corp")
		s.cli(testPassword+"\n", "user", "create", "--org", "acme", "--username", "bob", "--password-stdin")
		for _, org := range []string{"acme", "Acme", "ACME", " acme ", "ａｃｍｅ"} {
			for _, user := range []string{"bob", "BOB", "Bob"} {
				r := s.post("/api/v1/auth/login", "", map[string]string{"org": org, "username": user, "password": testPassword})
				if r.status != http.StatusOK || r.str(t, "status") != "authenticated" {
					t.Errorf("org %q user %q: %d %s", org, user, r.status, r.body)
				}
			}
		}
	})
}

func TestAdminsNameOrganizationsInAnyCaseToo(t *testing.T) {
	s := newServer(t)
	s.cli("", "org", "create", "--slug", "acme", "--name", "Acme Corp")
	s.cli(testPassword+"\n", "user", "create", "--org", "ACME", "--username", "bob", "--password-stdin")
	if out := s.cli("", "user", "list", "--org", "Acme"); !strings.Contains(out, "bob") {
		t.Fatalf("user list --org Acme:\n%s", out)
	}
}
