#!/usr/bin/env bash
# Rolls one stack back to weight 0 without a person: writes canary:weight 0 into its stack file
# (`rollout rollback`), applies it (`pulumi up`), and only then commits the file to main with the
# judge's reasons, so git says what runs. The caller holds the stack's concurrency group, so no other
# update of this stack runs meanwhile; commits to the branch still can (a stage PR merged during the
# analysis). So each of 3 attempts starts from the branch as origin has it now (fetch, reset) and
# re-applies the change there (`rollout rollback` again): nothing to rebase, no conflict to get stuck
# in. A branch that already says weight 0 needs no commit.
#
#   rollback.sh STACK REASONS   with STACK_NAME (<org>/canary/<stack>)
#
# PULUMI (default pulumi) and ROLLOUT (default "npm run -s rollout --") are the commands it runs;
# BRANCH (default main) is where the commit goes.
set -euo pipefail
# The policy pack as its executable analyzer (policy/analyzer): it runs under any CLI, the toolchain's
# too, whose language host cannot run a directory pack (docs/engine.md).
stack="$1"
reasons="$2"
: "${STACK_NAME:?the fully qualified stack name, <org>/canary/<stack>}"
pulumi="${PULUMI:-pulumi}"
read -r -a rollout <<< "${ROLLOUT:-npm run -s rollout --}"
branch="${BRANCH:-main}"
file="Pulumi.$stack.yaml"

"${rollout[@]}" rollback --stack "$stack"
if ! "$pulumi" up --yes --stack "$STACK_NAME" --policy-pack policy/analyzer --message "automatic rollback of $stack: $reasons"; then
    echo "rollback: the rollback update of $stack failed; $file says weight 0 but is not committed: a person must look" >&2
    exit 1
fi
for attempt in 1 2 3; do
    [ "$attempt" -gt 1 ] && sleep $(((attempt - 1) * 5))
    if ! { git fetch --quiet origin "$branch" && git reset --quiet --hard FETCH_HEAD; }; then continue; fi
    if ! written=$("${rollout[@]}" rollback --stack "$stack" --json); then
        echo "rollback: $stack is at weight 0, but its rollback cannot be written onto $branch's $file: a person must look" >&2
        exit 1
    fi
    # At weight 0 already, `rollout rollback` writes nothing and says so (no edits).
    if jq -e '.edits | length == 0' <<< "$written" > /dev/null; then
        echo "rollback: $stack is at weight 0, and $branch already says so" >&2
        exit 0
    fi
    git add "$file"
    git -c user.name="canary-rollback" -c user.email="canary-rollback@users.noreply.github.com" \
        commit --quiet -m "$stack: automatic rollback to weight 0" -m "$reasons"
    if git push --quiet origin "HEAD:$branch"; then
        echo "rollback: $stack is at weight 0, committed to $branch" >&2
        exit 0
    fi
done
echo "rollback: $stack is at weight 0 but the commit could not be pushed to $branch" >&2
exit 1
