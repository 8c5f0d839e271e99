import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { durationSeconds } from "../../domain/duration";
import { installsRouterEntry, StackConfig } from "../../stacks/schema";
import { bundle, bundleConfigMap, bundlePodSpec } from "./bundle";
import { appLabels } from "../platform/labels";
import { DNS_EGRESS, egressToUrl } from "../platform/networkPolicy";
import { envoyServiceName } from "../routing/gatewayRouting";
import { NGINX_CONTROLLER_SERVICE } from "../routing/nginxRouting";

type LoadTestConfig = StackConfig["loadTest"];

const NAME = "canary-load";
const LABELS = appLabels(NAME);
/** How long past its duration the Job may run before Kubernetes stops it: start-up and the last answers. */
const DEADLINE_MARGIN_SECONDS = 120;

/** The load test's code: `rollout/loadMain.ts` and what it imports, as one file. */
export const LOAD_ENTRY = "rollout/loadMain.ts";
export const loadBundle = (): string => bundle(LOAD_ENTRY);

/**
 * The router's entry as pods reach it, for a router the stack installs: Envoy Gateway's proxy Service
 * (named by the EnvoyProxy) or ingress-nginx's controller Service; HTTPS when the stack serves TLS
 * (plain HTTP then only redirects). The configured `canary:loadTest.target` wins.
 */
export function loadTarget(c: Pick<StackConfig, "loadTest" | "router" | "gateway" | "nginx">, tls: boolean): string | undefined {
    if (c.loadTest.target !== undefined) return c.loadTest.target;
    if (!installsRouterEntry(c)) return undefined;
    const entry = tls ? { scheme: "https", port: 443 } : { scheme: "http", port: 80 };
    const service = c.router === "gateway" ? `${envoyServiceName(c.gateway.className)}.${c.gateway.namespace}` : `${NGINX_CONTROLLER_SERVICE}.${c.nginx.namespace}`;
    return `${entry.scheme}://${service}.svc:${entry.port}`;
}

/** The load generator's options. */
export function loadArgs(loadTest: LoadTestConfig, target: string, host: string, durationSpec: string): string[] {
    const headers = Object.keys(loadTest.headers).length > 0 ? ["--headers", JSON.stringify(loadTest.headers)] : [];
    return ["--target", target, "--host", host, "--rate", String(loadTest.rate), "--duration", durationSpec, "--path", loadTest.path, ...headers];
}

/** The Job: one try, stopped by Kubernetes at the duration plus a margin, never awaited by `pulumi up`. */
export function loadJobSpec(image: string, args: string[], durationSpec: string, codeHash: string): k8s.types.input.batch.v1.JobSpec {
    return {
        backoffLimit: 0,
        activeDeadlineSeconds: durationSeconds(durationSpec) + DEADLINE_MARGIN_SECONDS,
        template: {
            metadata: { labels: LABELS, annotations: { "canary.load/code-sha256": codeHash } },
            spec: bundlePodSpec(
                {
                    name: "load",
                    image,
                    configMap: NAME,
                    dir: "load",
                    file: "load.js",
                    args,
                    resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "128Mi" } },
                },
                {},
                { restartPolicy: "Never" },
            ),
        },
    };
}

/**
 * The load generator's pods reach only DNS and the router's entry they send to: no ingress at all, and
 * nothing of the cluster but the entry (see `egressToUrl` for an entry outside the cluster, the ALB).
 */
export function loadNetworkPolicySpec(target: string): k8s.types.input.networking.v1.NetworkPolicySpec {
    return { podSelector: { matchLabels: LABELS }, policyTypes: ["Ingress", "Egress"], ingress: [], egress: [DNS_EGRESS, egressToUrl(target)] };
}

export interface LoadTestArgs {
    readonly namespace: pulumi.Input<string>;
    readonly loadTest: LoadTestConfig;
    /** The stage: a Job only above 0. */
    readonly weight: number;
    /** The Job's name: new for every stage and attempt, so each stage gets its own bounded run. */
    readonly jobName: string;
    readonly image: string;
    readonly target: string;
    readonly host: string;
    /** How long to send: `canary:loadTest.duration`, or the analysis deadline. */
    readonly duration: string;
    /** The resource carrying the stage's weights: the load starts once they apply. */
    readonly weightedRoute: pulumi.Resource;
}

/**
 * The load test: its code in a ConfigMap (whatever the stage, so a stage change touches only the Job)
 * and, above weight 0, the stage's Job running it on the judge's node image.
 */
export class LoadTest extends pulumi.ComponentResource {
    public readonly job?: k8s.batch.v1.Job;

    constructor(name: string, args: LoadTestArgs, opts?: pulumi.ComponentResourceOptions) {
        super("canary:delivery:LoadTest", name, {}, opts);
        const { configMap, hash } = bundleConfigMap(`${name}-code`, { entry: LOAD_ENTRY, name: NAME, namespace: args.namespace, labels: LABELS, file: "load.js" }, { parent: this });
        // Whatever the stage, as the code: a stage change touches only the Job.
        const policy = new k8s.networking.v1.NetworkPolicy(
            `${name}-netpol`,
            { metadata: { name: NAME, namespace: args.namespace, labels: LABELS }, spec: loadNetworkPolicySpec(args.target) },
            { parent: this },
        );
        if (args.weight <= 0) {
            this.registerOutputs({});
            return;
        }
        this.job = new k8s.batch.v1.Job(
            `${name}-job`,
            {
                // `up` must not wait out the load: the stage's analysis decides, usually well before it ends.
                metadata: { name: args.jobName, namespace: args.namespace, labels: LABELS, annotations: { "pulumi.com/skipAwait": "true" } },
                spec: loadJobSpec(args.image, loadArgs(args.loadTest, args.target, args.host, args.duration), args.duration, hash),
            },
            { parent: this, dependsOn: [configMap, policy, args.weightedRoute] },
        );
        this.registerOutputs({ job: this.job.metadata.name });
    }
}
