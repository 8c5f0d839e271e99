/**
 * `rollout replay`: the recorded looks judged as the live judge judges them (compared with `judge()`
 * on the same counts), the run's deadline, a range with no traffic, hostile recordings refused naming
 * the field, the chart as well-formed XML; and, against the real Prometheus the e2e suite starts
 * (demo/live.ts: the chart's Prometheus on 127.0.0.1 scraping two demo-app processes), a replay from
 * Prometheus deciding at the look the live `analyze` decided at, and `--record` then `--recording`
 * giving the same replay.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { answerPoint, chartPoint, escapeXml, evidenceSvg } from "../domain/chart";
import { DEFAULT_POLICY, judge, stageAlpha, StageContext, TrackCounts } from "../domain/decide";
import { gateAnswer } from "../domain/evidence";
import type { RatioMetric } from "../domain/ratios";
import { agreement, parseRecording, Recording, RECORDING_VERSION, recordingJson, Replay, replay } from "../domain/replay";
import { runAnswers, runChart } from "../demo/charts";
import { judgeLook } from "../rollout/analyze";
import { CliIo, defaultIo, main } from "../rollout/cli";
import { copyProjectFile, ROOT } from "./harness";
import { sleep } from "../demo/host";
import { Live, loadWhile, startLive } from "../demo/live";

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A track's cumulative counts after `requests`, `errors` of them 5xx, every request fast. */
function counts(requests: number, errors: number): TrackCounts {
    return { requests, errors, buckets: [...BUCKETS.map((le) => ({ le, count: le >= 0.05 ? requests : 0 })), { le: Infinity, count: requests }], resets: 0 };
}

const FROM = "2026-11-22T10:00:00.000Z";
const at = (k: number, interval = 15) => new Date(Date.parse(FROM) + k * interval * 1000).toISOString();

/** A stage at 5%: `perLook` requests to each track per look, the canary failing `canaryErrorRatio` of them, stable 0.5%. */
function recording(looks: number, perLook: number, canaryErrorRatio: number, interval = 15): Recording {
    return {
        version: RECORDING_VERSION,
        namespace: "podinfo",
        app: "podinfo",
        from: FROM,
        intervalSeconds: interval,
        scrapeIntervalSeconds: 15,
        ratios: [],
        looks: Array.from({ length: looks }, (_, k) => ({
            at: at(k, interval),
            counts: k === 0 ? null : { canary: counts(k * perLook, Math.round(k * perLook * canaryErrorRatio)), stable: counts(k * perLook * 19, Math.round(k * perLook * 19 * 0.005)) },
        })),
    };
}

const STAGE = { weight: 5, stages: [5, 25, 50, 100] };
const SCOPE = { namespace: "podinfo", app: "podinfo" };
const judgeAt = (c: Parameters<typeof judgeLook>[0], since: Date, now: Date) => judgeLook(c, { scope: SCOPE, since, now, stage: STAGE, scrapeIntervalSeconds: 15 });
const settings = (deadlineSeconds = 1800, intervalSeconds = 15) => ({ stage: STAGE, intervalSeconds, deadlineSeconds, ratios: [] });

