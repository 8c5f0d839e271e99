import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { APP_LABELS, errorRatio, JUDGE_SERIES, judgeTestSeries, MetricNames, ratioShare, requestRate, Scope, scopeMatchers, SPLIT } from "../../domain/promql";
import { BUILT_IN_TESTS, type RatioMetric } from "../../domain/ratios";
import { DASHBOARD_LABEL } from "./monitoring";
import { TEMPO_DATASOURCE_UID } from "./tracing";
import { AlertThresholds, RECORD } from "./rules";
import { errorBudget } from "./slo";

export interface DashboardInput {
    readonly scope: Scope;
    readonly metrics: MetricNames;
    readonly thresholds: AlertThresholds;
    /** The ratio metrics the judge weighs (`canary:analysis.ratios`): one panel each. */
    readonly ratios: readonly RatioMetric[];
    /** With tracing on: the canary's traces, by the service name and version its spans carry. */
    readonly canaryTraces?: { readonly service: string; readonly version: string };
}

interface Target {
    readonly expr: string;
    readonly legendFormat: string;
}

interface PanelLink {
    readonly title: string;
    readonly url: string;
    readonly targetBlank: boolean;
}

interface Panel {
    /** A row starts a titled section of the grid (no targets); every other panel is a time series. */
    readonly row?: true;
    readonly title: string;
    readonly unit: string;
    readonly targets: Target[];
    readonly links?: PanelLink[];
}

/** The TraceQL query for the canary's spans: its service at the canary version (the resource attributes every OTEL SDK sets). */
export function canaryTraceQuery(service: string, version: string): string {
    return `{ resource.service.name = ${JSON.stringify(service)} && resource.service.version = ${JSON.stringify(version)} }`;
}

/** A Grafana Explore link running the canary's TraceQL query against the Tempo datasource. */
export function canaryTracesLink(service: string, version: string): PanelLink {
    const datasource = { type: "tempo", uid: TEMPO_DATASOURCE_UID };
    const panes = { canary: { datasource: TEMPO_DATASOURCE_UID, queries: [{ refId: "A", datasource, queryType: "traceql", query: canaryTraceQuery(service, version) }], range: { from: "now-1h", to: "now" } } };
    return { title: `Canary traces (${service} ${version}) in Tempo`, url: `/explore?schemaVersion=1&panes=${encodeURIComponent(JSON.stringify(panes))}`, targetBlank: false };
}

/** The panels and their queries: what a person watching a stage looks at, in reading order. */
export function dashboardPanels(i: DashboardInput): Panel[] {
    const s = scopeMatchers(i.scope);
    const canary = scopeMatchers(i.scope, ['track="canary"']);
    const budget = errorBudget(i.thresholds.slo.objective);
    const period = `${i.thresholds.slo.periodDays}d`;
    const traceLinks = i.canaryTraces ? { links: [canaryTracesLink(i.canaryTraces.service, i.canaryTraces.version)] } : {};
    return [
        {
            title: "Traffic split: configured vs observed canary share",
            unit: "percent",
            targets: [
                { expr: `${RECORD.configuredWeight}${s}`, legendFormat: "configured weight" },
                { expr: `${RECORD.share}${canary} * 100`, legendFormat: "observed canary share" },
            ],
        },
        { title: "Request rate by track", unit: "reqps", targets: [{ expr: `${RECORD.requests}${s}`, legendFormat: "{{track}}" }] },
        { title: "Error ratio by track", unit: "percentunit", targets: [{ expr: `${RECORD.errorRatio}${s}`, legendFormat: "{{track}}" }] },
        {
            title: "Latency p95 and p99 by track",
            unit: "s",
            targets: [
                { expr: `${RECORD.latency("p95")}${s}`, legendFormat: "p95 {{track}}" },
                { expr: `${RECORD.latency("p99")}${s}`, legendFormat: "p99 {{track}}" },
            ],
            ...traceLinks,
        },
        // The business metrics the judge weighs beside errors and latency, canary against stable.
        ...i.ratios.map((r) => ({
            title: `${r.name}: ${r.events} / ${r.total} by track (${r.bad === "up" ? "higher" : "lower"} is worse)`,
            unit: "percentunit",
            targets: [{ expr: ratioShare(r, i.scope, "5m"), legendFormat: "{{track}}" }],
        })),
        {
            title: `Error budget left (${i.thresholds.slo.objective * 100}% over ${period})`,
            unit: "percentunit",
            targets: [
                {
                    expr: `1 - (${errorRatio(i.metrics, i.scope, period, APP_LABELS, SPLIT)}) / ${budget}`,
                    legendFormat: "budget left",
                },
            ],
        },
        {
            title: "Burn rate (1h, 6h)",
            unit: "none",
            targets: ["1h", "6h"].map((w) => ({ expr: `${RECORD.sloErrorRatio(w)}${s} / ${budget}`, legendFormat: w })),
        },
        { title: "Pods up by track", unit: "none", targets: [{ expr: `count by (track) (up${s} == 1)`, legendFormat: "{{track}}" }] },
        { title: "Total request rate", unit: "reqps", targets: [{ expr: requestRate(i.metrics, i.scope, "5m", APP_LABELS), legendFormat: "all" }] },
        ...judgePanels(i),
    ];
}

