package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/normalize"
	"github.com/twofold-id/twofold/internal/store"
)

// importBatch is how many users one transaction of `user import` writes.
const importBatch = 1000

// importLine is one line of an import file.
type importLine struct {
	Org          string `json:"org"`
	Username     string `json:"username"`
	Email        string `json:"email"`
	Role         string `json:"role"`
	MFARequired  bool   `json:"mfa_required"`
	PasswordHash string `json:"password_hash"`
	TOTP         []struct {
		Secret string `json:"secret"`
		Label  string `json:"label"`
	} `json:"totp"`
}

// userImport reads JSON Lines of users with the credentials they already
// have and creates them. The whole file is checked first; bad lines are
// reported by number and nothing is written unless --partial is given.
// Users are then written in transactions of importBatch.
func userImport(ctx context.Context, env Env, args []string) error {
	fs, parse := flags("user import", env)
	file := fs.String("file", "-", "JSON Lines file of users (- for standard input)")
	org := fs.String("org", "", "org slug of lines that name none")
	partial := fs.Bool("partial", false, "import the good lines even when others are bad")
	cfg, err := parse(args)
	if err != nil {
		return err
	}
	var data []byte
	if *file == "-" {
		data, err = io.ReadAll(env.Stdin)
	} else {
		data, err = os.ReadFile(*file)
	}
	if err != nil {
		return err
	}
	a, sys, err := openAsOperator(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer a.Close()

	// Pass 1: parse and check every line (nothing is written).
	type entry struct {
		line int
		user admin.ImportUser
	}
	var (
		entries []entry
		bad     = map[int]string{}
		seen    = map[string]int{}
	)
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		var l importLine
		dec := json.NewDecoder(strings.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			bad[n] = "not a JSON object of the import format: " + err.Error()
			continue
		}
		if l.Org == "" {
			l.Org = *org
		}
		u := admin.ImportUser{OrgSlug: l.Org, Username: l.Username, Email: l.Email, Role: store.Role(l.Role),
			MFARequired: l.MFARequired, PasswordHash: l.PasswordHash}
		for _, t := range l.TOTP {
			u.TOTP = append(u.TOTP, admin.ImportTOTP{Secret: t.Secret, Label: t.Label})
		}
		if norm, err := normalize.Username(l.Username); err == nil {
			key := l.Org + "/" + norm
			if first, ok := seen[key]; ok {
				bad[n] = fmt.Sprintf("username: the same user as line %d", first)
				continue
			}
			seen[key] = n
		}
		entries = append(entries, entry{line: n, user: u})
	}
	if err := sc.Err(); err != nil {
		return err
	}
	for start := 0; start < len(entries); start += importBatch {
		chunk := entries[start:min(start+importBatch, len(entries))]
		users := make([]admin.ImportUser, len(chunk))
		for i, e := range chunk {
			users[i] = e.user
		}
		res, err := a.Admin.ImportUsers(ctx, sys, users, admin.ImportOptions{Partial: true, DryRun: true}, cliClient)
		if err != nil {
			return err
		}
		for _, p := range res.Problems {
			msg := p.Message
			if p.Field != "" {
				msg = p.Field + ": " + msg
			}
			bad[chunk[p.Index].line] = msg + " (" + p.Code + ")"
		}
	}
	if len(bad) > 0 {
		lines := make([]int, 0, len(bad))
		for n := range bad {
			lines = append(lines, n)
		}
		slices.Sort(lines)
		for _, n := range lines {
			fmt.Fprintf(env.Stderr, "line %d: %s\n", n, bad[n])
		}
		if !*partial {
			return fmt.Errorf("%d bad lines; nothing was imported (use --partial to import the good ones)", len(bad))
		}
	}

	// Pass 2: write the good entries.
	imported := 0
	for start := 0; start < len(entries); start += importBatch {
		var users []admin.ImportUser
		for _, e := range entries[start:min(start+importBatch, len(entries))] {
			if _, isBad := bad[e.line]; !isBad {
				users = append(users, e.user)
			}
		}
		if len(users) == 0 {
			continue
		}
		res, err := a.Admin.ImportUsers(ctx, sys, users, admin.ImportOptions{Partial: *partial}, cliClient)
		imported += len(res.Imported)
		if err != nil {
			if imported > 0 {
				return fmt.Errorf("after %d users were imported: %w", imported, err)
			}
			return err
		}
	}
	fmt.Fprintf(env.Stdout, "imported %d users", imported)
	if len(bad) > 0 {
		fmt.Fprintf(env.Stdout, "; skipped %d bad lines", len(bad))
	}
	fmt.Fprintln(env.Stdout)
	if imported == 0 && len(entries) > 0 {
		return errors.New("nothing was imported")
	}
	return nil
}
