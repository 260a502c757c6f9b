#!/usr/bin/env bash
# Builds Ory Hydra from the Go module proxy into $1 (the binary path), once.
#
# `go install github.com/ory/hydra/v2@VERSION` refuses (its go.mod has replace directives), and
# the downloaded module does not build as is: one replace points to a nested module
# (hydra-client-go) that the module zip does not contain. So: download, copy out of the module
# cache (read-only there), drop that replace and let -mod=mod resolve it from the proxy.
set -euo pipefail
out=${1:?usage: build_hydra.sh OUTPUT_BINARY [VERSION]}
version=${2:-v2.3.0}
[ -x "$out" ] && exit 0
out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"

module=github.com/ory/hydra/v2
go mod download "$module@$version"
src="$(go env GOMODCACHE)/github.com/ory/hydra/v2@$version"
work="$(dirname "$out")/hydra-src-$version"
rm -rf "$work"
cp -r "$src" "$work"
chmod -R u+w "$work"
cd "$work"
go mod edit -dropreplace github.com/ory/hydra-client-go/v2
# Two cores shared with other jobs: -p 1 keeps the build from starving them.
GOFLAGS=-mod=mod go build -p "${HYDRA_BUILD_JOBS:-1}" -tags sqlite,sqlite_omit_load_extension \
    -ldflags "-X github.com/ory/hydra/v2/driver/config.Version=$version" -o "$out.tmp" .
mv "$out.tmp" "$out"
cd / && rm -rf "$work"
"$out" version | head -3
