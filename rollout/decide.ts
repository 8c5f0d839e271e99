/**
 * The stage decision from counts: PROMOTE, HOLD or ROLLBACK. Pure; `analyze.ts` gathers the counts
 * from Prometheus, the benchmark feeds simulated ones.
 */
import { anytimeBoundaries, bernoulliLlr, boundAtQuantile, Bucket, countAbove, sprt, SprtResult, waldAsn, wilson } from "./stats";

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
    /** Bound on false rollbacks (default 0.01). */
    readonly alpha: number;
    /** Bound on false promotions (default 0.05). */
    readonly beta: number;
    /** The error-rate multiple of stable's that counts as a regression (default 2). */
    readonly errorFactor: number;
    /** The slow-share multiple of stable's that counts as a regression (default 2). */
    readonly latencyFactor: number;
    /** Latency bound: this quantile of stable's requests, as a bucket boundary (default 0.99). */
    readonly latencyQuantile: number;
    /** A fixed latency bound in seconds (a bucket boundary) instead of the quantile. */
    readonly latencyBound?: number;
    /** Stable requests needed before its rates are trusted as the baseline (default 500). */
    readonly minStableRequests: number;
    /** Floor of a baseline rate, so a stable without errors still gives a testable H0 (default 0.001). */
    readonly minBaselineRate: number;
}

export const DEFAULT_POLICY: DecisionPolicy = {
    alpha: 0.01,
    beta: 0.05,
    errorFactor: 2,
    latencyFactor: 2,
    latencyQuantile: 0.99,
    minStableRequests: 500,
    minBaselineRate: 0.001,
};

/** One sequential test's evidence, as printed. */
export interface TestEvidence {
    readonly name: "errors" | "latency";
    /** What counts as an event: 5xx responses, or requests slower than the bound. */
    readonly event: string;
    readonly canary: { readonly n: number; readonly events: number; readonly ratio: number; readonly interval: readonly [number, number] };
    readonly stable: { readonly n: number; readonly events: number; readonly ratio: number; readonly interval: readonly [number, number] };
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
    readonly canary: TrackCounts;
    readonly stable: TrackCounts;
    readonly evidence: { readonly errors?: TestEvidence; readonly latency?: TestEvidence; readonly latencyBound?: number };
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

function sequentialTest(name: TestEvidence["name"], event: string, canary: [number, number], stable: [number, number], factor: number, policy: DecisionPolicy): TestEvidence {
    const [n, e] = canary;
    const [sn, se] = stable;
    const p0 = Math.min(0.5, Math.max(policy.minBaselineRate, sn > 0 ? se / sn : 0));
    const p1 = Math.min(0.99, factor * p0);
    const result = sprt(bernoulliLlr(n, e, p0, p1), anytimeBoundaries(policy.alpha, policy.beta));
    return {
        name,
        event,
        canary: { n, events: e, ratio: n > 0 ? e / n : 0, interval: wilson(e, n) },
        stable: { n: sn, events: se, ratio: sn > 0 ? se / sn : 0, interval: wilson(se, sn) },
        p0,
        p1,
        sprt: result,
        expectedRequests: { h1: waldAsn(p0, p1, policy.alpha, policy.beta, "H1"), h0: waldAsn(p0, p1, policy.alpha, policy.beta, "H0") },
    };
}

function describe(t: TestEvidence): string {
    const s = t.sprt;
    const verdict = s.outcome === "H1" ? "regression" : s.outcome === "H0" ? "no regression" : "undecided";
    return (
        `${t.name}: canary ${t.canary.events}/${t.canary.n} ${t.event} (${pct(t.canary.ratio)}) vs stable ${pct(t.stable.ratio)}; ` +
        `${verdict} (LLR ${s.llr.toFixed(2)}, rollback at ${s.boundaries.upper.toFixed(2)}, promote at ${s.boundaries.lower.toFixed(2)})`
    );
}

const totalOf = (buckets: readonly Bucket[]) => buckets.find((b) => b.le === Infinity)?.count ?? 0;

/**
 * The decision: ROLLBACK when either test finds a regression; PROMOTE only when both find none, with
 * enough stable requests for a baseline and no counter reset in the window; HOLD otherwise.
 */
export function judge(canary: TrackCounts, stable: TrackCounts, policy: DecisionPolicy = DEFAULT_POLICY): Judgement {
    const base = { canary, stable };
    if (canary.requests <= 0) return { ...base, decision: "HOLD", reasons: ["no canary requests in the window yet"], evidence: {} };
    if (stable.requests < policy.minStableRequests) {
        return { ...base, decision: "HOLD", reasons: [`stable served ${stable.requests} requests in the window; the baseline needs ${policy.minStableRequests}`], evidence: {} };
    }
    const errors = sequentialTest("errors", "5xx", [canary.requests, canary.errors], [stable.requests, stable.errors], policy.errorFactor, policy);
    const bound = policy.latencyBound ?? boundAtQuantile(stable.buckets, policy.latencyQuantile);
    const canTimeLatency = bound !== undefined && totalOf(canary.buckets) > 0 && canary.buckets.some((b) => b.le === bound) && stable.buckets.some((b) => b.le === bound);
    const latency = canTimeLatency
        ? sequentialTest(
              "latency",
              `slower than ${bound}s`,
              [totalOf(canary.buckets), countAbove(canary.buckets, bound)],
              [totalOf(stable.buckets), countAbove(stable.buckets, bound)],
              policy.latencyFactor,
              policy,
          )
        : undefined;
    const evidence = { errors, latency, latencyBound: bound };
    const tests = [errors, ...(latency ? [latency] : [])];
    const reasons = tests.map(describe);
    if (tests.some((t) => t.sprt.outcome === "H1")) return { ...base, decision: "ROLLBACK", reasons, evidence };
    const holds: string[] = [];
    if (!latency) holds.push(bound === undefined ? "no latency histogram for stable in the window" : `no latency bucket le=${bound} for both tracks`);
    if (canary.resets + stable.resets > 0) holds.push(`${canary.resets + stable.resets} counter reset(s) in the window (pods restarted): not promoting on interrupted counts`);
    if (tests.some((t) => t.sprt.outcome === "continue")) holds.push("not enough evidence yet for either decision");
    return holds.length > 0 ? { ...base, decision: "HOLD", reasons: [...holds, ...reasons], evidence } : { ...base, decision: "PROMOTE", reasons, evidence };
}
