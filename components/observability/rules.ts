/**
 * The Prometheus rules of one app, as plain data: recording rules by track, SLO error ratios, the
 * alerts of docs/observability.md ("Alerts"), and the stage rule that carries the configured weight.
 * Pure: the CanaryAlerts component wraps these in PrometheusRules, and the tests hand the same groups
 * to promtool.
 */
import { APP_LABELS, errorRatio, errorRate, hasLatency, latencyQuantile, MetricNames, requestRate, Scope, scopeMatchers, SPLIT, SPLIT_TRACKS } from "../../domain/promql";
import type { StackConfig } from "../../stacks/schema";
import { BURN_WINDOWS, burnFactor, errorBudget, sloWindows } from "./slo";

export type Severity = "critical" | "warning" | "info";

export interface RecordingRule {
    readonly record: string;
    readonly expr: string;
    readonly labels?: Record<string, string>;
}

export interface AlertingRule {
    readonly alert: string;
    readonly expr: string;
    readonly for?: string;
    readonly labels: { readonly severity: Severity } & Record<string, string>;
    readonly annotations: { readonly summary: string; readonly description: string; readonly runbook_url?: string };
}

export type Rule = RecordingRule | AlertingRule;

export interface RuleGroup {
    readonly name: string;
    readonly rules: Rule[];
}

export type AlertThresholds = StackConfig["alerts"];

export interface RulesInput {
    readonly scope: Scope;
    readonly metrics: MetricNames;
    readonly thresholds: AlertThresholds;
    /** The app's container name, as cAdvisor and kube-state-metrics label it. */
    readonly container: string;
}

/** Names of the recorded series, `level:metric:operation`. */
export const RECORD = {
    requests: "track:http_requests:rate5m",
    errors: "track:http_errors:rate5m",
    errorRatio: "track:http_error_ratio:rate5m",
    share: "track:http_requests:share5m",
    latency: (q: "p50" | "p95" | "p99") => `track:http_request_duration_seconds:${q}_5m`,
    sloErrorRatio: (window: string) => `app:http_error_ratio:rate${window}`,
    configuredWeight: "app:canary_weight:configured",
} as const;

export const ALERT_NAMES = [
    "CanaryHighErrorRate",
    "CanaryHighLatency",
    "CanaryVsStableErrorRatio",
    "CanaryHigherLatency",
    "CanaryLowTraffic",
    "CanaryPodDown",
    "CanaryResourceUsage",
    "CanaryMemoryUsage",
    "DeploymentStuck",
    "DeploymentReplicasNotReady",
    "PodCrashLooping",
    "CanaryTrafficSplitMismatch",
    "ErrorBudgetBurn",
    "Watchdog",
] as const;
export type AlertName = (typeof ALERT_NAMES)[number];

const QUANTILES = { p50: 0.5, p95: 0.95, p99: 0.99 } as const;

export function isAlert(rule: Rule): rule is AlertingRule {
    return "alert" in rule;
}

/**
 * Per-track request rate, errors, error ratio, latency quantiles (when the source has a histogram) and
 * traffic share, from the stack's metric source: with a router source the share is what the route
 * actually split, counted where it split it.
 */
export function trackRecordingRules(i: RulesInput): RecordingRule[] {
    const { metrics: m, scope } = i;
    // The share is of the split's traffic: a preview's requests are no part of either side.
    const split = scopeMatchers(scope, SPLIT_TRACKS);
    const latency = (Object.keys(QUANTILES) as (keyof typeof QUANTILES)[]).flatMap((q) => {
        const expr = latencyQuantile(m, scope, QUANTILES[q], "5m");
        return expr === undefined ? [] : [{ record: RECORD.latency(q), expr }];
    });
    return [
        { record: RECORD.requests, expr: requestRate(m, scope, "5m") },
        { record: RECORD.errors, expr: errorRate(m, scope, "5m") },
        { record: RECORD.errorRatio, expr: errorRatio(m, scope, "5m") },
        ...latency,
        {
            record: RECORD.share,
            expr: `${RECORD.requests}${split} / on (namespace, app) group_left () (sum by (namespace, app) (${RECORD.requests}${split}) > 0)`,
        },
    ];
}

/** The whole app's error ratio over each burn-rate window: the users' tracks, not the preview testers reach. */
export function sloRecordingRules(i: RulesInput): RecordingRule[] {
    return sloWindows().map((w) => ({ record: RECORD.sloErrorRatio(w), expr: errorRatio(i.metrics, i.scope, w, APP_LABELS, SPLIT) }));
}

/**
 * The stage's only rule: the configured canary weight as a series, so alerts can compare what the
 * router does with what the stack says. It is in its own PrometheusRule because it changes every stage.
 */
export function stageRecordingRule(scope: Scope, weight: number): RecordingRule {
    return { record: RECORD.configuredWeight, expr: `vector(${weight})`, labels: { namespace: scope.namespace, app: scope.app } };
}

