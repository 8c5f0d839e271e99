/**
 * The statistics of the canary decision: sequential likelihood-ratio tests on counts.
 *
 * Why sequential and not a fixed-horizon test or a rate snapshot: `rollout analyze` is asked again and
 * again while a stage runs, and each look at a fixed-horizon test is another chance of a false alarm.
 * A test's statistic is the log likelihood ratio of "the canary fails k times as often as stable"
 * (H1) against "as often as stable" (H0) over every canary request so far. Under H0 the likelihood
 * ratio is a non-negative martingale with mean 1, so by Ville's inequality it ever reaches 1/α with
 * probability at most α, however often and whenever it is looked at; symmetrically 1/LR under H1
 * ever reaches 1/β with probability at most β. Those are the boundaries used (`anytimeBoundaries`):
 * false rollback ≤ α and false promote ≤ β, for any number of looks. Wald's classic boundaries
 * (`waldBoundaries`) are within a few percent of them and give the expected sample sizes (`waldAsn`)
 * the benchmark compares against.
 *
 * The rollback side may judge a mixture of alternatives instead of one (`mixtureLlr`): a fixed
 * weighted sum of likelihood ratios, each a mean-1 martingale under H0, is itself one, so Ville's
 * bound holds for it unchanged (the mixture's weights are fixed before the first request). It gives
 * up a little against the heaviest alternative (ln of its weight, at most) and gains much against
 * a smaller regression, which a single alternative at k sees with a drift near 0.
 *
 * H0's rate is stable's observed rate over the same window (stable serves the other 100 - w % of
 * traffic, so it is measured far more precisely than the canary; the analysis insists on a minimum
 * of stable requests before it trusts it).
 *
 * Reference: A. Wald, "Sequential Tests of Statistical Hypotheses", Ann. Math. Statist. 16 (1945);
 * J. Ville (1939) for the maximal inequality; H. Robbins, "Statistical methods related to the law of
 * the iterated logarithm", Ann. Math. Statist. 41 (1970), for mixtures of likelihood ratios.
 */

/** Log-likelihood-ratio boundaries: at or above `upper` accept H1, at or below `lower` accept H0. */
export interface Boundaries {
    readonly upper: number;
    readonly lower: number;
}

/** Wald's approximate boundaries: A = ln((1-β)/α), B = ln(β/(1-α)). */
export function waldBoundaries(alpha: number, beta: number): Boundaries {
    return { upper: Math.log((1 - beta) / alpha), lower: Math.log(beta / (1 - alpha)) };
}

/** Boundaries valid at any stopping time (Ville): ln(1/α) and ln(β). */
export function anytimeBoundaries(alpha: number, beta: number): Boundaries {
    return { upper: Math.log(1 / alpha), lower: Math.log(beta) };
}

/** One Bernoulli observation's log likelihood ratio, for an event (error) and a non-event. */
export function bernoulliSteps(p0: number, p1: number): { readonly event: number; readonly nonEvent: number } {
    return { event: Math.log(p1 / p0), nonEvent: Math.log((1 - p1) / (1 - p0)) };
}

/** The log likelihood ratio of `events` in `n` trials, H1: p = p1 against H0: p = p0. */
export function bernoulliLlr(n: number, events: number, p0: number, p1: number): number {
    const s = bernoulliSteps(p0, p1);
    return events * s.event + (n - events) * s.nonEvent;
}

/**
 * Wald's expected sample size (average sample number) of the Bernoulli SPRT with Wald's boundaries,
 * when the true rate is p1 (`"H1"`) or p0 (`"H0"`): E[N] = (P(accept H1)·A + P(accept H0)·B) / E[z].
 */
export function waldAsn(p0: number, p1: number, alpha: number, beta: number, under: "H0" | "H1"): number {
    const { upper, lower } = waldBoundaries(alpha, beta);
    const acceptH1 = under === "H1" ? 1 - beta : alpha;
    return (acceptH1 * upper + (1 - acceptH1) * lower) / drift(p0, p1, under === "H1" ? p1 : p0);
}

