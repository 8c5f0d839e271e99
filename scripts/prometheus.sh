#!/usr/bin/env bash
# Prometheus, promtool, Alertmanager and amtool at the versions the pinned kube-prometheus-stack deploys,
# printed as a bin dir (last line of stdout; progress goes to stderr). The unit lane (test/hooks.ts), the
# demo and the cluster lane put it first on PATH, so that the rules, queries and Alertmanager config are
# tested against the servers the chart runs, never a distribution's older package.
#   - Prometheus v3.7.3:   kube-prometheus-stack 79.5.0's prometheus.prometheusSpec.image.tag
#                          (charts/kube-prometheus-stack/values.yaml in prometheus-community/helm-charts at
#                          the tag kube-prometheus-stack-79.5.0). The module's versions are v0.3XX.Y for
#                          v3.XX.Y: github.com/prometheus/prometheus v0.307.3, cmd/prometheus and
#                          cmd/promtool (tools/prometheus).
#   - Alertmanager v0.29.0: the same values.yaml's alertmanager.alertmanagerSpec.image.tag:
#                          github.com/prometheus/alertmanager v0.29.0, cmd/alertmanager and cmd/amtool
#                          (tools/alertmanager).
# Built as their .promu.yml builds them (the netgo tag, the version linked into
# github.com/prometheus/common/version), except Prometheus's `builtinassets` tag: the module holds the web
# UI's sources, not the built web/ui/static that tag embeds, so this Prometheus serves its HTTP API but
# not its React UI. Alertmanager's UI is generated Go code in its module (asset/assets_vfsdata.go) and is
# built in.
# Built once into a cache outside the repository keyed by the versions and the wrapper modules' sums, so
# a second run takes well under a second; each binary is checked to report its pinned version.
#   bin=$(bash scripts/prometheus.sh | tail -n 1)
set -euo pipefail
cd "$(dirname "$0")/.."

# Bump with components/platform/versions.ts's kubePrometheusStack pin (test/prometheusTools.test.ts checks
# that the pin is the one these were read from).
CHART_VERSION=79.5.0
PROMETHEUS_VERSION=3.7.3
ALERTMANAGER_VERSION=0.29.0

say() { echo "prometheus: $*" >&2; }

command -v go >/dev/null || { say "go is not installed: Prometheus and Alertmanager are built with it (Go 1.26: tools/prometheus/go.mod)"; exit 1; }
sums=$(cat tools/prometheus/go.mod tools/prometheus/go.sum tools/alertmanager/go.mod tools/alertmanager/go.sum | sha256sum | cut -c1-12)
cache="${CANARY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/canary}/prometheus/prometheus-$PROMETHEUS_VERSION-alertmanager-$ALERTMANAGER_VERSION-$sums"
bin=$cache/bin
mkdir -p "$bin"
export CGO_ENABLED=0

# shellcheck source=scripts/steps.sh
. scripts/steps.sh

# go build in a wrapper module: build <wrapper> <binary> <package> <version>
build() {
    local wrapper=$1 name=$2 pkg=$3 version=$4
    (cd "tools/$wrapper" && go build -mod=readonly -tags netgo -o "$bin/.$name.tmp" \
        -ldflags "-s -w -X github.com/prometheus/common/version.Version=$version" "$pkg")
    mv "$bin/.$name.tmp" "$bin/$name"
}

total=$SECONDS
if ! [ -e "$bin/prometheus" ] || ! [ -e "$bin/promtool" ] || ! [ -e "$bin/alertmanager" ] || ! [ -e "$bin/amtool" ]; then
    say "building Prometheus v$PROMETHEUS_VERSION and Alertmanager v$ALERTMANAGER_VERSION (kube-prometheus-stack $CHART_VERSION) into $cache: about 5 minutes on a new 2-core machine"
fi
step bin/prometheus "prometheus v$PROMETHEUS_VERSION" build prometheus prometheus github.com/prometheus/prometheus/cmd/prometheus "$PROMETHEUS_VERSION"
step bin/promtool "promtool v$PROMETHEUS_VERSION" build prometheus promtool github.com/prometheus/prometheus/cmd/promtool "$PROMETHEUS_VERSION"
step bin/alertmanager "alertmanager v$ALERTMANAGER_VERSION" build alertmanager alertmanager github.com/prometheus/alertmanager/cmd/alertmanager "$ALERTMANAGER_VERSION"
step bin/amtool "amtool v$ALERTMANAGER_VERSION" build alertmanager amtool github.com/prometheus/alertmanager/cmd/amtool "$ALERTMANAGER_VERSION"

# A binary that does not say its pinned version is not used: a cache dir written by hand, or a build
# whose version flag no longer takes.
for tool in prometheus:$PROMETHEUS_VERSION promtool:$PROMETHEUS_VERSION alertmanager:$ALERTMANAGER_VERSION amtool:$ALERTMANAGER_VERSION; do
    name=${tool%%:*} want=${tool#*:}
    got=$("$bin/$name" --version 2>&1 | head -n 1)
    case "$got" in
        "$name, version $want "*) ;;
        *) say "$bin/$name --version says \"$got\", not version $want: remove $cache and run again"; exit 1 ;;
    esac
done
say "ready in $((SECONDS - total)) s: $bin"
echo "$bin"
