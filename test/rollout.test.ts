/**
 * The rollout command's pieces: the statistics against Wald's formulas and known values, the
 * decision rules, the Prometheus client's failure modes (over real HTTP), the stack file edits and
 * the CLI's exit codes, and `run --apply` through an injected Automation API workspace.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as path from "path";
import { analyze, parseSince } from "../rollout/analyze";
import { pulumiBackend, pulumiMessage, readApplied, StackHandle } from "../rollout/apply";
import { CliIo, COMMANDS, defaultIo, main } from "../rollout/cli";
import { DEFAULT_POLICY, judge, stageAlpha, TrackCounts } from "../domain/decide";
import { carriedLlrs, formatLlrs, gateAnswer, parseLlrs, withStage } from "../domain/evidence";
import { httpPrometheus, parseVector, PrometheusClient, PrometheusError, Sample } from "../rollout/prometheus";
import { judgeQuery, judgeServer } from "../rollout/serve";
import { listen } from "../lib/system";
import { DEFAULT_METRICS, METRIC_PRESETS, parseRatio } from "../domain/promql";
import { judgeUrl } from "../components/delivery/analysis";
import { UsageError } from "../lib/args";
import { anytimeBoundaries, bernoulliLlr, boundAtQuantile, countAbove, drift, eventShare, mixtureLlr, requestDrift, sprt, waldAsn, waldBoundaries, wilson } from "../domain/stats";
import { bench, binomial, detectionLimit, floors, forecastCheck, ForecastCheck, forecastGoals, goals, HEALTHY, LOW_TRAFFIC, THIN_TRAFFIC, notAhead, rng, rolloutForecastCheck, RolloutForecastCheck, rolloutForecastGoals, Row, WALD_ASN_2X, zTestSampleSize } from "../bench/decisions";
import { copyProjectFile, PROMOTED_PIN, ROOT } from "./harness";
import { close, fixedPrometheus, track } from "./tools";
import { tempDir } from "../demo/host";


describe("rollout statistics", () => {
    it("Wald's boundaries and the anytime-valid ones", () => {
        const w = waldBoundaries(0.01, 0.05);
        close(w.upper, Math.log(95), 1e-12, "A");
        close(w.lower, Math.log(0.05 / 0.99), 1e-12, "B");
        close(w.upper, 4.5539, 1e-4);
        close(w.lower, -2.9857, 1e-4);
        const v = anytimeBoundaries(0.01, 0.05);
        close(v.upper, 4.6052, 1e-4);
        close(v.lower, -2.9957, 1e-4);
    });

    it("Wald's expected sample size for 0.5% → 1.0% errors, α = 1%, β = 5%: about 2,150 (H1) and 1,880 (H0)", () => {
        // E[N | H1] = ((1-β)·A + β·B) / (p1·ln(p1/p0) + (1-p1)·ln((1-p1)/(1-p0)))
        close(waldAsn(0.005, 0.01, 0.01, 0.05, "H1"), 2149, 2, "ASN H1");
        close(waldAsn(0.005, 0.01, 0.01, 0.05, "H0"), 1881, 2, "ASN H0");
    });

    it("the LLR of counts and where it stands against the boundaries", () => {
        close(bernoulliLlr(1000, 10, 0.005, 0.01), 10 * Math.log(2) + 990 * Math.log(0.99 / 0.995), 1e-9);
        assert.strictEqual(sprt(5, anytimeBoundaries(0.01, 0.05)).outcome, "H1");
        assert.strictEqual(sprt(-3.1, anytimeBoundaries(0.01, 0.05)).outcome, "H0");
        const mid = sprt(2.3, anytimeBoundaries(0.01, 0.05));
        assert.strictEqual(mid.outcome, "continue");
        close(mid.progress, 0.5, 0.01);
    });

    it("a mixture's LLR is the log of the weighted likelihood ratios; each side of a test judges its own statistic", () => {
        close(mixtureLlr([{ weight: 0.8, llr: Math.log(10) }, { weight: 0.2, llr: Math.log(50) }]), Math.log(0.8 * 10 + 0.2 * 50), 1e-12);
        // No overflow far past any boundary, and at most ln(1/weight) below its best component.
        close(mixtureLlr([{ weight: 0.8, llr: 2000 }, { weight: 0.2, llr: 1000 }]), 2000 + Math.log(0.8), 1e-9);
        close(mixtureLlr([{ weight: 0.5, llr: 0 }, { weight: 0.5, llr: 0 }]), 0, 1e-12, "nothing seen: LR 1");
        const b = anytimeBoundaries(0.01, 0.05);
        assert.strictEqual(sprt(4, b, { rollbackLlr: 4.7 }).outcome, "H1", "the rollback side's statistic, not the design's, reaches 1/α");
        assert.strictEqual(sprt(-3.5, b, { promoteLlr: -1 }).outcome, "continue", "the promote side waits for its largest alternative");
        assert.strictEqual(sprt(-3.5, b, { promoteLlr: -3.1 }).outcome, "H0");
    });

    it("the drift per canary request: one-sample as Bernoulli's; conditional on the events, what stable's measured rate leaves of it", () => {
        close(requestDrift(0.005, 0.01), drift(0.005, 0.01, 0.005), 1e-15);
        close(requestDrift(0.005, 0.01, undefined, 0.01), drift(0.005, 0.01, 0.01), 1e-15);
        // At H0: 91.5%, 64.5%, 38.1% of the one-sample drift at the 5, 25 and 50% stages.
        for (const [share, part] of [[0.05, 0.915], [0.25, 0.645], [0.5, 0.381]]) close(requestDrift(0.005, 0.01, share) / drift(0.005, 0.01, 0.005), part, 0.002, `at ${share}`);
        // By hand at 50%: an event is the canary's with probability 1/2 (H0) against 2/3, 0.01 events a canary request.
        close(requestDrift(0.005, 0.01, 0.5), 0.01 * (0.5 * Math.log(4 / 3) + 0.5 * Math.log(2 / 3)), 1e-12);
        close(eventShare(0.5, 2), 2 / 3, 1e-15);
        // At H1 the drift is positive, and the canary's share of the events is H1's.
        close(requestDrift(0.005, 0.01, 0.05, 0.01), (0.01 + 0.005 * 19) * drift(0.05, eventShare(0.05, 2), eventShare(0.05, 2)), 1e-12);
        assert.ok(requestDrift(0.005, 0.01, 0.05, 0.01) > 0);
    });

    it("Wilson intervals match published values", () => {
        const [lo, hi] = wilson(5, 10);
        close(lo, 0.2366, 1e-4);
        close(hi, 0.7634, 1e-4);
        close(wilson(0, 10)[1], 0.2775, 1e-4);
        assert.deepStrictEqual(wilson(0, 0), [0, 1]);
    });

    it("slow share from cumulative buckets, and the bound at stable's p99", () => {
        const buckets = [
            { le: 0.1, count: 900 },
            { le: 0.25, count: 985 },
            { le: 0.5, count: 995 },
            { le: Infinity, count: 1000 },
        ];
        assert.strictEqual(countAbove(buckets, 0.25), 15);
        assert.strictEqual(boundAtQuantile(buckets, 0.99), 0.5);
        assert.strictEqual(boundAtQuantile(buckets, 0.9), 0.1);
        assert.strictEqual(boundAtQuantile([], 0.99), undefined);
        // A floor: never below 0.25 s, even where stable's p90 is 0.1 s.
        assert.strictEqual(boundAtQuantile(buckets, 0.9, 0.25), 0.25);
        assert.strictEqual(boundAtQuantile(buckets, 0.9, 0.2), 0.25, "the first boundary at or above the floor");
        assert.strictEqual(boundAtQuantile(buckets, 0.99, 0.1), 0.5, "the quantile's bound when it is above the floor");
        assert.throws(() => countAbove(buckets, 0.3), /no bucket with le=0.3/);
    });
});

const STAGE5 = { weight: 5, stages: [5, 25, 50, 100], seconds: 300 };

describe("rollout decisions", () => {
    it("the false-rollback budget: 90% on the first stage, the rest shared by the later compared stages", () => {
        close(stageAlpha(DEFAULT_POLICY, STAGE5), 0.009, 1e-12);
        close(stageAlpha(DEFAULT_POLICY, { weight: 25, stages: [5, 25, 50, 100] }), 0.0005, 1e-12);
        close(stageAlpha(DEFAULT_POLICY, { weight: 100, stages: [5, 25, 50, 100] }), 0.0005, 1e-12);
        close(stageAlpha(DEFAULT_POLICY, { weight: 50, stages: [50, 100] }), 0.01, 1e-12);
    });

    it("ratio metrics: the same conditional test on a pair of counters, up or down is the regression; a PROMOTE waits for them", () => {
        const failures = { name: "checkout-failures", events: "checkouts_failed_total", total: "checkouts_total", bad: "up" } as const;
        const conversion = { name: "conversion", events: "orders_total", total: "visits_total", bad: "down" } as const;
        const withRatios = (t: TrackCounts, r: Record<string, { events: number; total: number }>): TrackCounts => ({ ...t, ratios: r });
        // Healthy everywhere: 2% failed checkouts and 10% conversion on both tracks.
        const stable = withRatios(track(100_000, 500), { "checkout-failures": { events: 400, total: 20_000 }, conversion: { events: 10_000, total: 100_000 } });
        const healthy = judge(withRatios(track(6000, 30), { "checkout-failures": { events: 24, total: 1200 }, conversion: { events: 600, total: 6000 } }), stable, STAGE5, DEFAULT_POLICY, [failures, conversion]);
        assert.strictEqual(healthy.decision, "PROMOTE", healthy.reasons.join("\n"));
        assert.deepStrictEqual(healthy.evidence.ratios!.map((t) => [t.name, t.method, t.p1 / t.p0, t.sprt.outcome]), [
            ["checkout-failures", "conditional", 2, "H0"],
            ["conversion", "conditional", 0.5, "H0"],
        ]);
        // Their α comes out of the errors test's share: errors 85%, latency 5%, tail 5%, ratios 5% split equally.
        close(healthy.evidence.errors!.sprt.boundaries.upper, Math.log(1 / (0.009 * 0.85)), 1e-9);
        close(healthy.evidence.ratios![0].sprt.boundaries.upper, Math.log(1 / (0.009 * 0.025)), 1e-9);
        // No 5xx more and no slower, but checkouts fail at 8% (soft failures answered 200): rolled back on the ratio alone.
        const failing = judge(withRatios(track(6000, 30), { "checkout-failures": { events: 96, total: 1200 }, conversion: { events: 600, total: 6000 } }), stable, STAGE5, DEFAULT_POLICY, [failures, conversion]);
        assert.strictEqual(failing.decision, "ROLLBACK");
        assert.deepStrictEqual([failing.evidence.errors!.sprt.outcome, failing.evidence.ratios![0].sprt.outcome], ["H0", "H1"]);
        assert.match(failing.reasons.join("\n"), /checkout-failures: canary 96\/1200 checkouts_failed_total per checkouts_total \(8\.00%.*regression/);
        // A drop is the regression for conversion: 4% against stable's 10%.
        const dropping = judge(withRatios(track(6000, 30), { "checkout-failures": { events: 24, total: 1200 }, conversion: { events: 240, total: 6000 } }), stable, STAGE5, DEFAULT_POLICY, [failures, conversion]);
        assert.strictEqual(dropping.decision, "ROLLBACK");
        assert.match(dropping.reasons.join("\n"), /conversion: canary 240\/6000 orders_total per visits_total, lower is worse \(4\.00%.*regression/);
        // More conversions is no regression.
        assert.strictEqual(judge(withRatios(track(6000, 30), { "checkout-failures": { events: 24, total: 1200 }, conversion: { events: 900, total: 6000 } }), stable, STAGE5, DEFAULT_POLICY, [failures, conversion]).decision, "PROMOTE");
        // A ratio neither track counted holds the PROMOTE, naming the counter.
        const uncounted = judge(track(6000, 30), track(100_000, 500), STAGE5, DEFAULT_POLICY, [failures]);
        assert.strictEqual(uncounted.decision, "HOLD");
        assert.deepStrictEqual(uncounted.holds, ["checkout-failures: no checkouts_total counted for both tracks in the window"]);
        // The evidence a stage records carries each ratio's LLR by its name, like the built-in tests'.
        // The errors test's second alternative (1.5×) under its own key.
        assert.deepStrictEqual(Object.keys(gateAnswer(healthy, 0.009).llr), ["errors", "errors~1.5", "latency", "checkout-failures", "conversion"]);
    });

    it("a test named like an Object.prototype member: nothing carried is 0, not Object's constructor; the name is refused where it is given", () => {
        // Evidence is keyed by test name. A ratio named `constructor` with evidence carried for the other
        // tests read `carried.constructor`, a function: its LLR became the function's text, and the
        // judge's answer (toFixed on it) a 500.
        const ratio = { name: "constructor", events: "checkouts_failed_total", total: "checkouts_total", bad: "up" } as const;
        const counts = (t: TrackCounts, events: number, total: number): TrackCounts => ({ ...t, ratios: { constructor: { events, total } } });
        const j = judge(counts(track(6000, 30), 24, 1200), counts(track(100_000, 500), 400, 20_000), { weight: 25, stages: [5, 25, 50, 100], seconds: 300, carried: { errors: -1, latency: -1 } }, DEFAULT_POLICY, [ratio]);
        assert.strictEqual(j.evidence.ratios![0].carried, 0);
        assert.ok(Number.isFinite(j.evidence.ratios![0].sprt.llr), String(j.evidence.ratios![0].sprt.llr));
        const answer = gateAnswer(j, 0.0005);
        assert.strictEqual(typeof answer.llr.constructor, "number");
        // Summing stages' evidence: a test with none before starts from 0.
        const e = withStage(withStage(undefined, { version: "v2" }, [5, 25, 50, 100], 5, { ...answer, decision: "PROMOTE", llr: { errors: -1 } }), { version: "v2" }, [5, 25, 50, 100], 25, { ...answer, decision: "PROMOTE" });
        assert.strictEqual(carriedLlrs(e, "v2", [5, 25, 50, 100], 50)!.constructor, answer.llr.constructor);
        assert.throws(() => parseLlrs("errors:-1,constructor:-2"), /"constructor:-2" is not test:llr or test~factor:llr with a test name other than constructor/);
        assert.throws(() => parseLlrs("errors:-1,errors:-2"), /"errors" is given twice/);
        assert.throws(() => parseRatio("constructor,checkouts_failed_total,checkouts_total,up"), /is not name,events,total,up\|down with a name other than errors, latency, tail and constructor/);
    });

    it("evidence carried from the stages before: one test over the rollout, its budget the first stage's", () => {
        const stage25 = { weight: 25, stages: [5, 25, 50, 100], seconds: 60 };
        // The chain that starts at 5 and goes on carries the first stage's 90%; a fresh test at 25 gets 5%.
        close(stageAlpha(DEFAULT_POLICY, { ...stage25, carried: { errors: -3.2 } }), 0.009, 1e-12);
        // This stage alone: 5/1000 5xx vs stable's 15/3000, LLR about -1.0, not yet a decision.
        const canary = track(1000, 5);
        const stable = track(3000, 15);
        const fresh = judge(canary, stable, stage25);
        assert.strictEqual(fresh.decision, "HOLD");
        close(fresh.evidence.errors!.sprt.boundaries.upper, Math.log(1 / (0.0005 * 0.9)), 1e-9);
        // After the first stage a PROMOTE waits for 1.5× too: its chain is carried under its own key.
        const carried = { errors: -3.2, "errors~1.5": -1.5, latency: -3.2 };
        assert.strictEqual(judge(canary, stable, { ...stage25, carried: { errors: -3.2, latency: -3.2 } }).decision, "HOLD", "1.5× not carried: not yet ruled out at 25");
        const onward = judge(canary, stable, { ...stage25, carried });
        assert.strictEqual(onward.decision, "PROMOTE", onward.reasons.join("\n"));
        const errors = onward.evidence.errors!;
        close(errors.sprt.llr, errors.carried + errors.stageLlr, 1e-12);
        assert.strictEqual(errors.carried, -3.2);
        close(errors.stageLlr, fresh.evidence.errors!.sprt.llr, 1e-12);
        close(errors.sprt.boundaries.upper, Math.log(1 / (0.009 * 0.9)), 1e-9, "the chain's boundary, not a fresh later stage's");
        assert.match(onward.reasons[0], /LLR -4\.\d\d = -3\.20 carried - 1\.\d\d this stage/);
        // The stage's least time: the carried evidence does not promote before minStageSeconds at this weight.
        const early = judge(canary, stable, { ...stage25, seconds: 30, carried });
        assert.strictEqual(early.decision, "HOLD");
        assert.deepStrictEqual(early.holds, ["the stage has been judged for 30s; it is promoted after at least 45s at its weight"]);
        // This stage's own evidence leans toward a regression (10/1000 against 0.5%): the stages before do not outvote it.
        const leaning = judge(track(1000, 10), stable, { ...stage25, carried: { errors: -5, latency: -3.2 } });
        assert.ok(leaning.evidence.errors!.sprt.llr < Math.log(0.05) && leaning.evidence.errors!.stageLlr > 0);
        assert.strictEqual(leaning.decision, "HOLD");
        assert.match(leaning.holds!.join("\n"), /errors: this stage's own evidence leans toward a regression \(LLR \+1\.\d\d\)/);
        // A regression at this stage rolls back from where the chain stands: 40/1000 against 0.5%.
        assert.strictEqual(judge(track(1000, 40), stable, { ...stage25, carried }).decision, "ROLLBACK");
    });

    it("closer to the limit: the first stage promotes at firstStageBeta on 2× alone, the stages after it at stageBeta and the last at β once 1.5× is ruled out too; the rollback side is the mixture", () => {
        const stages = [5, 25, 50, 100];
        const stable = track(100_000, 500);
        // 2,000 canary requests at 0.5%: 2× is ruled out at 20% (LLR below ln 0.2) but not at 5%.
        const canary = track(2000, 10);
        const at5 = judge(canary, stable, { weight: 5, stages, seconds: 300 });
        const errors5 = at5.evidence.errors!;
        assert.ok(errors5.sprt.llr < Math.log(0.2) && errors5.sprt.llr > Math.log(0.05), `${errors5.sprt.llr}`);
        close(errors5.sprt.boundaries.lower, Math.log(DEFAULT_POLICY.firstStageBeta), 1e-12);
        assert.strictEqual(at5.decision, "PROMOTE", at5.reasons.join("\n"));
        assert.strictEqual(errors5.confirm!.required, false);
        // The same counts judged fresh at 25, between: stageBeta, and 1.5× waited for.
        const errors25 = judge(canary, stable, { weight: 25, stages, seconds: 300 }).evidence.errors!;
        close(errors25.sprt.boundaries.lower, Math.log(DEFAULT_POLICY.stageBeta), 1e-12);
        assert.strictEqual(errors25.confirm!.required, true);
        // The same counts judged fresh at 50, the last compared stage: β, and 1.5× must be ruled out too.
        const at50 = judge(canary, stable, { weight: 50, stages, seconds: 300 });
        const errors50 = at50.evidence.errors!;
        close(errors50.sprt.boundaries.lower, Math.log(0.05), 1e-12);
        assert.deepStrictEqual([at50.decision, errors50.confirm!.required, errors50.confirm!.factor], ["HOLD", true, 1.5]);
        assert.match(at50.reasons.join("\n"), /errors: .*at 1\.5×: LLR -\d\.\d\d, a PROMOTE waits for it too; the mixture's/);
        // Enough requests and it promotes: 20,000 at 0.5%.
        assert.strictEqual(judge(track(20_000, 100), stable, { weight: 50, stages, seconds: 300 }).decision, "PROMOTE");
        // A canary at 1.5× (0.75%) on 20,000 requests: not promoted at 50; the mixture's LLR is what rolls it back.
        const small = judge(track(20_000, 150), stable, { weight: 50, stages, seconds: 300 }).evidence.errors!;
        assert.ok(small.sprt.outcome !== "H0" && small.confirm!.llr > Math.log(0.05));
        close(small.sprt.rollbackLlr, Math.log(0.8 * Math.exp(small.sprt.llr) + 0.2 * Math.exp(small.confirm!.llr)), 1e-9);
        const rolled = judge(track(40_000, 300), track(200_000, 1000), { weight: 50, stages, seconds: 600 }).evidence.errors!;
        assert.strictEqual(rolled.sprt.outcome, "H1", `${rolled.sprt.rollbackLlr} against ${rolled.sprt.boundaries.upper}`);
        assert.ok(rolled.sprt.rollbackLlr > rolled.sprt.llr, "1.5×'s alternative carries the mixture past the design's");
    });

    it("carried evidence keeps each alternative's chain: 1.5×'s under errors~1.5, summed stage by stage, through the carry argument", () => {
        const stages = [5, 25, 50, 100];
        const stable = track(100_000, 500);
        const at5 = judge(track(2000, 10), stable, { weight: 5, stages, seconds: 300 });
        const answer = gateAnswer(at5, 0.009);
        assert.deepStrictEqual(Object.keys(answer.llr), ["errors", "errors~1.5", "latency"]);
        close(answer.llr["errors~1.5"], at5.evidence.errors!.confirm!.stageLlr, 1e-12);
        const e5 = withStage(undefined, { version: "v2" }, stages, 5, answer);
        const into25 = carriedLlrs(e5, "v2", stages, 25)!;
        assert.deepStrictEqual(parseLlrs(formatLlrs(into25)), Object.fromEntries(Object.entries(into25).map(([k, v]) => [k, Number(v.toFixed(4))])), "the carry argument round-trips");
        const at25 = judge(track(10_000, 50), track(30_000, 150), { weight: 25, stages, seconds: 60, carried: into25 });
        assert.strictEqual(at25.decision, "PROMOTE", at25.reasons.join("\n"));
        const into50 = carriedLlrs(withStage(e5, { version: "v2" }, stages, 25, gateAnswer(at25, 0.009)), "v2", stages, 50)!;
        close(into50["errors~1.5"], at5.evidence.errors!.confirm!.stageLlr + at25.evidence.errors!.confirm!.stageLlr, 1e-12);
        const at50 = judge(track(1000, 5), track(1000, 5), { weight: 50, stages, seconds: 60, carried: into50 });
        assert.deepStrictEqual([at50.evidence.errors!.confirm!.carried, at50.evidence.errors!.carried], [into50["errors~1.5"], into50.errors]);
        // A carry without 1.5×'s key (evidence recorded before it): that chain starts at this stage, which only makes it shorter.
        const { ["errors~1.5"]: _dropped, ...older } = into50;
        assert.strictEqual(judge(track(1000, 5), track(1000, 5), { weight: 50, stages, seconds: 60, carried: older }).evidence.errors!.confirm!.carried, 0);
        assert.throws(() => parseLlrs("errors~:-1"), /is not test:llr or test~factor:llr/);
        assert.throws(() => parseLlrs("errors~1.5~2:-1"), /is not test:llr or test~factor:llr/);
    });

    it("no canary requests, or too small a stable baseline: HOLD", () => {
        assert.strictEqual(judge(track(0, 0), track(10_000, 50), STAGE5).decision, "HOLD");
        const small = judge(track(3000, 0), track(100, 0), STAGE5);
        assert.strictEqual(small.decision, "HOLD");
        assert.match(small.reasons[0], /stable served 100 requests .* needs 500/);
    });

    it("20% canary errors against 0.5%: ROLLBACK", () => {
        const j = judge(track(200, 40), track(20_000, 100), STAGE5);
        assert.strictEqual(j.decision, "ROLLBACK");
        assert.strictEqual(j.evidence.errors!.sprt.outcome, "H1");
    });

    it("a healthy canary with enough requests: PROMOTE; with too few: HOLD", () => {
        assert.strictEqual(judge(track(6000, 30), track(100_000, 500), STAGE5).decision, "PROMOTE");
        const early = judge(track(300, 1), track(6000, 30), STAGE5);
        assert.strictEqual(early.decision, "HOLD");
        assert.ok(early.reasons.includes("not enough evidence yet for either decision"));
    });

    it("a latency regression alone (slow share 4× stable's): ROLLBACK", () => {
        const j = judge(track(6000, 30, 6000 * 0.04), track(100_000, 500, 1000), STAGE5);
        assert.strictEqual(j.decision, "ROLLBACK");
        assert.strictEqual(j.evidence.latency!.sprt.outcome, "H1");
        assert.strictEqual(j.evidence.errors!.sprt.outcome, "H0");
    });

    it("millisecond noise is no regression: the latency bound is never below 25 ms; a slow tail above it still rolls back", () => {
        // What two identical demo-app processes showed on a busy 2-core machine: 0.85% against 0.35%
        // of 7,500 requests above 5 ms, nothing above 25 ms.
        const fast = (n: number, over5ms: number, over25ms = 0) => [
            { le: 0.005, count: n - over5ms },
            { le: 0.01, count: n - over25ms },
            { le: 0.025, count: n - over25ms },
            { le: 0.05, count: n },
            { le: Infinity, count: n },
        ];
        const t = (n: number, over5ms: number, over25ms = 0): TrackCounts => ({ requests: n, errors: 0, buckets: fast(n, over5ms, over25ms), resets: 0 });
        const noise = judge(t(7500, 64), t(7500, 26), STAGE5);
        assert.strictEqual(noise.evidence.latencyBound, 0.025);
        assert.strictEqual(noise.decision, "PROMOTE", noise.reasons.join("; "));
        const atFiveMs = judge(t(7500, 64), t(7500, 26), STAGE5, { ...DEFAULT_POLICY, minLatencyBound: 0 });
        assert.strictEqual(atFiveMs.decision, "ROLLBACK", "without the floor the same counts are a regression");
        const slowTail = judge(t(7500, 300, 150), t(7500, 26), STAGE5);
        assert.strictEqual(slowTail.decision, "ROLLBACK", slowTail.reasons.join("; "));
    });

    it("the tail test: rare slow outliers above stable's p99 roll back though the p90 test sees nothing; undecided, it never holds a PROMOTE back", () => {
        // Buckets 0.1 / 0.25 / 0.5 / +Inf: stable's p90 is at 0.1, its p99 at 0.25.
        const shaped = (n: number, over01: number, over025: number): TrackCounts => ({
            requests: n,
            errors: 0,
            buckets: [
                { le: 0.1, count: n - over01 },
                { le: 0.25, count: n - over025 },
                { le: 0.5, count: n - over025 },
                { le: Infinity, count: n },
            ],
            resets: 0,
        });
        const stable = shaped(100_000, 8_000, 50);
        // 1% of the canary's requests take seconds: the share above 0.1 s barely moves (8% → 9%), above 0.25 s it is 20 times stable's.
        const outliers = judge(shaped(6000, 540, 60), stable, STAGE5);
        assert.deepStrictEqual([outliers.evidence.latencyBound, outliers.evidence.tailBound], [0.1, 0.25]);
        assert.strictEqual(outliers.evidence.latency!.sprt.outcome !== "H1", true, "the p90 test does not see them");
        assert.strictEqual(outliers.evidence.tail!.sprt.outcome, "H1");
        assert.strictEqual(outliers.decision, "ROLLBACK");
        // Healthy, with the tail test still undecided: PROMOTE all the same.
        const healthy = judge(shaped(6000, 480, 8), stable, STAGE5);
        assert.strictEqual(healthy.evidence.tail!.sprt.outcome, "continue");
        assert.strictEqual(healthy.decision, "PROMOTE", healthy.reasons.join("; "));
        assert.match(healthy.reasons.join("\n"), /^tail: .*undecided, can only roll back/m);
    });

    it("counter resets block PROMOTE but not ROLLBACK; a missing histogram blocks PROMOTE", () => {
        const reset = judge(track(6000, 30, 30, 1), track(100_000, 500), STAGE5);
        assert.strictEqual(reset.decision, "HOLD");
        assert.match(reset.reasons.join(), /counter reset/);
        assert.strictEqual(judge(track(200, 40, 1, 1), track(20_000, 100), STAGE5).decision, "ROLLBACK");
        const noHistogram = judge({ ...track(6000, 30), buckets: [] }, { ...track(100_000, 500), buckets: [] }, STAGE5);
        assert.strictEqual(noHistogram.decision, "HOLD");
        assert.match(noHistogram.reasons[0], /no latency histogram/);
    });
});

/** A real HTTP server answering every request with `handler`. */
async function server(handler: http.RequestListener): Promise<{ url: string; close: () => void }> {
    const s = http.createServer(handler);
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    return { url: `http://127.0.0.1:${(s.address() as net.AddressInfo).port}`, close: () => s.close() };
}

