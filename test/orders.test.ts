/**
 * The orders service (app/orders.ts, app/ordersMain.ts), the second service that is not podinfo: the
 * exact names the OpenTelemetry SDK's Prometheus exporter gives its semantic-conventions histogram,
 * read from its real /metrics and checked by promtool; the faults a rollback is made of; its API key
 * required from the environment; and its tracks beside podinfo's on one real Prometheus
 * (demo/live.ts), labelled as the ServiceMonitor labels them. Everything on 127.0.0.1.
 */
import * as assert from "assert";
import { spawn, spawnSync } from "child_process";
import { AddressInfo } from "net";
import * as path from "path";
import { API_KEY_ENV, createOrders, DURATION_BUCKETS, DURATION_METRIC as EXPORTED_NAME, Orders, ORDERS_DEFAULT_FAULTS } from "../app/orders";
import { eventually } from "../demo/host";
import { load, ordersService, probes, putFaults, queryVector, startLive } from "../demo/live";
import { ROOT } from "./harness";

const KEY = "test-key-0123456789";
/** Written out, not taken from the app: the name a scrape must show, as the OpenTelemetry exporters that follow the compatibility spec write it. */
const DURATION_METRIC = "http_server_request_duration_seconds";
const TS_NODE = path.join(ROOT, "node_modules", ".bin", "ts-node");

interface Sample {
    readonly name: string;
    readonly labels: Record<string, string>;
    readonly value: number;
}

