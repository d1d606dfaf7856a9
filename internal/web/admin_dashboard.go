package web

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// adminDashboardPage is an org's dashboard.
type adminDashboardPage struct {
	adminBase
	D     admin.Dashboard
	Chart template.HTML // the activity chart, an inline SVG made here
	// SignIns and Failures are the totals over the chart's days.
	SignIns, Failures int
}

func (pg adminDashboardPage) title() string { return "Admin · Dashboard · " + pg.D.Org.Name }

// EnrolledPercent is the share of enabled users with a factor.
func (pg adminDashboardPage) EnrolledPercent() int {
	if pg.D.Counts.Users == 0 {
		return 0
	}
	return pg.D.Counts.Enrolled * 100 / pg.D.Counts.Users
}

func (h *handler) adminDashboard(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	d, err := h.Admin.Dashboard(r.Context(), actorOf(p), r.PathValue("slug"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	pg := adminDashboardPage{adminBase: adminBase{User: &p, Section: "orgs", Notice: adminNotice(r)}, D: d, Chart: activityChart(d.Days)}
	for _, day := range d.Days {
		pg.SignIns += day.SignIns
		pg.Failures += day.Failures
	}
	h.render(w, r, "admin_dashboard", pg)
}

// activityChart draws sign-ins and failures per day as grouped bars in an
// SVG with a text alternative (role="img", <title>, <desc>) and a label
// per bar for screen readers. It is made from numbers and dates only, so
// nothing user-controlled reaches the markup.
func activityChart(days []store.DayCount) template.HTML {
	const (
		width, height = 720, 200
		left, bottom  = 36, 24
		top           = 10
	)
	peak := 1
	for _, d := range days {
		peak = max(peak, d.SignIns, d.Failures)
	}
	slot := float64(width-left) / float64(max(len(days), 1))
	bar := slot * 0.4
	y := func(n int) float64 {
		return float64(height-bottom) - float64(n)*float64(height-bottom-top)/float64(peak)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="activity-chart" role="img" aria-labelledby="chart-title chart-desc" viewBox="0 0 %d %d" width="100%%" xmlns="http://www.w3.org/2000/svg">`, width, height)
	total := func(f func(store.DayCount) int) int {
		n := 0
		for _, d := range days {
			n += f(d)
		}
		return n
	}
	fmt.Fprintf(&b, `<title id="chart-title">Sign-ins and failures per day</title><desc id="chart-desc">%d sign-ins and %d failed sign-in steps over the last %d days; the highest day count is %d.</desc>`,
		total(func(d store.DayCount) int { return d.SignIns }), total(func(d store.DayCount) int { return d.Failures }), len(days), peak)
	// Axis and the peak's grid line.
	fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#888" stroke-width="1"/>`, left, y(0), width, y(0))
	fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ccc" stroke-dasharray="4 4" stroke-width="1"/>`, left, y(peak), width, y(peak))
	fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="11" text-anchor="end" fill="currentColor">%d</text>`, left-4, y(peak)+4, peak)
	fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="11" text-anchor="end" fill="currentColor">0</text>`, left-4, y(0)+4)
	for i, d := range days {
		x := float64(left) + float64(i)*slot + slot*0.1
		label := d.Day.Format("2 Jan")
		fmt.Fprintf(&b, `<g><title>%s: %d sign-ins, %d failures</title>`, label, d.SignIns, d.Failures)
		fmt.Fprintf(&b, `<rect class="bar-signins" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#2b6cb0"/>`, x, y(d.SignIns), bar, y(0)-y(d.SignIns))
		fmt.Fprintf(&b, `<rect class="bar-failures" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#c53030"/>`, x+bar, y(d.Failures), bar, y(0)-y(d.Failures))
		b.WriteString(`</g>`)
		if i%7 == 0 || i == len(days)-1 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11" text-anchor="middle" fill="currentColor">%s</text>`, x+bar, height-6, label)
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // #nosec: built from numbers and fixed dates only
}
