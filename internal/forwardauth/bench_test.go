package forwardauth_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/app"
	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/factor/backup"
	"github.com/twofold-id/twofold/internal/forwardauth"
	"github.com/twofold-id/twofold/internal/password"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
	"github.com/twofold-id/twofold/internal/web"
)

// BenchmarkAuthRequestAllow measures one question of nginx's auth_request
// that is let through (SQLite, in process, a password-only session of a
// user two orgs below the root): the session, user, org, policy, client
// by host, the client's org and the org chain for Remote-Groups, every
// time.
func BenchmarkAuthRequestAllow(b *testing.B) {
	cfg := config.Default()
	cfg.DataDir = b.TempDir()
	cfg.AdminMFARequired = false
	pp := password.TestParams()
	ctx := context.Background()
	a, err := app.Open(ctx, cfg, slog.New(slog.DiscardHandler), app.Options{PasswordParams: &pp,
		BackupParams: &backup.Params{Memory: 64, Time: 1, Threads: 1}})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	if _, _, err := a.EnsureRoot(ctx); err != nil {
		b.Fatal(err)
	}
	sys, _ := a.Admin.System(ctx)
	for _, o := range []admin.NewOrg{{Slug: "acme", Name: "Acme"}, {Slug: "sales", Name: "Sales", ParentSlug: "acme"}} {
		if _, err := a.Admin.CreateOrg(ctx, sys, o, signin.Client{}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := a.Admin.CreateUser(ctx, sys, admin.NewUser{OrgSlug: "sales", Username: "dave", Password: "correct horse battery"}, signin.Client{}); err != nil {
		b.Fatal(err)
	}
	if _, _, err := a.Admin.CreateClient(ctx, sys, admin.NewClient{OrgSlug: "acme", Name: "Wiki", Kind: store.ClientProxy,
		Hosts: []string{"wiki.example.test"}, Rules: []forwardauth.RuleInput{{PathPrefix: "/", ACR: "pwd"}}}, signin.Client{}); err != nil {
		b.Fatal(err)
	}
	res, err := a.Signin.Login(ctx, signin.LoginRequest{Org: "sales", Username: "dave", Password: "correct horse battery"}, signin.Client{})
	if err != nil || res.SessionToken == "" {
		b.Fatalf("login: %+v %v", res, err)
	}
	h := a.Handler()
	req := httptest.NewRequest("GET", "/forward-auth/auth-request", nil)
	req.Header.Set("X-Original-URL", "https://wiki.example.test/docs/page")
	req.AddCookie(&http.Cookie{Name: web.SessionCookieName(false, ""), Value: res.SessionToken})
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK || w.Header().Get("Remote-User") != "dave" {
			b.Fatalf("status %d, headers %v", w.Code, w.Header())
		}
	}
}
