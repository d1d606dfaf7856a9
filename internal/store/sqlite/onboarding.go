package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

var _ store.Onboarding = (*Store)(nil)

const passwordResetCols = `id, user_id, token_hash, user_version, created_at, expires_at, used_at`

func scanPasswordReset(sc scanner) (store.PasswordReset, error) {
	var (
		r                store.PasswordReset
		created, expires int64
		used             sql.NullInt64
	)
	if err := sc.Scan(&r.ID, &r.UserID, &r.TokenHash, &r.UserVersion, &created, &expires, &used); err != nil {
		return store.PasswordReset{}, mapErr(err)
	}
	r.CreatedAt, r.ExpiresAt, r.UsedAt = fromMicro(created), fromMicro(expires), fromNullMicro(used)
	return r, nil
}

// usableReset is the condition under which a reset link works at ?2 (now),
// for the link with token hash ?1.
const usableReset = `token_hash = ?1 AND used_at IS NULL AND expires_at > ?2
	AND user_version = (SELECT u.security_version FROM users u WHERE u.id = password_resets.user_id AND NOT u.disabled)`

// CreatePasswordReset stores r (see store.PasswordResets).
func (s *Store) CreatePasswordReset(ctx context.Context, r store.PasswordReset) (store.PasswordReset, error) {
	if r.ID == "" {
		r.ID = store.NewID()
	}
	r.CreatedAt, r.ExpiresAt, r.UsedAt = s.orNow(r.CreatedAt), norm(r.ExpiresAt), normPtr(r.UsedAt)
	n, err := s.exec(ctx, `INSERT INTO password_resets (`+passwordResetCols+`)
		SELECT ?,?,?,?,?,?,? WHERE EXISTS (SELECT 1 FROM users WHERE id = ?)`,
		r.ID, r.UserID, r.TokenHash, r.UserVersion, micro(r.CreatedAt), micro(r.ExpiresAt), microPtr(r.UsedAt), r.UserID)
	if err != nil {
		return store.PasswordReset{}, err
	}
	if n == 0 {
		return store.PasswordReset{}, store.ErrNotFound
	}
	return r, nil
}

// LatestPasswordReset returns the newest link of the user, or
// store.ErrNotFound.
func (s *Store) LatestPasswordReset(ctx context.Context, userID string) (store.PasswordReset, error) {
	return scanPasswordReset(s.r.QueryRowContext(ctx, `SELECT `+passwordResetCols+` FROM password_resets
		WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT 1`, userID))
}

// GetPasswordReset returns the usable link with tokenHash, or
// store.ErrNotFound.
func (s *Store) GetPasswordReset(ctx context.Context, tokenHash []byte, now time.Time) (store.PasswordReset, error) {
	return scanPasswordReset(s.r.QueryRowContext(ctx, `SELECT `+passwordResetCols+` FROM password_resets WHERE `+usableReset,
		tokenHash, micro(now)))
}

// ResetPassword spends the link and sets the password in one transaction
// on the writer (see store.PasswordResets).
func (s *Store) ResetPassword(ctx context.Context, tokenHash []byte, now time.Time, hash string) (store.PasswordReset, bool, error) {
	var r store.PasswordReset
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		r, err = scanPasswordReset(tx.QueryRowContext(ctx, `UPDATE password_resets SET used_at = ?2 WHERE `+usableReset+`
			RETURNING `+passwordResetCols, tokenHash, micro(now)))
		if err != nil {
			return err
		}
		return endSignIns(ctx, tx, r.UserID, now, "password_hash = ?", hash)
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.PasswordReset{}, false, nil
	}
	if err != nil {
		return store.PasswordReset{}, false, err
	}
	return r, true, nil
}

// DeleteExpiredPasswordResets removes links that expired before cutoff.
func (s *Store) DeleteExpiredPasswordResets(ctx context.Context, cutoff time.Time) (int, error) {
	n, err := s.exec(ctx, `DELETE FROM password_resets WHERE expires_at < ?`, micro(cutoff))
	return int(n), err
}

// UsersByEmail returns the users of org with address email, oldest first.
func (s *Store) UsersByEmail(ctx context.Context, orgID, email string) ([]store.User, error) {
	return queryAll(ctx, s.r, scanUser, `SELECT `+userCols+` FROM users u WHERE u.org_id = ? AND lower(u.email) = lower(?)
		ORDER BY u.created_at, u.id`, orgID, email)
}

const invitationCols = `id, org_id, email, name, role, invited_by, token_hash, created_at, sent_at, expires_at,
	accepted_at, user_id, revoked_at`