/** The samples of a Prometheus text exposition (the lines that are not comments). */
function samples(text: string): Sample[] {
    return text
        .split("\n")
        .filter((l) => l !== "" && !l.startsWith("#"))
        .map((line) => {
            const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
            assert.ok(m, `not a sample line: ${line}`);
            const labels = Object.fromEntries([...(m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
            return { name: m[1], labels, value: Number(m[3]) };
        });
}

describe("the orders service: OpenTelemetry's HTTP semantic conventions through the SDK's Prometheus exporter", function () {
    this.timeout(30_000);
    let orders: Orders;
    let base: string;
    let random = 0.5;

    beforeEach(async () => {
        random = 0.5;
        orders = createOrders({ ...ORDERS_DEFAULT_FAULTS, version: "1.5.0", apiKey: KEY, random: () => random });
        await new Promise<void>((r) => orders.server.listen(0, "127.0.0.1", r));
        base = `http://127.0.0.1:${(orders.server.address() as AddressInfo).port}`;
    });
    afterEach(async () => {
        orders.server.closeAllConnections();
        await new Promise((r) => orders.server.close(r));
        await orders.shutdown();
    });

    const scrape = async () => (await fetch(`${base}/metrics`)).text();
    const counts = (text: string) => samples(text).filter((s) => s.name === `${DURATION_METRIC}_count`);
    const count = (text: string, match: Record<string, string>) =>
        counts(text)
            .filter((s) => Object.entries(match).every(([k, v]) => s.labels[k] === v))
            .reduce((n, s) => n + s.value, 0);
    const faults = (query: string, headers: Record<string, string> = { authorization: `Bearer ${KEY}` }) => fetch(`${base}/faults?${query}`, { method: "PUT", headers });

    it("serves http_server_request_duration_seconds with the semantic conventions' attributes as labels, and no podinfo metric", async () => {
        assert.strictEqual(EXPORTED_NAME, DURATION_METRIC);
        for (const [method, p] of [["GET", "/orders"], ["GET", "/orders/7"], ["GET", "/orders/8"], ["POST", "/orders"], ["GET", "/ready"], ["GET", "/live"], ["GET", "/nope"], ["PROPFIND", "/orders"]]) {
            await (await fetch(`${base}${p}`, { method })).text();
        }
        const text = await scrape();
        // Exactly one metric family beside the exporter's target_info: the histogram, typed and with its unit.
        assert.deepStrictEqual([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]), [["target_info", "gauge"], [DURATION_METRIC, "histogram"]]);
        assert.match(text, new RegExp(`^# UNIT ${DURATION_METRIC} s$`, "m"));
        assert.match(text, /^target_info\{service_name="orders",service_version="1\.5\.0",telemetry_sdk_language="nodejs",telemetry_sdk_name="opentelemetry",/m);
        // The label names of a user request's series, exactly: the attributes, sanitized, and the exporter's scope labels.
        const one = counts(text).find((s) => s.labels.http_route === "/orders/:id")!;
        assert.deepStrictEqual(Object.keys(one.labels).sort(), [
            "http_request_method",
            "http_response_status_code",
            "http_route",
            "network_protocol_version",
            "otel_scope_name",
            "otel_scope_version",
            "url_scheme",
        ]);
        assert.deepStrictEqual([one.labels.http_request_method, one.labels.http_response_status_code, one.labels.url_scheme, one.value], ["GET", "200", "http", 2]);
        // The route is the template: two ids, one series.
        assert.strictEqual(count(text, { http_route: "/orders", http_request_method: "POST", http_response_status_code: "201" }), 1);
        assert.strictEqual(count(text, { http_route: "/ready" }), 1);
        assert.strictEqual(count(text, { http_route: "/live" }), 1);
        // An unknown method is _OTHER; an unmatched path has no route (as instrumentation records it), and a 4xx no error.type.
        assert.strictEqual(count(text, { http_request_method: "_OTHER", http_route: "/orders", http_response_status_code: "405" }), 1);
        const unmatched = counts(text).filter((s) => s.labels.http_response_status_code === "404");
        assert.deepStrictEqual(
            unmatched.map((s) => [s.labels.http_route, s.labels.error_type, s.value]),
            [[undefined, undefined, 1]],
        );
        // The semantic conventions' advised buckets, in seconds.
        const les = samples(text).filter((s) => s.name === `${DURATION_METRIC}_bucket` && s.labels.http_route === "/orders/:id").map((s) => s.labels.le);
        assert.deepStrictEqual(les, [...DURATION_BUCKETS.map(String), "+Inf"]);
        assert.ok(!/http_requests_total|http_request_duration_seconds|\bpath="|\bstatus="/.test(text), "a podinfo metric or label");
        // Prometheus' own linter reads the exposition as valid, without a complaint.
        const lint = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
        assert.strictEqual(lint.status, 0, `${lint.stdout}${lint.stderr}`);
        assert.strictEqual(`${lint.stdout}${lint.stderr}`.trim(), "");
    });

    it("hostile paths and methods do not grow the series: routes are templates, unknown methods _OTHER", async () => {
        for (let i = 0; i < 40; i++) {
            await (await fetch(`${base}/x${i}/${"a".repeat(i * 50)}`)).text();
            await (await fetch(`${base}/orders/${"9".repeat(i + 13)}`, { method: i % 2 ? "PROPFIND" : "LOCK" })).text();
        }
        const series = counts(await scrape());
        assert.deepStrictEqual(
            series.map((s) => [s.labels.http_request_method, s.labels.http_route, s.labels.http_response_status_code, s.value]),
            [
                ["GET", undefined, "404", 40],
                ["_OTHER", "/orders/:id", "405", 40],
            ],
        );
    });

    it("faults: injected 500s carry error.type and spare the probes, added latency shows in the histogram; only the API key changes them", async () => {
        // Without the key, or with another, nothing changes.
        assert.strictEqual((await faults("errorRatio=1", {})).status, 401);
        assert.strictEqual((await faults("errorRatio=1", { authorization: "Bearer not-the-key" })).status, 401);
        assert.strictEqual((await fetch(`${base}/orders`)).status, 200);
        // A bad value is answered 400 naming it, and changes nothing.
        const bad = await faults("errorRatio=2");
        assert.strictEqual(bad.status, 400);
        assert.match((await bad.json()).error, /^errorRatio=2: must be a number from 0 to 1$/);
        assert.match((await (await faults("checkoutFailRatio=0.1")).json()).error, /^unknown fault "checkoutFailRatio": the faults are errorRatio, addedLatencyMs$/);

        const ok = await faults("errorRatio=0.3");
        assert.deepStrictEqual(await ok.json(), { errorRatio: 0.3, addedLatencyMs: 0 });
        random = 0.29;
        assert.strictEqual((await fetch(`${base}/orders`)).status, 500);
        assert.strictEqual((await fetch(`${base}/orders/3`)).status, 500);
        assert.strictEqual((await fetch(`${base}/ready`)).status, 200);
        assert.strictEqual((await fetch(`${base}/live`)).status, 200);
        random = 0.3;
        assert.strictEqual((await fetch(`${base}/orders`)).status, 200);
        let text = await scrape();
        assert.strictEqual(count(text, { http_route: "/orders", http_response_status_code: "500", error_type: "500" }), 1);
        assert.strictEqual(count(text, { http_route: "/orders/:id", http_response_status_code: "500", error_type: "500" }), 1);
        assert.strictEqual(count(text, { error_type: "500" }), 2, "only the injected failures are errors");

        await faults("errorRatio=0&addedLatencyMs=120");
        for (let i = 0; i < 3; i++) assert.strictEqual((await fetch(`${base}/orders/5`)).status, 200);
        text = await scrape();
        const ok5 = { http_route: "/orders/:id", http_response_status_code: "200" };
        const sum = samples(text).find((s) => s.name === `${DURATION_METRIC}_sum` && Object.entries(ok5).every(([k, v]) => s.labels[k] === v))!;
        assert.ok(sum.value >= 0.36, `three requests with 120 ms added took ${sum.value} s`);
        const under100ms = samples(text).find((s) => s.name === `${DURATION_METRIC}_bucket` && s.labels.le === "0.1" && s.labels.http_route === "/orders/:id" && s.labels.http_response_status_code === "200")!;
        assert.strictEqual(under100ms.value, 0);
    });
});

describe("app/ordersMain.ts: the API key from the environment, or no start", function () {
    this.timeout(60_000);
    const withoutKey = { ...process.env };
    delete withoutKey[API_KEY_ENV];
    const run = (args: string[], env: NodeJS.ProcessEnv) =>
        spawnSync(TS_NODE, ["--transpile-only", path.join(ROOT, "app", "ordersMain.ts"), ...args], { cwd: ROOT, encoding: "utf8", timeout: 60_000, env });

    it("refuses to start without it, or with it empty, in one line; --help needs none; a bad option is named", () => {
        for (const [env, word] of [
            [withoutKey, "not set"],
            [{ ...withoutKey, [API_KEY_ENV]: " " }, "empty"],
        ] as const) {
            const r = run(["--port", "0"], env);
            assert.strictEqual(r.status, 2, r.stderr);
            assert.strictEqual(r.stdout, "");
            assert.strictEqual(r.stderr, `orders: ${API_KEY_ENV} is ${word}: the service needs its API key (in a cluster, from its Secret) and does not start without it\n`);
        }
        const help = run(["--help"], withoutKey);
        assert.strictEqual(help.status, 0, help.stderr);
        assert.match(help.stdout, /--errorRatio R\s+share of \/orders requests answered 500, 0 to 1 \(default 0\)/);
        const bad = run(["--addedLatencyMs", "-1"], { ...withoutKey, [API_KEY_ENV]: KEY });
        assert.strictEqual(bad.status, 2);
        assert.strictEqual(bad.stderr, "orders: --addedLatencyMs=-1: must be a number from 0 to 60000\n");
    });

    it("starts with it, serves its probes, and stops on SIGTERM", async () => {
        const proc = spawn(TS_NODE, ["--transpile-only", path.join(ROOT, "app", "ordersMain.ts"), "--port", "0", "--version", "2.0.0"], {
            env: { ...withoutKey, [API_KEY_ENV]: KEY },
            stdio: ["ignore", "pipe", "pipe"],
        });
        const exited = new Promise<number | null>((r) => proc.on("exit", r));
        try {
            const port = await new Promise<number>((resolve, reject) => {
                proc.stdout!.on("data", (d) => {
                    const m = /listening (\d+)/.exec(String(d));
                    if (m) resolve(Number(m[1]));
                });
                proc.on("exit", (code) => reject(new Error(`exited ${code}`)));
            });
            assert.strictEqual((await fetch(`http://127.0.0.1:${port}/ready`)).status, 200);
            assert.strictEqual((await fetch(`http://127.0.0.1:${port}/live`)).status, 200);
            assert.strictEqual((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 404, "podinfo's path is not its own");
            const r = await fetch(`http://127.0.0.1:${port}/faults?errorRatio=1`, { method: "PUT", headers: { authorization: `Bearer ${KEY}` } });
            assert.strictEqual(r.status, 200, "the key it was started with is the one it checks");
        } finally {
            proc.kill("SIGTERM");
        }
        assert.strictEqual(await exited, 0);
    });
});

describe("two services' tracks on one Prometheus (demo/live.ts): podinfo and the orders service", function () {
    this.timeout(120_000);

    it("each service's series carry its own namespace, app, track and version; faults reach one service's track alone", async () => {
        const orders = ordersService();
        const live = await startLive({ services: [orders] });
        try {
            const o = live.services.get("orders")!;
            assert.deepStrictEqual([...live.services.keys()], ["podinfo", "orders"]);
            assert.strictEqual(live.ports, live.services.get("podinfo")!.ports);
            await putFaults(o, "canary", "errorRatio=1");
            await Promise.all([load([live.ports.stable, live.ports.canary], 50), load([o.ports.stable, o.ports.canary], 50, "/orders"), probes(o.ports.canary, 20, o.probePaths)]);
            const by = (r: { metric: Record<string, string>; value: [number, string] }[]) =>
                r.map((s) => [s.metric.namespace, s.metric.app, s.metric.track, s.metric.version, s.metric.http_response_status_code, s.value[1]]).sort();
            const query = `sum by (namespace, app, track, version, http_response_status_code) (${DURATION_METRIC}_count{http_route="/orders"})`;
            const want = [
                ["orders", "orders", "canary", "1.5.0", "500", "50"],
                ["orders", "orders", "stable", "1.4.0", "200", "50"],
            ];
            // Scraped every second: the counts are there once a scrape after the load has been.
            await eventually("the load's counts scraped", async () => JSON.stringify(by(await queryVector(live.promUrl, query))) === JSON.stringify(want), { timeoutMs: 20_000 });
            // podinfo's series stay podinfo's: no orders metric under its labels, none of its under the orders'.
            const podinfo = await queryVector(live.promUrl, 'sum by (namespace, app) (http_request_duration_seconds_count{path="root"})');
            assert.deepStrictEqual(podinfo.map((s) => [s.metric.namespace, s.metric.app]), [["podinfo", "podinfo"]]);
            assert.deepStrictEqual(await queryVector(live.promUrl, `${DURATION_METRIC}_count{app!="orders"}`), []);
            // The probes are series of their own routes.
            const probed = `sum(${DURATION_METRIC}_count{app="orders", track="canary", http_route=~"/ready|/live"})`;
            await eventually("the probes' counts scraped", async () => (await queryVector(live.promUrl, probed))[0]?.value[1] === "20", { timeoutMs: 20_000 });
        } finally {
            await live.stop();
        }
        await assert.rejects(startLive({ services: [ordersService(), ordersService()] }), /two services named "orders"/);
    });
});
