package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/store"
)

// OrgCounts implements store.Dashboards.
func (s *Store) OrgCounts(ctx context.Context, orgPath string, now time.Time) (store.OrgCounts, error) {
	const inOrgs = `org_id IN (SELECT id FROM orgs WHERE path LIKE $1)`
	like := likePrefix(orgPath)
	c := store.OrgCounts{ByMethod: map[string]int{}}
	err := s.pool.QueryRow(ctx, `
		SELECT
			COUNT(*) FILTER (WHERE NOT u.disabled),
			COUNT(*) FILTER (WHERE u.disabled),
			COUNT(*) FILTER (WHERE NOT u.disabled AND EXISTS (SELECT 1 FROM factors f WHERE f.user_id = u.id AND f.confirmed_at IS NOT NULL)),
			COUNT(*) FILTER (WHERE NOT u.disabled AND EXISTS (SELECT 1 FROM mfa_attempts m WHERE m.user_id = u.id AND m.locked_until > $2))
		FROM users u WHERE u.`+inOrgs, like, ts(now)).Scan(&c.Users, &c.Disabled, &c.Enrolled, &c.Locked)
	if err != nil {
		return store.OrgCounts{}, mapErr("org counts", err)
	}
	rows, err := s.pool.Query(ctx, `
		SELECT f.kind, COUNT(DISTINCT f.user_id) FROM factors f JOIN users u ON u.id = f.user_id
		WHERE f.confirmed_at IS NOT NULL AND NOT u.disabled AND u.`+inOrgs+`
		GROUP BY f.kind`, like)
	if err != nil {
		return store.OrgCounts{}, mapErr("org counts by method", err)
	}
	for rows.Next() {
		var kind string
		var n int
		if err := rows.Scan(&kind, &n); err != nil {
			rows.Close()
			return store.OrgCounts{}, mapErr("org counts by method", err)
		}
		c.ByMethod[kind] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return store.OrgCounts{}, mapErr("org counts by method", err)
	}
	rows, err = s.pool.Query(ctx, `
		SELECT u.org_id, COUNT(*), MIN(u.mfa_required_since) FROM users u
		WHERE NOT u.disabled AND u.mfa_required_since IS NOT NULL AND u.`+inOrgs+`
			AND NOT EXISTS (SELECT 1 FROM factors f WHERE f.user_id = u.id AND f.confirmed_at IS NOT NULL)
		GROUP BY u.org_id ORDER BY MIN(u.mfa_required_since), u.org_id`, like)
	c.Waiting, err = collect(rows, err, func(r pgx.CollectableRow) (store.WaitingUsers, error) {
		var w store.WaitingUsers
		err := r.Scan(&w.OrgID, &w.Users, &w.Earliest)
		return w, err
	})
	return c, mapErr("org counts waiting", err)
}

// SignInsByDay implements store.Dashboards.
func (s *Store) SignInsByDay(ctx context.Context, orgPath string, since time.Time) ([]store.DayCount, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT date_trunc('day', at AT TIME ZONE 'UTC') AS d,
			COUNT(*) FILTER (WHERE event = $3 AND outcome = $4),
			COUNT(*) FILTER (WHERE event IN ($5, $6) AND outcome = $7)
		FROM audit_events
		WHERE at >= $2 AND event IN ($3, $5, $6) AND org_id IN (SELECT id FROM orgs WHERE path LIKE $1)
		GROUP BY d ORDER BY d`,
		likePrefix(orgPath), ts(since), audit.SignInCompleted, audit.Success, audit.SignInPassword, audit.SignInSecondFactor, audit.Failure)
	out, err := collect(rows, err, func(r pgx.CollectableRow) (store.DayCount, error) {
		var d store.DayCount
		var day time.Time
		err := r.Scan(&day, &d.SignIns, &d.Failures)
		d.Day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
		return d, err
	})
	return out, mapErr("sign-ins by day", err)
}

// collect reads every row of a query with scan.
func collect[T any](rows pgx.Rows, err error, scan func(pgx.CollectableRow) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scan)
}
