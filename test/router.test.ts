/**
 * The router as the metric source (`canary:metrics.source`): every router's queries give the app
 * source's `{namespace, app, track}` shape from series written out here as each router exports them
 * (not from domain/routerMetrics.ts, so the queries are checked against the routers' names and not
 * against themselves); the real promtool runs the rules on them (errors, the split's share and the
 * split-mismatch alert); and the judge, asking a real Prometheus that scrapes a Traefik-shaped exporter
 * on 127.0.0.1, rolls back a canary whose connections Traefik answers 502, where the app's own metrics
 * show nothing.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import * as YAML from "yaml";
import { appRuleGroups, RuleGroup, stageRuleGroup } from "../components/observability/rules";
import { judge, type TrackCounts } from "../domain/decide";
import { bucketCount, errorRatio, latencyQuantile, MetricNames, requestCount, requestRate, SPLIT } from "../domain/promql";
import { ROUTER_SOURCES, type RouterSource, traefikNormalize, traefikServiceName } from "../domain/routerMetrics";
import { runTool, tempDir } from "../demo/host";
import { freePort, startLive, type Live } from "../demo/live";
import { listen } from "../lib/system";
import { evidenceQueries, policyFor } from "../rollout/analyze";
import { httpPrometheus } from "../rollout/prometheus";
import { judgeQuery, judgeServer } from "../rollout/serve";
import { judgeUrl } from "../components/delivery/analysis";
import { validateStackConfig } from "../stacks/validate";
import { byName, runProgram, suiteConfig } from "./harness";
import { promqlErrors } from "./promql.test";
import { highErrorRateAlert } from "./tools";

const SCOPE = { namespace: "podinfo", app: "podinfo" };
const PORT = 9898;

/** The dev stack's resolved config (router gateway), with its metric contract. */
function devConfig() {
    const v = validateStackConfig("canary", "dev", suiteConfig("dev"));
    assert.ok(v.ok, v.ok ? "" : v.message);
    return v.config;
}

const withRouter = (m: MetricNames, name: RouterSource): MetricNames => ({ ...m, router: { name, port: PORT } });

/**
 * One request series of one track as each router exports it, with the labels it really has (and none
 * the queries could lean on by accident): `status` the response's code, `perMinute` its increase.
 * ALB's are YACE's per-period sums (a gauge: the count of the last 60 s period at every scrape).
 */
const SHAPES: Record<RouterSource, (track: "stable" | "canary", status: number, perMinute: number) => { series: string; values: string }> = {
    traefik: (track, status, perMinute) => ({
        // traefik v3.6.12: Normalize("podinfo-podinfo-<track>-http") + "-9898", qualified by its provider.
        series: `traefik_service_requests_total{code="${status}", method="GET", protocol="http", service="podinfo-podinfo-${track}-http-9898@kubernetesgateway"}`,
        values: `0+${perMinute}x30`,
    }),
    "envoy-gateway": (track, status, perMinute) => ({
        series: `envoy_cluster_upstream_rq_xx{envoy_response_code_class="${String(status)[0]}", envoy_cluster_name="httproute/podinfo/podinfo/rule/0/backend/${track === "stable" ? 0 : 1}"}`,
        values: `0+${perMinute}x30`,
    }),
    istio: (track, status, perMinute) => ({
        series: `istio_requests_total{reporter="source", source_workload="istio-ingressgateway", source_workload_namespace="istio-system", destination_workload="podinfo-${track}", destination_workload_namespace="podinfo", destination_service_name="podinfo", destination_service_namespace="podinfo", response_code="${status}", request_protocol="http", connection_security_policy="unknown"}`,
        values: `0+${perMinute}x30`,
    }),
    "ingress-nginx": (track, status, perMinute) => ({
        series: `nginx_ingress_controller_requests{controller_class="k8s.io/ingress-nginx", controller_namespace="ingress-nginx", controller_pod="ingress-nginx-controller-1", namespace="podinfo", ingress="podinfo", service="podinfo-stable", canary="${track === "canary" ? "podinfo-podinfo-canary-http" : ""}", status="${status}", method="GET", path="/"}`,
        values: `0+${perMinute}x30`,
    }),
    alb: (track, status, perMinute) => ({
        series: `aws_applicationelb_${status >= 500 ? "httpcode_target_5_xx_count_sum" : "request_count_sum"}{name="arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/route-${track}-1a2b3c4/0123456789abcdef", dimension_LoadBalancer="app/route-5d6e7f8/fedcba9876543210", dimension_TargetGroup="targetgroup/route-${track}-1a2b3c4/0123456789abcdef", region="eu-west-1", tag_canary_namespace="podinfo", tag_canary_app="podinfo", tag_canary_track="${track}"}`,
        values: `${perMinute}x30`,
    }),
};

