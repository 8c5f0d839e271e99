// The upstream CRDs the cluster lane applies, taken as they are from these modules (scripts/controlplane.sh):
// Gateway API v1.6.1, the bundle Envoy Gateway's chart v1.9.1 installs (components/versions.ts), and the
// prometheus-operator v0.85.0 root module, the newest the proxy serves with its example CRDs (the
// kube-prometheus-stack chart 79.5.0 bundles v0.86.2, which the proxy does not serve).
module canary/tools/crds

go 1.26

require (
	github.com/prometheus-operator/prometheus-operator v0.85.0 // indirect
	sigs.k8s.io/gateway-api v1.6.1 // indirect
)
