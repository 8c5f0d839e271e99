import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export const MONITORING_NAMESPACE = "monitoring";
export const LOGGING_NAMESPACE = "logging";

export interface NamespacesArgs {
    /** The app's namespace; its pods run under the `restricted` Pod Security Standard. */
    readonly app: string;
}

/**
 * The app, `monitoring` and `logging` namespaces. The app namespace enforces the restricted pod
 * security level; monitoring and logging run node agents (node-exporter, Fluent Bit) that need host
 * access, so they are `privileged`.
 */
export class Namespaces extends pulumi.ComponentResource {
    public readonly app: k8s.core.v1.Namespace;
    public readonly monitoring: k8s.core.v1.Namespace;
    public readonly logging: k8s.core.v1.Namespace;

    constructor(name: string, args: NamespacesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("canary:namespaces:Namespaces", name, {}, opts);
        const ns = (role: string, nsName: string, level: "restricted" | "privileged") =>
            new k8s.core.v1.Namespace(
                `${name}-${role}`,
                {
                    metadata: {
                        name: nsName,
                        labels: {
                            "app.kubernetes.io/part-of": "canary",
                            "pod-security.kubernetes.io/enforce": level,
                        },
                    },
                },
                { parent: this },
            );
        this.app = ns("app", args.app, "restricted");
        this.monitoring = ns("monitoring", MONITORING_NAMESPACE, "privileged");
        this.logging = ns("logging", LOGGING_NAMESPACE, "privileged");
        this.registerOutputs({ app: this.app.metadata.name, monitoring: this.monitoring.metadata.name, logging: this.logging.metadata.name });
    }
}
