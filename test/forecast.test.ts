/** The forecast (domain/forecast.ts) and the judge's exported evidence (rollout/metrics.ts), table-driven without mocks. */
import * as assert from "assert";
import { DEFAULT_POLICY, judge, TrackCounts } from "../domain/decide";
import { baselineTests, chanceToPromote, forecast, ForecastTest, forecastTests, judgedForecast, nextStageTests, requestsToPromote, ROLLOUT_MISS_LIMIT, rolloutChance, WARN_BELOW_CHANCE } from "../domain/forecast";
import { bernoulliSteps, eventShare, reachedWithin, requestDrift, requestVariance, waldAsn } from "../domain/stats";
import { binomial, rng } from "../bench/decisions";
import { JudgeMetrics, runsToDrop, testValues } from "../rollout/metrics";
import { forecastLines, liveLines, progressLine } from "../rollout/report";

const LOWER = Math.log(0.05);
const fresh: ForecastTest = { name: "errors", llr: 0, stageLlr: 0, carried: false, lower: LOWER, p0: 0.005, p1: 0.01 };
const policy = DEFAULT_POLICY;

/** Counts with `errors` 5xx and every request in the 25 ms bucket. */
const counts = (requests: number, errors: number): TrackCounts => ({ requests, errors, buckets: [{ le: 0.025, count: requests }, { le: 0.05, count: requests }, { le: Infinity, count: requests }], resets: 0 });

