/**
 * End to end: the Prometheus the chart deploys (scripts/prometheus.sh) on 127.0.0.1 scrapes two
 * demo-app processes (stable and canary) every second with the ServiceMonitor's own relabelling, load
 * is driven at both, and the real `rollout` command decides. No fake HTTP stub: the counts come from Prometheus (the processes
 * and the load: test/live.ts).
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { DEFAULT_METRICS, JUDGE_SERIES, judgeRunSeries } from "../domain/promql";
import { CliIo, defaultIo, main } from "../rollout/cli";
import { BUCKETS, CHECKOUT_RATIO } from "../app/server";
import { readLook } from "../rollout/analyze";
import { httpPrometheus } from "../rollout/prometheus";
import { formatRatio } from "../domain/promql";
import { copyProjectFile, ROOT } from "./harness";
import { eventually, sleep } from "../demo/host";
import { freePort, judgeScrapeConfig, Live, load, probes, queryVector, SERVER_POLL, startJudge, startLive, steadyLoad } from "../demo/live";

/** What the judge service answers for the dev stack's scope at weight 5 (the stage `next` wrote), with `extra` query parameters. */
async function askJudge(judgeUrl: string, extra: Record<string, string>): Promise<{ status: number; body: any }> {
    const query = new URLSearchParams({ namespace: "podinfo", app: "podinfo", weight: "5", ...extra });
    const res = await fetch(`${judgeUrl}/judge?${query}`);
    return { status: res.status, body: await res.json() };
}

/** A run's window start as the stack writes it: RFC 3339 UTC to the second. */
const instant = (t: Date) => t.toISOString().replace(/\.\d{3}Z$/, "Z");

