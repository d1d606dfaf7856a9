package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/twofold-id/twofold/internal/store"
)

const flowColumns = `id, token_hash, user_id, kind, created_at, expires_at,
	failures, ip, user_agent, consumed_at, user_version`

func scanFlow(row pgx.Row) (store.Flow, error) {
	var f store.Flow
	var kind string
	err := row.Scan(&f.ID, &f.TokenHash, &f.UserID, &kind, &f.CreatedAt, &f.ExpiresAt,
		&f.Failures, &f.IP, &f.UserAgent, &f.ConsumedAt, &f.UserVersion)
	f.Kind = store.FlowKind(kind)
	return f, err
}

// CreateFlow inserts f, generating ID when it is empty; CreatedAt defaults
// to now. Like CreateSession it is store.ErrStale for a disabled user,
// decided under a share lock on the user's row. A token hash already in use
// is store.ErrConflict; an unknown user is store.ErrNotFound.
func (s *Store) CreateFlow(ctx context.Context, f store.Flow) (store.Flow, error) {
	if f.ID == "" {
		f.ID = store.NewID()
	}
	f.CreatedAt = s.orNow(f.CreatedAt)
	f.ExpiresAt = ts(f.ExpiresAt)
	f.ConsumedAt = tsp(f.ConsumedAt)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := userLive(ctx, tx, f.UserID, f.UserVersion); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO flows (id, token_hash, user_id, kind,
				created_at, expires_at, failures, ip, user_agent, consumed_at, user_version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			f.ID, f.TokenHash, f.UserID, string(f.Kind), f.CreatedAt, f.ExpiresAt,
			f.Failures, f.IP, f.UserAgent, f.ConsumedAt, f.UserVersion)
		return err
	})
	if err != nil {
		return store.Flow{}, mapErr("create flow", err)
	}
	return f, nil
}

// GetFlowByTokenHash returns the flow whose token hashes to hash, consumed
// or not, or store.ErrNotFound.
func (s *Store) GetFlowByTokenHash(ctx context.Context, hash []byte) (store.Flow, error) {
	f, err := scanFlow(s.pool.QueryRow(ctx,
		`SELECT `+flowColumns+` FROM flows WHERE token_hash = $1`, hash))
	return f, mapErr("get flow by token hash", err)
}

// AddFlowFailure increments the flow's failure count in one statement and
// returns the new count; an unknown flow is store.ErrNotFound.
func (s *Store) AddFlowFailure(ctx context.Context, id string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx,
		`UPDATE flows SET failures = failures + 1 WHERE id = $1 RETURNING failures`, id).Scan(&n)
	return n, mapErr("add flow failure", err)
}

// ConsumeFlow marks the flow consumed at at unless it already is, in one
// statement; it reports whether this call consumed it, so exactly one of
// several concurrent callers gets true. An unknown flow reports false.
func (s *Store) ConsumeFlow(ctx context.Context, id string, at time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx,
		`UPDATE flows SET consumed_at = $2 WHERE id = $1 AND consumed_at IS NULL`, id, at)
	if err != nil {
		return false, mapErr("consume flow", err)
	}
	return tag.RowsAffected() == 1, nil
}

// DeleteExpiredFlows removes the flows that expired before cutoff and
// returns how many.
func (s *Store) DeleteExpiredFlows(ctx context.Context, cutoff time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM flows WHERE expires_at < $1`, cutoff)
	if err != nil {
		return 0, mapErr("delete expired flows", err)
	}
	return int(tag.RowsAffected()), nil
}
