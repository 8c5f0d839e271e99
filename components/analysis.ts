/**
 * The stage analysis as one Argo Rollouts metric that asks the judge (`rollout serve`, the same
 * `judge()` as `rollout analyze`) through Argo's `web` provider. Pure: ProgressiveDelivery puts it in a
 * ClusterAnalysisTemplate and the stage's AnalysisRun.
 */
import type { GateAnswer, StageEvidence } from "../domain/evidence";
import { durationSeconds, formatRatio, MetricNames, RatioMetric, Scope } from "../domain/promql";
import type { StackConfig } from "../stacks/schema";

export type AnalysisConfig = StackConfig["analysis"];

export interface AnalysisInput {
    readonly scope: Scope;
    readonly metrics: MetricNames;
    readonly analysis: AnalysisConfig;
    readonly stages: readonly number[];
}

/**
 * The run's arguments the metric reads (Argo substitutes `{{args.<name>}}` in a run's metrics): the
 * run, its stage, and the evidence its tests carry in from the stages before (`formatLlrs`).
 */
export const RUN_ARGS = ["run", "weight", "carry"] as const;

/**
 * The judge's URL for this app: its scope, stages and metric contract in the query, and the run and
 * the stage as Argo arguments, so the template is the same at every stage and only the run changes.
 * The arguments stay literal `{{args.…}}` (URLSearchParams would escape the braces Argo looks for).
 */
export function judgeUrl(base: string, i: Pick<AnalysisInput, "scope" | "metrics" | "stages"> & { readonly ratios: readonly RatioMetric[] }): string {
    const fixed = new URLSearchParams({
        namespace: i.scope.namespace,
        app: i.scope.app,
        stages: i.stages.join(","),
        duration: i.metrics.duration,
        excludedPaths: i.metrics.excludedPaths.join(","),
    });
    for (const r of i.ratios) fixed.append("ratio", formatRatio(r));
    return `${base.replace(/\/+$/, "")}/judge?${fixed}${RUN_ARGS.map((a) => `&${a}={{args.${a}}}`).join("")}`;
}

/** Questions to the judge in a stage: one per interval until the deadline. */
export function measurementCount(a: AnalysisConfig): number {
    return Math.ceil(durationSeconds(a.deadline) / durationSeconds(a.interval));
}

/**
 * The metric, "until a decision" by Argo Rollouts' own rules (analysis/analysis.go v1.8,
 * assessMetricStatus and assessMetricFailureInconclusiveOrError):
 * - PROMOTE is a Successful measurement, and `consecutiveSuccessLimit: 1` ends the metric Successful at
 *   once ("ConsecutiveSuccessLimit Reached");
 * - ROLLBACK is a Failed measurement, and `failureLimit: 0` ends it Failed at once ("failed > failureLimit");
 * - HOLD meets neither condition: Inconclusive, tolerated by `inconclusiveLimit` = count, so the metric
 *   keeps measuring; at `count` with neither limit reached it ends Inconclusive ("ConsecutiveSuccessLimit
 *   Not Reached and FailureLimit Not Violated");
 * - an unreachable judge or a non-2xx answer is an Error measurement, and five in a row (Argo's default
 *   `consecutiveErrorLimit`, 4) end the run Error.
 * The measured value is the judge's `gate` object (decision, reasons, requests, log-likelihood ratios,
 * α), which Argo keeps as JSON in the run's status: the run carries why, and the evidence that
 * promotion reads (`stageEvidence`).
 */
export function judgeMetric(url: string, a: AnalysisConfig): Record<string, unknown> {
    const count = measurementCount(a);
    return {
        name: "judge",
        interval: a.interval,
        count,
        failureLimit: 0,
        inconclusiveLimit: count,
        consecutiveSuccessLimit: 1,
        successCondition: 'result.decision == "PROMOTE"',
        failureCondition: 'result.decision == "ROLLBACK"',
        provider: { web: { url, jsonPath: "{$.gate}", timeoutSeconds: 30 } },
    };
}

/** Slack on top of the analysis itself: controller start-up and the first scrape of new pods. */
export const ANALYSIS_TIMEOUT_MARGIN_SECONDS = 180;

/** How long `pulumi up` waits for a stage's AnalysisRun: every measurement, plus the margin. */
export function analysisTimeoutSeconds(a: AnalysisConfig): number {
    return measurementCount(a) * durationSeconds(a.interval) + ANALYSIS_TIMEOUT_MARGIN_SECONDS;
}

/**
 * The AnalysisRun's name: the same for a repeated `pulumi up` of a stage (nothing changes), new for a
 * new stage or version, and for each retry of a stage (`canary:analysis.attempt`): a new run starts.
 * A DNS label of at most 63 characters.
 */