/**
 * A router's requests in its own shape: `ok` 200s and `bad` 502s a minute for each track. ALB's request
 * count includes the target's 5xx, which have a series of their own; the others count each response once.
 */
function routerSeries(router: RouterSource, tracks: Record<"stable" | "canary", { ok: number; bad: number }>) {
    return (["stable", "canary"] as const).flatMap((t) => {
        const { ok, bad } = tracks[t];
        const all = router === "alb" ? [SHAPES.alb(t, 200, ok + bad), ...(bad > 0 ? [SHAPES.alb(t, 502, bad)] : [])] : [SHAPES[router](t, 200, ok), ...(bad > 0 ? [SHAPES[router](t, 502, bad)] : [])];
        // Another app's backend on the same router: never counted as this app's.
        return t === "stable" && router === "traefik" ? [...all, { series: 'traefik_service_requests_total{code="500", method="GET", protocol="http", service="shop-podinfo-stable-http-9898@kubernetesgateway"}', values: "0+9999x30" }] : all;
    });
}

const CANARY = (record: string) => `${record}{namespace="podinfo", app="podinfo", track="canary"}`;
const RUNBOOKS = "https://github.com/example/canary/blob/main/docs/runbooks";

/** The promtool suite of one router at weight 25: the split and its share from the router's counts, 502s firing, the split mismatch both ways. */
function routerSuite(router: RouterSource): unknown {
    const mismatch = {
        exp_labels: { severity: "warning", namespace: "podinfo", app: "podinfo", track: "canary" },
        exp_annotations: {
            summary: "The canary's share of traffic is not the configured weight",
            description: "The canary of podinfo in podinfo gets a share of requests 25.0 percentage points away from the weight the stack configures (tolerance 10): the router is not doing what the stack says.",
            runbook_url: `${RUNBOOKS}/CanaryTrafficSplitMismatch.md`,
        },
    };
    return {
        rule_files: [`rules-${router}.yaml`, "stage-25.yaml"],
        evaluation_interval: "1m",
        tests: [
            {
                name: `${router}: the split as configured, the canary healthy: its share is 25%, nothing fires`,
                interval: "1m",
                input_series: routerSeries(router, { stable: { ok: 1800, bad: 0 }, canary: { ok: 600, bad: 0 } }),
                promql_expr_test: [
                    { expr: 'track:http_requests:share5m{track="canary"}', eval_time: "10m", exp_samples: [{ labels: CANARY("track:http_requests:share5m"), value: 0.25 }] },
                    { expr: 'track:http_requests:rate5m{track="canary"}', eval_time: "10m", exp_samples: [{ labels: CANARY("track:http_requests:rate5m"), value: 10 }] },
                ],
                alert_rule_test: [
                    { eval_time: "25m", alertname: "CanaryTrafficSplitMismatch", exp_alerts: [] },
                    { eval_time: "25m", alertname: "CanaryHighErrorRate", exp_alerts: [] },
                ],
            },
            {
                name: `${router}: the router answers 502 for a fifth of the canary's requests: CanaryHighErrorRate fires`,
                interval: "1m",
                input_series: routerSeries(router, { stable: { ok: 1800, bad: 0 }, canary: { ok: 480, bad: 120 } }),
                promql_expr_test: [{ expr: 'track:http_error_ratio:rate5m{track="canary"}', eval_time: "10m", exp_samples: [{ labels: CANARY("track:http_error_ratio:rate5m"), value: 0.2 }] }],
                alert_rule_test: [highErrorRateAlert(20, RUNBOOKS)],
            },
            {
                name: `${router}: the route splits 50/50 at weight 25: CanaryTrafficSplitMismatch fires`,
                interval: "1m",
                input_series: routerSeries(router, { stable: { ok: 1200, bad: 0 }, canary: { ok: 1200, bad: 0 } }),
                alert_rule_test: [{ eval_time: "20m", alertname: "CanaryTrafficSplitMismatch", exp_alerts: [mismatch] }],
            },
        ],
    };
}

