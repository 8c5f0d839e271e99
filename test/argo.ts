/**
 * A mirror of how Argo Rollouts v1.8.0 runs the stage's one web metric, for the unit lane, where no
 * controller runs: what a measurement is made of an HTTP answer, how the counters move, when the
 * metric ends and in which phase, when the next measurement is taken, and what a terminated run ends
 * as. Only what the program's metric uses (one metric, `jsonPath: {$.gate}`, the conditions on
 * `result.decision`). Read from upstream, cited per function; the cluster lane runs the real one.
 */
import * as assert from "assert";
import type { RunStatus } from "../components/delivery/analysis";

/** An HTTP answer to the metric's GET; null is a request that failed (refused, timed out). */
export type WebAnswer = { readonly status: number; readonly body: string } | null;

/** The judge's answer with `decision` as its gate (the rest of a real answer does not change the evaluation). */
const judgeAnswer = (decision: string, extra: Record<string, unknown> = {}): WebAnswer => ({
    status: 200,
    body: JSON.stringify({ gate: { decision, reasons: [`${decision.toLowerCase()} for the test`], canaryRequests: 1200, stableRequests: 24000, llr: { errors: -3.2 }, carried: {}, alpha: 0.009, ...extra } }),
});
export const [PROMOTE, HOLD, ROLLBACK] = ["PROMOTE", "HOLD", "ROLLBACK"].map((d) => judgeAnswer(d));

/** utils/defaults/defaults.go: DefaultConsecutiveErrorLimit. */
const DEFAULT_CONSECUTIVE_ERROR_LIMIT = 4;
/** analysis/analysis.go: DefaultErrorRetryInterval, the wait after an Error measurement whatever the metric's interval. */
export const ERROR_RETRY_SECONDS = 10;

/**
 * A condition over the measured value, for the one form the program writes: `result.decision ==
 * "<WORD>"` (expr-lang member access and equality, utils/evaluate/evaluate.go).
 */
function condition(c: string, result: any): boolean {
    const m = /^result\.decision == "([A-Z]+)"$/.exec(c);
    assert.ok(m, `a condition this mirror does not read: ${c}`);
    return result?.decision === m[1];
}

interface Measurement {
    readonly phase: "Successful" | "Failed" | "Inconclusive" | "Error";
    readonly value?: string;
    readonly message?: string;
}

/**
 * metricproviders/webmetric/webmetric.go (Run, parseResponse): a failed request or a status outside
 * 2xx is an Error; a body that is not JSON is returned as the value, Successful, without evaluating the
 * conditions; otherwise the JSONPath's value (Error when it selects nothing) evaluated by
 * utils/evaluate/evaluate.go EvaluateResult (failure wins over success; neither is Inconclusive).
 */
export function webMeasurement(metric: any, answer: WebAnswer): Measurement {
    if (answer === null) return { phase: "Error", message: "connect: connection refused" };
    if (answer.status < 200 || answer.status >= 300) return { phase: "Error", message: `received non 2xx response code: ${answer.status}` };
    let data: any;
    try {
        data = JSON.parse(answer.body);
    } catch {
        return { phase: "Successful", value: answer.body };
    }
    assert.strictEqual(metric.provider.web.jsonPath, "{$.gate}", "the one JSONPath this mirror reads");
    if (data?.gate === undefined) return { phase: "Error", message: "Could not find JSONPath in body: gate is not found" };
    const value = JSON.stringify(data.gate);
    if (condition(metric.failureCondition, data.gate)) return { phase: "Failed", value };
    return { phase: condition(metric.successCondition, data.gate) ? "Successful" : "Inconclusive", value };
}

interface Counters {
    count: number;
    successful: number;
    failed: number;
    inconclusive: number;
    error: number;
    consecutiveError: number;
    consecutiveSuccess: number;
    measurements: Measurement[];
}

/** analysis/analysis.go assessMetricFailureInconclusiveOrError: the later checks override the earlier. */
function failureInconclusiveOrError(metric: any, r: Counters): { phase?: string; message?: string } {
    let out: { phase?: string; message?: string } = {};
    const failureLimit = metric.failureLimit ?? 0;
    if (failureLimit >= 0 && r.failed > failureLimit) out = { phase: "Failed", message: `failed (${r.failed}) > failureLimit (${failureLimit})` };
    const inconclusiveLimit = metric.inconclusiveLimit ?? 0;
    if (r.inconclusive > inconclusiveLimit) out = { phase: "Inconclusive", message: `inconclusive (${r.inconclusive}) > inconclusiveLimit (${inconclusiveLimit})` };
    const errorLimit = metric.consecutiveErrorLimit ?? DEFAULT_CONSECUTIVE_ERROR_LIMIT;
    if (r.consecutiveError > errorLimit) out = { phase: "Error", message: `consecutiveErrors (${r.consecutiveError}) > consecutiveErrorLimit (${errorLimit})` };
    return out;
}

