package store

import (
	"crypto/rand"
	"encoding/hex"
)

// NewID returns a new random record id: 16 random bytes as 32 hex digits.
// Ids are not secrets; they only need to be unique and unguessable enough
// that enumerating them is pointless.
func NewID() string {
	var b [16]byte
	rand.Read(b[:]) // never returns an error (crypto/rand, Go 1.24+)
	return hex.EncodeToString(b[:])
}