describe("rollout replay over a recording (no Prometheus)", () => {
    it("judges every look as judge() does on the same counts, and stops at the first decision", () => {
        const r = recording(40, 60, 0.05);
        const result = replay(r, settings(), judgeAt, () => undefined);
        // The live judge on the same counts, look by look: the first look that is not HOLD is the replay's decision.
        const direct = r.looks.slice(1).map((l, i) => judge(l.counts!.canary, l.counts!.stable, { ...STAGE, seconds: (i + 1) * 15 }, DEFAULT_POLICY).decision);
        const first = direct.findIndex((d) => d !== "HOLD");
        assert.strictEqual(direct[first], "ROLLBACK");
        assert.strictEqual(result.decision, "ROLLBACK");
        assert.strictEqual(result.looks.length, first + 2, "look 1 is the window's start (too short), then one look per recorded look up to the decision");
        for (const [i, l] of result.looks.slice(1).entries()) assert.strictEqual(l.judgement.decision, direct[i], `look ${i + 2}`);
        assert.match(result.summary, /^ROLLBACK at look \d+ .*a regression in errors \(LLR [\d.]+ ≥ [\d.]+\)/);
        assert.strictEqual(result.peers.length, 2);
        assert.deepStrictEqual(result.peers.map((p) => p.policy), ["Flagger default", "Kayenta judge"]);
    });

    it("a range with no traffic holds and says so", () => {
        const r = { ...recording(10, 0, 0), looks: recording(10, 0, 0).looks.map((l) => ({ ...l, counts: null })) };
        const result = replay(r, settings(), judgeAt, () => undefined);
        assert.strictEqual(result.decision, "HOLD");
        assert.strictEqual(result.end, "range");
        assert.match(result.summary, /no look saw a canary request \(no traffic in the range\)/);
        assert.match(result.looks[3].judgement.reasons[0], /Prometheus has no request series/);
        assert.deepStrictEqual(result.peers.map((p) => p.decision), ["HOLD", "HOLD"], JSON.stringify(result.peers));
    });

    it("a range longer than the deadline ends where the live run ends: its count of looks, Inconclusive", () => {
        // Too little traffic to decide: HOLD at every look.
        const r = recording(200, 1, 0);
        const result = replay(r, settings(10 * 60), judgeAt, () => undefined);
        assert.strictEqual(result.looks.length, 40, "ceil(600 s / 15 s) looks, as the AnalysisRun's count");
        assert.strictEqual(result.end, "deadline");
        assert.match(result.summary, /HOLD to the deadline \(40 looks at 15s, 10m00s\): the run ends Inconclusive, and the stage is not rolled back/);
        // At twice the interval, every other recorded look; an interval that is no multiple is refused.
        assert.strictEqual(replay(r, settings(10 * 60, 30), judgeAt, () => undefined).looks.length, 20);
        assert.throws(() => replay(r, settings(600, 20), judgeAt, () => undefined), /not a whole multiple of the recording's 15s/);
    });

    it("hostile recordings are refused, naming the field", () => {
        const good = JSON.parse(recordingJson(recording(5, 60, 0)));
        assert.strictEqual(parseRecording(good).looks.length, 5);
        const bad = (edit: (r: any) => void, field: RegExp) => {
            const r = structuredClone(good);
            edit(r);
            assert.throws(() => parseRecording(r), field);
        };
        bad((r) => (r.looks[2].counts.canary.requests = -1), /^RecordingError: looks\[2\]\.counts\.canary\.requests must be a whole number/);
        bad((r) => (r.looks[2].counts.stable.errors = "NaN"), /looks\[2\]\.counts\.stable\.errors must be a whole number/);
        // JSON has no NaN: a number past a double's range parses as Infinity.
        bad((r) => (r.looks[1].counts.canary.errors = JSON.parse("1e999")), /looks\[1\]\.counts\.canary\.errors must be a whole number .* \(got null\)/);
        bad((r) => ([r.looks[1], r.looks[2]] = [r.looks[2], r.looks[1]]), /looks\[1\]\.at must be 2026-11-22T10:00:15.000Z.*time order/);
        bad((r) => (r.looks[1].counts.canary.buckets[3].le = 0.001), /looks\[1\]\.counts\.canary\.buckets\[3\]\.le must be above the bucket before it/);
        bad((r) => (r.looks[1].counts.canary.errors = 1e6), /looks\[1\]\.counts\.canary\.errors must be at most/);
        bad((r) => (r.version = 2), /^RecordingError: version must be 1/);
        bad((r) => (r.__proto__x = 1), /recording\.__proto__x is not a field/);
        bad((r) => (r.looks = Array.from({ length: 3001 }, () => r.looks[0])), /looks must be a list of 1 to 3000 looks/);
        bad((r) => (r.namespace = "Bad Name"), /namespace must be a DNS label/);
    });

    it("the chart is well-formed XML with each test's boundaries and the decision; its text escaped", () => {
        const result = replay(recording(40, 60, 0.05), settings(), judgeAt, () => undefined);
        const svg = evidenceSvg("podinfo <canary> & \"stable\"", result.looks.map((l) => chartPoint(l.look, l.seconds, l.judgement)));
        wellFormed(svg);
        assert.match(svg, /ROLLBACK at \d+m?\d+s \(look \d+\)/);
        assert.match(svg, />errors</);
        assert.match(svg, /rollback 4\.\d\d/);
        assert.match(svg, /podinfo &lt;canary&gt; &amp; &quot;stable&quot;/);
        assert.strictEqual(escapeXml("<a href='x'>&</a>"), "&lt;a href=&apos;x&apos;&gt;&amp;&lt;/a&gt;");
        // No look ran a test: still a picture, saying so.
        wellFormed(evidenceSvg("empty", []));
    });
});

describe("a stage's chart from the judge's live answers (an AnalysisRun's measurements)", () => {
    const RATIO: RatioMetric = { name: "checkout", events: "checkouts_failed_total", total: "checkouts_total", bad: "up" };
    /** Latency spread so that stable's p90 and p99 buckets differ (a tail test of its own), and the ratio metric counted. */
    const track = (requests: number, errors: number, slow: number, failedCheckouts: number): TrackCounts => ({
        requests,
        errors,
        buckets: [
            { le: 0.05, count: requests - slow },
            { le: 0.25, count: requests - Math.round(slow / 10) },
            { le: 1, count: requests },
            { le: Infinity, count: requests },
        ],
        resets: 0,
        ratios: { checkout: { events: failedCheckouts, total: Math.round(requests / 4) } },
    });

    it("an answer's point is the judgement's: each test's α part, the stage's β, the errors mixture and the sides a PROMOTE waits for", () => {
        const cases: { stage: StageContext; ratios: RatioMetric[]; canary: TrackCounts; stable: TrackCounts }[] = [
            // The first stage: nothing carried, no 1.5× wait; 2 ratio metrics configured (only one counted) split the ratios' α.
            { stage: { weight: 5, stages: [5, 25, 50, 100], seconds: 60 }, ratios: [RATIO, { ...RATIO, name: "signup", events: "signups_failed_total", total: "signups_total" }], canary: track(3000, 30, 300, 15), stable: track(57_000, 280, 5700, 285) },
            // A middle stage, evidence carried (both alternatives of the errors test), a regression on the rollback side.
            { stage: { weight: 25, stages: [5, 25, 50, 100], seconds: 60, carried: { errors: -2.1, "errors~1.5": -0.9, latency: -3.3, checkout: -1 } }, ratios: [RATIO], canary: track(5000, 150, 500, 25), stable: track(15_000, 75, 1500, 75) },
            // The last compared stage (β), healthy.
            { stage: { weight: 50, stages: [5, 25, 50, 100], seconds: 90, carried: { errors: -4, "errors~1.5": -2, latency: -4, tail: -1, checkout: -2 } }, ratios: [RATIO], canary: track(9000, 40, 900, 45), stable: track(9000, 45, 900, 45) },
        ];
        for (const c of cases) {
            const j = judge(c.canary, c.stable, c.stage, DEFAULT_POLICY, c.ratios);
            const names = j.evidence.errors && [j.evidence.errors, j.evidence.latency, j.evidence.tail, ...(j.evidence.ratios ?? [])].filter(Boolean).map((t) => t!.name);
            assert.ok(names && names.includes("tail") && names.includes("checkout"), `every kind of test ran: ${names}`);
            const answer = JSON.parse(JSON.stringify(gateAnswer(j, stageAlpha(DEFAULT_POLICY, c.stage))));
            const fromAnswer = answerPoint(7, 14, answer, { weight: c.stage.weight, stages: c.stage.stages, ratioCount: c.ratios.length });
            assert.deepStrictEqual(fromAnswer, chartPoint(7, 14, j), `weight ${c.stage.weight}`);
        }
    });

    /** An AnalysisRun as the API server returns it: `count` counted measurements, the last 10 kept, one of them an Error. */
    function analysisRun(count: number) {
        const since = "2026-11-22T10:00:00Z";
        const judged = (k: number) => judge(track(k * 40, k * 8, 0, 0), track(k * 760, k * 4, 0, 0), { weight: 5, stages: [5, 25, 50, 100], seconds: 2 * k });
        const answerAt = (k: number) => JSON.stringify(gateAnswer(judged(k), stageAlpha(DEFAULT_POLICY, { weight: 5, stages: [5, 25, 50, 100] })));
        const at = (k: number) => new Date(Date.parse(since) + (3 + 2 * k) * 1000).toISOString().replace(".000Z", "Z");
        const kept = Array.from({ length: 9 }, (_, i) => count - 8 + i).map((k) => ({ phase: k === count ? "Failed" : "Inconclusive", value: answerAt(k), startedAt: at(k), finishedAt: at(k) }));
        return {
            metadata: { name: "podinfo-6-9-0-w5-e3-abc123", namespace: "podinfo" },
            spec: {
                args: [{ name: "run", value: "podinfo-6-9-0-w5-e3-abc123" }, { name: "weight", value: "5" }, { name: "carry", value: "" }, { name: "since", value: since }, { name: "token", valueFrom: {} }],
                metrics: [{ name: "judge", provider: { web: { url: "http://judge/judge?namespace=podinfo&app=podinfo&stages=5%2C25%2C50%2C100&histogram=h&ratio=checkout%2Ca_total%2Cb_total%2Cup&run={{args.run}}" } } }],
            },
            status: { metricResults: [{ name: "judge", count, measurements: [{ phase: "Error", message: "connection refused", startedAt: at(count - 9), finishedAt: at(count - 9) }, ...kept] }] },
            judged,
        };
    }

    it("a run's kept answers are numbered from its count, timed from its since, its stage read from its arguments and the judge's URL", () => {
        const run = analysisRun(23);
        const r = runAnswers(run)!;
        assert.deepStrictEqual(r.stage, { weight: 5, stages: [5, 25, 50, 100], ratioCount: 1 });
        assert.deepStrictEqual([r.since, r.carry], ["2026-11-22T10:00:00Z", ""]);
        assert.deepStrictEqual(r.answers.map((a) => a.look), [15, 16, 17, 18, 19, 20, 21, 22, 23], "the Error measurement is kept but not counted");
        assert.deepStrictEqual(r.answers.map((a) => a.seconds), [33, 35, 37, 39, 41, 43, 45, 47, 49]);
        assert.strictEqual(r.answers.at(-1)!.answer.decision, run.judged(23).decision);
        const svg = runChart(run)!;
        wellFormed(svg);
        assert.match(svg, new RegExp(`${run.judged(23).decision} at 49s \\(look 23\\); looks 15 to 23 drawn`));
        assert.match(svg, /podinfo\/podinfo-6-9-0-w5-e3-abc123 at weight 5: the judge&apos;s live answers/);
        assert.strictEqual(runChart({ metadata: { name: "no-status" } }), undefined);
    });
});

describe("a replay against the live decision (the cluster lane's check)", () => {
    /** A replay that decided `decision` at look `look` of a grid every 2 s from the window's start. */
    const replayed = (decision: Replay["decision"], look: number): Pick<Replay, "decision" | "looks" | "summary"> => ({
        decision,
        summary: `${decision} at look ${look}`,
        looks: Array.from({ length: look }, (_, i) => ({ look: i + 1, at: "", seconds: 2 * i, judgement: { decision: i === look - 1 ? decision : "HOLD", reasons: [], canary: null, stable: null, evidence: {} }, forecast: undefined })),
    });
    const cases: [string, Parameters<typeof agreement>[0], Replay["decision"], number, boolean, number | null][] = [
        // Live look 8 asked 3 s after the window's start plus 7 looks of 2 s and their answers' time: 17 s; the replay's look at 18 s (its 10th) is the nearest.
        ["ROLLBACK at the same look", { decision: "ROLLBACK", look: 8, seconds: 17 }, "ROLLBACK", 10, true, 0],
        ["ROLLBACK one look later", { decision: "ROLLBACK", look: 8, seconds: 17 }, "ROLLBACK", 11, true, 1],
        ["ROLLBACK one look earlier", { decision: "ROLLBACK", look: 8, seconds: 17 }, "ROLLBACK", 9, true, -1],
        ["ROLLBACK two looks later", { decision: "ROLLBACK", look: 8, seconds: 17 }, "ROLLBACK", 12, false, 2],
        // PROMOTE after the stage's 45 s: the live ask in second 45, the replay's first look from 45 s is at 46 s.
        ["PROMOTE at the same look", { decision: "PROMOTE", look: 22, seconds: 45 }, "PROMOTE", 24, true, 0],
        ["PROMOTE one look later", { decision: "PROMOTE", look: 22, seconds: 45 }, "PROMOTE", 25, false, 1],
        ["a replay that holds", { decision: "PROMOTE", look: 22, seconds: 45 }, "HOLD", 40, false, null],
        ["a replay that rolls back a promoted stage", { decision: "PROMOTE", look: 22, seconds: 45 }, "ROLLBACK", 5, false, null],
        ["a live run that never decided", { decision: "HOLD", look: 40, seconds: 80 }, "HOLD", 40, false, null],
    ];
    for (const [what, live, decision, look, agrees, apart] of cases) {
        it(`${what}: ${agrees ? "agrees" : "does not agree"}`, () => {
            const a = agreement(live, replayed(decision, look), 2);
            assert.deepStrictEqual([a.agrees, a.looksApart], [agrees, apart], a.message);
            if (apart === 1 && agrees) assert.match(a.message, /1 look\(s\) after the live judge ROLLBACK at its look 8 \(17s into the window\): a live look reads what Prometheus had ingested by its ask/);
            if (apart === 0) assert.match(a.message, /the same look as the live judge/);
        });
    }

    it("a PROMOTE that waited for the stage's least time may come one look apart: each grid's first look past it (seen in the cluster lane)", () => {
        // The live ask recorded in second 44 (its window just past 45 s), the replay's first look from 45 s at 46 s.
        const atLeast = agreement({ decision: "PROMOTE", look: 23, seconds: 44 }, replayed("PROMOTE", 24), 2, 45);
        assert.deepStrictEqual([atLeast.agrees, atLeast.looksApart], [true, 1], atLeast.message);
        assert.match(atLeast.message, /waited for the stage's least time \(45s\)/);
        // Without the least time, or past it (the evidence decided), one look apart is no agreement.
        assert.strictEqual(agreement({ decision: "PROMOTE", look: 23, seconds: 44 }, replayed("PROMOTE", 24), 2).agrees, false);
        assert.strictEqual(agreement({ decision: "PROMOTE", look: 30, seconds: 58 }, replayed("PROMOTE", 31), 2, 45).agrees, false);
    });
});

/** A small XML well-formedness check (no parser in node_modules): tags nest and close, attributes are quoted, text has no bare < or &. */
function wellFormed(xml: string): void {
    const stack: string[] = [];
    const token = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<&]*(?:&(?:amp|lt|gt|quot|apos);[^"<&]*)*")*)\s*(\/?)>|([^<]+)/gy;
    let m: RegExpExecArray | null;
    let pos = 0;
    while ((m = token.exec(xml)) !== null) {
        pos = token.lastIndex;
        const [, close, name, , selfClose, text] = m;
        if (text !== undefined) {
            assert.ok(!/&(?!(amp|lt|gt|quot|apos);)/.test(text), `a bare & in ${JSON.stringify(text.slice(0, 60))}`);
            continue;
        }
        if (close) assert.strictEqual(stack.pop(), name, `</${name}> closes nothing open`);
        else if (!selfClose) stack.push(name);
    }
    assert.strictEqual(pos, xml.length, `not XML at ${JSON.stringify(xml.slice(pos, pos + 60))}`);
    assert.deepStrictEqual(stack, [], "every element closed");
}

describe("the README's example chart", () => {
    it("docs/img/replay-faulty.svg is the replay of the committed recording (npm run docs:chart regenerates it)", async () => {
        const out: string[] = [];
        const svg = path.join(fs.mkdtempSync(path.join(fs.realpathSync(require("os").tmpdir()), "chart-")), "chart.svg");
        const io = { ...defaultIo(ROOT), out: (l: string) => out.push(l), err: (l: string) => out.push(l) };
        const args = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts["docs:chart"].split(" > ")[0].split(" ").slice(5);
        const code = await main([...args.slice(0, -1), svg], io);
        assert.strictEqual(code, 1, out.join("\n"));
        assert.match(out.join("\n"), /decision: ROLLBACK at look 8/);
        const committed = fs.readFileSync(path.join(ROOT, "docs/img/replay-faulty.svg"), "utf8");
        wellFormed(committed);
        assert.strictEqual(fs.readFileSync(svg, "utf8"), committed, "docs/img/replay-faulty.svg is stale: npm run docs:chart");
    });

    it("the command refuses a --set key a replay cannot try, and a bad value, by name", async () => {
        const out: string[] = [];
        const io = { ...defaultIo(ROOT), out: (l: string) => out.push(l), err: (l: string) => out.push(l) };
        const base = ["replay", "--stack", "dev", "--weight", "5", "--recording", "test/fixtures/replay-faulty.json"];
        assert.strictEqual(await main([...base, "--set", "analysis.judge.install=false"], io), 2);
        assert.match(out.join("\n"), /--set analysis\.judge\.install: a replay can try analysis\.interval, analysis\.deadline, analysis\.ratios/);
        out.length = 0;
        assert.strictEqual(await main([...base, "--set", "analysis.deadline=forever"], io), 2);
        assert.match(out.join("\n"), /canary:analysis\.deadline/);
        out.length = 0;
        assert.strictEqual(await main([...base, "--set", "analysis.interval=3s"], io), 2);
        assert.match(out.join("\n"), /not a whole multiple of the recording's 2s/);
    });
});

describe("rollout replay against a real Prometheus scraping two demo-app processes", function () {
    this.timeout(120_000);
    let live: Live;
    const out: string[] = [];
    let io: CliIo;

    before(async () => {
        live = await startLive({});
        fs.copyFileSync(path.join(ROOT, "Pulumi.dev.yaml"), path.join(live.dir, "Pulumi.dev.yaml"));
        copyProjectFile(live.dir);
        io = { ...defaultIo(live.dir), out: (l) => out.push(l), err: (l) => out.push(l) };
        // The stage at 5%, as `analyze` judges the stack's own weight.
        assert.strictEqual(await main(["next", "--stack", "dev"], io), 0, out.join("\n"));
    });
    after(() => live?.stop());

    /** Runs the command; its exit code and (with --json) its JSON. */
    async function rollout(args: string[]): Promise<{ code: number; json: any }> {
        out.length = 0;
        const code = await main([...args, "--json"], io);
        return { code, json: JSON.parse(out[out.length - 1]) };
    }

    /**
     * A stage under steady load, `analyze` asked live at each look's instant (every 2 s from the start, as
     * an AnalysisRun asks) until it decides or `looks` pass; then the same range replayed from
     * Prometheus, recorded, and replayed from the recording.
     */
    async function stage(errorRatio: number, looks: number) {
        await fetch(`http://127.0.0.1:${live.ports.canary}/faults?errorRatio=${errorRatio}`, { method: "PUT" });
        const from = new Date(Math.ceil(Date.now() / 1000) * 1000 + 1000);
        const decisions: string[] = [];
        const asked = (async () => {
            for (let k = 0; k < looks; k++) {
                await sleep(from.getTime() + k * 2000 - Date.now());
                const r = await rollout(["analyze", "--stack", "dev", "--prometheus", live.promUrl, "--since", from.toISOString(), "--scrape-interval", live.scrapeInterval]);
                decisions.push(r.json.decision);
                if (r.json.decision !== "HOLD") break;
            }
        })();
        // Steady load until a look past the live asks' end (a decision, or the last look): the replay may
        // decide a look later (below), and reads the traffic up to it.
        const lookPast = asked.then(() => sleep(2500));
        await Promise.all([asked, loadWhile(lookPast, [live.ports.stable, live.ports.canary], 100, looks * 2 + 4)]);
        await fetch(`http://127.0.0.1:${live.ports.canary}/faults?errorRatio=0`, { method: "PUT" });
        await sleep(2500);
        // One look past the live decision: the replay may decide a look later (below).
        const to = new Date(from.getTime() + decisions.length * 2000).toISOString();
        const file = path.join(live.dir, `recording-${errorRatio}.json`);
        const args = ["replay", "--stack", "dev", "--set", "analysis.interval=2s"];
        const fromPrometheus = await rollout([...args, "--prometheus", live.promUrl, "--from", from.toISOString(), "--to", to, "--scrape-interval", live.scrapeInterval, "--record", file]);
        const fromFile = await rollout([...args, "--recording", file]);
        return { decisions, fromPrometheus, fromFile, file };
    }

    it("a faulty canary: ROLLBACK at the look the live analyze rolled back at (or one apart); the recording replays the same with no Prometheus", async () => {
        const { decisions, fromPrometheus, fromFile } = await stage(0.2, 15);
        assert.strictEqual(decisions.at(-1), "ROLLBACK", decisions.join(" "));
        assert.strictEqual(fromPrometheus.code, 1, JSON.stringify(fromPrometheus.json.summary));
        const liveLook = decisions.length;
        const replayLook = fromPrometheus.json.looks.length;
        // A live look reads what Prometheus had ingested by then; a scrape of the look's last second that
        // arrives after the ask is in the replay's answer for the same instant: at most one look apart.
        assert.ok(Math.abs(replayLook - liveLook) <= 1, `live ROLLBACK at look ${liveLook}, replay at ${replayLook}: ${fromPrometheus.json.summary}`);
        assert.deepStrictEqual(fromFile.json, { ...fromPrometheus.json, recording: null });
        assert.strictEqual(fromFile.code, 1);
    });

    it("a healthy canary: no look rolls back, live or replayed, and the recording replays the same", async () => {
        const { decisions, fromPrometheus, fromFile } = await stage(0, 4);
        assert.ok(!decisions.includes("ROLLBACK"), decisions.join(" "));
        assert.ok(fromPrometheus.json.looks.every((l: any) => l.decision !== "ROLLBACK"), fromPrometheus.json.summary);
        assert.ok(fromPrometheus.json.looks.at(-1).canary.requests > 0, "the replay read the canary's traffic");
        assert.deepStrictEqual(fromFile.json, { ...fromPrometheus.json, recording: null });
    });
});
