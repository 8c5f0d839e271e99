/**
 * The stage analysis as Argo Rollouts metrics, built from the same PromQL builders as the alert
 * rules. Pure: ProgressiveDelivery puts them in a ClusterAnalysisTemplate and the stage's AnalysisRun.
 */
import { APP_LABELS, durationSeconds, errorRatio, latencyQuantile, MetricNames, requestCount, Scope } from "../domain/promql";
import type { StackConfig } from "../stacks/schema";

export type AnalysisConfig = StackConfig["analysis"];

export interface AnalysisInput {
    readonly scope: Scope;
    readonly metrics: MetricNames;
    readonly analysis: AnalysisConfig;
    /** CanaryVsStableErrorRatio's factor and floor: the analysis judges errors as the alert does. */
    readonly errorRatioVsStable: number;
    readonly errorRatioFloor: number;
    readonly prometheusUrl: string;
}

const CANARY = ['track="canary"'];
const STABLE = ['track="stable"'];

/**
 * A usable measurement: a non-empty vector whose first value is a number. An empty result or NaN
 * (no traffic) meets neither condition, so Argo counts it inconclusive instead of failing the run
 * or erroring on `result[0]` (argo-rollouts issues about empty Prometheus results aborting rollouts).
 */
const USABLE = "len(result) > 0 && !isNaN(result[0]) && !isInf(result[0])";

/** A condition that is never true. */
export const NEVER = "false";

/** Canary error ratio minus the allowed one (factor × stable's, at least the floor): above 0 fails. */
export function errorExcessQuery(i: AnalysisInput): string {
    const w = i.analysis.window;
    return `${errorRatio(i.metrics, i.scope, w, APP_LABELS, CANARY)} - on (namespace, app) (${i.errorRatioVsStable} * clamp_min(${errorRatio(i.metrics, i.scope, w, APP_LABELS, STABLE)}, ${i.errorRatioFloor}))`;
}

/** Canary p95 over stable p95. */
export function latencyRatioQuery(i: AnalysisInput): string {
    const w = i.analysis.window;
    return `${latencyQuantile(i.metrics, i.scope, 0.95, w, APP_LABELS, CANARY)} / on (namespace, app) ${latencyQuantile(i.metrics, i.scope, 0.95, w, APP_LABELS, STABLE)}`;
}

export function canaryRequestsQuery(i: AnalysisInput): string {
    return requestCount(i.metrics, i.scope, i.analysis.window, APP_LABELS, CANARY);
}

export function analysisMetrics(i: AnalysisInput): Record<string, unknown>[] {
    const a = i.analysis;
    const common = { interval: a.interval, count: a.count, failureLimit: a.failureLimit, inconclusiveLimit: a.inconclusiveLimit };
    const prometheus = (query: string) => ({ prometheus: { address: i.prometheusUrl, query } });
    return [
        {
            name: "canary-requests",
            ...common,
            successCondition: `${USABLE} && result[0] >= ${a.minRequests}`,
            // A failure condition that never holds: too few requests is inconclusive, never a failure.
            // Without one, Argo counts every measurement whose success condition is false as failed
            // (argoproj/argo-rollouts utils/evaluate/evaluate.go, EvaluateResult: "Without a failure
            // condition, a measurement is considered a failure if the measurement's success condition
            // is not true").
            failureCondition: NEVER,
            provider: prometheus(canaryRequestsQuery(i)),
        },
        {
            name: "error-ratio-vs-stable",
            ...common,
            successCondition: `${USABLE} && result[0] <= 0`,
            failureCondition: `${USABLE} && result[0] > 0`,
            provider: prometheus(errorExcessQuery(i)),
        },
        {
            name: "latency-p95-vs-stable",
            ...common,
            successCondition: `${USABLE} && result[0] <= ${a.latencyP95VsStable}`,
            failureCondition: `${USABLE} && result[0] > ${a.latencyP95VsStable}`,
            provider: prometheus(latencyRatioQuery(i)),
        },
    ];
}

/** Slack on top of the analysis itself: controller start-up and the first scrape of new pods. */
export const ANALYSIS_TIMEOUT_MARGIN_SECONDS = 180;

/** How long `pulumi up` waits for a stage's AnalysisRun: every measurement, plus the margin. */
export function analysisTimeoutSeconds(a: AnalysisConfig): number {
    return a.count * durationSeconds(a.interval) + ANALYSIS_TIMEOUT_MARGIN_SECONDS;
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
    readonly metricResults?: readonly { name: string; phase?: string; message?: string; count?: number; failed?: number; inconclusive?: number; error?: number }[];
}

/**
 * Why a finished run did not pass, with each metric's result, or undefined when it succeeded. The
 * message tells how to go on: roll back, or retry the stage with a new run.
 */
export function runVerdict(name: string, status: RunStatus | undefined): string | undefined {
    if (status?.phase === "Successful") return undefined;
    const metrics = (status?.metricResults ?? [])
        .filter((m) => m.phase !== "Successful")
        .map((m) => `${m.name} ${m.phase ?? "unknown"}${m.message ? ` (${m.message})` : ""}: ${m.failed ?? 0} failed, ${m.inconclusive ?? 0} inconclusive, ${m.error ?? 0} errors of ${m.count ?? 0} measurements`);
    return (
        `the stage's analysis ${name} ended ${status?.phase ?? "without a phase"}${status?.message ? `: ${status.message}` : ""}` +
        `${metrics.length > 0 ? `; ${metrics.join("; ")}` : ""}. ` +
        "The stage's weights are applied but the stack does not record the stage as passed. Roll back (`rollout rollback`, " +
        "`pulumi up`), or retry the stage with a new run (`rollout retry`, `pulumi up`)."
    );
}
