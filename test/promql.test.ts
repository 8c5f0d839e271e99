/** Every PromQL expression the program ships (rules and dashboard) parses with Prometheus's own grammar. */
import * as assert from "assert";
import { parser } from "@prometheus-io/lezer-promql";
import { dashboardPanels, stageChangeExpr } from "../components/observability/dashboard";
import { RuleGroup } from "../components/observability/rules";
import {
    bucketCount,
    canaryContainerInfo,
    counterResets,
    DEFAULT_METRICS,
    errorRate,
    errorRatio,
    isContractLabel,
    isErrorStatus,
    isRouteValue,
    JUDGE_SERIES,
    judgeRunSeries,
    judgeTestSeries,
    latencyQuantile,
    latestJudgeRun,
    metricContract,
    METRIC_PRESETS,
    PRESET_NAMES,
    requestCount,
    requestRate,
    userRequestMatchers,
} from "../domain/promql";
import { evidenceQueries } from "../rollout/analyze";
import { byName, runProgram, STACKS } from "./harness";

/** An expression the app's source always has (its histogram's latency): fails the test when it is missing. */
function defined(e: string | undefined): string {
    assert.ok(e !== undefined, "the app's source has every series");
    return e;
}

/** Parse errors of an expression: the grammar's error nodes, with their position. */
export function promqlErrors(expr: string): string[] {
    const errors: string[] = [];
    parser.parse(expr).iterate({
        enter: (node) => {
            if (node.type.isError) errors.push(`at ${node.from}: "${expr.slice(Math.max(0, node.from - 20), node.to + 20)}"`);
        },
    });
    return errors;
}

