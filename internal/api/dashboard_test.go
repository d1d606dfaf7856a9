package api_test

import (
	"net/http"
	"testing"
)

func TestTheDashboardCountsAnOrgsSubtreeForItsAdminsOnly(t *testing.T) {
	s := newServer(t)
	s.tree()
	rita := s.adminSession("reseller", "rita") // a factor, and a sign-in
	s.session("dept", "dave")                  // a sign-in without factor
	if r := s.post("/api/v1/auth/login", "", map[string]string{"org": "dept", "username": "erin", "password": "not her password"}); r.status != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", r.status)
	}

	r := s.get("/api/v1/orgs/reseller/dashboard", rita)
	if r.status != http.StatusOK {
		t.Fatalf("dashboard: %d %s", r.status, r.body)
	}
	d := r.json(t)
	// reseller: rita; customer: carl; dept: dave, erin.
	if d["users"] != 4.0 || d["enrolled"] != 1.0 || d["locked"] != 0.0 {
		t.Errorf("counts %v, want 4 users, 1 enrolled, 0 locked", d)
	}
	if m := d["by_method"].(map[string]any); m["totp"] != 1.0 || m["email"] != 0.0 {
		t.Errorf("by_method %v, want totp 1 and email 0", m)
	}
	days := d["days"].([]any)
	last := days[len(days)-1].(map[string]any)
	if len(days) != 30 || last["sign_ins"].(float64) < 2 || last["failures"] != 1.0 {
		t.Errorf("%d days, today %v; want 30 days, today ≥ 2 sign-ins and 1 failure", len(days), last)
	}

	// sam administers another reseller: its dashboard is not his.
	sam := s.adminSession("reseller2", "sam")
	if r := s.get("/api/v1/orgs/reseller/dashboard", sam); r.status != http.StatusNotFound {
		t.Errorf("another reseller's admin: %d, want 404", r.status)
	}
	if r := s.get("/api/v1/orgs/dept/dashboard", s.session("dept", "dave")); r.status != http.StatusForbidden {
		t.Errorf("a member: %d, want 403", r.status)
	}
}
