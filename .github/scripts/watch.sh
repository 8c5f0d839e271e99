#!/usr/bin/env bash
# Between stages: judge a stack whose canary has weighted traffic, and roll it back on ROLLBACK.
# PROMOTE and HOLD change nothing (advancing is a person's pull request; HOLD never rolls back).
#
#   watch.sh STACK   with STACK_NAME (<org>/canary/<stack>) and PROMETHEUS_URL (reachable from here)
#
# The watch runs in deploy's concurrency group for the stack, so no CI update of it runs meanwhile. An
# update in progress all the same is a person's (not judged now: exit 0) or, once it has run longer
# than STUCK_AFTER_MINUTES (default 150, deploy.yml's timeout for an up), one whose CLI died and left
# the stack locked: that fails the watch, naming the stack, since no rollback could run on it.
#
# PULUMI (default pulumi) and ROLLOUT (default "npm run -s rollout --") are the commands it runs.
set -euo pipefail
stack="$1"
: "${STACK_NAME:?the fully qualified stack name, <org>/canary/<stack>}"
: "${PROMETHEUS_URL:?the Prometheus of this stack, reachable from this runner}"
pulumi="${PULUMI:-pulumi}"
read -r -a rollout <<< "${ROLLOUT:-npm run -s rollout --}"
here="$(cd "$(dirname "$0")" && pwd)"
# A value from the JSON on stdin: `field 'v.stage'` (Node, which the runner has for the program).
# shellcheck disable=SC2016 # JavaScript, not shell, in single quotes here and in field's arguments
field() { node -e 'const v = JSON.parse(require("fs").readFileSync(0, "utf8")); process.stdout.write(String(new Function("v", `return ${process.argv[1]}`)(v)))' "$1"; }

stuck_after="${STUCK_AFTER_MINUTES:-150}"
if [[ ! "$stuck_after" =~ ^[0-9]+$ ]]; then
    echo "watch: STUCK_AFTER_MINUTES must be a whole number of minutes, not '$stuck_after'" >&2
    exit 2
fi

# The stack's latest update; "in-progress" while one runs (the Automation API's UpdateResult), with
# its startTime in RFC 3339 (pulumi/pulumi pkg/cmd/pulumi/stack/stack_history.go, updateInfoJSON).
last="$("$pulumi" stack history --stack "$STACK_NAME" --json --page-size 1 --page 1)"
# shellcheck disable=SC2016
running="$(field 'v.length > 0 && v[0].result === "in-progress" ? `${v[0].startTime} ${Math.floor((Date.now() - Date.parse(v[0].startTime)) / 60000)}` : ""' <<< "$last")"
if [ -n "$running" ]; then
    started="${running% *}"
    minutes="${running##* }"
    if [ "$minutes" = NaN ] || [ "$minutes" -ge "$stuck_after" ]; then
        echo "watch: $stack is stuck: an update of $STACK_NAME has been in progress since $started (${minutes} minutes, the bound is $stuck_after): not judged, and no rollback can run; check its update log, then \`pulumi cancel --stack $STACK_NAME\`" >&2
        exit 1
    fi
    echo "watch: an update of $STACK_NAME is in progress (since $started): not judged now" >&2
    exit 0
fi

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
