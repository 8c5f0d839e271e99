/**
 * The stage decision from counts: PROMOTE, HOLD or ROLLBACK. Pure; `analyze.ts` gathers the counts
 * from Prometheus, the benchmark feeds simulated ones.
 */
import type { RatioMetric } from "./ratios";
import { anytimeBoundaries, bernoulliLlr, boundAtQuantile, Bucket, countAbove, eventShare, mixtureLlr, sprt, SprtResult, totalOf, wilson } from "./stats";

export type Decision = "PROMOTE" | "HOLD" | "ROLLBACK";

/** One track's counts over the analysis window. */
export interface TrackCounts {
    readonly requests: number;
    readonly errors: number;
    /** Cumulative latency buckets over the window (empty when the app exports no histogram). */
    readonly buckets: readonly Bucket[];
    /** Counter resets seen in the window (pod restarts). */
    readonly resets: number;
    /** Each ratio metric's counts over the window, by its name (`canary:analysis.ratios`). */
    readonly ratios?: Readonly<Record<string, RatioCounts>>;
}

/** A ratio metric's counts: events and the total they are a share of. */
export interface RatioCounts {
    readonly events: number;
    readonly total: number;
}

export interface DecisionPolicy {
    /** Bound on false rollbacks over the whole rollout, all stages and all tests (default 0.01). */
    readonly alpha: number;
    /**
     * Share of `alpha` for the test that starts at the first stage and, with its evidence carried,
     * goes on through the later ones (default 0.9). A test that starts fresh at a later stage gets an
     * equal part of the rest (`stageAlpha`).
     */
    readonly firstStageShare: number;
    /** Share of a stage's alpha spent on the latency test (default 0.05). */
    readonly latencyShare: number;
    /** Share of a stage's alpha spent on the tail test (default 0.05); errors get the rest. */
    readonly tailShare: number;
    /** Share of a stage's alpha spent on the ratio metrics, when there are any, split equally (default 0.05; taken from errors'). */
    readonly ratioShare: number;
    /** The multiple of stable's share (or, for a ratio whose drop is bad, its inverse) that counts as a ratio metric's regression (default 2). */
    readonly ratioFactor: number;
    /**
     * Bound on false promotions at the last compared stage (default 0.05): the PROMOTE that takes the
     * canary to all traffic. With evidence carried, it bounds the whole chain's: whatever the stages
     * before did, a canary at H1 ends promoted with probability at most β.
     */
    readonly beta: number;
    /**
     * Bound on false promotions at a compared stage between the first and the last (default 0.3): how
     * sure a stage must be before the canary takes the next stage's share. Looser than `beta`, because
     * the chain goes on: a regression let through is judged again at the next stage, where traffic is 2
     * to 5 times the share and its evidence comes that much sooner, and the last stage holds the rollout
     * to `beta`. At 0.05 a healthy rollout spent about two thirds of its time proving the 5% stage.
     */
    readonly stageBeta: number;
    /**
     * Bound on false promotions at the first compared stage (default 0.4), looser still: its share of the
     * traffic is the smallest, so its evidence comes slowest (at 1 request/s, a 5% canary gets one a
     * second), and what it guards is a small share's exposure; the stages after it, on 5 and 10 times
     * the share, catch what it lets through. At 0.2, 4% of the low-traffic rollouts ran out of their
     * hour at the 5% stage; at 0.4, 1.3% (`npm run bench`, docs/gate.md).
     */
    readonly firstStageBeta: number;
    /** The error-rate multiple of stable's that counts as a regression (default 2). */
    readonly errorFactor: number;
    /**
     * A smaller error-rate multiple that the PROMOTE of every compared stage after the first also rules
     * out, at that stage's β, over the chain's evidence (default 1.5): a test designed at 2× sees 1.5×
     * with a drift near 0 and promotes it about a quarter of the time. Ruling it out takes many errors,
     * so it is done where they come fastest: per error the evidence against 1.5× is 0.0044 at a 5%
     * share, 0.0164 at 25% and 0.0204 at 50% (0.5% errors). Split over the stages after the first, each
     * stage's deadline carries part of it (`confirmRequired`), and the last holds it to `beta`.
     */
    readonly confirmFactor: number;
    /**
     * The weight of `confirmFactor`'s alternative in the errors test's rollback side, a mixture with
     * `errorFactor`'s (default 0.2): it rolls a 1.5× canary back on fewer requests, at the cost of at
     * most ln(1/(1 - 0.2)) = 0.22 in evidence against a 2× one (`npm run bench`).
     */
    readonly confirmWeight: number;
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
     * Set when the metric source has no latency histogram (CloudWatch's ALB metrics): why the latency
     * is not judged. The latency and tail tests are then not run, a PROMOTE does not wait for them,
     * and the answer's reasons say so; the errors test keeps its own share of α (the unspent shares
     * only make a false rollback rarer).
     */
    readonly latencyUnjudged?: string;
    /**
     * The quantile's bound is never below this many seconds (default 0.025). Below it, two identical
     * processes on one busy machine differ by more than a factor of 2 in the share of requests above
     * 5 ms (measured in the end-to-end test: 0.85% against 0.35% over 7,500 requests each): scheduling
     * noise no user feels, which the test would otherwise call a regression.
     */
    readonly minLatencyBound: number;
    /**
     * The least time at a stage before it is promoted, in seconds (default 45): with evidence carried
     * from the stages before, the test could otherwise promote a stage at its first look, before a
     * regression that only shows at this stage's load had time to show. See `judge`.
     */
    readonly minStageSeconds: number;
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
    ratioShare: 0.05,
    ratioFactor: 2,
    beta: 0.05,
    stageBeta: 0.3,
    firstStageBeta: 0.4,
    errorFactor: 2,
    confirmFactor: 1.5,
    confirmWeight: 0.2,
    latencyFactor: 2,
    latencyQuantile: 0.9,
    tailQuantile: 0.99,
    minLatencyBound: 0.025,
    minStageSeconds: 45,
    minStableRequests: 500,
    minBaselineRate: 0.001,
};

