package secretbox

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// b64key returns a valid base64 key whose bytes are all b.
func b64key(b byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, KeySize))
}

func mustParse(t *testing.T, s string) *Keyring {
	t.Helper()
	k, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return k
}

func TestSealOpenRoundTrip(t *testing.T) {
	k := Generate()
	secret := []byte("JBSWY3DPEHPK3PXP-twenty-bytes!")
	ad := []byte("user-1|factor-1")
	ct, id, err := k.Seal(secret, ad)
	if err != nil {
		t.Fatal(err)
	}
	if id != k.ActiveKeyID() {
		t.Errorf("Seal key id = %q; want active %q", id, k.ActiveKeyID())
	}
	if len(ct) != len(secret)+Overhead {
		t.Errorf("len(ciphertext) = %d; want %d", len(ct), len(secret)+Overhead)
	}
	if bytes.Contains(ct, secret) {
		t.Error("ciphertext contains the plaintext")
	}
	got, err := k.Open(ct, id, ad)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v; want %q", got, err, secret)
	}
	// Empty plaintext and nil ad work too.
	ct, id, _ = k.Seal(nil, nil)
	if got, err := k.Open(ct, id, nil); err != nil || len(got) != 0 {
		t.Fatalf("Open(empty) = %q, %v", got, err)
	}
}

func TestSealUsesFreshNonces(t *testing.T) {
	k := Generate()
	a, _, _ := k.Seal([]byte("same"), []byte("ad"))
	b, _, _ := k.Seal([]byte("same"), []byte("ad"))
	if bytes.Equal(a[:NonceSize], b[:NonceSize]) || bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext produced the same nonce or ciphertext")
	}
}

func TestOpenRejectsAnotherRowsAD(t *testing.T) {
	k := Generate()
	ct, id, _ := k.Seal([]byte("secret of factor 1"), []byte("user-1|factor-1"))
	for _, ad := range []string{"user-1|factor-2", "user-2|factor-1", "", "user-1|factor-1 "} {
		if _, err := k.Open(ct, id, []byte(ad)); !errors.Is(err, ErrDecrypt) {
			t.Errorf("Open with ad %q = %v; want ErrDecrypt", ad, err)
		}
	}
}

func TestOpenRejectsTampering(t *testing.T) {
	k := Generate()
	ad := []byte("u|f")
	ct, id, _ := k.Seal([]byte("a secret worth keeping"), ad)
	for i := range ct {
		bad := bytes.Clone(ct)
		bad[i] ^= 0x01
		if _, err := k.Open(bad, id, ad); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("Open with byte %d flipped = %v; want ErrDecrypt", i, err)
		}
	}
	for _, n := range []int{0, 1, NonceSize, Overhead - 1, len(ct) - 1} {
		if _, err := k.Open(ct[:n], id, ad); !errors.Is(err, ErrDecrypt) {
			t.Errorf("Open truncated to %d bytes = %v; want ErrDecrypt", n, err)
		}
	}
	if _, err := k.Open(append(bytes.Clone(ct), 0), id, ad); !errors.Is(err, ErrDecrypt) {
		t.Errorf("Open with a byte appended = %v; want ErrDecrypt", err)
	}
}

func TestOpenUnknownKey(t *testing.T) {
	k := Generate()
	ct, _, _ := k.Seal([]byte("x"), nil)
	if _, err := k.Open(ct, "nope", nil); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("Open with unknown id = %v; want ErrUnknownKey", err)
	}
	// Another keyring does not have this key either, even if it has the same id.
	other := mustParse(t, k.ActiveKeyID()+":"+b64key(7))
	if _, err := other.Open(ct, k.ActiveKeyID(), nil); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("Open under another key with the same id = %v; want ErrDecrypt", err)
	}
}

func TestOpenWithOlderKey(t *testing.T) {
	old := mustParse(t, "k1:"+b64key(1))
	ct, id, _ := old.Seal([]byte("old secret"), []byte("ad"))
	both := mustParse(t, "k2:"+b64key(2)+"\nk1:"+b64key(1))
	if both.ActiveKeyID() != "k2" {
		t.Fatalf("ActiveKeyID = %q; want k2 (the first line)", both.ActiveKeyID())
	}
	got, err := both.Open(ct, id, []byte("ad"))
	if err != nil || string(got) != "old secret" {
		t.Fatalf("Open with older key = %q, %v", got, err)
	}
	ct2, id2, err := both.Reseal(ct, id, []byte("ad"))
	if err != nil || id2 != "k2" {
		t.Fatalf("Reseal = id %q, %v; want k2", id2, err)
	}
	if got, err := both.Open(ct2, id2, []byte("ad")); err != nil || string(got) != "old secret" {
		t.Fatalf("Open after Reseal = %q, %v", got, err)
	}
	if _, _, err := both.Reseal(ct, id, []byte("other ad")); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("Reseal with wrong ad = %v; want ErrDecrypt", err)
	}
	if _, _, err := both.Reseal(ct, "k9", []byte("ad")); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("Reseal with unknown id = %v; want ErrUnknownKey", err)
	}
}