/** The expected log likelihood ratio one observation adds when the true rate is `p` (negative under H0, positive under H1). */
export function drift(p0: number, p1: number, p: number): number {
    const s = bernoulliSteps(p0, p1);
    return p * s.event + (1 - p) * s.nonEvent;
}

/** The canary's share of the events when it fails `factor` times as often as stable and serves `share` of the requests. */
export const eventShare = (share: number, factor: number) => (factor * share) / (factor * share + 1 - share);

/**
 * The expected log likelihood ratio one canary request adds, H1 at `p1` = k·`p0`, when the canary
 * fails at `p` (default `p0`: negative; at `p1`: positive). One-sample (`share` undefined): the
 * Bernoulli drift. Conditional on the events (`share`, the canary's share of the requests): each
 * canary request brings p + p0·(1 - share)/share events of either track, each adding the drift of
 * θ1 = `eventShare(share, k)` against θ0 = share when the canary's share of them is
 * `eventShare(share, p/p0)`. Stable's rate is measured, not known, so a canary request informs less:
 * at H0, 91% of the one-sample drift at 5%, 65% at 25%, 38% at 50% (p0 = 0.5%, k = 2).
 */
export function requestDrift(p0: number, p1: number, share?: number, p = p0): number {
    if (share === undefined) return drift(p0, p1, p);
    const events = p + (p0 * (1 - share)) / share;
    return events * drift(share, eventShare(share, p1 / p0), eventShare(share, p / p0));
}

/**
 * The variance of the log likelihood ratio one canary request adds, as `requestDrift` defines the
 * test and the rate `p`. One-sample: a Bernoulli step, p(1 - p)·(event - nonEvent)². Conditional: a
 * canary request brings a Poisson number of events (mean m, `requestDrift`'s), each a Bernoulli step,
 * so the compound sum's variance is m·E[step²].
 */
export function requestVariance(p0: number, p1: number, share?: number, p = p0): number {
    if (share === undefined) {
        const s = bernoulliSteps(p0, p1);
        return p * (1 - p) * (s.event - s.nonEvent) ** 2;
    }
    const events = p + (p0 * (1 - share)) / share;
    const theta = eventShare(share, p / p0);
    const s = bernoulliSteps(share, eventShare(share, p1 / p0));
    return events * (theta * s.event ** 2 + (1 - theta) * s.nonEvent ** 2);
}

/** Standard normal CDF (Abramowitz and Stegun 7.1.26 through erf, absolute error below 1.5e-7). */
export function phi(x: number): number {
    const t = 1 / (1 + 0.3275911 * (Math.abs(x) / Math.SQRT2));
    const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-(x * x) / 2);
    return x >= 0 ? (1 + y) / 2 : (1 - y) / 2;
}

/**
 * The chance that a random walk with `drift` and `variance` per step toward a level `distance` away
 * reaches it within `steps` steps, as a Brownian motion with that drift and variance does (the first
 * passage time's law is the inverse Gaussian): Φ((μn − d)/σ√n) + e^{2μd/σ²}·Φ((−μn − d)/σ√n).
 * A sequential test's LLR is such a walk; the Brownian motion leaves out the overshoot of the last step
 * and the other boundary, both small for a healthy canary. For an LLR at H0, 2μd/σ² is about d, the
 * distance left (the drift is −KL and the variance about 2·KL), so the factor stays moderate.
 * Reference: e.g. Karatzas and Shreve, "Brownian Motion and Stochastic Calculus" (1991), §3.5.C.
 */
export function reachedWithin(steps: number, distance: number, drift: number, variance: number): number {
    if (distance <= 0) return 1;
    if (steps <= 0) return 0;
    const sd = Math.sqrt(variance * steps);
    const p = phi((drift * steps - distance) / sd) + Math.exp((2 * drift * distance) / variance) * phi((-drift * steps - distance) / sd);
    return Math.min(1, Math.max(0, p));
}

