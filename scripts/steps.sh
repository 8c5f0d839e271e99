# Sourced by toolchain.sh and controlplane.sh, which define `say` (progress on stderr) and `cache`.
# Runs one build step unless its output exists under $cache; the output appears only when the step
# finished, so an interrupted build resumes at the step it was in.
#   step <output under $cache> <what> <command...>
step() {
    local out=$1 what=$2
    shift 2
    if [ -e "$cache/$out" ]; then return 0; fi
    local start=$SECONDS
    say "$(date +%T) building $what ..."
    "$@"
    say "$(date +%T) built $what in $((SECONDS - start)) s"
}
