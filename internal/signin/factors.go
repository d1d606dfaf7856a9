package signin

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/factor"
	"github.com/twofold-id/twofold/internal/factor/backup"
	"github.com/twofold-id/twofold/internal/factor/totp"
	"github.com/twofold-id/twofold/internal/notice"
	"github.com/twofold-id/twofold/internal/password"
	"github.com/twofold-id/twofold/internal/store"
)

// CheckPassword applies the password rules (length only, no composition rules).
func CheckPassword(pw string) error {
	if err := password.CheckPolicy(pw); err != nil {
		return ErrWeakPassword.WithField("password")
	}
	return nil
}

// TOTPEnrollment is what a user needs to add an authenticator app.
type TOTPEnrollment struct {
	FactorID      string
	Secret        string // base32, unpadded
	SecretGrouped string // the same in groups of four, for typing
	URI           string // otpauth://
	QRPNG         string // data:image/png;base64,…
	QRSVG         string // <svg …>
}

// Overview is the owner's view of their second factors.
type Overview struct {
	Factors []store.Factor // Secret cleared
	// Details are what a method tells of a factor beyond label and times
	// (a security key's backup flags), by factor id; nothing secret.
	Details         map[string]map[string]any
	BackupCodesLeft int
	Enrolled        bool // at least one confirmed factor
	Required        bool // policy or an admin requires MFA for the user
	CanDisable      bool
	AllowedMethods  []string
	Locked          bool // the second factor or the password step is locked
	Failures        int  // consecutive wrong codes
	// PasswordLocked says the password step is locked for the account's
	// name; PasswordFailures counts its consecutive wrong passwords.
	PasswordLocked   bool
	PasswordFailures int
}

// Overview returns the user's factors (without secrets), how many backup
// codes remain, and what policy says.
func (s *Service) Overview(ctx context.Context, u store.User) (Overview, error) {
	fs, err := s.store.ListFactors(ctx, u.ID)
	if err != nil {
		return Overview{}, err
	}
	codes, err := s.store.ListBackupCodes(ctx, u.ID)
	if err != nil {
		return Overview{}, err
	}
	pol, err := s.Policy(ctx, u)
	if err != nil {
		return Overview{}, err
	}
	att, err := s.store.GetAttempts(ctx, u.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Overview{}, err
	}
	org, err := s.store.GetOrg(ctx, u.OrgID)
	if err != nil {
		return Overview{}, err
	}
	pw, err := s.store.GetPasswordAttempts(ctx, userPasswordKey(org, u))
	if err != nil {
		return Overview{}, err
	}
	o := Overview{BackupCodesLeft: len(codes), Required: pol.Required, CanDisable: pol.CanDisable(),
		AllowedMethods: s.enrollMethods(u, pol), Failures: att.Failures,
		Locked:         att.LockedUntil != nil && s.now().Before(*att.LockedUntil),
		PasswordLocked: pw.LockedUntil != nil && s.now().Before(*pw.LockedUntil), PasswordFailures: pw.Failures}
	o.Locked = o.Locked || o.PasswordLocked
	for _, f := range fs {
		if m, ok := s.methods.Lookup(f.Kind); ok && f.Confirmed() {
			if d, ok := m.(factor.Describer); ok {
				if det, err := d.Describe(s.env(), u, f); err == nil && det != nil {
					if o.Details == nil {
						o.Details = map[string]map[string]any{}
					}
					o.Details[f.ID] = det
				}
			}
		}
		f.Secret = nil
		if f.Confirmed() {
			o.Enrolled = true
		} else if s.now().Sub(f.CreatedAt) > s.opts.PendingFactorTTL {
			continue // expired pending factors are invisible
		}
		o.Factors = append(o.Factors, f)
	}
	return o, nil
}

func (s *Service) hasConfirmedFactor(ctx context.Context, userID string) bool {
	fs, err := s.store.ListFactors(ctx, userID)
	if err != nil {
		return true // fail closed: assume a factor exists
	}
	return slices.ContainsFunc(fs, store.Factor.Confirmed)
}

// StartTOTP creates a pending authenticator-app factor for the principal.
// When the user already has a factor, the session must have passed a
// second-factor check within the re-authentication window.
func (s *Service) StartTOTP(ctx context.Context, p Principal, label string, c Client) (TOTPEnrollment, error) {
	if s.hasConfirmedFactor(ctx, p.User.ID) && !p.MFAFresh(s.now(), s.opts.ReauthWindow) {
		return TOTPEnrollment{}, ErrReauthRequired
	}
	return s.startTOTP(ctx, p.User, p.Org, label, c)
}

