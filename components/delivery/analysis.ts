/**
 * The stage analysis as one Argo Rollouts metric that asks the judge (`rollout serve`, the same
 * `judge()` as `rollout analyze`) through Argo's `web` provider. Pure: ProgressiveDelivery puts it in
 * the stage's AnalysisRun.
 */
import { createHash } from "crypto";
import type { GateAnswer, StageEvidence } from "../../domain/evidence";
import { durationSeconds } from "../../domain/duration";
import { formatRatio, MetricNames, Scope } from "../../domain/promql";
import type { RatioMetric } from "../../domain/ratios";
import { formatSince, StageRun } from "../../stacks/previous";
import { looksBeforeDeadline } from "../../domain/stages";
import type { StackConfig } from "../../stacks/schema";
import { JUDGE_TOKEN_KEY, JUDGE_TOKEN_SECRET } from "./judge";

export type AnalysisConfig = StackConfig["analysis"];

export interface AnalysisInput {
    readonly scope: Scope;
    readonly metrics: MetricNames;
    readonly analysis: AnalysisConfig;
    readonly stages: readonly number[];
}

/**
 * The run's arguments the URL carries (Argo substitutes `{{args.<name>}}` in a run's metrics): the
 * run, its stage, the evidence its tests carry in from the stages before (`formatLlrs`), and the
 * window's start (`since`, written by the stack: the judge keeps no window state, so a restarted
 * judge or a second replica answers an ask as the first would).
 */
const RUN_ARGS = ["run", "weight", "carry", "since"] as const;

/**
 * The run's `token` argument: Argo Rollouts v1.8 reads it from the Secret when it resolves the run's
 * arguments, and redacts it from its logs (analysis/analysis.go, resolveArgs). The run names the
 * Secret, never the token, so the run's spec is no secret (a preview shows it whole).
 */
export const TOKEN_ARG = { name: "token", valueFrom: { secretKeyRef: { name: JUDGE_TOKEN_SECRET, key: JUDGE_TOKEN_KEY } } };

/** The header every ask carries: the judge answers 401 without it. */
export const AUTHORIZATION_HEADER = { key: "Authorization", value: "Bearer {{args.token}}" };

/**
 * The judge's URL for this app: its scope, stages, metric contract and source and the stage's deadline (for the
 * forecast's warning) in the query, and the run and the stage as Argo arguments, so the template is the
 * same at every stage and only the run changes.
 * The arguments stay literal `{{args.…}}` (URLSearchParams would escape the braces Argo looks for).
 */
export function judgeUrl(base: string, i: Pick<AnalysisInput, "scope" | "metrics" | "stages"> & { readonly ratios: readonly RatioMetric[]; readonly deadline: string }): string {
    const fixed = new URLSearchParams({
        namespace: i.scope.namespace,
        app: i.scope.app,
        stages: i.stages.join(","),
        histogram: i.metrics.histogram,
        statusLabel: i.metrics.statusLabel,
        routeLabel: i.metrics.routeLabel,
        errorStatus: i.metrics.errorStatus,
        excludedRoutes: i.metrics.excludedRoutes.join(","),
        // A router source: its counts, its backends named by the Services' port (the judge's `source`, `port`).
        ...(i.metrics.router ? { source: i.metrics.router.name, port: String(i.metrics.router.port) } : {}),
        deadline: i.deadline,
    });
    for (const r of i.ratios) fixed.append("ratio", formatRatio(r));
    return `${base.replace(/\/+$/, "")}/judge?${fixed}${RUN_ARGS.map((a) => `&${a}={{args.${a}}}`).join("")}`;
}

/** Questions to the judge in a stage: one per interval until the deadline (`rollout replay` counts the same). */
export function measurementCount(a: AnalysisConfig): number {
    return looksBeforeDeadline(durationSeconds(a.deadline), durationSeconds(a.interval));
}

/**
 * Argo Rollouts v1.8.0 takes the next measurement this long after an Error, whatever the metric's
 * interval (analysis/analysis.go, DefaultErrorRetryInterval, generateMetricTasks).
 */
export const ARGO_ERROR_RETRY_SECONDS = 10;

/**
 * How long the judge may be unreachable and the stage only wait: a rescheduled pod (the node image
 * pulled again, the readiness probe passed). Argo's default limit (4, utils/defaults/defaults.go) ends a
 * run Error after five Errors in a row, about 40 s.
 */
