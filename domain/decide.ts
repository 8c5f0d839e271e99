/**
 * The stage decision from counts: PROMOTE, HOLD or ROLLBACK. Pure; `analyze.ts` gathers the counts
 * from Prometheus, the benchmark feeds simulated ones.
 */
import { anytimeBoundaries, bernoulliLlr, boundAtQuantile, Bucket, countAbove, sprt, SprtResult, totalOf, waldAsn, wilson } from "./stats";

export type Decision = "PROMOTE" | "HOLD" | "ROLLBACK";

/** One track's counts over the analysis window. */
export interface TrackCounts {
    readonly requests: number;
    readonly errors: number;
    /** Cumulative latency buckets over the window (empty when the app exports no histogram). */
    readonly buckets: readonly Bucket[];
    /** Counter resets seen in the window (pod restarts). */
    readonly resets: number;
}

export interface DecisionPolicy {
    /** Bound on false rollbacks over the whole rollout, all stages and all tests (default 0.01). */
    readonly alpha: number;
    /** Share of `alpha` spent on the first stage, where a bad canary should be caught (default 0.9). */
    readonly firstStageShare: number;
    /** Share of a stage's alpha spent on the latency test (default 0.05). */
    readonly latencyShare: number;
    /** Share of a stage's alpha spent on the tail test (default 0.05); errors get the rest. */
    readonly tailShare: number;
    /** Bound on false promotions (default 0.05). */
    readonly beta: number;
    /** The error-rate multiple of stable's that counts as a regression (default 2). */
    readonly errorFactor: number;
    /** The slow-share multiple of stable's that counts as a regression (default 2). */
    readonly latencyFactor: number;
    /**
     * The latency test's bound: this quantile of stable's requests, as a bucket boundary (default 0.9).
     * Slow events this frequent inform quickly: at p99 a healthy stage needed five times the requests of
     * the errors test (`npm run bench`, the floor lines), and p90 also caught a wider tail sooner.
     */
    readonly latencyQuantile: number;
    /**
     * The tail test's bound (default 0.99): a second latency test, for rare slow outliers that a p90
     * bound cannot see. It can roll back; it never holds a PROMOTE back, as its evidence for "no
     * regression" takes five times as long to gather.
     */
    readonly tailQuantile: number;
    /** A fixed latency bound in seconds (a bucket boundary) instead of the quantile. */
    readonly latencyBound?: number;
    /**
     * The quantile's bound is never below this many seconds (default 0.025). Below it, two identical
     * processes on one busy machine differ by more than a factor of 2 in the share of requests above
     * 5 ms (measured in the end-to-end test: 0.85% against 0.35% over 7,500 requests each): scheduling
     * noise no user feels, which the test would otherwise call a regression.
     */
    readonly minLatencyBound: number;
    /** Stable requests needed before comparing at all (default 500). */
    readonly minStableRequests: number;
    /** The rate below which differences do not matter: a stable that fails less than this is judged against it (default 0.001). */
    readonly minBaselineRate: number;
}

export const DEFAULT_POLICY: DecisionPolicy = {
    alpha: 0.01,
    firstStageShare: 0.9,
    latencyShare: 0.05,
    tailShare: 0.05,
    beta: 0.05,
    errorFactor: 2,
    latencyFactor: 2,
    latencyQuantile: 0.9,
    tailQuantile: 0.99,
    minLatencyBound: 0.025,
    minStableRequests: 500,
    minBaselineRate: 0.001,
};

/** One sequential test's evidence, as printed. */
export interface TestEvidence {
    readonly name: "errors" | "latency" | "tail";
    /** What counts as an event: 5xx responses, or requests slower than the bound. */
    readonly event: string;
    readonly canary: { readonly n: number; readonly events: number; readonly ratio: number; readonly interval: readonly [number, number] };
    readonly stable: { readonly n: number; readonly events: number; readonly ratio: number; readonly interval: readonly [number, number] };
    /** `conditional`: the canary's share of all events; `one-sample`: the canary's rate against the floor. */
    readonly method: "conditional" | "one-sample";
    /** H0 rate (stable's, floored) and H1 rate (factor × H0). */
    readonly p0: number;
    readonly p1: number;
    readonly sprt: SprtResult;
    /** Wald's expected canary requests to reach a decision when the canary is at H1 / at H0. */
    readonly expectedRequests: { readonly h1: number; readonly h0: number };
}

