package web_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// sessionRoute matches the registration of a portal route that needs a
// session: h.authed(…) or the admin console's a(…).
var sessionRoute = regexp.MustCompile(`mux\.HandleFunc\("([A-Z]+) ([^"]+)",\s*(?:h\.authed|a)\(`)

// sessionRoutes lists "METHOD /path" of every portal route that needs a
// session, read from the package's source so a new page cannot be left out.
func sessionRoutes(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range sessionRoute.FindAllStringSubmatch(string(src), -1) {
			out = append(out, m[1]+" "+m[2])
		}
	}
	if len(out) < 25 {
		t.Fatalf("found only %d session routes; has the registration style changed? %v", len(out), out)
	}
	return out
}

// TestEveryPageLeadsAStaleSessionIntoTheStepItLacks signs a browser in per
// portal route while MFA is optional, makes it required, and then opens each
// route with its own stale session: every one leads into the setup wizard
// (the user has no factor) and the old session is gone.
func TestEveryPageLeadsAStaleSessionIntoTheStepItLacks(t *testing.T) {
	p := newPortal(t)
	p.addOrg("acme", store.OrgPolicy{MFA: store.MFAOptional})
	p.addRoleUser("acme", "ada", store.RoleAdmin, "")
	routes := sessionRoutes(t)
	browsers := make([]*browser, len(routes))
	for i := range routes {
		p.clock.Advance(2 * time.Second) // stay under the per-address sign-in limit
		browsers[i] = p.browser()
		expect(t, browsers[i].login("acme", "ada", pw), 200, "/")
	}
	ctx := context.Background()
	sys, _ := p.app.Admin.System(ctx)
	if _, err := p.app.Admin.SetPolicy(ctx, sys, "acme", store.OrgPolicy{MFA: store.MFARequired}, signin.Client{}); err != nil {
		t.Fatal(err)
	}
	for i, rt := range routes {
		method, path, _ := strings.Cut(rt, " ")
		path = strings.NewReplacer("{id}", p.userID("acme", "ada"), "{slug}", "acme", "{method}", "email", "{$}", "").Replace(path)
		b := browsers[i]
		var pg page
		if method == http.MethodGet {
			pg = b.get(path)
		} else {
			pg = b.post(path, url.Values{"mfa": {"off"}, "role": {"member"}, "new_password": {"x"}})
		}
		if pg.path != "/login/enroll" || pg.status != http.StatusOK {
			t.Errorf("%s with a stale session: ended at %d %s, want the setup wizard", rt, pg.status, pg.path)
			continue
		}
		if again := b.get("/security"); again.path != "/login" {
			t.Errorf("%s: the stale session was not ended: /security answers %d %s", rt, again.status, again.path)
		}
	}
	// The policy was not touched by any of those posts.
	v, err := p.app.Admin.Policy(ctx, sys, "acme")
	if err != nil || v.Own.MFA != store.MFARequired {
		t.Fatalf("acme's policy after the stale posts: %+v %v", v.Own, err)
	}
}

// TestStaleSessionWithAFactorIsAskedForTheSecondStep: a user who added an
// app while MFA was optional, whose org then requires it, is led to the
// second step (not the wizard), and lands signed in after the code.
func TestStaleSessionWithAFactorIsAskedForTheSecondStep(t *testing.T) {
	p := newPortal(t)
	p.addOrg("acme", store.OrgPolicy{MFA: store.MFAOptional})
	p.addUser("acme", "bob", pw)
	b := p.browser()
	expect(t, b.login("acme", "bob", pw), 200, "/")
	secret := b.addTOTP()
	ctx := context.Background()
	sys, _ := p.app.Admin.System(ctx)
	if _, err := p.app.Admin.SetPolicy(ctx, sys, "acme", store.OrgPolicy{MFA: store.MFARequired}, signin.Client{}); err != nil {
		t.Fatal(err)
	}
	expect(t, b.get("/security"), 200, "/login/verify")
	p.clock.Advance(30 * time.Second)
	expect(t, b.post("/login/verify", url.Values{"method": {"totp"}, "code": {p.code(secret)}}), 200, "/")
	expect(t, b.get("/security"), 200, "/security")
}

