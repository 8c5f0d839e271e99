/**
 * The judge's evidence as Prometheus metrics: each answer to a run's question sets that run's series
 * (`JUDGE_SERIES`), which `GET /metrics` serves from a registry of the judge's own (the global default
 * would mix in whatever else the process registers).
 *
 * Cardinality stays bounded: a run's series are dropped `RUN_TTL_MS` after its last question, and at
 * most `MAX_RUNS` runs are kept (the least recently asked go first). Argo asks a live run every
 * interval, so an hour without a question is a run that has ended; its last values stay in
 * Prometheus' history, and a long-lived judge serving many apps and stages does not grow without end.
 * A run is its namespace, app and name together, so one app's run never replaces or drops the series
 * of another app's run of the same name.
 */
import * as client from "prom-client";
import { testsOf, type Decision, type Judgement } from "../domain/decide";
import type { Forecast } from "../domain/forecast";
import { JUDGE_RUN_LABELS, JUDGE_SERIES, Scope } from "../domain/promql";

export const RUN_TTL_MS = 60 * 60 * 1000;
export const MAX_RUNS = 100;
const DECISIONS: readonly Decision[] = ["PROMOTE", "HOLD", "ROLLBACK"];

/** One run's identity, the labels every one of its series has. */
export interface RunLabels {
    readonly run: string;
    readonly app: string;
    readonly namespace: string;
    readonly weight: string;
}

/** One test's values as exported: what the judge's answer says for that test. */
export interface TestValues {
    readonly test: string;
    readonly llr: number;
    readonly carried: number;
    readonly rollbackBound: number;
    readonly promoteBound: number;
    readonly canaryRequests: number;
    readonly stableRequests: number;
}

/** The per-test values of a judgement, in the order `testsOf` gives them. */
export function testValues(j: Judgement): TestValues[] {
    return testsOf(j).map((t) => ({
        test: t.name,
        llr: t.sprt.llr,
        carried: t.carried,
        rollbackBound: t.sprt.boundaries.upper,
        promoteBound: t.sprt.boundaries.lower,
        canaryRequests: t.canary.n,
        stableRequests: t.stable.n,
    }));
}

/** A run's key: namespace, app and run name (DNS labels and an object name, none with a `/`). */
const runKey = (scope: Scope, run: string) => `${scope.namespace}/${scope.app}/${run}`;

/** The runs (keys) to drop: asked last more than `ttlMs` ago, then the least recently asked beyond `max`. */
export function runsToDrop(lastAsked: ReadonlyMap<string, number>, nowMs: number, ttlMs: number, max: number): string[] {
    const byRecency = [...lastAsked.entries()].sort((a, b) => b[1] - a[1]);
    return byRecency.filter(([, at], i) => nowMs - at > ttlMs || i >= max).map(([key]) => key);
}

type PerTest = Exclude<keyof TestValues, "test">;
const PER_TEST: Record<PerTest, { name: string; help: string }> = {
    llr: { name: JUDGE_SERIES.llr, help: "the log-likelihood ratio of the test's design alternative, carried + this stage's (the errors test's rollback side judges its mixture with the 1.5x alternative, its promote side at the last compared stage both)" },
    carried: { name: JUDGE_SERIES.carried, help: "the log-likelihood ratio carried in from the stages this version passed" },
    rollbackBound: { name: JUDGE_SERIES.rollbackBound, help: "ln(1/alpha): at or above it the test rolls back" },
    promoteBound: { name: JUDGE_SERIES.promoteBound, help: "ln(beta) of the stage (beta at the last compared stage, firstStageBeta at the first, stageBeta between): at or below it the test finds no regression" },
    canaryRequests: { name: JUDGE_SERIES.canaryRequests, help: "canary requests the test counted in the window" },
    stableRequests: { name: JUDGE_SERIES.stableRequests, help: "stable requests the test counted in the window" },
};

/** The per-test values, each exported as the `JUDGE_SERIES` entry of the same key. */
export const TEST_SERIES = Object.keys(PER_TEST) as PerTest[];

