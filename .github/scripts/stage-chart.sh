#!/usr/bin/env bash
# The chart of a stage's decision, for the deploy's summary: the stage's AnalysisRun replayed look by
# look from the stack's Prometheus (`rollout replay`: each test's evidence against its boundaries, the
# decision marked), over the run's own window, at its weight and with the evidence it carried in (the
# run's `since`, `weight` and `carry` arguments), so the replay judges what the live judge judged.
# Writes into CHART_DIR: <stack>-w<weight>.svg (the chart), .json (the recording, to replay with
# `rollout replay --recording`) and .txt (the replay's report); with GITHUB_STEP_SUMMARY, the decision
# there. stage-up.sh runs it after the up and before a rollback, which deletes the run.
#
#   stage-chart.sh STACK RUN   with CHART_DIR and PROMETHEUS_URL (reachable from here)
#
# KUBECTL (default kubectl, which GitHub's Ubuntu runners have) and ROLLOUT (default
# "npm run -s rollout --") are the commands it runs.
set -euo pipefail
stack="$1"
run="$2"
: "${CHART_DIR:?the directory the chart goes to}"
: "${PROMETHEUS_URL:?the Prometheus of this stack, reachable from this runner (the repository variable PROMETHEUS_URL_<STACK>)}"
kubectl="${KUBECTL:-kubectl}"
read -r -a rollout <<< "${ROLLOUT:-npm run -s rollout --}"

# The run's arguments, a `name=value` line each (components/delivery/progressiveDelivery.ts: run,
# weight, carry, since; the token's has no value). By name across namespaces: the stack's namespace is
# its config's, and the name is the stage's alone.
args="$("$kubectl" get analysisruns.argoproj.io --all-namespaces --field-selector "metadata.name=$run" \
    -o jsonpath='{range .items[0].spec.args[*]}{.name}={.value}{"\n"}{end}')"
since="" weight="" carry=""
while IFS='=' read -r name value; do
    case "$name" in
        since) since="$value" ;;
        weight) weight="$value" ;;
        carry) carry="$value" ;;
    esac
done <<< "$args"
if [ -z "$since" ] || [[ ! "$weight" =~ ^[0-9]+$ ]]; then
    echo "stage-chart: the AnalysisRun $run has no since and weight arguments (kubectl said: ${args:-nothing})" >&2
    exit 1
fi

mkdir -p "$CHART_DIR"
chart="$CHART_DIR/$stack-w$weight"
replay=(replay --stack "$stack" --prometheus "$PROMETHEUS_URL" --from "$since" --weight "$weight" --record "$chart.json" --svg "$chart.svg")
if [ -n "$carry" ]; then replay+=(--carry "$carry"); fi
set +e
"${rollout[@]}" "${replay[@]}" > "$chart.txt" 2>&1
code=$?
set -e
# 0 PROMOTE, 1 ROLLBACK, 3 HOLD: a replayed decision; anything else is the replay's own failure.
if [ "$code" -ne 0 ] && [ "$code" -ne 1 ] && [ "$code" -ne 3 ]; then
    echo "stage-chart: rollout replay failed (exit $code): $(tail -n 3 "$chart.txt")" >&2
    exit "$code"
fi
decision="$(grep -m 1 '^decision: ' "$chart.txt" || true)"
echo "stage-chart: $stack at weight $weight, run $run: ${decision#decision: }: $chart.svg" >&2
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    printf '### %s at weight %s: run %s, replayed\n\n%s\n\n' "$stack" "$weight" "$run" "${decision#decision: }" >> "$GITHUB_STEP_SUMMARY"
fi