func (s *Service) startTOTP(ctx context.Context, u store.User, org store.Org, label string, c Client) (TOTPEnrollment, error) {
	pol, err := s.Policy(ctx, u)
	if err != nil {
		return TOTPEnrollment{}, err
	}
	if !pol.CanEnroll(totp.Kind) {
		return TOTPEnrollment{}, ErrMethodNotAllowed
	}
	label, err = cleanLabel(label)
	if err != nil {
		return TOTPEnrollment{}, err
	}
	secret, err := totp.GenerateSecret()
	if err != nil {
		return TOTPEnrollment{}, err
	}
	defer clear(secret)
	id := store.NewID()
	sealed, keyID, err := s.keys.Seal(secret, FactorAD(u.ID, id))
	if err != nil {
		return TOTPEnrollment{}, err
	}
	f, err := s.store.CreateFactor(ctx, store.Factor{ID: id, UserID: u.ID, Kind: totp.Kind, Label: label,
		Secret: sealed, KeyID: keyID, CreatedAt: s.now().UTC()})
	if err != nil {
		return TOTPEnrollment{}, err
	}
	uri := totp.URI(org.Name, u.Username, secret)
	png, err := totp.QRPNG(uri, 256)
	if err != nil {
		return TOTPEnrollment{}, err
	}
	svg, err := totp.QRSVG(uri)
	if err != nil {
		return TOTPEnrollment{}, err
	}
	s.record(ctx, store.AuditEvent{ActorUserID: u.ID, TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.FactorAdded, Outcome: audit.Success,
		Detail: "totp factor " + f.ID + " pending confirmation"}, c)
	return TOTPEnrollment{FactorID: f.ID, Secret: totp.EncodeSecret(secret), SecretGrouped: totp.FormatSecret(secret),
		URI: uri, QRPNG: "data:image/png;base64," + base64.StdEncoding.EncodeToString(png), QRSVG: svg}, nil
}

// cleanLabel trims a factor label and bounds it.
func cleanLabel(label string) (string, error) {
	label = strings.TrimSpace(label)
	if label == "" {
		label = "Authenticator app"
	}
	if utf8.RuneCountInString(label) > 64 || strings.ContainsFunc(label, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", ErrInvalidInput.WithMessage("A label is at most 64 characters, without control characters.").WithField("label")
	}
	return label, nil
}

// ConfirmTOTP activates a pending factor of the principal's with one current
// code. It is ConfirmFactor, kept for its name.
func (s *Service) ConfirmTOTP(ctx context.Context, p Principal, factorID, code string, c Client) ([]string, error) {
	return s.ConfirmFactor(ctx, p, factorID, code, c)
}

// ConfirmFactor activates a pending factor of the principal's (any kind)
// with one current code: from the authenticator app, or the code sent by
// email or text message. Confirming the user's first factor issues backup
// codes, returned once.
//
// When the principal's session had to enroll (Lacks is
// ErrEnrollmentRequired), confirming the first factor also records the
// check on the session (markFirstFactor), so that it is complete
// afterwards, as after the enrollment step of a sign-in.
func (s *Service) ConfirmFactor(ctx context.Context, p Principal, factorID, code string, c Client) ([]string, error) {
	codes, err := s.confirmFactor(ctx, p.User, factorID, code, "", c)
	if err != nil || !errors.Is(p.Lacks, ErrEnrollmentRequired) || p.Session.ID == "" {
		return codes, err
	}
	f, err := s.store.GetFactor(ctx, factorID)
	if err != nil {
		return codes, err
	}
	if err := s.markFirstFactor(ctx, p, f.Kind); err != nil {
		s.log.WarnContext(ctx, "could not record the first factor on the session", "session", p.Session.ID, "err", err)
	}
	return codes, nil
}

