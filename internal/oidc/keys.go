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

// The signing algorithms: ES256 signs by default; an RS256 key is kept
// beside it, published in the key set, and signs the tokens of clients
// registered with id_token_signed_response_alg RS256 (see docs/oidc.md).
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
			if _, err := k.create(ctx, alg, time.Time{}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Rotate makes new ES256 and RS256 keys sign at once (an operator's
// rotation, e.g. after a suspected leak: relying parties meet an unknown
// kid and fetch the key set again). The old ones stay in the key set for
// the keep period, so tokens they signed still verify, and are deleted
// after it. It returns the new ES256 key id.
func (k *Keys) Rotate(ctx context.Context) (string, error) {
	return k.rotate(ctx, time.Time{})
}

// RotateIfDue is the scheduled rotation: when the ES256 key that signs now
// started signing every or longer ago and no newer key is announced, it
// announces new ES256 and RS256 keys that start signing lead from now, so
// that relying parties find them in the key set before any token carries
// them. It reports the new ES256 key id, or "" when nothing was due. With
// no keys at all it does nothing (Ensure makes the first ones). Two
// instances due at the same moment may both announce a key; the later one
// signs and the other leaves the key set like any replaced key.
func (k *Keys) RotateIfDue(ctx context.Context, every, lead time.Duration) (string, error) {
	if every <= 0 {
		return "", nil
	}
	list, err := k.store.ListSigningKeys(ctx)
	if err != nil {
		return "", err
	}
	now := k.now()
	for _, sk := range list {
		if sk.Alg != algES256 {
			continue
		}
		if sk.Active().After(now) || now.Sub(sk.Active()) < every {
			return "", k.prune(ctx) // announced already, or not due
		}
		return k.rotate(ctx, now.Add(lead))
	}
	return "", nil
}

func (k *Keys) rotate(ctx context.Context, activeFrom time.Time) (string, error) {
	kid, err := k.create(ctx, algES256, activeFrom)
	if err != nil {
		return "", err
	}
	if _, err := k.create(ctx, algRS256, activeFrom); err != nil {
		return "", err
	}
	return kid, k.prune(ctx)
}

// Reseal seals every signing key that is not under the active secret key
// again under it (after `twofold keys rotate`), and returns how many it
// moved. Each update is a compare-and-swap on the old key id.
func (k *Keys) Reseal(ctx context.Context, r Resealer) (int, error) {
	list, err := k.store.ListSigningKeys(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, sk := range list {
		if sk.KeyID == r.ActiveKeyID() {
			continue
		}
		sealed, id, err := r.Reseal(sk.Sealed, sk.KeyID, keyAD(sk.ID))
		if err != nil {
			return n, fmt.Errorf("oidc: reseal signing key %s: %w", sk.ID, err)
		}
		ok, err := k.store.ResealSigningKey(ctx, sk.ID, sk.KeyID, sealed, id)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// Resealer re-encrypts a secret under the active key (a *secretbox.Keyring).
type Resealer interface {
	ActiveKeyID() string
	Reseal(ciphertext []byte, keyID string, ad []byte) ([]byte, string, error)
}

func (k *Keys) create(ctx context.Context, alg string, activeFrom time.Time) (string, error) {
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
		CreatedAt: k.now().UTC(), ActiveFrom: activeFrom.UTC()}); err != nil {
		return "", err
	}
	return kid, nil
}

// Prune deletes keys that left the key set.
func (k *Keys) Prune(ctx context.Context) error { return k.prune(ctx) }

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

// partition splits keys (as ListSigningKeys orders them: the last to start
// signing first) into those in the key set and those past it: a key is
// published from its creation — also while it is only announced — while
// it signs, and for keep after the next key of its algorithm took over.
func (k *Keys) partition(list []store.SigningKey) (live, gone []store.SigningKey) {
	now := k.now()
	newer := map[string]time.Time{} // alg → when the next newer key started signing
	for _, sk := range list {
		if sk.Active().After(now) {
			live = append(live, sk) // announced
			continue
		}
		replaced, ok := newer[sk.Alg]
		if !ok || now.Sub(replaced) < k.keep {
			live = append(live, sk)
		} else {
			gone = append(gone, sk)
		}
		newer[sk.Alg] = sk.Active()
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

// Active returns the ES256 key that signs now.
func (k *Keys) Active(ctx context.Context) (op.SigningKey, error) { return k.ActiveFor(ctx, algES256) }

// ActiveFor returns the key of algorithm alg (ES256 or RS256) that signs
// now: of those whose time to sign has come, the last to start. It is read
// from the store so that a rotation at another instance takes effect here
// too.
func (k *Keys) ActiveFor(ctx context.Context, alg string) (op.SigningKey, error) {
	list, err := k.store.ListSigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	now := k.now()
	for _, sk := range list {
		if sk.Alg == alg && !sk.Active().After(now) {
			s, err := k.open(sk)
			if err != nil {
				return nil, err
			}
			return signingKey{id: sk.ID, alg: jose.SignatureAlgorithm(alg), key: s}, nil
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
