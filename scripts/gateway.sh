#!/usr/bin/env bash
# The lab's Gateway API data plane, printed as a bin dir (last line of stdout; progress goes to stderr):
# Traefik v3.6.12 built from Go modules the proxy serves, pinned by the wrapper module tools/traefik
# (its go.mod and go.sum). v3.6.12, not the newest: v3.7's nested module
# github.com/traefik/traefik/dynamic/ext is not served, nor several of lego's DNS SDKs at the versions
# v3.7 pins. The wrapper repeats Traefik's own `replace` block (a dependency's replaces do not apply to
# the main module). Built once into a cache outside the repository keyed by the version and the
# wrapper's sums (about 5 minutes on a new 2-core machine, seconds after); the go tool's output goes to the
# step's log, printed when the step fails.
#   bin=$(bash scripts/gateway.sh | tail -n 1)
set -euo pipefail
cd "$(dirname "$0")/.."

TRAEFIK_VERSION=3.6.12

say() { echo "gateway: $*" >&2; }

command -v go >/dev/null || { say "go is not installed: Traefik is built with it (Go 1.26: tools/traefik/go.mod)"; exit 1; }
sums=$(cat tools/traefik/go.mod tools/traefik/go.sum | sha256sum | cut -c1-12)
cache="${CANARY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/canary}/gateway/traefik-$TRAEFIK_VERSION-$sums"
bin=$cache/bin
mkdir -p "$bin"
export CGO_ENABLED=0

# shellcheck source=scripts/steps.sh
. scripts/steps.sh

build_traefik() {
    local log=$cache/build.log
    if ! (cd tools/traefik && go build -mod=readonly -o "$bin/.traefik.tmp" \
        -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=v$TRAEFIK_VERSION" \
        github.com/traefik/traefik/v3/cmd/traefik) >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        return 1
    fi
    mv "$bin/.traefik.tmp" "$bin/traefik"
}

step bin/traefik "traefik v$TRAEFIK_VERSION" build_traefik
echo "$bin"
