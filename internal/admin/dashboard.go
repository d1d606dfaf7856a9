package admin

import (
	"context"
	"time"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/factor/methods"
	"github.com/twofold-id/twofold/internal/policy"
	"github.com/twofold-id/twofold/internal/store"
)

// DashboardDays is how many days of sign-in activity a dashboard shows.
const DashboardDays = 30

// Dashboard is what an org's dashboard shows, over the org and its
// descendants: how far enrollment has come, who is still in a grace
// period, locked accounts, and sign-in activity.
type Dashboard struct {
	Org    store.Org
	Counts store.OrgCounts
	// Methods are the users with a confirmed factor of each method, in the
	// order methods are offered (zero counts included).
	Methods []MethodCount
	// Waiting are the orgs whose users still have to set up a factor,
	// soonest deadline first.
	Waiting []WaitingOrg
	// Days are the last DashboardDays UTC days, oldest first, today last;
	// days without activity are zero.
	Days []store.DayCount
	At   time.Time
}

// MethodCount is the number of users with a method.
type MethodCount struct {
	Kind, Name string
	Users      int
}

// WaitingOrg are an org's users who must still set up a factor.
type WaitingOrg struct {
	Org   store.Org
	Users int
	// GraceEnds is when the earliest of them runs out of grace (the org's
	// grace period, read now, from the first time a sign-in asked them);
	// Overdue says it has passed, so their next sign-in makes them set up.
	GraceEnds time.Time
	Overdue   bool
}

// Dashboard returns the dashboard of org slug for an admin of it. Counts
// come from aggregate queries; nothing loads the users one by one.
func (s *Service) Dashboard(ctx context.Context, a access.Actor, slug string) (Dashboard, error) {
	org, err := s.Org(ctx, a, slug)
	if err != nil {
		return Dashboard{}, err
	}
	now := s.now().UTC()
	d := Dashboard{Org: org, At: now}
	if d.Counts, err = s.store.OrgCounts(ctx, org.Path, now); err != nil {
		return Dashboard{}, err
	}
	for _, m := range methods.Default.All() {
		if n, ok := d.Counts.ByMethod[m.Kind()]; ok || !m.Traits().Recovery {
			d.Methods = append(d.Methods, MethodCount{Kind: m.Kind(), Name: m.Traits().Name, Users: n})
		}
	}
	for _, w := range d.Counts.Waiting {
		chain, err := s.store.OrgChain(ctx, w.OrgID)
		if err != nil {
			return Dashboard{}, err
		}
		ends := w.Earliest.Add(policy.ForUser(chain, store.User{}).Grace)
		d.Waiting = append(d.Waiting, WaitingOrg{Org: chain[len(chain)-1], Users: w.Users, GraceEnds: ends, Overdue: !now.Before(ends)})
	}
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	first := today.AddDate(0, 0, -(DashboardDays - 1))
	days, err := s.store.SignInsByDay(ctx, org.Path, first)
	if err != nil {
		return Dashboard{}, err
	}
	byDay := make(map[time.Time]store.DayCount, len(days))
	for _, dc := range days {
		byDay[dc.Day] = dc
	}
	for i := range DashboardDays {
		day := first.AddDate(0, 0, i)
		dc := byDay[day]
		dc.Day = day
		d.Days = append(d.Days, dc)
	}
	return d, nil
}
