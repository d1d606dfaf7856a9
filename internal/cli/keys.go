package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/directory"
	"github.com/twofold-id/twofold/internal/secretbox"
	"github.com/twofold-id/twofold/internal/store"
)

func keysInit(ctx context.Context, env Env, args []string) error {
	_, parse := flags("keys init", env)
	cfg, err := parse(args)
	if err != nil {
		return err
	}
	path := cfg.KeyFilePath()
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s exists already; use `twofold keys rotate` to add a new key", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	k, err := secretbox.LoadOrCreate(path)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "created %s with key %s (mode 0600); give every instance this file\n", path, k.ActiveKeyID())
	return nil
}

// keysRotate makes a new key active in the key file and re-encrypts every
// stored secret under it: factor secrets, directory bind passwords and the
// OpenID Connect signing keys. Running servers keep working: they read the key
// file again when they meet a secret under a key id they do not know, and
// old keys stay in the file until removed by hand.
func keysRotate(ctx context.Context, env Env, args []string) error {
	_, parse := flags("keys rotate", env)
	cfg, err := parse(args)
	if err != nil {
		return err
	}
	if cfg.SecretKey != "" {
		return errors.New("keys come from TWOFOLD_SECRET_KEY: put a new keyid:base64 line first in it on every instance, restart them, then run `twofold keys rotate` with --key-file unset to re-encrypt")
	}
	id, err := secretbox.Rotate(cfg.KeyFilePath())
	if err != nil {
		return err
	}
	a, err := open(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	n, err := a.Signin.ResealSecrets(ctx, a.Keys)
	if err == nil {
		var m int
		m, err = resealDirectories(ctx, a.Store, a.Keys)
		n += m
	}
	if err == nil {
		var m int
		m, err = a.SigningKeys().Reseal(ctx, a.Keys)
		n += m
	}
	if err != nil {
		return fmt.Errorf("new key %s is active, but re-encryption stopped after %d secrets: %w (run `twofold keys rotate` again later)", id, n, err)
	}
	a.Audit.Record(ctx, store.AuditEvent{Event: audit.KeysRotated, Outcome: audit.Success, IP: cliClient.IP, UserAgent: cliClient.UserAgent,
		Detail: fmt.Sprintf("active key %s, %d secrets re-encrypted", id, n)})
	fmt.Fprintf(env.Stdout, "active key is now %s; %d secrets re-encrypted\n", id, n)
	return nil
}

// resealDirectories re-encrypts the bind passwords of org directories not
// under the active key.
func resealDirectories(ctx context.Context, st store.Store, keys *secretbox.Keyring) (int, error) {
	orgs, err := st.ListOrgs(ctx, "")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, o := range orgs {
		d, err := st.GetDirectory(ctx, o.ID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && d.KeyID == keys.ActiveKeyID()) {
			continue
		}
		if err != nil {
			return n, err
		}
		if d.BindPassword, d.KeyID, err = keys.Reseal(d.BindPassword, d.KeyID, directory.BindPasswordAD(o.ID)); err != nil {
			return n, fmt.Errorf("directory of org %s: %w", o.Slug, err)
		}
		d.UpdatedAt = time.Now()
		if _, err := st.PutDirectory(ctx, d); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// backupDB copies the SQLite database with VACUUM INTO, which gives a
// consistent copy while the server keeps running.
func backupDB(ctx context.Context, env Env, args []string) error {
	fs, parse := flags("backup", env)
	out := fs.String("out", "", "file to write (must not exist)")
	cfg, err := parse(args)
	if err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out is required")
	}
	if cfg.DatabaseURL != "" {
		return errors.New("this backs up the embedded SQLite database; back up PostgreSQL with pg_dump")
	}
	if _, err := os.Stat(*out); err == nil {
		return fmt.Errorf("%s exists already", *out)
	}
	a, err := open(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	b, ok := a.Store.(interface {
		Backup(ctx context.Context, path string) error
	})
	if !ok {
		return errors.New("this store cannot back itself up")
	}
	if err := b.Backup(ctx, *out); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "wrote %s\n", *out)
	return nil
}
