package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/twofold-id/twofold/internal/store"
)

func TestLeavingTheBackupCodesPageNeedsTheSavedConfirmation(t *testing.T) {
	p := newPortal(t)
	p.addOrg("acme", store.OrgPolicy{})
	p.addUser("acme", "alice", "correct horse battery")
	b := p.browser()
	expect(t, b.login("acme", "alice", "correct horse battery"), 200, "/")
	r := b.post("/continue", url.Values{})
	if r.status != http.StatusBadRequest {
		t.Fatalf("continue without ticking the box: %d at %s", r.status, r.path)
	}
	expect(t, b.post("/continue", url.Values{"saved": {"yes"}}), 200, "/")
}
