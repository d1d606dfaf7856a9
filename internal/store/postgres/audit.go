package postgres

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/twofold-id/twofold/internal/store"
)

// AppendAudit adds e to the log. The ID is assigned by the database and At
// defaults to now.
func (s *Store) AppendAudit(ctx context.Context, e store.AuditEvent) error {
	return s.insertAudit(ctx, s.pool, e)
}

func (s *Store) insertAudit(ctx context.Context, q execer, e store.AuditEvent) error {
	_, err := q.Exec(ctx, `INSERT INTO audit_events (at, actor_user_id,
			target_user_id, org_id, ip, user_agent, event, outcome, detail, request_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		s.orNow(e.At), e.ActorUserID, e.TargetUserID, e.OrgID, e.IP, e.UserAgent,
		e.Event, e.Outcome, e.Detail, e.RequestID)
	return mapErr("append audit", err)
}

// listAuditQuery is the statement of ListAudit (its indexes are shown by
// EXPLAIN in a test).
func listAuditQuery(f store.AuditFilter) (string, []any) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.OrgPath != "" {
		where = append(where, `org_id IN (SELECT id FROM orgs WHERE path LIKE `+arg(likePrefix(f.OrgPath))+`)`)
	}
	if f.UserID != "" {
		p := arg(f.UserID)
		where = append(where, `(actor_user_id = `+p+` OR target_user_id = `+p+`)`)
	}
	if f.Event != "" {
		if strings.HasSuffix(f.Event, ".") {
			where = append(where, `event LIKE `+arg(likePrefix(f.Event)))
		} else {
			where = append(where, `event = `+arg(f.Event))
		}
	}
	if !f.Since.IsZero() {
		where = append(where, `at >= `+arg(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, `at < `+arg(f.Until))
	}
	if f.BeforeID > 0 {
		where = append(where, `id < `+arg(f.BeforeID))
	}
	q := `SELECT id, at, actor_user_id, target_user_id, org_id, ip, user_agent,
		event, outcome, detail, request_id FROM audit_events`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY id DESC LIMIT ` + arg(limitOr(f.Limit, 100))
	return q, args
}

// ListAudit returns the events matching f, newest (highest ID) first, at
// most f.Limit (100 when zero) of them. Since is inclusive and Until
// exclusive; f.OrgPath selects the events of the orgs now in that subtree.
func (s *Store) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error) {
	q, args := listAuditQuery(f)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, mapErr("list audit", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.AuditEvent, error) {
		var e store.AuditEvent
		err := r.Scan(&e.ID, &e.At, &e.ActorUserID, &e.TargetUserID, &e.OrgID, &e.IP,
			&e.UserAgent, &e.Event, &e.Outcome, &e.Detail, &e.RequestID)
		return e, err
	})
	return list, mapErr("list audit", err)
}
