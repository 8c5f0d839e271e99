/**
 * Every Helm chart the program installs, pinned. Bump versions here and nowhere else.
 */

/** A chart from a Helm repository (`repo` is the repository URL), or from an OCI registry (`chart` is the `oci://` reference). */
export type ChartPin =
    | { readonly chart: string; readonly version: string; readonly repo: string }
    | { readonly chart: `oci://${string}`; readonly version: string };

export const CHARTS = {
    ingressNginx: { chart: "ingress-nginx", version: "4.12.1", repo: "https://kubernetes.github.io/ingress-nginx" },
    // Published only as an OCI artifact; the chart also installs the Gateway API CRDs (bundle v1.6.1 in this version).
    envoyGateway: { chart: "oci://docker.io/envoyproxy/gateway-helm", version: "v1.9.1" },
    awsLoadBalancerController: { chart: "aws-load-balancer-controller", version: "1.13.0", repo: "https://aws.github.io/eks-charts" },
    kubePrometheusStack: { chart: "kube-prometheus-stack", version: "79.5.0", repo: "https://prometheus-community.github.io/helm-charts" },
    loki: { chart: "loki", version: "6.29.0", repo: "https://grafana.github.io/helm-charts" },
    // The single-binary Tempo chart moved from grafana/helm-charts to the community repository.
    tempo: { chart: "tempo", version: "1.26.2", repo: "https://grafana-community.github.io/helm-charts" },
    argoRollouts: { chart: "argo-rollouts", version: "2.39.0", repo: "https://argoproj.github.io/argo-helm" },
    certManager: { chart: "cert-manager", version: "v1.17.2", repo: "https://charts.jetstack.io" },
    fluentBit: { chart: "fluent-bit", version: "0.48.9", repo: "https://fluent.github.io/helm-charts" },
} as const satisfies Record<string, ChartPin>;
