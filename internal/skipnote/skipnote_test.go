package skipnote

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestANoteIsPrintedOncePerRun(t *testing.T) {
	key := fmt.Sprintf("test-%d", time.Now().UnixNano())
	marker := filepath.Join(os.TempDir(), fmt.Sprintf("twofold-skipnote-%d-%s", os.Getppid(), key))
	t.Cleanup(func() { os.Remove(marker) })
	if !firstInRun(key) {
		t.Fatal("the first binary of a run may not print")
	}
	if firstInRun(key) {
		t.Fatal("a second binary of the same run prints again")
	}
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(marker, old, old)
	if !firstInRun(key) {
		t.Fatal("a stale marker of an earlier run silences this one")
	}
}
