// Package secretbox encrypts secrets at rest, such as TOTP seeds, and lets
// the keys that encrypt them be rotated.
//
// Each secret is sealed with AES-256-GCM under the active key of a Keyring,
// with a fresh random 12-byte nonce and additional data chosen by the caller.
// The additional data binds a ciphertext to where it is stored: Twofold uses
// "user id | factor id" for a TOTP secret, so a ciphertext copied into another
// row does not open. Seal returns the id of the key it used; the caller stores
// that id beside the ciphertext and passes it back to Open.
//
// Keys live in a small text file (see Parse for the format) or in the
// TWOFOLD_SECRET_KEY environment variable (see FromEnv). Rotate adds a new
// active key and keeps the old ones, so existing secrets stay readable; the
// caller then moves each stored secret to the new key with Keyring.Reseal.
package secretbox

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// KeySize is the length of every key in bytes (AES-256).
const KeySize = 32

// NonceSize is the length of the random nonce that starts every ciphertext.
const NonceSize = 12

// Overhead is how many bytes longer a ciphertext is than its plaintext: the
// nonce plus the 16-byte GCM tag.
const Overhead = NonceSize + 16

// maxKeyIDLen is the longest key id Parse accepts.
const maxKeyIDLen = 64

// ErrUnknownKey is returned by Open and Reseal when the key id names no key
// in the keyring (for example a key removed from the file too early).
var ErrUnknownKey = errors.New("secretbox: unknown key id")

// ErrDecrypt is returned by Open and Reseal when a ciphertext does not
// authenticate: it was altered, truncated, sealed under another key, or
// sealed with other additional data.
var ErrDecrypt = errors.New("secretbox: decryption failed")

// A Keyring holds one active key, which seals, and any number of older keys,
// which only open. A Keyring is immutable after construction and safe for
// concurrent use.
type Keyring struct {
	keys  []namedKey // keys[0] is the active key
	aeads map[string]cipher.AEAD
}

type namedKey struct {
	id  string
	key []byte
}

// newKeyring builds a Keyring from keys, the first one active. It checks
// that there is at least one key, that ids are valid and unique, and that
// every key is KeySize bytes.
func newKeyring(keys []namedKey) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("secretbox: no keys")
	}
	k := &Keyring{keys: keys, aeads: make(map[string]cipher.AEAD, len(keys))}
	for _, nk := range keys {
		if err := validKeyID(nk.id); err != nil {
			return nil, err
		}
		if _, dup := k.aeads[nk.id]; dup {
			return nil, fmt.Errorf("secretbox: duplicate key id %q", nk.id)
		}
		if len(nk.key) != KeySize {
			return nil, fmt.Errorf("secretbox: key %q is %d bytes; want %d", nk.id, len(nk.key), KeySize)
		}
		block, err := aes.NewCipher(nk.key)
		if err != nil {
			return nil, fmt.Errorf("secretbox: key %q: %w", nk.id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("secretbox: key %q: %w", nk.id, err)
		}
		k.aeads[nk.id] = aead
	}
	return k, nil
}

// validKeyID reports whether id can name a key: 1 to 64 ASCII letters,
// digits, '.', '_' or '-'. That keeps ids safe in the key file, in an
// environment variable and in a database column.
func validKeyID(id string) error {
	if id == "" || len(id) > maxKeyIDLen {
		return fmt.Errorf("secretbox: key id %q must be 1 to %d characters", id, maxKeyIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("secretbox: key id %q may contain only letters, digits, '.', '_' and '-'", id)
		}
	}
	return nil
}

// Generate returns a Keyring holding one new random key, with an id derived
// from the current time. It is meant for tests and for LoadOrCreate; a
// server must keep its keys, so it loads them with LoadOrCreate or FromEnv.
func Generate() *Keyring {
	k, err := newKeyring([]namedKey{{id: newKeyID(time.Now(), nil), key: newKey()}})
	if err != nil {
		panic(err) // unreachable: the id and key are valid by construction
	}
	return k
}

// newKey returns KeySize random bytes.
func newKey() []byte {
	key := make([]byte, KeySize)
	rand.Read(key) // never returns an error (crypto/rand, Go 1.24+)
	return key
}

// newKeyID returns a time-based key id such as "k20260301T120000Z" that is
// not in taken, adding "-2", "-3" … if keys were made within one second.
func newKeyID(now time.Time, taken map[string]cipher.AEAD) string {
	base := "k" + now.UTC().Format("20060102T150405Z")
	id := base
	for n := 2; ; n++ {
		if _, dup := taken[id]; !dup {
			return id
		}
		id = fmt.Sprintf("%s-%d", base, n)
	}
}

// ActiveKeyID returns the id of the key Seal uses.
func (k *Keyring) ActiveKeyID() string { return k.keys[0].id }

// KeyIDs returns the ids of every key, the active one first, then the older
// keys in file order.
func (k *Keyring) KeyIDs() []string {
	ids := make([]string, len(k.keys))
	for i, nk := range k.keys {
		ids[i] = nk.id
	}
	return ids
}

