import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export const LOGGING_NAMESPACE = "logging";

export interface NamespacesArgs {
    /** The app's namespace; its pods run under the `restricted` Pod Security Standard. */
    readonly app: string;
    /** The monitoring namespace to create; undefined when an existing monitoring stack owns it. */
    readonly monitoring?: string;
    /** Whether to create the `logging` namespace (the stack installs log shipping). */
    readonly logging: boolean;
    /**
     * Let the AWS Load Balancer Controller inject readiness gates into the app's pods (ALB router), so
     * a rolling update waits until each new pod is a healthy target and an old one is drained before it
     * goes: otherwise a target group can hold only initial or draining targets, and the ALB answers
     * 503s that never reach a pod, so no analysis sees them. Default false.
     */
    readonly readinessGates?: boolean;
}

/** The namespace label the controller's pod webhook selects on (its chart's mpod.elbv2.k8s.aws webhook). */
export type PodSecurityLevel = "restricted" | "privileged";

/** A namespace of the project's: labelled as ours, enforcing a Pod Security level. */
export function labelledNamespace(name: string, nsName: string, level: PodSecurityLevel, extra: Record<string, string>, opts: pulumi.CustomResourceOptions): k8s.core.v1.Namespace {
    return new k8s.core.v1.Namespace(name, { metadata: { name: nsName, labels: { "app.kubernetes.io/part-of": "canary", "pod-security.kubernetes.io/enforce": level, ...extra } } }, opts);
}

export const READINESS_GATE_LABEL = "elbv2.k8s.aws/pod-readiness-gate-inject";

/**
 * The app, `monitoring` and `logging` namespaces. The app namespace enforces the restricted pod
 * security level; monitoring and logging run node agents (node-exporter, Fluent Bit) that need host
 * access, so they are `privileged`.
 */
export class Namespaces extends pulumi.ComponentResource {
    public readonly app: k8s.core.v1.Namespace;
    public readonly monitoring?: k8s.core.v1.Namespace;
    public readonly logging?: k8s.core.v1.Namespace;

    constructor(name: string, args: NamespacesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("canary:namespaces:Namespaces", name, {}, opts);
        const ns = (role: string, nsName: string, level: PodSecurityLevel, extra: Record<string, string> = {}) => labelledNamespace(`${name}-${role}`, nsName, level, extra, { parent: this });
        this.app = ns("app", args.app, "restricted", args.readinessGates ? { [READINESS_GATE_LABEL]: "enabled" } : {});
        this.monitoring = args.monitoring !== undefined ? ns("monitoring", args.monitoring, "privileged") : undefined;
        this.logging = args.logging ? ns("logging", LOGGING_NAMESPACE, "privileged") : undefined;
        this.registerOutputs({ app: this.app.metadata.name, monitoring: this.monitoring?.metadata.name, logging: this.logging?.metadata.name });
    }
}
