#!/usr/bin/env bash
# The local control plane the cluster lane runs, printed as a bin dir (last line of stdout; progress
# goes to stderr). Everything is built from Go modules the proxy serves, each tool from its own wrapper
# module under tools/ (go.mod and go.sum pinned there), so that each is linked with the libraries it
# was released with:
#   - etcd v3.6.0:                 go.etcd.io/etcd/server/v3, whose main package is the etcd binary
#                                  (etcd's own build does `cd server && go build`)  (tools/controlplane-etcd)
#   - kube-apiserver, kube-controller-manager, kube-scheduler, kubectl v1.34.0:
#                                  k8s.io/kubernetes/cmd/..., with the staging modules k8s.io/kubernetes
#                                  requires at v0.0.0 replaced by their v0.34.0 releases
#                                  (tools/controlplane-kubernetes; the list is the one in its go.mod)
#   - kwok v0.7.0:                 sigs.k8s.io/kwok/cmd/kwok  (tools/controlplane-kwok)
#   - rollouts-controller v1.8.0:  github.com/argoproj/argo-rollouts/cmd/rollouts-controller, with the
#                                  module's own replace block repeated (tools/controlplane-argo-rollouts)
# CRDs are copied, as they are, from the modules in the module cache into <cache>/crds/: Argo Rollouts'
# from its module's manifests/crds/, Gateway API's and prometheus-operator's from the modules
# tools/crds pins (a versioned dir each: the bin key covers only the binaries' wrappers).
# Built once into a cache outside the repository keyed by the versions and the wrapper modules' sums,
# so a second run takes seconds; each step is skipped when its output exists.
#   bin=$(bash scripts/controlplane.sh | tail -n 1)
set -euo pipefail
cd "$(dirname "$0")/.."

ETCD_VERSION=3.6.0
KUBERNETES_VERSION=1.34.0
KWOK_VERSION=0.7.0
ROLLOUTS_VERSION=1.8.0
ROLLOUTS_MODULE=github.com/argoproj/argo-rollouts
# The v1.8.0 tag's commit, as the module proxy reports it (Origin.Hash of `go mod download -json`), for
# the version string its Makefile links in: v1.8.0+9c5d75d.
ROLLOUTS_COMMIT=9c5d75d84a998bc0515caa64085bf8c23f2a41b7
# The CRDs of the program's other objects, from tools/crds (its go.mod says why these versions).
GATEWAY_API_VERSION=1.6.1
PROMETHEUS_OPERATOR_VERSION=0.85.0

say() { echo "controlplane: $*" >&2; }

command -v go >/dev/null || { say "go is not installed: the control plane is built with it (Go 1.26: the wrappers say go 1.26)"; exit 1; }
sums=$(cat tools/controlplane-*/go.mod tools/controlplane-*/go.sum | sha256sum | cut -c1-12)
cache="${CANARY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/canary}/controlplane/etcd-$ETCD_VERSION-kubernetes-$KUBERNETES_VERSION-kwok-$KWOK_VERSION-rollouts-$ROLLOUTS_VERSION-$sums"
bin=$cache/bin
mkdir -p "$bin"
export CGO_ENABLED=0

# shellcheck source=scripts/steps.sh
. scripts/steps.sh

# go build in a wrapper module: build <wrapper> <binary> <package> [ldflags...]
build() {
    local wrapper=$1 name=$2 pkg=$3
    shift 3
    (cd "tools/$wrapper" && go build -mod=readonly -o "$bin/.$name.tmp" -ldflags "-s -w $*" "$pkg")
    mv "$bin/.$name.tmp" "$bin/$name"
}

k8s_version_flags() {
    local p
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        printf -- '-X %s.gitVersion=v%s -X %s.gitMajor=%s -X %s.gitMinor=%s -X %s.gitTreeState=clean ' \
            "$p" "$KUBERNETES_VERSION" "$p" "${KUBERNETES_VERSION%%.*}" "$p" "$(echo "$KUBERNETES_VERSION" | cut -d. -f2)" "$p"
    done
}

# CRDs copied as they are from a module in the module cache: copy_crds <wrapper> <module[@version]> <glob in the module> <dest under crds/>
copy_crds() {
    local wrapper=$1 module=$2 glob=$3 dest=$4 dir
    dir=$(cd "tools/$wrapper" && go mod download -json "$module" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const m=JSON.parse(s);if(m.Error){console.error(m.Error);process.exit(1)}console.log(m.Dir)})')
    rm -rf "$cache/crds/.$dest.tmp"
    mkdir -p "$cache/crds/.$dest.tmp"
    # shellcheck disable=SC2086 # the glob is the module's own file names
    cp "$dir"/$glob "$cache/crds/.$dest.tmp/"
    chmod u+w "$cache/crds/.$dest.tmp"/*.yaml
    mv "$cache/crds/.$dest.tmp" "$cache/crds/$dest"
}

kflags=$(k8s_version_flags)
total=$SECONDS
step bin/etcd "etcd v$ETCD_VERSION" build controlplane-etcd etcd go.etcd.io/etcd/server/v3
step bin/kube-apiserver "kube-apiserver v$KUBERNETES_VERSION" build controlplane-kubernetes kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$kflags"
step bin/kube-controller-manager "kube-controller-manager v$KUBERNETES_VERSION" build controlplane-kubernetes kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager "$kflags"
step bin/kube-scheduler "kube-scheduler v$KUBERNETES_VERSION" build controlplane-kubernetes kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler "$kflags"
step bin/kubectl "kubectl v$KUBERNETES_VERSION" build controlplane-kubernetes kubectl k8s.io/kubernetes/cmd/kubectl "$kflags"
step bin/kwok "kwok v$KWOK_VERSION" build controlplane-kwok kwok sigs.k8s.io/kwok/cmd/kwok \
    "-X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=$KUBERNETES_VERSION"
step bin/rollouts-controller "rollouts-controller v$ROLLOUTS_VERSION" build controlplane-argo-rollouts rollouts-controller "$ROLLOUTS_MODULE/cmd/rollouts-controller" \
    "-X $ROLLOUTS_MODULE/utils/version.version=$ROLLOUTS_VERSION -X $ROLLOUTS_MODULE/utils/version.gitCommit=$ROLLOUTS_COMMIT -X $ROLLOUTS_MODULE/utils/version.gitTreeState=clean"
step crds/argo-rollouts "Argo Rollouts v$ROLLOUTS_VERSION CRDs (its module's manifests/crds)" \
    copy_crds controlplane-argo-rollouts "$ROLLOUTS_MODULE@v$ROLLOUTS_VERSION" "manifests/crds/*.yaml" argo-rollouts
step "crds/gateway-api-v$GATEWAY_API_VERSION" "Gateway API v$GATEWAY_API_VERSION CRDs (its module's config/crd/standard)" \
    copy_crds crds "sigs.k8s.io/gateway-api@v$GATEWAY_API_VERSION" "config/crd/standard/gateway.networking.k8s.io_*.yaml" "gateway-api-v$GATEWAY_API_VERSION"
step "crds/prometheus-operator-v$PROMETHEUS_OPERATOR_VERSION" "prometheus-operator v$PROMETHEUS_OPERATOR_VERSION CRDs (its module's example/prometheus-operator-crd)" \
    copy_crds crds "github.com/prometheus-operator/prometheus-operator@v$PROMETHEUS_OPERATOR_VERSION" "example/prometheus-operator-crd/monitoring.coreos.com_*.yaml" "prometheus-operator-v$PROMETHEUS_OPERATOR_VERSION"
say "ready in $((SECONDS - total)) s: $cache"
echo "$bin"
