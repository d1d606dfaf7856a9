package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/twofold-id/twofold/internal/store"
)

const orgColumns = `id, COALESCE(parent_id, ''), slug, name, path, depth,
	mfa, locked, allowed_methods, enrollment_grace, otp_code_ttl,
	require_mfa_for_new_directory_users, created_at, updated_at,
	lock_scope, COALESCE(lock_org_id, ''), lock_user_id, lock_actor, locked_at,
	lock_floor_mfa, lock_floor_methods, lock_floor_grace, lock_floor_directory_mfa`

func scanOrg(row pgx.Row) (store.Org, error) {
	var o store.Org
	var mfa, scope, floorMFA string
	var grace, ttl, floorGrace pgtype.Interval
	l := &o.Policy.Lock
	err := row.Scan(&o.ID, &o.ParentID, &o.Slug, &o.Name, &o.Path, &o.Depth,
		&mfa, &o.Policy.Locked, &o.Policy.AllowedMethods, &grace, &ttl,
		&o.Policy.RequireMFAForNewDirectoryUsers, &o.CreatedAt, &o.UpdatedAt,
		&scope, &l.OrgID, &l.UserID, &l.ActorName, &l.At,
		&floorMFA, &l.Floor.AllowedMethods, &floorGrace, &l.Floor.RequireMFAForNewDirectoryUsers)
	o.Policy.MFA = store.MFAMode(mfa)
	o.Policy.EnrollmentGrace = duration(grace)
	o.Policy.OTPCodeTTL = duration(ttl)
	l.Scope, l.Floor.MFA, l.Floor.EnrollmentGrace = store.LockScope(scope), store.MFAMode(floorMFA), duration(floorGrace)
	if l.At != nil {
		*l.At = l.At.UTC()
	}
	return o, err
}

// lockValues are the stored values of l, in the order of the lock_*
// columns of orgColumns.
func lockValues(l store.Lock) []any {
	return []any{string(l.Scope), nullStr(l.OrgID), l.UserID, l.ActorName, tsp(l.At),
		string(l.Floor.MFA), l.Floor.AllowedMethods, interval(l.Floor.EnrollmentGrace), l.Floor.RequireMFAForNewDirectoryUsers}
}

func collectOrgs(rows pgx.Rows, err error) ([]store.Org, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Org, error) { return scanOrg(r) })
}

// lockOrgTree takes the table lock that MoveOrg holds while it rewrites
// paths, in the weakest mode that still waits for a move in progress (and
// makes a move wait for us). Writers that derive a path from another org's
// path take it before reading that path, so they never store a stale one.
func lockOrgTree(ctx context.Context, tx pgx.Tx, exclusive bool) error {
	mode := "ROW EXCLUSIVE"
	if exclusive {
		mode = "SHARE ROW EXCLUSIVE" // conflicts with itself and with ROW EXCLUSIVE
	}
	_, err := tx.Exec(ctx, "LOCK TABLE orgs IN "+mode+" MODE")
	return err
}

