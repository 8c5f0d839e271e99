import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { SCRAPE_INTERVAL_SECONDS } from "../../domain/promql";
import { bundle, bundleConfigMap, bundlePodSpec, NODE_UID } from "./bundle";
import { appLabels, namespacePeer } from "../platform/labels";
import { DNS_EGRESS } from "../platform/networkPolicy";

/** The judge's name in the app namespace (Deployment, Service, ConfigMap) and its port. */
export const JUDGE_NAME = "canary-judge";
export const JUDGE_PORT = 8080;
/**
 * The judge's code: `rollout serve` without the rest of the command (its imports are domain/, lib/ and
 * the Prometheus client), as one file.
 */
export const JUDGE_ENTRY = "rollout/judgeMain.ts";
export const judgeBundle = (): string => bundle(JUDGE_ENTRY);

/**
 * The Secret holding the judge's bearer token (key `token`) in the app namespace: the AnalysisRun
 * sends it (`Authorization: Bearer`), the installed judge reads it from a file (`--token-file`).
 */
export const JUDGE_TOKEN_SECRET = "canary-judge-token";
export const JUDGE_TOKEN_KEY = "token";
/** Where the installed judge's pods mount the Secret. */
export const JUDGE_TOKEN_DIR = "/var/run/canary-judge";
export const JUDGE_TOKEN_FILE = `${JUDGE_TOKEN_DIR}/${JUDGE_TOKEN_KEY}`;
/** Two replicas behind a PodDisruptionBudget: a drained node or a lost pod leaves one answering (the judge keeps no window state). */
export const JUDGE_REPLICAS = 2;

/**
 * The Argo Rollouts controller's pods, which ask the judge: the label both the pinned chart
 * (argoproj/argo-helm charts/argo-rollouts/templates/_helpers.tpl, `argo-rollouts.selectorLabels`, on
 * the controller's pod template in templates/controller/deployment.yaml) and the controller's own
 * manifests (argoproj/argo-rollouts v1.8.0 manifests/install.yaml, the Deployment's pod template) set.
 */
export const CONTROLLER_POD_LABELS = { "app.kubernetes.io/name": "argo-rollouts" };
/**
 * Prometheus's pods, which scrape the judge's /metrics (and which it reads): prometheus-operator labels
 * every Prometheus pod so (pkg/prometheus/server/statefulset.go, `podSelectorLabels`:
 * app.kubernetes.io/name: prometheus, app.kubernetes.io/managed-by: prometheus-operator).
 */
export const PROMETHEUS_POD_LABELS = { "app.kubernetes.io/name": "prometheus", "app.kubernetes.io/managed-by": "prometheus-operator" };

/** The judge's in-cluster URL. */
export function judgeServiceUrl(namespace: string): string {
    return `http://${JUDGE_NAME}.${namespace}.svc:${JUDGE_PORT}`;
}

const LABELS = appLabels(JUDGE_NAME);
const SELECTOR = { "app.kubernetes.io/name": JUDGE_NAME };

/** What rolls the judge's pods: a new bundle, and a new token (read once, at start). */
export interface JudgeHashes {
    readonly code: string;
    readonly token: pulumi.Input<string>;
}

/**
 * The judge's Deployment spec: the node image running the bundle from the ConfigMap, hardened as the
 * app's pods, the token file from its Secret, two replicas spread over nodes where the scheduler can.
 */
