/**
 * `rollout serve`: the judge as an HTTP service. `GET /judge?...` answers the same `judge()` as
 * `rollout analyze` (PROMOTE, HOLD or ROLLBACK with reasons and evidence, as JSON), for whatever asks
 * over HTTP: an Argo Rollouts `web` metric, a workflow, a person with curl. Everything the judgement
 * depends on is in the request, the window's start (`since`) too, so one service judges any app and
 * stage, and a restarted judge or a second replica answers an ask as this one would: the only state is
 * the exported evidence (`metrics.ts`), which no decision reads.
 *
 * Whatever arrives, the process lives: a request it cannot read is a 4xx with the reason, a failure of
 * its own a 500, and every cap below (docs/rollout.md, "The judge service") bounds what one ask or one
 * caller can make it hold or do.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import { DEFAULT_POLICY, Llrs, stageAlpha } from "../domain/decide";
import { carryProblem, gateAnswer, parseLlrs } from "../domain/evidence";
import { durationSeconds } from "../domain/duration";
import { judgedForecast } from "../domain/forecast";
import {
    CONTRACT_RULES,
    contractLabelsProblem,
    DEFAULT_PRESET,
    DNS_LABEL,
    isContractLabel,
    isErrorStatus,
    isRouteValue,
    MAX_DEADLINE_SECONDS,
    MAX_EXCLUDED_ROUTES,
    METRIC_NAME,
    METRIC_PRESETS,
    MetricNames,
    MetricPreset,
    parseRatio,
    PRESET_NAMES,
    RouterSourceOf,
    Scope,
} from "../domain/promql";
import { MAX_RATIOS, type RatioMetric } from "../domain/ratios";
import { DEFAULT_SOURCE, isRouterSource, METRIC_SOURCES, ROUTER_SOURCES } from "../domain/routerMetrics";
import { DEFAULT_STAGES } from "../domain/stages";
import { Options, OptionSpec, stringOption, UsageError } from "../lib/args";
import { toJson } from "../lib/json";
import { hostPort, listen, systemProblem } from "../lib/system";
import { analyze, hold, NO_STAGE_AT_ZERO, parseSince, rfc3339Instant, windowSecondsOf } from "./analyze";
import { JudgeMetrics } from "./metrics";
import { httpPrometheus, PROMETHEUS_OPTION, PrometheusClient, prometheusUrl, QUERY_OPTIONS, queryOptions } from "./prometheus";

export { MAX_RATIOS };
/** The longest request target (path and query) the judge reads: longer is a 414. A stage's ask is well under 1 KiB. */
export const MAX_TARGET_BYTES = 8 * 1024;
/** The longest window (now − since) an ask may judge: a day more than the longest stage deadline, for the run's last asks and Argo's retries. Longer is a 400. */
export const MAX_WINDOW_SECONDS = MAX_DEADLINE_SECONDS + 86400;
/** Asks judged at once; one more is a 503 with Retry-After. With `MAX_RATIOS`, at most 8 × 20 Prometheus queries run at once. */
export const MAX_IN_FLIGHT = 8;
export const RETRY_AFTER_SECONDS = 1;
/** Open connections at most (Node.js refuses more): each holds a socket and its buffers. */
export const MAX_CONNECTIONS = 256;
/** The most a request's line and headers may take (Node.js answers 431 beyond it). */
export const MAX_HEADER_BYTES = 16 * 1024;
/** How long a client may take to send its headers, and its whole request; then Node.js answers 408 and closes. */
export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 15_000;
/** A connection with nothing sent either way for this long is closed (longer than any answer's Prometheus wait: --query-timeout). */
export const IDLE_TIMEOUT_MS = 60_000;
/** The shortest bearer token the judge accepts from --token-file. */
export const MIN_TOKEN_LENGTH = 32;

const RUN_ID = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** A token as it can travel in an Authorization header: visible ASCII, no spaces. */
const TOKEN = new RegExp(`^[\\x21-\\x7e]{${MIN_TOKEN_LENGTH},4096}$`);

/** What one `/judge` request asks about. */
export interface JudgeQuery {
    readonly scope: Scope;
    readonly metrics: MetricNames;
    readonly ratios: readonly RatioMetric[];
    readonly stage: { readonly weight: number; readonly stages: readonly number[]; readonly carried?: Llrs };
    /** The window's start, from the ask's `since`. */
    readonly since: Date;
    readonly run?: string;
    /** The stage's deadline in seconds (`canary:analysis.deadline`): the forecast warns when it cannot be met. */
    readonly deadlineSeconds?: number;
}