describe("the forecast: expected canary requests to a decision over the canary's request rate", () => {
    it("requests to promote: from nothing within 5% of Wald's ASN at H0; none past the boundary; a carried test waits for its own LLR too", () => {
        const asn = waldAsn(0.005, 0.01, 0.01, 0.05, "H0");
        const cases: [string, ForecastTest, (n: number) => boolean][] = [
            ["fresh", fresh, (n) => Math.abs(n / asn - 1) < 0.05],
            ["halfway", { ...fresh, llr: LOWER / 2 }, (n) => Math.abs(n / requestsToPromote(fresh) - 0.5) < 1e-9],
            ["past the boundary", { ...fresh, llr: LOWER - 1 }, (n) => n === 0],
            ["carried past the boundary, own evidence leaning to a regression", { ...fresh, llr: LOWER - 1, stageLlr: 0.5, carried: true }, (n) => Math.abs(n - requestsToPromote({ ...fresh, llr: LOWER + 0.5 })) < 1e-9],
            ["not carried: the own LLR alone does not hold it", { ...fresh, llr: LOWER - 1, stageLlr: 0.5 }, (n) => n === 0],
            // Conditional at 5%: stable's measured rate makes a canary request worth 91% of a one-sample one.
            ["conditional at 5%", { ...fresh, share: 0.05 }, (n) => Math.abs(n / requestsToPromote(fresh) - 1 / 0.915) < 0.01],
            ["conditional at 50%", { ...fresh, share: 0.5 }, (n) => Math.abs(n / requestsToPromote(fresh) - 1 / 0.381) < 0.02],
            // A second alternative the PROMOTE waits for: the slower of the two.
            ["waiting for 1.5× too", { ...fresh, confirm: { p1: 0.0075, llr: 0, stageLlr: 0 } }, (n) => Math.abs(n / requestsToPromote({ ...fresh, p1: 0.0075 }) - 1) < 1e-9 && n > 2 * requestsToPromote(fresh)],
            ["1.5× already ruled out", { ...fresh, confirm: { p1: 0.0075, llr: LOWER - 1, stageLlr: 0 } }, (n) => Math.abs(n - requestsToPromote(fresh)) < 1e-9],
        ];
        for (const [what, t, ok] of cases) assert.ok(ok(requestsToPromote(t)), `${what}: ${requestsToPromote(t)}`);
    });

    it("seconds: the slowest test over the canary's rate at the weight, never below the stage's least time left; a warning only when the deadline probably cannot be met (a chance below 1/2)", () => {
        const need = requestsToPromote(fresh);
        const cases: [string, Parameters<typeof forecast>[1], readonly ForecastTest[], number | null, RegExp | undefined][] = [
            ["20/s at 5%: 1 canary request a second", { totalRate: 20, weight: 5, elapsedSeconds: 0, policy }, [fresh], need, undefined],
            ["the slower of two tests", { totalRate: 20, weight: 5, elapsedSeconds: 0, policy }, [{ ...fresh, name: "latency", llr: LOWER / 2 }, fresh], need, undefined],
            ["decided, the least time left", { totalRate: 20, weight: 5, elapsedSeconds: 10, policy }, [{ ...fresh, llr: LOWER }], 35, undefined],
            ["decided past the least time", { totalRate: 20, weight: 5, elapsedSeconds: 60, policy }, [{ ...fresh, llr: LOWER }], 0, undefined],
            ["decided, the least time beyond the deadline", { totalRate: 20, weight: 5, elapsedSeconds: 10, deadlineSeconds: 30, policy }, [{ ...fresh, llr: LOWER }], 35, /needs about 0\.6 min more on average \(its least time at the weight\) and decides in time with a chance of about 0%/],
            ["no traffic: never", { totalRate: 0, weight: 5, elapsedSeconds: 0, policy }, [fresh], null, undefined],
            ["no traffic with a deadline: warned", { totalRate: 0, weight: 5, elapsedSeconds: 0, deadlineSeconds: 1800, policy }, [fresh], null, /no canary traffic to decide on.*deadline \(30\.0 min\) leaves 30\.0 min/],
            ["meets its deadline", { totalRate: 200, weight: 5, elapsedSeconds: 0, deadlineSeconds: 1800, policy }, [fresh], need / 10, undefined],
            ["misses its deadline", { totalRate: 20, weight: 5, elapsedSeconds: 900, deadlineSeconds: 1800, policy }, [fresh], need, /needs about 32\.\d min more on average \(\d+ canary requests for errors at 1\.00\/s\) and decides in time with a chance of about \d+%; its deadline \(30\.0 min\) leaves 15\.0 min: it will probably end/],
            // Skewed: more often than not a stage decides before its expected time, so 90% of it left is no warning.
            ["the mean beyond the deadline, the median within it", { totalRate: 20, weight: 5, elapsedSeconds: 0, deadlineSeconds: 0.9 * need, policy }, [fresh], need, undefined],
        ];
        for (const [what, o, tests, seconds, warning] of cases) {
            const f = forecast(tests, o);
            if (f.inTimeChance !== undefined && f.inTimeChance !== null) assert.strictEqual(f.warning !== undefined, f.inTimeChance < WARN_BELOW_CHANCE, `${what}: chance ${f.inTimeChance}`);
            if (seconds === null) assert.strictEqual(f.seconds, null, what);
            else assert.ok(Math.abs((f.seconds as number) - seconds) < 1e-6, `${what}: ${f.seconds} s, not ${seconds}`);
            if (warning) assert.match(f.warning ?? "", warning, what);
            else assert.strictEqual(f.warning, undefined, `${what}: ${f.warning}`);
        }
    });

    it("the chance of a decision in time: the first passage of the test's LLR walk, against simulated walks of the same test", () => {
        // Walks of the one-sample test and of the conditional one (a Poisson number of events per canary request, each the canary's with its share), at H0.
        const walks = 2000;
        const r = rng(7);
        const oneSample = () => {
            const s = bernoulliSteps(0.005, 0.01);
            return () => (r() < 0.005 ? s.event : s.nonEvent);
        };
        const conditional = (share: number) => {
            const s = bernoulliSteps(share, eventShare(share, 2));
            const events = 0.005 + (0.005 * (1 - share)) / share;
            return () => {
                let llr = 0;
                for (let k = binomial(r, 1000, events / 1000); k > 0; k--) llr += r() < share ? s.event : s.nonEvent;
                return llr;
            };
        };
        const cases: [string, () => () => number, ForecastTest][] = [
            ["one-sample", oneSample, { ...fresh, lower: Math.log(0.2) }],
            ["conditional at 25%", () => conditional(0.25), { ...fresh, lower: Math.log(0.2), share: 0.25 }],
        ];
        for (const [what, step, t] of cases) {
            const mean = requestsToPromote(t);
            const horizons = [0.5 * mean, mean, 2 * mean, 3 * mean].map(Math.round);
            const reached = horizons.map(() => 0);
            for (let w = 0; w < walks; w++) {
                const next = step();
                let llr = 0;
                let n = 0;
                while (llr > t.lower && n < horizons[horizons.length - 1]) {
                    llr += next();
                    n++;
                }
                horizons.forEach((h, i) => (reached[i] += llr <= t.lower && n <= h ? 1 : 0));
            }
            horizons.forEach((h, i) => {
                const chance = chanceToPromote(t, h);
                // The Brownian motion leaves out the steps' overshoot of the boundary and their skew: within 5 points.
                assert.ok(Math.abs(chance - reached[i] / walks) < 0.05, `${what} within ${h} requests: ${chance.toFixed(3)} against ${(reached[i] / walks).toFixed(3)} simulated`);
            });
            // Skewed to the right: more than half decide by the mean.
            assert.ok(chanceToPromote(t, mean) > 0.5, what);
        }
        // The variance is the walk's: one-sample, p(1 - p)(event - nonEvent)²; and the edge cases.
        const s = bernoulliSteps(0.005, 0.01);
        assert.ok(Math.abs(requestVariance(0.005, 0.01) - 0.005 * 0.995 * (s.event - s.nonEvent) ** 2) < 1e-15);
        assert.ok(requestDrift(0.005, 0.01, 0.25) < 0 && requestVariance(0.005, 0.01, 0.25) > 0);
        assert.deepStrictEqual([reachedWithin(100, 0, 0.01, 0.01), reachedWithin(0, 1, 0.01, 0.01)], [1, 0]);
    });

    it("from a judged window: this stage (elapsed = the window), or the next stage (from 0, carrying this stage's LLR when it is promoted)", () => {
        const stage = { weight: 5, stages: [5, 25, 50, 100], seconds: 60 };
        // 60 s of 35 requests a second: 100 canary, 2,000 stable; stable fails 0.5%.
        const j = judge(counts(100, 0), counts(2000, 10), stage);
        assert.strictEqual(j.decision, "HOLD");
        const now = judgedForecast(j, { windowSeconds: 60, weight: 5, stages: stage.stages, deadlineSeconds: 1800, policy }) as NonNullable<ReturnType<typeof judgedForecast>>;
        assert.ok(Math.abs(now.canaryRate - (2100 / 60) * 0.05) < 1e-9, `${now.canaryRate}`);
        assert.strictEqual(now.elapsedSeconds, 60);
        assert.ok((now.seconds as number) > 0 && now.test !== undefined);
        const next = judgedForecast(j, { windowSeconds: 60, weight: 25, stages: stage.stages, next: true, policy }) as NonNullable<ReturnType<typeof judgedForecast>>;
        assert.strictEqual(next.elapsedSeconds, 0);
        assert.ok(Math.abs(next.canaryRate - (2100 / 60) * 0.25) < 1e-9);
        // Not promoted: the next stage starts afresh.
        const at25 = { weight: 25, stages: stage.stages, policy };
        assert.ok(nextStageTests(j, at25).every((t) => t.llr === 0 && !t.carried));
        // Between the first and the last compared stage: the stage's β, the next weight's share, and the errors test waits for 1.5× too.
        assert.ok(nextStageTests(j, at25).every((t) => t.lower === Math.log(policy.stageBeta) && t.share === 0.25 && (t.confirm !== undefined) === (t.name === "errors")));
        assert.ok(nextStageTests(j, { weight: 5, stages: stage.stages, policy }).every((t) => t.lower === Math.log(policy.firstStageBeta) && t.confirm === undefined), "the first stage: its own β, 2× alone");
        const promoted = judge(counts(20000, 50), counts(40000, 200), { ...stage, seconds: 600 });
        assert.strictEqual(promoted.decision, "PROMOTE");
        assert.ok(nextStageTests(promoted, at25).every((t) => t.carried && t.llr <= Math.log(policy.stageBeta) && t.stageLlr === 0));
        assert.strictEqual(judgedForecast(promoted, { windowSeconds: 600, weight: 25, stages: stage.stages, next: true, policy })?.seconds, DEFAULT_POLICY.minStageSeconds, "carried past the boundary: the least time");
        // The last compared stage: β, and the errors test waits for 1.5× ruled out too, from what 1.5× carries.
        const errorsAt50 = nextStageTests(promoted, { weight: 50, stages: stage.stages, policy }).find((t) => t.name === "errors") as ForecastTest;
        assert.strictEqual(errorsAt50.lower, LOWER);
        assert.deepStrictEqual(errorsAt50.confirm, { p1: promoted.evidence.errors!.confirm!.p1, llr: promoted.evidence.errors!.confirm!.llr, stageLlr: 0 });
        const fresh50 = nextStageTests(j, { weight: 50, stages: stage.stages, policy }).find((t) => t.name === "errors") as ForecastTest;
        assert.ok(requestsToPromote(fresh50) > 2 * requestsToPromote({ ...fresh50, confirm: undefined }), "from nothing, 1.5× takes more than twice the requests of 2× to rule out");
        // Nothing to forecast from: no tests yet.
        assert.strictEqual(judgedForecast(judge(counts(0, 0), counts(2000, 10), stage), { windowSeconds: 60, weight: 5, stages: stage.stages, policy }), undefined);
    });
});

