/**
 * A demo app that serves the metric contract (`http_request_duration_seconds{method, path, status}`,
 * and podinfo's `http_requests_total{status}`) with fault injection, for trying `rollout analyze` locally and
 * for the end-to-end test. Not part of what the Pulumi program deploys (that is podinfo by default).
 *
 * It also serves a business metric's pair of counters: `GET /checkout` counts `checkouts_total`, and
 * a checkout that fails (a declined payment, answered 200 with `{"ok":false}`: no 5xx for the errors
 * test to see) counts `checkouts_failed_total`; `canary:analysis.ratios` judges the pair.
 */
import * as http from "http";
import * as client from "prom-client";
import { FaultRanges, faultsUpdate, VERSION_HEADER } from "./faults";

export interface Faults {
    /** Share of requests answered 500, 0..1 (default 0). */
    readonly errorRatio: number;
    /** Latency added to every request, in milliseconds (default 0). */
    readonly addedLatencyMs: number;
    /** Share of checkouts that fail, 0..1 (some always do: cards are declined). */
    readonly checkoutFailRatio: number;
}

/** The faults when none are given: no 5xx, no added latency, 2% of checkouts declined. */
export const DEFAULT_FAULTS: Faults = { errorRatio: 0, addedLatencyMs: 0, checkoutFailRatio: 0.02 };

/** The demo's business metric, as `canary:analysis.ratios` names it (docs/rollout.md, "Trying it on this machine"). */
export const CHECKOUT_RATIO = { name: "checkout-failures", events: "checkouts_failed_total", total: "checkouts_total", bad: "up" } as const;

export interface AppOptions extends Faults {
    /** Reported as `app_info{version}`; the pod label carries it in a cluster. */
    readonly version: string;
    /** Random source for fault injection (default Math.random), injectable for tests. */
    readonly random?: () => number;
}

/** Podinfo's buckets, so the demo's histogram has the shape the analysis sees in a cluster. */
export const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The `path` label as podinfo writes it: the path with every run of non-alphanumerics as `_`,
 * trimmed, lower-cased, `root` for `/` (stefanprodan/podinfo pkg/api/http/metrics.go, urlToLabel).
 */
export function pathLabel(pathname: string): string {
    return pathname.replace(/[^a-zA-Z0-9]+/g, "_").replace(/^_+|_+$/g, "").toLowerCase() || "root";
}

export function createApp(opts: AppOptions): http.Server {
    const registry = new client.Registry();
    // Like podinfo's middleware, every route is observed, probes and scrapes included: the histogram's
    // `path` label is what tells them from user requests; the status-only counter cannot.
    const requests = new client.Counter({ name: "http_requests_total", help: "HTTP requests by status", labelNames: ["status"], registers: [registry] });
    const duration = new client.Histogram({
        name: "http_request_duration_seconds",
        help: "HTTP request duration",
        labelNames: ["method", "path", "status"],
        buckets: BUCKETS,
        registers: [registry],
    });
    new client.Gauge({ name: "app_info", help: "the running version", labelNames: ["version"], registers: [registry] }).set({ version: opts.version }, 1);
    // Created at 0, like the statuses below: a series that first appears with a count already in it
    // loses those events to `increase()`, which cannot see where a new series started.
    const checkouts = new client.Counter({ name: CHECKOUT_RATIO.total, help: "checkouts attempted", registers: [registry] });
    const checkoutsFailed = new client.Counter({ name: CHECKOUT_RATIO.events, help: "checkouts that failed (payment declined)", registers: [registry] });
    for (const status of ["200", "500"]) {
        requests.inc({ status }, 0);
        for (const path of ["root", "checkout"]) duration.zero({ method: "GET", path, status });
    }
    const random = opts.random ?? Math.random;
    let faults: Faults = { errorRatio: opts.errorRatio, addedLatencyMs: opts.addedLatencyMs, checkoutFailRatio: opts.checkoutFailRatio };

    /** Answers and records the request as podinfo's middleware does. */
    const answer = (req: http.IncomingMessage, res: http.ServerResponse, path: string, stop: (labels: Record<string, string>) => number, status: number, type: string, body: string) => {
        res.writeHead(status, { "content-type": type, [VERSION_HEADER]: opts.version });
        res.end(body);
        requests.inc({ status: String(status) });
        stop({ method: req.method ?? "GET", path: pathLabel(path), status: String(status) });
    };

    return http.createServer((req, res) => {
        const url = new URL(req.url ?? "/", "http://localhost");
        const stop = duration.startTimer();
        if (url.pathname === "/metrics") {
            registry.metrics().then((body) => answer(req, res, url.pathname, stop, 200, registry.contentType, body));
            return;
        }
        if (url.pathname === "/healthz" || url.pathname === "/readyz") {
            answer(req, res, url.pathname, stop, 200, "text/plain", "ok\n");
            return;
        }
        if (url.pathname === "/faults" && req.method === "PUT") {
            // Change the injected faults at run time: PUT /faults?errorRatio=0.2&addedLatencyMs=50.
            const update = faultsUpdate(url.searchParams, faults, FAULT_RANGES);
            faults = update.faults;
            answer(req, res, url.pathname, stop, update.status, "application/json", update.body);
            return;
        }
        const fail = random() < faults.errorRatio;
        setTimeout(() => {
            if (fail) return answer(req, res, url.pathname, stop, 500, "text/plain", "injected failure\n");
            if (url.pathname !== "/checkout") return answer(req, res, url.pathname, stop, 200, "text/plain", `hello from ${opts.version}\n`);
            const declined = random() < faults.checkoutFailRatio;
            checkouts.inc();
            if (declined) checkoutsFailed.inc();
            answer(req, res, url.pathname, stop, 200, "application/json", JSON.stringify(declined ? { ok: false, reason: "payment declined" } : { ok: true }));
        }, faults.addedLatencyMs);
    });
}

/** The fault keys and their ranges. */
export const FAULT_RANGES: FaultRanges<keyof Faults> = { errorRatio: [0, 1], addedLatencyMs: [0, 60_000], checkoutFailRatio: [0, 1] };