describe("rollout analyze and the judge service against a real Prometheus scraping two demo-app processes", function () {
    this.timeout(90_000);
    let live: Live;
    let judgeUrl = "";
    const out: string[] = [];
    let io: CliIo;

    before(async () => {
        // The judge's port first: Prometheus scrapes it as the judge's ServiceMonitor says, honouring the
        // judge's own namespace and app labels over the target's (the operator's `namespace` is the judge's).
        const judgePort = await freePort();
        judgeUrl = `http://127.0.0.1:${judgePort}`;
        live = await startLive({ scrapeConfigs: [judgeScrapeConfig([judgePort])] });
        // The dev stack, judging the demo app's business metric too (docs/rollout.md, "Trying it on this machine").
        const stack = YAML.parseDocument(fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8"));
        stack.setIn(["config", "canary:analysis", "ratios"], [CHECKOUT_RATIO]);
        fs.writeFileSync(path.join(live.dir, "Pulumi.dev.yaml"), stack.toString());
        copyProjectFile(live.dir);
        io = { ...defaultIo(live.dir), out: (l) => out.push(l), err: (l) => out.push(l) };
        assert.strictEqual(await main(["next", "--stack", "dev"], io), 0, out.join("\n"));
        // The judge as the cluster runs it, over real HTTP (`rollout serve` is the same server; its
        // command line is tested in rollout.test.ts).
        await startJudge(live, judgePort);
    });

    // Waits for the processes to exit: Prometheus writes into the temp dir until it has stopped.
    // `live` is unset when startLive failed, having stopped what it started.
    after(() => live?.stop());

    it("a healthy canary is not rolled back: HOLD (exit 3) until the stage has run its least time, every test clear of a regression", async () => {
        // Warm both processes up first (JIT, sockets): cold-start latency is not what a stage judges.
        await load([live.ports.stable, live.ports.canary], 1000);
        await sleep(2000);
        const since = new Date().toISOString();
        await sleep(1000);
        // Probes on the canary only, inside the window: counted, they would add 3,000 canary requests.
        // They go before the user load, so both processes serve the same load while latency is measured.
        await probes(live.ports.canary, 3000);
        await load([live.ports.stable, live.ports.canary], 4000);
        // Checkouts too: 2% declined on both tracks, the demo's baseline.
        await load([live.ports.stable, live.ports.canary], 2000, "/checkout");
        await sleep(2500);
        out.length = 0;
        const code = await main(["analyze", "--stack", "dev", "--prometheus", live.promUrl, "--since", since, "--scrape-interval", live.scrapeInterval, "--json"], io);
        const result = JSON.parse(out[out.length - 1]);
        assert.notStrictEqual(result.decision, "ROLLBACK", out.join("\n"));
        assert.ok(result.canary.requests >= 5000, `Prometheus saw ${result.canary.requests} canary requests: ${out.join("\n")}`);
        // Both tracks got 6,000 user requests; the canary also got 3,000 probes. increase() extrapolates
        // each series to the window's edges from its own scrape times, so the two counts can differ by
        // some percent; with probes counted the canary would show about 1.5 times stable's.
        const ratio = result.canary.requests / result.stable.requests;
        assert.ok(ratio > 0.8 && ratio < 1.25, `canary ${result.canary.requests} vs stable ${result.stable.requests} user requests: probes counted?`);
        // The requirement is "never ROLLBACK a healthy canary". A window of seconds is shorter than a
        // stage's least time (45 s), so the answer is HOLD, and it says so.
        assert.strictEqual(result.decision, "HOLD");
        assert.strictEqual(code, 3);
        // (The 2% declined checkouts, 40 or so per track, may leave the ratio test short of its boundary too.)
        assert.ok(result.reasons.some((r: string) => /^the stage has been judged for \d+s; it is promoted after at least 45s at its weight$/.test(r)), JSON.stringify(result.reasons));
        assert.strictEqual(result.evidence.errors.sprt.outcome, "H0", "no 5xx at all: the error test promotes");
        const [checkout] = result.evidence.ratios;
        assert.strictEqual(checkout.name, "checkout-failures");
        assert.ok(checkout.canary.n >= 1600 && checkout.stable.n >= 1600, `checkouts counted: canary ${checkout.canary.n}, stable ${checkout.stable.n}`);
        assert.notStrictEqual(checkout.sprt.outcome, "H1", "the same 2% of checkouts declined on both tracks is no regression");
        assert.notStrictEqual(result.evidence.latency.sprt.outcome, "H1", JSON.stringify(result.reasons));
        // One judge: the service answers what the command answered, over the same window.
        const judged = await askJudge(judgeUrl, { since, stages: "5,25,50,100", ratio: formatRatio(CHECKOUT_RATIO) });
        assert.strictEqual(judged.status, 200, JSON.stringify(judged.body));
        assert.strictEqual(judged.body.decision, result.decision, JSON.stringify(judged.body.reasons));
        assert.strictEqual(judged.body.since, new Date(since).toISOString());
    });

    it("the judge service: no data for an app is HOLD; a run's window starts where its ask says; a bad query is a 400", async () => {
        const none = await askJudge(judgeUrl, { since: "2m", app: "nothing-here" });
        assert.deepStrictEqual([none.status, none.body.decision], [200, "HOLD"]);
        assert.match(none.body.reasons[0], /no request series for namespace="podinfo", app="nothing-here"/);
        const run = { run: "podinfo-5-6.8.0-0", since: instant(new Date()) };
        const first = await askJudge(judgeUrl, run);
        assert.deepStrictEqual([first.status, first.body.decision], [200, "HOLD"]);
        assert.match(first.body.reasons[0], /shorter than two scrape intervals/);
        await sleep(1100);
        const again = await askJudge(judgeUrl, run);
        assert.strictEqual(again.body.since, first.body.since, "the same run keeps its window's start");
        const bad = await askJudge(judgeUrl, { run: "x", since: run.since, weight: "7" });
        assert.strictEqual(bad.status, 400);
        assert.match(bad.body.error, /weight=7 is not one of the stages 5,25,50,100/);
    });

    it("the judge's evidence through Prometheus: the run's series match its answer; `rollout status --prometheus` shows that decision and forecast", async () => {
        const run = "podinfo-6-8-0-w5-e1-judged";
        const ask = { run, since: instant(new Date()), deadline: "30m", stages: "5,25,50,100", ratio: formatRatio(CHECKOUT_RATIO) };
        assert.strictEqual((await askJudge(judgeUrl, ask)).status, 200, "the run's first ask");
        await sleep(2000);
        await Promise.all([load([live.ports.stable, live.ports.canary], 2000), load([live.ports.stable, live.ports.canary], 1000, "/checkout")]);
        await sleep(2500);
        const answer = await askJudge(judgeUrl, ask);
        assert.strictEqual(answer.status, 200, JSON.stringify(answer.body));
        const tests = [answer.body.evidence.errors, answer.body.evidence.latency, answer.body.evidence.tail, ...answer.body.evidence.ratios].filter((t) => t !== undefined);
        assert.ok(tests.length >= 3, JSON.stringify(answer.body.reasons));
        // Scraped once the last ask's timestamp is in Prometheus; nothing asks about this run after it.
        const series = async () => queryVector(live.promUrl, judgeRunSeries({ namespace: "podinfo", app: "podinfo" }, run));
        const value = (samples: Awaited<ReturnType<typeof series>>, name: string, labels: Record<string, string> = {}) =>
            samples.filter((s) => s.metric.__name__ === name && Object.entries(labels).every(([k, v]) => s.metric[k] === v)).map((s) => Number(s.value[1]));
        let samples: Awaited<ReturnType<typeof series>> = [];
        await eventually(
            "the judge's last answer scraped",
            async () => {
                samples = await series();
                return value(samples, JUDGE_SERIES.lastAsked)[0] === Date.parse(answer.body.now) / 1000;
            },
            { ...SERVER_POLL, timeoutMs: 10_000 },
        );
        for (const s of samples) assert.deepStrictEqual([s.metric.namespace, s.metric.app, s.metric.weight, s.metric.job], ["podinfo", "podinfo", "5", "canary-judge"], JSON.stringify(s.metric));
        for (const t of tests) {
            const got = (name: string) => value(samples, name, { test: t.name });
            assert.deepStrictEqual(got(JUDGE_SERIES.llr), [t.sprt.llr], `${t.name} LLR`);
            assert.deepStrictEqual(got(JUDGE_SERIES.carried), [t.carried], `${t.name} carried`);
            assert.deepStrictEqual(got(JUDGE_SERIES.rollbackBound), [t.sprt.boundaries.upper], `${t.name} rollback bound`);
            assert.deepStrictEqual(got(JUDGE_SERIES.promoteBound), [t.sprt.boundaries.lower], `${t.name} promote bound`);
            assert.deepStrictEqual([got(JUDGE_SERIES.canaryRequests), got(JUDGE_SERIES.stableRequests)], [[t.canary.n], [t.stable.n]], `${t.name} requests`);
        }
        assert.deepStrictEqual(value(samples, JUDGE_SERIES.decision, { decision: answer.body.decision }), [1]);
        assert.strictEqual(value(samples, JUDGE_SERIES.decision).reduce((a, b) => a + b, 0), 1, "one current decision");
        assert.ok(answer.body.forecast.canaryRate > 0, JSON.stringify(answer.body.forecast));
        assert.deepStrictEqual(value(samples, JUDGE_SERIES.forecastSeconds), [answer.body.forecast.seconds]);
        assert.deepStrictEqual(value(samples, JUDGE_SERIES.deadlineLeftSeconds), [answer.body.forecast.deadlineLeftSeconds]);
        assert.deepStrictEqual(value(samples, JUDGE_SERIES.inTimeChance), answer.body.forecast.inTimeChance === null ? [] : [answer.body.forecast.inTimeChance]);
        const rollout = answer.body.forecast.rollout;
        assert.deepStrictEqual(rollout.stages, [5, 25, 50], JSON.stringify(rollout));
        assert.deepStrictEqual(value(samples, JUDGE_SERIES.rolloutInTimeChance), rollout.inTimeChance === null ? [] : [rollout.inTimeChance]);
        // The dev stack's current run (weight 5, the one last asked about) as `rollout status` reads it back.
        out.length = 0;
        assert.strictEqual(await main(["status", "--stack", "dev", "--prometheus", live.promUrl, "--json"], io), 0, out.join("\n"));
        const status = JSON.parse(out[out.length - 1]).judge;
        assert.deepStrictEqual([status.run, status.decision, status.forecastSeconds, status.rolloutInTimeChance], [run, answer.body.decision, answer.body.forecast.seconds, rollout.inTimeChance]);
        const byName = (xs: [string, number][]) => xs.sort((a, b) => a[0].localeCompare(b[0]));
        assert.deepStrictEqual(byName(status.tests.map((t: any) => [t.test, t.llr])), byName(tests.map((t) => [t.name, t.sprt.llr])));
        out.length = 0;
        assert.strictEqual(await main(["status", "--stack", "dev", "--prometheus", live.promUrl], io), 0);
        assert.match(out.join("\n"), new RegExp(`^judge: ${answer.body.decision} for run ${run} \\(asked .*\\): errors LLR `, "m"));
        assert.match(out.join("\n"), /^forecast: (about \d+\.\d min to a decision|none .*); \d+\.\d min of the deadline left(, a decision in time with a chance of about \d+%)?(; this and every later stage in time, about \d+%)?$/m);
    });

    it("a canary whose checkouts fail (answered 200: no 5xx, no slower) is rolled back on the ratio metric (exit 1), by the command and the judge", async () => {
        await fetch(`http://127.0.0.1:${live.ports.canary}/faults?checkoutFailRatio=0.2`, { method: "PUT" });
        try {
            const since = new Date().toISOString();
            await sleep(2000);
            await Promise.all([load([live.ports.stable, live.ports.canary], 1500), load([live.ports.stable, live.ports.canary], 1500, "/checkout")]);
            await sleep(2500);
            out.length = 0;
            const code = await main(["analyze", "--stack", "dev", "--prometheus", live.promUrl, "--since", since, `--scrape-interval=${live.scrapeInterval}`, "--json"], io);
            const result = JSON.parse(out[out.length - 1]);
            assert.strictEqual(code, 1, out.join("\n"));
            assert.strictEqual(result.decision, "ROLLBACK");
            assert.notStrictEqual(result.evidence.errors.sprt.outcome, "H1", "no 5xx: the errors test does not see it");
            assert.strictEqual(result.evidence.ratios[0].sprt.outcome, "H1");
            assert.match(result.reasons.join("\n"), /checkout-failures: canary \d+\/\d+ checkouts_failed_total per checkouts_total \((1\d|2\d)\.\d\d%.*regression/);
            const judged = await askJudge(judgeUrl, { since, ratio: formatRatio(CHECKOUT_RATIO) });
            assert.strictEqual(judged.body.decision, "ROLLBACK", JSON.stringify(judged.body.reasons));
            assert.ok(judged.body.gate.llr["checkout-failures"] > 0, "the evidence carries the ratio's LLR by name");
        } finally {
            await fetch(`http://127.0.0.1:${live.ports.canary}/faults?checkoutFailRatio=0.02`, { method: "PUT" });
        }
    });

    it("a canary answering 20% errors is rolled back (exit 1)", async () => {
        const faults = await fetch(`http://127.0.0.1:${live.ports.canary}/faults?errorRatio=0.2`, { method: "PUT" });
        assert.strictEqual(faults.status, 200);
        const since = new Date().toISOString();
        await sleep(2000);
        // 3,000 probe 200s on the canary would dilute its 20% to about 7% if they were counted.
        await Promise.all([load([live.ports.stable, live.ports.canary], 1500), probes(live.ports.canary, 3000)]);
        await sleep(2500);
        out.length = 0;
        const code = await main(["analyze", "--stack", "dev", "--prometheus", live.promUrl, "--since", since, `--scrape-interval=${live.scrapeInterval}`], io);
        assert.strictEqual(code, 1, out.join("\n"));
        assert.match(out.join("\n"), /decision: ROLLBACK/);
        const judged = await askJudge(judgeUrl, { since });
        assert.strictEqual(judged.body.decision, "ROLLBACK", JSON.stringify(judged.body.reasons));
        assert.match(out.join("\n"), /errors: canary \d+\/\d+ 5xx \(1\d\.\d\d%|errors: canary \d+\/\d+ 5xx \(2\d\.\d\d%/);
    });

    it("steady load: Prometheus counts every request sent, spread over the seconds asked for", async () => {
        // User requests by track, as the histogram's `path` label tells them from probes and scrapes.
        const counts = async () => {
            const samples = await queryVector(live.promUrl, 'sum by (track) (http_request_duration_seconds_count{job="podinfo", path="root"})');
            return Object.fromEntries(samples.map((s) => [s.metric.track, Number(s.value[1])]));
        };
        await sleep(1500); // the earlier tests' load scraped
        const before = await counts();
        const t0 = Date.now();
        await steadyLoad([live.ports.stable, live.ports.canary], 50, 4);
        const took = Date.now() - t0;
        assert.ok(took >= 3980 && took < 6000, `200 requests at 50 a second took ${took} ms`);
        // A scrape a second: the last requests are counted within a few.
        let after: Record<string, number> = {};
        const counted = async () => {
            after = await counts();
            return after.stable - before.stable === 200 && after.canary - before.canary === 200;
        };
        await eventually("both tracks' 200 requests counted", counted, { ...SERVER_POLL, timeoutMs: 5000 }).catch(() => undefined);
        assert.deepStrictEqual({ stable: after.stable - before.stable, canary: after.canary - before.canary }, { stable: 200, canary: 200 });
    });

    it("the bucket bounds as Prometheus 3 stores them (le=\"1.0\" for the app's 1), read by the evidence as the app's bounds", async () => {
        // Prometheus 3 normalises `le` on ingestion, whole numbers as floats (prometheus/prometheus
        // docs/migration.md, "`le` and `quantile` label values"); Prometheus 2 kept the text format's "1".
        const since = new Date();
        await steadyLoad([live.ports.stable, live.ports.canary], 20, 1);
        const look = await eventually("the canary's user requests scraped", async () => {
            const l = await readLook({ prometheus: httpPrometheus(live.promUrl), metrics: DEFAULT_METRICS, scope: { namespace: "podinfo", app: "podinfo" }, since, now: new Date() });
            return l !== null && l.canary.buckets.length > 0 && l;
        }, { ...SERVER_POLL, timeoutMs: 10_000 });
        const stored = (await queryVector(live.promUrl, 'count by (le) (http_request_duration_seconds_bucket{job="podinfo"})')).map((s) => s.metric.le);
        assert.ok(stored.includes("1.0") && !stored.includes("1"), `stored bounds: ${stored.join(", ")}`);
        assert.deepStrictEqual(look.canary.buckets.map((b) => b.le), [...BUCKETS, Infinity]);
    });

    it("with Prometheus stopped the command and the judge answer HOLD (exit 3), with the reason", async () => {
        await live.stopPrometheus();
        const r = spawnSync(path.join(ROOT, "rollout", "bin.js"), ["analyze", "--stack", "dev", "--prometheus", live.promUrl, "--since", "1m", "--json"], { cwd: live.dir, encoding: "utf8" });
        assert.ifError(r.error);
        assert.strictEqual(r.status, 3, `${r.stdout}${r.stderr}`);
        const result = JSON.parse(r.stdout.trim().split("\n").pop()!);
        assert.strictEqual(result.decision, "HOLD");
        assert.match(result.reasons[0], /unreachable: ECONNREFUSED/);
        const judged = await askJudge(judgeUrl, { since: "1m" });
        assert.deepStrictEqual([judged.status, judged.body.decision], [200, "HOLD"]);
        assert.match(judged.body.reasons[0], /unreachable: ECONNREFUSED/);
    });
});