/** One alternative of a mixture: its weight (the weights sum to 1) and its log likelihood ratio. */
export interface MixtureComponent {
    readonly weight: number;
    readonly llr: number;
}

/** ln Σ wᵢ·exp(ℓᵢ), computed without overflow: the log likelihood ratio of the mixture. */
export function mixtureLlr(components: readonly MixtureComponent[]): number {
    const top = Math.max(...components.map((c) => c.llr));
    return top + Math.log(components.reduce((sum, c) => sum + c.weight * Math.exp(c.llr - top), 0));
}

export type SprtOutcome = "H1" | "H0" | "continue";

export interface SprtResult {
    readonly outcome: SprtOutcome;
    /** The design alternative's log likelihood ratio. */
    readonly llr: number;
    /** What the rollback side judges against `upper`: the mixture's log likelihood ratio, or `llr`. */
    readonly rollbackLlr: number;
    /** What the promote side judges against `lower`: the largest LLR of the alternatives it must rule out, or `llr`. */
    readonly promoteLlr: number;
    readonly boundaries: Boundaries;
    /** How far toward a decision, 0..1: the share of the boundary it is heading for (rollback when `llr` ≥ 0). */
    readonly progress: number;
}

/** The outcome of a test: H1 once `rollbackLlr` reaches `upper`, H0 once `promoteLlr` reaches `lower`. */
export function sprt(llr: number, boundaries: Boundaries, sides: { readonly rollbackLlr?: number; readonly promoteLlr?: number } = {}): SprtResult {
    const rollbackLlr = sides.rollbackLlr ?? llr;
    const promoteLlr = sides.promoteLlr ?? llr;
    const outcome: SprtOutcome = rollbackLlr >= boundaries.upper ? "H1" : promoteLlr <= boundaries.lower ? "H0" : "continue";
    const progress = Math.max(0, Math.min(1, llr >= 0 ? rollbackLlr / boundaries.upper : promoteLlr / boundaries.lower));
    return { outcome, llr, rollbackLlr, promoteLlr, boundaries, progress };
}

/** The Wilson score interval of a proportion (z = 1.96 for 95%); [0, 1] with no trials. */
export function wilson(events: number, n: number, z = 1.96): readonly [number, number] {
    if (n <= 0) return [0, 1];
    const p = events / n;
    const z2 = z * z;
    const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
    const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
    return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** A histogram's cumulative buckets: count of observations ≤ `le` (Infinity for `+Inf`). */
export interface Bucket {
    readonly le: number;
    readonly count: number;
}

/** All observations: the +Inf bucket's count (0 without one). */
export function totalOf(buckets: readonly Bucket[]): number {
    return buckets.find((b) => b.le === Infinity)?.count ?? 0;
}

/** Observations above `bound` (a bucket boundary): the +Inf count minus the bound's bucket. */
export function countAbove(buckets: readonly Bucket[], bound: number): number {
    const total = totalOf(buckets);
    const at = buckets.find((b) => b.le === bound);
    if (!at) throw new Error(`no bucket with le=${bound}`);
    return Math.max(0, total - at.count);
}

/**
 * The latency bound to judge by: the smallest finite bucket boundary at or above the reference's
 * `quantile` (stable's p90 for the latency test, p99 for the tail test), so that about 1 - quantile
 * of stable's requests are slower, and not below `floor` seconds.
 */
export function boundAtQuantile(buckets: readonly Bucket[], quantile: number, floor = 0): number | undefined {
    const sorted = [...buckets].sort((a, b) => a.le - b.le);
    const total = totalOf(sorted);
    if (total <= 0) return undefined;
    return sorted.find((b) => b.le !== Infinity && b.le >= floor && b.count >= quantile * total)?.le;
}