export const JUDGE_OUTAGE_SECONDS = 300;

/** The longest Argo waits for one answer (webmetric.go: the HTTP client's timeout); the judge's queries time out sooner. */
export const JUDGE_TIMEOUT_SECONDS = 30;

/**
 * The metric's `consecutiveErrorLimit`: Errors in a row before the run ends Error, enough for a
 * JUDGE_OUTAGE_SECONDS outage at Argo's error retry interval. Errors are retried every 10 s whatever
 * the metric's interval, so the limit depends on the outage and the retry interval only.
 */
export function consecutiveErrorLimit(): number {
    return Math.ceil(JUDGE_OUTAGE_SECONDS / ARGO_ERROR_RETRY_SECONDS);
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
 * - an unreachable judge or a non-2xx answer is an Error measurement, which does not count towards
 *   `count`; more than `consecutiveErrorLimit` in a row end the run Error.
 * The measured value is the judge's `gate` object (decision, reasons, requests, log-likelihood ratios,
 * α), which Argo keeps as JSON in the run's status: the run carries why, and the evidence that
 * promotion reads (`stageEvidence`). `consecutiveSuccessLimit` needs a v1.8 controller.
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
        consecutiveErrorLimit: consecutiveErrorLimit(),
        successCondition: 'result.decision == "PROMOTE"',
        failureCondition: 'result.decision == "ROLLBACK"',
        provider: { web: { url, headers: [AUTHORIZATION_HEADER], jsonPath: "{$.gate}", timeoutSeconds: JUDGE_TIMEOUT_SECONDS } },
    };
}

/** Slack on top of the analysis itself: controller start-up and the first scrape of new pods. */
export const ANALYSIS_TIMEOUT_MARGIN_SECONDS = 180;

/**
 * How long `pulumi up` waits for a stage's AnalysisRun, so that it ends on the run's verdict: Argo
 * schedules each measurement an interval after the previous one finished, so every counted measurement
 * takes up to its interval plus its own timeout; Errors do not count, and one outage up to the error
 * limit adds that many retries (ARGO_ERROR_RETRY_SECONDS plus the timeout each); then the margin.
 */
export function analysisTimeoutSeconds(a: AnalysisConfig): number {
    const measurements = measurementCount(a) * (durationSeconds(a.interval) + JUDGE_TIMEOUT_SECONDS);
    const retries = consecutiveErrorLimit() * (ARGO_ERROR_RETRY_SECONDS + JUDGE_TIMEOUT_SECONDS);
    return measurements + retries + ANALYSIS_TIMEOUT_MARGIN_SECONDS;
}

/**
 * The name of an object of one stage of a version, `<app>-<version>-w<weight>[-a<attempt>]` and the
 * given parts: a DNS label of at most 63 characters (the app and version are cut, never the parts).
 */
export function stageObjectName(app: string, version: string, weight: number, attempt = 0, parts: readonly string[] = []): string {
    const safeVersion = version.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "");
    const suffix = ["", `w${weight}`, ...parts.slice(0, 1), ...(attempt > 0 ? [`a${attempt}`] : []), ...parts.slice(1)].join("-");
    return `${app}-${safeVersion}`.slice(0, 63 - suffix.length).replace(/-+$/, "") + suffix;
}

/** What makes one run different from another of the same stage. */
export interface RunIdentity {
    /** The stack's entry into the stage (`stageEntry`): new after a rollback and a second try. */
    readonly entry: number;
    /** `canary:analysis.attempt`: a retry of the stage. */
    readonly attempt: number;
    /** The run's spec, without its own name: the question it asks. */
    readonly spec: unknown;
}

/**
 * The AnalysisRun's name: the same for a repeated `pulumi up` of a stage (nothing changes), new for a
 * new stage, version, entry into the stage or retry, and for any change of its spec (a short hash of it),
 * because a finished run given a new spec is updated in place and keeps its old verdict. The judge
 * keys a run's window by this name, so a new try is never judged on an old try's window.
 */
export function analysisRunName(app: string, version: string, weight: number, run: RunIdentity): string {
    const hash = createHash("sha256").update(JSON.stringify(run.spec)).digest("hex").slice(0, 6);
    return stageObjectName(app, version, weight, run.attempt, [`e${run.entry}`, hash]);
}