function required(p: URLSearchParams, name: string, pattern: RegExp, what: string): string {
    const v = p.get(name);
    if (v === null || v === "") throw new UsageError(`${name} is required: ${what}`);
    if (!pattern.test(v)) throw new UsageError(`${name}=${JSON.stringify(v)} is not ${what}`);
    return v;
}

/** `ratio=name,events,total,up|down` (repeated, at most `MAX_RATIOS`): the ratio metrics judged with the errors and latency. */
function ratiosOf(raws: readonly string[]): RatioMetric[] {
    if (raws.length > MAX_RATIOS) throw new UsageError(`ratio is given ${raws.length} times; the judge takes at most ${MAX_RATIOS} (each is two Prometheus queries)`);
    const ratios = raws.map((raw) => {
        try {
            return parseRatio(raw);
        } catch (e) {
            throw new UsageError(`ratio=${(e as Error).message}`);
        }
    });
    const names = ratios.map((r) => r.name);
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice !== undefined) throw new UsageError(`ratio: ${twice} is given twice; each ratio needs its own name`);
    return ratios;
}

function stagesOf(raw: string | null): number[] {
    if (raw === null) return [...DEFAULT_STAGES];
    const stages = raw.split(",").map(Number);
    const ok = stages.every((s, i) => Number.isInteger(s) && s >= 1 && s <= 100 && (i === 0 || s > stages[i - 1])) && stages[stages.length - 1] === 100;
    if (!ok) throw new UsageError(`stages=${JSON.stringify(raw)} is not strictly increasing whole percents ending in 100, e.g. 5,25,50,100`);
    return stages;
}

/** The contract's parameters the judge read before it had presets: refused, so an old ask is not judged on another histogram. */
const RETIRED_CONTRACT_PARAMS: Readonly<Record<string, string>> = { duration: "histogram", excludedPaths: "excludedRoutes" };

/**
 * The metric contract of an ask (`canary:metrics` resolved, as `judgeUrl` writes it): `preset` (default
 * prom-client) and each part in place of the preset's: `histogram`, `statusLabel`, `routeLabel`,
 * `errorStatus` and `excludedRoutes` (comma-separated, empty for none). Checked by the stack config's
 * rules, since every value is written into the queries.
 */
function metricsOf(p: URLSearchParams): MetricNames {
    for (const [old, now] of Object.entries(RETIRED_CONTRACT_PARAMS)) {
        if (p.has(old)) throw new UsageError(`${old} is no longer read: the metric contract is ${now}= (and statusLabel, routeLabel, errorStatus, or preset=)`);
    }
    const preset = p.get("preset") ?? DEFAULT_PRESET;
    if (!(PRESET_NAMES as string[]).includes(preset)) throw new UsageError(`preset=${JSON.stringify(preset)} is not one of ${PRESET_NAMES.join(", ")}`);
    const base = METRIC_PRESETS[preset as MetricPreset];
    const one = (name: keyof MetricNames, ok: (v: string) => boolean, what: string): string | undefined => {
        const v = p.get(name);
        if (v !== null && !ok(v)) throw new UsageError(`${name}=${JSON.stringify(v)} is not ${what}`);
        return v ?? undefined;
    };
    const routesRaw = p.get("excludedRoutes");
    const excludedRoutes = routesRaw === null ? base.excludedRoutes : routesRaw === "" ? [] : routesRaw.split(",", MAX_EXCLUDED_ROUTES + 1);
    if (excludedRoutes.length > MAX_EXCLUDED_ROUTES) throw new UsageError(`excludedRoutes lists more than ${MAX_EXCLUDED_ROUTES} routes`);
    const badRoute = excludedRoutes.find((r) => !isRouteValue(r));
    if (badRoute !== undefined) throw new UsageError(`excludedRoutes: ${JSON.stringify(badRoute)} is not ${CONTRACT_RULES.route}`);
    const m: MetricNames = {
        histogram: one("histogram", (v) => METRIC_NAME.test(v), "a Prometheus metric name") ?? base.histogram,
        statusLabel: one("statusLabel", isContractLabel, CONTRACT_RULES.label) ?? base.statusLabel,
        routeLabel: one("routeLabel", isContractLabel, CONTRACT_RULES.label) ?? base.routeLabel,
        errorStatus: one("errorStatus", isErrorStatus, CONTRACT_RULES.errorStatus) ?? base.errorStatus,
        excludedRoutes,
    };
    const labels = contractLabelsProblem(m);
    if (labels) throw new UsageError(`statusLabel, routeLabel: ${labels}`);
    const router = routerOf(p);
    return router ? { ...m, router } : m;
}