func (s *Service) confirmFactor(ctx context.Context, u store.User, factorID, raw, flowID string, c Client) ([]string, error) {
	f, err := s.store.GetFactor(ctx, factorID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && f.UserID != u.ID) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if f.Confirmed() || s.now().Sub(f.CreatedAt) > s.opts.PendingFactorTTL {
		return nil, ErrFactorNotPending
	}
	// The policy that allowed starting this factor is decided again now:
	// a method an admin disallowed meanwhile cannot be confirmed.
	pol, err := s.Policy(ctx, u)
	if err != nil {
		return nil, err
	}
	if !pol.CanEnroll(f.Kind) {
		return nil, ErrMethodNotAllowed
	}
	first := !s.hasConfirmedFactor(ctx, u.ID)
	if flowID != "" && !first {
		// A sign-in flow only ever sets up a first factor.
		return nil, ErrEnrollNotAllowed
	}
	// confirm activates f once its code checked out. A first factor is
	// confirmed only while it is still the first (store.ConfirmFirstFactor
	// decides that atomically, and ends every other sign-in in flight); in
	// self-service, losing that race just makes f an additional factor.
	// A first factor comes with backup codes: the factor, the codes and
	// their audit events are stored in that same transaction, so a
	// confirmation cut off half-way — the client gone, the process killed —
	// leaves the factor pending, never active without its backup codes.
	var (
		lost  error
		codes []string
	)
	confirmed := store.AuditEvent{ActorUserID: u.ID, TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.FactorConfirmed, Outcome: audit.Success,
		Detail: fmt.Sprintf("%s factor %s (%q)", f.Kind, f.ID, f.Label)}
	confirm := func(step int64) (bool, error) {
		now := s.now().UTC()
		if !first {
			return s.store.ConfirmFactor(ctx, f.ID, step, now)
		}
		plain, recs, err := s.backupBatch(ctx, u, now)
		if err != nil {
			return false, err
		}
		events := []store.AuditEvent{confirmed, {ActorUserID: u.ID, TargetUserID: u.ID, OrgID: u.OrgID,
			Event: audit.BackupRegenerated, Outcome: audit.Success, Detail: fmt.Sprintf("%d backup codes issued", len(plain))}}
		for i := range events {
			events[i].At, events[i].IP, events[i].UserAgent = now, c.IP, c.UserAgent
		}
		won, err := s.store.ConfirmFirstFactor(ctx, f.ID, step, now, flowID, recs, events)
		if err != nil {
			return false, err
		}
		if won {
			for _, e := range events {
				s.audit.Prepare(ctx, e) // the log line; the store has the event
			}
			codes = plain
			return true, nil
		}
		if !s.hasConfirmedFactor(ctx, u.ID) {
			return false, nil // not pending any more
		}
		if flowID != "" {
			lost = ErrEnrollNotAllowed
			return false, nil
		}
		first = false
		return s.store.ConfirmFactor(ctx, f.ID, step, now)
	}
	if _, ok := s.methods.Lookup(f.Kind); !ok {
		return nil, ErrFactorNotPending
	}
	// The confirmation code is a code check like any other: it goes through
	// the account's failure counter.
	_, _, err = s.check(ctx, u, codeCheck{method: f.Kind, raw: raw, event: audit.CodeChecked,
		scope: factor.Scope{FlowID: flowID, Purpose: store.PurposeConfirm}, pending: &f, confirm: confirm}, c)
	if lost != nil {
		return nil, lost
	}
	if err != nil {
		return nil, err
	}
	if !first {
		s.record(ctx, confirmed, c)
	}
	s.notify(ctx, u, notice.FactorAdded, f.Label, c)
	return codes, nil
}

// backupBatch makes a fresh batch of backup codes: the plaintext codes
// (shown once) and the records to store. Each of its hashes takes a slot
// of the password hasher, like any other argon2id computation.
func (s *Service) backupBatch(ctx context.Context, u store.User, now time.Time) ([]string, []store.BackupCode, error) {
	codes, hashes, err := backup.GenerateWith(ctx, s.backup, s.hasher.Run)
	if err != nil {
		return nil, nil, err
	}
	recs := make([]store.BackupCode, len(hashes))
	for i, h := range hashes {
		recs[i] = store.BackupCode{UserID: u.ID, Hash: h, CreatedAt: now}
	}
	return codes, recs, nil
}

// newBackupCodes replaces the user's backup codes with a fresh batch and
// returns the plaintext codes (shown once).
func (s *Service) newBackupCodes(ctx context.Context, u store.User, c Client) ([]string, error) {
	codes, recs, err := s.backupBatch(ctx, u, s.now().UTC())
	if err != nil {
		return nil, err
	}
	if err := s.store.ReplaceBackupCodes(ctx, u.ID, recs); err != nil {
		return nil, err
	}
	s.record(ctx, store.AuditEvent{ActorUserID: u.ID, TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.BackupRegenerated, Outcome: audit.Success,
		Detail: fmt.Sprintf("%d backup codes issued", len(codes))}, c)
	return codes, nil
}

// RegenerateBackupCodes replaces the principal's backup codes after
// checking a current code.
func (s *Service) RegenerateBackupCodes(ctx context.Context, p Principal, code string, c Client) ([]string, error) {
	if !s.hasConfirmedFactor(ctx, p.User.ID) {
		return nil, ErrNoFactor
	}
	if _, err := s.checkCode(ctx, p.User, MethodAny, code, c, audit.CodeChecked); err != nil {
		return nil, err
	}
	codes, err := s.newBackupCodes(ctx, p.User, c)
	if err == nil {
		s.notify(ctx, p.User, notice.BackupRegenerated, "", c)
	}
	return codes, err
}