/** One sequential test's evidence, as printed. */
export interface TestEvidence {
    /** `errors`, `latency`, `tail`, or a ratio metric's name. */
    readonly name: string;
    /** What counts as an event: 5xx responses, requests slower than the bound, a ratio metric's events. */
    readonly event: string;
    readonly canary: { readonly n: number; readonly events: number; readonly ratio: number; readonly interval: readonly [number, number] };
    readonly stable: { readonly n: number; readonly events: number; readonly ratio: number; readonly interval: readonly [number, number] };
    /** `conditional`: the canary's share of all events; `one-sample`: the canary's rate against the floor. */
    readonly method: "conditional" | "one-sample";
    /** H0 rate (stable's, floored) and H1 rate (factor × H0). */
    readonly p0: number;
    readonly p1: number;
    /** This stage's own log-likelihood ratio, and what was carried from the stages before; `sprt` judges their sum. */
    readonly stageLlr: number;
    readonly carried: number;
    readonly sprt: SprtResult;
    /** The smaller regression the errors test also tests (`confirmFactor`), when it does. */
    readonly confirm?: ConfirmEvidence;
}

/**
 * The second alternative of a test: the canary failing `factor` (smaller than the design's) times as
 * often. Its LLR is kept like the design's, this stage's and carried, under its own key (`llrKey`).
 */
export interface ConfirmEvidence {
    readonly factor: number;
    /** Its key in carried evidence, `errors~1.5`: the factor is part of it, so evidence is only summed for the same alternative. */
    readonly key: string;
    readonly p1: number;
    readonly stageLlr: number;
    readonly carried: number;
    /** carried + stageLlr. */
    readonly llr: number;
    /** Its weight in the rollback side's mixture. */
    readonly weight: number;
    /** Whether a PROMOTE waits for it at this stage (`confirmRequired`: every compared stage after the first). */
    readonly required: boolean;
}

/** The key of a test's alternative at `factor` in carried evidence (`errors~1.5`); the design's is the test's name. */
export const llrKey = (test: string, factor: number) => `${test}~${factor}`;

export interface Judgement {
    readonly decision: Decision;
    readonly reasons: string[];
    /** What a HOLD waits for besides more evidence (the stage's least time, a reset, a missing histogram): the first of `reasons`. */
    readonly holds?: readonly string[];
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
        /** One test per ratio metric that both tracks counted in the window. */
        readonly ratios?: readonly TestEvidence[];
    };
}

/** Every test a judgement ran: errors, latency, tail, then the ratio metrics. */
export function testsOf(j: Judgement): TestEvidence[] {
    const e = j.evidence;
    return [e.errors, e.latency, e.tail, ...(e.ratios ?? [])].filter((t): t is TestEvidence => t !== undefined);
}

/** The HOLD reason of tests that have not reached a boundary yet (the progress line shows how far they are instead). */
export const NOT_ENOUGH_EVIDENCE = "not enough evidence yet for either decision";

