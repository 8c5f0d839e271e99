import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterTarget } from "../../stacks/cluster";

/**
 * The one Kubernetes provider of the stack, built from its cluster keys; every Kubernetes resource
 * (components receive it through `providers`) uses it, never the default provider.
 */
export function kubernetesProvider(name: string, target: ClusterTarget, opts?: pulumi.CustomResourceOptions): k8s.Provider {
    return new k8s.Provider(
        name,
        {
            context: target.context,
            kubeconfig: target.kubeconfig,
            renderYamlToDirectory: target.renderYamlToDirectory,
        },
        opts,
    );
}