export interface Judgement {
    readonly decision: Decision;
    readonly reasons: string[];
    /** The counts judged; null when nothing could be read (Prometheus failed, the window is too short). */
    readonly canary: TrackCounts | null;
    readonly stable: TrackCounts | null;
    readonly evidence: {
        readonly errors?: TestEvidence;
        readonly latency?: TestEvidence;
        readonly latencyBound?: number;
        /** The rollback-only tail test, when its bound differs from the latency test's. */
        readonly tail?: TestEvidence;
        readonly tailBound?: number;
    };
}

/** No requests seen: the counts of a window Prometheus could not give. */
export const EMPTY_COUNTS: TrackCounts = { requests: 0, errors: 0, buckets: [], resets: 0 };

export const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

/** The stage being judged: its weight and the rollout's stages. */
export interface StageContext {
    readonly weight: number;
    readonly stages: readonly number[];
}

/**
 * The false-rollback budget of one stage. Each stage's tests are valid on their own, so a rollout
 * that passes three stages has three chances of a false rollback; spending `alpha` across them keeps
 * the whole rollout's at most `alpha`. Most (90%) goes to the first stage, where a regression is caught at
 * the least traffic; the later stages (100 is not compared: stable has no traffic) share the rest.
 */
export function stageAlpha(policy: DecisionPolicy, stage: StageContext): number {
    const compared = stage.stages.filter((s) => s < 100);
    if (compared.length <= 1) return policy.alpha;
    const later = (policy.alpha * (1 - policy.firstStageShare)) / (compared.length - 1);
    return stage.weight === compared[0] ? policy.alpha * policy.firstStageShare : later;
}

/**
 * One sequential test of canary events (errors, slow requests) against stable's.
 *
 * Normally conditional: given that an event happened, it came from the canary with probability
 * θ0 = n_c / (n_c + n_s) if both tracks fail at the same rate (H0), or θ1 = k·n_c / (k·n_c + n_s)
 * if the canary fails k times as often (H1). That test needs no estimate of stable's rate, so it stays
 * valid when stable is no bigger than the canary (the 50% stage). When stable is known to fail less
 * often than the floor (its 95% upper bound is below it; no or very few events), the baseline is
 * the floor itself, a constant, and the test is the one-sample SPRT of the canary's rate: floor
 * against k × floor. A healthy canary of an app that never fails is then promoted rather than held.
 */
function sequentialTest(name: TestEvidence["name"], event: string, canary: [number, number], stable: [number, number], factor: number, policy: DecisionPolicy, alpha: number): TestEvidence {
    const [n, e] = canary;
    const [sn, se] = stable;
    const stableInterval = wilson(se, sn);
    const boundaries = anytimeBoundaries(alpha, policy.beta);
    const oneSample = stableInterval[1] < policy.minBaselineRate;
    const p0 = oneSample ? policy.minBaselineRate : Math.max(policy.minBaselineRate, se / sn);
    const p1 = Math.min(0.99, factor * p0);
    let llr: number;
    if (oneSample) {
        llr = bernoulliLlr(n, e, p0, p1);
    } else {
        const theta0 = n / (n + sn);
        const theta1 = (factor * n) / (factor * n + sn);
        llr = bernoulliLlr(e + se, e, theta0, theta1);
    }
    return {
        name,
        event,
        method: oneSample ? "one-sample" : "conditional",
        canary: { n, events: e, ratio: n > 0 ? e / n : 0, interval: wilson(e, n) },
        stable: { n: sn, events: se, ratio: sn > 0 ? se / sn : 0, interval: stableInterval },
        p0,
        p1,
        sprt: sprt(llr, boundaries),
        expectedRequests: { h1: waldAsn(p0, p1, alpha, policy.beta, "H1"), h0: waldAsn(p0, p1, alpha, policy.beta, "H0") },
    };
}