function alert(name: AlertName, severity: Severity, expr: string, forDuration: string | undefined, summary: string, description: string, labels: Record<string, string> = {}): AlertingRule {
    return {
        alert: name,
        expr,
        ...(forDuration ? { for: forDuration } : {}),
        labels: { severity, ...labels },
        annotations: { summary, description },
    };
}

function percent(x: number): string {
    return `${Number((x * 100).toPrecision(6))}%`;
}

/** Canary pods, by namespace and pod, from kube-state-metrics' pod labels (allowlisted by MonitoringStack). */
function canaryPods(scope: Scope): string {
    return `max by (namespace, pod) (kube_pod_labels{namespace="${scope.namespace}", label_app_kubernetes_io_name="${scope.app}", label_track="canary"})`;
}

/** The alerts on the latency recording rules, which a source without a histogram has none of. */
const LATENCY_ALERTS: readonly AlertName[] = ["CanaryHighLatency", "CanaryHigherLatency"];

/** The app's alerts; without a latency histogram (the alb source), not the two that read one. */
export function canaryAlerts(i: RulesInput): AlertingRule[] {
    const alerts = allCanaryAlerts(i);
    return hasLatency(i.metrics) ? alerts : alerts.filter((a) => !LATENCY_ALERTS.includes(a.alert as AlertName));
}