/** The judge's registry and the runs it holds series for. */
export class JudgeMetrics {
    readonly registry = new client.Registry();
    private readonly perTest: Record<PerTest, client.Gauge<string>>;
    private readonly decision: client.Gauge<string>;
    private readonly forecastSeconds: client.Gauge<string>;
    private readonly deadlineLeft: client.Gauge<string>;
    private readonly inTimeChance: client.Gauge<string>;
    private readonly rolloutInTimeChance: client.Gauge<string>;
    private readonly lastAsked: client.Gauge<string>;
    /** Each run's labels, the tests it has series for, and when it was last asked (ms), by `runKey`. */
    private readonly runs = new Map<string, { labels: RunLabels; tests: Set<string>; at: number }>();

    constructor() {
        const gauge = (name: string, help: string, extra: string[] = []) => new client.Gauge({ name, help, labelNames: [...JUDGE_RUN_LABELS, ...extra], registers: [this.registry] });
        this.perTest = Object.fromEntries(Object.entries(PER_TEST).map(([k, g]) => [k, gauge(g.name, g.help, ["test"])])) as Record<PerTest, client.Gauge<string>>;
        this.decision = gauge(JUDGE_SERIES.decision, "1 for the run's current decision (PROMOTE, HOLD or ROLLBACK), 0 for the others", ["decision"]);
        this.forecastSeconds = gauge(JUDGE_SERIES.forecastSeconds, "expected seconds to a decision at the recent traffic");
        this.deadlineLeft = gauge(JUDGE_SERIES.deadlineLeftSeconds, "seconds left of the stage's deadline");
        this.inTimeChance = gauge(JUDGE_SERIES.inTimeChance, "the chance of a decision before the stage's deadline at the recent traffic, 0 to 1");
        this.rolloutInTimeChance = gauge(JUDGE_SERIES.rolloutInTimeChance, "the chance that this stage and every later compared stage decides before its deadline at the recent traffic, 0 to 1");
        this.lastAsked = gauge(JUDGE_SERIES.lastAsked, "when the run was last asked about, Unix seconds");
    }

    /** Sets a run's series from one answer, replacing what the run had, then drops expired runs. */
    record(run: string, scope: Scope, weight: number, j: Judgement, f: Forecast | undefined, now: Date): void {
        const labels: RunLabels = { run, app: scope.app, namespace: scope.namespace, weight: String(weight) };
        const key = runKey(scope, run);
        this.remove(key);
        const tests = testValues(j);
        for (const t of tests) for (const k of TEST_SERIES) this.perTest[k].set({ ...labels, test: t.test }, t[k]);
        for (const d of DECISIONS) this.decision.set({ ...labels, decision: d }, d === j.decision ? 1 : 0);
        if (f?.seconds !== null && f?.seconds !== undefined) this.forecastSeconds.set({ ...labels }, f.seconds);
        if (f?.deadlineLeftSeconds !== undefined) this.deadlineLeft.set({ ...labels }, f.deadlineLeftSeconds);
        if (f?.inTimeChance !== null && f?.inTimeChance !== undefined) this.inTimeChance.set({ ...labels }, f.inTimeChance);
        if (f?.rollout?.inTimeChance !== null && f?.rollout?.inTimeChance !== undefined) this.rolloutInTimeChance.set({ ...labels }, f.rollout.inTimeChance);
        this.lastAsked.set({ ...labels }, now.getTime() / 1000);
        this.runs.set(key, { labels, tests: new Set(tests.map((t) => t.test)), at: now.getTime() });
        this.prune(now);
    }

    /** Drops the series of runs past their time or beyond the cap. */
    prune(now: Date): void {
        const at = new Map([...this.runs.entries()].map(([key, r]) => [key, r.at]));
        for (const key of runsToDrop(at, now.getTime(), RUN_TTL_MS, MAX_RUNS)) this.remove(key);
    }

    private remove(key: string): void {
        const r = this.runs.get(key);
        if (!r) return;
        for (const test of r.tests) for (const g of Object.values(this.perTest)) g.remove({ ...r.labels, test });
        for (const d of DECISIONS) this.decision.remove({ ...r.labels, decision: d });
        for (const g of [this.forecastSeconds, this.deadlineLeft, this.inTimeChance, this.rolloutInTimeChance]) g.remove({ ...r.labels });
        this.lastAsked.remove({ ...r.labels });
        this.runs.delete(key);
    }
}