export function judgeDeploymentSpec(image: string, prometheusUrl: string, hashes: JudgeHashes): k8s.types.input.apps.v1.DeploymentSpec {
    const probe = { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 10, timeoutSeconds: 2 };
    const pod = bundlePodSpec(
        {
            name: "judge",
            image,
            configMap: JUDGE_NAME,
            dir: "judge",
            file: "judge.js",
            args: ["--prometheus", prometheusUrl, "--listen", `0.0.0.0:${JUDGE_PORT}`, "--token-file", JUDGE_TOKEN_FILE],
            resources: { requests: { cpu: "20m", memory: "48Mi" }, limits: { cpu: "200m", memory: "128Mi" } },
        },
        { ports: [{ name: "http", containerPort: JUDGE_PORT, protocol: "TCP" }], readinessProbe: probe, livenessProbe: { ...probe, initialDelaySeconds: 5 } },
        {
            // Preferred, not required: a one-node cluster still runs both.
            affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { labelSelector: { matchLabels: SELECTOR }, topologyKey: "kubernetes.io/hostname" } }] } },
        },
    );
    const [container] = pod.containers as k8s.types.input.core.v1.Container[];
    return {
        replicas: JUDGE_REPLICAS,
        selector: { matchLabels: SELECTOR },
        template: {
            // A new bundle or token rolls the pods: the ConfigMap's or the Secret's content alone would not.
            metadata: { labels: LABELS, annotations: { "canary.judge/code-sha256": hashes.code, "canary.judge/token-sha256": hashes.token } },
            spec: {
                ...pod,
                // The token file's group: the Secret's files are root's, readable by this group only.
                securityContext: { ...(pod.securityContext as k8s.types.input.core.v1.PodSecurityContext), fsGroup: NODE_UID },
                containers: [{ ...container, volumeMounts: [...(container.volumeMounts as k8s.types.input.core.v1.VolumeMount[]), { name: "token", mountPath: JUDGE_TOKEN_DIR, readOnly: true }] }],
                volumes: [
                    ...(pod.volumes as k8s.types.input.core.v1.Volume[]),
                    { name: "token", secret: { secretName: JUDGE_TOKEN_SECRET, items: [{ key: JUDGE_TOKEN_KEY, path: JUDGE_TOKEN_KEY }], defaultMode: 0o440 } },
                ],
            },
        },
    };
}

/** At least one judge answers through a voluntary disruption (a node drain, a cluster upgrade). */
export function judgeDisruptionBudgetSpec(): k8s.types.input.policy.v1.PodDisruptionBudgetSpec {
    return { minAvailable: 1, selector: { matchLabels: SELECTOR } };
}

/** Who the judge admits and what it may reach. */
export interface JudgePeers {
    /** The namespace of the Argo Rollouts controller that runs the stage's AnalysisRun. */
    readonly controllerNamespace: string;
    /** The namespace of the Prometheus that scrapes the judge. */
    readonly monitoringNamespace: string;
    /** The egress rule to the Prometheus the judge reads. */
    readonly prometheus: k8s.types.input.networking.v1.NetworkPolicyEgressRule;
}

/**
 * The judge's pods take asks only from the controller's pods and scrapes only from Prometheus's, on the
 * judge's port; they reach only DNS and the Prometheus they read.
 */
export function judgeNetworkPolicySpec(p: JudgePeers): k8s.types.input.networking.v1.NetworkPolicySpec {
    return {
        podSelector: { matchLabels: SELECTOR },
        policyTypes: ["Ingress", "Egress"],
        ingress: [
            {
                from: [
                    { ...namespacePeer(p.controllerNamespace), podSelector: { matchLabels: CONTROLLER_POD_LABELS } },
                    { ...namespacePeer(p.monitoringNamespace), podSelector: { matchLabels: PROMETHEUS_POD_LABELS } },
                ],
                ports: [{ port: JUDGE_PORT, protocol: "TCP" }],
            },
        ],
        egress: [DNS_EGRESS, p.prometheus],
    };
}

/**
 * Scrapes the judge's evidence (`GET /metrics`, `JUDGE_SERIES`) as often as the app. Its own
 * ServiceMonitor: the app's selects the app's Services only. `honorLabels`, because the judge's series
 * name the app they judge in `namespace` and `app`, which the operator's target labels (the judge's own
 * namespace) would otherwise rename to `exported_namespace`.
 */
