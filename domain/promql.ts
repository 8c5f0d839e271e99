/**
 * The one source of PromQL. Alert and recording rules, the dashboard and the rollout analysis all
 * build their queries here, so the numbers a person sees, the alerts that page and the decision to
 * advance a stage are the same numbers.
 *
 * Every series is selected by `namespace`, `app` and `track` (the ServiceMonitor relabels pod labels
 * into these), never by version strings or job names.
 */

import { durationSeconds } from "./duration";
import { BUILT_IN_TESTS, isPrototypeName, type RatioMetric } from "./ratios";
import { isRouterSource, type MetricSource, quoted, ROUTER_METRICS, type RouterMetrics, type RouterSource } from "./routerMetrics";
import { PREVIEW_TRACK, type PodTrack, trackName, TRACKS } from "./tracks";

/**
 * The app's metric contract: which histogram and which of its labels say what a request was. Requests,
 * errors and latency all come from one request histogram (`_count` the requests, `_bucket` the latency),
 * its status label tells errors (`errorStatus`) and its route label tells user requests from kubelet
 * probes and Prometheus scrapes (`excludedRoutes`). Every builder below reads it, so the rules, the
 * dashboard, the stage's analysis and `rollout analyze` select the same series (`canary:metrics`).
 */
export interface MetricNames {
    /** The request histogram's base name: `_count` is the request count, `_bucket` the latency. */
    readonly histogram: string;
    /** The label with the response's status code. */
    readonly statusLabel: string;
    /** The label with the request's route (a template, never the raw path). */
    readonly routeLabel: string;
    /** A regex over the status label's values (PromQL's `=~`: RE2, anchored at both ends): the requests that count as errors. */
    readonly errorStatus: string;
    /** Values of the route label that are not user requests (probes, scrapes); excluded everywhere. */
    readonly excludedRoutes: readonly string[];
    /**
     * Set when the evidence is the router's counts rather than the app's (`canary:metrics.source`): which
     * router, and the Services' port its backends are named by (domain/routerMetrics.ts). The contract's
     * other parts then describe only the app's own series, which the ratio metrics still read.
     */
    readonly router?: RouterSourceOf;
}

/** A router source as a query needs it: the router and the app's Service port. */
export interface RouterSourceOf {
    readonly name: RouterSource;
    readonly port: number;
}

/** Server errors: what counts against the canary and the SLO, in every preset. */
const SERVER_ERRORS = "5..";

/**
 * The contracts of the instrumentations the stack knows by name (`canary:metrics.preset`); each key of
 * `canary:metrics` can still override one part.
 */
export const METRIC_PRESETS = {
    /**
     * podinfo's (and the demo app's, app/server.ts, with prom-client): its middleware observes every
     * route, and its `http_requests_total` counter has only `status`, so only the histogram's `path`
     * label can tell user requests from probes (stefanprodan/podinfo pkg/api/http/metrics.go:
     * `NewHistogramVec(..., []string{"method", "path", "status"})`, `NewCounterVec(..., []string{"status"})`;
     * the path label is the route template with non-alphanumerics as `_`, lower-cased: `/healthz` →
     * `healthz`, `/` → `root`).
     */
    "prom-client": { histogram: "http_request_duration_seconds", statusLabel: "status", routeLabel: "path", errorStatus: SERVER_ERRORS, excludedRoutes: ["healthz", "readyz", "metrics"] },
    /**
     * OpenTelemetry's HTTP semantic conventions (open-telemetry/semantic-conventions docs/http/http-metrics.md:
     * the histogram `http.server.request.duration`, unit `s`, attributes `http.response.status_code`,
     * `http.route` (the matched route template, e.g. `/users/:userID?`) and `http.request.method`) as
     * Prometheus stores them (open-telemetry/opentelemetry-specification
     * specification/compatibility/prometheus_and_openmetrics.md, "OTLP Metric points to Prometheus":
     * characters outside `[a-zA-Z0-9_:]` in a metric name and outside `[a-zA-Z0-9_]` in a label name
     * become `_`, and the unit `s` is appended as `_seconds`). Routes are templates as the framework
     * writes them, so a probe is `/healthz`.
     */
    opentelemetry: {
        histogram: "http_server_request_duration_seconds",
        statusLabel: "http_response_status_code",
        routeLabel: "http_route",
        errorStatus: SERVER_ERRORS,
        excludedRoutes: ["/healthz", "/readyz", "/metrics"],
    },
    /**
     * Micrometer in Spring Boot: the timer `http.server.requests` with the tags `exception`, `method`,
     * `outcome`, `status` and `uri` (the URI template) (spring-projects/spring-boot
     * .../reference/pages/actuator/metrics.adoc, "Spring MVC Metrics", "Jersey Server Metrics"), which
     * Micrometer's Prometheus registry names in snake case with the timer's base unit:
     * `http_server_requests_seconds`. It has `_bucket` series only with
     * `management.metrics.distribution.percentiles-histogram.http.server.requests=true` (metrics.adoc,
     * "Per-meter Properties"); without it the latency is unjudged. The actuator's probes and scrape are
     * `/actuator/health` (with groups, `/actuator/health/**`) and `/actuator/prometheus`.
     */
    micrometer: {
        histogram: "http_server_requests_seconds",
        statusLabel: "status",
        routeLabel: "uri",
        errorStatus: SERVER_ERRORS,
        excludedRoutes: ["/actuator/health", "/actuator/health/**", "/actuator/prometheus"],
    },
} as const satisfies Record<string, MetricNames>;