describe("the router as the metric source: each router's names", () => {
    it("Traefik's service names: its Normalize (non-alphanumeric runs to one '-') and the Gateway API provider's <namespace>-<service>-http-<port>@kubernetesgateway", () => {
        assert.strictEqual(traefikNormalize("shop--orders_v2.canary"), "shop-orders-v2-canary");
        assert.strictEqual(traefikNormalize("-a-"), "a");
        assert.strictEqual(traefikServiceName("podinfo", "podinfo-canary", 9898), "podinfo-podinfo-canary-http-9898@kubernetesgateway");
        assert.strictEqual(traefikServiceName("a--b", "c", 80), "a-b-c-http-80@kubernetesgateway");
    });

    for (const router of ROUTER_SOURCES) {
        it(`${router}: every query parses and sums to {namespace, app, track}, with no label of the app's contract`, () => {
            const m = withRouter(devConfig().metrics, router);
            const exprs = [requestRate(m, SCOPE, "5m"), errorRatio(m, SCOPE, "5m", ["namespace", "app"], SPLIT), latencyQuantile(m, SCOPE, 0.95, "5m"), ...Object.values(evidenceQueries(m, SCOPE, 300))].filter((e): e is string => e !== undefined);
            for (const e of exprs) {
                assert.deepStrictEqual(promqlErrors(e), [], e);
                assert.doesNotMatch(e, /http_request_duration_seconds|path!~|status=~"5\.\."[^}]*track=/, e);
                assert.match(e, /label_replace\(label_replace\(label_replace\(.*"namespace", "podinfo", "", ""\), "app", "podinfo", "", ""\), "track", "(stable|canary|preview)", "", ""\)/, e);
            }
            // The judge reads the split only: never the preview's backend.
            assert.doesNotMatch(requestCount(m, SCOPE, "300s", ["track"], SPLIT), /"track", "preview"/);
        });
    }

    it("alb has no histogram: no latency query, no latency recording rule or alert, and the judge says it judges errors only", () => {
        const cfg = devConfig();
        const m = withRouter(cfg.metrics, "alb");
        assert.strictEqual(latencyQuantile(m, SCOPE, 0.95, "5m"), undefined);
        assert.strictEqual(bucketCount(m, SCOPE, "300s"), undefined);
        assert.ok(!("buckets" in evidenceQueries(m, SCOPE, 300)));
        const rules = appRuleGroups({ scope: SCOPE, metrics: m, thresholds: cfg.alerts, container: "podinfo" }).flatMap((g) => g.rules);
        const names = rules.map((r) => ("alert" in r ? r.alert : r.record));
        assert.ok(!names.some((n) => /latency|duration/i.test(n)), names.join(", "));
        assert.ok(names.includes("CanaryHighErrorRate") && names.includes("CanaryTrafficSplitMismatch"));
        // A 502-heavy canary is rolled back; a healthy one promotes with no latency evidence, saying why.
        const counts = (requests: number, errors: number): TrackCounts => ({ requests, errors, buckets: [], resets: 0 });
        const stage = { weight: 25, stages: [5, 25, 50, 100], seconds: 600 };
        const policy = policyFor(m);
        assert.strictEqual(judge(counts(2000, 400), counts(20000, 10), stage, policy).decision, "ROLLBACK");
        const healthy = judge(counts(20000, 5), counts(60000, 15), { ...stage, weight: 5 }, policy);
        assert.strictEqual(healthy.decision, "PROMOTE", healthy.reasons.join("; "));
        assert.ok(healthy.reasons.some((r) => /^latency not judged: the alb source has no latency histogram/.test(r)), healthy.reasons.join("; "));
        // The app's source without buckets holds, as before: only a source with no histogram at all is errors-only.
        assert.strictEqual(judge(counts(20000, 5), counts(60000, 15), { ...stage, weight: 5 }, policyFor(cfg.metrics)).decision, "HOLD");
    });

    it("the stage's AnalysisRun asks the judge with the stack's source and port, and the judge reads back the same contract; it refuses a source without its port and a port without a source", () => {
        const cfg = devConfig();
        for (const metrics of [withRouter(cfg.metrics, "traefik"), cfg.metrics]) {
            const url = new URL(judgeUrl("http://judge", { scope: SCOPE, metrics, stages: [5, 25, 50, 100], ratios: [], deadline: "30m" }).replace(/\{\{args\.(\w+)\}\}/g, (_, a: string) => ({ run: "r", weight: "25", carry: "", since: "2026-11-21T11:50:00Z" })[a] ?? ""));
            assert.deepStrictEqual(judgeQuery(url.searchParams, new Date("2026-11-21T12:00:00Z")).metrics, metrics);
        }
        const base = { namespace: "podinfo", app: "podinfo", weight: "25", since: "15m" };
        const refused = (q: Record<string, string>) => assert.throws(() => judgeQuery(new URLSearchParams({ ...base, ...q }), new Date()), (e: Error) => (assert.match(e.message, /^(source|port)=/), true));
        refused({ source: "traefik" });
        refused({ source: "traefik", port: "0" });
        refused({ source: "nginx", port: "80" });
        refused({ port: "9898" });
    });

    it("envoy-gateway: the HTTPRoute's backendRefs carry a filter (each sets x-canary-track), so Envoy Gateway makes the per-track clusters its source reads; other sources leave the route as it was", async () => {
        const backendRefs = async (source: string) => {
            const { error, resources } = await runProgram({ stack: "dev", config: { weight: 25, metrics: { source } } });
            assert.ifError(error);
            return byName(resources, "route-httproute").inputs.spec.rules[0].backendRefs as { name: string; weight: number; filters?: unknown[] }[];
        };
        const envoy = await backendRefs("envoy-gateway");
        assert.deepStrictEqual(
            envoy.map((b) => [b.weight, b.filters]),
            ["stable", "canary"].map((track, i) => [[75, 25][i], [{ type: "RequestHeaderModifier", requestHeaderModifier: { set: [{ name: "x-canary-track", value: track }] } }]]),
        );
        // The clusters the source's queries name are those backendRefs', in the route's order (stable 0, canary 1).
        const queries = requestCount(withRouter(devConfig().metrics, "envoy-gateway"), SCOPE, "5m");
        assert.match(queries, /httproute\/podinfo\/podinfo\/rule\/0\/backend\/0/);
        assert.match(queries, /httproute\/podinfo\/podinfo\/rule\/0\/backend\/1/);
        for (const source of ["app", "traefik"]) assert.ok((await backendRefs(source)).every((b) => b.filters === undefined), source);
    });

    it("Istio's and Envoy's histograms count milliseconds: the quantile is scaled to seconds", () => {
        for (const router of ["istio", "envoy-gateway"] as const) assert.match(latencyQuantile(withRouter(devConfig().metrics, router), SCOPE, 0.95, "5m") ?? "", /\)\) \* 0\.001$/);
        assert.doesNotMatch(latencyQuantile(withRouter(devConfig().metrics, "traefik"), SCOPE, 0.95, "5m") ?? "", /\*/);
    });
});

