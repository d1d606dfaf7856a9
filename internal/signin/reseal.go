package signin

import (
	"context"
	"errors"
	"fmt"
)

// Resealer re-encrypts a secret under the active key (a *secretbox.Keyring).
type Resealer interface {
	ActiveKeyID() string
	Reseal(ciphertext []byte, keyID string, ad []byte) ([]byte, string, error)
}

// ResealSecrets re-encrypts every factor secret that is not under the
// active key of keys, after a key rotation, and returns how many it moved.
// Each update is a compare-and-swap on the key id, so a secret changed
// meanwhile is left alone (and picked up by the next batch); running
// servers keep verifying throughout.
func (s *Service) ResealSecrets(ctx context.Context, keys Resealer) (int, error) {
	active := keys.ActiveKeyID()
	n := 0
	for {
		fs, err := s.store.ListFactorsNotUnderKey(ctx, active, 100)
		if err != nil {
			return n, err
		}
		if len(fs) == 0 {
			return n, nil
		}
		progress := false
		for _, f := range fs {
			sealed, id, err := keys.Reseal(f.Secret, f.KeyID, FactorAD(f.UserID, f.ID))
			if err != nil {
				return n, fmt.Errorf("factor %s: %w", f.ID, err)
			}
			ok, err := s.store.UpdateFactorSecret(ctx, f.ID, f.KeyID, sealed, id)
			if err != nil {
				return n, err
			}
			if ok {
				n++
				progress = true
			}
		}
		if !progress {
			return n, errors.New("no progress re-encrypting secrets")
		}
	}
}
