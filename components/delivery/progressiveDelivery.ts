import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { Llrs } from "../../domain/decide";
import { formatLlrs, StageEvidence } from "../../domain/evidence";
import { AnalysisInput, analysisRunName, analysisTimeoutSeconds, judgeMetric, judgeUrl, RunStatus, runSince, runVerdict, stageEvidence, TOKEN_ARG, waitAnnotations } from "./analysis";
import { messageOnly } from "../../stacks/config";
import type { StageRun } from "../../stacks/previous";
import { Judge, JUDGE_TOKEN_KEY, JUDGE_TOKEN_SECRET, judgeServiceUrl, PROMETHEUS_POD_LABELS } from "./judge";
import { egressToUrl } from "../platform/networkPolicy";
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
    /** Whether the stack installs that Prometheus (its pods' labels are then known: prometheus-operator's). */
    readonly prometheusInstalled: boolean;
    /** The namespace of the Prometheus that scrapes the judge. */
    readonly monitoringNamespace: string;
    /**
     * The external judge's token (`canary:analysis.judge.token`, a secret Output); unset when the judge
     * is installed, whose token the stack generates.
     */
    readonly judgeToken?: pulumi.Output<string>;
    /** The run the stack applied last (`stageRun`): its `since` is reused when this stage's run is the same. */
    readonly previousRun?: StageRun;
    /** Now: the window's start for a new run. */
    readonly now: Date;
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

/** The Argo Rollouts controller (pinned chart, no dashboard), cluster-wide: a stack's or the platform's. */
export function argoRollouts(name: string, opts: pulumi.CustomResourceOptions): k8s.helm.v3.Release {
    return pinnedRelease(name, { pin: CHARTS.argoRollouts, releaseName: "argo-rollouts", namespace: ARGO_ROLLOUTS_NAMESPACE, createNamespace: true, values: { dashboard: { enabled: false } } }, opts);
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
    /** The stage's run as applied (`stageRun`): its name and window start; undefined at weight 0. */
    public readonly run?: StageRun;

    constructor(name: string, args: ProgressiveDeliveryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("canary:delivery:ProgressiveDelivery", name, {}, opts);
        const app = args.scope.app;
        this.release = args.analysis.installController ? argoRollouts(`${name}-argo-rollouts`, { parent: this }) : undefined;
        const controller = this.release ? [this.release] : [];
        // The bearer token every ask carries: generated for the installed judge (letters and digits, as a
        // header takes them), the external judge's from config. A secret Output from end to end: only the
        // Secret holds it; the run names the Secret.
        const token = pulumi.secret(
            args.analysis.judge.install ? new random.RandomPassword(`${name}-judge-token`, { length: 48, special: false }, { parent: this }).result : (args.judgeToken as pulumi.Output<string>),
        );
        const tokenSecret = new k8s.core.v1.Secret(
            `${name}-judge-token`,
            { metadata: { name: JUDGE_TOKEN_SECRET, namespace: args.namespace, labels: appLabels(JUDGE_TOKEN_SECRET) }, type: "Opaque", stringData: { [JUDGE_TOKEN_KEY]: token } },
            { parent: this },
        );
        const judge = args.analysis.judge.install
            ? new Judge(
                  `${name}-judge`,
                  {
                      namespace: args.namespace,
                      image: args.analysis.judge.image,
                      prometheusUrl: args.prometheusUrl,
                      crds: args.crds,
                      serviceMonitorLabels: args.serviceMonitorLabels,
                      tokenSecret,
                      token,
                      controllerNamespace: ARGO_ROLLOUTS_NAMESPACE,
                      monitoringNamespace: args.monitoringNamespace,
                      // The installed Prometheus's pods only; another in the cluster (Thanos, a plain
                      // Prometheus) by its namespace, as its pods' labels are not known.
                      prometheus: egressToUrl(args.prometheusUrl, args.prometheusInstalled ? PROMETHEUS_POD_LABELS : undefined),
                  },
                  { parent: this },
              )
            : undefined;
        const judgeBase = judge ? judgeServiceUrl(args.scope.namespace) : (args.analysis.judge.url as string);
        const metrics = [judgeMetric(judgeUrl(judgeBase, { ...args, ratios: args.analysis.ratios, deadline: args.analysis.deadline }), args.analysis)];
        this.passed = pulumi.output(true);
        this.evidence = pulumi.output(undefined);
        if (args.weight > 0) {
            const spec = {
                args: [{ name: "weight", value: String(args.weight) }, { name: "carry", value: formatLlrs(args.carried) }, TOKEN_ARG],
                metrics,
            };
            // The name hashes the question, not when it started: `since` is new for every new run, and reused
            // for this one as long as the stack applies it again.
            const runName = analysisRunName(app, args.canaryVersion, args.weight, { entry: args.entry, attempt: args.analysis.attempt, spec });
            const since = runSince(runName, args.previousRun, args.now);
            this.run = { name: runName, since };
            const [weightArg, carryArg] = spec.args;
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
                    // The run's own name is an argument too: the judge keys the run's evidence by it.
                    spec: { ...spec, args: [{ name: "run", value: runName }, weightArg, carryArg, { name: "since", value: since }, TOKEN_ARG] },
                    // Output only: the run's phase and results, as the provider last saw them.
                    status: undefined,
                },
                // The run asks once the route moved (its window, from `since`, is when this program ran: the
                // moments before the move are the same tracks at the old weight, and the tests compare
                // rates per track); on a fresh cluster the judge's queries need Prometheus and the
                // ServiceMonitor; Argo reads the token from the Secret as it starts the run.
                { parent: this, dependsOn: [...controller, tokenSecret, ...(judge ? [judge.deployment, judge.service] : []), args.weightedRoute, ...args.metricsSources] },
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