const SCOPE = { namespace: "podinfo", app: "podinfo" };
const NOW = new Date("2026-11-21T12:00:00Z");
const analyzeAt = (prometheus: PrometheusClient) => analyze({ prometheus, metrics: DEFAULT_METRICS, scope: SCOPE, since: new Date(NOW.getTime() - 600_000), now: NOW, stage: STAGE5 });

describe("rollout analyze at weight 100: stable's baseline is read from before the stage, where it still had traffic", () => {
    // What Prometheus holds once the route sends everything to the canary: stable's requests all end at
    // `since`. The fake answers each query by the instant it is evaluated at: over the stage (at `now`)
    // only the canary counts, over the window before it (at `since`) only stable.
    const since = new Date(NOW.getTime() - 120_000);
    const healthy = (requests: number): TrackCounts => ({ requests, errors: 0, resets: 0, buckets: [{ le: 0.025, count: requests }, { le: Infinity, count: requests }] });
    const none: TrackCounts = { requests: 0, errors: 0, resets: 0, buckets: [{ le: 0.025, count: 0 }, { le: Infinity, count: 0 }] };
    const asked: Date[] = [];
    const byInstant: PrometheusClient = {
        query: (q, t) => (asked.push(t!), t!.getTime() === since.getTime() ? fixedPrometheus(none, healthy(30_000)) : fixedPrometheus(healthy(30_000), none)).query(q, t),
    };
    const carried = { errors: -27.87, latency: -19.3 };
    const at = (weight: number) => analyze({ prometheus: byInstant, metrics: DEFAULT_METRICS, scope: SCOPE, since, now: NOW, stage: { weight, stages: [5, 25, 50, 100], carried } });

    it("at 100 the stable counts are the window that ends at since, and the stage can decide", async () => {
        asked.length = 0;
        const j = await at(100);
        assert.deepStrictEqual([j.canary?.requests, j.stable?.requests], [30_000, 30_000]);
        assert.ok(asked.some((t) => t.getTime() === since.getTime()), "no query evaluated at since");
        assert.notStrictEqual(j.decision, "HOLD", j.reasons.join("; "));
    });

    it("below 100 stable is read over the stage's own window: with none there, HOLD naming the baseline", async () => {
        asked.length = 0;
        const j = await at(50);
        assert.ok(asked.every((t) => t.getTime() === NOW.getTime()));
        assert.strictEqual(j.decision, "HOLD");
        assert.match(j.reasons[0], /stable served 0 requests in the window; the baseline needs/);
    });
});

