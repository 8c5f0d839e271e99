#!/usr/bin/env bash
# `npm run try`: the gate on this machine in two minutes (demo/try.ts): no cluster. Runs on Node.js 22+
# (scripts/node22.sh), as `npm run demo` does; needs the `prometheus` server, which demo/live.ts
# `startLive` takes from scripts/prometheus.sh (built from its Go module once, then cached).
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$(bash scripts/node22.sh):$PATH"
export PATH
exec node node_modules/ts-node/dist/bin.js --transpile-only demo/try.ts "$@"
