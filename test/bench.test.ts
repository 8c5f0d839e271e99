/**
 * The benchmark's two real peers, piece by piece: the Mann-Whitney U test against a textbook example,
 * Kayenta's classification, scoring and interval verdicts, the Poisson mixture test's statistic against
 * hand-computed values, and both policies on crafted scenarios.
 */
import * as assert from "assert";
import { POLICIES, rng, Scenario } from "../bench/decisions";
import { bucketQuantile, classifyMetric, groupScore, intervalVerdict, KAYENTA_THRESHOLDS } from "../domain/kayenta";
import { ranks, shiftInterval, uStatistic, wilcoxonZ } from "../domain/mannWhitney";
import { countDecision, errorShare, logBayesFactor, logGamma } from "../bench/poissonMixture";
import { phi } from "../domain/stats";
import { close } from "./tools";

// Hollander & Wolfe's depression-scale example (R's ?wilcox.test): x after therapy, y before, n = 10, m = 5.
const HW_X = [0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46];
const HW_Y = [1.15, 0.88, 0.9, 0.74, 1.21];

describe("the Mann-Whitney U test as Kayenta computes it", () => {
    it("ranks ties by their average", () => {
        assert.deepStrictEqual(ranks([30, 10, 20, 20]), [4, 1, 2.5, 2.5]);
        assert.deepStrictEqual(ranks([5, 5, 5]), [2, 2, 2]);
    });

    it("gives the textbook U, its large-sample p-value, and the continuity-corrected statistic", () => {
        const { u, sigma } = uStatistic(HW_X, HW_Y);
        assert.strictEqual(u, 35, "W = 35 in R's example");
        close(sigma, Math.sqrt((10 * 5 * 16) / 12), 1e-12, "σ = √(nm(n+m+1)/12), no ties");
        // Hollander & Wolfe's large-sample approximation, one-sided: p = 0.1103 (R: exact = FALSE, correct = FALSE).
        close(1 - phi((u - 25) / sigma), 0.1103, 5e-4, "p-value");
        // With the half-step continuity correction Kayenta applies: (35 - 25 - 0.5) / 8.165.
        close(wilcoxonZ(HW_X, HW_Y), 9.5 / sigma, 1e-12, "corrected z");
    });

    it("estimates the shift by Hodges-Lehmann and bounds it by the order statistics of the pairwise differences", () => {
        const ci = shiftInterval(HW_X, HW_Y, 1.96);
        // The median of the 50 differences x_i - y_j (R: "difference in location 0.305").
        close(ci.estimate, 0.305, 1e-9, "estimate");
        // 95%: nm/2 - 1.96σ - 1/2 = 8.5, so the 9th smallest and the 9th largest difference.
        close(ci.lower, -0.15, 1e-9, "lower");
        close(ci.upper, 0.76, 1e-9, "upper");
        assert.throws(() => shiftInterval([1, 1], [1, 1], 1.96), /all observations are tied/);
    });
});

describe("Kayenta's judge on crafted per-step values", () => {
    const cases: [string, number[], number[], string][] = [
        ["identical samples pass", [1, 2, 3], [3, 2, 1], "Pass"],
        ["one value across both passes", [0, 0, 0], [0, 0, 0], "Pass"],
        ["no canary values pass", [], [1, 2], "Pass"],
        ["each side a single value, the canary higher: High", [0.01, 0.01, 0.01, 0.01, 0.01], [0.005, 0.005, 0.005, 0.005, 0.005], "High"],
        ["each side a single value, the canary lower: Pass", [0.001, 0.001, 0.001], [0.005, 0.005, 0.005], "Pass"],
        ["a clear shift up: High", [10, 11, 12, 13, 14, 15], [1, 2, 3, 4, 5, 6], "High"],
        ["a clear shift down: Pass (direction increase)", [1, 2, 3, 4, 5, 6], [10, 11, 12, 13, 14, 15], "Pass"],
        ["overlapping samples: Pass", [1, 3, 5, 7, 9], [2, 4, 6, 8, 10], "Pass"],
        // Significant at 98% (z = 3.14, the lower end 0.2 > 0) but inside the tolerance: 0.2 is not above 0.25 × the estimate 1.05.
        ["significant but within the 0.25 tolerance: Pass", [1.1, 1.2, 1.3, 1.4, 1.5, 2.5, 2.6, 2.7, 2.8, 2.9], [0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4], "Pass"],
    ];
    for (const [what, canary, baseline, expected] of cases) {
        it(what, () => assert.strictEqual(classifyMetric(canary, baseline), expected));
    }

    it("scores a group by its passing metrics and ends the analysis as the thresholds say", () => {
        assert.strictEqual(groupScore(["Pass", "High"]), 50);
        assert.strictEqual(groupScore(["Pass", "Pass"]), 100);
        const verdicts: [number, boolean, string][] = [
            [50, false, "fail"],
            [100, false, "continue"],
            [100, true, "pass"],
            [75, true, "pass"],
            [60, true, "fail"],
            [0, true, "fail"],
        ];
        for (const [score, last, expected] of verdicts) assert.strictEqual(intervalVerdict(score, last, KAYENTA_THRESHOLDS), expected, `${score} ${last}`);
    });

    it("reads a step's quantile from the histogram as histogram_quantile does", () => {
        const b = [
            { le: 0.1, count: 50 },
            { le: 0.2, count: 100 },
            { le: Infinity, count: 100 },
        ];
        close(bucketQuantile(b, 0.5), 0.1, 1e-12);
        close(bucketQuantile(b, 0.75), 0.15, 1e-12);
        close(bucketQuantile(b, 0.25), 0.05, 1e-12, "the first bucket from 0");
        close(bucketQuantile([{ le: 0.1, count: 98 }, { le: Infinity, count: 100 }], 0.99), 0.1, 1e-12, "in +Inf: the last finite bound");
        assert.ok(Number.isNaN(bucketQuantile([{ le: Infinity, count: 0 }], 0.99)));
    });
});

