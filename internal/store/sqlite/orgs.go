package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

const orgCols = `id, parent_id, slug, name, path, depth, mfa, locked, allowed_methods,
	enrollment_grace, otp_code_ttl, require_mfa_new_directory_users, created_at, updated_at,
	lock_scope, lock_org_id, lock_user_id, lock_actor, locked_at,
	lock_floor_mfa, lock_floor_methods, lock_floor_grace, lock_floor_directory_mfa`

// lockCols are the columns of store.Lock, in the order lockArgs gives them.
const lockCols = `lock_scope = ?, lock_org_id = ?, lock_user_id = ?, lock_actor = ?, locked_at = ?,
	lock_floor_mfa = ?, lock_floor_methods = ?, lock_floor_grace = ?, lock_floor_directory_mfa = ?`

// lockArgs are the stored values of l.
func lockArgs(l store.Lock) []any {
	return []any{string(l.Scope), nullString(l.OrgID), l.UserID, l.ActorName, microPtr(l.At),
		string(l.Floor.MFA), encodeList(l.Floor.AllowedMethods), int64(l.Floor.EnrollmentGrace), l.Floor.RequireMFAForNewDirectoryUsers}
}

func scanOrg(sc scanner) (store.Org, error) {
	var (
		o               store.Org
		parent          sql.NullString
		methods         sql.NullString
		grace, ttl      int64
		created, update int64
		l               = &o.Policy.Lock
		lockOrg         sql.NullString
		lockedAt        sql.NullInt64
		floorMethods    sql.NullString
		floorGrace      int64
	)
	err := sc.Scan(&o.ID, &parent, &o.Slug, &o.Name, &o.Path, &o.Depth, &o.Policy.MFA, &o.Policy.Locked, &methods,
		&grace, &ttl, &o.Policy.RequireMFAForNewDirectoryUsers, &created, &update,
		&l.Scope, &lockOrg, &l.UserID, &l.ActorName, &lockedAt,
		&l.Floor.MFA, &floorMethods, &floorGrace, &l.Floor.RequireMFAForNewDirectoryUsers)
	if err != nil {
		return store.Org{}, mapErr(err)
	}
	o.ParentID = parent.String
	if o.Policy.AllowedMethods, err = decodeList(methods); err != nil {
		return store.Org{}, err
	}
	l.OrgID, l.At, l.Floor.EnrollmentGrace = lockOrg.String, fromNullMicro(lockedAt), time.Duration(floorGrace)
	if l.Floor.AllowedMethods, err = decodeList(floorMethods); err != nil {
		return store.Org{}, err
	}
	o.Policy.EnrollmentGrace, o.Policy.OTPCodeTTL = time.Duration(grace), time.Duration(ttl)
	o.CreatedAt, o.UpdatedAt = fromMicro(created), fromMicro(update)
	return o, nil
}

// getOrg reads one org inside a transaction.
func getOrg(ctx context.Context, tx *sql.Tx, id string) (store.Org, error) {
	return scanOrg(tx.QueryRowContext(ctx, `SELECT `+orgCols+` FROM orgs WHERE id = ?`, id))
}

