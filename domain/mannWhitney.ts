/**
 * The Mann-Whitney U test (Wilcoxon rank-sum) with the Hodges-Lehmann estimate and its confidence
 * interval, as Kayenta's judge computes them (spinnaker/kayenta, kayenta-mannwhitney/…/MannWhitney.scala
 * at a69573be: `wilcoxonDiff` and `calculateConfidenceInterval`, the normal approximation with the tie
 * and continuity corrections, the same as R's `wilcox.test(x, y, conf.int = TRUE, exact = FALSE)`).
 * Written here in TypeScript from that description; the benchmark's Kayenta peer classifies with it.
 */

/** Ranks 1..n of `values`, ties given their average rank. */
export function ranks(values: readonly number[]): number[] {
    const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
    const out = new Array<number>(values.length);
    for (let i = 0; i < order.length; ) {
        let j = i;
        while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++;
        for (let k = i; k <= j; k++) out[order[k][1]] = (i + j) / 2 + 1;
        i = j + 1;
    }
    return out;
}

/** U of `x` against `y` (pairs with x above y, ties counting one half) and its tie-corrected standard deviation under H0. */
export function uStatistic(x: readonly number[], y: readonly number[]): { u: number; sigma: number } {
    const n = x.length;
    const m = y.length;
    const r = ranks([...x, ...y]);
    const u = r.slice(0, n).reduce((a, b) => a + b, 0) - (n * (n + 1)) / 2;
    const ties = new Map<number, number>();
    for (const v of r) ties.set(v, (ties.get(v) ?? 0) + 1);
    const tieTerm = [...ties.values()].reduce((a, t) => a + t ** 3 - t, 0) / ((n + m) * (n + m - 1));
    return { u, sigma: Math.sqrt(((n * m) / 12) * (n + m + 1 - tieTerm)) };
}

/**
 * The standardized U of `x - mu` against `y`, with the continuity correction (half a step toward 0);
 * NaN when every observation is tied.
 */
export function wilcoxonZ(x: readonly number[], y: readonly number[], mu = 0): number {
    const { u, sigma } = uStatistic(
        x.map((v) => v - mu),
        y,
    );
    const dz = u - (x.length * y.length) / 2;
    return sigma === 0 ? NaN : (dz - Math.sign(dz) * 0.5) / sigma;
}

/**
 * The shift `mu` at which `wilcoxonZ(x - mu, y)` crosses `z`. The statistic is a step function of mu
 * that falls at the pairwise differences x_i - y_j, so the root Kayenta's Brent solver converges to is
 * the difference where it steps across `z`; where it equals `z` over a whole gap, the gap's middle.
 * Below every difference it is at its largest and above every one at its least: Kayenta returns the
 * range's ends there (`findRoot`), and so does this.
 */
function shiftWhereZCrosses(x: readonly number[], y: readonly number[], z: number, diffs: readonly number[]): number {
    const f = (mu: number) => wilcoxonZ(x, y, mu) - z;
    const lo = diffs[0];
    const hi = diffs[diffs.length - 1];
    if (f(lo) <= 0) return lo;
    if (f(hi) >= 0) return hi;
    // Between two neighbouring distinct differences nothing ties, so the midpoints are where to look.
    const mids = diffs.slice(1).map((d, i) => (diffs[i] + d) / 2).filter((_, i) => diffs[i] !== diffs[i + 1]);
    const below = (mid: number) => diffs.filter((d) => d < mid).pop() as number;
    // The first midpoint with f ≤ 0 (f does not rise with mu); none: f steps across z at the last difference.
    let a = 0;
    let b = mids.length;
    while (a < b) {
        const c = (a + b) >> 1;
        if (f(mids[c]) <= 0) b = c;
        else a = c + 1;
    }
    if (a === mids.length) return hi;
    if (f(mids[a]) < 0) return below(mids[a]);
    // f is exactly z from the difference below mids[a] up to the difference where it goes below z.
    const end = mids.findIndex((m, i) => i > a && f(m) < 0);
    return (below(mids[a]) + (end < 0 ? hi : below(mids[end]))) / 2;
}

export interface ShiftInterval {
    readonly lower: number;
    readonly upper: number;
    /** The Hodges-Lehmann estimate of the shift of x against y. */
    readonly estimate: number;
}

/**
 * The confidence interval for the location shift of `x` against `y` at the two-sided level whose
 * normal quantile is `z` (2.3263 for Kayenta's 98%), and the Hodges-Lehmann estimate. Like Kayenta's,
 * it refuses a sample where every observation is tied (the statistic has no spread).
 */
export function shiftInterval(x: readonly number[], y: readonly number[], z: number): ShiftInterval {
    if (Number.isNaN(wilcoxonZ(x, y))) throw new Error("cannot compute a confidence interval when all observations are tied");
    const diffs = x.flatMap((a) => y.map((b) => a - b)).sort((a, b) => a - b);
    // Kayenta's range for mu is [min x - max y, max x - min y], the extreme pairwise differences.
    return {
        lower: shiftWhereZCrosses(x, y, z, diffs),
        upper: shiftWhereZCrosses(x, y, -z, diffs),
        estimate: shiftWhereZCrosses(x, y, 0, diffs),
    };
}
