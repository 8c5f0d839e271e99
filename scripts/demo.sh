#!/usr/bin/env bash
# `npm run demo`: builds what the demo needs (cached outside the repository, seconds once built: the
# Pulumi toolchain, the local control plane, Traefik, and Prometheus with Alertmanager at the chart's
# versions, from Go modules, a progress line per build step with its time), then runs it on Node.js 22+
# (demo/main.ts) inside a network namespace of its own (scripts/netns.sh). Needs Go 1.26, `openssl`,
# and `unshare` and `ip` (util-linux, iproute2).
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
for tool in go openssl unshare ip; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
    echo "demo: missing ${missing[*]}: install Go 1.26 (https://go.dev/doc/install) and \`apt-get install openssl util-linux iproute2\`" >&2
    exit 2
fi
PATH="$(bash scripts/node22.sh):$PATH"
export PATH
start=$SECONDS
echo "demo: building the Pulumi toolchain (scripts/toolchain.sh; about 10 minutes the first time)" >&2
bash scripts/toolchain.sh >/dev/null
echo "demo: building the local control plane (scripts/controlplane.sh; about 8 minutes the first time)" >&2
bash scripts/controlplane.sh >/dev/null
echo "demo: building the Gateway's data plane (scripts/gateway.sh: Traefik; about 5 minutes the first time)" >&2
bash scripts/gateway.sh >/dev/null
echo "demo: building Prometheus and Alertmanager (scripts/prometheus.sh; about 5 minutes the first time)" >&2
# demo/live.ts runs it again (seconds when built) and puts its bin dir first on PATH.
bash scripts/prometheus.sh >/dev/null
echo "demo: built in $((SECONDS - start)) s" >&2
# The lab runs in a network namespace of its own (scripts/netns.sh): each pod's process on its own pod IP.
exec bash scripts/netns.sh node node_modules/ts-node/dist/bin.js --transpile-only demo/main.ts