describe("promtool: each router's rules on series shaped as it exports them", function () {
    this.timeout(120_000);
    let dir: string;

    before(async () => {
        dir = tempDir("router-promtool");
        const cfg = devConfig();
        // Traefik's rules as the program registers them (the stack's source reaches the rules); the others from the same builder.
        const { error, resources } = await runProgram({ stack: "dev", config: { weight: 25, metrics: { source: "traefik" } } });
        assert.ifError(error);
        const registered: RuleGroup[] = byName(resources, "alerts-rules").inputs.spec.groups;
        for (const router of ROUTER_SOURCES) {
            const groups = router === "traefik" ? registered : appRuleGroups({ scope: SCOPE, metrics: withRouter(cfg.metrics, router), thresholds: cfg.alerts, container: "podinfo" });
            fs.writeFileSync(path.join(dir, `rules-${router}.yaml`), YAML.stringify({ groups }));
            fs.writeFileSync(path.join(dir, `router-${router}.test.yaml`), YAML.stringify(routerSuite(router)));
        }
        fs.writeFileSync(path.join(dir, "stage-25.yaml"), YAML.stringify({ groups: [stageRuleGroup(SCOPE, 25)] }));
    });

    it("pass `promtool check rules`", () => {
        const r = runTool("promtool", ["check", "rules", ...ROUTER_SOURCES.map((s) => `rules-${s}.yaml`)], dir);
        assert.strictEqual(r.status, 0, r.output);
    });

    it("the share is the router's split, 502s fire CanaryHighErrorRate, the split mismatch is quiet at the weight and fires out of line", () => {
        const r = runTool("promtool", ["test", "rules", ...ROUTER_SOURCES.map((s) => `router-${s}.test.yaml`)], dir);
        assert.strictEqual(r.status, 0, r.output);
        assert.doesNotMatch(r.output, /FAILED/);
        assert.strictEqual((r.output.match(/SUCCESS/g) ?? []).length, ROUTER_SOURCES.length, r.output);
    });
});