/** analysis/analysis.go assessMetricStatus: the metric's phase after its measurements. */
function metricPhase(metric: any, r: Counters, terminating: boolean): string {
    if (r.measurements.length === 0) return terminating ? "Successful" : "Pending";
    const ended = failureInconclusiveOrError(metric, r).phase;
    if (ended) return ended;
    const successApplicable = (metric.consecutiveSuccessLimit ?? 0) > 0;
    if (successApplicable && r.consecutiveSuccess >= metric.consecutiveSuccessLimit) return "Successful";
    if (metric.count !== undefined && r.count >= metric.count) {
        const failureApplicable = metric.failureLimit === undefined || metric.failureLimit >= 0;
        if (failureApplicable && successApplicable) return "Inconclusive";
        if (successApplicable) return "Failed";
        return "Successful";
    }
    return terminating ? "Successful" : "Running";
}

export interface MirrorRun {
    /** The run's status as the controller writes it (what `pulumi up` reads). */
    readonly status: RunStatus;
    /** How many answers were asked for. */
    readonly asked: number;
    /** Seconds from the first measurement's start to the run's end (or to the last answer). */
    readonly elapsedSeconds: number;
}

/**
 * The run of one metric over these answers, each taking `tookSeconds`. Counters as
 * analysis/analysis.go runMeasurements (an Error does not count towards `count`); the next measurement
 * starts its interval after the previous one finished, or ERROR_RETRY_SECONDS after an Error
 * (generateMetricTasks); `terminateAfter` answers, `spec.terminate` is set: no new measurement, and
 * assessRunStatus ends the run with the message "Run Terminated".
 */
export function runMetric(metric: any, answers: readonly WebAnswer[], o: { terminateAfter?: number; tookSeconds?: number } = {}): MirrorRun {
    const r: Counters = { count: 0, successful: 0, failed: 0, inconclusive: 0, error: 0, consecutiveError: 0, consecutiveSuccess: 0, measurements: [] };
    const interval = Number(/^(\d+)s$/.exec(metric.interval)?.[1] ?? NaN);
    assert.ok(Number.isFinite(interval), `an interval in seconds this mirror reads: ${metric.interval}`);
    const took = o.tookSeconds ?? 0;
    const asked = Math.min(answers.length, o.terminateAfter ?? answers.length);
    let t = 0;
    let phase = "Pending";
    let i = 0;
    for (; i < asked; i++) {
        const m = webMeasurement(metric, answers[i]);
        r.measurements.push(m);
        if (m.phase === "Error") (r.error++, r.consecutiveError++, (r.consecutiveSuccess = 0));
        else {
            r.count++;
            r.consecutiveError = 0;
            r.consecutiveSuccess = m.phase === "Successful" ? r.consecutiveSuccess + 1 : 0;
            if (m.phase === "Successful") r.successful++;
            if (m.phase === "Failed") r.failed++;
            if (m.phase === "Inconclusive") r.inconclusive++;
        }
        t += took;
        phase = metricPhase(metric, r, false);
        if (phase !== "Running") break;
        if (i < asked - 1) t += m.phase === "Error" ? ERROR_RETRY_SECONDS : interval;
    }
    const terminated = o.terminateAfter !== undefined && !["Successful", "Failed", "Inconclusive", "Error"].includes(phase);
    if (terminated) phase = metricPhase(metric, r, true);
    const reason = failureInconclusiveOrError(metric, r).message;
    const message = reason && phase !== "Successful" ? `Metric "${metric.name}" assessed ${phase} due to ${reason}` : terminated ? "Run Terminated" : "";
    const result = {
        name: metric.name,
        phase,
        count: r.count,
        successful: r.successful,
        failed: r.failed,
        inconclusive: r.inconclusive,
        error: r.error,
        consecutiveError: r.consecutiveError,
        measurements: r.measurements.map((m) => ({ phase: m.phase, ...(m.value !== undefined ? { value: m.value } : {}), ...(m.message ? { message: m.message } : {}) })),
    };
    return { status: { phase, message, metricResults: [result] }, asked: Math.min(i + 1, asked), elapsedSeconds: t };
}