func TestParseAndMarshal(t *testing.T) {
	in := "# comment\n\n  k2 : " + b64key(2) + "  \r\n#k0:ignored\nk1:" + b64key(1) + "\n"
	k := mustParse(t, in)
	if got := strings.Join(k.KeyIDs(), ","); got != "k2,k1" {
		t.Fatalf("KeyIDs = %s; want k2,k1", got)
	}
	again := mustParse(t, string(k.Marshal()))
	if !bytes.Equal(again.Marshal(), k.Marshal()) {
		t.Fatalf("Marshal does not round-trip:\n%s\n%s", k.Marshal(), again.Marshal())
	}
	ct, id, _ := k.Seal([]byte("x"), nil)
	if _, err := again.Open(ct, id, nil); err != nil {
		t.Fatalf("re-parsed keyring cannot open: %v", err)
	}
}

func TestParseRejects(t *testing.T) {
	short := base64.StdEncoding.EncodeToString(make([]byte, 16))
	long := base64.StdEncoding.EncodeToString(make([]byte, 33))
	tests := []struct {
		name, in string
	}{
		{"empty file", ""},
		{"only comments", "# nothing\n\n"},
		{"missing id", b64key(1)},
		{"empty id", ":" + b64key(1)},
		{"id with a space", "k 1:" + b64key(1)},
		{"id with a slash", "k/1:" + b64key(1)},
		{"id too long", strings.Repeat("k", 65) + ":" + b64key(1)},
		{"duplicate id", "k1:" + b64key(1) + "\nk1:" + b64key(2)},
		{"key too short", "k1:" + short},
		{"key too long", "k1:" + long},
		{"empty key", "k1:"},
		{"bad base64", "k1:not*base64*at*all*but*long*enough*to*be*a*key"},
		{"url-safe base64", "k1:" + base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, KeySize))},
		{"unpadded base64", "k1:" + base64.RawStdEncoding.EncodeToString(make([]byte, KeySize))},
		{"carriage return inside the key", "k1:" + b64key(1)[:20] + "\r" + b64key(1)[20:]},
		{"second line bad", "k1:" + b64key(1) + "\nk2:zzz"},
		{"comma separated in a file", "k1:" + b64key(1) + ",k2:" + b64key(2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("Parse(%q) = %v; want an error", tt.in, k)
			}
			if strings.Contains(err.Error(), b64key(1)) || strings.Contains(err.Error(), b64key(2)) {
				t.Fatalf("error leaks key material: %v", err)
			}
		})
	}
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name, in string
		ids      string // "" means an error
	}{
		{"bare key", b64key(1), "env1"},
		{"bare key with spaces", "  " + b64key(1) + "\n", "env1"},
		{"one named key", "k1:" + b64key(1), "k1"},
		{"comma separated", "k2:" + b64key(2) + ",k1:" + b64key(1), "k2,k1"},
		{"comma and space separated", "k2:" + b64key(2) + ", k1:" + b64key(1), "k2,k1"},
		{"newline separated", "k2:" + b64key(2) + "\nk1:" + b64key(1), "k2,k1"},
		{"bare key as the active one", b64key(2) + ",k1:" + b64key(1), "env1,k1"},
		{"error/empty", "", ""},
		{"error/two bare keys", b64key(1) + "," + b64key(2), ""},
		{"error/short bare key", "c2hvcnQ=", ""},
		{"error/bad base64", "k1:***", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := FromEnv(tt.in)
			if tt.ids == "" {
				if err == nil {
					t.Fatalf("FromEnv = %v; want an error", k)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(k.KeyIDs(), ","); got != tt.ids {
				t.Fatalf("KeyIDs = %s; want %s", got, tt.ids)
			}
		})
	}
}

func TestKeyringStringHidesKeys(t *testing.T) {
	k := mustParse(t, "k1:"+b64key(0x41))
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k)} {
		if strings.Contains(s, "AAAA") || strings.Contains(s, "65 65") || strings.Contains(s, b64key(0x41)) {
			t.Fatalf("formatted keyring shows key material: %s", s)
		}
		if !strings.Contains(s, "k1") {
			t.Fatalf("formatted keyring does not name the active key: %s", s)
		}
	}
}

func TestLoadOrCreateCreatesPrivateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "secret.keys")
	k, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode = %04o; want 0600", perm)
	}
	di, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if perm := di.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("created key directory mode = %04o; want no group or other access", perm)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("key directory holds %d entries; want only the key file (temp file left behind?)", len(entries))
	}

	// A second load reads the same key rather than making a new one.
	again, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	ct, id, _ := k.Seal([]byte("s"), []byte("ad"))
	if _, err := again.Open(ct, id, []byte("ad")); err != nil {
		t.Fatalf("reloaded keyring cannot open what the first sealed: %v", err)
	}
}

