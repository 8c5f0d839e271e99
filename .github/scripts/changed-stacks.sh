#!/usr/bin/env bash
# Which stacks a push to main must `pulumi up`, as a JSON array for a job matrix, in wave order: a
# stack after the one its `canary:promotion.stack` names (default dev; prod only runs what the stack
# before it promoted, so that one goes first when both change), stacks of no chain by name.
#
#   changed-stacks.sh --deployed HEAD   each stack against the commit last deployed to it (the tag
#                                       deployed/<stack> that stage-up.sh moves after a successful up)
#   changed-stacks.sh BASE HEAD         paths changed between two commits (git diff)
#   changed-stacks.sh                   paths changed, one per line, on stdin
#
# deploy.yml uses --deployed: a push whose deploy never ran (cancelled, or failed before its up) leaves
# its stacks' tags where they were, so the next push deploys them too; diffing against the previous
# push alone would drop them. A stack without a tag (never deployed by CI) counts as changed.
#
# A stack file changes only its stack; the program (code, lockfile, Pulumi.yaml, the policy pack)
# changes every stack; docs, tests, the demo app and CI files change none. The code is what the program
# imports (index.ts, program/, components/, stacks/, domain/) and what it bundles into the cluster at every
# `pulumi up`: the judge (rollout/judgeMain.ts: rollout/, domain/, lib/) and the load generator
# (rollout/loadMain.ts: rollout/, lib/). An unknown BASE (the first push of a branch, a force push)
# counts as a program change: every stack.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"

stacks=()
for f in "$root"/Pulumi.*.yaml; do
    [ -e "$f" ] || continue
    s="${f##*/Pulumi.}"
    s="${s%.yaml}"
    if [[ ! "$s" =~ ^[A-Za-z0-9_.-]+$ ]]; then
        printf 'changed-stacks: %q: a stack name may hold only letters, digits, "_", "." and "-"; rename the file\n' "${f##*/}" >&2
        exit 2
    fi
    stacks+=("$s")
done
# The stack a stack's file gates it on: `canary:promotion`'s `stack` (a block or a flow mapping), its
# last path segment; unset, dev (the schema's default); none for dev itself or a stack naming itself.
gate_of() {
    local s="$1" named
    named="$(awk '
        /^[[:space:]]*canary:promotion:[[:space:]]*\{/ { if (match($0, /stack:[[:space:]]*[^,}[:space:]]+/)) { v = substr($0, RSTART, RLENGTH); sub(/stack:[[:space:]]*/, "", v); print v; exit } }
        /^[[:space:]]*canary:promotion:[[:space:]]*$/ { inside = 1; indent = match($0, /[^[:space:]]/); next }
        inside && match($0, /[^[:space:]]/) <= indent { inside = 0 }
        inside && /^[[:space:]]+stack:/ { v = $0; sub(/^[[:space:]]+stack:[[:space:]]*/, "", v); sub(/[[:space:]]+#.*$/, "", v); print v; exit }
    ' "$root/Pulumi.$s.yaml" | tr -d "\"'")"
    named="${named##*/}"
        if [ -n "$named" ]; then [ "$named" != "$s" ] && echo "$named"; elif [ "$s" != dev ]; then echo dev; fi
    return 0
}

# Wave order: each round takes, by name, the stacks whose gate is taken already or is no stack here;
# a cycle (which the program refuses) takes the rest by name.
declare -A gate=() placed=()
for s in "${stacks[@]}"; do gate[$s]="$(gate_of "$s")"; done
ordered=()
while [ ${#ordered[@]} -lt ${#stacks[@]} ]; do
    round=()
    for s in "${stacks[@]}"; do
        [ -n "${placed[$s]:-}" ] && continue
        g="${gate[$s]}"
        if [ -z "$g" ] || [ -n "${placed[$g]:-}" ] || [ ! -f "$root/Pulumi.$g.yaml" ]; then round+=("$s"); fi
    done
    [ ${#round[@]} -eq 0 ] && for s in "${stacks[@]}"; do [ -z "${placed[$s]:-}" ] && round+=("$s"); done
    for s in "${round[@]}"; do placed[$s]=1; ordered+=("$s"); done
done

changed_paths() {
    if [ $# -eq 0 ]; then
        cat
    elif git -C "$root" cat-file -e "$1^{commit}" 2>/dev/null; then
        git -C "$root" diff --name-only "$1" "${2:-HEAD}"
    else
        echo index.ts
    fi
}

# Whether any path on stdin changes stack $1: its own file, or the program every stack runs.
touches() {
    local path
    while IFS= read -r path; do
        case "$path" in
            "Pulumi.$1.yaml" | Pulumi.yaml) return 0 ;;
            index.ts | package.json | package-lock.json | tsconfig.json | program/* | components/* | stacks/* | domain/* | lib/* | rollout/* | policy/*) return 0 ;;
        esac
    done
    return 1
}

out=()
if [ "${1:-}" = --deployed ]; then
    head="${2:?changed-stacks.sh --deployed HEAD}"
    for s in "${ordered[@]}"; do
        # An absent tag is an unknown base: changed_paths counts it as a program change.
        touches "$s" < <(changed_paths "refs/tags/deployed/$s" "$head") && out+=("$s")
    done
else
    paths="$(changed_paths "$@")"
    for s in "${ordered[@]}"; do touches "$s" <<< "$paths" && out+=("$s"); done
fi
# The names are checked above; jq quotes them anyway.
jq -cn '$ARGS.positional' --args "${out[@]}"