describe("PromQL: every expression parses (lezer-promql)", () => {
    it("detects a broken expression (the check is live)", () => {
        assert.notDeepStrictEqual(promqlErrors("sum by (app (rate(x[5m]))"), []);
        assert.notDeepStrictEqual(promqlErrors("rate(x[5m]) >"), []);
        assert.deepStrictEqual(promqlErrors('sum by (app) (rate(x{a="b"}[5m])) > 0'), []);
    });

    for (const stack of STACKS) {
        it(`${stack}: rule expressions`, async () => {
            const { error, resources } = await runProgram({ stack, config: { weight: 5 } });
            assert.ifError(error);
            const groups: RuleGroup[] = [...byName(resources, "alerts-rules").inputs.spec.groups, ...byName(resources, "alerts-stage").inputs.spec.groups];
            const exprs = groups.flatMap((g) => g.rules.map((r) => r.expr));
            assert.ok(exprs.length > 25, `expected the whole rule set, got ${exprs.length}`);
            for (const e of exprs) assert.deepStrictEqual(promqlErrors(e), [], e);
        });

        it(`${stack}: dashboard panels and the stage-change annotation`, async () => {
            const { resources } = await runProgram({ stack });
            const cm = byName(resources, "dashboard-dashboard").inputs;
            const model = JSON.parse(Object.values<string>(cm.data)[0]);
            const exprs: string[] = [...model.panels.flatMap((p: any) => p.targets.map((t: any) => t.expr)), ...model.annotations.list.map((a: any) => a.expr)];
            assert.ok(exprs.length >= 10);
            for (const e of exprs) assert.deepStrictEqual(promqlErrors(e), [], e);
        });
    }

    it("the analysis's queries parse, a ratio metric's two counters included, by track and in the app's scope", () => {
        const queries = evidenceQueries(DEFAULT_METRICS, { namespace: "shop", app: "checkout" }, 300, [{ name: "checkout-failures", events: "checkouts_failed_total", total: "checkouts_total", bad: "up" }]);
        assert.deepStrictEqual(Object.keys(queries), ["requests", "errors", "buckets", "resets", "checkout-failures.events", "checkout-failures.total"]);
        assert.strictEqual(queries["checkout-failures.events"], 'sum by (track) (increase(checkouts_failed_total{namespace="shop", app="checkout", track=~"stable|canary"}[300s]))');
        for (const q of Object.values(queries)) assert.deepStrictEqual(promqlErrors(q), [], q);
    });

    it("promote's read of the canary pods' image ids parses: the canary Deployment's pods only, the app's container, the spec's image", () => {
        const q = canaryContainerInfo("shop", "check.out", 'registry:5000/a"b:1.0');
        assert.strictEqual(q, 'kube_pod_container_info{namespace="shop", pod=~"check\\\\.out-canary-[a-z0-9]+-[a-z0-9]+", container="check.out", image_spec="registry:5000/a\\"b:1.0"}');
        assert.deepStrictEqual(promqlErrors(q), [], q);
    });

    it("the pure dashboard builders parse for another app and SLO", () => {
        const input = {
            scope: { namespace: "shop", app: "checkout" },
            metrics: { ...DEFAULT_METRICS, histogram: "latency_seconds", excludedRoutes: ["health.check", "/metrics", "a|b"] },
            thresholds: { slo: { objective: 0.995, periodDays: 28 } } as any,
            ratios: [{ name: "conversion", events: "orders_total", total: "shop:visits_total", bad: "down" as const }],
        };
        const panels = dashboardPanels(input);
        assert.deepStrictEqual(panels.filter((p) => p.title.startsWith("conversion")).map((p) => [p.title, p.targets[0].expr]), [
            [
                "conversion: orders_total / shop:visits_total by track (lower is worse)",
                'sum by (namespace, app, track) (rate(orders_total{namespace="shop", app="checkout"}[5m])) / (sum by (namespace, app, track) (rate(shop:visits_total{namespace="shop", app="checkout"}[5m])) > 0)',
            ],
        ]);
        for (const p of panels) for (const t of p.targets) assert.deepStrictEqual(promqlErrors(t.expr), [], t.expr);
        assert.deepStrictEqual(promqlErrors(stageChangeExpr(input.scope)), []);
        // The judge's row: one panel per test (its own and the ratio metrics), each the LLR and its two bounds.
        // One panel per test, then the forecast's chances.
        const row = panels.filter((p) => p.title.startsWith("Judge: "));
        const [judged, forecast] = [row.slice(0, -1), row[row.length - 1]];
        assert.deepStrictEqual(judged.map((p) => p.title.split(" ")[1]), ["errors", "latency", "tail", "conversion"]);
        assert.deepStrictEqual(forecast.targets.map((t) => t.expr), ['canary_judge_forecast_in_time_ratio{namespace="shop", app="checkout"}', 'canary_judge_forecast_rollout_in_time_ratio{namespace="shop", app="checkout"}']);
        for (const p of judged) assert.deepStrictEqual(p.targets.map((t) => t.expr.split("{")[0]), [JUDGE_SERIES.llr, JUDGE_SERIES.rollbackBound, JUDGE_SERIES.promoteBound]);
        assert.strictEqual(judged[3].targets[0].expr, 'canary_judge_llr{namespace="shop", app="checkout", test="conversion"}');
    });

    it("the judge's series as `rollout status` reads them back parse", () => {
        const scope = { namespace: "shop", app: "checkout" };
        for (const e of [latestJudgeRun(scope, 25), judgeRunSeries(scope, "checkout-1-2-0-w25-e1-0a1b2c"), judgeTestSeries(JUDGE_SERIES.llr, scope, "errors")]) assert.deepStrictEqual(promqlErrors(e), [], e);
        assert.strictEqual(latestJudgeRun(scope, 25), 'topk(1, canary_judge_last_ask_timestamp_seconds{namespace="shop", app="checkout", weight="25"})');
    });

    it("user requests only: every request, error and latency series drops the excluded paths, regex-escaped", () => {
        const m = { ...DEFAULT_METRICS, excludedRoutes: ["healthz", "health.check", "a|b"] };
        const scope = { namespace: "podinfo", app: "podinfo" };
        assert.deepStrictEqual(userRequestMatchers(m, ['track="canary"']), ['track="canary"', 'path!~"healthz|health\\\\.check|a\\\\|b"']);
        assert.deepStrictEqual(userRequestMatchers({ ...m, excludedRoutes: [] }), []);
        const exprs = [requestRate(m, scope, "5m"), errorRate(m, scope, "5m"), latencyQuantile(m, scope, 0.99, "5m"), requestCount(m, scope, "5m"), bucketCount(m, scope, "5m"), counterResets(m, scope, "5m")].map(defined);
        for (const e of exprs) {
            assert.deepStrictEqual(promqlErrors(e), [], e);
            const selectors = e.match(/http_request_duration_seconds_(count|bucket)\{[^}]*\}/g) ?? [];
            assert.ok(selectors.length > 0, e);
            for (const sel of selectors) assert.ok(sel.includes('path!~"healthz|health\\\\.check|a\\\\|b"'), sel);
        }
        assert.ok(!exprs.join(" ").includes("http_requests_total"), "the status-only counter cannot tell probes from users");
    });
});

