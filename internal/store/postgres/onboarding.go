package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/twofold-id/twofold/internal/store"
)

var _ store.Onboarding = (*Store)(nil)

const passwordResetColumns = `id, user_id, token_hash, user_version, created_at, expires_at, used_at`

func scanPasswordReset(row pgx.Row) (store.PasswordReset, error) {
	var r store.PasswordReset
	err := row.Scan(&r.ID, &r.UserID, &r.TokenHash, &r.UserVersion, &r.CreatedAt, &r.ExpiresAt, &r.UsedAt)
	return r, err
}

// usableReset is the condition under which a reset link works at $2 (now),
// for the link with token hash $1.
const usableReset = `token_hash = $1 AND used_at IS NULL AND expires_at > $2
	AND user_version = (SELECT u.security_version FROM users u WHERE u.id = password_resets.user_id AND NOT u.disabled)`

// CreatePasswordReset stores r (see store.PasswordResets).
func (s *Store) CreatePasswordReset(ctx context.Context, r store.PasswordReset) (store.PasswordReset, error) {
	if r.ID == "" {
		r.ID = store.NewID()
	}
	r.CreatedAt, r.ExpiresAt, r.UsedAt = s.orNow(r.CreatedAt), ts(r.ExpiresAt), tsp(r.UsedAt)
	_, err := s.pool.Exec(ctx, `INSERT INTO password_resets (`+passwordResetColumns+`) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
		r.ID, r.UserID, r.TokenHash, r.UserVersion, r.CreatedAt, r.ExpiresAt, r.UsedAt)
	if err != nil {
		return store.PasswordReset{}, mapErr("create password reset", err)
	}
	return r, nil
}

// LatestPasswordReset returns the newest link of the user, or
// store.ErrNotFound.
func (s *Store) LatestPasswordReset(ctx context.Context, userID string) (store.PasswordReset, error) {
	r, err := scanPasswordReset(s.pool.QueryRow(ctx, `SELECT `+passwordResetColumns+` FROM password_resets
		WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1`, userID))
	return r, mapErr("latest password reset", err)
}

// GetPasswordReset returns the usable link with tokenHash, or
// store.ErrNotFound.
func (s *Store) GetPasswordReset(ctx context.Context, tokenHash []byte, now time.Time) (store.PasswordReset, error) {
	r, err := scanPasswordReset(s.pool.QueryRow(ctx, `SELECT `+passwordResetColumns+` FROM password_resets WHERE `+usableReset,
		tokenHash, now))
	return r, mapErr("get password reset", err)
}

// ResetPassword spends the link and sets the password in one transaction
// (see store.PasswordResets). The user's row is locked first, so a
// concurrent change of its security version waits or is seen.
func (s *Store) ResetPassword(ctx context.Context, tokenHash []byte, now time.Time, hash string) (store.PasswordReset, bool, error) {
	var r store.PasswordReset
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var userID string
		if err := tx.QueryRow(ctx, `SELECT u.id FROM password_resets r JOIN users u ON u.id = r.user_id
			WHERE r.token_hash = $1 FOR UPDATE OF u`, tokenHash).Scan(&userID); err != nil {
			return err
		}
		var err error
		r, err = scanPasswordReset(tx.QueryRow(ctx, `UPDATE password_resets SET used_at = $2 WHERE `+usableReset+`
			RETURNING `+passwordResetColumns, tokenHash, now))
		if err != nil {
			return err
		}
		return endSignIns(ctx, tx, r.UserID, now, "password_hash = $3", hash)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return store.PasswordReset{}, false, nil
	}
	if err != nil {
		return store.PasswordReset{}, false, mapErr("reset password", err)
	}
	return r, true, nil
}

// DeleteExpiredPasswordResets removes links that expired before cutoff.
func (s *Store) DeleteExpiredPasswordResets(ctx context.Context, cutoff time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM password_resets WHERE expires_at < $1`, cutoff)
	if err != nil {
		return 0, mapErr("delete expired password resets", err)
	}
	return int(tag.RowsAffected()), nil
}

// UsersByEmail returns the users of org with address email, oldest first.
func (s *Store) UsersByEmail(ctx context.Context, orgID, email string) ([]store.User, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+userColumns+` FROM users u WHERE u.org_id = $1 AND lower(u.email) = lower($2)
		ORDER BY u.created_at, u.id`, orgID, email)
	if err != nil {
		return nil, mapErr("users by email", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.User, error) { return scanUser(row) })
	return out, mapErr("users by email", err)
}

const invitationColumns = `id, org_id, email, name, role, invited_by, token_hash, created_at, sent_at, expires_at,
	accepted_at, user_id, revoked_at`

