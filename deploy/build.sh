#!/bin/sh
# Builds the twofold binary exactly as the container image does (see
# deploy/Dockerfile) and as CI does (.ci/run): static (CGO_ENABLED=0; the
# SQLite driver is pure Go), without local paths (-trimpath), with the
# version stamped in (twofold version, /healthz).
#
#   deploy/build.sh [OUTPUT]          # default ./twofold
#   TWOFOLD_VERSION=v1.2.3 deploy/build.sh /usr/local/bin/twofold
#
# The version is TWOFOLD_VERSION, else `git describe` of the checkout, else
# left to the Go build information ("devel+<commit>").
set -eu
cd "$(dirname "$0")/.."
out=${1:-./twofold}
version=${TWOFOLD_VERSION:-$(git describe --tags --always --dirty 2>/dev/null || true)}
ldflags="-s -w"
if [ -n "$version" ]; then
  ldflags="$ldflags -X github.com/twofold-id/twofold/internal/version.Version=$version"
fi
echo "building $out (version ${version:-from build info}, $(go env GOOS)/$(go env GOARCH))" >&2
CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out" ./cmd/twofold
