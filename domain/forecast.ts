/**
 * How long a stage needs to decide at the traffic it gets: the expected canary requests to a decision
 * (the test's drift per canary request, `requestDrift` in `stats.ts`) over the canary's request rate. Pure: the judge adds it to its answer,
 * `rollout status` and `rollout next` print it, the benchmark compares it with what runs really took.
 *
 * It forecasts the PROMOTE of a healthy canary (each test at H0), because that is the decision that
 * takes longest and the one a deadline cuts off: a canary that regresses by the design's factor drifts
 * toward its rollback boundary at least as fast, and a stage that times out on it ends Inconclusive,
 * not promoted.
 */
import { isLastCompared, stageBetaOf, testsOf, type DecisionPolicy, type Judgement, type TestEvidence } from "./decide";
import { requestDrift } from "./stats";

/** What one test still needs, as far as the forecast is concerned. */
export interface ForecastTest {
    readonly name: string;
    /** The LLR the test judges (carried + this stage's), and the stage's own part of it. */
    readonly llr: number;
    readonly stageLlr: number;
    /** Whether evidence was carried in: then the stage's own LLR must also come down to 0 (`judge`). */
    readonly carried: boolean;
    /** The promote boundary, ln(β) at the stage (`stageBetaOf`). */
    readonly lower: number;
    readonly p0: number;
    readonly p1: number;
    /** The canary's share of the requests, for a test conditional on the events; undefined for a one-sample test. */
    readonly share?: number;
    /** The second alternative, when a PROMOTE waits for it at the stage: its H1 rate and LLRs, as `llr`/`stageLlr`. */
    readonly confirm?: { readonly p1: number; readonly llr: number; readonly stageLlr: number };
}

export interface Forecast {
    /** Canary requests a second at the stage's weight, from the recent traffic of both tracks. */
    readonly canaryRate: number;
    /** Expected further canary requests until the slowest test a PROMOTE waits for reaches its boundary. */
    readonly canaryRequests: number;
    /** That test's name (undefined when none needs more). */
    readonly test?: string;
    /** Expected seconds from now to a decision (at least the stage's least time left); null: never at no traffic. */
    readonly seconds: number | null;
    /** The stage's deadline (`canary:analysis.deadline`) and how much of it is spent, when known. */
    readonly deadlineSeconds?: number;
    readonly elapsedSeconds: number;
    /** What is left of the deadline, when it is known. */
    readonly deadlineLeftSeconds?: number;
    /** Set when the deadline is known and the forecast says it cannot be met: what a person reads before it is spent. */
    readonly warning?: string;
}

/**
 * Expected canary requests for one healthy test to go from where it is to its promote boundary: the
 * distance over the drift per canary request at H0, the slower of the alternatives a PROMOTE waits
 * for. The drift is the test's own (`requestDrift`): a conditional test's canary request informs less
 * than a one-sample test's, the more so the larger the canary's share. From an LLR of 0 a one-sample
 * test's forecast is within a few percent of Wald's ASN. With evidence carried, the stage's own LLR
 * must come down to 0 too.
 */
export function requestsToPromote(t: ForecastTest): number {
    const alternatives = [{ p1: t.p1, llr: t.llr, stageLlr: t.stageLlr }, ...(t.confirm ? [t.confirm] : [])];
    return Math.max(...alternatives.map((a) => Math.max(a.llr - t.lower, t.carried ? a.stageLlr : 0, 0) / -requestDrift(t.p0, a.p1, t.share)));
}

export const minutes = (s: number) => `${(s / 60).toFixed(1)} min`;

/** Whether a stage expected to need `seconds` (null: never) cannot decide in the `leftSeconds` its deadline leaves. */
export const missesDeadline = (seconds: number | null, leftSeconds: number) => seconds === null || seconds > leftSeconds;

/**
 * The forecast for a stage at `weight` that has run `elapsedSeconds` (0 before it starts), given the
 * tests as they stand and the total request rate of both tracks.
 */