describe("rollout analyze: a Prometheus that cannot be trusted gives HOLD, never PROMOTE", () => {
    const cases: [string, http.RequestListener, RegExp][] = [
        ["answers 503", (_q, r) => (r.writeHead(503), r.end("overloaded")), /answered HTTP 503/],
        ["answers HTML", (_q, r) => (r.writeHead(200), r.end("<html>")), /not JSON/],
        ["answers an error status", (_q, r) => (r.writeHead(200), r.end(JSON.stringify({ status: "error", error: "bad_data" }))), /query failed \(bad_data\)/],
        ["answers a matrix", (_q, r) => (r.writeHead(200), r.end(JSON.stringify({ status: "success", data: { resultType: "matrix", result: [] } }))), /expected a vector/],
        ["answers NaN", (_q, r) => (r.writeHead(200), r.end(JSON.stringify({ status: "success", data: { resultType: "vector", result: [{ metric: { track: "canary" }, value: [1, "NaN"] }] } }))), /non-finite value NaN/],
        ["answers empty vectors", (_q, r) => (r.writeHead(200), r.end(JSON.stringify({ status: "success", data: { resultType: "vector", result: [] } }))), /empty vector/],
        ["does not answer in time", () => undefined, /no answer within 200 ms/],
    ];
    for (const [what, handler, reason] of cases) {
        it(`Prometheus ${what}`, async () => {
            const s = await server(handler);
            try {
                const j = await analyzeAt(httpPrometheus(s.url, 200));
                assert.strictEqual(j.decision, "HOLD");
                assert.match(j.reasons[0], reason);
            } finally {
                s.close();
            }
        });
    }

    it("Prometheus unreachable", async () => {
        const s = await server(() => undefined);
        s.close(); // a port nothing listens on any more
        const j = await analyzeAt(httpPrometheus(s.url, 1000));
        assert.strictEqual(j.decision, "HOLD");
        assert.match(j.reasons[0], /unreachable: ECONNREFUSED/);
    });

    it("parses a vector, and refuses a sample without labels", () => {
        const ok = parseVector({ status: "success", data: { resultType: "vector", result: [{ metric: { track: "stable" }, value: [1, "12.5"] }] } }, "q");
        assert.deepStrictEqual(ok, [{ labels: { track: "stable" }, value: 12.5 }]);
        assert.throws(() => parseVector({ status: "success", data: { resultType: "vector", result: [{ value: [1, "1"] }] } }, "q"), /without labels/);
    });

    it("--since: durations and past RFC 3339 times; each refusal says what is wrong", () => {
        assert.strictEqual(parseSince("15m", NOW).toISOString(), "2026-11-21T11:45:00.000Z");
        // Go's syntax, as every duration the command reads (domain/duration.ts).
        assert.deepStrictEqual(["1h30m", "1.5h", "90m0s"].map((d) => parseSince(d, NOW).toISOString()), Array(3).fill("2026-11-21T10:30:00.000Z"));
        assert.strictEqual(parseSince("2026-11-21T11:00:00Z", NOW).toISOString(), "2026-11-21T11:00:00.000Z");
        assert.strictEqual(parseSince("2026-11-21T12:00:00+01:00", NOW).toISOString(), "2026-11-21T11:00:00.000Z");
        const refusals: [string, RegExp][] = [
            ["15", /is not a duration back from now \(90s, 15m, 2h\) or an RFC 3339 time with its zone/],
            ["-5m", /is not a duration back from now/],
            ["721h", /is more than 30 days \(720h\) back/],
            ["yesterday", /is not a duration/],
            ["2026-11-21", /is not a duration/],
            ["2026-11-21T11:00:00", /has no time zone: add Z \(UTC\) or an offset such as \+01:00/],
            ["2026-11-21T11:00", /has no time zone/],
            ["2026-11-22T00:00:00Z", /is in the future \(now is 2026-11-21T12:00:00.000Z\)/],
            ["2026-13-45T11:00:00Z", /"2026-13-45T11:00:00Z" is not a time on the calendar/],
            // Date reads these as March 2, the next day and 11:00 at +24:00; RFC 3339 has none of them.
            ["2026-02-30T10:00:00Z", /--since "2026-02-30T10:00:00Z" is not a time on the calendar \(months 01-12, the month's days, hours 00-23/],
            ["2026-11-20T24:00:00Z", /"2026-11-20T24:00:00Z" is not a time on the calendar/],
            ["2026-11-21T11:00:00+24:00", /"2026-11-21T11:00:00\+24:00" is not a time on the calendar/],
            // An unbounded window was an Invalid Date and `[NaNs]` queries.
            ["9000000000000s", /--since 9000000000000s is more than 30 days \(720h\) back/],
            ["721h", /--since 721h is more than 30 days \(720h\) back/],
            ["2026-10-22T11:59:59Z", /--since 2026-10-22T11:59:59Z is more than 30 days \(720h\) back: a stage's window is at most that long \(now is 2026-11-21T12:00:00.000Z\)/],
        ];
        for (const [bad, message] of refusals) assert.throws(() => parseSince(bad, NOW), message, bad);
        // The bounds themselves, and a leap day, are times.
        assert.strictEqual(parseSince("720h", NOW).toISOString(), "2026-10-22T12:00:00.000Z");
        assert.strictEqual(parseSince("2026-10-22T12:00:00Z", NOW).toISOString(), "2026-10-22T12:00:00.000Z");
        assert.strictEqual(parseSince("2028-02-29T10:00:00.5Z", new Date("2028-03-01T00:00:00Z")).toISOString(), "2028-02-29T10:00:00.500Z");
    });

    it("a window shorter than two scrape intervals is HOLD naming the cause, with counts unknown (not 0), before any query", async () => {
        let queried = 0;
        const j = await analyze({
            prometheus: { query: async () => (queried++, []) },
            metrics: DEFAULT_METRICS,
            scope: SCOPE,
            since: new Date(NOW.getTime() - 20_000),
            now: NOW,
            stage: STAGE5,
        });
        assert.strictEqual(j.decision, "HOLD");
        assert.match(j.reasons[0], /is 20s, shorter than two scrape intervals \(30s\): nothing to judge before 2026-11-21T12:00:10.000Z/);
        assert.deepStrictEqual([j.canary, j.stable, queried], [null, null, 0]);
    });
});

const STACK_FILE = `# dev stack: comments stay where they are
config:
  # the stage
  canary:weight: 50 # inline comment
  canary:app:
    name: podinfo
    port: 9898
    probes: { readiness: { path: /readyz }, liveness: { path: /healthz } }
    host: podinfo.127.0.0.1.nip.io
    stable:
      image: ghcr.io/stefanprodan/podinfo:6.7.1 # stable image
    canary:
      image: ghcr.io/stefanprodan/podinfo:6.8.0
  canary:grafanaAdminPassword:
    secure: AAABAHk0dGVzdHNlY3JldA==
  kubernetes:context: kind-canary
`;

/** A project directory with one stack file and a policy pack to run (`run --apply`), and a CLI whose output is captured. */
function project(text = STACK_FILE, overrides: Partial<CliIo> = {}) {
    const dir = tempDir("rollout");
    const file = path.join(dir, "Pulumi.dev.yaml");
    fs.writeFileSync(file, text);
    copyProjectFile(dir);
    fs.mkdirSync(path.join(dir, "policy"));
    fs.writeFileSync(path.join(dir, "policy", "analyzer"), "#!/bin/sh\nexit 1\n", { mode: 0o755 });
    const out: string[] = [];
    // The stack's outputs are read only where a test gives them: never a real `pulumi` from a test.
    const io: CliIo = { ...defaultIo(dir), out: (l) => out.push(l), err: (l) => out.push(l), readApplied: async () => ({ unknown: "not read in this test" }), ...overrides };
    return { dir, file, out, io, run: (...argv: string[]) => main(argv, io), text: () => fs.readFileSync(file, "utf8") };
}

/** Lines that differ between two texts of the same length. */
function changedLines(a: string, b: string): string[] {
    const [x, y] = [a.split("\n"), b.split("\n")];
    assert.strictEqual(x.length, y.length, "line count changed");
    return y.filter((l, i) => l !== x[i]);
}

describe("rollout next / rollback / promote edit the stack file in place", () => {
    it("next: only the weight changes; comments, order and secure values stay", async () => {
        const p = project();
        assert.strictEqual(await p.run("next", "--stack", "dev"), 0);
        assert.deepStrictEqual(changedLines(STACK_FILE, p.text()), ["  canary:weight: 100 # inline comment"]);
        assert.match(p.out.join("\n"), /canary:weight: 50 → 100/);
    });

    it("next at 100 refuses (exit 2) and leaves the file untouched", async () => {
        const p = project(STACK_FILE.replace("canary:weight: 50", "canary:weight: 100"));
        const before = p.text();
        assert.strictEqual(await p.run("next", "--stack", "dev"), 2);
        assert.match(p.out.join("\n"), /no next stage.*promote/);
        assert.strictEqual(p.text(), before);
    });

    it("rollback sets 0; promote from 100 moves the canary image to stable and the weight to 0", async () => {
        const p = project();
        assert.strictEqual(await p.run("promote", "--stack", "dev"), 2, "promote only from 100");
        assert.strictEqual(await p.run("rollback", "--stack", "dev"), 0);
        assert.deepStrictEqual(changedLines(STACK_FILE, p.text()), ["  canary:weight: 0 # inline comment"]);

        const q = project(STACK_FILE.replace("canary:weight: 50", "canary:weight: 100"));
        const before = q.text();
        assert.strictEqual(await q.run("promote", "--stack", "dev", "--unpinned"), 0);
        assert.deepStrictEqual(changedLines(before, q.text()), ["  canary:weight: 0 # inline comment", "      image: ghcr.io/stefanprodan/podinfo:6.8.0 # stable image"]);
        assert.match(q.text(), /secure: AAABAHk0dGVzdHNlY3JldA==/);
        // After promotion there is no canary to advance.
        assert.strictEqual(await q.run("next", "--stack", "dev"), 2);
    });

    it("usage and config errors exit 2 with a clear message and touch nothing", async () => {
        const p = project();
        const cases: [string[], RegExp][] = [
            [["next", "--stack", "../dev"], /is not a stack name/],
            [["next", "--stack", "staging"], /no stack file Pulumi\.staging\.yaml .*stacks here: dev/],
            [["deploy", "--stack", "dev"], /unknown command "deploy"/],
            [["next"], /--stack is required/],
            [["next", "--stack", "dev", "--force"], /unknown option --force/],
            [["analyze", "--stack", "dev"], /analyze: --prometheus URL is required/],
            [["analyze", "--stack", "dev", "--prometheus", "http://127.0.0.1:9090", "--since", "soon"], /--since "soon" is not a duration/],
            [["status", "--stack", "dev", "--carry", "errors:-1"], /status: unknown option --carry \(options here: --stack, --prometheus, --json, --help\)/],
            [["status", "--stack", "dev", "--prometheus", "ftp://p"], /--prometheus/],
            [["next", "--stack", "dev", "--apply"], /next: unknown option --apply/],
            [["analyze", "--stack", "dev", "--prometheus", "http://p", "--interval", "5s"], /analyze: unknown option --interval/],
            [["next", "--stack", "dev", "--stack", "prod"], /--stack is given twice/],
            [["next", "--stack"], /--stack needs a value \(NAME\)/],
            [["next", "--stack="], /--stack needs a value \(NAME\), got an empty one/],
            [["status", "--stack", "dev", "--json=yes"], /--json takes no value, or =true or =false \(got /],
            [["next", "dev"], /unexpected argument "dev"/],
            [[], /no command given/],
        ];
        for (const [argv, message] of cases) {
            p.out.length = 0;
            assert.strictEqual(await p.run(...argv), 2, argv.join(" "));
            assert.match(p.out.join("\n"), message);
        }
        assert.strictEqual(p.text(), STACK_FILE);

        const bad = project(STACK_FILE.replace("canary:weight: 50", "canary:weight: 30"));
        assert.strictEqual(await bad.run("next", "--stack", "dev"), 2);
        assert.match(bad.out.join("\n"), /canary:weight = 30: must be 0 or one of canary:stages \[5, 25, 50, 100\]/);
        assert.strictEqual(bad.text(), STACK_FILE.replace("canary:weight: 50", "canary:weight: 30"));
    });

    it("a stack file that is not a mapping with a config: mapping is refused naming the file and what it must be, not read as all defaults", async () => {
        const shape = /the stack file must be a mapping with a config: mapping \(of <project>:<key> values\)/;
        const cases: [string, RegExp][] = [
            ["", /Pulumi\.dev\.yaml is empty: /],
            ["# only a comment\n", /Pulumi\.dev\.yaml is empty: /],
            ["just words\n", /Pulumi\.dev\.yaml is the string "just words": /],
            ["42\n", /Pulumi\.dev\.yaml is the number 42: /],
            ["- config: {}\n", /Pulumi\.dev\.yaml is a list: /],
            ["config:\n  - canary:weight: 5\n", /Pulumi\.dev\.yaml: config is a list: /],
            ["config: canary\n", /Pulumi\.dev\.yaml: config is the string "canary": /],
            ["config:\n", /Pulumi\.dev\.yaml: config is empty: /],
            ["encryptionsalt: v1:abc\n", /Pulumi\.dev\.yaml: config is missing: /],
        ];
        for (const [text, message] of cases) {
            const p = project(text);
            for (const command of ["status", "next"]) {
                p.out.length = 0;
                assert.strictEqual(await p.run(command, "--stack", "dev"), 2, `${command} on ${JSON.stringify(text)}: ${p.out.join("\n")}`);
                assert.match(p.out.join("\n"), message);
                assert.match(p.out.join("\n"), shape);
            }
            assert.strictEqual(p.text(), text);
        }
    });

    it("an alias bomb, an oversized file and keys named like Object.prototype members: a clear refusal, bounded work", async () => {
        // Nine levels of nine aliases: 9^9 strings once expanded.
        const levels = Array.from({ length: 9 }, (_, i) => `  l${i + 1}: &l${i + 1} [${Array(9).fill(`*l${i}`).join(", ")}]`);
        const bomb = `config:\n  canary:weight: 0\n  l0: &l0 "lol"\n${levels.join("\n")}\n`;
        const started = Date.now();
        const p = project(bomb);
        assert.strictEqual(await p.run("status", "--stack", "dev"), 2);
        assert.match(p.out.join("\n"), /^rollout: Pulumi\.dev\.yaml: Excessive alias count indicates a resource exhaustion attack \(at most 100 alias expansions are read\)$/);
        assert.ok(Date.now() - started < 5000, `${Date.now() - started} ms`);
        const big = project(`config:\n  canary:weight: 0\n${`# ${"x".repeat(98)}\n`.repeat(11_000)}`);
        assert.strictEqual(await big.run("status", "--stack", "dev"), 2);
        assert.match(big.out.join("\n"), /Pulumi\.dev\.yaml is larger than 1048576 bytes: the stack file must be a mapping/);
        // A key the schema does not know is refused by name, whatever its name: `constructor` crashed
        // the refusal ("a bug"), `__proto__` was read as the prototype and ignored.
        for (const key of ["constructor", "__proto__"]) {
            const q = project(STACK_FILE.replace("  kubernetes:context", `  canary:${key}:\n    weight: 100\n  kubernetes:context`));
            assert.strictEqual(await q.run("status", "--stack", "dev"), 2, key);
            assert.match(q.out.join("\n"), new RegExp(`canary:${key} = \\{"weight":100\\}: is not a known key`), q.out.join("\n"));
        }
    });

    it("a weight stored as the string \"25\" (as `pulumi config set canary:weight 25` writes it) is the number 25, as in the program", async () => {
        const p = project(STACK_FILE.replace("canary:weight: 50", 'canary:weight: "25"'));
        assert.strictEqual(await p.run("status", "--stack", "dev", "--json"), 0, p.out.join("\n"));
        assert.strictEqual(JSON.parse(p.out[0]).stage, 25);
        assert.strictEqual(await p.run("next", "--stack", "dev"), 0, p.out.join("\n"));
        assert.match(p.text(), /canary:weight: 50 # inline comment/);
    });

    it("retry: a new analysis run for the stage (canary:analysis.attempt + 1), weights unchanged; refused at 0", async () => {
        const p = project();
        assert.strictEqual(await p.run("retry", "--stack", "dev"), 0, p.out.join("\n"));
        assert.match(p.text(), /canary:analysis:\n\s+attempt: 1/);
        assert.match(p.out.join("\n"), /canary:analysis.attempt: 0 → 1[\s\S]*keeps the weights \(stable 50%, canary 50%\) and starts a new AnalysisRun for the stage \(attempt 1\)/);
        assert.strictEqual(await p.run("retry", "--stack", "dev"), 0);
        assert.match(p.text(), /attempt: 2/);
        const z = project(STACK_FILE.replace("canary:weight: 50", "canary:weight: 0"));
        assert.strictEqual(await z.run("retry", "--stack", "dev"), 2);
        assert.match(z.out.join("\n"), /no stage analysis to retry/);
    });

    it("promote says what `pulumi up` then does: stable rolls out first, traffic moves back once it is ready", async () => {
        const p = project(STACK_FILE.replace("canary:weight: 50", "canary:weight: 100"));
        assert.strictEqual(await p.run("promote", "--stack", "dev", "--unpinned"), 0);
        assert.match(p.out.join("\n"), /rolls the stable Deployment out to ghcr.io\/stefanprodan\/podinfo:6.8.0 \(version 6.8.0, never below 1 ready pods\), moves all traffic back to stable only once that rollout is ready/);
    });

    it("status: stage, weights, versions, the next stage and what it changes", async () => {
        const p = project();
        assert.strictEqual(await p.run("status", "--stack", "dev", "--json"), 0);
        const s = JSON.parse(p.out[0]);
        assert.deepStrictEqual([s.stage, s.weights, s.stable.version, s.canary.version, s.next], [50, { stable: 50, canary: 50 }, "6.7.1", "6.8.0", 100]);
        assert.match(s.nextChange, /stable 0%, canary 100%: `pulumi up` updates the HTTPRoute's backend weights and the stage rule \(app:canary_weight:configured\), and starts the stage's AnalysisRun and load-test Job$/);
        const r = project(fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8"));
        fs.renameSync(r.file, path.join(r.dir, "Pulumi.prod.yaml"));
        assert.strictEqual(await r.run("status", "--stack", "prod"), 0);
        // The shipped prod file has no canary yet: its first run is stable only.
        assert.match(r.out.join("\n"), /canary: none \(the canary is the stable version\)\nnext: set canary:app.canary.image to start a rollout/);
        const q = project(STACK_FILE.replace("canary:weight: 50", "canary:weight: 0"));
        fs.writeFileSync(path.join(q.dir, "Pulumi.prod.yaml"), fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8").replace("    stable:\n", `    canary:\n      image: ${PROMOTED_PIN}\n    stable:\n`));
        assert.strictEqual(await q.run("status", "--stack", "prod"), 0, q.out.join("\n"));
        assert.match(q.out.join("\n"), /next: 5: stable 95%, canary 5%: `pulumi up` updates the weighted ALB listener rule/);
    });
});

describe("rollout never hides a problem: next checks what the stack applied and the current window; one answer at weight 0; --dry-run", () => {
    const AT_0 = STACK_FILE.replace("canary:weight: 50", "canary:weight: 0");
    const applied = (stage: number, canaryVersion = "6.8.0"): Partial<CliIo> => ({ readApplied: async () => ({ applied: { stage, canaryVersion } }) });
    // A healthy canary at 50, the last compared stage: enough requests to rule out 1.5× as well as 2×.
    const LAST_HEALTHY = [track(12_000, 60), track(100_000, 500)] as const;

    it("next refuses to move past the stage the stack applied last: two `next` without an `up` between refuse the second, naming both stages", async () => {
        const p = project(AT_0, applied(0));
        assert.strictEqual(await p.run("next", "--stack", "dev"), 0);
        assert.match(p.out.join("\n"), /applied stage: the stack applied canary:weight 0 last \(canary version 6\.8\.0\)/);
        const afterFirst = p.text();
        assert.match(afterFirst, /canary:weight: 5 # inline comment/);
        p.out.length = 0;
        assert.strictEqual(await p.run("next", "--stack", "dev"), 2);
        assert.match(p.out.join("\n"), /next: the stack applied canary:weight 0 last \(canary version 6\.8\.0\), and Pulumi\.dev\.yaml says 5 .*`pulumi up` the file's stage before the next `next`, which would write 25 and skip a stage; nothing written/);
        assert.strictEqual(p.text(), afterFirst);
        // Once applied, next goes on; a new canary version starts from 0 whatever the old one reached.
        assert.strictEqual(await project(STACK_FILE, applied(50)).run("next", "--stack", "dev"), 0);
        assert.strictEqual(await project(STACK_FILE, applied(50, "6.7.9")).run("next", "--stack", "dev"), 2);
        // allowStageSkip: the program takes the skip, so next writes it and says why.
        const skip = project(STACK_FILE.replace("  kubernetes:context", "  canary:allowStageSkip: true\n  kubernetes:context"), applied(25));
        assert.strictEqual(await skip.run("next", "--stack", "dev"), 0);
        assert.match(skip.out.join("\n"), /canary:allowStageSkip is true, so 100 is written all the same/);
    });

    it("next says in one line when it could not check the applied stage, and goes on; JSON says which", async () => {
        const p = project(STACK_FILE, { readApplied: async () => ({ unknown: "no Pulumi backend is logged in here (pulumi login, or PULUMI_BACKEND_URL)" }) });
        assert.strictEqual(await p.run("next", "--stack", "dev"), 0);
        assert.deepStrictEqual(p.out.filter((l) => l.startsWith("applied stage")), ["applied stage: could not check (no Pulumi backend is logged in here (pulumi login, or PULUMI_BACKEND_URL)); going on"]);
        const q = project(STACK_FILE, applied(50));
        assert.strictEqual(await q.run("next", "--stack", "dev", "--json"), 0);
        assert.deepStrictEqual(JSON.parse(q.out[0]).applied, { checked: true, stage: 50, canaryVersion: "6.8.0" });
    });

    it("the applied stage is the stack's stage output, read only where a backend is logged in (no `pulumi` that would ask Pulumi Cloud)", async () => {
        const selected: string[] = [];
        const select = (outputs: Record<string, { value: unknown }> | Error) => async (args: { stackName: string; workDir: string }): Promise<StackHandle> => {
            selected.push(args.stackName);
            return {
                outputs: async () => (outputs instanceof Error ? Promise.reject(outputs) : outputs),
                setConfig: async () => undefined,
                up: async () => ({ summary: { result: "succeeded" } }),
            };
        };
        const backend = { PULUMI_BACKEND_URL: "file:///tmp/state" };
        const read = (o: Record<string, { value: unknown }> | Error, env: NodeJS.ProcessEnv = backend) => readApplied(select(o), env)({ stackName: "dev", workDir: "/p" });
        assert.deepStrictEqual(await read({ stage: { value: 25 }, canaryVersion: { value: "6.8.0" }, stageEntry: { value: 2 }, url: { value: "x" } }), { applied: { stage: 25, canaryVersion: "6.8.0", entry: 2 } });
        assert.deepStrictEqual(await read({}), { applied: undefined }, "a stack that has applied no stage");
        assert.deepStrictEqual(await read(new Error("no stack named 'dev' found\nmore")), { unknown: "no stack named 'dev' found" });
        selected.length = 0;
        const home = tempDir("pulumi-home");
        assert.match(((await read({ stage: { value: 5 } }, { PULUMI_HOME: home })) as { unknown: string }).unknown, /no Pulumi backend is logged in here/);
        assert.deepStrictEqual(selected, [], "no CLI started without a backend");
        fs.writeFileSync(path.join(home, "credentials.json"), JSON.stringify({ current: "https://api.pulumi.com" }));
        assert.strictEqual(pulumiBackend({ PULUMI_HOME: home }), "https://api.pulumi.com");
        assert.strictEqual(pulumiBackend({}, home), undefined);
    });

    it("next --prometheus refuses an unreachable Prometheus (exit 2, naming the URL and the error) and a ROLLBACK in the window (exit 1); each forced by name", async () => {
        const down = await server(() => undefined);
        down.close();
        const p = project(STACK_FILE);
        assert.strictEqual(await p.run("next", "--stack", "dev", "--prometheus", down.url, "--query-timeout", "1s"), 2);
        assert.match(p.out.join("\n"), new RegExp(`next: Prometheus at ${down.url.replace(/[.]/g, "\\.")} cannot be read: .*ECONNREFUSED.*nothing is written: start Prometheus or correct --prometheus, or give --force-unreachable`));
        assert.strictEqual(p.text(), STACK_FILE);
        p.out.length = 0;
        assert.strictEqual(await p.run("next", "--stack", "dev", "--prometheus", down.url, "--query-timeout", "1s", "--force-unreachable"), 0);
        assert.match(p.out.join("\n"), /cannot be read: .*ECONNREFUSED.*the window is not checked \(--force-unreachable\)/);
        assert.match(p.text(), /canary:weight: 100/);

        const bad = { prometheus: () => fixedPrometheus(track(1000, 200), track(100_000, 500)) };
        const q = project(STACK_FILE, bad);
        assert.strictEqual(await q.run("next", "--stack", "dev", "--prometheus", "http://prom"), 1);
        assert.match(q.out.join("\n"), /decision: ROLLBACK[\s\S]*next refused: the current window judges ROLLBACK, so nothing is written: `rollout rollback` writes weight 0, or give --force-rollback/);
        assert.strictEqual(q.text(), STACK_FILE);
        q.out.length = 0;
        assert.strictEqual(await q.run("next", "--stack", "dev", "--prometheus", "http://prom", "--force-rollback", "--json"), 0);
        assert.deepStrictEqual(JSON.parse(q.out[0]).window.forced, ["the current window judges ROLLBACK; written all the same (--force-rollback)"]);
        assert.strictEqual(await project(STACK_FILE).run("next", "--stack", "dev", "--force-rollback"), 2, "a force without --prometheus");
    });

    it("weight 0: analyze, run and the judge give the one refusal, naming weight 0 and what to do", async () => {
        const healthy = { prometheus: () => fixedPrometheus(track(6000, 30), track(100_000, 500)) };
        const what = /weight is 0, so there is no stage to analyse at weight 0: `rollout next` writes the first stage and `pulumi up` applies it/;
        for (const command of ["analyze", "run"]) {
            const p = project(AT_0, healthy);
            assert.strictEqual(await p.run(command, "--stack", "dev", "--prometheus", "http://prom"), 2, command);
            assert.match(p.out.join("\n"), new RegExp(`^rollout: ${command}: canary:${what.source}`), command);
        }
        assert.throws(() => judgeQuery(new URLSearchParams({ namespace: "podinfo", app: "podinfo", weight: "0", since: "5m" }), NOW), (e: Error) => /^weight=0: there is no stage to analyse at weight 0: `rollout next`/.test(e.message));
    });

    it("rollback at 0 is a no-op that says so: exit 0, the file byte for byte", async () => {
        const p = project(AT_0);
        assert.strictEqual(await p.run("rollback", "--stack", "dev"), 0);
        assert.deepStrictEqual(p.out, ["canary:weight is 0 already: nothing to roll back, Pulumi.dev.yaml is unchanged"]);
        assert.strictEqual(p.text(), AT_0);
    });

    it("--dry-run on every command that writes: what it would write, and the files byte for byte", async () => {
        const AT_100 = STACK_FILE.replace("canary:weight: 50", "canary:weight: 100");
        for (const [text, argv, would] of [
            [STACK_FILE, ["next"], /would write .*Pulumi\.dev\.yaml: canary:weight: 50 → 100/],
            [STACK_FILE, ["rollback"], /would write .*Pulumi\.dev\.yaml: canary:weight: 50 → 0/],
            [STACK_FILE, ["retry"], /would write .*Pulumi\.dev\.yaml: canary:analysis\.attempt: 0 → 1/],
            [AT_100, ["promote", "--unpinned"], /would write .*Pulumi\.dev\.yaml: canary:app\.stable\.image: "ghcr\.io\/stefanprodan\/podinfo:6\.7\.1" → "ghcr\.io\/stefanprodan\/podinfo:6\.8\.0"/],
            [STACK_FILE, ["run", "--prometheus", "http://prom", "--since", "10m"], /decision: PROMOTE[\s\S]*would write .*Pulumi\.dev\.yaml: canary:weight: 50 → 100/],
        ] as [string, string[], RegExp][]) {
            const p = project(text, { prometheus: () => fixedPrometheus(...LAST_HEALTHY) });
            assert.strictEqual(await p.run(argv[0], "--stack", "dev", ...argv.slice(1), "--dry-run"), 0, argv.join(" "));
            assert.match(p.out.join("\n"), would, argv.join(" "));
            assert.match(p.out.join("\n"), /dry run: nothing written, the stack file is unchanged/, argv.join(" "));
            assert.strictEqual(p.text(), text, argv.join(" "));
        }
        const q = project(STACK_FILE);
        assert.strictEqual(await q.run("run", "--stack", "dev", "--prometheus", "http://prom", "--dry-run", "--apply"), 2);
        assert.match(q.out.join("\n"), /run: --dry-run writes nothing, so --apply has no stage to apply/);
    });

    it("replay --record and --svg with --dry-run: the replay as usual, the files named, not written (one already there stays byte for byte)", async () => {
        const p = project(STACK_FILE, { prometheus: () => fixedPrometheus(...LAST_HEALTHY) });
        const [record, svg] = ["looks.json", "chart.svg"].map((f) => path.join(p.dir, f));
        fs.writeFileSync(svg, "an older chart");
        assert.strictEqual(await p.run("replay", "--stack", "dev", "--prometheus", "http://prom", "--from", "10m", "--record", record, "--svg", svg, "--dry-run"), 0);
        assert.match(p.out.join("\n"), new RegExp(`would write recording: ${record}\nwould write chart: ${svg}\ndry run: nothing written$`));
        assert.strictEqual(fs.existsSync(record), false);
        assert.strictEqual(fs.readFileSync(svg, "utf8"), "an older chart");
        p.out.length = 0;
        assert.strictEqual(await p.run("replay", "--stack", "dev", "--prometheus", "http://prom", "--from", "10m", "--record", record, "--svg", svg), 0);
        assert.match(p.out.join("\n"), new RegExp(`\nrecording: ${record}\nchart: ${svg}$`));
        assert.ok(fs.statSync(record).size > 0 && fs.readFileSync(svg, "utf8").startsWith("<"), "written without --dry-run");
    });

    it("help matches the behaviour: `help --help` is help; --prometheus is optional for next, which says what it adds", async () => {
        const p = project();
        assert.strictEqual(await p.run("help", "--help"), 0);
        assert.match(p.out.join("\n"), /^usage: rollout <command>/);
        const general = p.out.join("\n");
        assert.match(general, /--prometheus URL +Prometheus base URL, http:\/\/ or https:\/\/ \(required\) \[analyze, run, serve\]/);
        assert.match(general, /--prometheus URL +Prometheus base URL \(optional\): next first judges the window .* \[next\]/);
        p.out.length = 0;
        assert.strictEqual(await p.run("next", "--help"), 0);
        const next = p.out.join("\n");
        assert.doesNotMatch(next, /--prometheus URL .*required/);
        assert.match(next, /--force-unreachable[\s\S]*--force-rollback[\s\S]*--dry-run/);
    });
});

describe("rollout analyze reads the metric contract from the stack file, as the program does", () => {
    it("canary:metrics' preset and overrides are what its queries select", async () => {
        const asked: string[] = [];
        const text = STACK_FILE.replace("  kubernetes:context:", '  canary:metrics:\n    preset: opentelemetry\n    errorStatus: "5..|429"\n  kubernetes:context:');
        const p = project(text, { now: () => NOW, prometheus: () => ({ query: async (q) => (asked.push(q), []) }) });
        await p.run("analyze", "--stack", "dev", "--prometheus", "http://prom", "--since", "10m", "--json");
        const requestQueries = asked.filter((q) => q.includes("_count{") || q.includes("_bucket{"));
        assert.strictEqual(requestQueries.length, 4, asked.join("\n"));
        for (const q of requestQueries) {
            assert.match(q, /http_server_request_duration_seconds_(count|bucket)\{/, q);
            assert.ok(q.includes('http_route!~"/healthz|/readyz|/metrics"'), q);
            assert.ok(!/[{ ](status|path)[!=]~/.test(q), `prom-client's labels in ${q}`);
        }
        assert.ok(asked.some((q) => q.includes('http_response_status_code=~"5..|429"')), "the errors are the stack's errorStatus on the preset's status label");
    });
});

describe("rollout reads the project's keys: <project>: with the name from Pulumi.yaml", () => {
    /** A project named `name`: its Pulumi.yaml says so. */
    function named(name: string, text = STACK_FILE) {
        const p = project(text);
        fs.writeFileSync(path.join(p.dir, "Pulumi.yaml"), `name: ${name}\nruntime: nodejs\n`);
        return p;
    }
    const asCheckout = (text: string) => text.replace(/^( {2})canary:/gm, "$1checkout:");

    it("a project named checkout: status reads its checkout: keys, next and promote write them", async () => {
        const p = named("checkout", asCheckout(STACK_FILE));
        assert.strictEqual(await p.run("status", "--stack", "dev"), 0, p.out.join("\n"));
        const out = p.out.join("\n");
        assert.match(out, /^stage: checkout:weight 50 of \[5, 25, 50, 100\]; stable 50%, canary 50%$/m);
        assert.match(out, /^stable: podinfo 6\.7\.1 \(ghcr\.io\/stefanprodan\/podinfo:6\.7\.1\)$/m);
        assert.match(out, /^canary: podinfo 6\.8\.0 /m);
        p.out.length = 0;
        assert.strictEqual(await p.run("next", "--stack", "dev", "--json"), 0);
        assert.deepStrictEqual(JSON.parse(p.out.join("\n")).edits.map((e: { key: string }) => e.key), ["checkout:weight"]);
        assert.deepStrictEqual(changedLines(asCheckout(STACK_FILE), p.text()), ["  checkout:weight: 100 # inline comment"]);
        assert.strictEqual(await p.run("promote", "--stack", "dev", "--unpinned"), 0);
        assert.match(p.text(), /^ {2}checkout:weight: 0 # inline comment$/m);
        assert.match(p.text(), /^ {6}image: ghcr\.io\/stefanprodan\/podinfo:6\.8\.0 # stable image$/m);
        assert.doesNotMatch(p.text(), /^ {2}canary:/m, "nothing written under another name");
    });

    it("keys under another name than the project's are refused naming them, never read as defaults (exit 0)", async () => {
        const p = named("checkout");
        for (const command of ["status", "next", "rollback"]) {
            p.out.length = 0;
            assert.strictEqual(await p.run(command, "--stack", "dev"), 2, command);
            assert.match(
                p.out.join("\n"),
                /^rollout: Pulumi\.dev\.yaml: no key is under checkout: \(the project's name in Pulumi\.yaml is checkout, the prefix the program reads\); its keys are canary:weight, canary:app, canary:grafanaAdminPassword, kubernetes:context$/,
            );
        }
        assert.strictEqual(p.text(), STACK_FILE);
        // A key left behind under the old name, beside the project's own.
        const left = named("checkout", `${asCheckout(STACK_FILE)}  canary:weight: 5\n`);
        assert.strictEqual(await left.run("status", "--stack", "dev"), 2);
        assert.match(left.out.join("\n"), /Pulumi\.dev\.yaml: canary:weight is under canary:, not checkout: \(the project's name in Pulumi\.yaml is checkout, the prefix the program reads\), so the program would never read it/);
    });

    it("a Pulumi.yaml that is missing, names no project or an invalid one is a clear error", async () => {
        const p = project();
        const cases: [string | undefined, RegExp][] = [
            [undefined, /^rollout: no Pulumi\.yaml in \S+: run the command in the project's directory \(its name: is the prefix of the stack file's keys, <name>:<key>\)$/],
            ["runtime: nodejs\n", /^rollout: \S+Pulumi\.yaml has no name: it needs the project's name/],
            ["name: my project\n", /^rollout: \S+Pulumi\.yaml has name: the string "my project": it needs the project's name \(a letter, '_' or '\.', then letters, digits/],
            ["name: 42\n", /Pulumi\.yaml has name: the number 42: /],
            ["- name: checkout\n", /Pulumi\.yaml is a list, not a mapping: /],
            ["name: [unclosed\n", /Pulumi\.yaml is not valid YAML/],
        ];
        for (const [text, message] of cases) {
            if (text === undefined) fs.rmSync(path.join(p.dir, "Pulumi.yaml"));
            else fs.writeFileSync(path.join(p.dir, "Pulumi.yaml"), text);
            p.out.length = 0;
            assert.strictEqual(await p.run("status", "--stack", "dev"), 2, String(text));
            assert.match(p.out.join("\n"), message);
        }
        assert.strictEqual(p.text(), STACK_FILE);
    });

    it("a stack without a stable image is refused naming the key: status and promote write no image of their own", async () => {
        const noStable = STACK_FILE.replace("canary:weight: 50", "canary:weight: 100").replace(/ {4}stable:\n {6}image: .*\n/, "");
        const p = project(noStable);
        for (const command of ["status", "promote"]) {
            p.out.length = 0;
            assert.strictEqual(await p.run(command, "--stack", "dev", ...(command === "promote" ? ["--unpinned"] : [])), 2, command);
            assert.match(p.out.join("\n"), /^ {2}canary:app\.stable\.image = \(not set\): is required \(an image reference such as ghcr\.io\/org\/app:1\.2\.3\)$/m);
        }
        assert.strictEqual(p.text(), noStable);
    });
});

describe("rollout promote pins a canary given as a tag to the digest its pods ran", () => {
    const AT_100 = STACK_FILE.replace("canary:weight: 50", "canary:weight: 100");
    const TAG = "ghcr.io/stefanprodan/podinfo:6.8.0";
    const DIGEST = `sha256:${"a".repeat(64)}`;
    const OTHER = `sha256:${"b".repeat(64)}`;
    const QUERY = `kube_pod_container_info{namespace="podinfo", pod=~"podinfo-canary-[a-z0-9]+-[a-z0-9]+", container="podinfo", image_spec="${TAG}"}`;
    const pod = (name: string, imageId: string): Sample => ({ labels: { namespace: "podinfo", pod: name, container: "podinfo", image: TAG, image_spec: TAG, image_id: imageId }, value: 1 });
    /** A Prometheus that answers `series` and records each query with the timeout it was made with. */
    const kubeStateMetrics = (series: Sample[] | Error) => {
        const asked: string[] = [];
        const io: Partial<CliIo> = {
            now: () => NOW,
            prometheus: (url, timeoutMs) => ({
                async query(q, at) {
                    asked.push(`${url} ${timeoutMs} ${at.toISOString()} ${q}`);
                    if (series instanceof Error) throw series;
                    return series;
                },
            }),
        };
        return { asked, io };
    };

    it("--prometheus: reads kube_pod_container_info for the canary's pods and writes both tracks as the tag pinned to the one digest they ran", async () => {
        const ksm = kubeStateMetrics([pod("podinfo-canary-7d9c5b6f4-x2x4z", `docker-pullable://ghcr.io/stefanprodan/podinfo@${DIGEST}`), pod("podinfo-canary-7d9c5b6f4-q8w2m", `ghcr.io/stefanprodan/podinfo@${DIGEST}`)]);
        const p = project(AT_100, ksm.io);
        assert.strictEqual(await p.run("promote", "--stack", "dev", "--prometheus", "http://127.0.0.1:9090", "--query-timeout", "3s", "--json"), 0, p.out.join("\n"));
        assert.deepStrictEqual(ksm.asked, [`http://127.0.0.1:9090 3000 ${NOW.toISOString()} ${QUERY}`]);
        const pinned = `${TAG}@${DIGEST}`;
        assert.deepStrictEqual(changedLines(AT_100, p.text()), ["  canary:weight: 0 # inline comment", `      image: ${pinned} # stable image`, `      image: ${pinned}`]);
        const report = JSON.parse(p.out[p.out.length - 1]);
        assert.deepStrictEqual(report.pin, { digest: DIGEST, source: "the digest 2 canary pods ran (kube_pod_container_info image_id)" });
        assert.deepStrictEqual(report.edits.map((e: { key: string }) => e.key), ["canary:app.stable.image", "canary:app.canary.image", "canary:weight"]);
        // The canary is the stable now: nothing to advance, and a second promote is refused at weight 0 before Prometheus is asked.
        assert.strictEqual(await p.run("next", "--stack", "dev"), 2);
        assert.strictEqual(await p.run("promote", "--stack", "dev", "--prometheus", "http://127.0.0.1:9090"), 2);
        assert.strictEqual(ksm.asked.length, 1);
    });

    it("--prometheus refuses, writing nothing: no series, two digests, an id that names no pullable bytes, Prometheus unreachable", async () => {
        const cases: [Sample[] | Error, RegExp][] = [
            [[], /Prometheus has no series for the canary's pods \(kube_pod_container_info\{namespace="podinfo".*\): is kube-state-metrics scraped there.*Give --digest sha256:<64 hex> instead; nothing is written/],
            [
                [pod("podinfo-canary-7d9c5b6f4-x2x4z", `ghcr.io/stefanprodan/podinfo@${DIGEST}`), pod("podinfo-canary-7d9c5b6f4-q8w2m", `ghcr.io/stefanprodan/podinfo@${OTHER}`)],
                new RegExp(`the canary's pods ran 2 digests, ${DIGEST} \\(podinfo-canary-7d9c5b6f4-x2x4z\\); ${OTHER} \\(podinfo-canary-7d9c5b6f4-q8w2m\\): the tag moved while they ran`),
            ],
            [[pod("podinfo-canary-7d9c5b6f4-x2x4z", DIGEST)], /pod podinfo-canary-7d9c5b6f4-x2x4z reports image_id "sha256:a+", not <repository>@sha256:<64 hex> \(a bare sha256: is the config digest/],
            [[pod("podinfo-canary-7d9c5b6f4-x2x4z", "")], /reports image_id "", not <repository>@sha256/],
            [new PrometheusError("Prometheus at http://127.0.0.1:9090 answered HTTP 503: down"), /cannot read the digest the canary's pods ran: Prometheus at http:\/\/127\.0\.0\.1:9090 answered HTTP 503: down; nothing is written/],
        ];
        for (const [series, message] of cases) {
            const p = project(AT_100, kubeStateMetrics(series).io);
            assert.strictEqual(await p.run("promote", "--stack", "dev", "--prometheus", "http://127.0.0.1:9090"), 2, String(message));
            assert.match(p.out.join("\n"), message);
            assert.strictEqual(p.text(), AT_100);
        }
        // The real client against a port nothing listens on (127.0.0.1 only).
        const server = net.createServer();
        const { port } = await listen(server as unknown as http.Server, "127.0.0.1", 0, "--listen");
        await new Promise((r) => server.close(r));
        const p = project(AT_100);
        assert.strictEqual(await p.run("promote", "--stack", "dev", "--prometheus", `http://127.0.0.1:${port}`, "--query-timeout", "2s"), 2);
        assert.match(p.out.join("\n"), new RegExp(`cannot read the digest the canary's pods ran: Prometheus at http://127\\.0\\.0\\.1:${port} is unreachable: ECONNREFUSED; nothing is written`));
        assert.strictEqual(p.text(), AT_100);
    });

    it("a tag without a pin is refused, saying how; --digest by hand, checked; --unpinned by tag; a pinned canary needs none of them", async () => {
        const p = project(AT_100);
        const cases: [string[], RegExp][] = [
            [[], /promote: canary:app\.canary\.image = ghcr\.io\/stefanprodan\/podinfo:6\.8\.0 is a tag, which names no bytes: prod runs only a version whose promotion names the image by digest\. Give --prometheus URL \(the digest its pods ran, from kube-state-metrics\), --digest sha256:<64 hex> or --unpinned; nothing is written/],
            [["--digest", "sha256:abc"], /promote --digest "sha256:abc": must be sha256:<64 lower-case hex digits>/],
            [["--digest", DIGEST.toUpperCase()], /must be sha256:<64 lower-case hex digits>/],
            [["--digest", DIGEST, "--unpinned"], /promote: give one of --digest, --unpinned, not 2/],
            [["--prometheus", "http://127.0.0.1:9090", "--digest", DIGEST], /give one of --prometheus, --digest, not 2/],
            [["--prometheus", "ftp://p"], /--prometheus/],
        ];
        for (const [argv, message] of cases) {
            p.out.length = 0;
            assert.strictEqual(await p.run("promote", "--stack", "dev", ...argv), 2, argv.join(" "));
            assert.match(p.out.join("\n"), message);
            assert.strictEqual(p.text(), AT_100);
        }
        assert.strictEqual(await p.run("promote", "--stack", "dev", "--digest", DIGEST), 0, p.out.join("\n"));
        assert.match(p.text(), new RegExp(`stable:\\n      image: ${TAG}@${DIGEST} # stable image\\n    canary:\\n      image: ${TAG}@${DIGEST}\\n`));
        assert.match(p.out.join("\n"), /image: --digest/);
        // Pinned already: promoted as it is, and a pin option is a mistake.
        const pinned = project(AT_100.replace(`image: ${TAG}\n`, `image: ${PROMOTED_PIN}\n`));
        assert.strictEqual(await pinned.run("promote", "--stack", "dev", "--digest", DIGEST), 2);
        assert.match(pinned.out.join("\n"), /promote --digest: canary:app\.canary\.image = ghcr\.io\/stefanprodan\/podinfo:6\.8\.0@sha256:d+ is pinned by digest already; promote writes it as it is/);
        assert.strictEqual(await pinned.run("promote", "--stack", "dev"), 0);
        assert.match(pinned.text(), new RegExp(`image: ${PROMOTED_PIN} # stable image`));
    });
});

/** A Prometheus client answering fixed counts: for the `run` loop's control flow only. */

describe("rollout run: analyze until a decision, then next or rollback, and apply with the Automation API", () => {
    const calls: string[] = [];
    const workspace = (result = "succeeded") => async (args: { stackName: string; workDir: string }): Promise<StackHandle> => {
        calls.push(`select ${args.stackName} ${path.basename(args.workDir)}`);
        return {
            async outputs() {
                return {};
            },
            async setConfig(key, v, usePath) {
                calls.push(`set ${key}=${v.value}${usePath ? " --path" : ""}`);
            },
            async up(opts) {
                calls.push(`up${(opts.policyPacks ?? []).map((p) => ` --policy-pack ${path.relative(args.workDir, p)}`).join("")}`);
                return { summary: { result } };
            },
        };
    };
    /** A clock that sleeping moves forward, and a Prometheus that records the window of each look. */
    const io = (canary: TrackCounts, stable: TrackCounts, result?: string, checkPulumi: CliIo["checkPulumi"] = async () => "3.265.0"): Partial<CliIo> => {
        let t = NOW.getTime();
        const fixed = fixedPrometheus(canary, stable);
        return {
            now: () => new Date(t),
            sleep: async (ms) => void (t += ms),
            prometheus: () => ({ query: (q, at) => (calls.push(`look ${/\[(\d+)s\]/.exec(q)?.[1]}s`), fixed.query(q, at)) }),
            selectStack: workspace(result),
            checkPulumi,
        };
    };
    const looks = () => calls.filter((c) => c.startsWith("look")).filter((_c, i) => i % 4 === 0);
    const applied = () => calls.filter((c) => !c.startsWith("look"));

    beforeEach(() => (calls.length = 0));

    // A healthy canary at 50, the last compared stage: enough requests to rule out 1.5× as well as 2×.
    const LAST_STAGE_HEALTHY = [track(12_000, 60), track(100_000, 500)] as const;

    it("analyze --carry goes on from the stages before, as the stage's run does; a bad value or a first stage is refused before any query", async () => {
        // At 50 this stage alone (5/1000 against 0.5%) is short of a decision; with the stages' evidence it promotes.
        const p = project(STACK_FILE, io(track(1000, 5), track(3000, 15)));
        assert.strictEqual(await p.run("analyze", "--stack", "dev", "--prometheus", "http://prom", "--json"), 3);
        p.out.length = 0;
        // 50 is the last compared stage: without 1.5×'s evidence carried too, it holds.
        assert.strictEqual(await p.run("analyze", "--stack", "dev", "--prometheus", "http://prom", "--carry", "errors:-3.2,latency:-3.2", "--json"), 3);
        assert.match(JSON.parse(p.out[p.out.length - 1]).reasons.join("\n"), /at 1\.5×: LLR -0\.\d\d, a PROMOTE waits for it too/);
        p.out.length = 0;
        assert.strictEqual(await p.run("analyze", "--stack", "dev", "--prometheus", "http://prom", "--carry", "errors:-3.2,errors~1.5:-3.2,latency:-3.2", "--json"), 0, p.out.join("\n"));
        const result = JSON.parse(p.out[p.out.length - 1]);
        assert.deepStrictEqual([result.decision, result.evidence.errors.carried, result.evidence.errors.confirm.carried], ["PROMOTE", -3.2, -3.2]);
        close(result.evidence.errors.sprt.boundaries.upper, Math.log(1 / (0.009 * 0.9)), 1e-9, "the chain's budget");
        calls.length = 0;
        for (const [text, argv, message] of [
            [STACK_FILE, ["--carry", "errors=-3"], /--carry "errors=-3" is not test:llr/],
            [STACK_FILE, ["--carry", "errors~x:-3"], /--carry "errors~x:-3" is not test:llr or test~factor:llr/],
            [STACK_FILE.replace("canary:weight: 50", "canary:weight: 5"), ["--carry", "errors:-3"], /--carry: the first stage \(5\) has no stages before it/],
        ] as const) {
            const q = project(text, io(track(1000, 5), track(3000, 15)));
            assert.strictEqual(await q.run("analyze", "--stack", "dev", "--prometheus", "http://prom", ...argv), 2);
            assert.match(q.out.join("\n"), message);
            assert.strictEqual(await q.run("run", "--stack", "dev", "--prometheus", "http://prom", ...argv), 2);
            assert.match(q.out.join("\n"), message);
        }
        assert.deepStrictEqual(calls, [], "nothing was asked of Prometheus");
    });

    it("PROMOTE → next, applied: select the stack, set canary:weight as a number (--path), up with the policy pack as CI runs it", async () => {
        const p = project(STACK_FILE, io(...LAST_STAGE_HEALTHY));
        assert.strictEqual(await p.run("run", "--stack", "dev", "--prometheus", "http://prom", "--apply"), 0, p.out.join("\n"));
        // .github/scripts/stage-up.sh: `pulumi up ... --policy-pack policy/analyzer`.
        assert.deepStrictEqual(applied(), [`select dev ${path.basename(p.dir)}`, "set canary:weight=100 --path", "up --policy-pack policy/analyzer"]);
        assert.match(fs.readFileSync(path.join(ROOT, ".github", "scripts", "stage-up.sh"), "utf8"), /pulumi" up .*--policy-pack policy\/analyzer/);
        assert.match(p.text(), /canary:weight: 100 # inline comment/);
        assert.ok(p.out.includes("pulumi CLI 3.265.0"), p.out.join("\n"));
    });

    it("the first look waits for a window of two scrape intervals (30s by default, --scrape-interval=1s for 2s); PROMOTE after the stage's least time", async () => {
        const p = project(STACK_FILE, io(...LAST_STAGE_HEALTHY));
        assert.strictEqual(await p.run("run", "--stack", "dev", "--prometheus", "http://prom"), 0);
        // The counts already suffice at 30 s; the stage is promoted once it has run minStageSeconds (45 s).
        assert.deepStrictEqual(looks(), ["look 30s", "look 45s"]);
        assert.match(p.out.join("\n"), /HOLD[\s\S]*judged for 30s; it is promoted after at least 45s/);
        calls.length = 0;
        const q = project(STACK_FILE, io(...LAST_STAGE_HEALTHY));
        assert.strictEqual(await q.run("run", "--stack=dev", "--prometheus=http://prom", "--scrape-interval=1s"), 0);
        assert.deepStrictEqual([looks()[0], looks().at(-1)], ["look 2s", "look 47s"]);
    });

    it("ROLLBACK → rollback (exit 1); without --apply nothing is applied", async () => {
        const p = project(STACK_FILE, io(track(200, 40), track(20_000, 100)));
        assert.strictEqual(await p.run("run", "--stack", "dev", "--prometheus", "http://prom"), 1);
        assert.deepStrictEqual(applied(), []);
        assert.match(p.text(), /canary:weight: 0 # inline comment/);
    });

    it("HOLD until the timeout leaves the file as it was (exit 3), one decision prefix per line; a failed up exits 2 with Pulumi's message", async () => {
        const p = project(STACK_FILE, io(track(300, 1), track(6000, 30)));
        assert.strictEqual(await p.run("run", "--stack", "dev", "--prometheus", "http://prom", "--timeout", "5m", "--interval=1m"), 3);
        assert.strictEqual(p.text(), STACK_FILE);
        assert.ok(p.out.filter((l) => / HOLD: errors \d+% toward/.test(l)).length >= 4, p.out.join("\n"));
        assert.ok(!p.out.some((l) => /HOLD: HOLD/.test(l)), p.out.join("\n"));

        const q = project(STACK_FILE, io(...LAST_STAGE_HEALTHY, "failed"));
        assert.strictEqual(await q.run("run", "--stack", "dev", "--prometheus", "http://prom", "--apply"), 2);
        assert.match(q.out.join("\n"), /pulumi up failed: pulumi up of dev ended failed/);
    });

    it("refused before the first look: weight 0, a URL without a scheme, a bad or unbounded duration or --since, no working Pulumi CLI with --apply", async () => {
        const cases: [string, string[], Partial<CliIo>, RegExp][] = [
            [STACK_FILE.replace("canary:weight: 50", "canary:weight: 0"), [], {}, /canary:weight is 0, so there is no stage to analyse/],
            [STACK_FILE, ["--prometheus", "127.0.0.1:9090"], {}, /--prometheus "127.0.0.1:9090" is not a URL: write it with its scheme, e\.g\. http:\/\/127\.0\.0\.1:9090$/],
            [STACK_FILE, ["--prometheus", "localhost:9090"], {}, /--prometheus "localhost:9090" is not a URL: write it with its scheme, e\.g\. http:\/\/localhost:9090$/],
            [STACK_FILE, ["--prometheus", "ftp://prom"], {}, /the scheme must be http or https, not ftp/],
            [STACK_FILE, ["--interval", "soon"], {}, /--interval "soon" is not a duration/],
            [STACK_FILE, ["--apply"], { checkPulumi: async () => Promise.reject(new Error("spawn pulumi ENOENT")) }, /--apply needs a working Pulumi CLI and `pulumi version` failed: spawn pulumi ENOENT/],
            // Every duration the command takes is bounded: unbounded, 99999999999h overflowed the timer (HOLD "unreachable") and 9000000000000s was [NaNs].
            [STACK_FILE, ["--query-timeout", "99999999999h"], {}, /--query-timeout 99999999999h is too long: at most 5m/],
            [STACK_FILE, ["--scrape-interval", "6m"], {}, /--scrape-interval 6m is too long: at most 5m/],
            [STACK_FILE, ["--interval", "61m"], {}, /--interval 61m is too long: at most 1h/],
            [STACK_FILE, ["--timeout", "25h"], {}, /--timeout 25h is too long: at most 24h/],
            [STACK_FILE, ["--timeout", `${"9".repeat(400)}s`], {}, /--timeout "9{64}\.\.\." is not a duration \(longer than 64 characters\)/],
            [STACK_FILE, ["--since", "9000000000000s"], {}, /--since 9000000000000s is more than 30 days \(720h\) back/],
            [STACK_FILE, ["--since", "2026-02-30T10:00:00Z"], {}, /--since "2026-02-30T10:00:00Z" is not a time on the calendar/],
        ];
        for (const [text, extra, overrides, message] of cases) {
            calls.length = 0;
            const argv = ["run", "--stack", "dev", ...(extra.includes("--prometheus") ? [] : ["--prometheus", "http://prom"]), ...extra];
            const p = project(text, { ...io(track(6000, 30), track(100_000, 500)), ...overrides });
            assert.strictEqual(await p.run(...argv), 2, argv.join(" "));
            assert.match(p.out.join("\n"), message);
            assert.deepStrictEqual(calls, [], `nothing was queried or applied for ${argv.join(" ")}`);
            assert.strictEqual(p.text(), text);
        }
    });

    it("--apply without the policy pack to run is refused before the first look", async () => {
        const p = project(STACK_FILE, io(...LAST_STAGE_HEALTHY));
        fs.rmSync(path.join(p.dir, "policy"), { recursive: true });
        assert.strictEqual(await p.run("run", "--stack", "dev", "--prometheus", "http://prom", "--apply"), 2);
        assert.match(p.out.join("\n"), /--apply runs `pulumi up` with the policy pack policy\/analyzer, as CI does, and .*policy\/analyzer is not an executable file/);
        assert.deepStrictEqual(calls, []);
        assert.strictEqual(p.text(), STACK_FILE);
    });

    it("a stack file edited while it ran is not written over: exit 2 naming the file and the keys that changed, the decision still said, nothing applied", async () => {
        const edited = STACK_FILE.replace("ghcr.io/stefanprodan/podinfo:6.7.1", "ghcr.io/stefanprodan/podinfo:6.7.2").replace("kubernetes:context: kind-canary", "kubernetes:context: kind-other");
        const base = io(...LAST_STAGE_HEALTHY);
        let file = "";
        // A PR merged during the analysis: the file changes while the command sleeps between looks.
        const p = project(STACK_FILE, { ...base, sleep: async (ms) => (fs.writeFileSync(file, edited), base.sleep!(ms)) });
        file = p.file;
        assert.strictEqual(await p.run("run", "--stack", "dev", "--prometheus", "http://prom", "--apply"), 2);
        const out = p.out.join("\n");
        assert.match(out, /PROMOTE/);
        assert.match(out, /Pulumi\.dev\.yaml changed since it was read \(canary:app, kubernetes:context\): nothing written, so the change stays; run the command again/);
        assert.strictEqual(p.text(), edited, "the edit made meanwhile stays");
        assert.deepStrictEqual(applied(), [], "nothing applied");
        // Under --json: one document with the decision and the error.
        const qio = io(...LAST_STAGE_HEALTHY);
        const q = project(STACK_FILE, { ...qio, sleep: async (ms) => (fs.writeFileSync(q.file, `${STACK_FILE}# a comment\n`), qio.sleep!(ms)) });
        assert.strictEqual(await q.run("run", "--stack", "dev", "--prometheus", "http://prom", "--json"), 2);
        const doc = JSON.parse(q.out[q.out.length - 1]);
        assert.deepStrictEqual([doc.decision, doc.applied, doc.edits], ["PROMOTE", false, []]);
        assert.match(doc.error, /Pulumi\.dev\.yaml changed since it was read \(its comments or layout\)/);
    });

    it("the CLI check and a failed `up` report what Pulumi itself printed", () => {
        const e = Object.assign(new Error("code: 255\n stdout: \n stderr: error: no stack named 'dev' found\n"), {
            commandResult: { stdout: "", stderr: "error: no stack named 'dev' found\n", code: 255 },
        });
        assert.strictEqual(pulumiMessage(e), "error: no stack named 'dev' found");
        assert.strictEqual(pulumiMessage(new Error("plain")), "plain");
    });
});

describe("rollout help, option forms and --json", () => {
    it("help, --help and <command> --help exit 0 and list every command, option and exit code", async () => {
        const p = project();
        for (const argv of [["help"], ["--help"], ["-h"]]) {
            p.out.length = 0;
            assert.strictEqual(await p.run(...argv), 0);
            const text = p.out.join("\n");
            for (const name of Object.keys(COMMANDS)) assert.match(text, new RegExp(`^  ${name} `, "m"), name);
            for (const o of new Set(Object.values(COMMANDS).flatMap((c) => c.options.map((x) => x.name)))) assert.ok(text.includes(`--${o}`), o);
            assert.match(text, /^exit codes .*\n  0  PROMOTE, or the command is done\n  1  ROLLBACK \[next, analyze, run, replay\]\n  3  HOLD: no decision yet \[analyze, run, replay\]\n  2  a usage or config error, or the machine's state/m);
        }
        p.out.length = 0;
        assert.strictEqual(await p.run("run", "--help"), 0);
        assert.match(p.out.join("\n"), /usage: rollout run --stack NAME[\s\S]*--query-timeout 10s[\s\S]*--apply/);
    });

    it("each command's help lists its own exit codes, and only those", async () => {
        const p = project();
        const codesOf = async (command: string) => {
            p.out.length = 0;
            assert.strictEqual(await p.run("help", command), 0, command);
            const [, section] = /\nexit codes:\n([\s\S]*)$/.exec(p.out.join("\n")) ?? [];
            assert.ok(section, `${command}: an exit codes section`);
            return section.split("\n").map((l) => /^  (\d)  (\S+)/.exec(l)!.slice(1).join(" "));
        };
        for (const command of ["status", "rollback", "retry", "promote"]) {
            const codes = await codesOf(command);
            assert.deepStrictEqual(codes.map((c) => c[0]), ["0", "2"], command);
            assert.doesNotMatch(codes.join(" "), /PROMOTE|HOLD|ROLLBACK/, `${command} never decides`);
        }
        // next refuses a ROLLBACK in the current window with ROLLBACK's code (with --prometheus).
        assert.deepStrictEqual(await codesOf("next"), ["0 the", "1 with", "2 a"]);
        assert.deepStrictEqual(await codesOf("analyze"), ["0 PROMOTE:", "1 ROLLBACK:", "3 HOLD:", "2 a"]);
        assert.deepStrictEqual(await codesOf("run"), ["0 PROMOTE:", "1 ROLLBACK:", "3 HOLD:", "2 a"]);
        assert.deepStrictEqual(await codesOf("serve"), ["0 stopped", "2 a"]);
        // `run`'s 2 also covers a failed `pulumi up`; `serve`'s names the port.
        p.out.length = 0;
        await p.run("run", "--help");
        assert.match(p.out.join("\n"), /^  2  .*; or `pulumi up` failed$/m);
        p.out.length = 0;
        await p.run("serve", "--help");
        assert.match(p.out.join("\n"), /^  2  .*the --listen port in use/m);
    });

    it("help for a command it does not know is a usage error (exit 2), not the general help", async () => {
        const out: string[] = [];
        const err: string[] = [];
        const p = project(STACK_FILE, { out: (l) => out.push(l), err: (l) => err.push(l) });
        assert.strictEqual(await p.run("help", "bogus"), 2);
        assert.deepStrictEqual([out, err], [[], ['rollout: unknown command "bogus": the commands are status, next, rollback, retry, promote, analyze, run, replay, serve (rollout help)']]);
        assert.strictEqual(await p.run("help", "status", "next"), 2);
        assert.match(err.at(-1)!, /help takes one command, not 2/);
        assert.strictEqual(await p.run("help", "bogus", "--json"), 2);
        assert.deepStrictEqual(JSON.parse(out.join("\n")), { error: 'unknown command "bogus": the commands are status, next, rollback, retry, promote, analyze, run, replay, serve (rollout help)', exit: 2 });
        out.length = 0;
        assert.strictEqual(await p.run("help", "status", "--json"), 0);
        assert.match(JSON.parse(out.join("\n")).help, /^usage: rollout status --stack NAME/);
    });

    it("--json: one JSON document on stdout for results and for errors; progress and text errors go elsewhere", async () => {
        const out: string[] = [];
        const err: string[] = [];
        const p = project(STACK_FILE, { out: (l) => out.push(l), err: (l) => err.push(l) });
        assert.strictEqual(await p.run("status", "--stack", "dev", "--json"), 0);
        assert.strictEqual(JSON.parse(out.join("\n")).stage, 50);
        out.length = 0;
        assert.strictEqual(await p.run("next", "--stack", "nope", "--json"), 2);
        assert.deepStrictEqual(JSON.parse(out.join("\n")), { error: `no stack file Pulumi.nope.yaml in ${p.dir} (stacks here: dev)`, exit: 2 });
        out.length = 0;
        assert.strictEqual(await p.run("next", "--stack", "dev", "--json"), 0);
        assert.deepStrictEqual(JSON.parse(out.join("\n")).edits, [{ key: "canary:weight", from: 50, to: 100 }]);
    });

    it("unreachable Prometheus: the counts are unknown, not 0, in text and JSON", async () => {
        const s = await server(() => undefined);
        s.close();
        const p = project();
        assert.strictEqual(await p.run("analyze", "--stack", "dev", "--prometheus", s.url, "--json"), 3);
        const j = JSON.parse(p.out.join("\n"));
        assert.deepStrictEqual([j.decision, j.canary, j.stable], ["HOLD", null, null]);
        p.out.length = 0;
        assert.strictEqual(await p.run("analyze", "--stack", "dev", "--prometheus", s.url), 3);
        assert.match(p.out.join("\n"), /requests: unknown \(nothing could be read from Prometheus\)/);
    });

    it("`npm run -s rollout -- ... --json` prints parseable JSON, for a result and for an error", () => {
        const npm = (...args: string[]) => spawnSync("npm", ["run", "-s", "rollout", "--", ...args], { cwd: ROOT, encoding: "utf8" });
        const ok = npm("status", "--stack=dev", "--json");
        assert.strictEqual(ok.status, 0, ok.stderr);
        assert.strictEqual(JSON.parse(ok.stdout).stack, "dev");
        const bad = npm("status", "--stack", "dev", "--since", "5m", "--json");
        assert.strictEqual(bad.status, 2, bad.stderr);
        assert.match(JSON.parse(bad.stdout).error, /status: unknown option --since/);
    });
});

describe("rollout serve: the judge as an HTTP service", () => {
    const params = (q: Record<string, string>) => new URLSearchParams({ namespace: "podinfo", app: "podinfo", weight: "25", ...q });

    it("reads a request's app, stage, metric contract and window; refuses what it cannot judge, naming the parameter", () => {
        const start = "2026-11-21T11:40:00Z";
        const q = judgeQuery(params({ run: "podinfo-25-6.8.0-0", since: start, stages: "10,25,100", histogram: "app_seconds", excludedRoutes: "livez" }), NOW);
        assert.deepStrictEqual(q, {
            scope: SCOPE,
            metrics: { ...DEFAULT_METRICS, histogram: "app_seconds", excludedRoutes: ["livez"] },
            ratios: [],
            stage: { weight: 25, stages: [10, 25, 100] },
            since: new Date(start),
            run: "podinfo-25-6.8.0-0",
        });
        assert.deepStrictEqual(judgeQuery(params({ since: "5m" }), NOW).metrics, DEFAULT_METRICS);
        assert.deepStrictEqual(judgeQuery(params({ since: "5m" }), NOW).since, new Date(NOW.getTime() - 300_000), "without run, a duration back from now");
        assert.deepStrictEqual(judgeQuery(params({ since: "2026-11-21T11:00:00Z" }), NOW).since, new Date("2026-11-21T11:00:00Z"));
        assert.deepStrictEqual(judgeQuery(params({ run: "r", since: "2026-11-21T12:00:00+01:00" }), NOW).since, new Date("2026-11-21T11:00:00Z"), "with run, any RFC 3339 zone");
        // The evidence the stage carries in, as the run's `carry` argument gives it; empty: none.
        assert.deepStrictEqual(judgeQuery(params({ since: "5m", carry: "errors:-3.0512,errors~1.5:-1.2,latency:-4.1,tail:0.3" }), NOW).stage.carried, { errors: -3.0512, "errors~1.5": -1.2, latency: -4.1, tail: 0.3 });
        assert.ok(!("carried" in judgeQuery(params({ since: "5m", carry: "" }), NOW).stage));
        for (const [q, message] of [
            [{ since: "5m", namespace: "Bad_NS" }, /namespace="Bad_NS" is not the app's namespace/],
            [{ since: "5m", weight: "0" }, /weight=0: there is no stage to analyse at weight 0: `rollout next` writes the first stage and `pulumi up` applies it/],
            [{ since: "5m", stages: "50,25,100" }, /stages="50,25,100" is not strictly increasing/],
            [{ since: "5m", histogram: "a-b" }, /histogram="a-b" is not a Prometheus metric name/],
            [{ since: "5m", excludedRoutes: 'a,"b' }, /excludedRoutes: "\\"b" is not a route label value/],
            [{}, /since is required: the window's start/],
            [{ run: "r" }, /since is required with run: the run's window start/],
            [{ run: "r", since: "5m" }, /since="5m" is not an RFC 3339 instant .*: with run, the window's start is the one the stack wrote/],
            [{ run: "r", since: "2026-02-30T10:00:00Z" }, /since="2026-02-30T10:00:00Z" is not an RFC 3339 instant/],
            [{ run: "r", since: "2026-11-21T11:00:00" }, /is not an RFC 3339 instant with its zone/],
            [{ run: "Run_1", since: "5m" }, /run="Run_1" is not a Kubernetes object name/],
            [{ since: "tomorrow" }, /since="tomorrow" is not a duration back from now/],
            [{ since: "5m", carry: "errors=-3" }, /carry: "errors=-3" is not test:llr/],
            [{ since: "5m", ratio: "errors,a_total,b_total,up" }, /ratio="errors,a_total,b_total,up" is not name,events,total,up\|down with a name other than errors/],
            [{ since: "5m", ratio: "conv,a_total,b_total,sideways" }, /ratio="conv,a_total,b_total,sideways" is not name,events,total,up\|down/],
            [{ since: "5m", carry: "errors:-3,latency:x" }, /carry: "latency:x" is not test:llr/],
            [{ since: "5m", carry: "errors:-3", weight: "5" }, /carry: the first stage \(5\) has no stages before it/],
        ] as const) {
            assert.throws(() => judgeQuery(params(q as Record<string, string>), NOW), message as RegExp);
        }
        assert.throws(() => judgeQuery(new URLSearchParams({ app: "podinfo", weight: "5", since: "5m" }), NOW), /namespace is required/);
    });

    it("reads the metric contract of any preset, each part overridable; refuses a value that would break a query, naming the parameter", () => {
        const metricsOf = (q: Record<string, string>) => judgeQuery(params({ since: "5m", ...q }), NOW).metrics;
        assert.deepStrictEqual(metricsOf({ preset: "opentelemetry" }), METRIC_PRESETS.opentelemetry);
        assert.deepStrictEqual(metricsOf({ preset: "micrometer", errorStatus: "5..|429", excludedRoutes: "" }), { ...METRIC_PRESETS.micrometer, errorStatus: "5..|429", excludedRoutes: [] });
        // What judgeUrl writes for a stack is what the judge reads back.
        const contract = { ...METRIC_PRESETS.opentelemetry, routeLabel: "route", excludedRoutes: ["/livez", "/users/{id}"] };
        const url = new URL(judgeUrl("http://judge:8080", { scope: SCOPE, metrics: contract, stages: [5, 25, 50, 100], ratios: [], deadline: "30m" }).replace(/\{\{args\.(\w+)\}\}/g, (_m, a) => ({ run: "r", weight: "25", carry: "", since: "2026-11-21T11:40:00Z" })[a as string] ?? ""));
        assert.deepStrictEqual(judgeQuery(url.searchParams, NOW).metrics, contract);
        for (const [q, message] of [
            [{ preset: "prometheus" }, /preset="prometheus" is not one of prom-client, opentelemetry, micrometer/],
            [{ statusLabel: "http.response.status_code" }, /statusLabel="http\.response\.status_code" is not a Prometheus label name/],
            [{ routeLabel: "track" }, /routeLabel="track" is not a Prometheus label name .* other than namespace, app, track, le/],
            [{ routeLabel: "__name__" }, /routeLabel="__name__" is not a Prometheus label name/],
            [{ statusLabel: "path" }, /statusLabel, routeLabel: the status and the route are two labels, both path here/],
            [{ errorStatus: '5.."} or vector(1) or {x="' }, /errorStatus="5\.\.\\"} or vector\(1\) or \{x=\\"" is not a regex over the status label's values/],
            [{ errorStatus: "5((" }, /errorStatus="5\(\(" is not a regex/],
            [{ errorStatus: "(?!2)..." }, /errorStatus="\(\?!2\)\.\.\." is not a regex/],
            [{ excludedRoutes: "a,b\\c" }, /excludedRoutes: "b\\\\c" is not a route label value/],
            [{ excludedRoutes: Array.from({ length: 33 }, (_, i) => `/r${i}`).join(",") }, /excludedRoutes lists more than 32 routes/],
            [{ excludedRoutes: ",".repeat(5000) }, /excludedRoutes lists more than 32 routes/],
            // An ask from before the presets names the histogram by another parameter: refused, not judged on the default histogram.
            [{ duration: "app_seconds" }, /duration is no longer read: the metric contract is histogram=/],
            [{ excludedPaths: "livez" }, /excludedPaths is no longer read: the metric contract is excludedRoutes=/],
        ] as const) {
            assert.throws(() => metricsOf(q as Record<string, string>), (e: Error) => e instanceof UsageError && (message as RegExp).test(e.message));
        }
    });

    it("answers over real HTTP: the judgement as JSON, HOLD when Prometheus fails, 400/404/405 for what is not a judgement", async () => {
        const healthy = fixedPrometheus(track(6000, 30), track(100_000, 500));
        const logged: string[] = [];
        const judge = judgeServer({ prometheus: healthy, scrapeIntervalSeconds: 15, now: () => NOW, log: (l) => logged.push(l) });
        const address = await listen(judge, "127.0.0.1", 0, "--listen");
        const base = `http://127.0.0.1:${address.port}`;
        try {
            const ok = await fetch(`${base}/judge?${params({ since: "10m" })}`);
            assert.strictEqual(ok.status, 200);
            assert.strictEqual(ok.headers.get("content-type"), "application/json");
            const body = await ok.json();
            assert.deepStrictEqual([body.decision, body.canary.requests, body.stable.requests, body.since], ["PROMOTE", 6000, 100_000, "2026-11-21T11:50:00.000Z"]);
            assert.strictEqual(body.evidence.errors.sprt.outcome, "H0");
            // What the stage's analysis records and promotion carries: the decision's own figures, and the stage's α (25 is a later stage: 5% of 1%).
            assert.deepStrictEqual({ ...body.gate, alpha: undefined }, {
                decision: "PROMOTE",
                reasons: body.reasons,
                canaryRequests: 6000,
                stableRequests: 100_000,
                llr: { errors: body.evidence.errors.stageLlr, "errors~1.5": body.evidence.errors.confirm.stageLlr, latency: body.evidence.latency.stageLlr },
                carried: {},
                alpha: undefined,
            });
            close(body.gate.alpha, stageAlpha(DEFAULT_POLICY, { weight: 25, stages: [5, 25, 50, 100] }), 1e-15);
            close(body.gate.alpha, 0.0005, 1e-12);
            const bad = await fetch(`${base}/judge?${params({})}`);
            assert.strictEqual(bad.status, 400);
            assert.match((await bad.json()).error, /since is required/);
            // Argo records only "received non 2xx response code: 400": the judge's log says why (kubectl logs).
            assert.deepStrictEqual(logged.length, 1, logged.join("\n"));
            assert.match(logged[0], /^judge: 400 for GET \/judge\?namespace=.*: since is required/);
            // Promoted after its least time: the forecast has nothing left to wait for.
            assert.deepStrictEqual([body.forecast.seconds, body.forecast.canaryRequests], [0, 0]);
            // Only a run's answers are exported (an ask by `since` has no run to file them under).
            const metrics = await fetch(`${base}/metrics`);
            assert.strictEqual(metrics.status, 200);
            assert.doesNotMatch(await metrics.text(), /^canary_judge_decision\{/m);
            assert.strictEqual((await fetch(`${base}/nothing`)).status, 404);
            assert.strictEqual((await fetch(`${base}/judge`, { method: "POST" })).status, 405);
            // A contract value that would break out of its PromQL string: a 400 naming it, and the judge answers on.
            const hostile = await fetch(`${base}/judge?${params({ since: "10m", errorStatus: '5.."} or vector(1) or {a="' })}`);
            assert.strictEqual(hostile.status, 400);
            assert.match((await hostile.json()).error, /^errorStatus="5\.\.\\"} or vector\(1\)/);
            assert.deepStrictEqual(await (await fetch(`${base}/healthz`)).json(), { ok: true });
        } finally {
            await new Promise((r) => judge.close(r));
        }
        const down = await server((_req, res) => (res.writeHead(503), res.end("overloaded")));
        const holding = judgeServer({ prometheus: httpPrometheus(down.url, 1000), scrapeIntervalSeconds: 15, now: () => NOW, log: () => {} });
        const at = await listen(holding, "127.0.0.1", 0, "--listen");
        try {
            const body = await (await fetch(`http://127.0.0.1:${at.port}/judge?${params({ since: "10m" })}`)).json();
            assert.strictEqual(body.decision, "HOLD");
            assert.match(body.reasons[0], /answered HTTP 503/);
        } finally {
            down.close();
            await new Promise((r) => holding.close(r));
        }
    });

    it("`rollout serve` needs no stack: it listens until stopped, then exits 0; --listen and --prometheus are checked first", async () => {
        let stop = () => {};
        const listening: string[] = [];
        const p = project(STACK_FILE, { err: (l) => listening.push(l), stopped: () => new Promise<void>((r) => (stop = r)) });
        const code = p.run("serve", "--prometheus", "http://127.0.0.1:9", "--listen", "127.0.0.1:0");
        await waitUntil(() => listening.length > 0);
        const [, url] = /listening on (http:\/\/[^ ]+)/.exec(listening[0]) ?? [];
        assert.match(listening[1], /no --token-file: GET \/judge answers any process on this machine without a token \(loopback only\)/);
        assert.deepStrictEqual(await (await fetch(`${url}/healthz`)).json(), { ok: true });
        stop();
        assert.strictEqual(await code, 0);
        assert.deepStrictEqual(p.out, ["judge stopped"]);
        // With --token-file (the installed judge's), /judge needs the file's token, its whitespace trimmed.
        const tokenFile = path.join(p.dir, "token");
        fs.writeFileSync(tokenFile, "  s3cret-s3cret-s3cret-s3cret-s3cret\n");
        listening.length = 0;
        const guarded = p.run("serve", "--prometheus", "http://127.0.0.1:9", "--listen", "127.0.0.1:0", "--token-file", tokenFile);
        await waitUntil(() => listening.length > 0);
        const [, at] = /listening on (http:\/\/[^ ]+)/.exec(listening[0]) ?? [];
        assert.deepStrictEqual(listening.length, 1, "no warning with a token");
        const judged = (headers: Record<string, string>) => fetch(`${at}/judge?namespace=podinfo&app=podinfo&weight=5&since=1m`, { headers }).then((r) => r.status);
        assert.strictEqual(await judged({}), 401);
        assert.strictEqual(await judged({ authorization: "Bearer s3cret-s3cret-s3cret-s3cret-s3cret" }), 200);
        stop();
        assert.strictEqual(await guarded, 0);
        for (const [argv, message] of [
            [["serve"], /serve: --prometheus URL is required/],
            [["serve", "--prometheus", "http://x:9090", "--listen", "8080"], /--listen "8080" is not HOST:PORT/],
            [["serve", "--prometheus", "http://x:9090", "--stack", "dev"], /serve: unknown option --stack/],
            // Off loopback only with a token (docs/rollout.md, "The judge service").
            [["serve", "--prometheus", "http://x:9090", "--listen", "0.0.0.0:8080"], /serve: --listen 0.0.0.0:8080 is not a loopback address, and without --token-file .*give --token-file PATH/],
            [["serve", "--prometheus", "http://x:9090", "--listen", "0.0.0.0:8080", "--token-file", path.join(p.dir, "missing")], /serve: cannot read --token-file .*missing: no such file or directory \(ENOENT\)/],
            [["serve", "--prometheus", "http://x:9090", "--listen", "0.0.0.0:8080", "--token-file", p.file], /serve: --token-file .*Pulumi.dev.yaml holds no usable token: it must be 32 to 4096 visible ASCII characters/],
        ] as const) {
            listening.length = 0;
            assert.strictEqual(await p.run(...argv), 2);
            assert.match(listening.join("\n"), message, "usage errors go to stderr");
        }
        p.out.length = 0;
        assert.strictEqual(await p.run("serve", "--help"), 0);
        assert.match(p.out.join("\n"), /usage: rollout serve \[options\][\s\S]*--listen HOST:PORT[\s\S]*--token-file PATH/);
    });
});

async function waitUntil(check: () => boolean, deadlineMs = 5000): Promise<void> {
    const until = Date.now() + deadlineMs;
    while (!check()) {
        if (Date.now() > until) throw new Error("not met in time");
        await new Promise((r) => setTimeout(r, 20));
    }
}

describe("the decision benchmark's machinery (the figures come from `npm run bench`)", () => {
    const row = (scenario: string, o: Partial<Row>): Row => ({ scenario, policy: "this project (SPRT)", runs: 1000, falseRollbackPct: null, detectionPct: null, medianCanaryRequests: 0, p95CanaryRequests: 0, medianMinutes: 0, timeoutPct: 0, ...o });

    it("the seeded binomial sampler has the right mean, and a run covers every scenario and policy", () => {
        const r = rng(7);
        const draws = Array.from({ length: 2000 }, () => binomial(r, 1000, 0.01));
        close(draws.reduce((a, b) => a + b, 0) / draws.length, 10, 0.3, "mean of Binomial(1000, 1%)");
        const rows = bench(10, 1);
        assert.strictEqual(rows.length, 54, "9 scenarios × 6 policies");
        assert.deepStrictEqual(bench(10, 1), rows, "the same seed gives the same figures");
        // Sized for 95% power at one-sided α = 1%: a few thousand canary requests against a 19× larger stable.
        const n = zTestSampleSize(0.005, 0.01, 19);
        assert.ok(n > 4000 && n < 5000, `z-test sample size ${n}`);
    });

    it("the forecast against the low-traffic stages: the first look's median within 50% of the mean actual time (the forecast is an expectation, the stopping time skewed right); at 25 and 50, where 1.5× must be ruled out too, the forecast before each started within 50% of its mean", () => {
        const table = bench(20, 3);
        const check = forecastCheck(LOW_TRAFFIC, 300, 20261121);
        assert.deepStrictEqual(bench(20, 3), table, "checking the forecast leaves the table's figures as they are");
        assert.deepStrictEqual(check.map((c) => c.weight), [5, 25, 50]);
        const [first, ...carried] = check;
        const near = (forecast: number, actual: number) => forecast / actual > 0.5 && forecast / actual < 1.5;
        assert.ok(near(first.medianForecastMinutes, first.meanActualMinutes), `stage 5: forecast ${first.medianForecastMinutes.toFixed(1)} min, actual mean ${first.meanActualMinutes.toFixed(1)} min`);
        assert.ok(first.timeoutPct > 0, "the low-traffic scenario has stages that run out of time");
        for (const c of carried) {
            const before = c.medianForecastBeforeMinutes as number;
            assert.ok(before > (2 * DEFAULT_POLICY.minStageSeconds) / 60 && near(before, c.meanActualMinutes), `stage ${c.weight} before it starts: ${before.toFixed(1)} min, actual mean ${c.meanActualMinutes.toFixed(1)} min`);
        }
        // The first look is one of the looks with a quarter of the deadline left: warned then, warned by then.
        for (const c of check) {
            assert.ok((c.warnedAheadOfTimeoutPct ?? 0) >= (c.warnedOfTimeoutPct ?? 0) && c.falseWarningAheadPct >= c.falseWarningPct, JSON.stringify(c));
            assert.ok([c.firstLookMissChancePct.inTime, c.firstLookMissChancePct.outOfTime].every((x) => x === null || (x >= 0 && x <= 100)), JSON.stringify(c));
        }
    });

    it("the forecast's goals: the worst stage with some out of time, warned at the first look and with a quarter of the deadline left, against 80% and 20%", () => {
        const check = (weight: number, o: Partial<ForecastCheck>): ForecastCheck => ({
            weight,
            stages: 100,
            medianForecastMinutes: 10,
            medianForecastBeforeMinutes: null,
            medianActualMinutes: 10,
            meanActualMinutes: 12,
            timeoutPct: 4,
            warnedOfTimeoutPct: 90,
            falseWarningPct: 10,
            warnedAheadOfTimeoutPct: 95,
            falseWarningAheadPct: 15,
            firstLookMissChancePct: { outOfTime: 10, inTime: 10 },
            ...o,
        });
        const checks = [check(5, { warnedOfTimeoutPct: 70 }), check(25, { timeoutPct: 0, warnedOfTimeoutPct: null, warnedAheadOfTimeoutPct: null, falseWarningAheadPct: 25 }), check(50, {})];
        assert.deepStrictEqual(
            forecastGoals(checks).map((g) => [g.met, g.value]),
            [
                [false, 70],
                [true, 10],
                [true, 95],
                [false, 25],
            ],
        );
    });

    it("the rollout's forecast before it starts: calibrated against how rollouts ended, warning at 10 requests/s, not at 200; at the first look seldom, and never falsely at 200; its goals", () => {
        const [busy, low, thin] = [HEALTHY, LOW_TRAFFIC, THIN_TRAFFIC].map((s) => rolloutForecastCheck(s, 200, 20261121));
        assert.ok(busy.noDecisionPct === 0 && busy.before.warnedPct === 0 && busy.warnedPct === 0, JSON.stringify(busy));
        assert.ok(thin.noDecisionPct > 10 && thin.before.warnedPct >= 80, JSON.stringify(thin));
        for (const c of [busy, low, thin]) assert.ok(Math.abs(c.before.meanMissChancePct - c.noDecisionPct) <= Math.max(2, c.noDecisionPct / 2), JSON.stringify(c));
        // From 15 minutes of stable's traffic stable's rate is known; at the first look, on a few errors, the warning waits.
        assert.ok(thin.before.warnedPct > thin.warnedPct, JSON.stringify(thin));
        assert.deepStrictEqual(rolloutForecastGoals([busy, low, thin]).map((g) => g.met), rolloutForecastGoals([busy, low, thin]).map(() => true));
        const said = { warnedPct: 0, warnedOfNoDecisionPct: null, medianMissChancePct: 0, meanMissChancePct: 0 };
        const check = (noDecisionPct: number, mean: number, warned: number): RolloutForecastCheck => ({ scenario: "s", noDecisionPct, ...said, before: { ...said, warnedPct: warned, meanMissChancePct: mean } });
        assert.deepStrictEqual(
            rolloutForecastGoals([check(20, 25, 90), check(20, 31, 70), check(5, 6, 50), check(0.5, 3, 6)]).map((g) => [g.met, g.value]),
            [
                [true, 5],
                [true, 90],
                [false, 11],
                [false, 70],
                [true, 1],
                [false, 2.5],
                [false, 6],
            ],
        );
    });

    it("why 2× errors needs more than Wald's yardstick: the errors test alone, one alternative, at its α no sooner than at all of α (the same stream, a nearer boundary), both above the known-rate yardstick", () => {
        const l = detectionLimit(200, 20261121);
        assert.ok(l.information > 0.9 && l.information < 0.95, `${l.information}`);
        assert.ok(l.alpha < DEFAULT_POLICY.alpha);
        assert.ok(l.single >= l.singleFullAlpha && l.singleFullAlpha > WALD_ASN_2X, JSON.stringify(l));
    });

    it("the goals: each compares this project's row with its bound, and a row past a bound is reported not met", () => {
        const fl = floors();
        const floorMinutes = fl[0].errors.minutes;
        const rows = [
            row("healthy", { falseRollbackPct: 0.9, medianMinutes: 1.05 * floorMinutes }),
            row("low traffic", { falseRollbackPct: 1.4 }),
            row("2x errors", { detectionPct: 99.5, medianCanaryRequests: 1.2 * WALD_ASN_2X }),
            row("p99 +50%", { detectionPct: 100 }),
            row("1.5x errors", { detectionPct: 94 }),
        ];
        assert.deepStrictEqual(
            goals(rows, fl).map((g) => [g.met, Math.round(100 * g.value) / 100]),
            [
                [true, 1.05],
                [false, 1.4],
                [true, 99.5],
                [false, 1.2],
                [true, 100],
                [false, 94],
            ],
        );
    });

    it("where this project is not ahead: more detections, as many on fewer requests, fewer false rollbacks or undecided, a shorter median", () => {
        const peer = (scenario: string, o: Partial<Row>) => row(scenario, { policy: "peer", ...o });
        const rows = [
            row("2x", { detectionPct: 99, medianCanaryRequests: 100 }),
            peer("2x", { detectionPct: 100, medianCanaryRequests: 500 }),
            row("10x", { detectionPct: 100, medianCanaryRequests: 100 }),
            peer("10x", { detectionPct: 100, medianCanaryRequests: 90 }),
            row("1.5x", { detectionPct: 90, medianCanaryRequests: 100 }),
            peer("1.5x", { detectionPct: 80, medianCanaryRequests: 10 }),
            row("healthy", { falseRollbackPct: 0.5, timeoutPct: 10, medianMinutes: 30 }),
            peer("healthy", { falseRollbackPct: 0.5, timeoutPct: 5, medianMinutes: 20 }),
            row("busy", { falseRollbackPct: 0.5, timeoutPct: 0, medianMinutes: 5 }),
            peer("busy", { falseRollbackPct: 0.1, timeoutPct: 1, medianMinutes: 1 }),
        ];
        assert.deepStrictEqual(
            notAhead(rows).map((x) => [x.scenario, x.measure, x.own, x.theirs]),
            [
                ["2x", "detection %", 99, 100],
                ["10x", "median canary requests", 100, 90],
                ["healthy", "no decision %", 10, 5],
                ["healthy", "median minutes", 30, 20],
                ["busy", "false rollback %", 0.5, 0.1],
            ],
        );
    });

    it("the floor: Wald's expected requests to promote at each compared stage, with the stage's α, in requests and minutes of canary traffic", () => {
        const [healthy] = floors();
        assert.strictEqual(healthy.scenario, "healthy");
        const atFive = healthy.errors.stages[0];
        const alphaAtFive = stageAlpha(DEFAULT_POLICY, { weight: 5, stages: [5, 25, 50, 100] }) * (1 - DEFAULT_POLICY.latencyShare - DEFAULT_POLICY.tailShare);
        close(atFive.requests, waldAsn(0.005, 0.01, alphaAtFive, 0.05, "H0"), 1e-9);
        close(atFive.minutes, atFive.requests / (200 * 0.05) / 60, 1e-9, "the canary gets 5% of 200 requests/s");
        assert.deepStrictEqual(healthy.errors.stages.map((x) => x.weight), [5, 25, 50]);
        assert.ok(healthy.errors.minutes > 4 && healthy.errors.minutes < 5, `the errors floor is about 4 to 5 minutes: ${healthy.errors.minutes}`);
        // At stable's p90 slow events are frequent (about 8% here): the latency test is not what a healthy stage waits for.
        assert.ok(healthy.latency.requests < healthy.errors.requests / 5, `latency ${healthy.latency.requests} vs errors ${healthy.errors.requests}`);
    });
});
