package signin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/normalize"
	"github.com/twofold-id/twofold/internal/notice"
	"github.com/twofold-id/twofold/internal/problem"
	"github.com/twofold-id/twofold/internal/ratelimit"
	"github.com/twofold-id/twofold/internal/store"
)

// The answers of a throttled password step. Their codes are part of the
// public API; they are the same for every name, real account or not.
var (
	// ErrPasswordDelay is too_many_attempts with the password step's
	// message, naming the password field.
	ErrPasswordDelay = ErrTooManyAttempts.WithMessage("Too many failed sign-ins for this account. Please wait before trying again.").WithField("password")
	ErrSignInLocked  = problem.Define(http.StatusTooManyRequests, "signin_locked", "Sign-in to this account is locked after too many wrong passwords. It unlocks by itself later, or an admin can unlock it.")
)

// passwordKey is the key of the password failure counter for what was
// typed at sign-in: the org slug and username normalized as for the lookup
// ("Acme"/"ALICE" is acme/alice), so every spelling of a name shares one
// counter. It does not depend on whether the name exists: unknown names are
// counted like real accounts. Input that cannot be normalized is counted
// under its raw form. The key is a hash, so the store keeps no names.
func passwordKey(slug, username string) string {
	if n, err := normalize.OrgSlug(slug); err == nil {
		slug = n
	} else {
		slug = "raw:" + strings.TrimSpace(slug)
	}
	if n, err := normalize.Username(username); err == nil {
		username = n
	} else {
		username = "raw:" + strings.TrimSpace(username)
	}
	return counterKey(slug, username)
}

// userPasswordKey is passwordKey for a stored user of org.
func userPasswordKey(org store.Org, u store.User) string {
	return counterKey(org.Slug, u.UsernameNorm)
}

func counterKey(slug, username string) string {
	h := sha256.Sum256([]byte("twofold/password-counter/v1|" + slug + "\x00" + username))
	return hex.EncodeToString(h[:])
}

// passwordRefusal maps a lockout decision to the public answer.
func passwordRefusal(err error) error {
	var de *ratelimit.DelayError
	if !errors.As(err, &de) {
		return err
	}
	if errors.Is(err, ratelimit.ErrLocked) {
		return ErrSignInLocked.WithRetry(de.RetryAfter)
	}
	return ErrPasswordDelay.WithRetry(de.RetryAfter)
}

// passwordThrottled is the cheap look before a password check: it refuses
// at once, without queueing for a hash slot, while the counter under key is
// delayed or locked. It reserves nothing; passwordCheck does.
func (s *Service) passwordThrottled(ctx context.Context, key string) error {
	a, err := s.store.GetPasswordAttempts(ctx, key)
	if err != nil {
		return err
	}
	if _, _, err := s.pwLockout.Reserve(a, s.now()); err != nil {
		return passwordRefusal(err)
	}
	return nil
}

// A passwordCheck is one counted password check on the counter under key.
// It is the password.Gate of the check: Enter reserves the attempt — counts
// it as a failure — in one store transaction, and Leave clears the counter
// when the password matched and clearOnMatch is set; both run inside the
// hasher's computation slot. So parallel wrong passwords can never make
// more checks than the lockout allows, and parallel right ones never have
// more reservations outstanding than there are hash slots.
type passwordCheck struct {
	s   *Service
	ctx context.Context
	key string
	// clearOnMatch is false when a match must still count as a failure
	// (a disabled account, an unknown name).
	clearOnMatch bool
	// refused is set when the reservation was refused (delay or lock);
	// newlyLocked when this check's reservation reached the cap.
	refused     error
	newlyLocked bool
}

func (s *Service) newPasswordCheck(ctx context.Context, key string, clearOnMatch bool) *passwordCheck {
	return &passwordCheck{s: s, ctx: ctx, key: key, clearOnMatch: clearOnMatch}
}

// Enter reserves the attempt; see passwordCheck.
func (pc *passwordCheck) Enter() error {
	s := pc.s
	_, err := s.store.UpdatePasswordAttempts(pc.ctx, pc.key, func(a store.Attempts) (store.Attempts, error) {
		next, locked, err := s.pwLockout.Reserve(a, s.now())
		pc.newlyLocked = false
		if err != nil {
			if locked {
				// Reserve locked a counter found at the cap: keep the lock.
				pc.refused = passwordRefusal(err)
				return next, nil
			}
			return a, err
		}
		pc.newlyLocked = locked
		return next, nil
	})
	if err != nil {
		pc.refused = passwordRefusal(err)
	}
	return pc.refused
}

// Leave clears the counter after a right password; see passwordCheck.
func (pc *passwordCheck) Leave(match bool) {
	if !match || !pc.clearOnMatch {
		return
	}
	if err := pc.s.store.DeletePasswordAttempts(pc.ctx, pc.key); err != nil {
		pc.s.log.Warn("password counter reset failed", "err", err)
	}
}

// verifyCounted checks password against the stored hash (the dummy hash
// when encoded is empty), counted on pc. A refused reservation is
// pc.refused and computes nothing.
func (s *Service) verifyCounted(ctx context.Context, pc *passwordCheck, password, encoded string) (ok, rehash bool, err error) {
	ok, rehash, err = s.hasher.VerifyGated(ctx, password, encoded, pc)
	if pc.refused != nil {
		return false, false, pc.refused
	}
	return ok, rehash, err
}

// passwordFailed records the lock a failed check caused, if it did, and
// tells the account's holder once per lock (u is the zero User for a name
// nobody has, who is not told anything).
func (s *Service) passwordFailed(ctx context.Context, pc *passwordCheck, u store.User, org store.Org, c Client) {
	if !pc.newlyLocked {
		return
	}
	s.record(ctx, store.AuditEvent{TargetUserID: u.ID, OrgID: org.ID, Event: audit.Lockout, Outcome: audit.Success,
		Detail: fmt.Sprintf("password step locked for %s after %d consecutive wrong passwords", s.pwLockout.Cooldown, s.pwLockout.Threshold)}, c)
	if u.ID != "" {
		s.notify(ctx, u, notice.PasswordLocked, fmt.Sprintf("locked for %s", s.pwLockout.Cooldown), c)
	}
}

// unlockPassword clears u's password counter (an admin's unlock).
func (s *Service) unlockPassword(ctx context.Context, u store.User) error {
	org, err := s.store.GetOrg(ctx, u.OrgID)
	if err != nil {
		return err
	}
	return s.store.DeletePasswordAttempts(ctx, userPasswordKey(org, u))
}

// HashPassword hashes a new password under the hash limiter, for accounts
// an admin creates.
func (s *Service) HashPassword(ctx context.Context, password string) (string, error) {
	return s.hasher.Hash(ctx, password)
}