/**
 * The ask's metric source (`canary:metrics.source`, as `judgeUrl` writes it): `source` app (the default)
 * or a router, whose backends `port` (the app's Service port) names.
 */
function routerOf(p: URLSearchParams): RouterSourceOf | undefined {
    const source = p.get("source") ?? DEFAULT_SOURCE;
    const port = p.get("port");
    if (!(METRIC_SOURCES as readonly string[]).includes(source)) throw new UsageError(`source=${JSON.stringify(source)} is not one of ${METRIC_SOURCES.join(", ")}`);
    if (!isRouterSource(source)) {
        if (port !== null) throw new UsageError(`port=${JSON.stringify(port)} is read only with a router source (source=${ROUTER_SOURCES.join("|")}): the app's own series need no port`);
        return undefined;
    }
    if (port === null || !/^[1-9][0-9]{0,4}$/.test(port) || Number(port) > 65535) throw new UsageError(`port=${JSON.stringify(port)} is not the app's Service port (1 to 65535), which names the ${source} router's backends`);
    return { name: source, port: Number(port) };
}

/**
 * The window's start. With `run` (the stage's AnalysisRun), the instant the stack wrote into the run: the
 * same for every replica and after a restart. It may be ahead of this judge's clock (the stack's machine
 * runs ahead); the answer is then HOLD (`judgement`), not a 400, which Argo would count as an Error.
 * Without `run` (a person), also a duration back from now, as `rollout analyze --since`.
 */
function sinceOf(raw: string | null, run: string | null, now: Date): Date {
    if (raw === null || raw === "") {
        throw new UsageError(
            run !== null
                ? "since is required with run: the run's window start, the RFC 3339 instant the stack wrote into the run (e.g. 2026-12-06T21:00:00Z)"
                : "since is required: the window's start, an RFC 3339 instant (2026-12-06T21:00:00Z) or a duration back from now (15m)",
        );
    }
    let since: Date;
    if (run !== null) {
        const t = rfc3339Instant(raw);
        if (t === undefined) throw new UsageError(`since=${JSON.stringify(raw)} is not an RFC 3339 instant with its zone (e.g. 2026-12-06T21:00:00Z): with run, the window's start is the one the stack wrote into the run`);
        since = t;
    } else {
        try {
            since = parseSince(raw, now);
        } catch (e) {
            throw e instanceof UsageError ? new UsageError(e.message.replace(/^--since /, "since=")) : e;
        }
    }
    // Any duration parses, so a huge one is an invalid date or a window Prometheus would read for ages.
    if (Number.isNaN(since.getTime()) || now.getTime() - since.getTime() > MAX_WINDOW_SECONDS * 1000) {
        throw new UsageError(`since=${JSON.stringify(raw)} starts a window longer than the judge reads (${MAX_WINDOW_SECONDS / 86400}d: a stage's deadline is at most ${MAX_DEADLINE_SECONDS / 86400}d)`);
    }
    return since;
}

/**
 * Reads a `/judge` request's query. `since` is the window's start; `run` (the AnalysisRun's name) files
 * the answer's evidence under the run. `carry` (`errors:-3.05,latency:-4.1`, or empty) is the evidence
 * the stage's tests go on from. Pure: the same query at the same time is the same question.
 */
