/**
 * The judge service under hostile asks (issue 30): no request crashes it, an ask without the token
 * changes nothing, its answer depends on the ask alone (a second replica or a restarted judge answers
 * the same), and what one ask or a flood of them can make it hold or do is capped. Every judge here
 * listens on 127.0.0.1 and asks a fake Prometheus.
 */
import * as assert from "assert";
import * as net from "net";
import * as v8 from "v8";
import * as vm from "vm";
import { MAX_DEADLINE_SECONDS } from "../domain/promql";
import { listen } from "../lib/system";
import { hold } from "../rollout/analyze";
import { liveRun } from "../rollout/judged";
import { JudgeMetrics, MAX_RUNS } from "../rollout/metrics";
import type { PrometheusClient, Sample } from "../rollout/prometheus";
import {
    bearerMatches,
    HEADERS_TIMEOUT_MS,
    isLoopback,
    judgeServer,
    JudgeServerOptions,
    MAX_CONNECTIONS,
    MAX_IN_FLIGHT,
    MAX_RATIOS,
    MAX_TARGET_BYTES,
    MAX_WINDOW_SECONDS,
    REQUEST_TIMEOUT_MS,
    RETRY_AFTER_SECONDS,
} from "../rollout/serve";
import { validateStackConfig } from "../stacks/validate";
import { fixedPrometheus, track } from "./tools";
import { suiteConfig } from "./harness";

const NOW = new Date("2026-11-21T12:00:00Z");
const SINCE = "2026-11-21T11:50:00Z";
const TOKEN = "0123456789abcdef0123456789abcdef-judge";
const HEALTHY = () => fixedPrometheus(track(6000, 30), track(100_000, 500));
const ask = (q: Record<string, string> = {}) => `/judge?${new URLSearchParams({ namespace: "podinfo", app: "podinfo", weight: "25", since: SINCE, ...q })}`;

/** A judge on 127.0.0.1: its base URL, GET with the token (or `auth`), and close. */
async function started(o: Partial<JudgeServerOptions> = {}) {
    const server = judgeServer({ prometheus: HEALTHY(), scrapeIntervalSeconds: 15, now: () => NOW, log: () => {}, token: TOKEN, ...o });
    const { port } = await listen(server, "127.0.0.1", 0, "--listen");
    const base = `http://127.0.0.1:${port}`;
    const get = async (target: string, auth: string | null = `Bearer ${TOKEN}`) => {
        const res = await fetch(`${base}${target}`, { headers: auth === null ? {} : { authorization: auth } });
        return { status: res.status, headers: res.headers, body: await res.json().catch(() => null) };
    };
    return { server, port, base, get, close: () => new Promise((r) => server.close(r)) };
}

/** Sends `bytes` as they are on a new connection and resolves with everything the judge sent back until it closed or went quiet. */
function raw(port: number, bytes: string | Buffer, quietMs = 1000): Promise<string> {
    return new Promise((resolve, reject) => {
        const socket = net.connect(port, "127.0.0.1");
        const chunks: Buffer[] = [];
        let timer = setTimeout(() => socket.destroy(), quietMs);
        socket.on("data", (d) => {
            chunks.push(d);
            clearTimeout(timer);
            timer = setTimeout(() => socket.destroy(), quietMs);
        });
        socket.on("close", () => (clearTimeout(timer), resolve(Buffer.concat(chunks).toString("latin1"))));
        socket.on("error", reject);
        socket.write(bytes);
    });
}
const statusOf = (response: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1]);

