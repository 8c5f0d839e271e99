/**
 * The anytime-valid test of two Poisson counting processes that Netflix's canary analysis uses
 * (M. Lindon, C. Sanden, V. Shirikian, "Rapid Regression Detection in Software Deployments through
 * Sequential Testing", KDD 2022, arXiv 2205.14762, which rests its count metrics on M. Lindon, A. Malek,
 * "Anytime-Valid Inference for Multinomial Count Data", NeurIPS 2022, arXiv 2011.03567, the Poisson
 * counting process test; Netflix Tech Blog, "Sequential A/B Testing Keeps the World Streaming Netflix,
 * Part 2: Counting Processes", 2024).
 *
 * Canary and stable errors arrive as time-inhomogeneous Poisson processes with intensities
 * ρ·r·λ(t) and (1 - ρ)·λ(t), ρ the canary's share of the traffic. Whatever λ(t) does, given that an
 * error arrived it is the canary's with probability θ = ρr / (ρr + 1 - ρ): the counts so far, canary x
 * of n, are a Bernoulli sequence in θ, and "the canary fails as often as stable" is θ = ρ. The test
 * mixes the alternative over a conjugate prior θ ~ Beta(kρ, k(1 - ρ)) (the Dirichlet of the papers,
 * with two categories; equivalently gamma priors on the two intensities) and compares the mixture's
 * marginal likelihood with the likelihood at a point θ₀:
 *
 *     BF(θ₀) = B(kρ + x, k(1 - ρ) + n - x) / B(kρ, k(1 - ρ)) / (θ₀^x (1 - θ₀)^(n - x)).
 *
 * Under θ = θ₀ this is a non-negative martingale with mean 1, so by Ville's inequality it ever reaches
 * 1/α with probability at most α, at any number of looks. The set of θ₀ it has not rejected is the
 * papers' confidence sequence; the benchmark reads it at the two points a canary decision needs.
 */

/** ln Γ(x) for x > 0: Lanczos' approximation with g = 7 and Godfrey's nine coefficients (about 15 digits). */
export function logGamma(x: number): number {
    if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
    const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
    const z = x - 1;
    const t = z + 7.5;
    const sum = c.slice(1).reduce((a, ci, i) => a + ci / (z + i + 1), c[0]);
    return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** ln B(a, b). */
export const logBeta = (a: number, b: number) => logGamma(a) + logGamma(b) - logGamma(a + b);

/** ln BF(θ₀) of `x` canary errors out of `n`, the prior centred on the traffic share `rho` with concentration `k`. */
export function logBayesFactor(x: number, n: number, rho: number, k: number, theta0: number): number {
    const mixture = logBeta(k * rho + x, k * (1 - rho) + n - x) - logBeta(k * rho, k * (1 - rho));
    return mixture - (x * Math.log(theta0) + (n - x) * Math.log(1 - theta0));
}

/** The canary's share of the errors when it fails `ratio` times as often as stable at traffic share `rho`. */
export const errorShare = (rho: number, ratio: number) => (rho * ratio) / (rho * ratio + 1 - rho);

export type CountDecision = "ROLLBACK" | "PROMOTE" | "HOLD";

export interface CountTest {
    /** The canary's share of the traffic, 0..1. */
    readonly rho: number;
    /** The regression to rule out before promoting: the canary failing `ratio` × as often. */
    readonly ratio: number;
    readonly alpha: number;
    readonly beta: number;
    /** The prior's concentration k. */
    readonly k: number;
}

/**
 * One look: ROLLBACK when "as often as stable" (θ = ρ) is rejected at α with the canary's share of
 * the errors above ρ; PROMOTE when "`ratio` × as often" is rejected at β with its share below that.
 * Both are rejections by the same mixture, so each holds its bound however often it is looked at.
 */
export function countDecision(canaryErrors: number, stableErrors: number, t: CountTest): CountDecision {
    const n = canaryErrors + stableErrors;
    const share = n > 0 ? canaryErrors / n : 0;
    const bf = (theta0: number) => logBayesFactor(canaryErrors, n, t.rho, t.k, theta0);
    if (share > t.rho && bf(t.rho) >= Math.log(1 / t.alpha)) return "ROLLBACK";
    const worse = errorShare(t.rho, t.ratio);
    if (share < worse && bf(worse) >= Math.log(1 / t.beta)) return "PROMOTE";
    return "HOLD";
}