func scanInvitation(sc scanner) (store.Invitation, error) {
	var (
		i                      store.Invitation
		created, sent, expires int64
		accepted, revoked      sql.NullInt64
	)
	if err := sc.Scan(&i.ID, &i.OrgID, &i.Email, &i.Name, &i.Role, &i.InvitedBy, &i.TokenHash, &created, &sent, &expires,
		&accepted, &i.UserID, &revoked); err != nil {
		return store.Invitation{}, mapErr(err)
	}
	i.CreatedAt, i.SentAt, i.ExpiresAt = fromMicro(created), fromMicro(sent), fromMicro(expires)
	i.AcceptedAt, i.RevokedAt = fromNullMicro(accepted), fromNullMicro(revoked)
	return i, nil
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
	inv.SentAt, inv.ExpiresAt = norm(inv.SentAt), norm(inv.ExpiresAt)
	inv.AcceptedAt, inv.RevokedAt = normPtr(inv.AcceptedAt), normPtr(inv.RevokedAt)
	n, err := s.exec(ctx, `INSERT INTO invitations (`+invitationCols+`)
		SELECT ?,?,?,?,?,?,?,?,?,?,?,?,? WHERE EXISTS (SELECT 1 FROM orgs WHERE id = ?)`,
		inv.ID, inv.OrgID, inv.Email, inv.Name, string(inv.Role), inv.InvitedBy, inv.TokenHash, micro(inv.CreatedAt),
		micro(inv.SentAt), micro(inv.ExpiresAt), microPtr(inv.AcceptedAt), inv.UserID, microPtr(inv.RevokedAt), inv.OrgID)
	if err != nil {
		return store.Invitation{}, err
	}
	if n == 0 {
		return store.Invitation{}, store.ErrNotFound
	}
	return inv, nil
}

// GetInvitation returns the invitation with id, or store.ErrNotFound.
func (s *Store) GetInvitation(ctx context.Context, id string) (store.Invitation, error) {
	return scanInvitation(s.r.QueryRowContext(ctx, `SELECT `+invitationCols+` FROM invitations WHERE id = ?`, id))
}

// ListInvitations returns the org's open invitations, newest first.
func (s *Store) ListInvitations(ctx context.Context, orgID string) ([]store.Invitation, error) {
	return queryAll(ctx, s.r, scanInvitation, `SELECT `+invitationCols+` FROM invitations
		WHERE org_id = ? AND accepted_at IS NULL AND revoked_at IS NULL ORDER BY created_at DESC, id DESC`, orgID)
}

// RenewInvitation replaces the token of an open invitation.
func (s *Store) RenewInvitation(ctx context.Context, id string, tokenHash []byte, sentAt, expiresAt time.Time) (store.Invitation, error) {
	return scanInvitation(s.w.QueryRowContext(ctx, `UPDATE invitations SET token_hash = ?, sent_at = ?, expires_at = ?
		WHERE id = ? AND accepted_at IS NULL AND revoked_at IS NULL RETURNING `+invitationCols,
		tokenHash, micro(norm(sentAt)), micro(norm(expiresAt)), id))
}

// RevokeInvitation marks an open invitation revoked.
func (s *Store) RevokeInvitation(ctx context.Context, id string, at time.Time) error {
	return s.execOne(ctx, `UPDATE invitations SET revoked_at = ? WHERE id = ? AND accepted_at IS NULL AND revoked_at IS NULL`,
		micro(norm(at)), id)
}

// InvitationByToken returns the pending invitation with tokenHash.
func (s *Store) InvitationByToken(ctx context.Context, tokenHash []byte, now time.Time) (store.Invitation, error) {
	return scanInvitation(s.r.QueryRowContext(ctx, `SELECT `+invitationCols+` FROM invitations
		WHERE token_hash = ? AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?`, tokenHash, micro(now)))
}

// AcceptInvitation spends the invitation and creates u in one transaction
// on the writer (see store.Invitations).
func (s *Store) AcceptInvitation(ctx context.Context, tokenHash []byte, now time.Time, u store.User) (store.Invitation, store.User, error) {
	if u.ID == "" {
		u.ID = store.NewID()
	}
	var inv store.Invitation
	var out store.User
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		inv, err = scanInvitation(tx.QueryRowContext(ctx, `UPDATE invitations SET accepted_at = ?, user_id = ?
			WHERE token_hash = ? AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?
			RETURNING `+invitationCols, micro(norm(now)), u.ID, tokenHash, micro(now)))
		if err != nil {
			return err
		}
		u.OrgID = inv.OrgID
		out, err = s.insertUser(ctx, tx, u)
		return err
	})
	if err != nil {
		return store.Invitation{}, store.User{}, err
	}
	return inv, out, nil
}

// DeleteOldInvitations removes never-accepted invitations that expired
// before cutoff.
func (s *Store) DeleteOldInvitations(ctx context.Context, cutoff time.Time) (int, error) {
	n, err := s.exec(ctx, `DELETE FROM invitations WHERE accepted_at IS NULL AND expires_at < ?`, micro(cutoff))
	return int(n), err
}
