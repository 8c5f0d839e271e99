#!/usr/bin/env bash
# Runs a command inside a network namespace of its own, as the lab needs (docs/testing.md, "The lab's
# network"): `unshare -rn` makes a user namespace (no root needed) with a new network namespace, whose
# loopback is brought up and given 10.244.0.1/24, the pod network kwok hands pod IPs from
# (demo/controlplane.ts `--cidr`). A /24 on lo makes every address in it local, so each pod's process
# binds its own pod IP. Nothing inside can reach any other network, and the namespace goes with the
# command's last process.
#   bash scripts/netns.sh <command> [args...]
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: scripts/netns.sh <command> [args...]" >&2; exit 2; }
if [ "${CANARY_NETNS:-}" = 1 ]; then exec "$@"; fi
command -v unshare >/dev/null || { echo "netns: unshare (util-linux) is not installed" >&2; exit 1; }
command -v ip >/dev/null || { echo "netns: ip (iproute2) is not installed" >&2; exit 1; }
exec unshare -rn bash -c 'ip link set lo up && ip addr add 10.244.0.1/24 dev lo && CANARY_NETNS=1 exec "$@"' netns "$@"
