/**
 * Traffic during a stage's analysis: an open-loop load at a fixed rate through the router's entry,
 * so the stage's weights split it, for a bounded time. What the stage's load-test Job runs
 * (`loadMain.ts`, bundled with the judge's image); no state beyond its counters.
 */
import * as http from "http";
import * as https from "https";
import { httpUrlOption, numberOption, Options, OptionSpec, stringOption, UsageError } from "../lib/args";
import { durationOption } from "./options";
import { MAX_DEADLINE_SECONDS } from "../domain/promql";

export const LOAD_OPTIONS: readonly OptionSpec[] = [
    { name: "target", value: "URL", help: "the router's entry, http:// or https:// (required)" },
    { name: "host", value: "HOST", help: "the app's host: the Host header and, over https, the TLS server name (required)" },
    { name: "rate", value: "N", help: "requests per second (default 10)" },
    { name: "duration", value: "30m", help: "how long to send (default 30m; at most the longest stage deadline, 7 days), then exit 0" },
    { name: "path", value: "/", help: "the request path (default /)" },
    { name: "headers", value: "JSON", help: 'more request headers as a JSON object, e.g. {"user-agent":"smoke"}' },
];

export interface LoadSettings {
    readonly target: URL;
    readonly host: string;
    readonly rate: number;
    readonly durationMs: number;
    readonly path: string;
    readonly headers: Record<string, string>;
}

/** The load's settings, each checked before the first request. */
export function loadSettings(o: Options): LoadSettings {
    const raw = stringOption(o, "target");
    const host = stringOption(o, "host");
    if (raw === undefined) throw new UsageError("load: --target URL is required");
    if (host === undefined) throw new UsageError("load: --host HOST is required");
    const target = httpUrlOption("target", raw, "https://envoy.gateway-system.svc:443", "load: ");
    const path = stringOption(o, "path") ?? "/";
    if (!path.startsWith("/")) throw new UsageError(`load: --path ${JSON.stringify(path)} must start with /`);
    let headers: Record<string, string> = {};
    const rawHeaders = stringOption(o, "headers");
    if (rawHeaders !== undefined) {
        let parsed: unknown;
        try {
            parsed = JSON.parse(rawHeaders);
        } catch {
            parsed = undefined;
        }
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== "string")) {
            throw new UsageError(`load: --headers ${JSON.stringify(rawHeaders)} is not a JSON object of strings`);
        }
        headers = parsed as Record<string, string>;
    }
    return { target, host, rate: numberOption(o, "rate", 10, 0.1, 10_000), durationMs: durationOption(o, "duration", 30 * 60_000, 1000, MAX_DEADLINE_SECONDS * 1000), path, headers };
}

/**
 * One request's options: to the entry's address, with the app's host as Host header and TLS server
 * name (the router picks the app by them), and no certificate check, as the entry's certificate is the
 * app host's (self-signed in dev), not the entry's own name.
 */
export function requestOptions(s: LoadSettings): https.RequestOptions {
    return {
        protocol: s.target.protocol,
        hostname: s.target.hostname,
        port: Number(s.target.port) || (s.target.protocol === "https:" ? 443 : 80),
        path: s.path,
        method: "GET",
        headers: { ...s.headers, host: s.host, "user-agent": "canary-load" },
        ...(s.target.protocol === "https:" ? { servername: s.host, rejectUnauthorized: false } : {}),
    };
}

/** Responses by status class, and requests that got no response. */
export type LoadCounts = Record<"1xx" | "2xx" | "3xx" | "4xx" | "5xx" | "failed", number>;

/** Sends `rate` requests a second for `durationMs`, without waiting for answers (open loop), and resolves with the counts once every request ended. */
export async function runLoad(s: LoadSettings, report: (counts: LoadCounts) => void, reportEveryMs = 30_000): Promise<LoadCounts> {
    const counts: LoadCounts = { "1xx": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0, failed: 0 };
    const client = s.target.protocol === "https:" ? https : http;
    const agent = new client.Agent({ keepAlive: true, maxSockets: 64 });
    const options = { ...requestOptions(s), agent };
    const inFlight = new Set<Promise<void>>();
    const send = () => {
        const done = new Promise<void>((resolve) => {
            const req = client.request(options, (res) => {
                const statusClass = Math.floor((res.statusCode ?? 0) / 100);
                counts[statusClass >= 1 && statusClass <= 5 ? (`${statusClass}xx` as keyof LoadCounts) : "failed"]++;
                res.resume();
                res.on("end", resolve);
                res.on("error", resolve);
            });
            req.setTimeout(10_000, () => req.destroy(new Error("timeout")));
            req.on("error", () => (counts.failed++, resolve()));
            req.end();
        });
        inFlight.add(done);
        void done.then(() => inFlight.delete(done));
    };
    const start = Date.now();
    const progress = setInterval(() => report({ ...counts }), reportEveryMs);
    let sent = 0;
    // Ticks of 100 ms send what the rate owes by then, so a slow tick does not lower the rate.
    await new Promise<void>((resolve) => {
        const tick = setInterval(() => {
            const elapsed = Date.now() - start;
            const owed = Math.floor((Math.min(elapsed, s.durationMs) / 1000) * s.rate);
            for (; sent < owed; sent++) send();
            if (elapsed >= s.durationMs) (clearInterval(tick), resolve());
        }, 100);
    });
    clearInterval(progress);
    await Promise.all(inFlight);
    agent.destroy();
    return counts;
}
