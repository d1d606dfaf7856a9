package app

import (
	"errors"
	"sync"

	"github.com/twofold-id/twofold/internal/secretbox"
)

// reloadingKeys is a keyring read from a file that reads the file again
// when it meets a key id it does not know. This is what lets `twofold keys
// rotate` run while servers are up: secrets re-encrypted under the new key
// open on every instance without a restart.
type reloadingKeys struct {
	path string
	mu   sync.RWMutex
	ring *secretbox.Keyring
}

func (k *reloadingKeys) current() *secretbox.Keyring {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.ring
}

// Seal seals under the active key of the keyring as last read.
func (k *reloadingKeys) Seal(plaintext, ad []byte) ([]byte, string, error) {
	return k.current().Seal(plaintext, ad)
}

// Open opens ciphertext, reloading the key file once if keyID is unknown.
func (k *reloadingKeys) Open(ciphertext []byte, keyID string, ad []byte) ([]byte, error) {
	pt, err := k.current().Open(ciphertext, keyID, ad)
	if !errors.Is(err, secretbox.ErrUnknownKey) {
		return pt, err
	}
	ring, lerr := secretbox.LoadOrCreate(k.path)
	if lerr != nil {
		return nil, err
	}
	k.mu.Lock()
	k.ring = ring
	k.mu.Unlock()
	return ring.Open(ciphertext, keyID, ad)
}