// RemoveFactor deletes one of the principal's factors. A pending factor
// goes without a code; a confirmed one needs a current code from any of the
// user's factors (or a backup code). Removing the last confirmed factor is
// turning MFA off, refused when policy requires MFA, and also removes the
// backup codes.
func (s *Service) RemoveFactor(ctx context.Context, p Principal, factorID, code string, c Client) error {
	f, err := s.store.GetFactor(ctx, factorID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && f.UserID != p.User.ID) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	if f.Confirmed() {
		fs, err := s.store.ListFactors(ctx, p.User.ID)
		if err != nil {
			return err
		}
		confirmed := 0
		for _, x := range fs {
			if x.Confirmed() {
				confirmed++
			}
		}
		if confirmed == 1 {
			return s.DisableMFA(ctx, p, code, c)
		}
		if _, err := s.checkCode(ctx, p.User, MethodAny, code, c, audit.CodeChecked); err != nil {
			return err
		}
	}
	if err := s.store.DeleteFactor(ctx, f.ID); err != nil {
		return err
	}
	s.record(ctx, store.AuditEvent{ActorUserID: p.User.ID, TargetUserID: p.User.ID, OrgID: p.User.OrgID, Event: audit.FactorRemoved, Outcome: audit.Success,
		Detail: fmt.Sprintf("%s factor %s (%q)", f.Kind, f.ID, f.Label)}, c)
	if f.Confirmed() {
		s.notify(ctx, p.User, notice.FactorRemoved, f.Label, c)
	}
	return nil
}

// RenameFactor changes the label of one of the principal's factors.
func (s *Service) RenameFactor(ctx context.Context, p Principal, factorID, label string, c Client) error {
	f, err := s.store.GetFactor(ctx, factorID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && f.UserID != p.User.ID) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	if label, err = cleanLabel(label); err != nil {
		return err
	}
	if err := s.store.UpdateFactorLabel(ctx, f.ID, label); err != nil {
		return err
	}
	s.record(ctx, store.AuditEvent{ActorUserID: p.User.ID, TargetUserID: p.User.ID, OrgID: p.User.OrgID, Event: audit.FactorRenamed, Outcome: audit.Success,
		Detail: "factor " + f.ID}, c)
	return nil
}

// DisableMFA removes every factor and backup code of the principal after
// checking a current code; refused when policy requires MFA for the user.
func (s *Service) DisableMFA(ctx context.Context, p Principal, code string, c Client) error {
	pol, err := s.Policy(ctx, p.User)
	if err != nil {
		return err
	}
	if !pol.CanDisable() {
		return ErrPolicyRequiresMFA
	}
	if !s.hasConfirmedFactor(ctx, p.User.ID) {
		return ErrNoFactor
	}
	if _, err := s.checkCode(ctx, p.User, MethodAny, code, c, audit.CodeChecked); err != nil {
		return err
	}
	if err := s.store.DeleteUserFactors(ctx, p.User.ID); err != nil {
		return err
	}
	s.record(ctx, store.AuditEvent{ActorUserID: p.User.ID, TargetUserID: p.User.ID, OrgID: p.User.OrgID, Event: audit.MFADisabled, Outcome: audit.Success}, c)
	s.notify(ctx, p.User, notice.MFADisabled, "", c)
	return nil
}

// ResetMFA is the admin action for a lost phone: it removes every factor and
// backup code of u, clears its failure counter and ends its sign-in flows
// (one store transaction), and revokes all its sessions. If policy requires
// MFA, u sets it up again at next sign-in.
func (s *Service) ResetMFA(ctx context.Context, actorID string, u store.User, c Client) error {
	if err := s.store.ResetUserMFA(ctx, u.ID, s.now().UTC()); err != nil {
		return err
	}
	n, err := s.store.RevokeUserSessions(ctx, u.ID, "", s.now().UTC(), "mfa reset")
	if err != nil {
		return err
	}
	s.record(ctx, store.AuditEvent{ActorUserID: actorID, TargetUserID: u.ID, OrgID: u.OrgID, Event: audit.MFAReset, Outcome: audit.Success,
		Detail: fmt.Sprintf("factors and backup codes removed, %d sessions revoked", n)}, c)
	s.notify(ctx, u, notice.MFAReset, "", c)
	return nil
}