/**
 * The judge's row: per test, the LLR it judges against its two bounds, per run, so a person sees the
 * evidence move toward PROMOTE (down to ln β) or ROLLBACK (up to ln(1/α)) over the stage; then the
 * forecast's chances of a decision in time, the stage's and the rollout's, which fall when the
 * traffic cannot bring a decision before the deadline.
 */
export function judgePanels(i: Pick<DashboardInput, "scope" | "ratios">): Panel[] {
    const tests = [...BUILT_IN_TESTS, ...i.ratios.map((r) => r.name)];
    const target = (series: string, test: string, legend: string) => ({ expr: judgeTestSeries(series, i.scope, test), legendFormat: `${legend} {{run}}` });
    return [
        { row: true, title: "The judge's evidence: each test's log-likelihood ratio against its bounds", unit: "none", targets: [] },
        ...tests.map((test) => ({
            title: `Judge: ${test} (LLR; ROLLBACK at or above the upper bound, PROMOTE at or below the lower)`,
            unit: "none",
            targets: [target(JUDGE_SERIES.llr, test, "LLR"), target(JUDGE_SERIES.rollbackBound, test, "rollback at"), target(JUDGE_SERIES.promoteBound, test, "promote at")],
        })),
        {
            title: "Judge: forecast (the chance of a decision before the deadline: this stage, and every stage from it on)",
            unit: "percentunit",
            targets: [
                { expr: `${JUDGE_SERIES.inTimeChance}${scopeMatchers(i.scope)}`, legendFormat: "this stage {{run}}" },
                { expr: `${JUDGE_SERIES.rolloutInTimeChance}${scopeMatchers(i.scope)}`, legendFormat: "the rollout {{run}}" },
            ],
        },
    ];
}

/** The Grafana dashboard model: a grid of time series, and an annotation at every stage change. */
export function dashboardJson(i: DashboardInput): Record<string, unknown> {
    // Two panels a line; a row takes a whole line of its own, and the panels after it start a new one.
    let y = 0;
    let x = 0;
    const panels = dashboardPanels(i).map((p, n) => {
        const common = { id: n + 1, title: p.title };
        if (p.row) {
            if (x > 0) [x, y] = [0, y + 8];
            const row = { ...common, type: "row", collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [], targets: [] };
            y += 1;
            return row;
        }
        const gridPos = { h: 8, w: 12, x, y };
        [x, y] = x === 0 ? [12, y] : [0, y + 8];
        return {
            ...common,
            type: "timeseries",
            datasource: { type: "prometheus", uid: "prometheus" },
            gridPos,
            fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
            targets: p.targets.map((t, k) => ({ refId: String.fromCharCode(65 + k), expr: t.expr, legendFormat: t.legendFormat })),
            ...(p.links ? { links: p.links } : {}),
        };
    });
    return {
        uid: `canary-${i.scope.app}`,
        title: `Canary: ${i.scope.app} (${i.scope.namespace})`,
        tags: ["canary"],
        timezone: "utc",
        schemaVersion: 39,
        refresh: "30s",
        time: { from: "now-6h", to: "now" },
        annotations: {
            list: [
                {
                    name: "Stage changes",
                    datasource: { type: "prometheus", uid: "prometheus" },
                    enable: true,
                    iconColor: "orange",
                    expr: stageChangeExpr(i.scope),
                    titleFormat: "canary weight → {{value}}%",
                    step: "1m",
                },
            ],
        },
        panels,
    };
}

/** True (1) at the minute the configured weight changed: one annotation per `pulumi up` of a stage. */
export function stageChangeExpr(scope: Scope): string {
    return `${RECORD.configuredWeight}${scopeMatchers(scope)} and on (namespace, app) changes(${RECORD.configuredWeight}${scopeMatchers(scope)}[2m]) > 0`;
}

export interface CanaryDashboardArgs extends DashboardInput {
    /** The namespace Grafana's sidecar watches (`monitoring`). */
    readonly namespace: pulumi.Input<string>;
}

/** The dashboard as a ConfigMap that Grafana's sidecar loads (label `grafana_dashboard: "1"`). */
export class CanaryDashboard extends pulumi.ComponentResource {
    constructor(name: string, args: CanaryDashboardArgs, opts?: pulumi.ComponentResourceOptions) {
        super("canary:dashboard:CanaryDashboard", name, {}, opts);
        const configMap = new k8s.core.v1.ConfigMap(
            `${name}-dashboard`,
            {
                metadata: { name: `canary-${args.scope.app}-dashboard`, namespace: args.namespace, labels: { ...DASHBOARD_LABEL } },
                data: { [`canary-${args.scope.app}.json`]: JSON.stringify(dashboardJson(args), null, 2) },
            },
            { parent: this },
        );
        this.registerOutputs({ configMap: configMap.metadata.name });
    }
}