func TestLoadOrCreateConcurrentStartsAgree(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret.keys")
	const n = 8
	ids := make([]string, n)
	rings := make([]*Keyring, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, err := LoadOrCreate(path)
			if err != nil {
				t.Error(err)
				return
			}
			rings[i], ids[i] = k, k.ActiveKeyID()
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	ct, id, _ := rings[0].Seal([]byte("s"), nil)
	for i, k := range rings {
		if _, err := k.Open(ct, id, nil); err != nil {
			t.Fatalf("starter %d has a different key: %v", i, err)
		}
	}
}

func TestLoadOrCreateRefusesLoosePermissions(t *testing.T) {
	for _, perm := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o606} {
		path := filepath.Join(t.TempDir(), "secret.keys")
		if err := os.WriteFile(path, Generate().Marshal(), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, perm); err != nil {
			t.Fatal(err)
		}
		_, err := LoadOrCreate(path)
		if err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("LoadOrCreate on a %04o file = %v; want a refusal naming the fix", perm, err)
		}
		if _, err := Rotate(path); err == nil {
			t.Errorf("Rotate on a %04o file succeeded; want a refusal", perm)
		}
	}
	// Read-only for the owner is fine.
	path := filepath.Join(t.TempDir(), "secret.keys")
	os.WriteFile(path, Generate().Marshal(), 0o400)
	if _, err := LoadOrCreate(path); err != nil {
		t.Errorf("LoadOrCreate on a 0400 file = %v; want success", err)
	}
}

func TestLoadOrCreateRejectsBadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secret.keys")
	os.WriteFile(path, []byte("k1:short\n"), 0o600)
	if _, err := LoadOrCreate(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("LoadOrCreate on a corrupt file = %v; want an error naming the file", err)
	}
	if _, err := LoadOrCreate(dir); err == nil {
		t.Error("LoadOrCreate on a directory succeeded")
	}
}

func TestRotate(t *testing.T) {
	defer func(old func() time.Time) { now = old }(now)
	now = func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }

	path := filepath.Join(t.TempDir(), "secret.keys")
	first, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	oldCT, oldID, _ := first.Seal([]byte("old secret"), []byte("u1|f1"))

	newID, err := Rotate(path)
	if err != nil {
		t.Fatal(err)
	}
	if newID == oldID {
		t.Fatalf("Rotate returned the old id %q", newID)
	}
	if !strings.HasPrefix(newID, "k20260301T120000Z") {
		t.Errorf("new key id = %q; want it based on the clock", newID)
	}
	// Rotating twice within a second still yields unique ids.
	newest, err := Rotate(path)
	if err != nil || newest == newID {
		t.Fatalf("second Rotate = %q, %v; want a new unique id", newest, err)
	}

	fi, _ := os.Stat(path)
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("rotated key file mode = %04o; want 0600", perm)
	}
	k, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(k.KeyIDs(), ","), newest+","+newID+","+oldID; got != want {
		t.Fatalf("KeyIDs after two rotations = %s; want %s", got, want)
	}
	if got, err := k.Open(oldCT, oldID, []byte("u1|f1")); err != nil || string(got) != "old secret" {
		t.Fatalf("old secret after rotation = %q, %v", got, err)
	}
	ct, id, _ := k.Seal([]byte("new secret"), []byte("u1|f2"))
	if id != newest {
		t.Fatalf("Seal after rotation used %q; want %q", id, newest)
	}
	if _, err := first.Open(ct, id, []byte("u1|f2")); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("pre-rotation keyring opening a new secret = %v; want ErrUnknownKey", err)
	}
	resealed, rid, err := k.Reseal(oldCT, oldID, []byte("u1|f1"))
	if err != nil || rid != newest {
		t.Fatalf("Reseal = %q, %v", rid, err)
	}
	if got, _ := k.Open(resealed, rid, []byte("u1|f1")); string(got) != "old secret" {
		t.Fatalf("resealed secret = %q", got)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("key directory holds %d entries after rotation; want 1", len(entries))
	}
}

func TestRotateMissingFile(t *testing.T) {
	if _, err := Rotate(filepath.Join(t.TempDir(), "none.keys")); err == nil {
		t.Fatal("Rotate on a missing file succeeded; want an error")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("k1:" + b64key(1)))
	f.Add([]byte("# c\nk2:" + b64key(2) + "\nk1:" + b64key(1) + "\n"))
	f.Add([]byte("k1:" + b64key(1) + "\nk1:" + b64key(2)))
	f.Add([]byte("k1:AAAA"))
	f.Add([]byte(":\n:\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := Parse(data)
		if err != nil {
			return
		}
		again, err := Parse(k.Marshal())
		if err != nil {
			t.Fatalf("Parse(Marshal()) failed: %v", err)
		}
		if !bytes.Equal(again.Marshal(), k.Marshal()) {
			t.Fatalf("Marshal does not round-trip")
		}
		ct, id, _ := k.Seal([]byte("x"), []byte("ad"))
		if got, err := again.Open(ct, id, []byte("ad")); err != nil || string(got) != "x" {
			t.Fatalf("re-parsed keyring cannot open: %v", err)
		}
	})
}