export function judgeQuery(params: URLSearchParams, now: Date): JudgeQuery {
    const scope = {
        namespace: required(params, "namespace", DNS_LABEL, "the app's namespace (a DNS label)"),
        app: required(params, "app", DNS_LABEL, "the app's name (a DNS label)"),
    };
    const stages = stagesOf(params.get("stages"));
    const weight = Number(required(params, "weight", /^\d+$/, "the stage's canary weight"));
    if (weight === 0) throw new UsageError(`weight=0: ${NO_STAGE_AT_ZERO}`);
    if (!stages.includes(weight)) throw new UsageError(`weight=${weight} is not one of the stages ${stages.join(",")}: only a stage above 0 is judged`);
    const metrics = metricsOf(params);
    let carried: Llrs | undefined;
    try {
        carried = parseLlrs(params.get("carry") ?? "");
    } catch (e) {
        throw new UsageError(`carry: ${(e as Error).message} (the evidence carried from the stages before, or empty)`);
    }
    const problem = carryProblem(carried, weight, stages);
    if (problem) throw new UsageError(`carry: ${problem}`);
    const run = params.get("run");
    if (run !== null && !RUN_ID.test(run)) throw new UsageError(`run=${JSON.stringify(run)} is not a Kubernetes object name`);
    const since = sinceOf(params.get("since"), run, now);
    const ratios = ratiosOf(params.getAll("ratio"));
    const deadline = params.get("deadline");
    let deadlineSeconds: number | undefined;
    try {
        deadlineSeconds = deadline === null ? undefined : durationSeconds(deadline);
    } catch (e) {
        throw new UsageError(`deadline=: ${(e as Error).message} (the stage's canary:analysis.deadline)`);
    }
    if (deadlineSeconds !== undefined && deadlineSeconds > MAX_DEADLINE_SECONDS) throw new UsageError(`deadline=${deadline} is longer than a stage's deadline may be (${MAX_DEADLINE_SECONDS / 86400}d)`);
    return {
        scope,
        metrics,
        ratios,
        stage: { weight, stages, ...(carried ? { carried } : {}) },
        since,
        ...(run !== null ? { run } : {}),
        ...(deadlineSeconds !== undefined ? { deadlineSeconds } : {}),
    };
}

export interface JudgeServerOptions {
    readonly prometheus: PrometheusClient;
    readonly scrapeIntervalSeconds: number;
    readonly now: () => Date;
    /**
     * Where the judge says why it refused a question: Argo records only "received non 2xx response
     * code: 400" for the run, so the reason is in the judge's log (`kubectl logs`).
     */
    readonly log: (line: string) => void;
    /** The bearer token every `GET /judge` must carry; undefined: none needed (`judgeSettings` allows that on loopback only). */
    readonly token?: string;
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(`${toJson(body)}\n`);
}

const sha256 = (s: string) => crypto.createHash("sha256").update(s).digest();

/**
 * Whether `authorization` is `Bearer <token>` with the expected token, compared in constant time: both
 * sides are hashed first, so the buffers are of equal length whatever was sent and the time says
 * nothing of the token's length or its first differing byte.
 */
export function bearerMatches(authorization: string | undefined, expected: Buffer): boolean {
    const m = /^Bearer +(\S+) *$/i.exec(authorization ?? "");
    return m !== null && crypto.timingSafeEqual(sha256(m[1]), expected);
}

/** The status and reason Node.js gives a request it could not read (its own codes; the default answer has no reason). */
function clientProblem(e: NodeJS.ErrnoException): [number, string] {
    if (e.code === "HPE_HEADER_OVERFLOW") return [431, `the request line and headers are longer than ${MAX_HEADER_BYTES} bytes`];
    if (e.code === "HPE_HEADERS_TIMEOUT" || e.code === "ERR_HTTP_REQUEST_TIMEOUT") return [408, "the request took too long to arrive"];
    return [400, `not an HTTP request the judge can read (${e.code ?? e.message})`];
}

/**
 * The HTTP server: `GET /judge` (200 with the judgement and its forecast; 400 with `{error}` for a bad
 * query, which an Argo web metric records as an Error measurement, not as a decision; 401 without the
 * token; 503 when `MAX_IN_FLIGHT` asks are being judged), `GET /metrics` (each run's evidence,
 * `metrics.ts`) and `GET /healthz`. No request reaches an unhandled exception: what the handler throws
 * is a 500 and the process goes on.
 */
