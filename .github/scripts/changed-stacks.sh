#!/usr/bin/env bash
# Which stacks a push to main must `pulumi up`, as a JSON array for a job matrix, dev first (prod
# only runs what dev promoted, so dev goes first when both change).
#
#   changed-stacks.sh BASE HEAD   paths changed between two commits (git diff)
#   changed-stacks.sh             paths changed, one per line, on stdin
#
# A stack file changes only its stack; the program (code, lockfile, Pulumi.yaml, the policy pack)
# changes every stack; docs, tests, the demo app and CI files change none. The code is what the program
# imports (index.ts, components/, stacks/, domain/) and what it bundles into the cluster at every
# `pulumi up`: the judge (rollout/judgeMain.ts: rollout/, domain/, lib/) and the load generator
# (rollout/loadMain.ts: rollout/, lib/). An unknown BASE (the first push of a branch, a force push)
# counts as a program change: every stack.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"

stacks=()
for f in "$root"/Pulumi.*.yaml; do
    s="${f##*/Pulumi.}"
    stacks+=("${s%.yaml}")
done
ordered=()
for s in "${stacks[@]}"; do [ "$s" = dev ] && ordered+=("$s"); done
for s in "${stacks[@]}"; do [ "$s" != dev ] && ordered+=("$s"); done

changed_paths() {
    if [ $# -eq 0 ]; then
        cat
    elif git -C "$root" cat-file -e "$1^{commit}" 2>/dev/null; then
        git -C "$root" diff --name-only "$1" "${2:-HEAD}"
    else
        echo index.ts
    fi
}

declare -A hit=()
while IFS= read -r path; do
    case "$path" in
        Pulumi.yaml) for s in "${ordered[@]}"; do hit[$s]=1; done ;;
        Pulumi.*.yaml) s="${path#Pulumi.}"; hit[${s%.yaml}]=1 ;;
        index.ts | package.json | package-lock.json | tsconfig.json | components/* | stacks/* | domain/* | lib/* | rollout/* | policy/*)
            for s in "${ordered[@]}"; do hit[$s]=1; done ;;
    esac
done < <(changed_paths "$@")

out=()
for s in "${ordered[@]}"; do [ -n "${hit[$s]:-}" ] && out+=("\"$s\""); done
(IFS=,; echo "[${out[*]}]")
