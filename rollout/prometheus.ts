/**
 * A small Prometheus HTTP API client for instant queries. Every way an answer can be unusable
 * (unreachable, timeout, non-2xx, not JSON, not a vector, NaN or infinite values) is a
 * `PrometheusError` with the reason, which the analysis turns into HOLD.
 */
import { SCRAPE_INTERVAL_SECONDS } from "../domain/promql";
import { baseUrlProblem } from "../domain/urls";
import { httpUrlOption, Options, OptionSpec, UsageError } from "../lib/args";
import { durationOption } from "./options";

/** The options of every command that reads Prometheus (`analyze`, `run`, `serve`). */
export const PROMETHEUS_OPTION: OptionSpec = { name: "prometheus", value: "URL", help: "Prometheus base URL, http:// or https:// (required)" };
export const QUERY_OPTIONS: readonly OptionSpec[] = [
    { name: "query-timeout", value: "10s", help: "longest wait for one Prometheus query, 100ms to 5m (default 10s)" },
    { name: "scrape-interval", value: "15s", help: `how often Prometheus scrapes the app, 1s to 5m; the window must cover two (default ${SCRAPE_INTERVAL_SECONDS}s, the ServiceMonitor's)` },
];

/**
 * The longest `--query-timeout`: Prometheus's own default query timeout is 2m (`--query.timeout`), so
 * a longer wait only waits on a server that stopped answering; an unbounded one overflowed the timer
 * (99999999999h fired at once: HOLD "unreachable").
 */
const MAX_QUERY_TIMEOUT_MS = 5 * 60_000;
/**
 * The longest `--scrape-interval`: Prometheus looks back 5m for a sample (`--query.lookback-delta`),
 * so a target scraped less often than that has no current value between scrapes.
 */
const MAX_SCRAPE_INTERVAL_MS = 5 * 60_000;

/** `--query-timeout` and `--scrape-interval`, read and checked once for every command that takes them. */
export function queryOptions(o: Options): { queryTimeoutMs: number; scrapeIntervalSeconds: number } {
    return {
        queryTimeoutMs: durationOption(o, "query-timeout", 10_000, 100, MAX_QUERY_TIMEOUT_MS),
        scrapeIntervalSeconds: durationOption(o, "scrape-interval", SCRAPE_INTERVAL_SECONDS * 1000, 1000, MAX_SCRAPE_INTERVAL_MS) / 1000,
    };
}

export class PrometheusError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "PrometheusError";
    }
}

export interface Sample {
    readonly labels: Record<string, string>;
    readonly value: number;
}

export interface PrometheusClient {
    /** Evaluates an instant vector query at `time`. */
    query(promql: string, time: Date): Promise<Sample[]>;
}

/** Parses an instant-query response body; throws PrometheusError for anything but a finite vector. */
export function parseVector(body: unknown, promql: string): Sample[] {
    const b = body as { status?: unknown; data?: { resultType?: unknown; result?: unknown }; error?: unknown };
    if (b?.status !== "success") throw new PrometheusError(`query failed (${String(b?.error ?? b?.status ?? "no status")}): ${promql}`);
    if (b.data?.resultType !== "vector" || !Array.isArray(b.data.result)) throw new PrometheusError(`expected a vector, got ${String(b.data?.resultType)}: ${promql}`);
    return b.data.result.map((r: any) => {
        const raw = Array.isArray(r?.value) ? r.value[1] : undefined;
        const value = typeof raw === "string" ? Number(raw) : NaN;
        if (typeof r?.metric !== "object" || r.metric === null) throw new PrometheusError(`a sample without labels: ${promql}`);
        if (!Number.isFinite(value)) throw new PrometheusError(`non-finite value ${String(raw)} for ${JSON.stringify(r.metric)}: ${promql}`);
        return { labels: r.metric as Record<string, string>, value };
    });
}

/** The client over HTTP (Node's fetch), each query bounded by `timeoutMs`. */
export function httpPrometheus(baseUrl: string, timeoutMs = 10_000): PrometheusClient {
    const base = baseUrl.replace(/\/+$/, "");
    return {
        async query(promql, time) {
            const url = `${base}/api/v1/query?${new URLSearchParams({ query: promql, time: (time.getTime() / 1000).toFixed(3) })}`;
            let res: Response;
            try {
                res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
            } catch (e) {
                const err = e as Error & { cause?: { code?: string; message?: string } };
                const why = err.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : (err.cause?.code ?? err.cause?.message ?? err.message);
                throw new PrometheusError(`Prometheus at ${base} is unreachable: ${why}`);
            }
            const text = await res.text();
            if (!res.ok) throw new PrometheusError(`Prometheus at ${base} answered HTTP ${res.status}: ${text.slice(0, 200)}`);
            let body: unknown;
            try {
                body = JSON.parse(text);
            } catch {
                throw new PrometheusError(`Prometheus at ${base} answered something that is not JSON: ${text.slice(0, 80)}`);
            }
            return parseVector(body, promql);
        },
    };
}

/**
 * Only an absolute http(s) base URL (`baseUrlProblem`, the rule `canary:monitoring.prometheusUrl`
 * has too): anything else would only show up as a HOLD after the first look.
 */
export function prometheusUrl(value: string): string {
    httpUrlOption("prometheus", value, "http://127.0.0.1:9090");
    const problem = baseUrlProblem(value);
    if (problem !== undefined) throw new UsageError(`--prometheus ${JSON.stringify(value)}: give the base URL, without a query or fragment, user name or password, or whitespace: ${problem}`);
    return value;
}