describe("the judge service: no request crashes it", () => {
    it("bad request lines, any query value, any size: a 4xx with the reason, and /healthz still answers", async () => {
        const logged: string[] = [];
        const j = await started({ log: (l) => logged.push(l) });
        try {
            const cases: [string, string | Buffer, number, RegExp][] = [
                // `new URL("//[", base)` threw in the handler and ended the process.
                ["a target that is no URL", "GET //[ HTTP/1.1\r\nHost: judge\r\nConnection: close\r\n\r\n", 404, /no \\"\/\/\[\\"/],
                ["absolute form", "GET http://judge/judge HTTP/1.1\r\nHost: judge\r\nConnection: close\r\n\r\n", 400, /is not a path/],
                ["not HTTP at all", Buffer.from([0, 1, 2, 255, 13, 10, 13, 10]), 400, /not an HTTP request the judge can read/],
                ["a request line longer than the headers may be", `GET /judge?${"a".repeat(20_000)} HTTP/1.1\r\nHost: judge\r\nConnection: close\r\n\r\n`, 431, /longer than 16384 bytes/],
                ["a target over the cap", `GET /judge?${"a".repeat(MAX_TARGET_BYTES)} HTTP/1.1\r\nHost: judge\r\nConnection: close\r\n\r\n`, 414, /the judge reads at most 8192/],
                // Invalid Date, whose toISOString() threw in the success callback and ended the process.
                ["a duration past any date", `GET ${ask({ since: "9000000000000s" })} HTTP/1.1\r\nHost: judge\r\nConnection: close\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`, 400, /since=9000000000000s is more than 30 days \(720h\) back/],
                ["percent-escapes that decode to nothing", `GET /judge?namespace=%ZZ&app=%&weight=%E0%A4%A HTTP/1.1\r\nHost: judge\r\nConnection: close\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`, 400, /namespace=\\"%ZZ\\" is not the app's namespace/],
                ["a body on a GET", `GET /healthz HTTP/1.1\r\nHost: judge\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello`, 200, /"ok": ?true/],
            ];
            for (const [what, bytes, status, reason] of cases) {
                const response = await raw(j.port, bytes);
                assert.strictEqual(statusOf(response), status, `${what}: ${response.slice(0, 300)}`);
                assert.match(response, reason, what);
                assert.strictEqual((await j.get("/healthz", null)).status, 200, `alive after ${what}`);
            }
            // Every ask it refused is in its log, with the reason.
            assert.ok(logged.some((l) => /^judge: 400 for GET \/judge\?.*since=9000000000000s.*is more than 30 days/.test(l)), logged.join("\n"));
        } finally {
            await j.close();
        }
    });

    it("its own failure is a 500 with the reason, and it lives", async () => {
        const broken: PrometheusClient = { query: async () => Promise.reject(new TypeError("not a PrometheusError")) };
        const logged: string[] = [];
        const j = await started({ prometheus: broken, log: (l) => logged.push(l) });
        try {
            const r = await j.get(ask());
            assert.deepStrictEqual([r.status, r.body], [500, { error: "the judge failed: not a PrometheusError" }]);
            assert.match(logged.join("\n"), /^judge: 500 for GET \/judge\?.*TypeError: not a PrometheusError/m);
            assert.strictEqual((await j.get("/healthz", null)).status, 200);
        } finally {
            await j.close();
        }
    });

    it("a client cannot hold a connection open for long: the header, request and idle timeouts and the connection cap are set", async () => {
        const j = await started();
        try {
            assert.deepStrictEqual([j.server.headersTimeout, j.server.requestTimeout, j.server.maxConnections], [HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS, MAX_CONNECTIONS]);
            assert.ok(j.server.timeout > 0 && HEADERS_TIMEOUT_MS <= REQUEST_TIMEOUT_MS, "an idle connection is closed");
        } finally {
            await j.close();
        }
    });
});

describe("the judge service: asks carry the bearer token", () => {
    it("no token or a wrong one: 401 with WWW-Authenticate, and nothing recorded; /healthz and /metrics need none", async () => {
        const j = await started();
        try {
            const forged = { run: "podinfo-6-8-0-w25-e3-forged", carry: "errors:30,latency:30" };
            for (const auth of [null, "Bearer wrong", `Bearer ${TOKEN}x`, `Basic ${Buffer.from(`u:${TOKEN}`).toString("base64")}`, TOKEN]) {
                const r = await j.get(ask(forged), auth);
                assert.strictEqual(r.status, 401, String(auth));
                assert.strictEqual(r.headers.get("www-authenticate"), "Bearer");
                assert.match(r.body.error, /GET \/judge needs Authorization: Bearer/);
            }
            const metrics = await fetch(`${j.base}/metrics`);
            assert.strictEqual(metrics.status, 200);
            assert.doesNotMatch(await metrics.text(), /forged/, "a refused ask exports nothing");
            const ok = await j.get(ask({ run: "podinfo-6-8-0-w25-e3-real" }), `bearer  ${TOKEN}`);
            assert.deepStrictEqual([ok.status, ok.body.decision], [200, "PROMOTE"], "the scheme is case-insensitive (RFC 9110 11.1)");
            assert.match(await (await fetch(`${j.base}/metrics`)).text(), /run="podinfo-6-8-0-w25-e3-real"/);
        } finally {
            await j.close();
        }
    });

    it("the comparison: the whole token, whatever its length", () => {
        const expected = require("crypto").createHash("sha256").update(TOKEN).digest();
        assert.ok(bearerMatches(`Bearer ${TOKEN}`, expected));
        for (const h of [undefined, "", "Bearer", `Bearer ${TOKEN.slice(0, -1)}`, `Bearer ${TOKEN} extra`, `Token ${TOKEN}`]) assert.ok(!bearerMatches(h, expected), String(h));
        for (const host of ["127.0.0.1", "127.8.0.1", "::1", "localhost"]) assert.ok(isLoopback(host), host);
        for (const host of ["0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "localhost.example.com"]) assert.ok(!isLoopback(host), host);
    });
});

describe("the judge service: its answer is the ask's, not its memory", () => {
    it("two judges (a second replica, a restarted one) answer the same ask alike; a decision resets no window", async () => {
        let now = new Date(new Date(SINCE).getTime() + 20_000);
        const prometheus = HEALTHY();
        const a = await started({ prometheus, now: () => now });
        const b = await started({ prometheus, now: () => now });
        const run = { run: "podinfo-6-8-0-w25-e3-abc123" };
        const strip = (body: any) => ({ ...body, forecast: undefined });
        try {
            const early = await a.get(ask(run));
            assert.deepStrictEqual([early.status, early.body.decision, early.body.since], [200, "HOLD", new Date(SINCE).toISOString()], JSON.stringify(early.body));
            now = new Date(NOW);
            const first = await a.get(ask(run));
            assert.deepStrictEqual([first.body.decision, first.body.since], ["PROMOTE", new Date(SINCE).toISOString()]);
            assert.deepStrictEqual(strip((await b.get(ask(run))).body), strip(first.body), "the other replica, never asked before");
            // Asked again after its PROMOTE (Argo's run has ended; anyone else asking): the same window.
            const again = await a.get(ask(run));
            assert.deepStrictEqual(strip(again.body), strip(first.body));
            await a.close();
            const restarted = await started({ prometheus, now: () => now });
            try {
                assert.deepStrictEqual(strip((await restarted.get(ask(run))).body), strip(first.body), "a restarted judge");
            } finally {
                await restarted.close();
            }
        } finally {
            await b.close();
        }
    });

    it("a run's window start ahead of the judge's clock is HOLD with the reason, asking Prometheus nothing", async () => {
        let queries = 0;
        const counting: PrometheusClient = { query: async (q, t) => (queries++, HEALTHY().query(q, t)) };
        const j = await started({ prometheus: counting });
        try {
            const r = await j.get(ask({ run: "podinfo-w25", since: "2026-11-21T12:00:05Z" }));
            assert.deepStrictEqual([r.status, r.body.decision, queries], [200, "HOLD", 0]);
            assert.match(r.body.reasons[0], /the window starts at 2026-11-21T12:00:05.000Z, after the judge's clock \(2026-11-21T12:00:00.000Z\): nothing to judge yet/);
        } finally {
            await j.close();
        }
    });

    it("the exported evidence is keyed by namespace, app and run: one app's run does not replace another's of the same name", async () => {
        const m = new JudgeMetrics();
        const j = hold("nothing yet");
        for (const app of ["podinfo", "checkout"]) m.record("same-name", { namespace: "shop", app }, 25, j, undefined, NOW);
        const text = await m.registry.metrics();
        const apps = [...text.matchAll(/^canary_judge_last_ask_timestamp_seconds\{[^}]*app="([^"]+)"/gm)].map((x) => x[1]);
        assert.deepStrictEqual(apps.sort(), ["checkout", "podinfo"]);
    });
});

describe("the judge service: bounded work and memory", () => {
    it("at most MAX_RATIOS ratios, a window of at most MAX_WINDOW_SECONDS, a deadline of at most a stage's: 400 naming the parameter", async () => {
        let queries = 0;
        const counting: PrometheusClient = { query: async (q, t) => (queries++, HEALTHY().query(q, t)) };
        const j = await started({ prometheus: counting });
        const ratios = (n: number) => Array.from({ length: n }, (_, i) => `ratio=r${i},a${i}_total,b${i}_total,up`).join("&");
        try {
            const many = await j.get(`${ask()}&${ratios(MAX_RATIOS + 1)}`);
            assert.deepStrictEqual([many.status, many.body.error], [400, `ratio is given ${MAX_RATIOS + 1} times; the judge takes at most ${MAX_RATIOS} (each is two Prometheus queries)`]);
            // A 10 KB ask made 604 queries; now it is at most 8 KiB and 4 + 2 × MAX_RATIOS.
            assert.strictEqual(queries, 0);
            assert.strictEqual((await j.get(`${ask()}&${ratios(MAX_RATIOS)}`)).status, 200);
            assert.strictEqual(queries, 4 + 2 * MAX_RATIOS);
            const longest = new Date(NOW.getTime() - MAX_WINDOW_SECONDS * 1000).toISOString();
            const tooLong = new Date(NOW.getTime() - MAX_WINDOW_SECONDS * 1000 - 1000).toISOString();
            assert.strictEqual((await j.get(ask({ run: "r", since: longest }))).status, 200);
            const long = await j.get(ask({ run: "r", since: tooLong }));
            assert.deepStrictEqual([long.status, long.body.error], [400, `since="${tooLong}" starts a window longer than the judge reads (8d: a stage's deadline is at most 7d)`]);
            // The stack writes deadline= in Go's syntax (canary:analysis.deadline), which has no d.
            const deadline = await j.get(ask({ deadline: "192h" }));
            assert.deepStrictEqual([deadline.status, deadline.body.error], [400, "deadline=192h is longer than a stage's deadline may be (7d)"]);
            const notGo = await j.get(ask({ deadline: "8d" }));
            assert.match(notGo.body.error, /^deadline=: "8d" is not a duration \(unknown unit "d"\): write a Go duration/);
        } finally {
            await j.close();
        }
        // The stack cannot configure what the judge refuses.
        const problems = (analysis: Record<string, unknown>) => {
            const v = validateStackConfig("canary", "dev", { app: suiteConfig("dev").app, analysis });
            return v.ok ? "" : v.message;
        };
        assert.match(problems({ deadline: "192h" }), /canary:analysis\.deadline.*must be at most 7d/);
        assert.strictEqual(problems({ deadline: `${MAX_DEADLINE_SECONDS}s` }), "");
        const ratio = (i: number) => ({ name: `r${i}`, events: `a${i}_total`, total: `b${i}_total`, bad: "up" });
        assert.match(problems({ ratios: Array.from({ length: MAX_RATIOS + 1 }, (_, i) => ratio(i)) }), /canary:analysis\.ratios.*at most 8 ratio metrics/);
    });

    it(`at most MAX_IN_FLIGHT asks judged at once: one more is a 503 with Retry-After; /healthz still answers`, async () => {
        const waiting: (() => void)[] = [];
        const slow: PrometheusClient = { query: (q, t) => new Promise<void>((r) => waiting.push(r)).then(() => HEALTHY().query(q, t)) };
        const j = await started({ prometheus: slow });
        try {
            const held = Array.from({ length: MAX_IN_FLIGHT }, () => j.get(ask()));
            while (waiting.length < MAX_IN_FLIGHT * 4) await new Promise((r) => setTimeout(r, 10));
            const refused = await j.get(ask());
            assert.deepStrictEqual([refused.status, refused.headers.get("retry-after")], [503, String(RETRY_AFTER_SECONDS)]);
            assert.match(refused.body.error, /judging 8 asks already/);
            assert.strictEqual((await j.get("/healthz", null)).status, 200);
            while (waiting.length > 0) waiting.shift()?.();
            assert.deepStrictEqual((await Promise.all(held)).map((r) => r.status), Array(MAX_IN_FLIGHT).fill(200));
            const after = j.get(ask());
            while (waiting.length < 4) await new Promise((r) => setTimeout(r, 10));
            while (waiting.length > 0) waiting.shift()?.();
            assert.strictEqual((await after).status, 200, "the slots are given back");
        } finally {
            await j.close();
        }
    });

    it("160,000 asks for new runs retain nothing: the heap after GC does not grow, and at most MAX_RUNS runs are exported", async function () {
        this.timeout(60_000);
        v8.setFlagsFromString("--expose-gc");
        const gc = vm.runInNewContext("gc") as () => void;
        const heap = () => (gc(), gc(), process.memoryUsage().heapUsed);
        let refused = 0;
        // A clock a millisecond on at each look, so "least recently asked" is never a tie.
        let ms = NOW.getTime();
        const j = await started({ log: () => refused++, now: () => new Date(ms++) });
        try {
            // Pipelined on one connection, 2,000 at a time: the asks of the issue, each for a new run (a long
            // name, as a flood would use), each without the window's start, which once stored the run's start.
            const socket = net.connect(j.port, "127.0.0.1");
            await new Promise((r) => socket.once("connect", r));
            let answered = 0;
            let pending = "";
            let wake = () => {};
            socket.on("data", (d) => {
                pending += d.toString("latin1");
                const parts = pending.split("HTTP/1.1 ");
                answered += parts.length - 1;
                pending = parts[parts.length - 1];
                wake();
            });
            const name = (i: number) => `flood-${String(i).padStart(6, "0")}-${"x".repeat(40)}`;
            const request = (i: number) => `GET /judge?namespace=podinfo&app=podinfo&weight=25&run=${name(i)} HTTP/1.1\r\nHost: judge\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`;
            const flood = async (from: number, to: number) => {
                for (let i = from; i < to; i += 2000) {
                    const n = Math.min(2000, to - i);
                    socket.write(Array.from({ length: n }, (_, k) => request(i + k)).join(""));
                    const want = answered + n;
                    while (answered < want) await new Promise<void>((r) => (wake = r));
                }
            };
            await flood(0, 10_000);
            const before = heap();
            await flood(10_000, 160_000);
            const grown = heap() - before;
            socket.destroy();
            assert.ok(grown < 8 * 2 ** 20, `the heap grew by ${(grown / 2 ** 20).toFixed(1)} MB over 150,000 asks`);
            assert.strictEqual(refused, 160_000, "each ask refused (since is required with run) and logged");
            // Asks the judge answers are exported, at most MAX_RUNS runs of them.
            for (let i = 0; i < MAX_RUNS + 50; i++) assert.strictEqual((await j.get(ask({ run: `answered-${i}` }))).status, 200);
            const text = await (await fetch(`${j.base}/metrics`)).text();
            const runs = new Set([...text.matchAll(/^canary_judge_last_ask_timestamp_seconds\{[^}]*run="([^"]+)"/gm)].map((m) => m[1]));
            assert.strictEqual(runs.size, MAX_RUNS);
            assert.ok(runs.has(`answered-${MAX_RUNS + 49}`) && !runs.has("answered-0"), "the least recently asked go first");
        } finally {
            await j.close();
        }
    });
});

describe("rollout status --prometheus with the judge's replicas", () => {
    it("reads the run from the replica that answered last: no mix, no duplicates", async () => {
        const scope = { namespace: "podinfo", app: "podinfo" };
        const target = (pod: string) => ({ instance: `${pod}:8080`, pod, job: "canary-judge" });
        const run = { run: "podinfo-6-8-0-w25-e3-abc123", namespace: "podinfo", app: "podinfo", weight: "25" };
        // Replica a answered at 100 (HOLD), b at 115 (PROMOTE); Prometheus returns a's series first.
        const of = (pod: string, decision: string, llr: number, at: number): Sample[] => [
            ...["PROMOTE", "HOLD", "ROLLBACK"].map((d) => ({ labels: { __name__: "canary_judge_decision", ...run, ...target(pod), decision: d }, value: d === decision ? 1 : 0 })),
            { labels: { __name__: "canary_judge_llr", ...run, ...target(pod), test: "errors" }, value: llr },
            { labels: { __name__: "canary_judge_forecast_seconds", ...run, ...target(pod) }, value: at === 115 ? 0 : 60 },
            { labels: { __name__: "canary_judge_last_ask_timestamp_seconds", ...run, ...target(pod) }, value: at },
        ];
        const prometheus: PrometheusClient = {
            async query(q) {
                if (q.startsWith("topk(1,")) return of("judge-b", "PROMOTE", -3.1, 115).filter((s) => s.labels.__name__ === "canary_judge_last_ask_timestamp_seconds");
                return [...of("judge-a", "HOLD", -1.2, 100), ...of("judge-b", "PROMOTE", -3.1, 115)];
            },
        };
        const live = await liveRun(prometheus, scope, 25, NOW);
        assert.deepStrictEqual([live?.decision, live?.askedAt, live?.forecastSeconds], ["PROMOTE", new Date(115_000).toISOString(), 0]);
        assert.deepStrictEqual(live?.tests.map((t) => [t.test, t.llr]), [["errors", -3.1]]);
    });
});
