#!/usr/bin/env bash
# `pulumi up` of one stack; when the update failed because the stage's analysis ended Failed (the
# judge found a regression), roll the stack back to weight 0 on its own (rollback.sh). A failure for
# any other reason, or an analysis that ended Inconclusive (HOLD: not enough evidence), rolls nothing
# back: HOLD never rolls back. Exits 0 only when the update itself succeeded.
#
# After a successful update the tag deployed/<stack> is moved to the commit it applied (pushed to
# origin): changed-stacks.sh --deployed diffs from there, so a push whose deploy never ran is
# deployed by the next one. A failed or rolled-back update leaves the tag where it was.
#
# With CHART_DIR, the stage's chart goes there (stage-chart.sh, with PROMETHEUS_URL): after the update,
# from the run it made, and before a rollback deletes that run. A chart that cannot be made is a
# warning, never the deploy's failure.
#
#   stage-up.sh STACK        with STACK_NAME (<org>/canary/<stack>) and MESSAGE (the update message)
#
# PULUMI (default pulumi) and ROLLOUT (default "npm run -s rollout --") are the commands it runs.
set -euo pipefail
# The policy pack as its executable analyzer (policy/analyzer): it runs under any CLI, the toolchain's
# too, whose language host cannot run a directory pack (docs/engine.md).
stack="$1"
: "${STACK_NAME:?the fully qualified stack name, <org>/canary/<stack>}"
pulumi="${PULUMI:-pulumi}"
here="$(cd "$(dirname "$0")" && pwd)"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
chart() {
    if [ -z "${CHART_DIR:-}" ] || [ -z "$1" ]; then return 0; fi
    bash "$here/stage-chart.sh" "$stack" "$1" || echo "::warning::stage-up: no chart of $stack's stage (run $1)" >&2
}
if "$pulumi" up --yes --stack "$STACK_NAME" --policy-pack policy/analyzer --diff --message "${MESSAGE:-$stack}" 2>&1 | tee "$log"; then
    # The update is applied whatever happens here; an unmoved tag only makes the next deploy redo it.
    if ! git push --quiet --force origin "HEAD:refs/tags/deployed/$stack"; then
        echo "::warning::stage-up: $stack is updated, but the tag deployed/$stack could not be pushed: the next deploy updates $stack again" >&2
    fi
    # The run the stage passed on (the stack's stageRun output, {"name": ..., "since": ...}); none at weight 0.
    if [ -n "${CHART_DIR:-}" ]; then
        chart "$("$pulumi" stack output stageRun --json --stack "$STACK_NAME" 2> /dev/null | grep -o '"name": *"[a-z0-9.-]*"' | sed 's/.*"\([^"]*\)"$/\1/' || true)"
    fi
    exit 0
fi
# The run the program's message names (runVerdict), whatever it ended: its chart before anything deletes it.
chart "$(grep -o "the stage's analysis [a-z0-9.-]* ended" "$log" | head -n 1 | cut -d ' ' -f 4 || true)"
# The program's own words for a failed run (components/delivery/analysis.ts, runVerdict), up to its advice.
reasons="$(grep -o "the stage's analysis [^ ]* ended Failed.*" "$log" | head -n 1 | sed "s/ The stage's weights are applied.*//" || true)"
if [ -z "$reasons" ]; then
    echo "stage-up: the update of $stack failed, but not on a failed analysis (an Inconclusive run holds, other errors need a person): nothing rolled back" >&2
    exit 1
fi
echo "stage-up: $reasons" >&2
bash "$here/rollback.sh" "$stack" "$reasons"
# The stage failed even though the rollback succeeded: the run stays red.
exit 1
