import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ChartPin } from "./versions";

export interface PinnedReleaseArgs {
    /** The chart and its pinned version, from `versions.ts`. */
    readonly pin: ChartPin;
    /** The Helm release name: explicit, so object names do not carry a random suffix. */
    readonly releaseName: string;
    readonly namespace: pulumi.Input<string>;
    readonly values: pulumi.Input<Record<string, unknown>>;
    /** Create the namespace if it does not exist (default: false; our namespaces come from `Namespaces`). */
    readonly createNamespace?: boolean;
}

/** A Helm release of a pinned chart: the one way this program installs a chart. */
export function pinnedRelease(name: string, args: PinnedReleaseArgs, opts: pulumi.CustomResourceOptions): k8s.helm.v3.Release {
    return new k8s.helm.v3.Release(
        name,
        {
            name: args.releaseName,
            chart: args.pin.chart,
            version: args.pin.version,
            // An OCI chart is its own location: pulumi-kubernetes resolves an `oci://` chart name without a
            // repository (helm_release.go, resolveChartName), so only repository charts carry one.
            ...("repo" in args.pin ? { repositoryOpts: { repo: args.pin.repo } } : {}),
            namespace: args.namespace,
            createNamespace: args.createNamespace ?? false,
            values: args.values,
        },
        opts,
    );
}