/** No requests seen: the counts of a window Prometheus could not give. */
export const EMPTY_COUNTS: TrackCounts = { requests: 0, errors: 0, buckets: [], resets: 0 };

export const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

/** Each test's log-likelihood ratio, by test name (`errors`, `latency`, `tail`, a ratio metric's name). */
export type Llrs = Readonly<Record<string, number>>;

/** The stage being judged. */
export interface StageContext {
    readonly weight: number;
    readonly stages: readonly number[];
    /** How long this stage has been judged, in seconds (the window). */
    readonly seconds: number;
    /**
     * Each test's log-likelihood ratio summed over every compared stage before this one, all passed
     * by this version (`carriedLlrs`): the tests go on from there instead of starting again.
     */
    readonly carried?: Llrs;
}

/**
 * The false-rollback budget of the test that judges a stage. A test's likelihood ratio over the
 * requests of several stages is the product of each stage's, and under "no regression" that product
 * is still one non-negative martingale with mean 1 (each stage's weight is fixed before its requests
 * arrive): Ville's bound holds for the whole chain, however many stages and looks. So the test that
 * starts at the first compared stage and carries its evidence on is one test with one budget, 90% of
 * `alpha`. A test that starts afresh at a later stage (nothing carried: a person's `rollout analyze`,
 * or a stage before it was skipped) is another chance of a false rollback and gets an equal part of the
 * other 10%, so that whichever way each stage is judged the rollout's chance stays at most `alpha`.
 */
export function stageAlpha(policy: DecisionPolicy, stage: Pick<StageContext, "weight" | "stages" | "carried">): number {
    const compared = stage.stages.filter((s) => s < 100);
    if (compared.length <= 1) return policy.alpha;
    const start = stage.carried ? compared[0] : stage.weight;
    const later = (policy.alpha * (1 - policy.firstStageShare)) / (compared.length - 1);
    return start === compared[0] ? policy.alpha * policy.firstStageShare : later;
}

/** Whether the stage is the last compared one, whose PROMOTE takes the canary to all traffic (or to a stage with no stable to compare). */
export function isLastCompared(stage: Pick<StageContext, "weight" | "stages">): boolean {
    return stage.weight >= Math.max(...stage.stages.filter((s) => s < 100));
}

/** Whether the stage is the first compared one (the smallest share of the traffic). */
export function isFirstCompared(stage: Pick<StageContext, "weight" | "stages">): boolean {
    return stage.weight <= Math.min(...stage.stages.filter((s) => s < 100));
}

/** The promote boundary's β at a stage: `beta` at the last compared stage, `firstStageBeta` at the first before it, `stageBeta` between. */
export function stageBetaOf(policy: Pick<DecisionPolicy, "beta" | "stageBeta" | "firstStageBeta">, stage: Pick<StageContext, "weight" | "stages">): number {
    return isLastCompared(stage) ? policy.beta : isFirstCompared(stage) ? policy.firstStageBeta : policy.stageBeta;
}

/** Whether a stage's PROMOTE waits for `confirmFactor` ruled out too: every compared stage after the first, and a rollout's only one. */
export function confirmRequired(stage: Pick<StageContext, "weight" | "stages">): boolean {
    return isLastCompared(stage) || !isFirstCompared(stage);
}

/**
 * H0's rate from stable's counts: its observed rate, floored at `minBaselineRate`; or, when stable's 95%
 * upper bound is below the floor (no or very few events), the floor itself for a one-sample test.
 */
export function baselineRate(events: number, n: number, policy: Pick<DecisionPolicy, "minBaselineRate">): { readonly p0: number; readonly oneSample: boolean } {
    const oneSample = wilson(events, n)[1] < policy.minBaselineRate;
    return { p0: oneSample ? policy.minBaselineRate : Math.max(policy.minBaselineRate, events / n), oneSample };
}

/** The latency test's bound: the fixed `latencyBound`, or the bucket boundary at stable's `latencyQuantile` (never below `minLatencyBound`). */
export const latencyBoundOf = (stable: readonly Bucket[], policy: Pick<DecisionPolicy, "latencyBound" | "latencyQuantile" | "minLatencyBound">) =>
    policy.latencyBound ?? boundAtQuantile(stable, policy.latencyQuantile, policy.minLatencyBound);

/** The rate of the alternative `factor` × `p0`, short of certainty. */
export const alternativeRate = (p0: number, factor: number) => Math.min(0.99, factor * p0);

