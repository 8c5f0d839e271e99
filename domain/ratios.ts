/**
 * The names of the judge's tests: its own, and the ratio metrics a stack adds. Below both the judge
 * (`decide.ts`, which runs the tests) and PromQL (`promql.ts`, which queries a ratio's counters and
 * reads its query-parameter form), so neither has to import the other.
 */

/** The judge's own tests; a ratio metric may not take one of their names (evidence is keyed by name). */
export const BUILT_IN_TESTS: readonly string[] = ["errors", "latency", "tail"];

/**
 * A name every object already has through Object.prototype (`constructor` is the one a DNS label can
 * spell): evidence is keyed by test name, so a test named so would read a function where it has no
 * evidence of its own. Refused as a test's name wherever one is given.
 */
export const isPrototypeName = (name: string): boolean => name in Object.prototype;

/**
 * The most ratio metrics a stage judges (`canary:analysis.ratios`, the judge's `ratio=` parameters):
 * each is two Prometheus queries per ask, so the cap bounds the work one ask makes (4 + 2 × 8 queries).
 */
export const MAX_RATIOS = 8;

/**
 * A business metric judged like the errors (`canary:analysis.ratios`): a pair of the app's counters,
 * events and their total (checkouts failed and checkouts, conversions and visits), and which way is bad.
 */
export interface RatioMetric {
    /** The test's name, in reasons, evidence and the dashboard. */
    readonly name: string;
    /** The counter of events, e.g. `checkouts_failed_total`. */
    readonly events: string;
    /** The counter of what the events are a share of, e.g. `checkouts_total`. */
    readonly total: string;
    /** `up`: a higher share is the regression (failures); `down`: a lower one is (conversions). */
    readonly bad: "up" | "down";
}
