/**
 * How long a stage needs to decide at the traffic it gets: the expected canary requests to a decision
 * (the test's drift per canary request, `requestDrift` in `stats.ts`) over the canary's request rate,
 * and, given the deadline, the chance of a decision before it, which the warning goes by (the time to
 * a decision is skewed, so its mean is no test of the deadline). Pure: the judge adds it to its answer,
 * `rollout status` and `rollout next` print it, the benchmark compares it with what runs really took.
 *
 * It forecasts the PROMOTE of a healthy canary (each test at H0), because that is the decision that
 * takes longest and the one a deadline cuts off: a canary that regresses by the design's factor drifts
 * toward its rollback boundary at least as fast, and a stage that times out on it ends Inconclusive,
 * not promoted.
 */
import { alternativeRate, baselineRate, confirmRequired, latencyBoundOf, stageBetaOf, testsOf, type DecisionPolicy, type Judgement, type TestEvidence, type TrackCounts } from "./decide";
import { countAbove, reachedWithin, requestDrift, requestVariance, totalOf, wilson } from "./stats";

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
    /**
     * The optimistic end of H0's rate when it is measured (a conditional test): the upper end of the
     * 95% interval of stable's share, at which events come fastest. The rollout's warning holds at it too.
     */
    readonly p0High?: number;
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
    /**
     * The chance of a decision before the deadline, when it is known (null: no canary traffic): the
     * product over the tests a PROMOTE waits for of each one's `chanceToPromote` in the canary
     * requests the deadline leaves at this rate (errors and slow requests are different events).
     */
    readonly inTimeChance?: number | null;
    /** Set when the deadline is known and probably cannot be met (`likelyMisses`): what a person reads before it is spent. */
    readonly warning?: string;
    /** This stage and the compared stages after it, each within its own deadline (`rolloutChance`), when the deadline is known. */
    readonly rollout?: RolloutForecast;
}

/** The chance that the rollout's compared stages from this one on each decide before their deadline, at the traffic of now. */
export interface RolloutForecast {
    /** The stages it covers: this one, then the later compared ones. */
    readonly stages: readonly number[];
    /** Each stage's chance, in that order (null: no canary traffic), and their product. */
    readonly inTimeChances: readonly (number | null)[];
    readonly inTimeChance: number | null;
    /** The product at the optimistic end of the measured rates (`ForecastTest.p0High`). */
    readonly optimisticInTimeChance: number | null;
    /**
     * Set when the chance of no decision somewhere is above `ROLLOUT_MISS_LIMIT`, at the rates as
     * measured and at their optimistic end: said before the rollout or at a stage's first looks, before
     * any deadline is spent, and not on a few stable events that happened to come slowly.
     */
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
    return Math.max(...alternativesOf(t).map((a) => a.distance / a.drift));
}

/** Each alternative a PROMOTE waits for: the LLR distance to its boundary, and the drift toward it and the variance per canary request, at H0. */
function alternativesOf(t: ForecastTest): { distance: number; drift: number; variance: number }[] {
    const alternatives = [{ p1: t.p1, llr: t.llr, stageLlr: t.stageLlr }, ...(t.confirm ? [t.confirm] : [])];
    return alternatives.map((a) => ({
        distance: Math.max(a.llr - t.lower, t.carried ? a.stageLlr : 0, 0),
        drift: -requestDrift(t.p0, a.p1, t.share),
        variance: requestVariance(t.p0, a.p1, t.share),
    }));
}

/**
 * The chance that a healthy test reaches its promote boundary within `requests` more canary requests:
 * its LLR as a random walk with the test's own drift and variance per request (`reachedWithin`). With
 * a second alternative, the smaller of the two chances: both walk on the same counts, and the slower
 * one decides when the PROMOTE comes.
 */
export function chanceToPromote(t: ForecastTest, requests: number): number {
    return Math.min(...alternativesOf(t).map((a) => reachedWithin(requests, a.distance, a.drift, a.variance)));
}

/** The product of the tests' chances to promote within `requests` canary requests. */
const allPromote = (tests: readonly ForecastTest[], requests: number) => tests.reduce((c, t) => c * chanceToPromote(t, requests), 1);

/** What a warning tells a person to do about a deadline that cannot be met. */
export const MORE_TRAFFIC_OR_TIME = "add traffic (a load test) or a longer canary:analysis.deadline";

export const minutes = (s: number) => `${(s / 60).toFixed(1)} min`;

