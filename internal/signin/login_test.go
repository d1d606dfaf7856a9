package signin_test

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/factor/totp"
	"github.com/twofold-id/twofold/internal/signin"
)

func TestLoginGivesTheSameErrorForEveryWrongIdentity(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	w.org("other")
	u := w.user("acme", "alice")
	w.newUser(admin.NewUser{OrgSlug: "acme", Username: "dora", Password: testPassword})
	if _, err := w.admin.UpdateUser(w.ctx, w.sys, mustUserID(t, w, "acme", "dora"), admin.Change{Disabled: ptr(true)}, client); err != nil {
		t.Fatal(err)
	}

	cases := []struct{ name, org, user, pw string }{
		{"unknown org", "nosuch", "alice", testPassword},
		{"malformed org slug", "ACME!", "alice", testPassword},
		{"unknown user", "acme", "bob", testPassword},
		{"user of another org", "other", "alice", testPassword},
		{"wrong password", "acme", "alice", "wrong password!"},
		{"empty password", "acme", "alice", ""},
		{"disabled user with the right password", "acme", "dora", testPassword},
	}
	var messages []string
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := w.login(c.org, c.user, c.pw)
			wantCode(t, err, "invalid_credentials")
			if r.SessionToken != "" || r.FlowToken != "" {
				t.Fatalf("a failed login returned a token: %+v", r)
			}
			messages = append(messages, err.Error())
		})
	}
	for _, m := range messages[1:] {
		if m != messages[0] {
			t.Errorf("error messages differ: %q vs %q", m, messages[0])
		}
	}
	// And the right password still works afterwards.
	r := w.mustLogin("acme", "alice", signin.StatusAuthenticated)
	if r.User.ID != u.ID {
		t.Fatalf("signed in as %s, want %s", r.User.ID, u.ID)
	}
}

func TestUsernamesThatNormalizeAlikeAreOneAccountWithOneFailureCounter(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	u, a, _ := w.enrolledUser("acme", "Alice")

	for _, name := range []string{"Alice", "alice", "ALICE", "ａｌｉｃｅ"} {
		r := w.mustLogin("acme", name, signin.StatusMFARequired)
		if r.User.ID != u.ID {
			t.Fatalf("%q signed in as %s, want %s", name, r.User.ID, u.ID)
		}
	}

	// One wrong code under each spelling, plus one more: five failures on
	// one counter, so the sixth attempt is delayed whatever the spelling.
	spellings := []string{"alice", "ALICE", "ａｌｉｃｅ", "Alice", "aLiCe"}
	for _, name := range spellings {
		_, err := w.signin.Verify(w.ctx, w.flow("acme", name), totp.Kind, wrongCode(a, w.clock.Now()), client)
		wantCode(t, err, "invalid_code")
	}
	if got := w.attempts(u).Failures; got != len(spellings) {
		t.Fatalf("failures = %d, want %d on one shared counter", got, len(spellings))
	}
	_, err := w.signin.Verify(w.ctx, w.flow("acme", "ＡＬＩＣＥ"), totp.Kind, a.code(w.clock.Now(), 0), client)
	wantCode(t, err, "too_many_attempts")
}

func TestABcryptHashFromAnImportSignsInAndIsRehashedToArgon2id(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	// Import: the account exists without a password, then gets the hash
	// the old system kept.
	u := w.newUser(admin.NewUser{OrgSlug: "acme", Username: "carol"})
	bh, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := w.store.SetPasswordHash(w.ctx, u.ID, u.PasswordHash, string(bh)); err != nil || !ok {
		t.Fatalf("import hash: %v %v", ok, err)
	}

	_, err = w.login("acme", "carol", "not the password")
	wantCode(t, err, "invalid_credentials")
	if got, _ := w.store.GetUser(w.ctx, u.ID); got.PasswordHash != string(bh) {
		t.Fatalf("a failed sign-in changed the imported hash to %q", got.PasswordHash)
	}

	w.mustLogin("acme", "carol", signin.StatusAuthenticated)
	got, err := w.store.GetUser(w.ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got.PasswordHash, "$argon2id$") {
		t.Fatalf("after sign-in the stored hash is %.8q…, want an argon2id hash", got.PasswordHash)
	}
	// The new hash works, and the old password is the only one that does.
	w.mustLogin("acme", "carol", signin.StatusAuthenticated)
	_, err = w.login("acme", "carol", "not the password")
	wantCode(t, err, "invalid_credentials")
}

func mustUserID(t *testing.T, w *world, org, name string) string {
	t.Helper()
	u, _, err := w.admin.UserByName(w.ctx, w.sys, org, name)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func ptr[T any](v T) *T { return &v }

func TestAnAccountWithoutAPasswordCannotSignInAndIsNotAnError(t *testing.T) {
	w := newWorld(t)
	w.org("acme")
	w.newUser(admin.NewUser{OrgSlug: "acme", Username: "nopass"})
	for _, pw := range []string{"", testPassword} {
		_, err := w.login("acme", "nopass", pw)
		wantCode(t, err, "invalid_credentials")
	}
	// An account awaiting its first password is normal, not an unreadable
	// hash: nothing is logged at error level.
	if logs := w.log.String(); strings.Contains(logs, `"level":"ERROR"`) {
		t.Fatalf("sign-in to an account without a password logged an error:\n%s", logs)
	}
}
