/**
 * `rollout status --prometheus`: the judge's live decision for the stack's current run, read back from
 * the series the judge exports (`metrics.ts`) as Prometheus scraped them, so it shows what the stage's
 * AnalysisRun is being told without asking the judge (which may be in the cluster only).
 */
import { BUILT_IN_TESTS } from "../domain/ratios";
import { JUDGE_SERIES, judgeRunSeries, latestJudgeRun, Scope } from "../domain/promql";
import { TEST_SERIES, type TestValues } from "./metrics";
import type { PrometheusClient, Sample } from "./prometheus";

export interface LiveRun {
    readonly run: string;
    /** When the judge was last asked about the run. */
    readonly askedAt: string;
    readonly decision: string | null;
    /** The judge's forecast of the seconds to a decision; null with no canary traffic (or no forecast yet). */
    readonly forecastSeconds: number | null;
    /** What was left of the stage's deadline at the last ask; null when the judge was not told the deadline. */
    readonly deadlineLeftSeconds: number | null;
    /** The judge's chance of a decision before the deadline; null without a deadline or canary traffic. */
    readonly inTimeChance: number | null;
    /** The judge's chance that this stage and every later compared stage decides before its deadline; null as `inTimeChance`. */
    readonly rolloutInTimeChance: number | null;
    readonly tests: TestValues[];
}

/** The run's values from its series (`judgeRunSeries`). Pure. */
export function liveRunOf(run: string, askedAtSeconds: number, samples: readonly Sample[]): LiveRun {
    const of = (series: string) => samples.filter((s) => s.labels.__name__ === series);
    const single = (series: string) => of(series)[0]?.value ?? null;
    // The judge's own tests first, in its order, then the ratio metrics by name (Prometheus returns series in no set order).
    const rank = (name: string) => (BUILT_IN_TESTS.includes(name) ? BUILT_IN_TESTS.indexOf(name) : BUILT_IN_TESTS.length);
    const names = [...new Set(of(JUDGE_SERIES.llr).map((s) => s.labels.test))].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
    const tests = names.map((test) => {
        const values = TEST_SERIES.map((k) => [k, of(JUDGE_SERIES[k]).find((s) => s.labels.test === test)?.value ?? NaN]);
        return { test, ...Object.fromEntries(values) } as TestValues;
    });
    return {
        run,
        askedAt: new Date(askedAtSeconds * 1000).toISOString(),
        decision: of(JUDGE_SERIES.decision).find((s) => s.value === 1)?.labels.decision ?? null,
        forecastSeconds: single(JUDGE_SERIES.forecastSeconds),
        deadlineLeftSeconds: single(JUDGE_SERIES.deadlineLeftSeconds),
        inTimeChance: single(JUDGE_SERIES.inTimeChance),
        rolloutInTimeChance: single(JUDGE_SERIES.rolloutInTimeChance),
        tests,
    };
}

/**
 * Whether `s` comes from the scrape target that exported `latest`: every label of `latest` but its name
 * (the run's labels and the target's: `instance`, `pod`, `job`) is the same on `s`.
 */
const sameSource = (latest: Sample) => (s: Sample) => Object.entries(latest.labels).every(([k, v]) => k === "__name__" || s.labels[k] === v);

/**
 * The run the judge was last asked about for `scope` at `weight`, or null when Prometheus has none.
 * With replicas (Prometheus scrapes each), every one that answered the run exports its series, each
 * from its own target: the run's values are read from the replica that answered last (`topk(1)` of the
 * last-ask time across them), never a mix of replicas or an older answer.
 */
export async function liveRun(p: PrometheusClient, scope: Scope, weight: number, now: Date): Promise<LiveRun | null> {
    const [latest] = await p.query(latestJudgeRun(scope, weight), now);
    if (latest === undefined) return null;
    const samples = await p.query(judgeRunSeries(scope, latest.labels.run), now);
    return liveRunOf(latest.labels.run, latest.value, samples.filter(sameSource(latest)));
}
