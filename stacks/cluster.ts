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
 * Where the stack's cluster keys cannot work, one refusal each, naming the keys:
 * - a prod stack must name its cluster: on the ambient context, `pulumi up --stack prod` after working
 *   on dev would put prod's objects into dev's cluster (rendering to a directory applies nothing);
 * - a kubeconfig with a render directory: the provider refuses the pair itself ("kubeconfig arg is not
 *   compatible with renderYamlToDirectory arg", pulumi-kubernetes provider/pkg/provider/provider.go),
 *   but only once resources are registered.
 */
export function checkClusterTarget(environment: Environment, target: ClusterTarget): string[] {
    const refusals: string[] = [];
    const rendering = target.renderYamlToDirectory !== undefined;
    if (environment === "prod" && target.context === undefined && target.kubeconfig === undefined && !rendering) {
        refusals.push(
            "a prod stack must name its cluster: set kubernetes:context (`pulumi config set kubernetes:context <context> --stack <stack>`) " +
                "or kubernetes:kubeconfig (`pulumi config set --secret kubernetes:kubeconfig <path or contents>`). The current kube context is not used for prod.",
        );
    }
    if (rendering && target.kubeconfig !== undefined) {
        refusals.push(
            `kubernetes:kubeconfig cannot be used with kubernetes:renderYamlToDirectory (${JSON.stringify(target.renderYamlToDirectory)}): ` +
                "rendering applies nothing to a cluster. Remove one of them (`pulumi config rm kubernetes:kubeconfig`).",
        );
    }
    return refusals;
}

/** The stack renders manifests for something else to apply: nothing here reaches a cluster, or runs in one. */
export function rendersOnly(target: ClusterTarget): boolean {
    return target.renderYamlToDirectory !== undefined;
}
