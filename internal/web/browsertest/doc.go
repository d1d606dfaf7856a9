// Package browsertest drives the Twofold portal in a real Chromium with
// chromedp: the sign-in journeys end to end through the pages, basic
// accessibility and keyboard checks, and the screenshots under
// docs/screenshots.
//
// Each test starts the real handler tree (app.Open on SQLite in a temporary
// directory, cheap password hashing, a settable clock) behind
// httptest.NewServer, and a tab in a browser context of its own (own
// cookies) of the package's one headless Chromium. Orgs and users are
// created through the twofold command line code path (a user with an email
// address through the admin service, which mails the confirmation link);
// everything else happens by typing and clicking in the pages. Mail goes
// over SMTP to an in-process go-smtp server, where the tests read the
// links and codes.
//
// The browser is TWOFOLD_CHROMIUM, or /usr/bin/chromium. When it is missing
// the tests are skipped, unless TWOFOLD_REQUIRE_BROWSER=1, which makes them
// fail. TWOFOLD_SCREENSHOTS=1 rewrites the PNG files in docs/screenshots:
//
//	TWOFOLD_SCREENSHOTS=1 go test ./internal/web/browsertest -run Screenshots
//
// The package has only this file outside its tests.
package browsertest