// CreateOrg inserts org below org.ParentID (as the root when ParentID is
// ""), deriving Path and Depth from the parent and generating ID when it is
// empty. CreatedAt and UpdatedAt default to now. A duplicate slug, or a
// second root, is store.ErrConflict; an unknown parent is store.ErrNotFound.
func (s *Store) CreateOrg(ctx context.Context, org store.Org) (store.Org, error) {
	if org.ID == "" {
		org.ID = store.NewID()
	}
	org.CreatedAt = s.orNow(org.CreatedAt)
	if org.UpdatedAt.IsZero() {
		org.UpdatedAt = org.CreatedAt
	}
	org.UpdatedAt = ts(org.UpdatedAt)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockOrgTree(ctx, tx, false); err != nil {
			return err
		}
		org.Path, org.Depth = "/"+org.ID+"/", 0
		if org.ParentID != "" {
			var parentPath string
			var parentDepth int
			err := tx.QueryRow(ctx, `SELECT path, depth FROM orgs WHERE id = $1 FOR KEY SHARE`,
				org.ParentID).Scan(&parentPath, &parentDepth)
			if err != nil {
				return err
			}
			org.Path, org.Depth = parentPath+org.ID+"/", parentDepth+1
		}
		args := append([]any{org.ID, nullStr(org.ParentID), org.Slug, org.Name, org.Path, org.Depth,
			string(org.Policy.MFA), org.Policy.Locked, org.Policy.AllowedMethods,
			interval(org.Policy.EnrollmentGrace), interval(org.Policy.OTPCodeTTL),
			org.Policy.RequireMFAForNewDirectoryUsers, org.CreatedAt, org.UpdatedAt}, lockValues(org.Policy.Lock)...)
		_, err := tx.Exec(ctx, `INSERT INTO orgs (id, parent_id, slug, name, path, depth,
				mfa, locked, allowed_methods, enrollment_grace, otp_code_ttl,
				require_mfa_for_new_directory_users, created_at, updated_at,
				lock_scope, lock_org_id, lock_user_id, lock_actor, locked_at,
				lock_floor_mfa, lock_floor_methods, lock_floor_grace, lock_floor_directory_mfa)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
				$15, $16, $17, $18, $19, $20, $21, $22, $23)`, args...)
		return err
	})
	if err != nil {
		return store.Org{}, mapErr("create org", err)
	}
	org.Policy.EnrollmentGrace = org.Policy.EnrollmentGrace.Truncate(time.Microsecond)
	org.Policy.OTPCodeTTL = org.Policy.OTPCodeTTL.Truncate(time.Microsecond)
	org.Policy.Lock.Floor.EnrollmentGrace = org.Policy.Lock.Floor.EnrollmentGrace.Truncate(time.Microsecond)
	org.Policy.Lock.At = tsp(org.Policy.Lock.At)
	return org, nil
}

// GetOrg returns the org with the given id, or store.ErrNotFound.
func (s *Store) GetOrg(ctx context.Context, id string) (store.Org, error) {
	o, err := scanOrg(s.pool.QueryRow(ctx, `SELECT `+orgColumns+` FROM orgs WHERE id = $1`, id))
	return o, mapErr("get org", err)
}

// GetOrgBySlug returns the org with the given slug, or store.ErrNotFound.
func (s *Store) GetOrgBySlug(ctx context.Context, slug string) (store.Org, error) {
	o, err := scanOrg(s.pool.QueryRow(ctx, `SELECT `+orgColumns+` FROM orgs WHERE slug = $1`, slug))
	return o, mapErr("get org by slug", err)
}

// RootOrg returns the org without a parent, or store.ErrNotFound.
func (s *Store) RootOrg(ctx context.Context) (store.Org, error) {
	o, err := scanOrg(s.pool.QueryRow(ctx, `SELECT `+orgColumns+` FROM orgs WHERE parent_id IS NULL`))
	return o, mapErr("root org", err)
}

// ListOrgs returns the orgs whose Path starts with pathPrefix ("" for all),
// ordered by Path.
func (s *Store) ListOrgs(ctx context.Context, pathPrefix string) ([]store.Org, error) {
	orgs, err := collectOrgs(s.pool.Query(ctx,
		`SELECT `+orgColumns+` FROM orgs WHERE path LIKE $1 ORDER BY path`, likePrefix(pathPrefix)))
	return orgs, mapErr("list orgs", err)
}

// OrgChain returns the org with the given id and all its ancestors, root
// first, or store.ErrNotFound if there is no such org.
func (s *Store) OrgChain(ctx context.Context, id string) ([]store.Org, error) {
	// The ancestors are exactly the orgs whose path is a prefix of ours.
	orgs, err := collectOrgs(s.pool.Query(ctx, `
		SELECT `+orgColumns+` FROM orgs
		WHERE id = ANY (string_to_array(
			trim(BOTH '/' FROM (SELECT path FROM orgs WHERE id = $1)), '/'))
		ORDER BY depth`, id))
	if err != nil {
		return nil, mapErr("org chain", err)
	}
	if len(orgs) == 0 {
		return nil, notFound("org chain")
	}
	return orgs, nil
}

