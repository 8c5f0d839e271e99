import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AnalysisInput, analysisMetrics, analysisRunName, analysisTimeoutSeconds } from "./analysis";
import { pinnedRelease } from "./helm";
import { appLabels } from "./labels";
import { CHARTS } from "./versions";

export const ARGO_ROLLOUTS_NAMESPACE = "argo-rollouts";

/** The annotations that make `pulumi up` wait for the run to succeed, and for how long. */
export function waitAnnotations(timeoutSeconds: number): Record<string, string> {
    return {
        "pulumi.com/waitFor": "jsonpath={.status.phase}=Successful",
        "pulumi.com/timeoutSeconds": String(timeoutSeconds),
    };
}

export interface ProgressiveDeliveryArgs extends AnalysisInput {
    /** The app's namespace: the AnalysisRun lives there. */
    readonly namespace: pulumi.Input<string>;
    /** The stage; at 0 there is no AnalysisRun. */
    readonly weight: number;
    readonly canaryVersion: string;
    /** The resource that carries the stage's weights: the run starts after traffic moved. */
    readonly weightedRoute: pulumi.Resource;
}

/**
 * Argo Rollouts (Helm, pinned), a ClusterAnalysisTemplate of the app's stage analysis, and one
 * AnalysisRun per stage above 0, which `pulumi up` waits for when `analysis.wait` is on.
 */
export class ProgressiveDelivery extends pulumi.ComponentResource {
    public readonly release: k8s.helm.v3.Release;
    public readonly analysisRun?: k8s.apiextensions.CustomResource;

    constructor(name: string, args: ProgressiveDeliveryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("canary:delivery:ProgressiveDelivery", name, {}, opts);
        const app = args.scope.app;
        this.release = pinnedRelease(
            `${name}-argo-rollouts`,
            { pin: CHARTS.argoRollouts, releaseName: "argo-rollouts", namespace: ARGO_ROLLOUTS_NAMESPACE, createNamespace: true, values: { dashboard: { enabled: false } } },
            { parent: this },
        );
        const metrics = analysisMetrics(args);
        new k8s.apiextensions.CustomResource(
            `${name}-template`,
            {
                apiVersion: "argoproj.io/v1alpha1",
                kind: "ClusterAnalysisTemplate",
                metadata: { name: `canary-${app}`, labels: appLabels(app) },
                spec: { metrics },
            },
            { parent: this, dependsOn: [this.release] },
        );
        if (args.weight > 0) {
            this.analysisRun = new k8s.apiextensions.CustomResource(
                `${name}-run`,
                {
                    apiVersion: "argoproj.io/v1alpha1",
                    kind: "AnalysisRun",
                    metadata: {
                        name: analysisRunName(app, args.canaryVersion, args.weight),
                        namespace: args.namespace,
                        labels: { ...appLabels(app), "canary.stage/weight": String(args.weight) },
                        annotations: args.analysis.wait ? waitAnnotations(analysisTimeoutSeconds(args.analysis)) : {},
                    },
                    spec: { metrics },
                },
                { parent: this, dependsOn: [this.release, args.weightedRoute] },
            );
        }
        this.registerOutputs({ analysisRun: this.analysisRun?.metadata.name });
    }
}
