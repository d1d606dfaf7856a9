package secretbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// now is the clock used to name new keys; tests replace it.
var now = time.Now

// LoadOrCreate reads the keyring in the key file at path. If the file does
// not exist, it generates a keyring with one key and writes it there first:
// the parent directory is created with mode 0700 if missing, and the file
// appears atomically with mode 0600 (when several processes start at once,
// exactly one creates the file and all of them use its key).
//
// An existing key file must not be accessible to group or others (mode 0600
// or 0400): LoadOrCreate refuses a looser file with an error that names the
// file and the fix, rather than use keys others may have read. (On Windows,
// where Go reports no such modes, the check is skipped.)
func LoadOrCreate(path string) (*Keyring, error) {
	k, err := load(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("secretbox: create key directory: %w", err)
	}
	k = Generate()
	created, err := writeFileAtomic(path, k.Marshal(), false)
	if err != nil {
		return nil, err
	}
	if !created { // another process created it first: use its keys
		return load(path)
	}
	return k, nil
}

// Rotate generates a new key in the key file at path and makes it the active
// key (the first line), keeping every older key after it, and writes the file
// atomically with mode 0600. It returns the new key's id. The file must exist
// and pass the same permission check as LoadOrCreate.
//
// Running servers keep sealing with the key they loaded until restarted, which
// is harmless because the old key stays in the file. Moving stored secrets to
// the new key is the caller's job (see Keyring.Reseal); an old key may be
// deleted from the file only when no stored secret names it any more. Rotate
// must not run concurrently with itself on the same file.
func Rotate(path string) (newKeyID string, err error) {
	k, err := load(path)
	if err != nil {
		return "", err
	}
	rotated, err := k.withNewActive(now())
	if err != nil {
		return "", err
	}
	if _, err := writeFileAtomic(path, rotated.Marshal(), true); err != nil {
		return "", err
	}
	return rotated.ActiveKeyID(), nil
}

// load reads and parses the key file at path after checking its permissions.
// A missing file yields an error matching fs.ErrNotExist.
func load(path string) (*Keyring, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("secretbox: key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("secretbox: key file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("secretbox: key file %s has mode %04o, readable or writable by group or others; "+
			"its keys may have leaked. Restrict it (chmod 600 %s) and consider rotating the keys", path, perm, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secretbox: key file: %w", err)
	}
	k, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return k, nil
}

// writeFileAtomic writes data to a temporary file with mode 0600 in path's
// directory, syncs it, and then moves it to path, so that readers see either
// the old file or the whole new one. With replace, an existing file is
// replaced (rename). Without it, an existing file is left alone and created
// is false (hard link, which fails if path exists).
func writeFileAtomic(path string, data []byte, replace bool) (created bool, err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return false, fmt.Errorf("secretbox: write key file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after rename or link, removes nothing or the spare link
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return false, fmt.Errorf("secretbox: write key file: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return false, fmt.Errorf("secretbox: write key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return false, fmt.Errorf("secretbox: write key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return false, fmt.Errorf("secretbox: write key file: %w", err)
	}
	if replace {
		err = os.Rename(tmp, path)
	} else {
		err = os.Link(tmp, path)
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
	}
	if err != nil {
		return false, fmt.Errorf("secretbox: write key file: %w", err)
	}
	syncDir(dir)
	return true, nil
}

// syncDir makes a rename or link in dir durable. It is best effort: some
// systems cannot sync a directory, and the file itself is already synced.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
