import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Llrs } from "../../domain/decide";
import { formatLlrs, StageEvidence } from "../../domain/evidence";
import { AnalysisInput, analysisRunName, analysisTimeoutSeconds, judgeMetric, judgeUrl, RunStatus, runVerdict, stageEvidence, waitAnnotations } from "./analysis";
import { messageOnly } from "../../stacks/config";
import { Judge, judgeServiceUrl } from "./judge";
import { pinnedRelease } from "../platform/helm";
import { appLabels } from "../platform/labels";
import { CHARTS } from "../platform/versions";

export const ARGO_ROLLOUTS_NAMESPACE = "argo-rollouts";

/** The label a controller started with `--instance-id` selects its runs by (pkg/apis/rollouts/v1alpha1/types.go, LabelKeyControllerInstanceID). */
export const CONTROLLER_INSTANCE_LABEL = "argo-rollouts.argoproj.io/controller-instance-id";

export interface ProgressiveDeliveryArgs extends AnalysisInput {
    /** The app's namespace: the AnalysisRun (and the installed judge) live there. */
    readonly namespace: pulumi.Input<string>;
    /** The Prometheus the installed judge reads. */
    readonly prometheusUrl: string;
    /** The stage; at 0 there is no AnalysisRun. */
    readonly weight: number;
    readonly canaryVersion: string;
    /** The stack's entry into the stage (`stageEntry`): a second try at a weight gets its own run. */
    readonly entry: number;
    /** The evidence the stage's tests carry in from the stages this version passed (`carriedLlrs`). */
    readonly carried?: Llrs;
    /** The resource that carries the stage's weights: the run starts after traffic moved. */
    readonly weightedRoute: pulumi.Resource;
    /** What the run's queries need to exist first: Prometheus (its Helm release) and the ServiceMonitor. */
    readonly metricsSources: readonly pulumi.Resource[];
    /** For the installed judge's ServiceMonitor: what installs its CRD, and the labels the Prometheus selects by. */
    readonly crds?: pulumi.Resource;
    readonly serviceMonitorLabels?: Record<string, string>;
}

/**
 * Argo Rollouts (Helm, pinned), the judge (in the cluster, or one given by URL), and one AnalysisRun per
 * stage above 0 that asks the judge until it decides, which `pulumi up` waits for when `analysis.wait`
 * is on.
 */
export class ProgressiveDelivery extends pulumi.ComponentResource {
    /** The Argo Rollouts controller's release; undefined when the cluster runs its own. */
    public readonly release?: k8s.helm.v3.Release;
    public readonly analysisRun?: k8s.apiextensions.CustomResource;
    /**
     * Resolves once the stage passed: its run ended on the judge's PROMOTE (or nothing waits for it). Rejects with
     * the run's reasons otherwise, so whatever is derived from it (the stage outputs the next run's
     * guard reads) is never written for a stage that failed.
     */
    public readonly passed: pulumi.Output<boolean>;
    /** The judge's answer that passed the stage (its evidence), when the run ended on one. */
    public readonly evidence: pulumi.Output<StageEvidence | undefined>;

    constructor(name: string, args: ProgressiveDeliveryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("canary:delivery:ProgressiveDelivery", name, {}, opts);
        const app = args.scope.app;
        this.release = args.analysis.installController
            ? pinnedRelease(
                  `${name}-argo-rollouts`,
                  { pin: CHARTS.argoRollouts, releaseName: "argo-rollouts", namespace: ARGO_ROLLOUTS_NAMESPACE, createNamespace: true, values: { dashboard: { enabled: false } } },
                  { parent: this },
              )
            : undefined;
        const controller = this.release ? [this.release] : [];
        const judge = args.analysis.judge.install ? new Judge(
                  `${name}-judge`,
                  { namespace: args.namespace, image: args.analysis.judge.image, prometheusUrl: args.prometheusUrl, crds: args.crds, serviceMonitorLabels: args.serviceMonitorLabels },
                  { parent: this },
              ) : undefined;
        const judgeBase = judge ? judgeServiceUrl(args.scope.namespace) : (args.analysis.judge.url as string);
        const metrics = [judgeMetric(judgeUrl(judgeBase, { ...args, ratios: args.analysis.ratios, deadline: args.analysis.deadline }), args.analysis)];
        this.passed = pulumi.output(true);
        this.evidence = pulumi.output(undefined);
        if (args.weight > 0) {
            const spec = {
                args: [
                    { name: "weight", value: String(args.weight) },
                    { name: "carry", value: formatLlrs(args.carried) },
                ],
                metrics,
            };
            const runName = analysisRunName(app, args.canaryVersion, args.weight, { entry: args.entry, attempt: args.analysis.attempt, spec });
            const instance = args.analysis.controllerInstanceId;
            const run = new k8s.apiextensions.CustomResource(
                `${name}-run`,
                {
                    apiVersion: "argoproj.io/v1alpha1",
                    kind: "AnalysisRun",
                    metadata: {
                        name: runName,
                        namespace: args.namespace,
                        labels: { ...appLabels(app), "canary.stage/weight": String(args.weight), ...(instance !== undefined ? { [CONTROLLER_INSTANCE_LABEL]: instance } : {}) },
                        annotations: args.analysis.wait ? waitAnnotations(analysisTimeoutSeconds(args.analysis)) : {},
                    },
                    // The run's own name is an argument too: the judge keys the run's window by it.
                    spec: { ...spec, args: [{ name: "run", value: runName }, ...spec.args] },
                    // Output only: the run's phase and results, as the provider last saw them.
                    status: undefined,
                },
                // The run's first question starts the stage's window at the judge, so it starts once the
                // route moved; on a fresh cluster the judge's queries need Prometheus and the ServiceMonitor.
                { parent: this, dependsOn: [...controller, ...(judge ? [judge.deployment, judge.service] : []), args.weightedRoute, ...args.metricsSources] },
            );
            this.analysisRun = run;
            if (args.analysis.wait) {
                // `status` is an output the typings do not declare: CustomResource makes one per input key.
                const live = run as unknown as { status: pulumi.Output<RunStatus | undefined>; spec: pulumi.Output<{ terminate?: boolean } | undefined> };
                const status = live.status;
                this.passed = pulumi.all([status, live.spec]).apply(([status, spec]) => {
                    const failed = runVerdict(runName, status, spec?.terminate === true);
                    // The reasons only: the stack trace and the resource are noise to whoever reads why a stage failed.
                    if (failed) throw messageOnly(new pulumi.ResourceError(failed, run, true));
                    return true;
                });
                this.evidence = pulumi.all([this.passed, status]).apply(([, s]) => stageEvidence(s));
            }
        }
        this.registerOutputs({ analysisRun: this.analysisRun?.metadata.name });
    }
}