export function judgeServer(o: JudgeServerOptions): http.Server {
    const metrics = new JudgeMetrics();
    const expected = o.token === undefined ? undefined : sha256(o.token);
    let inFlight = 0;

    const judge = async (params: URLSearchParams, target: string, res: http.ServerResponse) => {
        const now = o.now();
        let q: JudgeQuery;
        try {
            q = judgeQuery(params, now);
        } catch (e) {
            if (!(e instanceof UsageError)) throw e;
            o.log(`judge: 400 for GET ${target}: ${e.message}`);
            return send(res, 400, { error: e.message });
        }
        const j =
            q.since > now
                ? hold(`the window starts at ${q.since.toISOString()}, after the judge's clock (${now.toISOString()}): nothing to judge yet; is this judge's clock behind the clock that wrote the run?`)
                : await analyze({ prometheus: o.prometheus, metrics: q.metrics, ratios: q.ratios, scope: q.scope, since: q.since, now, stage: q.stage, scrapeIntervalSeconds: o.scrapeIntervalSeconds });
        const forecast = judgedForecast(j, { windowSeconds: windowSecondsOf(q.since, now), weight: q.stage.weight, stages: q.stage.stages, deadlineSeconds: q.deadlineSeconds, policy: DEFAULT_POLICY });
        if (q.run) metrics.record(q.run, q.scope, q.stage.weight, j, forecast, now);
        // `gate` is what the stage's Argo web metric reads and its run keeps (the measurement's value):
        // the decision, why, and the evidence that promotion carries on.
        send(res, 200, { gate: gateAnswer(j, stageAlpha(DEFAULT_POLICY, q.stage)), ...j, forecast: forecast ?? null, since: q.since.toISOString(), now: now.toISOString(), ...(q.run ? { run: q.run } : {}) });
    };

    const answer = async (req: http.IncomingMessage, res: http.ServerResponse) => {
        const target = req.url ?? "";
        if (target.length > MAX_TARGET_BYTES) return send(res, 414, { error: `the request target is ${target.length} bytes; the judge reads at most ${MAX_TARGET_BYTES}` });
        // Origin form only (RFC 9112 3.2.1): `new URL` of `//[` throws, and the judge serves no proxy forms.
        if (!target.startsWith("/")) return send(res, 400, { error: `the request target ${JSON.stringify(target.slice(0, 100))} is not a path: GET /judge?..., /metrics or /healthz` });
        const q = target.indexOf("?");
        const pathname = q < 0 ? target : target.slice(0, q);
        if (req.method !== "GET") return send(res, 405, { error: `${req.method} is not allowed: GET /judge, /metrics or /healthz` }, { allow: "GET" });
        if (pathname === "/healthz") return send(res, 200, { ok: true });
        if (pathname === "/metrics") {
            // Expired runs go at a scrape too, so a judge nobody asks any more sheds them.
            metrics.prune(o.now());
            const text = await metrics.registry.metrics();
            res.writeHead(200, { "content-type": metrics.registry.contentType });
            res.end(text);
            return;
        }
        if (pathname !== "/judge") return send(res, 404, { error: `no ${JSON.stringify(pathname.slice(0, 100))}: GET /judge?namespace=...&app=...&weight=...&since=...` });
        // Before the query is read: an ask without the token learns nothing and changes nothing.
        if (expected !== undefined && !bearerMatches(req.headers.authorization, expected)) {
            const why = req.headers.authorization === undefined ? "no Authorization header" : "not the judge's bearer token";
            o.log(`judge: 401 for GET /judge from ${req.socket.remoteAddress ?? "?"}: ${why}`);
            return send(res, 401, { error: `${why}: GET /judge needs Authorization: Bearer <the token of the judge's --token-file>` }, { "www-authenticate": "Bearer" });
        }
        if (inFlight >= MAX_IN_FLIGHT) {
            o.log(`judge: 503 for GET /judge: ${MAX_IN_FLIGHT} asks are being judged`);
            return send(res, 503, { error: `the judge is judging ${MAX_IN_FLIGHT} asks already; ask again` }, { "retry-after": String(RETRY_AFTER_SECONDS) });
        }
        inFlight++;
        try {
            await judge(new URLSearchParams(q < 0 ? "" : target.slice(q + 1)), target, res);
        } finally {
            inFlight--;
        }
    };

    const server = http.createServer(
        // The timeouts are checked every connectionsCheckingInterval (30 s by default): every 2 s keeps them near their values.
        { maxHeaderSize: MAX_HEADER_BYTES, headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: 2000 },
        (req, res) => {
            answer(req, res).catch((e: Error) => {
                o.log(`judge: 500 for ${req.method} ${(req.url ?? "").slice(0, 200)}: ${e.stack ?? e.message}`);
                if (res.headersSent) res.destroy();
                else send(res, 500, { error: `the judge failed: ${e.message}` });
            });
        },
    );
    server.maxConnections = MAX_CONNECTIONS;
    server.setTimeout(IDLE_TIMEOUT_MS);
    // Node.js's own answer to a request it cannot parse is a bare 400; this one says why.
    server.on("clientError", (e: NodeJS.ErrnoException, socket: net.Socket) => {
        if (e.code === "ECONNRESET" || !socket.writable) return void socket.destroy();
        const [status, reason] = clientProblem(e);
        const body = `${toJson({ error: reason })}\n`;
        socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    });
    return server;
}

