/**
 * Which Kubernetes cluster a stack deploys to: the Kubernetes provider's own config keys
 * (`kubernetes:context`, `kubernetes:kubeconfig`, `kubernetes:renderYamlToDirectory`), read once and
 * passed to the one explicit provider every Kubernetes resource uses. An explicit provider does not
 * read these keys by itself, and the default provider would fall back to the ambient kube context.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Environment } from "./environments";

export interface ClusterTarget {
    /** A context of the kubeconfig. */
    readonly context?: string;
    /** A kubeconfig file's path or contents (often a secret). */
    readonly kubeconfig?: pulumi.Output<string>;
    /** Render manifests into this directory instead of applying them to a cluster. */
    readonly renderYamlToDirectory?: string;
}

/** The stack's cluster keys, as the Kubernetes provider would read them. */
export function readClusterTarget(): ClusterTarget {
    const k8s = new pulumi.Config("kubernetes");
    return { context: k8s.get("context"), kubeconfig: k8s.getSecret("kubeconfig"), renderYamlToDirectory: k8s.get("renderYamlToDirectory") };
}

/**
 * A prod stack must name its cluster: on the ambient context, `pulumi up --stack prod` after working on
 * dev would put prod's objects into dev's cluster. Returns the refusal, naming the keys to set, or
 * undefined when the target is named (or nothing is applied: rendering to a directory).
 */
export function checkClusterTarget(environment: Environment, target: ClusterTarget): string | undefined {
    if (environment !== "prod") return undefined;
    if (target.context !== undefined || target.kubeconfig !== undefined || target.renderYamlToDirectory !== undefined) return undefined;
    return (
        "a prod stack must name its cluster: set kubernetes:context (`pulumi config set kubernetes:context <context> --stack <stack>`) " +
        "or kubernetes:kubeconfig (`pulumi config set --secret kubernetes:kubeconfig <path or contents>`). The current kube context is not used for prod."
    );
}