/**
 * The window's start for the run `name`: the `since` the stack applied with it when the stack last
 * applied this same run (a repeated `pulumi up` or preview of the stage changes nothing), else now,
 * to the second. The name does not hash `since` (`analysisRunName` is given the spec without it).
 */
export function runSince(name: string, previous: StageRun | undefined, now: Date): string {
    return previous?.name === name ? previous.since : formatSince(now);
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
        measurements?: readonly { phase?: string; value?: string; message?: string }[];
    }[];
}

/** What the run's message is once `spec.terminate` stopped it (analysis/analysis.go, assessRunStatus). */
const TERMINATED_MESSAGE = "Run Terminated";

const ADVICE =
    "The stage's weights are applied but the stack does not record the stage as passed. Roll back (`rollout rollback`, " +
    "`pulumi up`), or retry the stage with a new run (`rollout retry`, `pulumi up`).";

/**
 * Why a finished run did not pass, or undefined when it did: a run passes only on the judge's PROMOTE
 * in its own measurements. Argo also ends a run Successful without one: terminated (`spec.terminate`:
 * an unfinished metric is Successful, assessMetricStatus), an answer that is not JSON (webmetric.go
 * keeps the body as a Successful value: a sign-in page of a proxy in front of the judge), or a
 * controller older than v1.8 (no `consecutiveSuccessLimit`: HOLD until the count is Successful). The
 * message says which, and how to go on.
 */
export function runVerdict(name: string, status: RunStatus | undefined, terminate = false): string | undefined {
    if (status?.phase === "Successful") {
        if (promoteAnswer(status)) return undefined;
        return `the stage's analysis ${name} ended Successful without a PROMOTE from the judge: ${withoutPromote(status, terminate)}. ${ADVICE}`;
    }
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
        `${metrics.length > 0 ? `; ${metrics.join("; ")}` : ""}. ${ADVICE}`
    );
}

/** Which way a Successful run came to end without a PROMOTE. */
function withoutPromote(status: RunStatus, terminate: boolean): string {
    if (terminate || status.message === TERMINATED_MESSAGE) {
        return `the run was terminated (${TERMINATED_MESSAGE}: spec.terminate, as \`kubectl argo rollouts terminate analysisrun\` sets) before the judge answered PROMOTE`;
    }
    const judge = judgeResult(status);
    const value = judge?.measurements?.[judge.measurements.length - 1]?.value;
    const answer = judge ? lastAnswer(judge) : undefined;
    if (value !== undefined && answer === undefined) {
        const shown = value.length > 120 ? `${value.slice(0, 120)}…` : value;
        return `its last measurement is not the judge's answer: ${JSON.stringify(shown)} (a proxy or sign-in page in front of the judge's URL answers 200 with a body that is not the judge's JSON)`;
    }
    const last = answer ? ` (the last answer: ${answer.decision}: ${answer.reasons.join("; ")})` : "";
    return `no PROMOTE recorded${last}; a controller older than Argo Rollouts v1.8 (canary:analysis.installController false) ignores consecutiveSuccessLimit and ends a run of HOLDs Successful at its count`;
}

type MetricResult = NonNullable<RunStatus["metricResults"]>[number];

const judgeResult = (status: RunStatus | undefined): MetricResult | undefined => status?.metricResults?.find((m) => m.name === "judge");

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

/** The judge's PROMOTE that ended a Successful run: the one answer a stage passes on. */
function promoteAnswer(status: RunStatus | undefined): GateAnswer | undefined {
    if (status?.phase !== "Successful") return undefined;
    const judge = judgeResult(status);
    const a = judge ? lastAnswer(judge) : undefined;
    return a?.decision === "PROMOTE" ? a : undefined;
}

/**
 * The evidence of a stage that passed, from its run's status: the judge's answer that ended it. Not
 * re-computed: what the gate decided on is what promotion carries.
 */
export function stageEvidence(status: RunStatus | undefined): StageEvidence | undefined {
    const a = promoteAnswer(status);
    return a && { decision: a.decision, canaryRequests: a.canaryRequests, stableRequests: a.stableRequests, llr: a.llr, carried: a.carried ?? {}, alpha: a.alpha };
}