func scanInvitation(row pgx.Row) (store.Invitation, error) {
	var i store.Invitation
	var role string
	err := row.Scan(&i.ID, &i.OrgID, &i.Email, &i.Name, &role, &i.InvitedBy, &i.TokenHash, &i.CreatedAt, &i.SentAt, &i.ExpiresAt,
		&i.AcceptedAt, &i.UserID, &i.RevokedAt)
	i.Role = store.Role(role)
	return i, err
}

// CreateInvitation stores inv (see store.Invitations).
func (s *Store) CreateInvitation(ctx context.Context, inv store.Invitation) (store.Invitation, error) {
	if inv.ID == "" {
		inv.ID = store.NewID()
	}
	inv.CreatedAt = s.orNow(inv.CreatedAt)
	if inv.SentAt.IsZero() {
		inv.SentAt = inv.CreatedAt
	}
	inv.SentAt, inv.ExpiresAt = ts(inv.SentAt), ts(inv.ExpiresAt)
	inv.AcceptedAt, inv.RevokedAt = tsp(inv.AcceptedAt), tsp(inv.RevokedAt)
	_, err := s.pool.Exec(ctx, `INSERT INTO invitations (`+invitationColumns+`)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)`,
		inv.ID, inv.OrgID, inv.Email, inv.Name, string(inv.Role), inv.InvitedBy, inv.TokenHash, inv.CreatedAt,
		inv.SentAt, inv.ExpiresAt, inv.AcceptedAt, inv.UserID, inv.RevokedAt)
	if err != nil {
		return store.Invitation{}, mapErr("create invitation", err)
	}
	return inv, nil
}

// GetInvitation returns the invitation with id, or store.ErrNotFound.
func (s *Store) GetInvitation(ctx context.Context, id string) (store.Invitation, error) {
	i, err := scanInvitation(s.pool.QueryRow(ctx, `SELECT `+invitationColumns+` FROM invitations WHERE id = $1`, id))
	return i, mapErr("get invitation", err)
}

// ListInvitations returns the org's open invitations, newest first.
func (s *Store) ListInvitations(ctx context.Context, orgID string) ([]store.Invitation, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+invitationColumns+` FROM invitations
		WHERE org_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL ORDER BY created_at DESC, id DESC`, orgID)
	if err != nil {
		return nil, mapErr("list invitations", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Invitation, error) { return scanInvitation(row) })
	return out, mapErr("list invitations", err)
}

// RenewInvitation replaces the token of an open invitation.
func (s *Store) RenewInvitation(ctx context.Context, id string, tokenHash []byte, sentAt, expiresAt time.Time) (store.Invitation, error) {
	i, err := scanInvitation(s.pool.QueryRow(ctx, `UPDATE invitations SET token_hash = $2, sent_at = $3, expires_at = $4
		WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL RETURNING `+invitationColumns,
		id, tokenHash, ts(sentAt), ts(expiresAt)))
	return i, mapErr("renew invitation", err)
}

// RevokeInvitation marks an open invitation revoked.
func (s *Store) RevokeInvitation(ctx context.Context, id string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE invitations SET revoked_at = $2
		WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL`, id, ts(at))
	if err != nil {
		return mapErr("revoke invitation", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("revoke invitation")
	}
	return nil
}

// InvitationByToken returns the pending invitation with tokenHash.
func (s *Store) InvitationByToken(ctx context.Context, tokenHash []byte, now time.Time) (store.Invitation, error) {
	i, err := scanInvitation(s.pool.QueryRow(ctx, `SELECT `+invitationColumns+` FROM invitations
		WHERE token_hash = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2`, tokenHash, now))
	return i, mapErr("invitation by token", err)
}

// AcceptInvitation spends the invitation and creates u in one transaction
// (see store.Invitations).
func (s *Store) AcceptInvitation(ctx context.Context, tokenHash []byte, now time.Time, u store.User) (store.Invitation, store.User, error) {
	if u.ID == "" {
		u.ID = store.NewID()
	}
	var inv store.Invitation
	var out store.User
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		inv, err = scanInvitation(tx.QueryRow(ctx, `UPDATE invitations SET accepted_at = $3, user_id = $4
			WHERE token_hash = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2
			RETURNING `+invitationColumns, tokenHash, now, ts(now), u.ID))
		if err != nil {
			return err
		}
		u.OrgID = inv.OrgID
		out, err = s.insertUser(ctx, tx, u)
		return err
	})
	if err != nil {
		return store.Invitation{}, store.User{}, mapErr("accept invitation", err)
	}
	return inv, out, nil
}

// DeleteOldInvitations removes never-accepted invitations that expired
// before cutoff.
func (s *Store) DeleteOldInvitations(ctx context.Context, cutoff time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM invitations WHERE accepted_at IS NULL AND expires_at < $1`, cutoff)
	if err != nil {
		return 0, mapErr("delete old invitations", err)
	}
	return int(tag.RowsAffected()), nil
}
