package sqlite

import (
	"context"
	"time"

	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/store"
)

// OrgCounts implements store.Dashboards.
func (s *Store) OrgCounts(ctx context.Context, orgPath string, now time.Time) (store.OrgCounts, error) {
	cond, args := prefixCond("path", orgPath)
	inOrgs := "org_id IN (SELECT id FROM orgs WHERE " + cond + ")"
	c := store.OrgCounts{ByMethod: map[string]int{}}
	err := s.r.QueryRowContext(ctx, `
		SELECT
			COALESCE(SUM(CASE WHEN u.disabled = 0 THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN u.disabled = 1 THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN u.disabled = 0 AND EXISTS (SELECT 1 FROM factors f WHERE f.user_id = u.id AND f.confirmed_at IS NOT NULL) THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN u.disabled = 0 AND EXISTS (SELECT 1 FROM mfa_attempts m WHERE m.user_id = u.id AND m.locked_until > ?) THEN 1 ELSE 0 END), 0)
		FROM users u WHERE u.`+inOrgs, append([]any{micro(now)}, args...)...).Scan(&c.Users, &c.Disabled, &c.Enrolled, &c.Locked)
	if err != nil {
		return store.OrgCounts{}, mapErr(err)
	}
	rows, err := s.r.QueryContext(ctx, `
		SELECT f.kind, COUNT(DISTINCT f.user_id) FROM factors f JOIN users u ON u.id = f.user_id
		WHERE f.confirmed_at IS NOT NULL AND u.disabled = 0 AND u.`+inOrgs+`
		GROUP BY f.kind`, args...)
	if err != nil {
		return store.OrgCounts{}, mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind string
		var n int
		if err := rows.Scan(&kind, &n); err != nil {
			return store.OrgCounts{}, mapErr(err)
		}
		c.ByMethod[kind] = n
	}
	if err := rows.Err(); err != nil {
		return store.OrgCounts{}, mapErr(err)
	}
	c.Waiting, err = queryAll(ctx, s.r, func(sc scanner) (store.WaitingUsers, error) {
		var w store.WaitingUsers
		var earliest int64
		err := sc.Scan(&w.OrgID, &w.Users, &earliest)
		w.Earliest = fromMicro(earliest)
		return w, mapErr(err)
	}, `
		SELECT u.org_id, COUNT(*), MIN(u.mfa_required_since) FROM users u
		WHERE u.disabled = 0 AND u.mfa_required_since IS NOT NULL AND u.`+inOrgs+`
			AND NOT EXISTS (SELECT 1 FROM factors f WHERE f.user_id = u.id AND f.confirmed_at IS NOT NULL)
		GROUP BY u.org_id ORDER BY MIN(u.mfa_required_since), u.org_id`, args...)
	return c, err
}

// SignInsByDay implements store.Dashboards.
func (s *Store) SignInsByDay(ctx context.Context, orgPath string, since time.Time) ([]store.DayCount, error) {
	cond, args := prefixCond("path", orgPath)
	const day = int64(24 * time.Hour / time.Microsecond)
	return queryAll(ctx, s.r, func(sc scanner) (store.DayCount, error) {
		var d store.DayCount
		var n int64
		err := sc.Scan(&n, &d.SignIns, &d.Failures)
		d.Day = time.UnixMicro(n * day).UTC()
		return d, mapErr(err)
	}, `
		SELECT at / ? AS d,
			SUM(CASE WHEN event = ? AND outcome = ? THEN 1 ELSE 0 END),
			SUM(CASE WHEN event IN (?, ?) AND outcome = ? THEN 1 ELSE 0 END)
		FROM audit_events
		WHERE at >= ? AND event IN (?, ?, ?) AND org_id IN (SELECT id FROM orgs WHERE `+cond+`)
		GROUP BY d ORDER BY d`,
		append([]any{day, audit.SignInCompleted, audit.Success, audit.SignInPassword, audit.SignInSecondFactor, audit.Failure,
			micro(since), audit.SignInCompleted, audit.SignInPassword, audit.SignInSecondFactor}, args...)...)
}