function allCanaryAlerts(i: RulesInput): AlertingRule[] {
    const { scope, thresholds: t } = i;
    const canary = scopeMatchers(scope, ['track="canary"']);
    const stable = scopeMatchers(scope, ['track="stable"']);
    const app = scopeMatchers(scope);
    const split = scopeMatchers(scope, SPLIT_TRACKS);
    const ns = `namespace="${scope.namespace}"`;
    const container = `container="${i.container}"`;
    const perPod = (expr: string) => `sum by (namespace, pod) (${expr})`;
    return [
        alert(
            "CanaryHighErrorRate",
            "critical",
            `${RECORD.errorRatio}${canary} > ${t.errorRatio}`,
            "2m",
            "Canary error ratio is high",
            `The canary of {{ $labels.app }} in {{ $labels.namespace }} fails {{ $value | humanizePercentage }} of requests (threshold ${percent(t.errorRatio)}).`,
        ),
        alert(
            "CanaryHighLatency",
            "warning",
            `${RECORD.latency("p95")}${canary} > ${t.latencyP95Seconds}`,
            "2m",
            "Canary p95 latency is high",
            `The canary of {{ $labels.app }} in {{ $labels.namespace }} has a p95 latency of {{ $value | humanizeDuration }} (threshold ${t.latencyP95Seconds}s).`,
        ),
        alert(
            "CanaryVsStableErrorRatio",
            "critical",
            `${RECORD.errorRatio}${canary} > on (namespace, app) group_left () (${t.errorRatioVsStable} * clamp_min(${RECORD.errorRatio}${stable}, ${t.errorRatioFloor}))`,
            "3m",
            "Canary fails more often than stable",
            `The canary of {{ $labels.app }} in {{ $labels.namespace }} fails {{ $value | humanizePercentage }} of requests, more than ${t.errorRatioVsStable}x stable's error ratio (taken as at least ${percent(t.errorRatioFloor)}).`,
        ),
        alert(
            "CanaryHigherLatency",
            "warning",
            `${RECORD.latency("p99")}${canary} > on (namespace, app) group_left () (${t.latencyP99VsStable} * ${RECORD.latency("p99")}${stable})`,
            "5m",
            "Canary p99 latency is higher than stable's",
            `The canary of {{ $labels.app }} in {{ $labels.namespace }} has a p99 latency of {{ $value | humanizeDuration }}, more than ${t.latencyP99VsStable}x stable's.`,
        ),
        alert(
            "CanaryLowTraffic",
            "warning",
            `(${RECORD.configuredWeight}${app} > 0) unless on (namespace, app) (${RECORD.requests}${canary} > 0)`,
            "10m",
            "Canary gets no traffic although its weight is above 0",
            `The stack gives the canary of {{ $labels.app }} in {{ $labels.namespace }} {{ $value }}% of traffic, but it has served no requests for 10 minutes.`,
            { track: "canary" },
        ),
        alert(
            "CanaryPodDown",
            "critical",
            `up${canary} == 0`,
            "1m",
            "A canary pod cannot be scraped",
            "Prometheus cannot scrape the canary pod {{ $labels.pod }} of {{ $labels.app }} in {{ $labels.namespace }}.",
        ),
        alert(
            "CanaryResourceUsage",
            "warning",
            `(${perPod(`rate(container_cpu_usage_seconds_total{${ns}, ${container}}[5m])`)} * on (namespace, pod) group_left () ${canaryPods(scope)}) / on (namespace, pod) (${perPod(`kube_pod_container_resource_requests{${ns}, ${container}, resource="cpu"}`)} > 0) > ${t.cpuOfRequest}`,
            "10m",
            "A canary pod uses much more CPU than it requests",
            `The canary pod {{ $labels.pod }} in {{ $labels.namespace }} uses {{ $value | humanizePercentage }} of its CPU request (threshold ${percent(t.cpuOfRequest)}).`,
        ),
        alert(
            "CanaryMemoryUsage",
            "warning",
            `(${perPod(`container_memory_working_set_bytes{${ns}, ${container}}`)} * on (namespace, pod) group_left () ${canaryPods(scope)}) / on (namespace, pod) (${perPod(`kube_pod_container_resource_limits{${ns}, ${container}, resource="memory"}`)} > 0) > ${t.memoryOfLimit}`,
            "5m",
            "A canary pod is close to its memory limit",
            `The canary pod {{ $labels.pod }} in {{ $labels.namespace }} uses {{ $value | humanizePercentage }} of its memory limit (threshold ${percent(t.memoryOfLimit)}).`,
        ),
        alert(
            "DeploymentStuck",
            "critical",
            `kube_deployment_status_condition{${ns}, condition="Progressing", status="false"} == 1`,
            "2m",
            "A Deployment stopped progressing",
            "Deployment {{ $labels.deployment }} in {{ $labels.namespace }} has exceeded its progress deadline: its rollout is stuck.",
        ),
        alert(
            "DeploymentReplicasNotReady",
            "warning",
            `kube_deployment_spec_replicas{${ns}} > on (namespace, deployment) kube_deployment_status_replicas_available{${ns}}`,
            "10m",
            "A Deployment has fewer available replicas than it wants",
            "Deployment {{ $labels.deployment }} in {{ $labels.namespace }} wants {{ $value }} replicas but not all are available.",
        ),
        alert(
            "PodCrashLooping",
            "warning",
            `max_over_time(kube_pod_container_status_waiting_reason{${ns}, reason="CrashLoopBackOff"}[5m]) >= 1`,
            "5m",
            "A pod is crash looping",
            "Container {{ $labels.container }} of pod {{ $labels.pod }} in {{ $labels.namespace }} is in CrashLoopBackOff.",
        ),
        alert(
            "CanaryTrafficSplitMismatch",
            "warning",
            `abs(${RECORD.share}${canary} * 100 - on (namespace, app) group_left () ${RECORD.configuredWeight}${app}) > ${t.trafficSplitTolerance} and on (namespace, app) sum by (namespace, app) (${RECORD.requests}${split}) > ${t.minRequestRate}`,
            "10m",
            "The canary's share of traffic is not the configured weight",
            `The canary of {{ $labels.app }} in {{ $labels.namespace }} gets a share of requests {{ $value | printf "%.1f" }} percentage points away from the weight the stack configures (tolerance ${t.trafficSplitTolerance}): the router is not doing what the stack says.`,
        ),
        ...BURN_WINDOWS.map((w) => {
            const threshold = `(${burnFactor(w, t.slo.periodDays)} * ${errorBudget(t.slo.objective)})`;
            return alert(
                "ErrorBudgetBurn",
                w.severity,
                `${RECORD.sloErrorRatio(w.long)}${app} > ${threshold} and on (namespace, app) ${RECORD.sloErrorRatio(w.short)}${app} > ${threshold}`,
                undefined,
                "The app burns its error budget too fast",
                `{{ $labels.app }} in {{ $labels.namespace }} fails {{ $value | humanizePercentage }} of requests over ${w.long}: at ${burnFactor(w, t.slo.periodDays)}x the rate its ${percent(t.slo.objective)} SLO over ${t.slo.periodDays} days allows.`,
                { long_window: w.long, short_window: w.short },
            );
        }),
        alert("Watchdog", "info", "vector(1)", undefined, "Always firing: the alerting pipeline works", "This alert always fires. If it stops arriving, Prometheus or Alertmanager is down."),
    ];
}

/** The one transform that links every alert to its runbook. */
export function withRunbooks(groups: readonly RuleGroup[], baseUrl: string): RuleGroup[] {
    const base = baseUrl.replace(/\/+$/, "");
    return groups.map((g) => ({
        ...g,
        rules: g.rules.map((r) => (isAlert(r) ? { ...r, annotations: { ...r.annotations, runbook_url: `${base}/${r.alert}.md` } } : r)),
    }));
}

/** The app's rule groups that do not depend on the stage. */
export function appRuleGroups(i: RulesInput): RuleGroup[] {
    const prefix = `canary-${i.scope.app}`;
    return withRunbooks(
        [
            { name: `${prefix}.recording`, rules: trackRecordingRules(i) },
            { name: `${prefix}.slo`, rules: sloRecordingRules(i) },
            { name: `${prefix}.alerts`, rules: canaryAlerts(i) },
        ],
        i.thresholds.runbookBaseUrl,
    );
}

export function stageRuleGroup(scope: Scope, weight: number): RuleGroup {
    return { name: `canary-${scope.app}.stage`, rules: [stageRecordingRule(scope, weight)] };
}