/**
 * Below this chance of a decision before the deadline, the forecast warns: the deadline probably
 * cannot be met (the median time to a decision is beyond what the deadline leaves). Not the mean
 * (`seconds`): the time to a decision is skewed to the right, so a stage expected to need more than
 * it has may still decide in time more often than not, and one expected to need less may not. The
 * chance, not a fixed high quantile, because at the first look a stage that will run out of time
 * looks like every other: the benchmark's stages that ran out had the same first-look chance as
 * those that decided (`npm run bench`, the forecast lines). What tells them apart is the walk after
 * it, which the judge sees at every look: at 1/2, most stages that ran out of time were warned with
 * a quarter of the deadline left, and few that decided were (docs/gate.md, "The forecast").
 */
export const WARN_BELOW_CHANCE = 0.5;

/** Whether a chance of a decision before the deadline (null: no canary traffic, never) is one to warn about. */
export const likelyMisses = (chance: number | null) => chance === null || chance < WARN_BELOW_CHANCE;

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
    const inTimeChance = seconds === null ? null : left < leastTimeLeft ? 0 : allPromote(tests, canaryRate * left);
    const why = slowest ? `${Math.ceil(canaryRequests)} canary requests for ${slowest.name} at ${canaryRate.toFixed(2)}/s` : "its least time at the weight";
    const need = seconds === null ? "no canary traffic to decide on" : `about ${minutes(seconds)} more on average (${why})`;
    const chance = inTimeChance === null ? "" : ` and decides in time with a chance of about ${Math.round(100 * inTimeChance)}%`;
    const warning = likelyMisses(inTimeChance)
        ? `at this traffic the stage needs ${need}${chance}; its deadline (${minutes(o.deadlineSeconds)}) leaves ${minutes(left)}: it will probably end without a decision; ${MORE_TRAFFIC_OR_TIME}`
        : undefined;
    return { ...base, deadlineSeconds: o.deadlineSeconds, deadlineLeftSeconds: left, inTimeChance, ...(warning ? { warning } : {}) };
}

/**
 * Above this chance that some stage of the rollout ends without a decision, the forecast says so at
 * the stage's first look: one rollout in twenty left Inconclusive at the traffic it gets is more than a
 * team should accept without adding traffic or time, and it is the level a judge is held to in the
 * benchmark's low-traffic scenario (`npm run bench`).
 */
export const ROLLOUT_MISS_LIMIT = 0.05;

/**
 * A test as it starts at a later compared stage at `weight` of `stages`: the rates stay, the canary's
 * share is that weight's, the promote boundary that stage's, and what it carries in is at most the
 * boundary the stage before promoted at (a promotion's LLR is at or below it: the most it could bring).
 * The second alternative, where the stage waits for it, carries that boundary too when the stage before
 * waited for it, and nothing otherwise: what the first stage carries of it is not known ahead, so the
 * forecast is, if anything, pessimistic for it.
 */
function laterStageTest(t: ForecastTest, weight: number, before: number, o: { readonly stages: readonly number[]; readonly policy: Pick<DecisionPolicy, "beta" | "stageBeta" | "firstStageBeta" | "confirmFactor"> }): ForecastTest {
    const stage = { weight, stages: o.stages };
    const prior = { weight: before, stages: o.stages };
    const carriedIn = Math.log(stageBetaOf(o.policy, prior));
    const confirm = t.confirm ?? (t.name === "errors" ? { p1: alternativeRate(t.p0, o.policy.confirmFactor), llr: 0, stageLlr: 0 } : undefined);
    return {
        ...t,
        llr: carriedIn,
        stageLlr: 0,
        carried: true,
        lower: Math.log(stageBetaOf(o.policy, stage)),
        share: t.share === undefined ? undefined : weight / 100,
        ...(confirmRequired(stage) && confirm ? { confirm: { ...confirm, llr: confirmRequired(prior) ? carriedIn : 0, stageLlr: 0 } } : { confirm: undefined }),
    };
}

/** A test at the optimistic end of its measured rate (`p0High`), its alternatives the same multiples of it. */
function optimistic(t: ForecastTest): ForecastTest {
    if (t.p0High === undefined || t.p0High <= t.p0) return t;
    const at = (p1: number) => alternativeRate(t.p0High as number, p1 / t.p0);
    return { ...t, p0: t.p0High, p1: at(t.p1), ...(t.confirm ? { confirm: { ...t.confirm, p1: at(t.confirm.p1) } } : {}) };
}

/** The product of chances, null when any is (no canary traffic). */
const productOf = (chances: readonly (number | null)[]) => (chances.some((c) => c === null) ? null : chances.reduce((a: number, c) => a * (c as number), 1));

