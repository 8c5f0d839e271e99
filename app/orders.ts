/**
 * The orders service: the repo's second small HTTP service, the one that is not podinfo. It is
 * instrumented as an OpenTelemetry app is, with the OpenTelemetry JS SDK itself (@opentelemetry/
 * sdk-metrics, its Prometheus exporter on the service's own port at /metrics), recording the stable
 * HTTP semantic conventions' `http.server.request.duration` histogram (semantic-conventions,
 * docs/http/http-metrics.md): attributes `http.request.method`, `http.response.status_code`,
 * `http.route`, `url.scheme`, `network.protocol.version` and, on a 5xx, `error.type`. Prometheus sees
 * them as `http_server_request_duration_seconds{http_request_method, http_response_status_code,
 * http_route, …, otel_scope_name}`. It has no podinfo metric at all: no `http_requests_total`, no
 * `path` or `status` label.
 *
 * Like a real service it needs a secret to start (the API key, from a Kubernetes Secret in a
 * cluster; here the one thing it guards is the fault switch), answers its own readiness and liveness
 * paths (`/ready`, `/live`: not podinfo's `/readyz` and `/healthz`), and, like the demo app, takes
 * injected faults so that a faulty version can be rolled back. Not part of what the Pulumi program deploys.
 */
import { createHash, timingSafeEqual } from "crypto";
import * as http from "http";
import { performance } from "perf_hooks";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { defaultResource, resourceFromAttributes } from "@opentelemetry/resources";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import {
    ATTR_ERROR_TYPE,
    ATTR_HTTP_REQUEST_METHOD,
    ATTR_HTTP_RESPONSE_STATUS_CODE,
    ATTR_HTTP_ROUTE,
    ATTR_NETWORK_PROTOCOL_VERSION,
    ATTR_SERVICE_NAME,
    ATTR_SERVICE_VERSION,
    ATTR_URL_SCHEME,
    HTTP_REQUEST_METHOD_VALUE_OTHER,
    METRIC_HTTP_SERVER_REQUEST_DURATION,
} from "@opentelemetry/semantic-conventions";
import { UsageError } from "../lib/args";
import { FaultRanges, faultsUpdate, VERSION_HEADER } from "./faults";

/** The environment variable the API key comes in (in a cluster: `env[].valueFrom.secretKeyRef` of the service's Secret). */
export const API_KEY_ENV = "ORDERS_API_KEY";

/** The probes' and the scrape's paths, the service's own. */
export const ORDERS_PATHS = { readiness: "/ready", liveness: "/live", metrics: "/metrics" } as const;

/**
 * The histogram as Prometheus scrapes it. The semantic conventions name the instrument
 * `http.server.request.duration`, unit `s`; the OpenTelemetry–Prometheus compatibility spec
 * (specification/compatibility/prometheus_and_openmetrics.md, "Metric Metadata") adds the unit as a
 * suffix, and the Collector's and the Go, Java and .NET SDKs' exporters do. The JS exporter does not
 * (exporter-prometheus PrometheusSerializer.ts, `enforcePrometheusNamingConvention`, appends only `_total`;
 * open-telemetry/opentelemetry-js#3466 closed unfixed), so a View names the stream as the others
 * expose it: the name most OpenTelemetry apps scraped by Prometheus have.
 */
export const DURATION_METRIC = "http_server_request_duration_seconds";

/** The explicit bucket boundaries the semantic conventions advise for `http.server.request.duration`, seconds. */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** The user routes as `http.route` templates: low cardinality, whatever the id. */
export const ORDER_ROUTES = { list: "/orders", one: "/orders/:id" } as const;

/**
 * The HTTP methods the semantic conventions know (`http.request.method`: RFC 9110's and PATCH, the
 * HTTP_REQUEST_METHOD_VALUE_* of semantic-conventions); any other is recorded as `_OTHER`, so a
 * client cannot grow the series.
 */
const KNOWN_METHODS = new Set(["CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"]);

export interface OrdersFaults {
    /** Share of user requests answered 500, 0..1. */
    readonly errorRatio: number;
    /** Latency added to every user request, ms. */
    readonly addedLatencyMs: number;
}

export const ORDERS_FAULT_RANGES: FaultRanges<keyof OrdersFaults> = { errorRatio: [0, 1], addedLatencyMs: [0, 60_000] };
export const ORDERS_DEFAULT_FAULTS: OrdersFaults = { errorRatio: 0, addedLatencyMs: 0 };

export interface OrdersOptions extends OrdersFaults {
    /** OpenTelemetry's `service.version` (in target_info); a cluster's series carry the pod's version label. */
    readonly version: string;
    /** What `PUT /faults` must present as `Authorization: Bearer <key>`. */
    readonly apiKey: string;
    /** Random source for fault injection (default Math.random), injectable for tests. */
    readonly random?: () => number;
}

/** The API key from `env`; unset or blank is a UsageError saying where it comes from: the service does not start without it. */
export function apiKeyFrom(env: NodeJS.ProcessEnv): string {
    const key = env[API_KEY_ENV];
    if (key === undefined || key.trim() === "") {
        throw new UsageError(`orders: ${API_KEY_ENV} is ${key === undefined ? "not set" : "empty"}: the service needs its API key (in a cluster, from its Secret) and does not start without it`);
    }
    return key;
}

