/**
 * The one source of PromQL. Alert and recording rules, the dashboard and the rollout analysis all
 * build their queries here, so the numbers a person sees, the alerts that page and the decision to
 * advance a stage are the same numbers.
 *
 * Every series is selected by `namespace`, `app` and `track` (the ServiceMonitor relabels pod labels
 * into these), never by version strings or job names.
 */

/** Metric names of the app's metric contract; podinfo's by default. */
export interface MetricNames {
    /** Counter with an HTTP `status` label. */
    readonly requests: string;
    /** Histogram base name (`_bucket`, `_sum`, `_count` are appended). */
    readonly duration: string;
}

export const DEFAULT_METRICS: MetricNames = { requests: "http_requests_total", duration: "http_request_duration_seconds" };

/**
 * How often the ServiceMonitor scrapes the app. A window shorter than two scrapes cannot show an
 * increase, so the analysis waits for at least two.
 */
export const SCRAPE_INTERVAL_SECONDS = 15;

/** The app a query is about. */
export interface Scope {
    readonly namespace: string;
    readonly app: string;
}

/** Server errors: what counts against the canary and the SLO. */
export const ERROR_STATUS = "5..";

/** Labels every per-track aggregate keeps. */
export const TRACK_LABELS = ["namespace", "app", "track"] as const;
export const APP_LABELS = ["namespace", "app"] as const;

/** Extra label matchers, written as PromQL, e.g. `track="canary"`. */
export type Matchers = readonly string[];

/** The scope's label matchers plus `extra`, e.g. `{namespace="podinfo", app="podinfo", track="canary"}`. */
export function scopeMatchers(scope: Scope, extra: Matchers = []): string {
    return `{${[`namespace="${scope.namespace}"`, `app="${scope.app}"`, ...extra].join(", ")}}`;
}

function by(labels: readonly string[]): string {
    return `by (${labels.join(", ")})`;
}

/** Requests per second, summed by `labels`. */
export function requestRate(m: MetricNames, scope: Scope, window: string, labels: readonly string[] = TRACK_LABELS, extra: Matchers = []): string {
    return `sum ${by(labels)} (rate(${m.requests}${scopeMatchers(scope, extra)}[${window}]))`;
}

/**
 * 5xx per second. With traffic but no 5xx series yet (a counter only appears once a status was seen),
 * this is 0 rather than empty, so an error ratio exists whenever there is traffic.
 */
export function errorRate(m: MetricNames, scope: Scope, window: string, labels: readonly string[] = TRACK_LABELS, extra: Matchers = []): string {
    return `(${requestRate(m, scope, window, labels, [...extra, `status=~"${ERROR_STATUS}"`])} or (${requestRate(m, scope, window, labels, extra)} * 0))`;
}

/**
 * Share of requests that failed. The denominator is filtered to > 0: no traffic gives no result
 * (never NaN, never a division by zero that fires or hides an alert).
 */
export function errorRatio(m: MetricNames, scope: Scope, window: string, labels: readonly string[] = TRACK_LABELS, extra: Matchers = []): string {
    return `${errorRate(m, scope, window, labels, extra)} / (${requestRate(m, scope, window, labels, extra)} > 0)`;
}

/** A latency quantile from the histogram buckets. */
export function latencyQuantile(m: MetricNames, scope: Scope, q: number, window: string, labels: readonly string[] = TRACK_LABELS, extra: Matchers = []): string {
    return `histogram_quantile(${q}, sum ${by([...labels, "le"])} (rate(${m.duration}_bucket${scopeMatchers(scope, extra)}[${window}])))`;
}

/** Requests counted over `window` (not a rate): how much evidence a measurement rests on. */
export function requestCount(m: MetricNames, scope: Scope, window: string, labels: readonly string[] = APP_LABELS, extra: Matchers = []): string {
    return `sum ${by(labels)} (increase(${m.requests}${scopeMatchers(scope, extra)}[${window}]))`;
}

/** Histogram bucket counts over `window` (not rates), by `labels` and `le`: the latency evidence. */
export function bucketCount(m: MetricNames, scope: Scope, window: string, labels: readonly string[] = APP_LABELS, extra: Matchers = []): string {
    return `sum ${by([...labels, "le"])} (increase(${m.duration}_bucket${scopeMatchers(scope, extra)}[${window}]))`;
}

/** Counter resets of the request counter over `window` (a pod restarted and its counts began again). */
export function counterResets(m: MetricNames, scope: Scope, window: string, labels: readonly string[] = APP_LABELS, extra: Matchers = []): string {
    return `sum ${by(labels)} (resets(${m.requests}${scopeMatchers(scope, extra)}[${window}]))`;
}