export function analysisRunName(app: string, version: string, weight: number, attempt = 0): string {
    const safeVersion = version.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "");
    const suffix = `-w${weight}${attempt > 0 ? `-a${attempt}` : ""}`;
    return `${app}-${safeVersion}`.slice(0, 63 - suffix.length).replace(/-+$/, "") + suffix;
}

/** The phases in which Argo Rollouts has finished a run (v1alpha1.AnalysisPhase). */
export const TERMINAL_PHASES = ["Successful", "Failed", "Error", "Inconclusive"] as const;

/**
 * What makes `pulumi up` wait for a run, and for how long. `pulumi.com/waitFor` only waits for a match,
 * so matching `Successful` alone would wait out the whole timeout on a failed run. This selects the
 * run's `status` once its phase is any terminal one: an RFC 9535 filter, as pulumi-kubernetes parses
 * waitFor's JSONPath with theory/jsonpath and matches a path without a value once it selects
 * something (provider/pkg/jsonpath/jsonpath.go; `==` is kept inside the path, a single `=` would
 * start a value). Not `match(@.phase, ...)`: theory/jsonpath v0.9.0 panics when `@.phase` selects
 * nothing (the root's other members), which `npm test` shows through tools/waitfor. The program then
 * reads the phase (`runVerdict`).
 */
export function waitAnnotations(timeoutSeconds: number): Record<string, string> {
    return {
        "pulumi.com/waitFor": `jsonpath={$[?${TERMINAL_PHASES.map((p) => `@.phase=='${p}'`).join(" || ")}]}`,
        "pulumi.com/timeoutSeconds": String(timeoutSeconds),
    };
}

/** The parts of an AnalysisRun's status the verdict reads. */
export interface RunStatus {
    readonly phase?: string;
    readonly message?: string;
    readonly metricResults?: readonly {
        name: string;
        phase?: string;
        message?: string;
        count?: number;
        failed?: number;
        inconclusive?: number;
        error?: number;
        /** Argo keeps the latest measurements; the last one's value is the judge's last answer. */
        measurements?: readonly { value?: string }[];
    }[];
}

/**
 * Why a finished run did not pass, with each metric's result, or undefined when it succeeded. The
 * message tells how to go on: roll back, or retry the stage with a new run.
 */
export function runVerdict(name: string, status: RunStatus | undefined): string | undefined {
    if (status?.phase === "Successful") return undefined;
    const metrics = (status?.metricResults ?? [])
        .filter((m) => m.phase !== "Successful")
        .map((m) => {
            const answer = lastAnswer(m);
            const last = answer ? `${answer.decision}: ${answer.reasons.join("; ")}` : undefined;
            const counts = `${m.failed ?? 0} failed, ${m.inconclusive ?? 0} inconclusive, ${m.error ?? 0} errors of ${m.count ?? 0} measurements`;
            return `${m.name} ${m.phase ?? "unknown"}${m.message ? ` (${m.message})` : ""}: ${counts}${last ? `; last answer: ${last}` : ""}`;
        });
    return (
        `the stage's analysis ${name} ended ${status?.phase ?? "without a phase"}${status?.message ? `: ${status.message}` : ""}` +
        `${metrics.length > 0 ? `; ${metrics.join("; ")}` : ""}. ` +
        "The stage's weights are applied but the stack does not record the stage as passed. Roll back (`rollout rollback`, " +
        "`pulumi up`), or retry the stage with a new run (`rollout retry`, `pulumi up`)."
    );
}

type MetricResult = NonNullable<RunStatus["metricResults"]>[number];

/** The judge's last answer in a metric's result (Argo stores the web metric's value as JSON), if it is one. */
function lastAnswer(m: MetricResult): GateAnswer | undefined {
    const value = m.measurements?.[m.measurements.length - 1]?.value;
    if (value === undefined) return undefined;
    try {
        const a = JSON.parse(value);
        return typeof a?.decision === "string" && Array.isArray(a.reasons) ? a : undefined;
    } catch {
        return undefined;
    }
}

/**
 * The evidence of a stage that passed, from its run's status: the judge's answer that ended it. Not
 * re-computed: what the gate decided on is what promotion carries.
 */
export function stageEvidence(status: RunStatus | undefined): StageEvidence | undefined {
    if (status?.phase !== "Successful") return undefined;
    const judge = status.metricResults?.find((m) => m.name === "judge");
    const a = judge ? lastAnswer(judge) : undefined;
    if (a?.decision !== "PROMOTE") return undefined;
    return { decision: a.decision, canaryRequests: a.canaryRequests, stableRequests: a.stableRequests, llr: a.llr, carried: a.carried ?? {}, alpha: a.alpha };
}