// Seal encrypts plaintext under the active key with a fresh random nonce,
// authenticating ad (which is not stored in the ciphertext: Open must be given
// the same ad). It returns the ciphertext (nonce, then sealed data and tag;
// len(plaintext)+Overhead bytes) and the id of the key used. The error is
// always nil today; it is there so a future key source (an HSM, a KMS) can
// fail.
func (k *Keyring) Seal(plaintext, ad []byte) (ciphertext []byte, keyID string, err error) {
	active := k.keys[0].id
	aead := k.aeads[active]
	out := make([]byte, NonceSize, NonceSize+len(plaintext)+aead.Overhead())
	rand.Read(out) // never returns an error (crypto/rand, Go 1.24+)
	return aead.Seal(out, out, plaintext, ad), active, nil
}

// Open decrypts a ciphertext made by Seal under the key named keyID, with the
// same ad. It returns ErrUnknownKey if the keyring has no such key and
// ErrDecrypt if the ciphertext does not authenticate (altered, truncated, or
// sealed with other additional data).
func (k *Keyring) Open(ciphertext []byte, keyID string, ad []byte) ([]byte, error) {
	aead, ok := k.aeads[keyID]
	if !ok {
		return nil, ErrUnknownKey
	}
	if len(ciphertext) < NonceSize+aead.Overhead() {
		return nil, ErrDecrypt
	}
	plaintext, err := aead.Open(nil, ciphertext[:NonceSize], ciphertext[NonceSize:], ad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return plaintext, nil
}

// Reseal opens ciphertext with the key named keyID and seals the plaintext
// again under the active key with the same ad, returning the new ciphertext
// and the active key id. It always re-encrypts, even when keyID is already
// the active key. Errors are those of Open; on error the stored ciphertext
// should be left as it is.
func (k *Keyring) Reseal(ciphertext []byte, keyID string, ad []byte) ([]byte, string, error) {
	plaintext, err := k.Open(ciphertext, keyID, ad)
	if err != nil {
		return nil, "", err
	}
	defer clear(plaintext)
	return k.Seal(plaintext, ad)
}

// Parse reads a keyring in the key file format:
//
//	# comments start with '#'; blank lines are ignored
//	k20260301T120000Z:<base64 of 32 bytes>
//	k20250101T000000Z:<base64 of 32 bytes>
//
// One key per line, "id:key", the key in standard base64 with padding. The
// first key is the active one. Ids are 1 to 64 ASCII letters, digits, '.',
// '_' or '-', unique within the file. Leading and trailing white space on a
// line is ignored. Parse fails on an empty keyring, a malformed line, a bad id,
// a duplicate id, bad base64 or a key that is not 32 bytes; the error never
// contains key material.
func Parse(data []byte) (*Keyring, error) {
	return parseEntries(strings.Split(string(data), "\n"), false)
}

// FromEnv reads a keyring from the value of the TWOFOLD_SECRET_KEY
// environment variable. The format is Parse's, except that entries may be
// separated by commas as well as newlines, and an entry that is a bare base64
// key (no "id:") gets the id "env1" — so a single bare key is a complete
// keyring.
func FromEnv(value string) (*Keyring, error) {
	entries := strings.FieldsFunc(value, func(r rune) bool { return r == '\n' || r == ',' })
	return parseEntries(entries, true)
}

// parseEntries parses one "id:base64" entry per element of lines. With
// allowBare, an entry without ':' is a key with id "env1".
func parseEntries(lines []string, allowBare bool) (*Keyring, error) {
	var keys []namedKey
	for i, line := range lines {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		id, b64, found := strings.Cut(line, ":")
		if !found {
			if !allowBare {
				return nil, fmt.Errorf("secretbox: line %d: want \"id:base64-key\"", i+1)
			}
			id, b64 = "env1", line
		}
		id, b64 = strings.TrimSpace(id), strings.TrimSpace(b64)
		if err := validKeyID(id); err != nil {
			return nil, fmt.Errorf("secretbox: line %d: %w", i+1, err)
		}
		key, err := base64.StdEncoding.Strict().DecodeString(b64)
		if err != nil || base64.StdEncoding.EncodeToString(key) != b64 { // the decoder skips '\r'
			clear(key)
			return nil, fmt.Errorf("secretbox: line %d: key %q is not valid standard base64", i+1, id)
		}
		keys = append(keys, namedKey{id: id, key: key})
	}
	if len(keys) == 0 {
		return nil, errors.New("secretbox: no keys")
	}
	return newKeyring(keys)
}

// Marshal returns k in the key file format that Parse reads, with a short
// comment header, the active key first.
func (k *Keyring) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString("# Twofold secret keys: one \"id:base64\" per line. The first key is active;\n")
	b.WriteString("# keep older keys until no stored secret uses them. Keep this file 0600.\n")
	for _, nk := range k.keys {
		b.WriteString(nk.id)
		b.WriteByte(':')
		b.WriteString(base64.StdEncoding.EncodeToString(nk.key))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// withNewActive returns a copy of k with a new random key in front, active,
// and every key of k after it. now chooses the new key's id.
func (k *Keyring) withNewActive(now time.Time) (*Keyring, error) {
	keys := make([]namedKey, 0, len(k.keys)+1)
	keys = append(keys, namedKey{id: newKeyID(now, k.aeads), key: newKey()})
	keys = append(keys, k.keys...)
	return newKeyring(keys)
}

// String describes k without any key material, so that logging a Keyring
// by mistake does not leak keys.
func (k *Keyring) String() string {
	return fmt.Sprintf("secretbox.Keyring{active: %q, keys: %d}", k.ActiveKeyID(), len(k.keys))
}

// GoString is String, for the %#v verb.
func (k *Keyring) GoString() string { return k.String() }
