package forwardauth_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/forwardauth/nginxtest"
)

// nginxConf is the configuration of docs/forward-auth.md, with the test's
// upstreams: auth.example.test is the portal, wiki.example.test the app
// behind auth_request.
const nginxConf = `
    # The app gets the browser's cookies without Twofold's session.
    map $http_cookie $tf_app_cookie {
        default $http_cookie;
        "~^(?<tf_pre>.*?)(?:;\s*)?(?:__Secure-)?twofold_session=[^;]*(?<tf_post>.*)$" "$tf_pre$tf_post";
    }

    server {
        listen 127.0.0.1:PORT;
        server_name auth.example.test;
        location / {
            proxy_pass http://TWOFOLD;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
        }
    }
    server {
        listen 127.0.0.1:PORT;
        server_name wiki.example.test;

        location = /twofold-auth {
            internal;
            proxy_pass http://TWOFOLD/forward-auth/auth-request;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URL http://wiki.example.test:PORT$request_uri;
            proxy_set_header X-Forwarded-Method $request_method;
            proxy_set_header X-Forwarded-Proto "";
            proxy_set_header X-Forwarded-Host "";
            proxy_set_header X-Forwarded-Uri "";
            proxy_set_header X-Forwarded-For $remote_addr;
        }

        location / {
            auth_request /twofold-auth;
            auth_request_set $tf_user $upstream_http_remote_user;
            auth_request_set $tf_email $upstream_http_remote_email;
            auth_request_set $tf_name $upstream_http_remote_name;
            auth_request_set $tf_org $upstream_http_remote_org;
            auth_request_set $tf_groups $upstream_http_remote_groups;
            auth_request_set $tf_signin $upstream_http_location;
            error_page 401 =302 $tf_signin;

            proxy_set_header Remote-User $tf_user;
            proxy_set_header Remote-Email $tf_email;
            proxy_set_header Remote-Name $tf_name;
            proxy_set_header Remote-Org $tf_org;
            proxy_set_header Remote-Groups $tf_groups;
            proxy_set_header Cookie $tf_app_cookie;
            proxy_set_header Host $http_host;
            proxy_pass http://APP;
        }
    }
`

// TestNginxInFrontOfAnAppSignsInStepsUpAndNeverPassesForgedHeaders runs
// the whole journey through a real nginx: unauthenticated → the portal's
// sign-in with password and TOTP → the app sees who it is; /admin demands a
// fresh factor and steps up; a Remote-User sent by the browser never
// reaches the app; a return address on a foreign host is refused.
func TestNginxInFrontOfAnAppSignsInStepsUpAndNeverPassesForgedHeaders(t *testing.T) {
	nginxtest.Binary(t) // skip early when there is no nginx
	j := newJourney(t, nginxtest.FreePort(t))
	ng := nginxtest.Start(t, j.port, strings.NewReplacer("TWOFOLD", j.twofoldAddr, "APP", j.appAddr).Replace(nginxConf))
	j.proxyLog = ng.ErrorLog
	get, post, at, got, jar, wiki, portal, port := j.get, j.post, j.at, j.got, j.jar, j.wiki, j.portal, j.port
	j.enrollTOTP()
	var resp *http.Response
	var body string

	// 1. Unauthenticated, with forged identity headers: nginx sends the
	// browser to the portal; the app is never reached.
	resp, body = get(wiki+"/docs?x=1", "Remote-User", "mallory", "Remote-Groups", "admins")
	at(resp, body, 200, "/login/proxy", "Sign in to continue to Wiki.")
	if n := got.hits.Load(); n != 0 {
		t.Fatalf("the app was reached %d times without a session", n)
	}
	// The session cookie is scoped to the parent domain.
	for _, c := range jar.Cookies(&url.URL{Scheme: "http", Host: "wiki.example.test"}) {
		if c.Name == "twofold_session" {
			t.Fatalf("a session cookie before the sign-in: %v", c)
		}
	}

	// 2. Password and TOTP, then back to the app, which sees alice.
	j.signIn(wiki + "/docs?x=1")
	jar.SetCookies(&url.URL{Scheme: "http", Host: "wiki.example.test"}, []*http.Cookie{{Name: "wiki_pref", Value: "dark"}})
	resp, body = get(wiki+"/docs?x=1", "Remote-User", "mallory", "Remote-Groups", "admins", "Remote-Org", "globex")
	at(resp, body, 200, "/docs", "hello alice")
	j.appGot()

	// A form posted to the app passes too (nginx passes the browser's Origin
	// and Sec-Fetch-Site into its subrequest).
	req, _ := http.NewRequest("POST", wiki+"/docs/edit", strings.NewReader("text=hi"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", wiki)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, body = j.do(req)
	at(resp, body, 200, "/docs/edit", "hello alice")

	// 3. /admin wants a factor of at most 5 minutes: after 6 the browser
	// is sent to a step-up (a code, not a new sign-in), then passes.
	resp, body = get(wiki + "/admin/settings")
	at(resp, body, 200, "/admin/settings", "hello alice")
	j.clk.Advance(6 * time.Minute)
	hits := got.hits.Load()
	before := j.session()
	resp, body = get(wiki + "/%61dmin/settings") // the same path, spelled otherwise
	at(resp, body, 200, "/login/proxy", "Confirm it is you")
	resp, body = get(wiki+"/admin/settings", "X-Forwarded-Uri", "/docs", "X-Forwarded-Host", "wiki.example.test") // nor do these
	at(resp, body, 200, "/login/proxy", "Confirm it is you")
	resp, body = get(wiki+"/admin/settings", "X-Original-URL", wiki+"/docs") // a forged URL decides nothing
	at(resp, body, 200, "/login/proxy", "Confirm it is you", `action="/login/proxy/confirm"`)
	if got.hits.Load() != hits {
		t.Fatal("the app was reached with a stale second factor")
	}
	resp, body = post(portal+"/login/proxy/confirm", url.Values{"code": {j.code()}})
	at(resp, body, 200, "/login/proxy/confirm", `id="app-continue"`, wiki+"/admin/settings")
	if j.session() != before {
		t.Error("the step-up replaced the session instead of confirming it")
	}
	resp, body = get(wiki+"/admin/settings", "Remote-User", "root")
	at(resp, body, 200, "/admin/settings", "hello alice")

	// 4. A return address on a foreign host is refused, never followed.
	for _, rd := range []string{"http://evil.example/", fmt.Sprintf("http://evil.example.test:%d/", port), "//evil.example/",
		wiki + "@evil.example/", fmt.Sprintf("http://wiki.example.test:%d/", port+1)} {
		resp, body = get(portal + "/login?rd=" + url.QueryEscape(rd))
		at(resp, body, http.StatusBadRequest, "/login", "Return address refused")
	}

	// 5. Signing out at the portal ends access through nginx at once.
	resp, body = post(portal+"/logout", nil)
	at(resp, body, 200, "/login")
	hits = got.hits.Load()
	resp, body = get(wiki + "/docs")
	at(resp, body, 200, "/login/proxy", "Sign in to continue to Wiki.")
	if got.hits.Load() != hits {
		t.Fatal("the app was reached after signing out")
	}
}
