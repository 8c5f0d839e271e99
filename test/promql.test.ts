/** Every PromQL expression the program ships (rules and dashboard) parses with Prometheus's own grammar. */
import * as assert from "assert";
import { parser } from "@prometheus-io/lezer-promql";
import { dashboardPanels, stageChangeExpr } from "../components/observability/dashboard";
import { RuleGroup } from "../components/observability/rules";
import { bucketCount, canaryContainerInfo, counterResets, errorRate, JUDGE_SERIES, judgeRunSeries, judgeTestSeries, latencyQuantile, latestJudgeRun, requestCount, requestRate, userRequestMatchers } from "../domain/promql";
import { evidenceQueries } from "../rollout/analyze";
import { byName, runProgram, STACKS } from "./harness";

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
        const m = { duration: "http_request_duration_seconds", excludedPaths: ["healthz"] };
        const queries = evidenceQueries(m, { namespace: "shop", app: "checkout" }, 300, [{ name: "checkout-failures", events: "checkouts_failed_total", total: "checkouts_total", bad: "up" }]);
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
            metrics: { duration: "latency_seconds", excludedPaths: ["health.check", "/metrics", "a|b"] },
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
        const m = { duration: "http_request_duration_seconds", excludedPaths: ["healthz", "health.check", "a|b"] };
        const scope = { namespace: "podinfo", app: "podinfo" };
        assert.deepStrictEqual(userRequestMatchers(m, ['track="canary"']), ['track="canary"', 'path!~"healthz|health\\\\.check|a\\\\|b"']);
        assert.deepStrictEqual(userRequestMatchers({ ...m, excludedPaths: [] }), []);
        const exprs = [requestRate(m, scope, "5m"), errorRate(m, scope, "5m"), latencyQuantile(m, scope, 0.99, "5m"), requestCount(m, scope, "5m"), bucketCount(m, scope, "5m"), counterResets(m, scope, "5m")];
        for (const e of exprs) {
            assert.deepStrictEqual(promqlErrors(e), [], e);
            const selectors = e.match(/http_request_duration_seconds_(count|bucket)\{[^}]*\}/g) ?? [];
            assert.ok(selectors.length > 0, e);
            for (const sel of selectors) assert.ok(sel.includes('path!~"healthz|health\\\\.check|a\\\\|b"'), sel);
        }
        assert.ok(!exprs.join(" ").includes("http_requests_total"), "the status-only counter cannot tell probes from users");
    });
});