// UpdateOrg stores Name and Policy of org (identified by ID) and sets
// UpdatedAt (to org.UpdatedAt, or now when that is zero). It returns the
// stored org, or store.ErrNotFound.
func (s *Store) UpdateOrg(ctx context.Context, org store.Org) (store.Org, error) {
	args := append([]any{org.ID, org.Name, string(org.Policy.MFA), org.Policy.Locked, org.Policy.AllowedMethods,
		interval(org.Policy.EnrollmentGrace), interval(org.Policy.OTPCodeTTL),
		org.Policy.RequireMFAForNewDirectoryUsers, s.orNow(org.UpdatedAt)}, lockValues(org.Policy.Lock)...)
	o, err := scanOrg(s.pool.QueryRow(ctx, `
		UPDATE orgs SET name = $2, mfa = $3, locked = $4, allowed_methods = $5,
			enrollment_grace = $6, otp_code_ttl = $7,
			require_mfa_for_new_directory_users = $8, updated_at = $9,
			lock_scope = $10, lock_org_id = $11, lock_user_id = $12, lock_actor = $13, locked_at = $14,
			lock_floor_mfa = $15, lock_floor_methods = $16, lock_floor_grace = $17, lock_floor_directory_mfa = $18
		WHERE id = $1
		RETURNING `+orgColumns, args...))
	return o, mapErr("update org", err)
}

// MoveOrg makes newParentID the parent of org id and rewrites the Path and
// Depth of its whole subtree in one transaction. Moving an org below itself
// or one of its descendants, or moving the root, is store.ErrConflict; an
// unknown org or parent is store.ErrNotFound. It returns the moved org.
func (s *Store) MoveOrg(ctx context.Context, id, newParentID string) (store.Org, error) {
	var moved store.Org
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// Moves are rare: serialize them against each other and against
		// CreateOrg, so no path is computed from one that is being rewritten.
		if err := lockOrgTree(ctx, tx, true); err != nil {
			return err
		}
		org, err := scanOrg(tx.QueryRow(ctx, `SELECT `+orgColumns+` FROM orgs WHERE id = $1`, id))
		if err != nil {
			return err
		}
		if org.ParentID == "" {
			return store.ErrConflict // the root stays the root
		}
		parent, err := scanOrg(tx.QueryRow(ctx, `SELECT `+orgColumns+` FROM orgs WHERE id = $1`, newParentID))
		if err != nil {
			return err
		}
		if strings.HasPrefix(parent.Path, org.Path) {
			return store.ErrConflict // below itself
		}
		newPath := parent.Path + org.ID + "/"
		now := ts(s.now())
		if _, err := tx.Exec(ctx, `
			UPDATE orgs SET path = $2 || substr(path, length($1) + 1),
				depth = depth + $3, updated_at = $5
			WHERE path LIKE $4`,
			org.Path, newPath, parent.Depth+1-org.Depth, likePrefix(org.Path), now); err != nil {
			return err
		}
		moved, err = scanOrg(tx.QueryRow(ctx, `
			UPDATE orgs SET parent_id = $2 WHERE id = $1 RETURNING `+orgColumns, id, parent.ID))
		return err
	})
	if err != nil {
		return store.Org{}, mapErr("move org", err)
	}
	return moved, nil
}

// DeleteOrg removes an org that has neither children nor users; otherwise it
// is store.ErrNotEmpty. An unknown org is store.ErrNotFound.
func (s *Store) DeleteOrg(ctx context.Context, id string) error {
	// The foreign keys from child orgs and users make the check and the
	// delete one atomic step.
	tag, err := s.pool.Exec(ctx, `DELETE FROM orgs WHERE id = $1`, id)
	if isForeignKeyViolation(err) {
		return fmt.Errorf("postgres: delete org: %w", store.ErrNotEmpty)
	}
	if err != nil {
		return mapErr("delete org", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("delete org")
	}
	return nil
}
