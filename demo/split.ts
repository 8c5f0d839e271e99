/**
 * The split a router made, as the lab's load saw it: of the requests sent through the Gateway after the
 * route showed the stage's weights, how many each version answered, and whether the canary's share is
 * what the weight says. A weighted round robin (Traefik's, pkg/server/service/loadbalancer/wrr) is
 * exact over a full cycle, but requests go out from several sockets and a few were in flight when the
 * route moved, so the canary's count is held to a binomial bound, not to a fixed tolerance: k ~
 * Binomial(n, w/100), within Z standard deviations of n·w/100 (plus one request), and exactly 0 or n at
 * weights 0 and 100.
 */

/** How many standard deviations the count may be from its mean: a false alarm about once in 150,000 stages (two-sided normal tail). */
export const SPLIT_Z = 4.5;

export interface Split {
    /** Requests the canary's version answered. */
    readonly canary: number;
    /** Requests answered by any version (the router's own answers, `status <code>`, are not counted). */
    readonly total: number;
    /** canary / total, or undefined with no requests. */
    readonly share?: number;
    /** The weight's count and the bound around it: |canary - expected| <= allowed. */
    readonly expected: number;
    readonly allowed: number;
    readonly withinBound: boolean;
}

/** The counts `after` minus `before` (answers counted since a moment), by key. */
export function countsSince(after: ReadonlyMap<string, number>, before: ReadonlyMap<string, number>): Map<string, number> {
    return new Map([...after].map(([k, n]) => [k, n - (before.get(k) ?? 0)] as [string, number]).filter(([, n]) => n > 0));
}

/** The canary's share of `served` (answers by version) against `weight` (0-100). */
export function split(served: ReadonlyMap<string, number>, canaryVersion: string, weight: number): Split {
    if (!(weight >= 0 && weight <= 100)) throw new RangeError(`split: weight ${weight} is not within 0..100`);
    let canary = 0;
    let total = 0;
    for (const [key, n] of served) {
        if (key.startsWith("status ")) continue;
        total += n;
        if (key === canaryVersion) canary += n;
    }
    const p = weight / 100;
    const expected = total * p;
    const allowed = SPLIT_Z * Math.sqrt(total * p * (1 - p)) + (p === 0 || p === 1 ? 0 : 1);
    return { canary, total, share: total > 0 ? canary / total : undefined, expected, allowed, withinBound: total > 0 && Math.abs(canary - expected) <= allowed };
}

/** `canary 4.9% of 12,345 (weight 5%, bound ±0.9%)`. */
export function describeSplit(s: Split, weight: number): string {
    if (s.total === 0 || s.share === undefined) return "no requests answered";
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    return `canary ${pct(s.share)} of ${s.total.toLocaleString("en-US")} (weight ${weight}%, bound ±${pct(s.allowed / s.total)})${s.withinBound ? "" : ": OUT OF BOUND"}`;
}
