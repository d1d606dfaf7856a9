package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/twofold-id/twofold/internal/store"
)

// Sealer seals and opens secrets at rest (a *secretbox.Keyring, or one
// that reloads its key file).
type Sealer interface {
	Seal(plaintext, ad []byte) (ciphertext []byte, keyID string, err error)
	Open(ciphertext []byte, keyID string, ad []byte) ([]byte, error)
}

// The signing algorithms: ES256 signs everything; an RS256 key is kept
// beside it, published in the key set, for relying parties that verify
// only RSA (see docs/oidc.md).
const (
	algES256 = "ES256"
	algRS256 = "RS256"
)

// keyAD binds a sealed signing key to its key id.
func keyAD(kid string) []byte { return []byte("twofold/oidc-signing-key/v1|" + kid) }

// Keys are the provider's signing keys. They live sealed in the store, so
// every instance signs with the same key and publishes the same key set;
// each instance keeps the opened keys in memory by id.
type Keys struct {
	store store.OIDC
	seal  Sealer
	now   func() time.Time
	// Keep is how long a key stays in the key set after a newer key of
	// its algorithm replaced it: longer than any token it signed lives.
	keep time.Duration

	mu     sync.Mutex
	opened map[string]crypto.Signer
}

// NewKeys returns the signing keys kept in st.
func NewKeys(st store.OIDC, seal Sealer, now func() time.Time, keep time.Duration) *Keys {
	return &Keys{store: st, seal: seal, now: now, keep: keep, opened: map[string]crypto.Signer{}}
}

// Ensure creates the first keys when there are none.
func (k *Keys) Ensure(ctx context.Context) error {
	list, err := k.store.ListSigningKeys(ctx)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, sk := range list {
		have[sk.Alg] = true
	}
	for _, alg := range []string{algES256, algRS256} {
		if !have[alg] {
			if _, err := k.create(ctx, alg); err != nil {
				return err
			}
		}
	}
	return nil
}

// Rotate makes new ES256 and RS256 keys active. The old ones stay in the
// key set for the keep period, so tokens they signed still verify, and are
// deleted after it. It returns the new ES256 key id.
func (k *Keys) Rotate(ctx context.Context) (string, error) {
	kid, err := k.create(ctx, algES256)
	if err != nil {
		return "", err
	}
	if _, err := k.create(ctx, algRS256); err != nil {
		return "", err
	}
	return kid, k.prune(ctx)
}

func (k *Keys) create(ctx context.Context, alg string) (string, error) {
	var (
		priv crypto.Signer
		err  error
	)
	switch alg {
	case algES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case algRS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		return "", fmt.Errorf("oidc: unknown signing algorithm %q", alg)
	}
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", err
	}
	kid := store.NewID()
	sealed, keyID, err := k.seal.Seal(der, keyAD(kid))
	if err != nil {
		return "", err
	}
	if err := k.store.CreateSigningKey(ctx, store.SigningKey{ID: kid, Alg: alg, Sealed: sealed, KeyID: keyID,
		CreatedAt: k.now().UTC()}); err != nil {
		return "", err
	}
	return kid, nil
}

// prune deletes keys that left the key set.
func (k *Keys) prune(ctx context.Context) error {
	list, err := k.store.ListSigningKeys(ctx)
	if err != nil {
		return err
	}
	_, gone := k.partition(list)
	for _, sk := range gone {
		if err := k.store.DeleteSigningKey(ctx, sk.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}

// partition splits keys (newest first) into those in the key set and
// those past it: a key is published while it is the newest of its
// algorithm or was replaced less than keep ago.
func (k *Keys) partition(list []store.SigningKey) (live, gone []store.SigningKey) {
	newer := map[string]time.Time{} // alg → creation of the next newer key
	for _, sk := range list {
		replaced, ok := newer[sk.Alg]
		if !ok || k.now().Sub(replaced) < k.keep {
			live = append(live, sk)
		} else {
			gone = append(gone, sk)
		}
		newer[sk.Alg] = sk.CreatedAt
	}
	return live, gone
}

// open returns the private key of sk.
func (k *Keys) open(sk store.SigningKey) (crypto.Signer, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if s, ok := k.opened[sk.ID]; ok {
		return s, nil
	}
	der, err := k.seal.Open(sk.Sealed, sk.KeyID, keyAD(sk.ID))
	if err != nil {
		return nil, fmt.Errorf("oidc: open signing key %s: %w", sk.ID, err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	s, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("oidc: signing key %s is not a signer", sk.ID)
	}
	k.opened[sk.ID] = s
	return s, nil
}

// signingKey is the key tokens are signed with.
type signingKey struct {
	id  string
	alg jose.SignatureAlgorithm
	key crypto.Signer
}

func (s signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return s.alg }
func (s signingKey) Key() any                                    { return s.key }
func (s signingKey) ID() string                                  { return s.id }

// publicKey is one key of the key set.
type publicKey struct {
	id  string
	alg jose.SignatureAlgorithm
	key crypto.PublicKey
}

func (p publicKey) ID() string                         { return p.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return p.alg }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return p.key }

var (
	_ op.SigningKey = signingKey{}
	_ op.Key        = publicKey{}
)

// Active returns the newest ES256 key, read from the store so that a
// rotation at another instance takes effect here too.
func (k *Keys) Active(ctx context.Context) (op.SigningKey, error) {
	list, err := k.store.ListSigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	for _, sk := range list {
		if sk.Alg == algES256 {
			s, err := k.open(sk)
			if err != nil {
				return nil, err
			}
			return signingKey{id: sk.ID, alg: jose.ES256, key: s}, nil
		}
	}
	return nil, errors.New("oidc: no signing key (Ensure was not called)")
}

// Set returns the public keys of the key set.
func (k *Keys) Set(ctx context.Context) ([]op.Key, error) {
	list, err := k.store.ListSigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	live, _ := k.partition(list)
	out := make([]op.Key, 0, len(live))
	for _, sk := range live {
		s, err := k.open(sk)
		if err != nil {
			return nil, err
		}
		out = append(out, publicKey{id: sk.ID, alg: jose.SignatureAlgorithm(sk.Alg), key: s.Public()})
	}
	return out, nil
}
