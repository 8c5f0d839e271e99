/**
 * `rollout serve`: the judge as an HTTP service. `GET /judge?...` answers the same `judge()` as
 * `rollout analyze` (PROMOTE, HOLD or ROLLBACK with reasons and evidence, as JSON), for whatever asks
 * over HTTP: an Argo Rollouts `web` metric, a workflow, a person with curl. Everything the judgement
 * depends on is in the request, so one service judges any app and stage; the only state is when each
 * run was first seen, which starts its window (until the run's decision ends it).
 */
import * as http from "http";
import { DEFAULT_POLICY, Llrs, stageAlpha } from "../domain/decide";
import { carryProblem, gateAnswer, parseLlrs } from "../domain/evidence";
import { judgedForecast } from "../domain/forecast";
import { DEFAULT_METRICS, DNS_LABEL, durationSeconds, METRIC_NAME, MetricNames, parseRatio, Scope } from "../domain/promql";
import type { RatioMetric } from "../domain/ratios";
import { DEFAULT_STAGES } from "../domain/stages";
import { Options, OptionSpec, stringOption, UsageError } from "../lib/args";
import { toJson } from "../lib/json";
import { hostPort, listen } from "../lib/system";
import { analyze, parseSince, windowSecondsOf } from "./analyze";
import { JudgeMetrics } from "./metrics";
import { httpPrometheus, PROMETHEUS_OPTION, PrometheusClient, prometheusUrl, QUERY_OPTIONS, queryOptions } from "./prometheus";