interface TestSetup {
    readonly factor: number;
    readonly alpha: number;
    /** The promote boundary's β at this stage (`stageBetaOf`). */
    readonly beta: number;
    readonly carried: number;
    /** The smaller alternative (the errors test's `confirmFactor`): its weight, what it carries, whether a PROMOTE waits for it. */
    readonly confirm?: { readonly factor: number; readonly weight: number; readonly carried: number; readonly required: boolean; readonly key: string };
}

/**
 * What each side of a test judges, from the design alternative's LLR (carried + this stage's) and the
 * smaller alternative's, when the test has one: the rollback side their mixture, the promote side the
 * largest of those a PROMOTE waits for (`sequentialTest` says why). The chart derives a judge's
 * answer's sides with it (domain/chart.ts, `answerPoint`).
 */
export function testSides(total: number, confirm?: Pick<ConfirmEvidence, "weight" | "llr" | "required">): { readonly rollbackLlr?: number; readonly promoteLlr?: number } {
    if (!confirm) return {};
    return {
        rollbackLlr: mixtureLlr([
            { weight: 1 - confirm.weight, llr: total },
            { weight: confirm.weight, llr: confirm.llr },
        ]),
        promoteLlr: confirm.required ? Math.max(total, confirm.llr) : total,
    };
}

/**
 * Each test's part of the stage's false-rollback budget `alpha` (`stageAlpha`): the latency and tail
 * tests their shares, the ratio metrics theirs split evenly (when the stack names any), the errors
 * test the rest.
 */