describe("the Poisson mixture test of Lindon, Sanden and Shirikian (KDD 2022)", () => {
    it("ln Γ matches factorials and Γ(1/2) = √π", () => {
        close(logGamma(5), Math.log(24), 1e-12);
        close(logGamma(101), [...Array(100).keys()].reduce((a, i) => a + Math.log(i + 1), 0), 1e-9);
        close(logGamma(0.5), 0.5 * Math.log(Math.PI), 1e-12);
    });

    it("its Bayes factor against hand-computed values", () => {
        const cases: [number, number, number, number, number, number][] = [
            // x, n, ρ, k, θ0, BF by hand
            [3, 4, 0.5, 2, 0.5, ((6 * 1) / 120 / 1) * 16], // B(4,2)/B(1,1)/0.5⁴ = 0.8
            [0, 0, 0.05, 100, 0.05, 1], // nothing seen yet
            [1, 1, 0.05, 100, 0.05, 0.05 / 0.05], // one error, at the prior's mean: B(6,95)/B(5,95) = 5/100
            [2, 2, 0.05, 100, 0.05, (5 * 6) / (100 * 101) / 0.0025], // B(7,95)/B(5,95) = 30/10100
        ];
        for (const [x, n, rho, k, theta0, bf] of cases) close(logBayesFactor(x, n, rho, k, theta0), Math.log(bf), 1e-10, `x=${x} n=${n}`);
        close(errorShare(0.05, 2), 0.1 / 1.05, 1e-12, "2× errors at 5%: the canary's share of the errors");
    });

    it("rolls back on a canary's excess of errors, promotes once 2× is ruled out, holds in between", () => {
        const test = { rho: 0.05, ratio: 2, alpha: 0.01 / 3, beta: 0.05, k: 100 };
        const cases: [number, number, string][] = [
            [0, 0, "HOLD"],
            [20, 40, "ROLLBACK"],
            [2, 40, "HOLD"],
            [0, 200, "PROMOTE"],
            [10, 190, "HOLD"],
        ];
        for (const [c, s, expected] of cases) assert.strictEqual(countDecision(c, s, test), expected, `${c} canary and ${s} stable errors`);
    });
});

describe("the two peers as policies on crafted scenarios", () => {
    const track = { errorRate: 0.005, medianSeconds: 0.05, sigma: 0.5 };
    const tenfold: Scenario = { name: "10x", rps: 200, stable: track, canary: { ...track, errorRate: 0.05 }, regression: true };
    const silent: Scenario = { name: "no traffic", rps: 0, stable: track, canary: track, regression: false };

    it("Kayenta rolls back 10× errors at its first judgement (5 minutes) and promotes a canary with no traffic after three 30-minute analyses", () => {
        const kayenta = POLICIES["Kayenta (Mann-Whitney)"];
        assert.deepStrictEqual([kayenta(rng(1), tenfold).outcome, kayenta(rng(1), tenfold).seconds], ["rollback", 300]);
        // Every value 0 on both tracks: identical samples, every metric passes.
        assert.deepStrictEqual(kayenta(rng(1), silent), { outcome: "promote", canaryRequests: 0, seconds: 3 * 1800 });
    });

    it("the Poisson mixture rolls back 10× errors within a minute and decides nothing without errors", () => {
        const mixture = POLICIES["KDD'22 Poisson mixture"];
        const r = mixture(rng(1), tenfold);
        assert.strictEqual(r.outcome, "rollback");
        assert.ok(r.seconds <= 60, `${r.seconds} s`);
        assert.deepStrictEqual(mixture(rng(1), silent), { outcome: "timeout", canaryRequests: 0, seconds: 3600 });
    });
});