/**
 * The rollout's chance of a decision at every compared stage from this one on, each stage given a full
 * deadline at its own share of the traffic of now: this stage's chance (`here`: the forecast's
 * `inTimeChance` and the canary requests its deadline leaves), times each later stage's chance to
 * promote its tests (`laterStageTest`) in the canary requests its deadline brings. A stage that will not
 * decide in time at this traffic often shows it only later, at a larger share; this says it before the
 * rollout or at the first looks, while a load test or a longer deadline can still be planned. It warns
 * only when the optimistic end of the measured rates misses too: at a stage's first looks stable's
 * rate rests on a few events, and one that came slowly would otherwise warn on traffic that suffices.
 */
export function rolloutChance(
    tests: readonly ForecastTest[],
    here: { readonly chance: number | null; readonly requests: number },
    o: { readonly totalRate: number; readonly weight: number; readonly stages: readonly number[]; readonly deadlineSeconds: number; readonly policy: Pick<DecisionPolicy, "beta" | "stageBeta" | "firstStageBeta" | "confirmFactor"> },
): RolloutForecast {
    const later = o.stages.filter((w) => w > o.weight && w < 100);
    const stages = [o.weight, ...later];
    const chancesOf = (ts: readonly ForecastTest[], first: number | null) => {
        let before = o.weight;
        return [
            first,
            ...later.map((weight) => {
                const requests = (o.totalRate * weight * o.deadlineSeconds) / 100;
                const chance = requests <= 0 ? null : allPromote(ts.map((t) => laterStageTest(t, weight, before, o)), requests);
                before = weight;
                return chance;
            }),
        ];
    };
    const chances = chancesOf(tests, here.chance);
    const inTimeChance = productOf(chances);
    const hopeful = tests.map(optimistic);
    // This stage's own chance is 0 or null for reasons no rate changes (its least time, no traffic).
    const hopefulHere = here.chance === null || here.chance === 0 ? here.chance : Math.max(here.chance, allPromote(hopeful, here.requests));
    const optimisticInTimeChance = productOf(chancesOf(hopeful, hopefulHere));
    const miss = (c: number | null) => (c === null ? 1 : 1 - c);
    const warning =
        miss(inTimeChance) > ROLLOUT_MISS_LIMIT && miss(optimisticInTimeChance) > ROLLOUT_MISS_LIMIT
            ? `at this traffic the rollout's stages ${stages.join(", ")} each decide within a ${minutes(o.deadlineSeconds)} deadline with a chance of about ${inTimeChance === null ? 0 : Math.round(100 * inTimeChance)}% ` +
              `(${stages.map((w, i) => `${w}%: ${chances[i] === null ? "no traffic" : `${Math.round(100 * (chances[i] as number))}%`}`).join(", ")}); ` +
              `above a ${100 * ROLLOUT_MISS_LIMIT}% chance of ending without a decision: ${MORE_TRAFFIC_OR_TIME}`
            : undefined;
    return { stages, inTimeChances: chances, inTimeChance, optimisticInTimeChance, ...(warning ? { warning } : {}) };
}

/** The tests a PROMOTE waits for (the tail test only rolls back). */
const promoteTests = (j: Judgement) => testsOf(j).filter((t) => t.name !== "tail");

/** A conditional test's canary share of the requests in the window; undefined for a one-sample test. */
const shareOf = (t: TestEvidence) => (t.method === "conditional" ? t.canary.n / (t.canary.n + t.stable.n) : undefined);

/** A conditional test's optimistic rate: the upper end of stable's interval, never below the rate it judges against. */
const highOf = (t: TestEvidence) => (t.method === "conditional" ? { p0High: Math.max(t.p0, t.stable.interval[1]) } : {});

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
        ...highOf(t),
        ...(t.confirm?.required ? { confirm: { p1: t.confirm.p1, llr: t.confirm.llr, stageLlr: t.confirm.stageLlr } } : {}),
    }));
}

/**
 * The same tests at the start of the next stage (`next`): the rates stay, the canary's share is the
 * next weight's, the promote boundary is the next stage's (`stageBetaOf`; the second alternative is
 * waited for too from the second compared stage on, `confirmRequired`), and what is carried in is this
 * stage's LLRs when this stage is promoted (`carriedLlrs`), nothing otherwise.
 */