export function forecast(tests: readonly ForecastTest[], o: { readonly totalRate: number; readonly weight: number; readonly elapsedSeconds: number; readonly deadlineSeconds?: number; readonly policy: Pick<DecisionPolicy, "minStageSeconds"> }): Forecast {
    const canaryRate = (o.totalRate * o.weight) / 100;
    const needs = tests.map((t) => ({ name: t.name, requests: requestsToPromote(t) })).sort((a, b) => b.requests - a.requests);
    const slowest = needs.find((n) => n.requests > 0);
    const canaryRequests = slowest?.requests ?? 0;
    const leastTimeLeft = Math.max(0, o.policy.minStageSeconds - o.elapsedSeconds);
    const seconds = canaryRequests === 0 ? leastTimeLeft : canaryRate > 0 ? Math.max(leastTimeLeft, canaryRequests / canaryRate) : null;
    const base = { canaryRate, canaryRequests: Math.ceil(canaryRequests), ...(slowest ? { test: slowest.name } : {}), seconds, elapsedSeconds: o.elapsedSeconds };
    if (o.deadlineSeconds === undefined) return base;
    const left = Math.max(0, o.deadlineSeconds - o.elapsedSeconds);
    const short = missesDeadline(seconds, left);
    const need = seconds === null ? "no canary traffic to decide on" : `about ${minutes(seconds)} more (${Math.ceil(canaryRequests)} canary requests for ${slowest?.name} at ${canaryRate.toFixed(2)}/s)`;
    const warning = short ? `at this traffic the stage needs ${need}, but its deadline (${minutes(o.deadlineSeconds)}) leaves ${minutes(left)}: it will end without a decision; add traffic (a load test) or a longer canary:analysis.deadline` : undefined;
    return { ...base, deadlineSeconds: o.deadlineSeconds, deadlineLeftSeconds: left, ...(warning ? { warning } : {}) };
}

/** The tests a PROMOTE waits for (the tail test only rolls back). */
const promoteTests = (j: Judgement) => testsOf(j).filter((t) => t.name !== "tail");

/** A conditional test's canary share of the requests in the window; undefined for a one-sample test. */
const shareOf = (t: TestEvidence) => (t.method === "conditional" ? t.canary.n / (t.canary.n + t.stable.n) : undefined);

/** The tests a PROMOTE waits for, as the forecast reads them. */
export function forecastTests(j: Judgement): ForecastTest[] {
    return promoteTests(j).map((t) => ({
        name: t.name,
        llr: t.sprt.llr,
        stageLlr: t.stageLlr,
        carried: t.carried !== 0,
        lower: t.sprt.boundaries.lower,
        p0: t.p0,
        p1: t.p1,
        share: shareOf(t),
        ...(t.confirm?.required ? { confirm: { p1: t.confirm.p1, llr: t.confirm.llr, stageLlr: t.confirm.stageLlr } } : {}),
    }));
}

/**
 * The same tests at the start of the next stage (`next`): the rates stay, the canary's share is the
 * next weight's, the promote boundary is the next stage's (ln β at the last compared stage, where the
 * second alternative is waited for too), and what is carried in is this stage's LLRs when this stage
 * is promoted (`carriedLlrs`), nothing otherwise.
 */
export function nextStageTests(j: Judgement, next: { readonly weight: number; readonly stages: readonly number[]; readonly policy: Pick<DecisionPolicy, "beta" | "stageBeta"> }): ForecastTest[] {
    const carries = j.decision === "PROMOTE";
    const last = isLastCompared(next);
    return promoteTests(j).map((t) => ({
        name: t.name,
        llr: carries ? t.sprt.llr : 0,
        stageLlr: 0,
        carried: carries,
        lower: Math.log(stageBetaOf(next.policy, next)),
        p0: t.p0,
        p1: t.p1,
        share: t.method === "conditional" ? next.weight / 100 : undefined,
        ...(last && t.confirm ? { confirm: { p1: t.confirm.p1, llr: carries ? t.confirm.llr : 0, stageLlr: 0 } } : {}),
    }));
}

/**
 * The forecast from a judged window of `windowSeconds`: for this stage as it stands, or (`next`) for the
 * next stage at `weight` before it starts. Undefined while the window gave no tests to forecast
 * (nothing read, no canary requests yet, too few stable requests for a baseline).
 */
export function judgedForecast(
    j: Judgement,
    o: { readonly windowSeconds: number; readonly weight: number; readonly stages: readonly number[]; readonly next?: boolean; readonly deadlineSeconds?: number; readonly policy: Pick<DecisionPolicy, "minStageSeconds" | "beta" | "stageBeta"> },
): Forecast | undefined {
    const tests = o.next ? nextStageTests(j, o) : forecastTests(j);
    if (!j.canary || !j.stable || tests.length === 0 || o.windowSeconds <= 0) return undefined;
    const totalRate = (j.canary.requests + j.stable.requests) / o.windowSeconds;
    return forecast(tests, { totalRate, weight: o.weight, elapsedSeconds: o.next ? 0 : o.windowSeconds, deadlineSeconds: o.deadlineSeconds, policy: o.policy });
}