/** The route template a path matches, or undefined (answered 404, recorded without `http.route`, as instrumentation does when no route matched). */
export function routeOf(pathname: string): string | undefined {
    if (pathname === ORDER_ROUTES.list) return ORDER_ROUTES.list;
    if (/^\/orders\/[^/]+$/.test(pathname)) return ORDER_ROUTES.one;
    return (Object.values(ORDERS_PATHS) as string[]).includes(pathname) || pathname === "/faults" ? pathname : undefined;
}

/** `http.request.method` as the semantic conventions bound it. */
export const methodAttribute = (method: string | undefined): string => (method !== undefined && KNOWN_METHODS.has(method) ? method : HTTP_REQUEST_METHOD_VALUE_OTHER);

/** Whether `header` is `Bearer <key>`, compared in constant time (of the digests, so that lengths leak nothing either). */
function bearerMatches(header: string | undefined, key: string): boolean {
    const digest = (s: string) => createHash("sha256").update(s).digest();
    return timingSafeEqual(digest(header ?? ""), digest(`Bearer ${key}`));
}

export interface Orders {
    readonly server: http.Server;
    /** Flushes and stops the meter provider. */
    shutdown(): Promise<void>;
}

export function createOrders(opts: OrdersOptions): Orders {
    // The exporter serves nothing of its own: its handler answers /metrics on the service's port.
    const exporter = new PrometheusExporter({ preventServerStart: true });
    const provider = new MeterProvider({
        resource: defaultResource().merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: "orders", [ATTR_SERVICE_VERSION]: opts.version })),
        readers: [exporter],
        views: [{ instrumentName: METRIC_HTTP_SERVER_REQUEST_DURATION, name: "http.server.request.duration_seconds" }],
    });
    const duration = provider.getMeter("canary-orders", opts.version).createHistogram(METRIC_HTTP_SERVER_REQUEST_DURATION, {
        description: "Duration of HTTP server requests.",
        unit: "s",
        advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
    const random = opts.random ?? Math.random;
    let faults: OrdersFaults = { errorRatio: opts.errorRatio, addedLatencyMs: opts.addedLatencyMs };
    let nextId = 1000;

    const server = http.createServer((req, res) => {
        const start = performance.now();
        const url = new URL(req.url ?? "/", "http://localhost");
        const route = routeOf(url.pathname);
        // Every request is recorded when its response has been sent, probes and scrapes too, as HTTP
        // instrumentation does: `http.route` is what tells them from user requests.
        res.once("finish", () => {
            const status = res.statusCode;
            duration.record((performance.now() - start) / 1000, {
                [ATTR_HTTP_REQUEST_METHOD]: methodAttribute(req.method),
                [ATTR_HTTP_RESPONSE_STATUS_CODE]: status,
                [ATTR_URL_SCHEME]: "http",
                [ATTR_NETWORK_PROTOCOL_VERSION]: req.httpVersion,
                ...(route === undefined ? {} : { [ATTR_HTTP_ROUTE]: route }),
                // A server's 5xx is an error, its 4xx the client's (semantic-conventions docs/http/http-spans.md, "Status").
                ...(status >= 500 ? { [ATTR_ERROR_TYPE]: String(status) } : {}),
            });
        });
        // A request body is never read: drained, so it holds no memory.
        req.resume();
        const send = (status: number, body: unknown) => {
            res.writeHead(status, { "content-type": "application/json", [VERSION_HEADER]: opts.version });
            res.end(JSON.stringify(body));
        };
        if (url.pathname === ORDERS_PATHS.metrics) return exporter.getMetricsRequestHandler(req, res);
        if (url.pathname === ORDERS_PATHS.readiness || url.pathname === ORDERS_PATHS.liveness) return send(200, { ok: true });
        if (url.pathname === "/faults") {
            if (req.method !== "PUT") return send(405, { error: "PUT /faults?errorRatio=R&addedLatencyMs=MS" });
            if (!bearerMatches(req.headers.authorization, opts.apiKey)) return send(401, { error: `PUT /faults needs Authorization: Bearer <the ${API_KEY_ENV} key>` });
            const update = faultsUpdate(url.searchParams, faults, ORDERS_FAULT_RANGES);
            faults = update.faults;
            res.writeHead(update.status, { "content-type": "application/json", [VERSION_HEADER]: opts.version });
            return res.end(update.body);
        }
        if (route === undefined) return send(404, { error: `no route ${url.pathname}` });
        const fail = random() < faults.errorRatio;
        setTimeout(() => {
            if (fail) return send(500, { error: "injected failure" });
            if (route === ORDER_ROUTES.list && req.method === "GET") return send(200, { orders: [{ id: 1 }, { id: 2 }], version: opts.version });
            if (route === ORDER_ROUTES.list && req.method === "POST") return send(201, { id: nextId++ });
            if (route === ORDER_ROUTES.one && req.method === "GET") {
                const id = url.pathname.slice(ORDER_ROUTES.list.length + 1);
                return /^[0-9]{1,12}$/.test(id) ? send(200, { id: Number(id), status: "shipped" }) : send(404, { error: `no order ${JSON.stringify(id.slice(0, 64))}` });
            }
            send(405, { error: `${req.method} is not served on ${route}` });
        }, faults.addedLatencyMs);
    });
    return { server, shutdown: () => provider.shutdown() };
}
