package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/password"
	"github.com/twofold-id/twofold/internal/store"
)

type pools struct{}

func (pools) PoolStats() []store.PoolStats {
	return []store.PoolStats{{Pool: "pool", Max: 4, Open: 2, InUse: 1, Idle: 1}}
}

// exercised returns Metrics with every series touched once.
func exercised(t *testing.T) *Metrics {
	t.Helper()
	m := New("v0.0.0-test")
	m.RequestStarted()("GET /login", "GET", 200, time.Millisecond)
	for _, e := range []store.AuditEvent{
		{Event: audit.SignInPassword, Outcome: audit.Success},
		{Event: audit.SignInSecondFactor, Outcome: audit.Failure, Detail: "method=totp"},
		{Event: audit.SignInSecondFactor, Outcome: audit.Denied, Detail: "method=totp refused: ratelimit: too many attempts, wait"},
		{Event: audit.SignInSecondFactor, Outcome: audit.Denied, Detail: "method=sms refused: ratelimit: second factor locked"},
		{Event: audit.SignInCompleted, Outcome: audit.Success, Detail: "session x"},
		{Event: audit.CodeChecked, Outcome: audit.Success, Detail: "method=backup_code"},
		{Event: audit.Lockout, Outcome: audit.Success},
		{Event: audit.CodeSent, Outcome: audit.Success, Detail: "sms code for signin"},
		{Event: audit.CodeSent, Outcome: audit.Failure, Detail: "email delivery failed"},
		{Event: audit.CodeSent, Outcome: audit.Denied, Detail: "quota org: exhausted"},
		{Event: audit.EmailConfirmSent, Outcome: audit.Denied, Detail: "quota user exhausted"},
		{Event: audit.EmailConfirmSent, Outcome: audit.Success},
		{Event: audit.Notified, Outcome: audit.Success, Detail: "factor_added"},
		{Event: "something.new", Outcome: "odd", Detail: "method=carrier-pigeon"},
	} {
		m.Audit(e)
	}
	m.WatchHasher(password.NewHasher(password.TestParams(), 2))
	m.WatchPools(pools{})
	_, end := m.QueryHook(nil)(context.Background(), "select")
	end(nil)
	_, end = m.QueryHook(nil)(context.Background(), "update")
	end(errors.New("boom"))
	m.hashWait.Observe(0)
	return m
}

func TestSecurityEventsAreCountedWithBoundedLabels(t *testing.T) {
	m := exercised(t)
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"password success", []string{"password", "password", "success"}, 1},
		{"totp failure", []string{"second_factor", "totp", "failure"}, 1},
		{"totp delayed", []string{"second_factor", "totp", "delayed"}, 1},
		{"sms locked", []string{"second_factor", "sms", "locked"}, 1},
	} {
		if got := testutil.ToFloat64(m.signinSteps.WithLabelValues(tc.labels...)); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	checks := map[string]float64{
		"lockouts":              testutil.ToFloat64(m.lockouts),
		"completed":             testutil.ToFloat64(m.signinsDone),
		"sms code sent":         testutil.ToFloat64(m.messagesSent.WithLabelValues("code", "sms", "success")),
		"email code failed":     testutil.ToFloat64(m.messagesSent.WithLabelValues("code", "email", "failure")),
		"org quota, code":       testutil.ToFloat64(m.quotaHits.WithLabelValues("org", "code")),
		"user quota, link":      testutil.ToFloat64(m.quotaHits.WithLabelValues("user", "confirmation")),
		"confirmation sent":     testutil.ToFloat64(m.messagesSent.WithLabelValues("confirmation", "email", "success")),
		"backup code checked":   testutil.ToFloat64(m.codeChecks.WithLabelValues("backup_code", "success")),
		"notice mailed":         testutil.ToFloat64(m.securityNotices.WithLabelValues("success")),
		"query error":           float64(testutil.CollectAndCount(m.queryDuration)),
		"unknown event ignored": 1,
	}
	for name, got := range checks {
		want := 1.0
		if name == "query error" {
			want = 2
		}
		if got != want {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
}

// TestTheDashboardUsesOnlyMetricsThatExist keeps deploy/grafana-dashboard.json
// in step with the metrics: every twofold_ series a panel queries is one
// this package exports.
func TestTheDashboardUsesOnlyMetricsThatExist(t *testing.T) {
	m := exercised(t)
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, f := range families {
		have[f.GetName()] = true
	}
	raw, err := os.ReadFile("../../deploy/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile(`\b(twofold|go|process)_[a-z_]+`)
	used := map[string]bool{}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, n := range name.FindAllString(tg.Expr, -1) {
				base := n
				for _, suffix := range []string{"_bucket", "_count", "_sum"} {
					if b, ok := strings.CutSuffix(n, suffix); ok && have[b] {
						base = b
					}
				}
				if !have[base] {
					t.Errorf("panel %q queries %s, which is not exported", p.Title, n)
				}
				used[base] = true
			}
		}
	}
	for n := range have {
		if strings.HasPrefix(n, "twofold_") && !used[n] {
			t.Errorf("%s is on no panel of the dashboard", n)
		}
	}
}
