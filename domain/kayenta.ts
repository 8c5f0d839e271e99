/**
 * Kayenta's judge (NetflixACAJudge-v1.0 with its Mann-Whitney classifier), written in TypeScript from
 * spinnaker/kayenta at a69573be (2025-04-08):
 * - kayenta-judge/…/judge/NetflixACAJudge.scala: every metric is classified by
 *   `new MannWhitneyClassifier(tolerance = 0.25, confLevel = 0.98, …)`, the effect size being the mean
 *   ratio (canary / baseline) with `allowedIncrease` 1.0 by default; NaN values are replaced by 0
 *   (`nanStrategy` "none" → `Transforms.replaceNaNs`);
 * - kayenta-judge/…/classifiers/metric/MannWhitneyClassifier.scala (`classify`, `compare`,
 *   `calculateBounds`): identical samples, or a single value across both, pass; otherwise the canary is
 *   High when the lower end of the 98% interval for its shift against the baseline is above
 *   0.25 × |the Hodges-Lehmann estimate| and the mean ratio is at least 1.0 (or cannot be computed);
 *   when each side is a single value, Kayenta adds Gaussian noise of 1e-5 × the value and the
 *   interval is that difference (within the noise);
 * - kayenta-judge/…/scorers/WeightedSumScorer.scala: a group's score is 100 × its passing metrics over
 *   its classified ones;
 * - kayenta-standalone-canary-analysis/…/orca/task/MonitorCanaryTask.java and
 *   GenerateCanaryAnalysisResultTask.java: each interval's judgement ends the analysis if its score is
 *   not above the marginal threshold; the last one must also reach the pass threshold. The judgement
 *   windows grow from the start (`lookbackMins` 0), one value per metric and `step` (60 s by default).
 */
import { Bucket, totalOf } from "../domain/stats";
import { shiftInterval, wilcoxonZ } from "./mannWhitney";

/** Φ⁻¹(0.99): the two-sided 98% confidence level NetflixACAJudge sets. */
const Z_98 = 2.3263;
/** The share of |Hodges-Lehmann estimate| the interval must clear (NetflixACAJudge's tolerance). */
const TOLERANCE = 0.25;
/** `allowedIncrease`'s default for the mean-ratio effect size. */
const ALLOWED_INCREASE = 1.0;

export type Classification = "High" | "Pass";

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * A metric whose increase is a regression (direction "increase", as error ratios and latencies are
 * configured), canary against baseline, one value per step.
 */
export function classifyMetric(canary: readonly number[], baseline: readonly number[]): Classification {
    const sorted = (xs: readonly number[]) => [...xs].sort((a, b) => a - b).join();
    if (canary.length === 0 || baseline.length === 0 || sorted(canary) === sorted(baseline) || new Set([...canary, ...baseline]).size === 1) return "Pass";
    const single = new Set(canary).size === 1 && new Set(baseline).size === 1;
    // The interval's lower end is above 0 only where the test at shift 0 rejects: skip the root finding otherwise (the same answer, sooner).
    if (!single && wilcoxonZ(canary, baseline) <= Z_98) return "Pass";
    const ci = single ? { lower: canary[0] - baseline[0], estimate: canary[0] - baseline[0] } : shiftInterval(canary, baseline, Z_98);
    const control = mean(baseline);
    const experiment = mean(canary);
    const ratio = control === 0 || experiment === 0 ? NaN : experiment / control;
    return ci.lower > TOLERANCE * Math.abs(ci.estimate) && (Number.isNaN(ratio) || ratio >= ALLOWED_INCREASE) ? "High" : "Pass";
}

/** One group's score: 100 × passing over classified metrics. */
export const groupScore = (labels: readonly Classification[]) => (100 * labels.filter((l) => l === "Pass").length) / labels.length;

/** Kayenta's score thresholds; 75 and 50 are the examples its CanaryClassifierThresholdsConfig documents. */
export interface Thresholds {
    readonly pass: number;
    readonly marginal: number;
}
export const KAYENTA_THRESHOLDS: Thresholds = { pass: 75, marginal: 50 };

/** What one interval's judgement does to the analysis. */
export function intervalVerdict(score: number, last: boolean, t: Thresholds): "fail" | "pass" | "continue" {
    if (score <= t.marginal) return "fail";
    if (!last) return "continue";
    return score >= t.pass ? "pass" : "fail";
}

/**
 * The `q` quantile of one step's histogram as Prometheus' histogram_quantile gives it: linear within
 * the bucket that holds it, the last finite bound when it falls in +Inf, NaN without observations.
 */
export function bucketQuantile(buckets: readonly Bucket[], q: number): number {
    const total = totalOf(buckets);
    if (total <= 0) return NaN;
    const sorted = [...buckets].sort((a, b) => a.le - b.le);
    const rank = q * total;
    const i = sorted.findIndex((b) => b.count >= rank);
    if (sorted[i].le === Infinity) return sorted[i - 1].le;
    const lower = i > 0 ? sorted[i - 1] : { le: 0, count: 0 };
    return lower.le + ((sorted[i].le - lower.le) * (rank - lower.count)) / (sorted[i].count - lower.count);
}

/** Kayenta's analysis as the benchmark and `rollout replay` run it: one value per metric and minute (`step` 60 s), a judgement every 5 minutes over the window so far, 30 minutes. */
export const KAYENTA_STEP_SECONDS = 60;
export const KAYENTA_INTERVAL_STEPS = 5;
export const KAYENTA_LIFETIME_STEPS = 30;

/** A track's values over one step: the error ratio and p99 latency (as histogram_quantile gives it), NaN replaced by 0 as NetflixACAJudge does. */
export interface StepValues {
    readonly errors: number;
    readonly p99: number;
}

export function stepValues(c: { readonly requests: number; readonly errors: number; readonly buckets: readonly Bucket[] }): StepValues {
    const orZero = (v: number) => (Number.isNaN(v) ? 0 : v);
    return { errors: orZero(c.errors / c.requests), p99: orZero(bucketQuantile(c.buckets, 0.99)) };
}

/**
 * The judgement after `canary.length` steps (the error ratio and p99 as two metrics, direction
 * "increase", the baseline stable), or undefined between judgements: "fail" ends the analysis, "pass"
 * only at the last step.
 */
export function kayentaJudgement(canary: readonly StepValues[], baseline: readonly StepValues[]): "fail" | "pass" | "continue" | undefined {
    const step = canary.length;
    if (step === 0 || step % KAYENTA_INTERVAL_STEPS !== 0) return undefined;
    const labels = (["errors", "p99"] as const).map((m) => classifyMetric(canary.map((v) => v[m]), baseline.map((v) => v[m])));
    return intervalVerdict(groupScore(labels), step === KAYENTA_LIFETIME_STEPS, KAYENTA_THRESHOLDS);
}

/**
 * Flagger's default analysis (docs.flagger.app, "Canary analysis": `interval` 1m, `threshold` 5,
 * `stepWeight` 10, `maxWeight` 50, the builtin `request-success-rate` metric at least 99): a check a
 * minute of the canary's success rate over that minute; a passed check moves the weight on, the
 * `threshold`th failed one rolls back. No requests in the minute fail the check ("no values found").
 */
export const FLAGGER = { intervalSeconds: 60, threshold: 5, stepWeight: 10, maxWeight: 50, minSuccessRate: 0.99 } as const;

export const flaggerCheckPasses = (minute: { readonly requests: number; readonly errors: number }) => minute.requests > 0 && 1 - minute.errors / minute.requests >= FLAGGER.minSuccessRate;