const RUN_ID = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const PATH_LABEL = /^[^"\\\s,]+$/;

/** What one `/judge` request asks about. */
export interface JudgeQuery {
    readonly scope: Scope;
    readonly metrics: MetricNames;
    readonly ratios: readonly RatioMetric[];
    readonly stage: { readonly weight: number; readonly stages: readonly number[]; readonly carried?: Llrs };
    /** The window's start: `since`, or when the judge first saw `run`. */
    readonly since: Date;
    readonly run?: string;
    /** The stage's deadline in seconds (`canary:analysis.deadline`): the forecast warns when it cannot be met. */
    readonly deadlineSeconds?: number;
}

/** Where each run's window starts: the first time the judge was asked about it since its last PROMOTE or ROLLBACK. */
export type RunStarts = Map<string, Date>;

function required(p: URLSearchParams, name: string, pattern: RegExp, what: string): string {
    const v = p.get(name);
    if (v === null || v === "") throw new UsageError(`${name} is required: ${what}`);
    if (!pattern.test(v)) throw new UsageError(`${name}=${JSON.stringify(v)} is not ${what}`);
    return v;
}

/** `ratio=name,events,total,up|down` (repeated): the ratio metrics judged with the errors and latency. */
function ratiosOf(raws: readonly string[]): RatioMetric[] {
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

/**
 * Reads a `/judge` request's query. `run` (the AnalysisRun's name) starts its window when first seen;
 * `since` (RFC 3339 or a duration back from now) gives it explicitly. Exactly one of the two. `carry`
 * (`errors:-3.05,latency:-4.1`, or empty) is the evidence the stage's tests go on from.
 */
export function judgeQuery(params: URLSearchParams, now: Date, runs: RunStarts): JudgeQuery {
    const scope = {
        namespace: required(params, "namespace", DNS_LABEL, "the app's namespace (a DNS label)"),
        app: required(params, "app", DNS_LABEL, "the app's name (a DNS label)"),
    };
    const stages = stagesOf(params.get("stages"));
    const weight = Number(required(params, "weight", /^\d+$/, "the stage's canary weight"));
    if (!stages.includes(weight)) throw new UsageError(`weight=${weight} is not one of the stages ${stages.join(",")}: only a stage above 0 is judged`);
    const duration = params.get("duration") ?? DEFAULT_METRICS.duration;
    if (!METRIC_NAME.test(duration)) throw new UsageError(`duration=${JSON.stringify(duration)} is not a Prometheus metric name`);
    const excludedRaw = params.get("excludedPaths");
    const excludedPaths = excludedRaw === null ? [...DEFAULT_METRICS.excludedPaths] : excludedRaw === "" ? [] : excludedRaw.split(",");
    const badPath = excludedPaths.find((p) => !PATH_LABEL.test(p));
    if (badPath !== undefined) throw new UsageError(`excludedPaths: ${JSON.stringify(badPath)} is not a path label value`);
    let carried: Llrs | undefined;
    try {
        carried = parseLlrs(params.get("carry") ?? "");
    } catch (e) {
        throw new UsageError(`carry: ${(e as Error).message} (the evidence carried from the stages before, or empty)`);
    }
    const problem = carryProblem(carried, weight, stages);
    if (problem) throw new UsageError(`carry: ${problem}`);
    const run = params.get("run");
    const sinceRaw = params.get("since");
    if ((run === null) === (sinceRaw === null)) throw new UsageError("give exactly one of run (the analysis run's name: its window starts when the judge first sees it) and since (the window's start)");
    let since: Date;
    if (run !== null) {
        if (!RUN_ID.test(run)) throw new UsageError(`run=${JSON.stringify(run)} is not a Kubernetes object name`);
        since = runs.get(run) ?? now;
        runs.set(run, since);
    } else {
        since = parseSince(sinceRaw as string, now);
    }
    const ratios = ratiosOf(params.getAll("ratio"));
    const deadline = params.get("deadline");
    let deadlineSeconds: number | undefined;
    try {
        deadlineSeconds = deadline === null ? undefined : durationSeconds(deadline);
    } catch {
        throw new UsageError(`deadline=${JSON.stringify(deadline)} is not a duration such as 30m (the stage's canary:analysis.deadline)`);
    }
    return {
        scope,
        metrics: { duration, excludedPaths },
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
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(`${toJson(body)}\n`);
}

/**
 * The HTTP server: `GET /judge` (200 with the judgement and its forecast; 400 with `{error}` for a bad
 * query, which an Argo web metric records as an Error measurement, not as a decision), `GET /metrics`
 * (each run's evidence, `metrics.ts`) and `GET /healthz`.
 */
export function judgeServer(o: JudgeServerOptions): http.Server {
    const runs: RunStarts = new Map();
    const metrics = new JudgeMetrics();
    return http.createServer((req, res) => {
        const url = new URL(req.url ?? "/", "http://judge");
        if (req.method !== "GET") return send(res, 405, { error: `${req.method} is not allowed: GET /judge, /metrics or /healthz` });
        if (url.pathname === "/healthz") return send(res, 200, { ok: true });
        if (url.pathname === "/metrics") {
            // Expired runs go at a scrape too, so a judge nobody asks any more sheds them.
            metrics.prune(o.now());
            metrics.registry.metrics().then((text) => {
                res.writeHead(200, { "content-type": metrics.registry.contentType });
                res.end(text);
            });
            return;
        }
        if (url.pathname !== "/judge") return send(res, 404, { error: `no ${url.pathname}: GET /judge?namespace=...&app=...&weight=...&run=...` });
        const now = o.now();
        let q: JudgeQuery;
        try {
            q = judgeQuery(url.searchParams, now, runs);
        } catch (e) {
            if (e instanceof UsageError) {
                o.log(`judge: 400 for GET ${url.pathname}${url.search}: ${e.message}`);
                return send(res, 400, { error: e.message });
            }
            throw e;
        }
        analyze({ prometheus: o.prometheus, metrics: q.metrics, ratios: q.ratios, scope: q.scope, since: q.since, now, stage: q.stage, scrapeIntervalSeconds: o.scrapeIntervalSeconds }).then(
            // `gate` is what the stage's Argo web metric reads and its run keeps (the measurement's value):
            // the decision, why, and the evidence that promotion carries on.
            (j) => {
                const forecast = judgedForecast(j, { windowSeconds: windowSecondsOf(q.since, now), weight: q.stage.weight, stages: q.stage.stages, deadlineSeconds: q.deadlineSeconds, policy: DEFAULT_POLICY });
                if (q.run) metrics.record(q.run, q.scope, q.stage.weight, j, forecast, now);
                // A run ends at its first PROMOTE or ROLLBACK (consecutiveSuccessLimit 1, failureLimit 0:
                // components/delivery/analysis.ts), so a later ask under that name is a new run of the same
                // name: a second try after a failed stage, which records nothing and so gets the first
                // try's name again. It starts its own window; the old try's requests are not its evidence.
                if (q.run && j.decision !== "HOLD") runs.delete(q.run);
                send(res, 200, { gate: gateAnswer(j, stageAlpha(DEFAULT_POLICY, q.stage)), ...j, forecast: forecast ?? null, since: q.since.toISOString(), now: now.toISOString(), ...(q.run ? { run: q.run } : {}) });
            },
            (e: Error) => send(res, 500, { error: e.message }),
        );
    });
}

/** The judge's options, the same for `rollout serve` and the judge's own entry point (`judgeMain.ts`). */
export const SERVE_OPTIONS: readonly OptionSpec[] = [
    PROMETHEUS_OPTION,
    ...QUERY_OPTIONS,
    { name: "listen", value: "HOST:PORT", help: "where to listen (default 127.0.0.1:8080; 0.0.0.0:8080 in a pod)" },
];

export interface JudgeSettings {
    readonly prometheusUrl: string;
    readonly queryTimeoutMs: number;
    readonly scrapeIntervalSeconds: number;
    readonly host: string;
    readonly port: number;
}

/** The judge's settings from its options, each checked before it listens. */
export function judgeSettings(o: Options): JudgeSettings {
    const prometheus = stringOption(o, "prometheus");
    if (prometheus === undefined) throw new UsageError("serve: --prometheus URL is required");
    const listenAt = stringOption(o, "listen") ?? "127.0.0.1:8080";
    const [, host, port] = /^(.+):(\d{1,5})$/.exec(listenAt) ?? [];
    if (host === undefined || Number(port) > 65535) throw new UsageError(`serve: --listen ${JSON.stringify(listenAt)} is not HOST:PORT, e.g. 0.0.0.0:8080`);
    // `[::1]:8080` as in a URL; the host to listen on is the address inside the brackets.
    return { prometheusUrl: prometheusUrl(prometheus), ...queryOptions(o), host: host.replace(/^\[(.*)\]$/, "$1"), port: Number(port) };
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
    const server = judgeServer({ prometheus: client, scrapeIntervalSeconds: s.scrapeIntervalSeconds, now: io.now, log: io.err });
    const address = await listen(server, s.host, s.port, "--listen HOST:PORT");
    io.err(`judge listening on http://${hostPort(address.address, address.port)} (GET /judge, /metrics, /healthz)`);
    await io.stopped();
    await new Promise((r) => server.close(r));
}

/** Stops on SIGTERM (the kubelet's) or SIGINT. */
export const untilSignalled = (): Promise<void> => new Promise((resolve) => ["SIGTERM", "SIGINT"].forEach((signal) => process.once(signal, () => resolve())));
