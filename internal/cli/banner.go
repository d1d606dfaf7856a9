package cli

import (
	"path/filepath"
	"strings"
)

// selfCommand returns how to run this program again, for the commands the
// start-up banner suggests: "go run ./cmd/twofold" when arg0 (os.Args[0])
// is a binary `go run` built in a temporary go-build directory — such a
// user has no twofold command —, the path as invoked when it has one, and
// "twofold" for a command found on the PATH.
func selfCommand(arg0 string) string {
	p := strings.ReplaceAll(filepath.ToSlash(arg0), `\`, "/")
	if strings.Contains(p, "/go-build") && strings.Contains(p, "/exe/") {
		return "go run ./cmd/twofold"
	}
	if !strings.Contains(p, "/") {
		return "twofold"
	}
	return shellQuote(arg0)
}

// storeFlags returns the flags of args that choose the database and the
// keys, so a suggested command acts on the same data as the server. Secret
// values given as flags are not repeated; secret reports whether one was.
func storeFlags(args []string) (kept []string, secret bool) {
	keep := map[string]bool{"config": true, "data-dir": true, "key-file": true, "database-url-file": true, "secret-key-file": true}
	hidden := map[string]bool{"database-url": true, "secret-key": true}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "--" {
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !hasValue && i+1 < len(args) && (keep[name] || hidden[name]) {
			value = args[i+1]
			i++
		}
		switch {
		case keep[name]:
			kept = append(kept, "--"+name, shellQuote(value))
		case hidden[name]:
			secret = true
		}
	}
	return kept, secret
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@,+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
