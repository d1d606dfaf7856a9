package backup

import (
	"context"
	"fmt"

	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/factor"
	"github.com/twofold-id/twofold/internal/notice"
	"github.com/twofold-id/twofold/internal/store"
)

// Kind is the method name of backup codes.
const Kind = "backup_code"

// Method is backup codes as a factor.Method: issued with the first factor,
// offered only beside another one. Unlike the rest of the package it reads
// and writes the store: a matched code is used up by one atomic update.
type Method struct{}

var _ factor.Method = Method{}

// Kind implements factor.Method.
func (Method) Kind() string { return Kind }

// Traits implements factor.Method.
func (Method) Traits() factor.Traits {
	return factor.Traits{Name: "Backup code", AMR: "backup_code", RFC8176: "otp", Enrollment: factor.Issued, Recovery: true}
}

// Normalize implements factor.Method.
func (Method) Normalize(raw string) (string, bool) { return Normalize(raw) }

// Usable implements factor.Method: u has unused codes.
func (Method) Usable(ctx context.Context, env factor.Env, u store.User, _ []store.Factor) (bool, error) {
	codes, err := env.Store().ListBackupCodes(ctx, u.ID)
	return len(codes) > 0, err
}

// Check implements factor.Method: one argon2id computation (in a slot of
// the process's hash limiter, env.Hash), then the
// matched code is used up atomically. The match carries the backup-code
// audit event and notice with the number of codes left.
func (Method) Check(ctx context.Context, env factor.Env, u store.User, _ factor.Scope, code string) (factor.Match, bool, error) {
	codes, err := env.Store().ListBackupCodes(ctx, u.ID)
	if err != nil || len(codes) == 0 {
		return factor.Match{}, false, err
	}
	hashes := make([]string, len(codes))
	for i, bc := range codes {
		hashes[i] = bc.Hash
	}
	idx, ok, err := MatchWith(ctx, code, hashes, env.Hash)
	if err != nil || !ok {
		return factor.Match{}, false, err
	}
	won, err := env.Store().UseBackupCode(ctx, codes[idx].ID, env.Now())
	if err != nil || !won {
		return factor.Match{}, false, err
	}
	left := fmt.Sprintf("%d backup codes left", len(codes)-1)
	return factor.Match{Event: audit.BackupCodeUsed, Detail: left, Notice: notice.BackupUsed}, true, nil
}

// ConfirmPending implements factor.Method: backup codes are never pending.
func (Method) ConfirmPending(context.Context, factor.Env, store.User, store.Factor, factor.Scope, string) (int64, bool, error) {
	return 0, false, nil
}
