#!/usr/bin/env bash
# npm run toolchain: the Pulumi engine the engine and cluster lanes run, printed as a bin dir (last line
# of stdout; progress goes to stderr).
#
# A working official CLI (outside node_modules: the npm `pulumi` wrapper downloads its CLI at run time)
# with a `pulumi-language-nodejs` beside it is used as it is. Otherwise everything is built from Go
# modules the proxy serves, pinned by the wrapper modules under tools/ (their go.mod and go.sum):
#   - the CLI:            github.com/pulumi/pulumi/pkg/v3/cmd/pulumi              (tools/pulumi-cli)
#   - the language host:  github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs, which lived
#                         inside the SDK module up to v3.68.0 (tools/pulumi-language-nodejs); the same
#                         module ships nodejs/dist/pulumi-analyzer-policy, the policy pack launcher
#   - the provider:       github.com/pulumi/pulumi-kubernetes/provider/v4 at its v4.25.0 release commit
#                         (tools/pulumi-kubernetes). Its main package embeds schema-embed.json, which
#                         its generate.go writes, so the module is copied out of the module cache and
#                         built there, with its `replace .../sdk/v4 => ../sdk` dropped for the served
#                         sdk/v4 v4.25.0 and the wrapper's go.sum (the same build list).
# Built once into a cache outside the repository keyed by the versions and the wrapper modules' sums,
# so a second run takes seconds. The provider is installed, as the version the npm SDK asks for, into
# the toolchain's own PULUMI_HOME (<bin>/../home), never ~/.pulumi.
#   bin=$(bash scripts/toolchain.sh | tail -n 1)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

CLI_VERSION=3.274.1
HOST_VERSION=3.68.0
PROVIDER_VERSION=4.25.0
PROVIDER_MODULE=github.com/pulumi/pulumi-kubernetes/provider/v4
# The module proxy's pseudo-version of the v4.25.0 release commit (the release tag is not a module version).
PROVIDER_MODULE_VERSION=v4.0.0-20260115033456-f47bc2d6f199
# The plugin version the program's @pulumi/kubernetes asks the engine for.
SDK_VERSION=$(node -p 'require("./package.json").dependencies["@pulumi/kubernetes"]')

say() { echo "toolchain: $*" >&2; }

official_cli() {
    local path p
    path=$(printf '%s' "$PATH" | tr ':' '\n' | grep -v '/node_modules/\.bin$' | paste -sd: -)
    p=$(PATH=$path command -v pulumi) || return 1
    [ -x "$(dirname "$p")/pulumi-language-nodejs" ] || PATH=$path command -v pulumi-language-nodejs >/dev/null || return 1
    PULUMI_SKIP_UPDATE_CHECK=true "$p" version >/dev/null 2>&1 || return 1
    dirname "$p"
}

if [ "${CANARY_TOOLCHAIN_BUILD:-}" != 1 ] && dir=$(official_cli); then
    say "using the official Pulumi CLI in $dir ($(PULUMI_SKIP_UPDATE_CHECK=true "$dir/pulumi" version)); nothing to build"
    echo "$dir"
    exit 0
fi

command -v go >/dev/null || { say "go is not installed: the toolchain builds the Pulumi CLI, language host and provider with it (Go 1.26: the wrappers say go 1.26)"; exit 1; }
sums=$(cat tools/pulumi-cli/go.sum tools/pulumi-language-nodejs/go.sum tools/pulumi-kubernetes/go.sum tools/pulumi-*/go.mod | sha256sum | cut -c1-12)
cache="${CANARY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/canary}/toolchain/cli-$CLI_VERSION-host-$HOST_VERSION-kubernetes-$PROVIDER_VERSION-$sums"
bin=$cache/bin
# The provider stays off PATH: the engine would take it from there over the installed plugin, warning on every run.
provider=$cache/provider
mkdir -p "$bin" "$provider"

# shellcheck source=scripts/steps.sh
. scripts/steps.sh

build_cli() {
    (cd tools/pulumi-cli && go build -mod=readonly -o "$bin/.pulumi.tmp" \
        -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$CLI_VERSION" \
        github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
    mv "$bin/.pulumi.tmp" "$bin/pulumi"
}

build_host() {
    (cd tools/pulumi-language-nodejs && go build -mod=readonly -o "$bin/.host.tmp" -ldflags "-s -w" \
        github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs)
    mv "$bin/.host.tmp" "$bin/pulumi-language-nodejs"
}

copy_analyzer() {
    local dir
    dir=$(cd tools/pulumi-language-nodejs && go list -mod=readonly -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)
    install -m 0755 "$dir/nodejs/dist/pulumi-analyzer-policy" "$bin/pulumi-analyzer-policy"
}

build_provider() {
    local src dir=$cache/src/provider
    src=$(cd tools/pulumi-kubernetes && go mod download -json "$PROVIDER_MODULE@$PROVIDER_MODULE_VERSION" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).Dir))')
    rm -rf "$dir"
    mkdir -p "$(dirname "$dir")"
    cp -r "$src" "$dir"
    chmod -R u+w "$dir"
    (
        cd "$dir"
        go mod edit -dropreplace github.com/pulumi/pulumi-kubernetes/sdk/v4 -require "github.com/pulumi/pulumi-kubernetes/sdk/v4@v$PROVIDER_VERSION"
        cp "$root/tools/pulumi-kubernetes/go.sum" go.sum
        (cd cmd/pulumi-resource-kubernetes && VERSION=$PROVIDER_VERSION go run -mod=readonly generate.go)
        go build -mod=readonly -o "$provider/.provider.tmp" \
            -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$PROVIDER_VERSION" \
            ./cmd/pulumi-resource-kubernetes
    )
    mv "$provider/.provider.tmp" "$provider/pulumi-resource-kubernetes"
    rm -rf "$dir"
}

total=$SECONDS
step bin/pulumi "the Pulumi CLI v$CLI_VERSION" build_cli
step bin/pulumi-language-nodejs "the Node.js language host v$HOST_VERSION" build_host
step bin/pulumi-analyzer-policy "the policy analyzer launcher v$HOST_VERSION" copy_analyzer
step provider/pulumi-resource-kubernetes "the Kubernetes provider v$PROVIDER_VERSION" build_provider

home=$cache/home
if [ ! -e "$home/plugins/resource-kubernetes-v$SDK_VERSION" ]; then
    say "installing the Kubernetes provider v$PROVIDER_VERSION as the plugin v$SDK_VERSION the SDK asks for, into $home"
    PULUMI_HOME=$home PULUMI_SKIP_UPDATE_CHECK=true "$bin/pulumi" plugin install resource kubernetes "$SDK_VERSION" \
        --file "$provider/pulumi-resource-kubernetes" >&2
fi
say "ready in $((SECONDS - total)) s: PULUMI_HOME=$home"
echo "$bin"
