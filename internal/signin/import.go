package signin

import (
	"github.com/twofold-id/twofold/internal/factor/totp"
	"github.com/twofold-id/twofold/internal/store"
)

// Bounds of an imported authenticator-app secret: at least the 128 bits
// RFC 4226 requires, at most what any app holds.
const (
	minImportedSecret = 16
	maxImportedSecret = 64
)

// ErrInvalidSecret is an imported authenticator-app secret that is not
// base32 of 16 to 64 bytes.
var ErrInvalidSecret = ErrInvalidInput.WithMessage("An authenticator-app secret is base32 of 128 to 512 bits (RFC 4226 asks for at least 128).")

// ImportedTOTP returns a confirmed authenticator-app factor of user userID
// for a secret the user already has in an app (base32, as the key URI
// carries it), sealed like one set up here. Its last accepted step is the
// current one, so a code seen before the import cannot be replayed after
// it. The factor is not stored: the caller stores it with its user
// (store.ImportUsers).
func (s *Service) ImportedTOTP(userID, secretB32, label string) (store.Factor, error) {
	secret, err := totp.DecodeSecret(secretB32)
	if err != nil || len(secret) < minImportedSecret || len(secret) > maxImportedSecret {
		return store.Factor{}, ErrInvalidSecret.WithField("secret")
	}
	defer clear(secret)
	if label, err = cleanLabel(label); err != nil {
		return store.Factor{}, err
	}
	id := store.NewID()
	sealed, keyID, err := s.keys.Seal(secret, FactorAD(userID, id))
	if err != nil {
		return store.Factor{}, err
	}
	now := s.now().UTC()
	return store.Factor{ID: id, UserID: userID, Kind: totp.Kind, Label: label, Secret: sealed, KeyID: keyID,
		LastStep: s.totp.Step(now), ConfirmedAt: &now, CreatedAt: now}, nil
}