describe("the rollout's forecast: every compared stage from this one on, each within its deadline", () => {
    const stages = [5, 25, 50, 100];
    const at5: ForecastTest[] = [{ ...fresh, lower: Math.log(policy.firstStageBeta), share: 0.05 }, { ...fresh, name: "latency", p0: 0.1, p1: 0.2, lower: Math.log(policy.firstStageBeta), share: 0.05 }];

    it("the product of this stage's chance and each later stage's, each at its own share and β, those after the first waiting for 1.5× too; a warning above the limit, naming each stage's chance", () => {
        const busy = rolloutChance(at5, { chance: 0.99, requests: 36000 }, { totalRate: 200, weight: 5, stages, deadlineSeconds: 3600, policy });
        assert.deepStrictEqual(busy.stages, [5, 25, 50]);
        assert.strictEqual(busy.inTimeChances[0], 0.99);
        assert.ok(Math.abs((busy.inTimeChance as number) - busy.inTimeChances.reduce((a: number, c) => a * (c as number), 1)) < 1e-12);
        assert.ok(busy.inTimeChances.slice(1).every((c) => (c as number) > 0.999), JSON.stringify(busy));
        assert.strictEqual(busy.warning, undefined);
        // 20 requests/s: the stages after the first must also rule out 1.5×, the slowest part of the rollout at this traffic.
        const low = rolloutChance(at5, { chance: 0.97, requests: 3600 }, { totalRate: 20, weight: 5, stages, deadlineSeconds: 3600, policy });
        const [, c25, c50] = low.inTimeChances as number[];
        assert.ok(c25 < 0.995 && c50 < 0.995 && 1 - (low.inTimeChance as number) > ROLLOUT_MISS_LIMIT, JSON.stringify(low));
        assert.match(low.warning ?? "", /^at this traffic the rollout's stages 5, 25, 50 each decide within a 60\.0 min deadline with a chance of about \d+% \(5%: 97%, 25%: \d+%, 50%: \d+%\); above a 5% chance of ending without a decision: add traffic/);
        // Without the 1.5× alternative the same traffic would be enough more often at 25% and 50%.
        const noConfirm = rolloutChance(at5, { chance: 0.97, requests: 3600 }, { totalRate: 20, weight: 5, stages, deadlineSeconds: 3600, policy: { ...policy, confirmFactor: 2 } });
        assert.ok((noConfirm.inTimeChances[1] as number) > c25 && (noConfirm.inTimeChances[2] as number) > c50, `${noConfirm.inTimeChances} vs ${low.inTimeChances}`);
        // A rate measured on few events: no warning while its optimistic end would decide in time.
        const uncertain = at5.map((t) => ({ ...t, p0High: 3 * t.p0 }));
        const hopeful = rolloutChance(uncertain, { chance: 0.97, requests: 3600 }, { totalRate: 20, weight: 5, stages, deadlineSeconds: 3600, policy });
        assert.ok(hopeful.inTimeChance === low.inTimeChance && (hopeful.optimisticInTimeChance as number) > 1 - ROLLOUT_MISS_LIMIT && hopeful.warning === undefined, JSON.stringify(hopeful));
        assert.ok((low.optimisticInTimeChance as number) >= (low.inTimeChance as number) && low.warning !== undefined, "no interval given: the rate as measured");
        // At the last compared stage: just this stage.
        assert.deepStrictEqual(rolloutChance(at5, { chance: 0.5, requests: 3600 }, { totalRate: 20, weight: 50, stages, deadlineSeconds: 3600, policy }).inTimeChances, [0.5]);
        // No canary traffic: no chance, warned.
        const none = rolloutChance(at5, { chance: null, requests: 0 }, { totalRate: 0, weight: 5, stages, deadlineSeconds: 3600, policy });
        assert.deepStrictEqual([none.inTimeChance, none.inTimeChances], [null, [null, null, null]]);
        assert.match(none.warning ?? "", /\(5%: no traffic, 25%: no traffic, 50%: no traffic\)/);
    });

    it("from a judged window: only with a deadline; at 10 requests/s it warns, at 200 it does not, and on a minute's few stable errors only when even their optimistic end misses", () => {
        // `total` requests a second for `seconds` at the 5% stage, both tracks failing 0.5%.
        const window = (total: number, seconds: number) => {
            const [c, s] = [(total * seconds) / 20, (total * seconds * 19) / 20];
            return judge(counts(c, Math.round(c * 0.005)), counts(s, Math.round(s * 0.005)), { weight: 5, stages, seconds });
        };
        const rollout = (total: number, seconds: number) => judgedForecast(window(total, seconds), { windowSeconds: seconds, weight: 5, stages, deadlineSeconds: 3600 + seconds, policy })?.rollout;
        assert.strictEqual(judgedForecast(window(200, 60), { windowSeconds: 60, weight: 5, stages, policy })?.rollout, undefined, "no deadline, no rollout forecast");
        const busy = rollout(200, 60);
        assert.ok(busy && busy.warning === undefined && (busy.inTimeChance as number) > 0.99, JSON.stringify(busy));
        const thin = rollout(10, 900);
        assert.ok(thin && thin.warning !== undefined && (thin.optimisticInTimeChance as number) < 1 - ROLLOUT_MISS_LIMIT, JSON.stringify(thin));
        // A minute at 10 requests/s: 3 stable errors; the chance as measured is low, the rate's optimistic end decides in time.
        const early = rollout(10, 60);
        assert.ok(early && (early.inTimeChance as number) < 1 - ROLLOUT_MISS_LIMIT && (early.optimisticInTimeChance as number) > (early.inTimeChance as number), JSON.stringify(early));
        assert.strictEqual(early.warning === undefined, (early.optimisticInTimeChance as number) >= 1 - ROLLOUT_MISS_LIMIT);
    });

    it("before the first stage, from a window of stable's traffic alone (the stack at 0): the tests as the judge would set them up, nothing carried", () => {
        const quiet = judge(counts(0, 0), counts(18000, 90), { weight: 0, stages, seconds: 900 });
        assert.strictEqual(quiet.decision, "HOLD");
        const at5 = baselineTests(quiet.stable as TrackCounts, { weight: 5, stages, policy });
        assert.deepStrictEqual(at5.map((t) => [t.name, t.p0, t.share, t.llr, t.carried, t.lower, t.confirm]), [
            ["errors", 0.005, 0.05, 0, false, Math.log(policy.firstStageBeta), undefined],
            // Every request in the 25 ms bucket: none above the bound, the floor, one-sample.
            ["latency", policy.minBaselineRate, undefined, 0, false, Math.log(policy.firstStageBeta), undefined],
        ]);
        // The same counts once the canary has them give the judge's own rates.
        const judged = judge(counts(1000, 5), counts(18000, 90), { weight: 5, stages, seconds: 900 });
        assert.deepStrictEqual(at5.map((t) => t.p0), [judged.evidence.errors!.p0, judged.evidence.latency!.p0]);
        // The errors test's rate as measured, with its optimistic end; after the first stage it waits for 1.5× too; an app that never fails is judged against the floor, one-sample.
        assert.ok((at5[0].p0High as number) > 0.005 && at5[1].p0High === undefined);
        assert.ok(baselineTests(counts(18000, 90), { weight: 25, stages, policy })[0].confirm);
        assert.ok(baselineTests(counts(18000, 90), { weight: 50, stages: [50, 100], policy })[0].confirm);
        assert.deepStrictEqual(baselineTests(counts(18000, 0), { weight: 5, stages, policy }).map((t) => [t.p0, t.share]), [[policy.minBaselineRate, undefined], [policy.minBaselineRate, undefined]]);
        assert.deepStrictEqual(baselineTests(counts(400, 2), { weight: 5, stages, policy }), [], "too few stable requests for a baseline");
        const f = judgedForecast(quiet, { windowSeconds: 900, weight: 5, stages, next: true, deadlineSeconds: 3600, policy });
        assert.ok(f && Math.abs(f.canaryRate - 1) < 1e-9 && f.rollout !== undefined, JSON.stringify(f));
        // 10 requests/s: not enough, said before the rollout starts.
        const thin = judgedForecast(judge(counts(0, 0), counts(9000, 45), { weight: 0, stages, seconds: 900 }), { windowSeconds: 900, weight: 5, stages, next: true, deadlineSeconds: 3600, policy });
        assert.ok(thin?.rollout?.warning !== undefined, JSON.stringify(thin));
        assert.strictEqual(judgedForecast(quiet, { windowSeconds: 900, weight: 5, stages, policy }), undefined, "the stage itself, with no canary requests: nothing to forecast");
    });

    it("`rollout run`'s progress line: each test's further canary requests to promote a healthy canary, as the forecast counts them, the slower alternative where 1.5× is waited for", () => {
        const buckets = (n: number, slow: number) => [{ le: 0.025, count: n - slow }, { le: 0.05, count: n - slow / 2 }, { le: Infinity, count: n }];
        const track = (n: number, errors: number, slow: number): TrackCounts => ({ requests: n, errors, buckets: buckets(n, slow), resets: 0 });
        for (const weight of [5, 50]) {
            const j = judge(track(500, 2, 50), track(9500, 47, 950), { weight, stages, seconds: 60 });
            const line = progressLine(new Date("2026-01-01T00:00:00Z"), j);
            const errors = forecastTests(j).find((t) => t.name === "errors") as ForecastTest;
            assert.strictEqual(errors.confirm !== undefined, weight === 50);
            assert.match(line, new RegExp(`errors \\d+% toward (promote|rollback) \\(500 canary requests; ~${Math.ceil(requestsToPromote(errors))} more to promote a healthy one\\)`), line);
            if (j.evidence.tail) assert.match(line, /tail \d+% toward \w+ \(500 canary requests; rolls back only\)/, line);
        }
    });

    it("as `rollout next --prometheus` and `rollout status --prometheus` print it: the rollout's chance, and a warning above the limit", () => {
        const f = judgedForecast(judge(counts(450, 2), counts(8550, 43), { weight: 5, stages, seconds: 900 }), { windowSeconds: 900, weight: 5, stages, deadlineSeconds: 3600, policy });
        const lines = forecastLines(f, 5);
        assert.match(lines.join("\n"), /^forecast for the rollout \(stages 5, 25, 50\): a decision at every stage in time, about \d+%$/m);
        assert.match(lines[lines.length - 1], /^warning: at this traffic the rollout's stages 5, 25, 50 each decide/);
        const live = (rolloutInTimeChance: number | null) => ({ run: "r", askedAt: "2026-01-01T00:00:00.000Z", decision: "HOLD", forecastSeconds: 600, deadlineLeftSeconds: 3000, inTimeChance: 0.9, rolloutInTimeChance, tests: [] });
        const said = (chance: number | null) => liveLines(live(chance), 5).join("\n");
        assert.match(said(0.8), /; this and every later stage in time, about 80%\nwarning: at this traffic the rollout ends without a decision at some stage with a chance above 5%/);
        assert.doesNotMatch(said(0.97), /warning/);
        assert.doesNotMatch(said(null), /every later stage|warning/);
    });
});

describe("the judge's exported evidence", () => {
    it("which runs are dropped: asked too long ago, or the least recent beyond the cap", () => {
        const asked = new Map([["a", 1000], ["b", 5000], ["c", 9000], ["d", 9500]]);
        const cases: [number, number, number, string[]][] = [
            [10_000, 60_000, 10, []],
            [10_000, 6_000, 10, ["a"]],
            [10_000, 60_000, 2, ["b", "a"]],
            [10_000, 4_000, 3, ["b", "a"]],
        ];
        for (const [now, ttl, max, want] of cases) assert.deepStrictEqual(runsToDrop(asked, now, ttl, max), want, `now ${now}, ttl ${ttl}, max ${max}`);
    });

    it("a run's series are the judgement's values, replaced by the next answer and dropped an hour after its last ask", async () => {
        const m = new JudgeMetrics();
        const scope = { namespace: "shop", app: "checkout" };
        const j = judge(counts(100, 0), counts(2000, 10), { weight: 5, stages: [5, 25, 50, 100], seconds: 60 });
        const t0 = new Date("2026-01-01T00:00:00Z");
        m.record("checkout-1-w5", scope, 5, j, undefined, t0);
        const text = await m.registry.metrics();
        const value = (name: string, labels: string) => Number(new RegExp(`^${name}\\{${labels}\\} (\\S+)$`, "m").exec(text)?.[1]);
        const run = 'run="checkout-1-w5",app="checkout",namespace="shop",weight="5"';
        for (const t of testValues(j)) {
            assert.strictEqual(value("canary_judge_llr", `${run},test="${t.test}"`), t.llr, t.test);
            assert.strictEqual(value("canary_judge_promote_bound", `${run},test="${t.test}"`), t.promoteBound);
            assert.strictEqual(value("canary_judge_rollback_bound", `${run},test="${t.test}"`), t.rollbackBound);
            assert.strictEqual(value("canary_judge_canary_requests", `${run},test="${t.test}"`), t.canaryRequests);
        }
        assert.strictEqual(value("canary_judge_decision", `${run},decision="HOLD"`), 1);
        assert.strictEqual(value("canary_judge_decision", `${run},decision="PROMOTE"`), 0);
        assert.strictEqual(value("canary_judge_last_ask_timestamp_seconds", run), t0.getTime() / 1000);
        assert.ok(Number.isNaN(value("canary_judge_forecast_in_time_ratio", run)), "no forecast, no chance");
        // With a forecast that knows the deadline: its seconds, what is left, and the chance of a decision in time.
        const f = judgedForecast(j, { windowSeconds: 60, weight: 5, stages: [5, 25, 50, 100], deadlineSeconds: 1800, policy }) as NonNullable<ReturnType<typeof judgedForecast>>;
        m.record("checkout-1-w5", scope, 5, j, f, t0);
        const withForecast = await m.registry.metrics();
        const of = (name: string) => Number(new RegExp(`^${name}\\{${run}\\} (\\S+)$`, "m").exec(withForecast)?.[1]);
        assert.ok((f.inTimeChance as number) > 0 && (f.inTimeChance as number) < 1, `${f.inTimeChance}`);
        assert.deepStrictEqual([of("canary_judge_forecast_seconds"), of("canary_judge_deadline_left_seconds"), of("canary_judge_forecast_in_time_ratio")], [f.seconds, f.deadlineLeftSeconds, f.inTimeChance]);
        assert.ok(f.rollout !== undefined && f.rollout.inTimeChance !== null && f.rollout.inTimeChance <= (f.inTimeChance as number));
        assert.strictEqual(of("canary_judge_forecast_rollout_in_time_ratio"), f.rollout.inTimeChance);
        // The next answer replaces the run's series; a test it no longer has goes.
        m.record("checkout-1-w5", scope, 5, { ...j, decision: "ROLLBACK", evidence: { errors: j.evidence.errors } }, undefined, new Date(t0.getTime() + 1000));
        const after = await m.registry.metrics();
        assert.match(after, /canary_judge_decision\{[^}]*decision="ROLLBACK"\} 1/);
        assert.doesNotMatch(after, /test="latency"/);
        m.prune(new Date(t0.getTime() + 1000 + 3600_000));
        assert.match(await m.registry.metrics(), /checkout-1-w5/, "kept for an hour");
        m.prune(new Date(t0.getTime() + 1001 + 3600_000));
        assert.doesNotMatch(await m.registry.metrics(), /checkout-1-w5/, "an hour after its last ask");
    });
});
