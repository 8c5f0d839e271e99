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
import { chartPoint, escapeXml, evidenceSvg } from "../domain/chart";
import { DEFAULT_POLICY, judge, TrackCounts } from "../domain/decide";
import { parseRecording, Recording, RECORDING_VERSION, recordingJson, replay } from "../domain/replay";
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
        const svg = evidenceSvg("podinfo <canary> & \"stable\"", result.looks.map((l) => chartPoint(l.seconds, l.judgement)));
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
