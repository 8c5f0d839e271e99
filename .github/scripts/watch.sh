#!/usr/bin/env bash
# Between stages: judge a stack whose canary has weighted traffic, and roll it back on ROLLBACK.
# PROMOTE and HOLD change nothing (advancing is a person's pull request; HOLD never rolls back).
#
#   watch.sh STACK   with STACK_NAME (<org>/canary/<stack>) and PROMETHEUS_URL (reachable from here)
#
# ROLLOUT (default "npm run -s rollout --") is the command it runs.
set -euo pipefail
stack="$1"
: "${PROMETHEUS_URL:?the Prometheus of this stack, reachable from this runner}"
read -r -a rollout <<< "${ROLLOUT:-npm run -s rollout --}"
here="$(cd "$(dirname "$0")" && pwd)"
# A value from the JSON on stdin: `field 'v.stage'` (Node, which the runner has for the program).
field() { node -e 'const v = JSON.parse(require("fs").readFileSync(0, "utf8")); process.stdout.write(String(new Function("v", `return ${process.argv[1]}`)(v)))' "$1"; }

weight="$("${rollout[@]}" status --stack "$stack" --json | field 'v.stage')"
if [ "$weight" = 0 ]; then
    echo "watch: $stack is at weight 0: nothing to judge" >&2
    exit 0
fi
set +e
verdict="$("${rollout[@]}" analyze --stack "$stack" --prometheus "$PROMETHEUS_URL" --json)"
code=$?
set -e
if [ "$code" -gt 1 ] && [ "$code" -ne 3 ]; then
    echo "watch: analyze failed (exit $code): $verdict" >&2
    exit "$code"
fi
decision="$(field 'v.decision' <<< "$verdict")"
reasons="$(field 'v.reasons.join("; ")' <<< "$verdict")"
case "$code" in
    0 | 3)
        echo "watch: $stack at weight $weight: $decision: nothing to do" >&2
        exit 0
        ;;
    1)
        bash "$here/rollback.sh" "$stack" "the judge answered ROLLBACK at weight $weight: $reasons"
        ;;
esac