function describe(t: TestEvidence): string {
    const s = t.sprt;
    const verdict = (s.outcome === "H1" ? "regression" : s.outcome === "H0" ? "no regression" : "undecided") + (t.name === "tail" ? ", can only roll back" : "");
    const [lo, hi] = t.canary.interval;
    return (
        `${t.name}: canary ${t.canary.events}/${t.canary.n} ${t.event} (${pct(t.canary.ratio)}, 95% ${pct(lo)}–${pct(hi)}) vs stable ${pct(t.stable.ratio)}; ` +
        `${verdict} (LLR ${s.llr.toFixed(2)}, rollback at ${s.boundaries.upper.toFixed(2)}, promote at ${s.boundaries.lower.toFixed(2)}, ${Math.round(100 * s.progress)}% of the way)`
    );
}

/**
 * One latency test: the share of requests slower than `bound` (a bucket boundary both tracks have),
 * or undefined when there is no such bound.
 */
function latencyTest(name: "latency" | "tail", bound: number | undefined, canary: TrackCounts, stable: TrackCounts, policy: DecisionPolicy, alpha: number): TestEvidence | undefined {
    const timeable = bound !== undefined && totalOf(canary.buckets) > 0 && canary.buckets.some((b) => b.le === bound) && stable.buckets.some((b) => b.le === bound);
    if (!timeable) return undefined;
    return sequentialTest(name, `slower than ${bound}s`, [totalOf(canary.buckets), countAbove(canary.buckets, bound)], [totalOf(stable.buckets), countAbove(stable.buckets, bound)], policy.latencyFactor, policy, alpha);
}

/**
 * The decision: ROLLBACK when any test finds a regression; PROMOTE only when the errors and latency
 * tests find none (the tail test can only roll back), with enough stable requests for a baseline and
 * no counter reset in the window; HOLD otherwise.
 */
export function judge(canary: TrackCounts, stable: TrackCounts, stage: StageContext, policy: DecisionPolicy = DEFAULT_POLICY): Judgement {
    const alpha = stageAlpha(policy, stage);
    const base = { canary, stable };
    if (canary.requests <= 0) return { ...base, decision: "HOLD", reasons: ["no canary requests in the window yet"], evidence: {} };
    if (stable.requests < policy.minStableRequests) {
        return { ...base, decision: "HOLD", reasons: [`stable served ${stable.requests} requests in the window; the baseline needs ${policy.minStableRequests}`], evidence: {} };
    }
    const errors = sequentialTest("errors", "5xx", [canary.requests, canary.errors], [stable.requests, stable.errors], policy.errorFactor, policy, alpha * (1 - policy.latencyShare - policy.tailShare));
    const bound = policy.latencyBound ?? boundAtQuantile(stable.buckets, policy.latencyQuantile, policy.minLatencyBound);
    const latency = latencyTest("latency", bound, canary, stable, policy, alpha * policy.latencyShare);
    const tailAt = policy.latencyBound === undefined ? boundAtQuantile(stable.buckets, policy.tailQuantile, policy.minLatencyBound) : undefined;
    const tail = tailAt !== bound ? latencyTest("tail", tailAt, canary, stable, policy, alpha * policy.tailShare) : undefined;
    const evidence = { errors, latency, latencyBound: bound, ...(tail ? { tail, tailBound: tailAt } : {}) };
    // What a PROMOTE waits for; the tail test can only add a ROLLBACK.
    const tests = [errors, ...(latency ? [latency] : [])];
    const all = tail ? [...tests, tail] : tests;
    const reasons = all.map(describe);
    if (all.some((t) => t.sprt.outcome === "H1")) return { ...base, decision: "ROLLBACK", reasons, evidence };
    const holds: string[] = [];
    if (!latency) holds.push(bound === undefined ? "no latency histogram for stable in the window" : `no latency bucket le=${bound} for both tracks`);
    if (canary.resets + stable.resets > 0) holds.push(`${canary.resets + stable.resets} counter reset(s) in the window (pods restarted): not promoting on interrupted counts`);
    if (tests.some((t) => t.sprt.outcome === "continue")) holds.push("not enough evidence yet for either decision");
    return holds.length > 0 ? { ...base, decision: "HOLD", reasons: [...holds, ...reasons], evidence } : { ...base, decision: "PROMOTE", reasons, evidence };
}