/** The judge's options, the same for `rollout serve` and the judge's own entry point (`judgeMain.ts`). */
export const SERVE_OPTIONS: readonly OptionSpec[] = [
    PROMETHEUS_OPTION,
    ...QUERY_OPTIONS,
    { name: "listen", value: "HOST:PORT", help: "where to listen (default 127.0.0.1:8080; 0.0.0.0:8080 in a pod)" },
    {
        name: "token-file",
        value: "PATH",
        help: `the bearer token every GET /judge must carry (Authorization: Bearer <token>; the file's content, at least ${MIN_TOKEN_LENGTH} characters); required unless --listen is a loopback address`,
    },
];

export interface JudgeSettings {
    readonly prometheusUrl: string;
    readonly queryTimeoutMs: number;
    readonly scrapeIntervalSeconds: number;
    readonly host: string;
    readonly port: number;
    /** Undefined only on a loopback address. */
    readonly token?: string;
}

/** 127.0.0.0/8, ::1 and localhost: where only this machine's own processes can ask. */
export function isLoopback(host: string): boolean {
    return host === "localhost" || host === "::1" || (net.isIPv4(host) && host.startsWith("127."));
}

/** The token in `file` (surrounding whitespace trimmed), never echoed in a message. */
function readToken(file: string): string {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        const problem = systemProblem(e, `serve: cannot read --token-file ${file}`);
        if (problem === undefined) throw e;
        throw new UsageError(problem);
    }
    const token = text.trim();
    if (!TOKEN.test(token)) throw new UsageError(`serve: --token-file ${file} holds no usable token: it must be ${MIN_TOKEN_LENGTH} to 4096 visible ASCII characters, without spaces`);
    return token;
}

/** The judge's settings from its options, each checked before it listens. */
export function judgeSettings(o: Options): JudgeSettings {
    const prometheus = stringOption(o, "prometheus");
    if (prometheus === undefined) throw new UsageError("serve: --prometheus URL is required");
    const listenAt = stringOption(o, "listen") ?? "127.0.0.1:8080";
    const [, bracketed, port] = /^(.+):(\d{1,5})$/.exec(listenAt) ?? [];
    if (bracketed === undefined || Number(port) > 65535) throw new UsageError(`serve: --listen ${JSON.stringify(listenAt)} is not HOST:PORT, e.g. 0.0.0.0:8080`);
    // `[::1]:8080` as in a URL; the host to listen on is the address inside the brackets.
    const host = bracketed.replace(/^\[(.*)\]$/, "$1");
    const tokenFile = stringOption(o, "token-file");
    if (tokenFile === undefined && !isLoopback(host)) {
        throw new UsageError(`serve: --listen ${listenAt} is not a loopback address, and without --token-file anyone who reaches it could ask: give --token-file PATH (the bearer token every GET /judge must carry), or listen on 127.0.0.1, ::1 or localhost`);
    }
    return { prometheusUrl: prometheusUrl(prometheus), ...queryOptions(o), host, port: Number(port), ...(tokenFile !== undefined ? { token: readToken(tokenFile) } : {}) };
}

/** What the judge needs from outside: where to say it listens and why it refused a question, the clock, and when to stop. */
export interface JudgeIo {
    readonly err: (line: string) => void;
    readonly now: () => Date;
    /** Resolves when the judge should stop (SIGTERM or SIGINT in a process). */
    readonly stopped: () => Promise<void>;
    readonly prometheus?: (url: string, timeoutMs: number) => PrometheusClient;
}

/** Runs the judge until `io.stopped()`, then closes it cleanly. */
export async function runJudge(s: JudgeSettings, io: JudgeIo): Promise<void> {
    const client = (io.prometheus ?? httpPrometheus)(s.prometheusUrl, s.queryTimeoutMs);
    const server = judgeServer({ prometheus: client, scrapeIntervalSeconds: s.scrapeIntervalSeconds, now: io.now, log: io.err, ...(s.token !== undefined ? { token: s.token } : {}) });
    const address = await listen(server, s.host, s.port, "--listen HOST:PORT");
    const where = `http://${hostPort(address.address, address.port)}`;
    io.err(`judge listening on ${where} (GET /judge${s.token === undefined ? "" : " with the bearer token"}, /metrics, /healthz)`);
    if (s.token === undefined) io.err(`judge: no --token-file: GET /judge answers any process on this machine without a token (loopback only)`);
    await io.stopped();
    await new Promise((r) => server.close(r));
}

/** Stops on SIGTERM (the kubelet's) or SIGINT. */
export const untilSignalled = (): Promise<void> => new Promise((resolve) => ["SIGTERM", "SIGINT"].forEach((signal) => process.once(signal, () => resolve())));