describe("the metric contract: every builder reads the preset's histogram, labels and error regex", () => {
    const scope = { namespace: "shop", app: "orders" };
    const labelsOf = (p: (typeof PRESET_NAMES)[number]) => [METRIC_PRESETS[p].statusLabel, METRIC_PRESETS[p].routeLabel];

    for (const preset of PRESET_NAMES) {
        it(`${preset}: requests, errors and latency select its histogram, drop its excluded routes by its route label and count its 5xx by its status label`, () => {
            const m = METRIC_PRESETS[preset];
            const excluded = `${m.routeLabel}!~"${m.excludedRoutes.map((r) => r.replace(/[.*+?^${}()|[\]\\]/g, "\\\\$&")).join("|")}"`;
            const exprs = [requestRate(m, scope, "5m"), errorRatio(m, scope, "5m"), latencyQuantile(m, scope, 0.95, "5m"), ...Object.values(evidenceQueries(m, scope, 300))].map(defined);
            for (const e of exprs) {
                assert.deepStrictEqual(promqlErrors(e), [], e);
                const selectors = e.match(/\w+_(count|bucket)\{[^}]*\}/g) ?? [];
                assert.ok(selectors.length > 0, e);
                for (const sel of selectors) {
                    assert.ok(sel.startsWith(`${m.histogram}_`), sel);
                    assert.ok(sel.includes(excluded), `${sel} lacks ${excluded}`);
                }
            }
            assert.ok(errorRate(m, scope, "5m").includes(`${m.statusLabel}=~"5.."`));
            assert.match(evidenceQueries(m, scope, 300).errors, new RegExp(`${m.statusLabel}=~"5\\.\\."`));
            // No other preset's labels leak in (prom-client and micrometer share `status`).
            const others = PRESET_NAMES.filter((o) => o !== preset).flatMap(labelsOf).filter((l) => !labelsOf(preset).includes(l));
            for (const e of exprs) for (const l of others) assert.ok(!new RegExp(`[{ ]${l}[!=]~`).test(e), `${preset} query uses ${l}: ${e}`);
        });
    }

    it("the presets are the upstream names: OTel's semantic conventions as Prometheus stores them, Micrometer's, podinfo's", () => {
        assert.deepStrictEqual(
            PRESET_NAMES.map((p) => [p, METRIC_PRESETS[p].histogram, METRIC_PRESETS[p].statusLabel, METRIC_PRESETS[p].routeLabel]),
            [
                ["prom-client", "http_request_duration_seconds", "status", "path"],
                ["opentelemetry", "http_server_request_duration_seconds", "http_response_status_code", "http_route"],
                ["micrometer", "http_server_requests_seconds", "status", "uri"],
            ],
        );
        assert.strictEqual(DEFAULT_METRICS, METRIC_PRESETS["prom-client"]);
    });

    it("a key given in canary:metrics replaces the preset's part, the others stay the preset's", () => {
        const m = metricContract({ preset: "micrometer", errorStatus: "5..|429", excludedRoutes: [] }, 9898);
        assert.deepStrictEqual(m, { ...METRIC_PRESETS.micrometer, errorStatus: "5..|429", excludedRoutes: [] });
        assert.strictEqual(errorRate(m, scope, "5m").match(/status=~"[^"]*"/g)?.[0], 'status=~"5..|429"');
        assert.ok(!requestRate(m, scope, "5m").includes("uri!~"), "no excluded routes, no route matcher");
        assert.deepStrictEqual(metricContract({ preset: "opentelemetry", histogram: undefined }, 9898), METRIC_PRESETS.opentelemetry);
    });

    it("values that would break out of a PromQL string or regex are refused; ordinary ones pass", () => {
        const table: [(v: string) => boolean, string[], string[]][] = [
            [isContractLabel, ["status", "http_route", "_x", "uri2"], ["", "2xx", "http.route", "__name__", "le", "track", "app", "namespace", 'a"b', "a b", "a}"]],
            [isErrorStatus, ["5..", "5..|429", "5[0-9]{2}", "(500|503)", "^5.*$"], ["", '5.."} or vector(1) #', "5\\d\\d", "5.. ", "(?=5)..", "5((", "[", "x".repeat(65), "5..\n"]],
            [isRouteValue, ["healthz", "/healthz", "/actuator/health/**", "/users/{id}", "a|b"], ["", 'a"b', "a\\b", "a b", "a,b", "a\tb", "x".repeat(257)]],
        ];
        for (const [ok, good, bad] of table) {
            for (const v of good) assert.ok(ok(v), `${ok.name}(${JSON.stringify(v)}) should pass`);
            for (const v of bad) assert.ok(!ok(v), `${ok.name}(${JSON.stringify(v)}) should be refused`);
        }
    });
});
