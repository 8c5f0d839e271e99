# shellcheck shell=bash disable=SC2154 # `cache` is the sourcing script's
# Sourced by toolchain.sh, controlplane.sh and prometheus.sh, which define `say` (progress on stderr)
# and `cache`. Runs one build step unless its output exists under $cache; the output appears only when
# the step finished, so an interrupted build resumes at the step it was in. One progress line per step,
# with its time; what the step prints (the go tool's `go: downloading` lines, a compiler's errors) goes
# to its log, <cache>/logs/<output>.log, which is printed when the step fails.
#   step <output under $cache> <what> <command...>
step() {
    local out=$1 what=$2
    shift 2
    if [ -e "$cache/$out" ]; then return 0; fi
    local start=$SECONDS log=$cache/logs/${out//\//_}.log status
    mkdir -p "$cache/logs"
    # errexit holds inside the subshell only when it is not the condition of an `if` or `||`: hence
    # set +e around it rather than `if ! (...)`, so a failing command in the middle of a step stops it.
    set +e
    (set -e; "$@") >"$log" 2>&1 </dev/null
    status=$?
    set -e
    if [ "$status" -ne 0 ]; then
        say "$(date +%T) building $what FAILED after $((SECONDS - start)) s (exit $status); its log, $log, ends:"
        grep -v '^go: downloading ' "$log" | tail -n 60 >&2
        return "$status"
    fi
    say "$(date +%T) built $what in $((SECONDS - start)) s (log: $log)"
}
