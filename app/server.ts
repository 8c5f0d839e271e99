/**
 * A demo app that serves the metric contract (`http_requests_total{status}`,
 * `http_request_duration_seconds`) with fault injection, for trying `rollout analyze` locally and
 * for the end-to-end test. Not part of what the Pulumi program deploys (that is podinfo by default).
 */
import * as http from "http";
import * as client from "prom-client";

export interface Faults {
    /** Share of requests answered 500, 0..1 (default 0). */
    readonly errorRatio: number;
    /** Latency added to every request, in milliseconds (default 0). */
    readonly addedLatencyMs: number;
}

export interface AppOptions extends Faults {
    /** Reported as `app_info{version}`; the pod label carries it in a cluster. */
    readonly version: string;
    /** Random source for fault injection (default Math.random), injectable for tests. */
    readonly random?: () => number;
}

/** Podinfo's buckets, so the demo's histogram has the shape the analysis sees in a cluster. */
export const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createApp(opts: AppOptions): http.Server {
    const registry = new client.Registry();
    const requests = new client.Counter({ name: "http_requests_total", help: "HTTP requests by status", labelNames: ["status"], registers: [registry] });
    const duration = new client.Histogram({ name: "http_request_duration_seconds", help: "HTTP request duration", buckets: BUCKETS, registers: [registry] });
    new client.Gauge({ name: "app_info", help: "the running version", labelNames: ["version"], registers: [registry] }).set({ version: opts.version }, 1);
    // Zero-initialise the statuses the app answers: a series that first appears with a count already in
    // it loses those requests to `increase()`, which cannot see where a new series started.
    for (const status of ["200", "500"]) requests.inc({ status }, 0);
    const random = opts.random ?? Math.random;
    let faults: Faults = { errorRatio: opts.errorRatio, addedLatencyMs: opts.addedLatencyMs };

    return http.createServer((req, res) => {
        const url = new URL(req.url ?? "/", "http://localhost");
        if (url.pathname === "/metrics") {
            registry.metrics().then((body) => {
                res.writeHead(200, { "content-type": registry.contentType });
                res.end(body);
            });
            return;
        }
        if (url.pathname === "/healthz" || url.pathname === "/readyz") {
            res.writeHead(200, { "content-type": "text/plain" });
            res.end("ok\n");
            return;
        }
        if (url.pathname === "/faults" && req.method === "PUT") {
            // Change the injected faults at run time: PUT /faults?errorRatio=0.2&addedLatencyMs=50.
            // A bad value changes nothing and is answered 400 with the reason; the app keeps serving.
            try {
                faults = parseFaults(url.searchParams, faults);
            } catch (e) {
                res.writeHead(400, { "content-type": "application/json" });
                res.end(JSON.stringify({ error: (e as Error).message, faults }));
                return;
            }
            res.writeHead(200, { "content-type": "application/json" });
            res.end(JSON.stringify(faults));
            return;
        }
        const stop = duration.startTimer();
        const fail = random() < faults.errorRatio;
        setTimeout(() => {
            const status = fail ? 500 : 200;
            res.writeHead(status, { "content-type": "text/plain" });
            res.end(fail ? "injected failure\n" : `hello from ${opts.version}\n`);
            requests.inc({ status: String(status) });
            stop();
        }, faults.addedLatencyMs);
    });
}

/** The fault keys and their ranges. */
export const FAULT_RANGES: Readonly<Record<keyof Faults, readonly [number, number]>> = { errorRatio: [0, 1], addedLatencyMs: [0, 60_000] };

/** Fault settings from query parameters; a bad or unknown key is an error naming it. */
export function parseFaults(params: URLSearchParams, base: Faults): Faults {
    for (const key of params.keys()) {
        if (!(key in FAULT_RANGES)) throw new Error(`unknown fault ${JSON.stringify(key)}: the faults are ${Object.keys(FAULT_RANGES).join(", ")}`);
    }
    const num = (key: keyof Faults): number => {
        const raw = params.get(key);
        if (raw === null) return base[key];
        const [min, max] = FAULT_RANGES[key];
        const v = Number(raw);
        if (raw.trim() === "" || !Number.isFinite(v) || v < min || v > max) throw new Error(`${key}=${raw}: must be a number from ${min} to ${max}`);
        return v;
    };
    return { errorRatio: num("errorRatio"), addedLatencyMs: num("addedLatencyMs") };
}
