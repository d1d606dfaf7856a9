// Package version tells which build of Twofold is running: the version set
// at link time, or what the Go toolchain recorded in the binary.
package version

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// Version is the release version, set at link time by deploy/build.sh:
//
//	go build -ldflags "-X github.com/twofold-id/twofold/internal/version.Version=v1.2.3" ./cmd/twofold
//
// When it is empty, String falls back to the build information.
var Version = ""

// Info describes one build.
type Info struct {
	Version    string `json:"version"`               // v1.2.3, or "devel"
	Commit     string `json:"commit,omitempty"`      // VCS revision, when built from a checkout
	CommitTime string `json:"commit_time,omitempty"` // RFC 3339
	Modified   bool   `json:"modified,omitempty"`    // the checkout had uncommitted changes
	GoVersion  string `json:"go_version"`
}

// Get returns the Info of the running binary. The version is, in order:
// Version when set at link time; the main module's version when the
// binary was built by `go install module@version` (or, since Go 1.24, by
// `go build` in a tagged checkout); "devel" otherwise.
func Get() Info {
	info := Info{Version: Version, GoVersion: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		if info.Version == "" {
			info.Version = "devel"
		}
		return info
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Commit = s.Value
		case "vcs.time":
			info.CommitTime = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	if info.Version == "" {
		info.Version = bi.Main.Version
	}
	if info.Version == "" || info.Version == "(devel)" {
		info.Version = "devel"
	}
	return info
}

// String returns the version in one word, e.g. "v1.2.3" or
// "devel+3f2c1a9b0d1e" (with "-dirty" for uncommitted changes).
func String() string {
	i := Get()
	if i.Version != "devel" || i.Commit == "" {
		return i.Version
	}
	s := "devel+" + i.Commit[:min(12, len(i.Commit))]
	if i.Modified {
		s += "-dirty"
	}
	return s
}

// Long returns a line for `twofold version`, e.g.
// "twofold v1.2.3 (commit 3f2c1a9b0d1e, 2026-03-01T10:00:00Z, go1.26.8)".
func Long() string {
	i := Get()
	var parts []string
	if i.Commit != "" {
		c := "commit " + i.Commit[:min(12, len(i.Commit))]
		if i.Modified {
			c += " with uncommitted changes"
		}
		parts = append(parts, c)
	}
	if i.CommitTime != "" {
		parts = append(parts, i.CommitTime)
	}
	parts = append(parts, i.GoVersion)
	return "twofold " + String() + " (" + strings.Join(parts, ", ") + ")"
}
