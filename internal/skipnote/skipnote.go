// Package skipnote tells the person running `go test ./...` that tests were
// skipped for want of PostgreSQL or a browser, and how to run them.
//
// `go test` shows nothing of a passing package but its "ok" line, so a
// t.Skip message is seen only with -v. Print therefore writes its line to
// the terminal (/dev/tty) when there is one, and to standard error
// otherwise (shown with -v or when the package fails). It writes each note
// once per `go test` run, not once per package: the packages' test binaries
// share the go command as their parent, which names a marker file.
package skipnote

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

var printed sync.Map // key → true, within this process

// Print writes line once per `go test` run for key (e.g. "postgres").
func Print(key, line string) {
	if _, done := printed.LoadOrStore(key, true); done {
		return
	}
	if !firstInRun(key) {
		return
	}
	var w io.Writer = os.Stderr
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		w = tty
	}
	fmt.Fprintln(w, line)
}

// firstInRun reports whether no other test binary of this `go test` run
// printed the note for key yet. A marker older than an hour belongs to an
// earlier run whose go command had the same process id.
func firstInRun(key string) bool {
	marker := filepath.Join(os.TempDir(), fmt.Sprintf("twofold-skipnote-%d-%s", os.Getppid(), key))
	f, err := os.OpenFile(marker, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err == nil {
		f.Close()
		return true
	}
	if fi, serr := os.Stat(marker); serr == nil && time.Since(fi.ModTime()) > time.Hour {
		now := time.Now()
		os.Chtimes(marker, now, now)
		return true
	}
	return false
}