// nullString stores "" as NULL.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// CreateOrg inserts org below org.ParentID, deriving ID (when empty), Path
// and Depth. A duplicate slug, or a second root, is store.ErrConflict; an
// unknown parent is store.ErrNotFound.
func (s *Store) CreateOrg(ctx context.Context, org store.Org) (store.Org, error) {
	if org.ID == "" {
		org.ID = store.NewID()
	}
	if strings.Contains(org.ID, "/") {
		return store.Org{}, fmt.Errorf("sqlite: org id %q contains a slash", org.ID)
	}
	org.CreatedAt = s.orNow(org.CreatedAt)
	if org.UpdatedAt.IsZero() {
		org.UpdatedAt = org.CreatedAt
	}
	org.UpdatedAt = norm(org.UpdatedAt)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		org.Path, org.Depth = "/"+org.ID+"/", 0
		if org.ParentID != "" {
			parent, err := getOrg(ctx, tx, org.ParentID)
			if err != nil {
				return err
			}
			org.Path, org.Depth = parent.Path+org.ID+"/", parent.Depth+1
		}
		p := org.Policy
		args := append([]any{org.ID, nullString(org.ParentID), org.Slug, org.Name, org.Path, org.Depth, string(p.MFA), p.Locked,
			encodeList(p.AllowedMethods), int64(p.EnrollmentGrace), int64(p.OTPCodeTTL), p.RequireMFAForNewDirectoryUsers,
			micro(org.CreatedAt), micro(org.UpdatedAt)}, lockArgs(p.Lock)...)
		_, err := tx.ExecContext(ctx, `INSERT INTO orgs (`+orgCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`, args...)
		return mapErr(err)
	})
	if err != nil {
		return store.Org{}, err
	}
	org.Policy.Lock.At = normPtr(org.Policy.Lock.At)
	return org, nil
}

// GetOrg returns the org with the given id, or store.ErrNotFound.
func (s *Store) GetOrg(ctx context.Context, id string) (store.Org, error) {
	return scanOrg(s.r.QueryRowContext(ctx, `SELECT `+orgCols+` FROM orgs WHERE id = ?`, id))
}

// GetOrgBySlug returns the org with the given slug, or store.ErrNotFound.
func (s *Store) GetOrgBySlug(ctx context.Context, slug string) (store.Org, error) {
	return scanOrg(s.r.QueryRowContext(ctx, `SELECT `+orgCols+` FROM orgs WHERE slug = ?`, slug))
}

// RootOrg returns the org without a parent, or store.ErrNotFound.
func (s *Store) RootOrg(ctx context.Context) (store.Org, error) {
	return scanOrg(s.r.QueryRowContext(ctx, `SELECT `+orgCols+` FROM orgs WHERE depth = 0`))
}

// ListOrgs returns the orgs whose Path starts with pathPrefix ("" for all),
// ordered by Path.
func (s *Store) ListOrgs(ctx context.Context, pathPrefix string) ([]store.Org, error) {
	if pathPrefix == "" {
		return queryAll(ctx, s.r, scanOrg, `SELECT `+orgCols+` FROM orgs ORDER BY path`)
	}
	cond, args := prefixCond("path", pathPrefix)
	return queryAll(ctx, s.r, scanOrg, `SELECT `+orgCols+` FROM orgs WHERE `+cond+` ORDER BY path`, args...)
}

// OrgChain returns the org with the given id and all its ancestors, root
// first, read in one snapshot.
func (s *Store) OrgChain(ctx context.Context, id string) ([]store.Org, error) {
	// One statement is one snapshot, so a concurrent MoveOrg cannot tear
	// the chain; each step is a primary key lookup.
	chain, err := queryAll(ctx, s.r, scanOrg, `WITH RECURSIVE chain (id) AS (
			SELECT ? UNION ALL SELECT o.parent_id FROM orgs o JOIN chain c ON o.id = c.id WHERE o.parent_id IS NOT NULL
		) SELECT `+orgCols+` FROM orgs WHERE id IN (SELECT id FROM chain) ORDER BY depth`, id)
	if err != nil {
		return nil, err
	}
	if len(chain) == 0 {
		return nil, store.ErrNotFound
	}
	return chain, nil
}

// UpdateOrg stores Name and Policy of org (identified by ID) and sets
// UpdatedAt to now. It never changes Slug, ParentID or Path; an unknown org
// is store.ErrNotFound.
func (s *Store) UpdateOrg(ctx context.Context, org store.Org) (store.Org, error) {
	var out store.Org
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		p := org.Policy
		args := append([]any{org.Name, string(p.MFA), p.Locked, encodeList(p.AllowedMethods), int64(p.EnrollmentGrace),
			int64(p.OTPCodeTTL), p.RequireMFAForNewDirectoryUsers, micro(s.now())}, lockArgs(p.Lock)...)
		res, err := tx.ExecContext(ctx, `UPDATE orgs SET name = ?, mfa = ?, locked = ?, allowed_methods = ?,
			enrollment_grace = ?, otp_code_ttl = ?, require_mfa_new_directory_users = ?, updated_at = ?, `+lockCols+` WHERE id = ?`,
			append(args, org.ID)...)
		if err != nil {
			return mapErr(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		out, err = getOrg(ctx, tx, org.ID)
		return err
	})
	return out, err
}

// MoveOrg gives org a new parent and rewrites the Path and Depth of its
// whole subtree in one transaction. Moving an org below itself (or making a
// second root) is store.ErrConflict; an unknown org or parent is
// store.ErrNotFound.
func (s *Store) MoveOrg(ctx context.Context, id, newParentID string) (store.Org, error) {
	if newParentID == "" {
		return store.Org{}, fmt.Errorf("%w: an org cannot become a second root", store.ErrConflict)
	}
	var out store.Org
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		org, err := getOrg(ctx, tx, id)
		if err != nil {
			return err
		}
		parent, err := getOrg(ctx, tx, newParentID)
		if err != nil {
			return err
		}
		if org.IsAncestorOf(parent) {
			return fmt.Errorf("%w: cannot move org %s below itself", store.ErrConflict, id)
		}
		newPath := parent.Path + org.ID + "/"
		delta := parent.Depth + 1 - org.Depth
		cond, args := prefixCond("path", org.Path)
		args = append([]any{newPath, len(org.Path) + 1, delta}, args...)
		if _, err := tx.ExecContext(ctx, `UPDATE orgs SET path = ? || substr(path, ?), depth = depth + ? WHERE `+cond, args...); err != nil {
			return mapErr(err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE orgs SET parent_id = ?, updated_at = ? WHERE id = ?`,
			parent.ID, micro(s.now()), id); err != nil {
			return mapErr(err)
		}
		out, err = getOrg(ctx, tx, id)
		return err
	})
	return out, err
}

// DeleteOrg removes an org without children or users; otherwise it is
// store.ErrNotEmpty. An unknown org is store.ErrNotFound.
func (s *Store) DeleteOrg(ctx context.Context, id string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var busy bool
		err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM orgs WHERE parent_id = ?)
			OR EXISTS (SELECT 1 FROM users WHERE org_id = ?)`, id, id).Scan(&busy)
		if err != nil {
			return mapErr(err)
		}
		if busy {
			return store.ErrNotEmpty
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM orgs WHERE id = ?`, id)
		if err != nil {
			return mapErr(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
}