export function nextStageTests(j: Judgement, next: { readonly weight: number; readonly stages: readonly number[]; readonly policy: Pick<DecisionPolicy, "beta" | "stageBeta" | "firstStageBeta"> }): ForecastTest[] {
    const carries = j.decision === "PROMOTE";
    const waits = confirmRequired(next);
    return promoteTests(j).map((t) => ({
        name: t.name,
        llr: carries ? t.sprt.llr : 0,
        stageLlr: 0,
        carried: carries,
        lower: Math.log(stageBetaOf(next.policy, next)),
        p0: t.p0,
        p1: t.p1,
        share: t.method === "conditional" ? next.weight / 100 : undefined,
        ...highOf(t),
        ...(waits && t.confirm ? { confirm: { p1: t.confirm.p1, llr: carries ? t.confirm.llr : 0, stageLlr: 0 } } : {}),
    }));
}

/**
 * The tests of a stage at `weight` that starts afresh, from stable's counts alone: for the first stage,
 * forecast from a window in which the canary had no traffic (the stack at 0, `rollout next`). The
 * errors and latency tests as the judge would set them up (`baselineRate`, the latency bound at
 * stable's quantile), nothing carried; from the second compared stage on the errors test waits for
 * 1.5× too (`confirmRequired`).
 * Ratio metrics are left out: their forecast needs the canary's counts of them. None with fewer stable
 * requests than a baseline needs.
 */
export function baselineTests(stable: TrackCounts, o: { readonly weight: number; readonly stages: readonly number[]; readonly policy: DecisionPolicy }): ForecastTest[] {
    const p = o.policy;
    if (stable.requests < p.minStableRequests) return [];
    const stage = { weight: o.weight, stages: o.stages };
    const test = (name: string, factor: number, events: number, n: number, confirmFactor?: number): ForecastTest => {
        const { p0, oneSample } = baselineRate(events, n, p);
        const confirm = confirmFactor !== undefined && confirmRequired(stage) ? { confirm: { p1: alternativeRate(p0, confirmFactor), llr: 0, stageLlr: 0 } } : {};
        const measured = oneSample ? { share: undefined } : { share: o.weight / 100, p0High: Math.max(p0, wilson(events, n)[1]) };
        return { name, llr: 0, stageLlr: 0, carried: false, lower: Math.log(stageBetaOf(p, stage)), p0, p1: alternativeRate(p0, factor), ...measured, ...confirm };
    };
    const bound = latencyBoundOf(stable.buckets, p);
    const timeable = bound !== undefined && totalOf(stable.buckets) > 0 && stable.buckets.some((b) => b.le === bound);
    const latency = timeable ? [test("latency", p.latencyFactor, countAbove(stable.buckets, bound), totalOf(stable.buckets))] : [];
    return [test("errors", p.errorFactor, stable.errors, stable.requests, p.confirmFactor), ...latency];
}

/**
 * The forecast from a judged window of `windowSeconds`: for this stage as it stands, or (`next`) for the
 * next stage at `weight` before it starts, from stable's counts alone when the window had no canary
 * requests (`baselineTests`). With a deadline, the rollout's chance too (`rolloutChance`). Undefined
 * while the window gave no tests to forecast (nothing read, no canary requests yet for this stage, too
 * few stable requests for a baseline).
 */
export function judgedForecast(
    j: Judgement,
    o: { readonly windowSeconds: number; readonly weight: number; readonly stages: readonly number[]; readonly next?: boolean; readonly deadlineSeconds?: number; readonly policy: DecisionPolicy },
): Forecast | undefined {
    // Before a stage with no canary traffic judged yet (the stack at 0), stable's counts alone.
    const fromStable = o.next && promoteTests(j).length === 0 && j.stable ? baselineTests(j.stable, o) : undefined;
    const tests = fromStable ?? (o.next ? nextStageTests(j, o) : forecastTests(j));
    if (!j.canary || !j.stable || tests.length === 0 || o.windowSeconds <= 0) return undefined;
    const totalRate = (j.canary.requests + j.stable.requests) / o.windowSeconds;
    const f = forecast(tests, { totalRate, weight: o.weight, elapsedSeconds: o.next ? 0 : o.windowSeconds, deadlineSeconds: o.deadlineSeconds, policy: o.policy });
    if (o.deadlineSeconds === undefined || f.inTimeChance === undefined) return f;
    const here = { chance: f.inTimeChance, requests: f.canaryRate * (f.deadlineLeftSeconds ?? 0) };
    return { ...f, rollout: rolloutChance(tests, here, { totalRate, weight: o.weight, stages: o.stages, deadlineSeconds: o.deadlineSeconds, policy: o.policy }) };
}