export function testAlphas(policy: DecisionPolicy, alpha: number, ratioCount: number): { readonly errors: number; readonly latency: number; readonly tail: number; readonly ratio: number } {
    return {
        errors: alpha * (1 - policy.latencyShare - policy.tailShare - (ratioCount > 0 ? policy.ratioShare : 0)),
        latency: alpha * policy.latencyShare,
        tail: alpha * policy.tailShare,
        ratio: ratioCount > 0 ? (alpha * policy.ratioShare) / ratioCount : 0,
    };
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
 *
 * With a smaller alternative (`confirm`, k' < k) the same counts give its LLR too. The rollback side
 * judges the mixture (1 - w)·LR_k + w·LR_k' of the chain's likelihood ratios: each chain is a mean-1
 * martingale under H0 (see `stageAlpha`), so their fixed mixture is one, and Ville's bound α holds
 * for it. The promote side needs every alternative it waits for ruled out: LR_k ≤ β, and, where the
 * confirm is required, LR_k' ≤ β; 1/LR_k' is a mean-1 martingale under k', so a canary at k' gets
 * through with probability at most β.
 */
function sequentialTest(name: TestEvidence["name"], event: string, canary: [number, number], stable: [number, number], t: TestSetup, policy: DecisionPolicy): TestEvidence {
    const [n, e] = canary;
    const [sn, se] = stable;
    const boundaries = anytimeBoundaries(t.alpha, t.beta);
    const { p0, oneSample } = baselineRate(se, sn, policy);
    const rateAt = (factor: number) => alternativeRate(p0, factor);
    const llrAt = (factor: number) => (oneSample ? bernoulliLlr(n, e, p0, rateAt(factor)) : bernoulliLlr(e + se, e, n / (n + sn), eventShare(n / (n + sn), factor)));
    const p1 = rateAt(t.factor);
    const llr = llrAt(t.factor);
    const c = t.confirm;
    const confirm: ConfirmEvidence | undefined = c && { factor: c.factor, key: c.key, p1: rateAt(c.factor), stageLlr: llrAt(c.factor), carried: c.carried, llr: c.carried + llrAt(c.factor), weight: c.weight, required: c.required };
    const total = t.carried + llr;
    const sides = testSides(total, confirm);
    return {
        name,
        event,
        method: oneSample ? "one-sample" : "conditional",
        canary: { n, events: e, ratio: n > 0 ? e / n : 0, interval: wilson(e, n) },
        stable: { n: sn, events: se, ratio: sn > 0 ? se / sn : 0, interval: wilson(se, sn) },
        p0,
        p1,
        stageLlr: llr,
        carried: t.carried,
        sprt: sprt(total, boundaries, sides),
        ...(confirm ? { confirm } : {}),
    };
}

/** This stage's own LLR of the alternatives a PROMOTE waits for: the largest, as the promote side judges their totals. */
const ownLlr = (t: TestEvidence) => (t.confirm?.required ? Math.max(t.stageLlr, t.confirm.stageLlr) : t.stageLlr);

/** `LLR x` or `LLR x = carried ± this stage`. */
const llrText = (label: string, total: number, carried: number, own: number) =>
    carried !== 0 ? `${label} ${total.toFixed(2)} = ${carried.toFixed(2)} carried ${own >= 0 ? "+" : "-"} ${Math.abs(own).toFixed(2)} this stage` : `${label} ${total.toFixed(2)}`;

function describe(t: TestEvidence): string {
    const s = t.sprt;
    const verdict = (s.outcome === "H1" ? "regression" : s.outcome === "H0" ? "no regression" : "undecided") + (t.name === "tail" ? ", can only roll back" : "");
    const [lo, hi] = t.canary.interval;
    const c = t.confirm;
    const llr = llrText("LLR", s.llr, t.carried, t.stageLlr);
    const confirm = c ? `; ${llrText(`at ${c.factor}×: LLR`, c.llr, c.carried, c.stageLlr)}${c.required ? ", a PROMOTE waits for it too" : ""}; the mixture's ${s.rollbackLlr.toFixed(2)}` : "";
    return (
        `${t.name}: canary ${t.canary.events}/${t.canary.n} ${t.event} (${pct(t.canary.ratio)}, 95% ${pct(lo)}–${pct(hi)}) vs stable ${pct(t.stable.ratio)}; ` +
        `${verdict} (${llr}${confirm}, rollback at ${s.boundaries.upper.toFixed(2)}, promote at ${s.boundaries.lower.toFixed(2)}, ${Math.round(100 * s.progress)}% of the way)`
    );
}

/**
 * One latency test: the share of requests slower than `bound` (a bucket boundary both tracks have),
 * or undefined when there is no such bound.
 */
function latencyTest(name: "latency" | "tail", bound: number | undefined, canary: TrackCounts, stable: TrackCounts, policy: DecisionPolicy, t: Omit<TestSetup, "factor">): TestEvidence | undefined {
    const timeable = bound !== undefined && totalOf(canary.buckets) > 0 && canary.buckets.some((b) => b.le === bound) && stable.buckets.some((b) => b.le === bound);
    if (!timeable) return undefined;
    return sequentialTest(name, `slower than ${bound}s`, [totalOf(canary.buckets), countAbove(canary.buckets, bound)], [totalOf(stable.buckets), countAbove(stable.buckets, bound)], { ...t, factor: policy.latencyFactor }, policy);
}

/**
 * A ratio metric's test: the canary's share of events against stable's, by the same conditional
 * test as the errors, with H1 at `ratioFactor` times stable's share, or at its inverse for a metric
 * whose drop is the regression (half the conversions).
 */
function ratioTest(r: RatioMetric, canary: TrackCounts, stable: TrackCounts, policy: DecisionPolicy, t: Omit<TestSetup, "factor">): TestEvidence {
    // increase() extrapolates each counter on its own: events can come out a little above their total.
    const pair = (c: RatioCounts): [number, number] => [c.total, Math.min(c.events, c.total)];
    const c = canary.ratios?.[r.name] as RatioCounts;
    const s = stable.ratios?.[r.name] as RatioCounts;
    const factor = r.bad === "up" ? policy.ratioFactor : 1 / policy.ratioFactor;
    return sequentialTest(r.name, `${r.events} per ${r.total}${r.bad === "down" ? ", lower is worse" : ""}`, pair(c), pair(s), { ...t, factor }, policy);
}

/**
 * The decision: ROLLBACK when any test finds a regression; PROMOTE only when the errors, latency and
 * ratio tests find none (the tail test can only roll back), with enough stable requests for a baseline and
 * no counter reset in the window; HOLD otherwise.
 *
 * With evidence carried from the stages before (`stage.carried`), each test judges the sum of the
 * carried and this stage's log-likelihood ratios, so a healthy canary does not prove itself again
 * from nothing at every stage. Two things keep a later stage from passing on the earlier stages'
 * evidence alone: the stage runs at least `minStageSeconds`, and this stage's own evidence must lean
 * toward "no regression" (its own LLR at most 0) in every test a PROMOTE waits for. A regression that
 * only shows at this stage's load pushes its own LLR up, so it holds the stage and, given time, rolls
 * it back. Both only add conditions to a PROMOTE: the bound on false promotions still holds, and the
 * bound on false rollbacks is the chain's (`stageAlpha`).
 *
 * The first compared stage promotes at `firstStageBeta`, the stages after it at `stageBeta`, the last
 * at `beta`; from the second on the errors test must also rule out `confirmFactor` (`sequentialTest`).
 */
export function judge(canary: TrackCounts, stable: TrackCounts, stage: StageContext, policy: DecisionPolicy = DEFAULT_POLICY, ratios: readonly RatioMetric[] = []): Judgement {
    const alpha = stageAlpha(policy, stage);
    // Own keys only: a test named like an Object.prototype member (`constructor`) has nothing carried.
    const carried = (name: string) => (stage.carried !== undefined && Object.hasOwn(stage.carried, name) ? stage.carried[name] : 0);
    const base = { canary, stable };
    if (canary.requests <= 0) return { ...base, decision: "HOLD", reasons: ["no canary requests in the window yet"], evidence: {} };
    if (stable.requests < policy.minStableRequests) {
        return { ...base, decision: "HOLD", reasons: [`stable served ${stable.requests} requests in the window; the baseline needs ${policy.minStableRequests}`], evidence: {} };
    }
    const alphas = testAlphas(policy, alpha, ratios.length);
    const beta = stageBetaOf(policy, stage);
    const confirmKey = llrKey("errors", policy.confirmFactor);
    const confirm = { factor: policy.confirmFactor, weight: policy.confirmWeight, carried: carried(confirmKey), required: confirmRequired(stage), key: confirmKey };
    const errors = sequentialTest("errors", "5xx", [canary.requests, canary.errors], [stable.requests, stable.errors], { factor: policy.errorFactor, alpha: alphas.errors, beta, carried: carried("errors"), confirm }, policy);
    const judged = policy.latencyUnjudged === undefined;
    const bound = judged ? latencyBoundOf(stable.buckets, policy) : undefined;
    const latency = judged ? latencyTest("latency", bound, canary, stable, policy, { alpha: alphas.latency, beta, carried: carried("latency") }) : undefined;
    const tailAt = judged && policy.latencyBound === undefined ? boundAtQuantile(stable.buckets, policy.tailQuantile, policy.minLatencyBound) : undefined;
    const tail = judged && tailAt !== bound ? latencyTest("tail", tailAt, canary, stable, policy, { alpha: alphas.tail, beta, carried: carried("tail") }) : undefined;
    const counted = ratios.filter((r) => (canary.ratios?.[r.name]?.total ?? 0) > 0 && (stable.ratios?.[r.name]?.total ?? 0) > 0);
    const ratioTests = counted.map((r) => ratioTest(r, canary, stable, policy, { alpha: alphas.ratio, beta, carried: carried(r.name) }));
    const evidence = { errors, latency, latencyBound: bound, ...(tail ? { tail, tailBound: tailAt } : {}), ...(ratios.length > 0 ? { ratios: ratioTests } : {}) };
    // What a PROMOTE waits for; the tail test can only add a ROLLBACK.
    const tests = [errors, ...(latency ? [latency] : []), ...ratioTests];
    const all = tail ? [...tests, tail] : tests;
    const reasons = [...all.map(describe), ...(judged ? [] : [`latency not judged: ${policy.latencyUnjudged}`])];
    if (all.some((t) => t.sprt.outcome === "H1")) return { ...base, decision: "ROLLBACK", reasons, evidence };
    const holds: string[] = [];
    if (judged && !latency) holds.push(bound === undefined ? "no latency histogram for stable in the window" : `no latency bucket le=${bound} for both tracks`);
    for (const r of ratios.filter((r) => !counted.includes(r))) holds.push(`${r.name}: no ${r.total} counted for both tracks in the window`);
    if (canary.resets + stable.resets > 0) holds.push(`${canary.resets + stable.resets} counter reset(s) in the window (pods restarted): not promoting on interrupted counts`);
    if (tests.some((t) => t.sprt.outcome === "continue")) holds.push(NOT_ENOUGH_EVIDENCE);
    for (const t of tests.filter((t) => stage.carried !== undefined && ownLlr(t) > 0)) {
        holds.push(`${t.name}: this stage's own evidence leans toward a regression (LLR +${ownLlr(t).toFixed(2)}); the stages before do not promote it alone`);
    }
    if (stage.seconds < policy.minStageSeconds) holds.push(`the stage has been judged for ${stage.seconds}s; it is promoted after at least ${policy.minStageSeconds}s at its weight`);
    return holds.length > 0 ? { ...base, decision: "HOLD", reasons: [...holds, ...reasons], holds, evidence } : { ...base, decision: "PROMOTE", reasons, evidence };
}