export function judgeServiceMonitorSpec(): Record<string, unknown> {
    return {
        selector: { matchLabels: SELECTOR },
        endpoints: [{ port: "http", path: "/metrics", interval: `${SCRAPE_INTERVAL_SECONDS}s`, honorLabels: true }],
    };
}

export interface JudgeArgs extends JudgePeers {
    readonly namespace: pulumi.Input<string>;
    readonly image: string;
    /** The Prometheus the judge reads. */
    readonly prometheusUrl: string;
    /** The token Secret (`JUDGE_TOKEN_SECRET`): the pods mount it, so they start after it. */
    readonly tokenSecret: k8s.core.v1.Secret;
    /** The token itself (a secret Output): its hash rolls the pods when it changes. */
    readonly token: pulumi.Output<string>;
    /** What installs the ServiceMonitor CRD (the monitoring release), if this stack installs it. */
    readonly crds?: pulumi.Resource;
    /** Labels the Prometheus's serviceMonitorSelector needs (bring-your-own monitoring), as the app's ServiceMonitor gets. */
    readonly serviceMonitorLabels?: Record<string, string>;
}

/**
 * The judge service in the app's namespace: its code in a ConfigMap, a Deployment of two replicas
 * running it with the token file, their PodDisruptionBudget and NetworkPolicy, a Service, and the
 * ServiceMonitor that scrapes its evidence.
 */
export class Judge extends pulumi.ComponentResource {
    public readonly deployment: k8s.apps.v1.Deployment;
    public readonly service: k8s.core.v1.Service;

    constructor(name: string, args: JudgeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("canary:delivery:Judge", name, {}, opts);
        const code = { entry: JUDGE_ENTRY, name: JUDGE_NAME, namespace: args.namespace, labels: LABELS, file: "judge.js" };
        const { configMap, hash } = bundleConfigMap(`${name}-code`, code, { parent: this });
        // The hash of a secret stays secret: the annotation shows as [secret] in a preview, and changes with the token.
        const tokenHash = args.token.apply((t) => createHash("sha256").update(t).digest("hex"));
        this.deployment = new k8s.apps.v1.Deployment(
            `${name}-deployment`,
            { metadata: { name: JUDGE_NAME, namespace: args.namespace, labels: LABELS }, spec: judgeDeploymentSpec(args.image, args.prometheusUrl, { code: hash, token: tokenHash }) },
            { parent: this, dependsOn: [configMap, args.tokenSecret] },
        );
        new k8s.policy.v1.PodDisruptionBudget(
            `${name}-pdb`,
            { metadata: { name: JUDGE_NAME, namespace: args.namespace, labels: LABELS }, spec: judgeDisruptionBudgetSpec() },
            { parent: this },
        );
        new k8s.networking.v1.NetworkPolicy(
            `${name}-netpol`,
            { metadata: { name: JUDGE_NAME, namespace: args.namespace, labels: LABELS }, spec: judgeNetworkPolicySpec(args) },
            { parent: this },
        );
        this.service = new k8s.core.v1.Service(
            `${name}-service`,
            {
                metadata: { name: JUDGE_NAME, namespace: args.namespace, labels: LABELS },
                spec: { selector: SELECTOR, ports: [{ name: "http", port: JUDGE_PORT, targetPort: "http", protocol: "TCP" }] },
            },
            { parent: this },
        );
        new k8s.apiextensions.CustomResource(
            `${name}-servicemonitor`,
            {
                apiVersion: "monitoring.coreos.com/v1",
                kind: "ServiceMonitor",
                metadata: { name: JUDGE_NAME, namespace: args.namespace, labels: { ...args.serviceMonitorLabels, ...LABELS } },
                spec: judgeServiceMonitorSpec(),
            },
            { parent: this, dependsOn: args.crds ? [args.crds] : [] },
        );
        this.registerOutputs({ service: this.service.metadata.name });
    }
}
