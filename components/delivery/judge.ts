import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { SCRAPE_INTERVAL_SECONDS } from "../../domain/promql";
import { bundle, bundleConfigMap, bundlePodSpec } from "./bundle";
import { appLabels } from "../platform/labels";

/** The judge's name in the app namespace (Deployment, Service, ConfigMap) and its port. */
export const JUDGE_NAME = "canary-judge";
export const JUDGE_PORT = 8080;
/**
 * The judge's code: `rollout serve` without the rest of the command (its imports are domain/, lib/ and
 * the Prometheus client), as one file.
 */
export const JUDGE_ENTRY = "rollout/judgeMain.ts";
export const judgeBundle = (): string => bundle(JUDGE_ENTRY);

/** The judge's in-cluster URL. */
export function judgeServiceUrl(namespace: string): string {
    return `http://${JUDGE_NAME}.${namespace}.svc:${JUDGE_PORT}`;
}

const LABELS = appLabels(JUDGE_NAME);
const SELECTOR = { "app.kubernetes.io/name": JUDGE_NAME };

/** The judge's Deployment spec: the node image running the bundle from the ConfigMap, hardened as the app's pods. */
export function judgeDeploymentSpec(image: string, prometheusUrl: string, codeHash: string): k8s.types.input.apps.v1.DeploymentSpec {
    const probe = { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 10, timeoutSeconds: 2 };
    return {
        replicas: 1,
        selector: { matchLabels: SELECTOR },
        template: {
            // A new bundle rolls the pod: the ConfigMap's content alone would not.
            metadata: { labels: LABELS, annotations: { "canary.judge/code-sha256": codeHash } },
            spec: bundlePodSpec(
                {
                    name: "judge",
                    image,
                    configMap: JUDGE_NAME,
                    dir: "judge",
                    file: "judge.js",
                    args: ["--prometheus", prometheusUrl, "--listen", `0.0.0.0:${JUDGE_PORT}`],
                    resources: { requests: { cpu: "20m", memory: "48Mi" }, limits: { cpu: "200m", memory: "128Mi" } },
                },
                { ports: [{ name: "http", containerPort: JUDGE_PORT, protocol: "TCP" }], readinessProbe: probe, livenessProbe: { ...probe, initialDelaySeconds: 5 } },
            ),
        },
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

export interface JudgeArgs {
    readonly namespace: pulumi.Input<string>;
    readonly image: string;
    /** The Prometheus the judge reads. */
    readonly prometheusUrl: string;
    /** What installs the ServiceMonitor CRD (the monitoring release), if this stack installs it. */
    readonly crds?: pulumi.Resource;
    /** Labels the Prometheus's serviceMonitorSelector needs (bring-your-own monitoring), as the app's ServiceMonitor gets. */
    readonly serviceMonitorLabels?: Record<string, string>;
}

/** The judge service in the app's namespace: its code in a ConfigMap, a Deployment running it, a Service, and the ServiceMonitor that scrapes its evidence. */
export class Judge extends pulumi.ComponentResource {
    public readonly deployment: k8s.apps.v1.Deployment;
    public readonly service: k8s.core.v1.Service;

    constructor(name: string, args: JudgeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("canary:delivery:Judge", name, {}, opts);
        const code = { entry: JUDGE_ENTRY, name: JUDGE_NAME, namespace: args.namespace, labels: LABELS, file: "judge.js" };
        const { configMap, hash } = bundleConfigMap(`${name}-code`, code, { parent: this });
        this.deployment = new k8s.apps.v1.Deployment(
            `${name}-deployment`,
            { metadata: { name: JUDGE_NAME, namespace: args.namespace, labels: LABELS }, spec: judgeDeploymentSpec(args.image, args.prometheusUrl, hash) },
            { parent: this, dependsOn: [configMap] },
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
