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
            // A ConfigMap whose data changes is updated in place, not replaced: by default the provider
            // replaces it (pulumi/pulumi-kubernetes#1567; the switch: #1926), so every release that
            // changes the judge's or the load generator's bundled code would delete and recreate the
            // ConfigMap the running judge mounts. Their pods still roll: the pod template carries the
            // code's hash.
            enableConfigMapMutable: true,
        },
        opts,
    );
}