// TestAnAdminWithoutAFactorIsLedToSetOneUp: every weakening action in the
// console by an admin without a second factor is refused with a link to
// set one up, never carried out (issue 10.4).
func TestAnAdminWithoutAFactorIsLedToSetOneUp(t *testing.T) {
	p := newPortal(t)
	p.addOrg("acme", store.OrgPolicy{MFA: store.MFARequired})
	ctx := context.Background()
	sys, _ := p.app.Admin.System(ctx)
	if _, err := p.app.Admin.CreateOrg(ctx, sys, admin.NewOrg{Slug: "team", Name: "Team", ParentSlug: "acme",
		Policy: store.OrgPolicy{MFA: store.MFARequired}}, signin.Client{}); err != nil {
		t.Fatal(err)
	}
	p.addRoleUser("team", "tom", store.RoleMember, "")
	tom := p.userID("team", "tom")
	required := true
	if _, err := p.app.Admin.UpdateUser(ctx, sys, tom, admin.Change{MFARequired: &required}, signin.Client{}); err != nil {
		t.Fatal(err)
	}
	// oli, a platform admin of an org where MFA is optional (and the
	// platform rule is off), signs in with a password alone.
	p.addOrg("ops", store.OrgPolicy{MFA: store.MFAOptional})
	p.addRoleUser("ops", "oli", store.RoleSuperadmin, "")
	oli := p.browser()
	expect(t, oli.login("ops", "oli", pw), 200, "/")
	for _, a := range []struct {
		name, path string
		form       url.Values
	}{
		{"lower a policy", "/admin/orgs/team/policy", url.Values{"mfa": {"off"}, "methods_inherit": {"yes"}}},
		{"reset MFA", "/admin/users/" + tom + "/reset-mfa", nil},
		{"stop requiring MFA", "/admin/users/" + tom + "/mfa-required", url.Values{"required": {"no"}}},
		{"change a role", "/admin/users/" + tom + "/role", url.Values{"role": {"admin"}}},
		{"set a password", "/admin/users/" + tom + "/password", url.Values{"new_password": {"another long passphrase"}, "new_password_again": {"another long passphrase"}}},
		{"create an admin", "/admin/users", url.Values{"org": {"team"}, "username": {"newadmin"}, "role": {"admin"}, "new_password": {pw}}},
	} {
		pg := oli.post(a.path, a.form)
		if pg.status != http.StatusForbidden || !strings.Contains(pg.body, signin.ErrOwnFactorRequired.Message) || !strings.Contains(pg.body, `id="own-factor-link"`) {
			t.Errorf("%s by an admin without a factor: %d at %s, want 403 with the link to set one up; body:\n%s", a.name, pg.status, pg.path, pg.body)
		}
	}
	u, _, err := p.app.Admin.User(ctx, sys, tom)
	if err != nil || u.Role != store.RoleMember || !u.MFARequired {
		t.Fatalf("tom after the refused actions: %+v %v", u, err)
	}
	if _, _, err := p.app.Admin.UserByName(ctx, sys, "team", "newadmin"); err == nil {
		t.Fatal("the admin was created")
	}
	v, _ := p.app.Admin.Policy(ctx, sys, "team")
	if v.Own.MFA != store.MFARequired {
		t.Fatalf("team's policy after the refused change: %+v", v.Own)
	}
}

// TestFirstPlatformAdminEnrollsAtFirstSignIn: with the platform rule on
// (the default), the README's first admin is led into setup right away.
func TestFirstPlatformAdminEnrollsAtFirstSignIn(t *testing.T) {
	p := newPortalWith(t, func(c *config.Config) { c.AdminMFARequired = true })
	p.addRoleUser("platform", "admin", store.RoleSuperadmin, "")
	b := p.browser()
	expect(t, b.login("platform", "admin", pw), 200, "/login/enroll")
}