/**
 * A Traefik-shaped exporter on 127.0.0.1: `traefik_service_requests_total` and the service histogram,
 * with Traefik's labels and default buckets, counting 95 stable and 5 canary requests every 100 ms (the
 * 5 stage), `canaryBadShare` of the canary's answered 502 as Traefik answers a refused connection.
 */
async function traefikExporter(port: number, canaryBadShare: number): Promise<{ close: () => Promise<void> }> {
    const counts = new Map<string, number>();
    const buckets = new Map<string, number[]>();
    const LE = [0.1, 0.3, 1.2, 5];
    const add = (track: string, code: number, n: number, seconds: number) => {
        const key = `code="${code}",method="GET",protocol="http",service="${traefikServiceName("podinfo", `podinfo-${track}`, PORT)}"`;
        counts.set(key, (counts.get(key) ?? 0) + n);
        const b = buckets.get(key) ?? LE.map(() => 0);
        LE.forEach((le, i) => (b[i] += seconds <= le ? n : 0));
        buckets.set(key, b);
    };
    const tick = setInterval(() => {
        add("stable", 200, 95, 0.05);
        add("canary", 200, 5 - Math.round(5 * canaryBadShare), 0.05);
        add("canary", 502, Math.round(5 * canaryBadShare), 0.001);
    }, 100);
    const server = http.createServer((_req, res) => {
        const lines = ["# TYPE traefik_service_requests_total counter", ...[...counts].map(([k, v]) => `traefik_service_requests_total{${k}} ${v}`), "# TYPE traefik_service_request_duration_seconds histogram"];
        for (const [k, b] of buckets) {
            LE.forEach((le, i) => lines.push(`traefik_service_request_duration_seconds_bucket{${k},le="${le}"} ${b[i]}`));
            lines.push(`traefik_service_request_duration_seconds_bucket{${k},le="+Inf"} ${counts.get(k)}`, `traefik_service_request_duration_seconds_count{${k}} ${counts.get(k)}`);
        }
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(lines.join("\n") + "\n");
    });
    await listen(server, "127.0.0.1", port, "--listen");
    return { close: () => (clearInterval(tick), new Promise((r) => server.close(() => r()))) };
}

describe("the judge on Traefik's counts through a real Prometheus: 502s at the router roll the canary back", function () {
    this.timeout(90_000);
    let live: Live;
    let exporter: Awaited<ReturnType<typeof traefikExporter>>;

    before(async () => {
        // Traefik is scraped as the lab scrapes it: a job of its own, its labels as it exports them.
        const exporterPort = await freePort();
        live = await startLive({ scrapeConfigs: [{ job_name: "traefik", static_configs: [{ targets: [`127.0.0.1:${exporterPort}`] }] }] });
        // Three in five of the canary's requests refused: Traefik's 502s.
        exporter = await traefikExporter(exporterPort, 0.6);
    });

    after(async () => {
        await exporter?.close();
        await live?.stop();
    });

    it("source=traefik: ROLLBACK on the canary's 502s; source=app (the demo apps, which served nothing) only HOLDs", async () => {
        const server = judgeServer({ prometheus: httpPrometheus(live.promUrl), scrapeIntervalSeconds: 1, now: () => new Date(), log: () => {} });
        const { port } = await listen(server, "127.0.0.1", 0, "--listen");
        try {
            const since = new Date().toISOString();
            const ask = async (q: Record<string, string>) => {
                const res = await fetch(`http://127.0.0.1:${port}/judge?${new URLSearchParams({ namespace: "podinfo", app: "podinfo", weight: "5", since, ...q })}`);
                return { status: res.status, body: (await res.json()) as { decision: string; reasons: string[]; canary: TrackCounts | null } };
            };
            let last = await ask({ source: "traefik", port: String(PORT) });
            for (let i = 0; i < 40 && last.body.decision !== "ROLLBACK"; i++) {
                await new Promise((r) => setTimeout(r, 500));
                last = await ask({ source: "traefik", port: String(PORT) });
            }
            assert.strictEqual(last.body.decision, "ROLLBACK", JSON.stringify(last.body));
            assert.ok((last.body.canary?.errors ?? 0) > 0, "the 502s are the canary's errors");
            const app = await ask({});
            assert.strictEqual(app.body.decision, "HOLD", JSON.stringify(app.body));
            // A router source needs the port its backends are named by.
            assert.strictEqual((await ask({ source: "traefik" })).status, 400);
        } finally {
            await new Promise((r) => server.close(r));
        }
    });
});
