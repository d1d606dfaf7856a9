package store

import (
	"context"
	"time"
)

// OrgCounts are the numbers of an org's dashboard, over the org and its
// descendants, at one moment.
type OrgCounts struct {
	Users    int // enabled users
	Disabled int
	// Enrolled is the number of enabled users with at least one confirmed
	// factor; ByMethod the number with one of each kind.
	Enrolled int
	ByMethod map[string]int
	// Locked is the number of enabled users whose second factor is locked
	// now.
	Locked int
	// Waiting are, per org, the enabled users without a confirmed factor
	// whom a sign-in found required to set one up (MFARequiredSince set),
	// with the earliest such time: their grace period runs from it.
	Waiting []WaitingUsers
}

// WaitingUsers are the users of one org who still have to set up a factor.
type WaitingUsers struct {
	OrgID    string
	Users    int
	Earliest time.Time
}

// DayCount is one UTC day of sign-in activity.
type DayCount struct {
	Day      time.Time // 00:00 UTC
	SignIns  int       // sessions issued (audit signin.completed)
	Failures int       // wrong passwords and wrong codes at sign-in
}

// Dashboards counts for an org's dashboard with aggregate queries (never
// by loading users).
type Dashboards interface {
	// OrgCounts counts the users of the orgs whose path starts with
	// orgPath, as of now.
	OrgCounts(ctx context.Context, orgPath string, now time.Time) (OrgCounts, error)
	// SignInsByDay counts, per UTC day from since on, the sign-ins and
	// failed sign-in steps recorded for those orgs; days without any are
	// left out, the rest are in order.
	SignInsByDay(ctx context.Context, orgPath string, since time.Time) ([]DayCount, error)
}