export type MetricPreset = keyof typeof METRIC_PRESETS;
export const PRESET_NAMES = Object.keys(METRIC_PRESETS) as MetricPreset[];
export const DEFAULT_PRESET: MetricPreset = "prom-client";
export const DEFAULT_METRICS: MetricNames = METRIC_PRESETS[DEFAULT_PRESET];

/** `canary:metrics` as the stack file gives it: the source, a preset and any part of the contract overridden. */
export type MetricContractConfig = { readonly preset: MetricPreset; readonly source?: MetricSource } & Partial<Omit<MetricNames, "router">>;

/**
 * The contract a stack's `canary:metrics` names: its preset's, with each given key in place of the
 * preset's, and with a router source, that router and the app's Service `port` its backends are named by.
 */
export function metricContract(c: MetricContractConfig, port: number): MetricNames {
    const { preset, source, ...overrides } = c;
    const given = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
    return { ...METRIC_PRESETS[preset], ...given, ...(source !== undefined && isRouterSource(source) ? { router: { name: source, port } } : {}) };
}

/** A DNS label (RFC 1123): a namespace, an app's name, a ratio metric's name. */
export const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** A Prometheus metric name. */
export const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
/** A Prometheus label name (prometheus.io docs/concepts/data_model.md); `__` starts the names Prometheus reserves. */
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** The labels every query selects or groups by itself (the scope, the track, a bucket's bound): never the status or the route. */
const QUERY_LABELS: readonly string[] = ["namespace", "app", "track", "le"];
/**
 * The most excluded routes a contract lists: each is an alternative of one regex in every request query,
 * and the judge reads them from its ask.
 */
export const MAX_EXCLUDED_ROUTES = 32;

/** What the contract's values must be, in the words a refusal uses (the stack config's and the judge's). */
export const CONTRACT_RULES = {
    label: `a Prometheus label name (letters, digits and '_', not starting with a digit or '__') other than ${QUERY_LABELS.join(", ")} (the labels the queries set themselves)`,
    /**
     * Written into a PromQL string: no quotes, backslashes, whitespace or control characters (nothing that
     * ends the string or changes its escapes), and only characters a status regex needs. `(?` is refused:
     * lookarounds are JavaScript's, not RE2's (Prometheus's), so what validates here would fail there.
     */
    errorStatus: "a regex over the status label's values such as 5.. or 5..|429: at most 64 of letters, digits and _ . , | ( ) [ ] * + ? { } ^ $ -, no (? and no quotes, backslashes or spaces",
    /**
     * Written into a PromQL regex literal (escaped there) and joined by commas into the judge's
     * `excludedRoutes=`, which splits on them.
     */
    route: "a route label value: 1 to 256 characters, no quotes, backslashes, whitespace or commas",
} as const;

export const isContractLabel = (v: string): boolean => LABEL_NAME.test(v) && !v.startsWith("__") && !QUERY_LABELS.includes(v);

export function isErrorStatus(v: string): boolean {
    if (!/^[-0-9A-Za-z_.,|()[\]*+?{}^$]{1,64}$/.test(v) || v.includes("(?")) return false;
    try {
        new RegExp(v);
        return true;
    } catch {
        return false;
    }
}

export const isRouteValue = (v: string): boolean => /^[^"\\\s,]{1,256}$/.test(v);

/** Why a contract's two labels cannot be one label, or undefined. */
export function contractLabelsProblem(m: Pick<MetricNames, "statusLabel" | "routeLabel">): string | undefined {
    return m.statusLabel === m.routeLabel ? `the status and the route are two labels, both ${m.statusLabel} here` : undefined;
}

/** A ratio metric as one query parameter of the judge: `name,events,total,bad`. */
export const formatRatio = (r: RatioMetric) => [r.name, r.events, r.total, r.bad].join(",");

/** Reads `formatRatio`'s form, with the rules the stack config has for a ratio; throws an Error saying what the form is. */
export function parseRatio(raw: string): RatioMetric {
    const [name, events, total, bad, ...rest] = raw.split(",");
    const ok = DNS_LABEL.test(name) && !BUILT_IN_TESTS.includes(name) && !isPrototypeName(name) && METRIC_NAME.test(events ?? "") && METRIC_NAME.test(total ?? "") && events !== total && (bad === "up" || bad === "down") && rest.length === 0;
    if (!ok) throw new Error(`${JSON.stringify(raw)} is not name,events,total,up|down with a name other than ${BUILT_IN_TESTS.join(", ")} and constructor, and two counters, e.g. checkout-failures,checkouts_failed_total,checkouts_total,up`);
    return { name, events, total, bad };
}

/**
 * How often the ServiceMonitor scrapes the app. A window shorter than two scrapes cannot show an
 * increase, so the analysis waits for at least two.
 */
export const SCRAPE_INTERVAL_SECONDS = 15;

/**
 * The longest stage deadline (`canary:analysis.deadline`), a week: the schema refuses a longer one, and
 * the judge's window (the range its queries read) is bounded from it (`MAX_WINDOW_SECONDS` in
 * rollout/serve.ts), so no ask makes Prometheus read further back than a stage can last.
 */
export const MAX_DEADLINE_SECONDS = 7 * 86400;

/** The app a query is about. */
export interface Scope {
    readonly namespace: string;
    readonly app: string;
}

/** Labels every per-track aggregate keeps. */
export const TRACK_LABELS = ["namespace", "app", "track"] as const;
export const APP_LABELS = ["namespace", "app"] as const;

/** Extra label matchers, written as PromQL, e.g. `track="canary"`. */
export type Matchers = readonly string[];

/**
 * The tracks the stage splits, as a matcher: the users' traffic. The preview track (the canary header's
 * pods) is testers' traffic, outside the split; shares, the split's traffic floor and the SLO select
 * these tracks so that testers neither skew the observed split nor burn the error budget.
 */
export const SPLIT_TRACKS: Matchers = [`track=~"${TRACKS.join("|")}"`];

/** The scope's label matchers plus `extra`, e.g. `{namespace="podinfo", app="podinfo", track="canary"}`. */
export function scopeMatchers(scope: Scope, extra: Matchers = []): string {
    return `{${[`namespace="${scope.namespace}"`, `app="${scope.app}"`, ...extra].join(", ")}}`;
}

/** A label value as a literal inside a PromQL regex string: regex metacharacters escaped. */
const regexLiteral = (v: string) => v.replace(/[.*+?^${}()|[\]\\]/g, "\\\\$&");

/** `extra` plus the matcher that drops the excluded routes: what makes a series count user requests only. */
export function userRequestMatchers(m: MetricNames, extra: Matchers = []): Matchers {
    return m.excludedRoutes.length === 0 ? extra : [...extra, `${m.routeLabel}!~"${m.excludedRoutes.map(regexLiteral).join("|")}"`];
}

/** The matcher of the requests that count as errors. */
export const errorMatchers = (m: MetricNames): Matchers => [`${m.statusLabel}=~"${m.errorStatus}"`];

/**
 * Which requests a query reads: the tracks (unset: every track the source has) and whether only the
 * errors. A selection, not label matchers, because a router's series have no `track` label to match:
 * each track is a backend of its own there.
 */
export interface Selection {
    readonly tracks?: readonly PodTrack[];
    readonly errors?: boolean;
}

/** The split's two tracks: the users' traffic (`SPLIT_TRACKS` as a selection). */
export const SPLIT: Selection = { tracks: TRACKS };

/** Every track a router can send traffic to: the split's and the canary header's. */
const ROUTED_TRACKS: readonly PodTrack[] = [...TRACKS, PREVIEW_TRACK];

/** The range functions the builders apply to a series. */
type RangeFunction = "rate" | "increase" | "resets";

/**
 * `fn` over CloudWatch's per-period sums, which an exporter serves again at every scrape of the period
 * (`periodSeconds`): the mean sample is one period's count, so a window holds that times its periods;
 * such a series never resets.
 */
function overPeriods(fn: RangeFunction, series: string, window: string, periodSeconds: number): string {
    if (fn === "resets") return `(count_over_time(${series}[${window}]) * 0)`;
    const periods = fn === "rate" ? `/ ${periodSeconds}` : `* ${durationSeconds(window, "prometheus") / periodSeconds}`;
    return `(avg_over_time(${series}[${window}]) ${periods})`;
}

/** The series name and matchers of a router's requests (or errors, or latency buckets) for one backend. */
function routerSeries(r: RouterMetrics, kind: "requests" | "buckets", backend: Matchers, errors: boolean): string | undefined {
    if (kind === "buckets") return r.histogram && !errors ? `${r.histogram.name}_bucket{${backend.join(", ")}}` : undefined;
    if (!errors) return `${r.requests}{${backend.join(", ")}}`;
    if ("statusLabel" in r.errors) return `${r.requests}{${[...backend, `${r.errors.statusLabel}=~"${r.errors.errorStatus}"`].join(", ")}}`;
    return `{${[`__name__=~"${r.errors.series.join("|")}"`, ...backend].join(", ")}}`;
}

/**
 * THE series builder: `fn` over the requests (or their latency buckets) in `scope`, as an instant vector
 * whose series carry `namespace`, `app` and `track` whatever the source. The app's series have them (the
 * ServiceMonitor's relabelling); a router's are selected per track by that track's backend and given them
 * with `label_replace`, so every builder above this one, and everything that reads their results, has one
 * path for both sources. Undefined when the source has no such series (a router without a histogram).
 */
function perTrack(m: MetricNames, scope: Scope, kind: "requests" | "buckets", fn: RangeFunction, window: string, sel: Selection): string | undefined {
    if (m.router === undefined) {
        const tracks = sel.tracks ? [`track=~"${sel.tracks.join("|")}"`] : [];
        const extra = [...tracks, ...(sel.errors ? errorMatchers(m) : [])];
        return `${fn}(${m.histogram}_${kind === "requests" ? "count" : "bucket"}${scopeMatchers(scope, userRequestMatchers(m, extra))}[${window}])`;
    }
    const r = ROUTER_METRICS[m.router.name];
    const port = m.router.port;
    const parts = (sel.tracks ?? ROUTED_TRACKS).flatMap((track) => {
        const backend = r.backend({ ...scope, track, port });
        const series = backend && routerSeries(r, kind, backend, sel.errors ?? false);
        if (series === undefined) return [];
        const counted = r.periodSeconds === undefined ? `${fn}(${series}[${window}])` : overPeriods(fn, series, window, r.periodSeconds);
        const labels: [string, string][] = [
            ["namespace", scope.namespace],
            ["app", scope.app],
            ["track", track],
        ];
        return [labels.reduce((e, [label, value]) => `label_replace(${e}, "${label}", ${quoted(value)}, "", "")`, counted)];
    });
    if (parts.length === 0) return undefined;
    return parts.length === 1 ? parts[0] : `(${parts.join(" or ")})`;
}

/** The requests' series: every source has them for the split's tracks (the nginx router alone has no preview to select). */
function requestSeries(m: MetricNames, scope: Scope, fn: RangeFunction, window: string, sel: Selection): string {
    const series = perTrack(m, scope, "requests", fn, window, sel);
    if (series === undefined) throw new Error(`the ${m.router?.name} router sends no traffic to ${sel.tracks?.join(", ")}: no request series to select`);
    return series;
}

/** Whether the source has a latency histogram (the app's always may; CloudWatch's ALB metrics have none). */
export const hasLatency = (m: MetricNames): boolean => m.router === undefined || ROUTER_METRICS[m.router.name].histogram !== undefined;

/** Seconds per unit of the histogram's `le` (Istio and Envoy count milliseconds): what turns a bucket bound into seconds. */
export const latencySecondsPerUnit = (m: MetricNames): number => (m.router === undefined ? 1 : (ROUTER_METRICS[m.router.name].histogram?.secondsPerUnit ?? 1));

function by(labels: readonly string[]): string {
    return `by (${labels.join(", ")})`;
}

/** Requests per second, summed by `labels`. */
export function requestRate(m: MetricNames, scope: Scope, window: string, labels: readonly string[] = TRACK_LABELS, sel: Selection = {}): string {
    return `sum ${by(labels)} (${requestSeries(m, scope, "rate", window, sel)})`;
}

/**
 * Errors (`errorStatus`, 5xx by default) per second. With traffic but no error series yet (a counter only appears once a status was seen),
 * this is 0 rather than empty, so an error ratio exists whenever there is traffic.
 */
export function errorRate(m: MetricNames, scope: Scope, window: string, labels: readonly string[] = TRACK_LABELS, sel: Selection = {}): string {
    return `(${requestRate(m, scope, window, labels, { ...sel, errors: true })} or (${requestRate(m, scope, window, labels, sel)} * 0))`;
}

/**
 * Share of requests that failed. The denominator is filtered to > 0: no traffic gives no result
 * (never NaN, never a division by zero that fires or hides an alert).
 */
export function errorRatio(m: MetricNames, scope: Scope, window: string, labels: readonly string[] = TRACK_LABELS, sel: Selection = {}): string {
    return `${errorRate(m, scope, window, labels, sel)} / (${requestRate(m, scope, window, labels, sel)} > 0)`;
}

/** A latency quantile from the histogram buckets, in seconds; undefined when the source has no histogram. */
export function latencyQuantile(m: MetricNames, scope: Scope, q: number, window: string, labels: readonly string[] = TRACK_LABELS, sel: Selection = {}): string | undefined {
    const buckets = perTrack(m, scope, "buckets", "rate", window, sel);
    if (buckets === undefined) return undefined;
    const quantile = `histogram_quantile(${q}, sum ${by([...labels, "le"])} (${buckets}))`;
    const unit = latencySecondsPerUnit(m);
    return unit === 1 ? quantile : `${quantile} * ${unit}`;
}

/** Requests counted over `window` (not a rate): how much evidence a measurement rests on. */
export function requestCount(m: MetricNames, scope: Scope, window: string, labels: readonly string[] = APP_LABELS, sel: Selection = {}): string {
    return `sum ${by(labels)} (${requestSeries(m, scope, "increase", window, sel)})`;
}

/**
 * Histogram bucket counts over `window` (not rates), by `labels` and `le` (in the histogram's unit,
 * `latencySecondsPerUnit`): the latency evidence; undefined when the source has no histogram.
 */
export function bucketCount(m: MetricNames, scope: Scope, window: string, labels: readonly string[] = APP_LABELS, sel: Selection = {}): string | undefined {
    const buckets = perTrack(m, scope, "buckets", "increase", window, sel);
    return buckets === undefined ? undefined : `sum ${by([...labels, "le"])} (${buckets})`;
}

/** Counter resets of the request counter over `window` (a pod, or a router, restarted and its counts began again). */
export function counterResets(m: MetricNames, scope: Scope, window: string, labels: readonly string[] = APP_LABELS, sel: Selection = {}): string {
    return `sum ${by(labels)} (${requestSeries(m, scope, "resets", window, sel)})`;
}

/** An app counter's increase over `window`, summed by `labels`: a ratio metric's events or total. */
export function counterCount(metric: string, scope: Scope, window: string, labels: readonly string[] = APP_LABELS, extra: Matchers = []): string {
    return `sum ${by(labels)} (increase(${metric}${scopeMatchers(scope, extra)}[${window}]))`;
}

/** A ratio metric's share per second-averaged window, by `labels`: events over total, no result without a total. */
export function ratioShare(r: RatioMetric, scope: Scope, window: string, labels: readonly string[] = TRACK_LABELS): string {
    return `sum ${by(labels)} (rate(${r.events}${scopeMatchers(scope)}[${window}])) / (sum ${by(labels)} (rate(${r.total}${scopeMatchers(scope)}[${window}])) > 0)`;
}

/**
 * The judge's own series (`GET /metrics` of `rollout serve`): what it decided on, per run and test, so
 * a person watches the evidence move while the stage runs. Every series has `JUDGE_RUN_LABELS`; the
 * per-test ones `test` too; `decision` has a `decision` label, 1 on the current one.
 */
export const JUDGE_SERIES = {
    /** The LLR the test judges: carried + this stage's. */
    llr: "canary_judge_llr",
    carried: "canary_judge_carried_llr",
    /** ln(1/α) at the test's α: at or above it, ROLLBACK. */
    rollbackBound: "canary_judge_rollback_bound",
    /** ln(β): at or below it, the test promotes. */
    promoteBound: "canary_judge_promote_bound",
    canaryRequests: "canary_judge_canary_requests",
    stableRequests: "canary_judge_stable_requests",
    decision: "canary_judge_decision",
    /** The forecast's expected seconds to a decision (`domain/forecast.ts`); absent with no canary traffic. */
    forecastSeconds: "canary_judge_forecast_seconds",
    /** What is left of the stage's deadline, when the judge was told it. */
    deadlineLeftSeconds: "canary_judge_deadline_left_seconds",
    /** The forecast's chance of a decision before the deadline, 0 to 1, when the judge was told it and there is canary traffic. */
    inTimeChance: "canary_judge_forecast_in_time_ratio",
    /** The chance that this stage and every later compared stage decides before its deadline at the recent traffic (`Forecast.rollout`), 0 to 1. */
    rolloutInTimeChance: "canary_judge_forecast_rollout_in_time_ratio",
    /** When the run was last asked about, in Unix seconds: which run is the current one. */
    lastAsked: "canary_judge_last_ask_timestamp_seconds",
} as const;

export const JUDGE_RUN_LABELS = ["run", "app", "namespace", "weight"] as const;

/** One of the judge's per-test series for `scope`'s runs and one test. */
export function judgeTestSeries(series: string, scope: Scope, test: string): string {
    return `${series}${scopeMatchers(scope, [`test="${test}"`])}`;
}

/**
 * The run the judge was last asked about for `scope` at `weight`: one sample whose `run` label names it.
 * Across the judge's replicas (each its own scrape target) it is the latest ask of any, and its target
 * labels (`instance`, `pod`) name the replica that answered it.
 */
export function latestJudgeRun(scope: Scope, weight: number): string {
    return `topk(1, ${JUDGE_SERIES.lastAsked}${scopeMatchers(scope, [`weight="${weight}"`])})`;
}

/** Every series the judge exports for one run. */
export function judgeRunSeries(scope: Scope, run: string): string {
    return `{${[`__name__=~"canary_judge_.+"`, `namespace="${scope.namespace}"`, `app="${scope.app}"`, `run="${run}"`].join(", ")}}`;
}

/**
 * The canary track's app containers as kube-state-metrics describes them, one series per container
 * (value 1): `kube_pod_container_info` with `namespace`, `pod`, `container`, `image`, `image_spec` (the
 * image the pod spec names), `image_id` (the runtime's id of the image it pulled) and `container_id`
 * (kubernetes/kube-state-metrics docs/metrics/workload/pod-metrics.md). The canary Deployment's pods are
 * named `<app>-canary-<pod-template-hash>-<suffix>`: the stable's and the preview's are not, nor are the
 * pods of an app named `<app>-canary` (one more part). `image_spec` keeps out pods left from another
 * canary image.
 */
export function canaryContainerInfo(namespace: string, app: string, image: string): string {
    const pod = `${regexLiteral(trackName(app, "canary"))}-[a-z0-9]+-[a-z0-9]+`;
    // JSON's string escapes are PromQL's (Go's) for `"`, `\` and control characters.
    return `kube_pod_container_info{namespace=${JSON.stringify(namespace)}, pod=~"${pod}", container=${JSON.stringify(app)}, image_spec=${JSON.stringify(image)}}`;
}
