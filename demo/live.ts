/**
 * A live monitoring stack on 127.0.0.1, for suites that need counts from a real Prometheus rather than
 * a stub (test/e2e.test.ts, the engine lane): the Prometheus the pinned chart deploys (scripts/prometheus.sh)
 * scraping two demo-app processes (app/main.ts) with the ServiceMonitor's own relabelling, as namespace
 * `podinfo`, app `podinfo`, track `stable` (version 6.7.1) and track `canary` (6.8.0); more services' tracks beside
 * them where asked (the orders service, app/ordersMain.ts, as namespace and app `orders`), each its
 * own job with the same relabelling, so that every series carries its namespace, app and track as
 * in a cluster; and bounded load to drive at them. All traffic stays on loopback. Every process
 * started here is stopped by `Live.stop()`, and killed when the test run's process exits, so none
 * outlives the run.
 */
import { ChildProcess, spawn } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as path from "path";
import * as YAML from "yaml";
import { judgeBundle, judgeServiceMonitorSpec } from "../components/delivery/judge";
import { serviceMonitorSpec } from "../components/delivery/workload";
import { durationSeconds } from "../domain/duration";
import { VERSION_HEADER } from "../app/faults";
import { API_KEY_ENV, ORDERS_PATHS } from "../app/orders";
import { loadStack } from "../rollout/stackFile";
import { eventually, ROOT, settled, sleep, tempDir, usePrometheusTools } from "./host";

export const TS_NODE = path.join(ROOT, "node_modules", ".bin", "ts-node");
/** The canary header's preview track runs the canary's version (components/delivery/workload.ts). */
const VERSIONS = { stable: "6.7.1", canary: "6.8.0", preview: "6.8.0" } as const;
export type LiveTrack = keyof typeof VERSIONS;

/** A service whose tracks the stack runs as processes of the repo's own, labelled as its pods would be. */
export interface LiveServiceSpec {
    /** Its app label (the pods' app.kubernetes.io/name) and its Prometheus job. */
    readonly app: string;
    /** The namespace label its series carry (a cluster's target namespace). */
    readonly namespace: string;
    /** Its entry point, relative to the repository, run with ts-node and `--port <port> --version <version>`. */
    readonly entry: string;
    /** Each track's version; a track without one is not started. stable and canary are required. */
    readonly versions: { readonly stable: string; readonly canary: string; readonly preview?: string };
    /** Environment its processes get beside the run's own: what a Secret gives the container in a cluster. */
    readonly env?: Readonly<Record<string, string>>;
    /** Its probes' paths, for `probes()`. */
    readonly probePaths: readonly string[];
    /** Headers `PUT /faults` needs (`putFaults`). */
    readonly faultHeaders?: Readonly<Record<string, string>>;
}

/** A service the stack started: its tracks' ports on 127.0.0.1. */
export interface LiveService extends LiveServiceSpec {
    readonly ports: { readonly stable: number; readonly canary: number; readonly preview?: number };
}

/** The demo app as podinfo, as the dev stack names it; the preview track only where asked for. */
const podinfoService = (preview: boolean): LiveServiceSpec => ({
    app: "podinfo",
    namespace: "podinfo",
    entry: "app/main.ts",
    versions: preview ? VERSIONS : { stable: VERSIONS.stable, canary: VERSIONS.canary },
    probePaths: ["/healthz", "/readyz"],
});

/**
 * The orders service (app/orders.ts) as a second service on the same Prometheus: namespace and app
 * `orders`, its API key in the environment as its Secret would give it (a fresh one unless given).
 */
export const ordersService = (apiKey = randomBytes(24).toString("base64url")): LiveServiceSpec => ({
    app: "orders",
    namespace: "orders",
    entry: "app/ordersMain.ts",
    versions: { stable: "1.4.0", canary: "1.5.0" },
    env: { [API_KEY_ENV]: apiKey },
    probePaths: [ORDERS_PATHS.readiness, ORDERS_PATHS.liveness],
    faultHeaders: { authorization: `Bearer ${apiKey}` },
});

/** Sets a service's track's injected faults at run time (`PUT /faults?<query>`, app/faults.ts); anything but 200 fails with the answer. */
export async function putFaults(service: LiveService, track: LiveTrack, query: string): Promise<void> {
    const port = service.ports[track];
    if (port === undefined) throw new Error(`${service.app} has no ${track} track here`);
    const r = await fetch(`http://127.0.0.1:${port}/faults?${query}`, { method: "PUT", headers: { ...service.faultHeaders } });
    if (r.status !== 200) throw new Error(`PUT /faults?${query} on ${service.app}'s ${track}: ${r.status} ${await r.text()}`);
}
/** How long a process may take to print its ready line: ts-node compiling the app on a busy machine. */
const READY_MS = 30_000;
/** How long a process may take to exit on SIGTERM before it is killed: Prometheus flushes its TSDB. */
const STOP_MS = 10_000;
/** How long one request may take: a hung app fails the load instead of holding it past every deadline. */
const REQUEST_MS = 10_000;

export interface Live {
    /** Prometheus' base URL, `http://127.0.0.1:<port>`. */
    readonly promUrl: string;
    /** The demo apps' (podinfo's) ports on 127.0.0.1; `preview` where started with one. Throws where started with `podinfo: false`. */
    readonly ports: LiveService["ports"];
    /** Every service started, podinfo first, by app. */
    readonly services: ReadonlyMap<string, LiveService>;
    /** Prometheus' scrape (and evaluation) interval, e.g. `1s`: what a judge is told with `--scrape-interval`. */
    readonly scrapeInterval: string;
    /** A temp dir of this stack's own (Prometheus' config and data), removed after the run; a suite may write its files here. */
    readonly dir: string;
    /** Starts another process (a judge, say) as the stack's own are started: `stop()` stops it too; a failure carries the processes' output. */
    start(cmd: string, args: readonly string[], ready: RegExp | null, env?: Readonly<Record<string, string>>): Promise<ChildProcess>;
    /** Stops Prometheus alone, the apps still serving: for what a client does when it is gone. */
    stopPrometheus(): Promise<void>;
    /**
     * Starts another service's tracks once the stack is up (one whose environment is known only then: a
     * key read back from the cluster's Secret) and has Prometheus scrape them too (its config rewritten and
     * reloaded on SIGHUP); resolves once every one of its tracks has been scraped.
     */
    addService(spec: LiveServiceSpec): Promise<LiveService>;
    /** Adds Prometheus `scrape_configs` entries (a service discovered from the lab's API server) and reloads its config. */
    addScrapeConfigs(configs: readonly Record<string, unknown>[]): void;
    /** Has Prometheus read its config and its rule files (`<dir>/rules/*.yaml`) again. */
    reload(): void;
    /** Stops every process started (SIGTERM, then SIGKILL after 10 s), waits until they have exited, and closes the load's idle sockets; safe to call twice. */
    stop(): Promise<void>;
}

/** Processes still running, for the exit hook below. */
const running = new Set<ChildProcess>();
// The last resort, for a suite that did not get to `stop()` (a run ended by process.exit, mocha --exit).
process.once("exit", () => {
    for (const p of running) p.kill("SIGKILL");
});

export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = net.createServer().listen(0, "127.0.0.1", () => {
            const port = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(port));
        });
        s.on("error", reject);
    });
}

/**
 * Starts a process and resolves once a chunk of its stdout matches `ready` (once spawned if null); rejects if
 * it exits first or is not ready within READY_MS, and then it is killed: a late start would hold its
 * address with nothing to stop it (a pod's process, demo/pods.ts). It goes into `started` as soon as it
 * is spawned, so it is stopped with the rest. Its stdout and stderr go to `log`.
 */
function start(cmd: string, args: readonly string[], ready: RegExp | null, log: string[], started: ChildProcess[], env?: Readonly<Record<string, string>>): Promise<ChildProcess> {
    return new Promise((resolve, reject) => {
        const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: env === undefined ? process.env : { ...process.env, ...env } });
        started.push(p);
        running.add(p);
        const timer = setTimeout(() => {
            p.kill("SIGKILL");
            reject(new Error(`${cmd} not ready within ${READY_MS} ms`));
        }, READY_MS);
        const settle = (done: () => void) => {
            clearTimeout(timer);
            done();
        };
        p.on("error", (e: NodeJS.ErrnoException) => settle(() => reject(e.code === "ENOENT" ? new Error(`${cmd} is not installed`) : e)));
        p.stderr!.on("data", (d) => log.push(String(d)));
        p.stdout!.on("data", (d) => {
            log.push(String(d));
            if (ready?.test(String(d))) settle(() => resolve(p));
        });
        p.on("exit", (code) => {
            running.delete(p);
            settle(() => reject(new Error(`${cmd} exited ${code}`)));
        });
        // Without a ready line, spawned is ready: a command that is not installed still rejects.
        if (!ready) p.once("spawn", () => settle(() => resolve(p)));
    });
}

/** SIGTERM, SIGKILL after STOP_MS, and waits for the exit; nothing for a process that has exited or never spawned. */
async function stopProcess(p: ChildProcess): Promise<void> {
    if (p.pid === undefined || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGTERM");
    const timer = setTimeout(() => p.kill("SIGKILL"), STOP_MS);
    await exited;
    clearTimeout(timer);
}

/** How the live stack's own servers are polled: a throw (a server not listening yet) counts as not yet. */
export const SERVER_POLL = { intervalMs: 200, retryOnThrow: true } as const;

export const waitReady = (url: string, deadlineMs: number) => eventually(`${url} ready`, async () => (await fetch(url)).ok, { ...SERVER_POLL, timeoutMs: deadlineMs });

/** The samples of an instant query's vector. */
export async function queryVector(promUrl: string, expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
    const r = await (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`)).json();
    if (r.status !== "success") throw new Error(`${expr}: ${JSON.stringify(r)}`);
    return r.data.result;
}

/** The ServiceMonitor's relabelings as Prometheus `relabel_configs`, plus the operator's `namespace`. */
function relabelConfigs(): Record<string, unknown>[] {
    const app = loadStack(ROOT, "dev").config.app;
    const endpoint = (serviceMonitorSpec(app).endpoints as any[])[0];
    return [
        ...endpoint.relabelings.map((r: any) => ({ action: r.action, source_labels: r.sourceLabels, target_label: r.targetLabel })),
        { action: "replace", source_labels: ["__meta_kubernetes_namespace"], target_label: "namespace" },
    ];
}

/** The Prometheus job of one service's tracks: static targets with the pod labels a cluster's service discovery gives, through the ServiceMonitor's relabelling. */
export function serviceScrapeConfig(service: LiveService): Record<string, unknown> {
    const tracks = Object.keys(service.versions) as LiveTrack[];
    return {
        job_name: service.app,
        static_configs: tracks.map((track) => ({
            targets: [`127.0.0.1:${service.ports[track]}`],
            labels: {
                __meta_kubernetes_namespace: service.namespace,
                __meta_kubernetes_pod_label_app_kubernetes_io_name: service.app,
                __meta_kubernetes_pod_label_app_kubernetes_io_version: service.versions[track],
                __meta_kubernetes_pod_label_track: track,
            },
        })),
        relabel_configs: relabelConfigs(),
    };
}

/** Where Prometheus finds the lab's API server: its URL, its CA, and a file with a token that may list endpoints and pods. */
export interface DiscoveryServer {
    readonly server: string;
    readonly ca: string;
    readonly tokenFile: string;
}

/**
 * A ServiceMonitor as prometheus-operator turns it into a scrape job, with Kubernetes service discovery
 * on `cluster`: the Services of `namespace` its selector matches, the endpoints on its port's name, the
 * operator's own target labels (namespace, service, pod, container, endpoint, job: the Service's name),
 * then the endpoint's relabelings and metric relabelings (prometheus-operator v0.85.0
 * pkg/prometheus/promcfg.go, generateServiceMonitorConfig). So the series carry what the pods' labels
 * say, as in a cluster; pods are found as they come and go.
 *
 * Role `endpoints`, the operator's default (promcfg.go: `ServiceDiscoveryRole` defaults to
 * `EndpointsRole`; EndpointSlice only when a Prometheus asks for it). It also matters here: Prometheus'
 * endpointslice role reads a pod's labels only when the slice changes (discovery/kubernetes/
 * endpointslice.go has no pod handler), and kwok makes a pod Ready as it is created, so a slice seen
 * before the pod left a canary's target without its track label for good (seen: a stage that held on
 * "no canary requests" until its deadline). The endpoints role looks again when a pod's phase changes
 * (endpoints.go, prometheus/prometheus#11305).
 */
export function serviceMonitorScrapeConfig(job: string, namespace: string, spec: Record<string, any>, cluster: DiscoveryServer, interval: string): Record<string, unknown> {
    const endpoint = spec.endpoints[0];
    const selector: Record<string, string> = spec.selector.matchLabels;
    const sanitize = (label: string) => label.replace(/[^a-zA-Z0-9_]/g, "_");
    const meta = (kind: string, name: string) => ({ action: "replace", source_labels: [`__meta_kubernetes_${kind}`], target_label: name });
    return {
        job_name: job,
        scrape_interval: interval,
        metrics_path: endpoint.path,
        kubernetes_sd_configs: [
            { role: "endpoints", api_server: cluster.server, namespaces: { names: [namespace] }, tls_config: { ca_file: cluster.ca }, authorization: { credentials_file: cluster.tokenFile } },
        ],
        relabel_configs: [
            ...Object.entries(selector).map(([k, v]) => ({
                action: "keep",
                source_labels: [`__meta_kubernetes_service_label_${sanitize(k)}`, `__meta_kubernetes_service_labelpresent_${sanitize(k)}`],
                regex: `(${v});true`,
            })),
            { action: "keep", source_labels: ["__meta_kubernetes_endpoint_port_name"], regex: endpoint.port },
            // The pod from the endpoint's target reference, as the operator does (promcfg.go), not from the pod's own metadata.
            { action: "replace", source_labels: ["__meta_kubernetes_endpoint_address_target_kind", "__meta_kubernetes_endpoint_address_target_name"], separator: ";", regex: "Pod;(.*)", replacement: "${1}", target_label: "pod" },
            meta("namespace", "namespace"),
            meta("service_name", "service"),
            meta("pod_container_name", "container"),
            { action: "replace", source_labels: ["__meta_kubernetes_service_name"], target_label: "job" },
            { action: "replace", target_label: "endpoint", replacement: endpoint.port },
            ...endpoint.relabelings.map((r: any) => ({ action: r.action, source_labels: r.sourceLabels, target_label: r.targetLabel })),
        ],
        metric_relabel_configs: (endpoint.metricRelabelings ?? []).map((r: any) => ({ action: r.action, source_labels: r.sourceLabels, regex: r.regex })),
    };
}

/**
 * Starts the two demo apps, the tracks of each of `services` (another app's, see `ordersService`)
 * and Prometheus (scraping every `scrapeInterval`, default 1s, and the `scrapeConfigs` given as
 * Prometheus' own `scrape_configs` entries) and resolves once every track has been scraped: a series
 * first seen with requests already counted loses them to increase(), so load must wait for that. On
 * any failure it stops what it started before rejecting.
 */
export async function startLive(
    opts: { scrapeInterval?: string; scrapeConfigs?: readonly Record<string, unknown>[]; preview?: boolean; services?: readonly LiveServiceSpec[]; podinfo?: boolean } = {},
): Promise<Live> {
    // The Prometheus the chart deploys (built on a cold cache), first on PATH for the spawn below.
    usePrometheusTools();
    const scrapeInterval = opts.scrapeInterval ?? "1s";
    const scrapeMs = 1000 * durationSeconds(scrapeInterval);
    const dir = tempDir("live");
    const log: string[] = [];
    const started: ChildProcess[] = [];
    // A failure says what the processes printed: a Prometheus that exits on its config only times out its readiness.
    const withOutput = (e: unknown) => new Error(`${(e as Error).message}; the processes' output:\n${log.join("").slice(-2000)}`);
    const stop = async () => {
        await Promise.all(started.map(stopProcess));
        agent.destroy();
    };
    try {
        // A third app labelled as the canary header's preview track, where asked for: its requests must never count as the canary's.
        const services = new Map<string, LiveService>();
        const startTracks = async (spec: LiveServiceSpec): Promise<LiveService> => {
            // The app is the job: two services of one name would be one job's targets, their series mixed.
            if (services.has(spec.app)) throw new Error(`startLive: two services named ${JSON.stringify(spec.app)}: each service's app must be its own`);
            const tracks = Object.keys(spec.versions) as LiveTrack[];
            const ports: Partial<Record<LiveTrack, number>> = {};
            for (const track of tracks) ports[track] = await freePort();
            const service: LiveService = { ...spec, ports: ports as LiveService["ports"] };
            services.set(spec.app, service);
            await Promise.all(tracks.map((track) => start(TS_NODE, ["--transpile-only", path.join(ROOT, spec.entry), "--port", String(ports[track]), "--version", spec.versions[track]!], /listening/, log, started, spec.env)));
            return service;
        };
        for (const spec of [...(opts.podinfo === false ? [] : [podinfoService(opts.preview ?? false)]), ...(opts.services ?? [])]) await startTracks(spec);
        const scrapeConfigs = [...(opts.scrapeConfigs ?? [])];
        const writeConfig = () => {
            const config = {
                global: { scrape_interval: scrapeInterval, evaluation_interval: scrapeInterval },
                // Rule files a suite writes into `rules/` (the lab: the stacks' PrometheusRules), read on reload.
                rule_files: [path.join(dir, "rules", "*.yaml")],
                // `scrapeConfigs`: a suite's own targets (the judge), which it starts once Prometheus is up.
                scrape_configs: [...[...services.values()].map(serviceScrapeConfig), ...scrapeConfigs],
            };
            fs.writeFileSync(path.join(dir, "prometheus.yml"), YAML.stringify(config));
        };
        /** Until every track of `apps` is up in Prometheus. */
        const scraped = (apps: readonly string[]) => {
            const targets = apps.reduce((n, app) => n + Object.keys(services.get(app)!.versions).length, 0);
            const up = `count(up{job=~"${apps.join("|")}"} == 1)`;
            const all = async () => (await queryVector(promUrl, up))[0]?.value[1] === String(targets);
            return eventually(`all ${targets} tracks of ${apps.join(", ")} scraped`, all, { ...SERVER_POLL, timeoutMs: 20_000 + 2 * scrapeMs });
        };
        writeConfig();
        const promPort = await freePort();
        const promUrl = `http://127.0.0.1:${promPort}`;
        const prometheus = await start(
            "prometheus",
            [`--config.file=${path.join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${path.join(dir, "data")}`, `--web.listen-address=127.0.0.1:${promPort}`],
            null,
            log,
            started,
        );
        await waitReady(`${promUrl}/-/ready`, 20_000);
        if (services.size > 0) await scraped([...services.keys()]);
        // Prometheus reloads its config file on SIGHUP (prometheus/cmd/prometheus/main.go: the hup channel).
        const reload = () => {
            writeConfig();
            prometheus.kill("SIGHUP");
        };
        return {
            promUrl,
            get ports() {
                const ports = services.get("podinfo")?.ports;
                if (!ports) throw new Error("this live stack runs no demo app of its own: the lab's apps are its pods' processes (demo/pods.ts)");
                return ports;
            },
            services,
            scrapeInterval,
            dir,
            start: (cmd, args, ready, env) => start(cmd, args, ready, log, started, env).catch((e) => {
                throw withOutput(e);
            }),
            stopPrometheus: () => stopProcess(prometheus),
            addService: async (spec) => {
                const service = await startTracks(spec).catch((e) => {
                    throw withOutput(e);
                });
                reload();
                await scraped([spec.app]);
                return service;
            },
            addScrapeConfigs: (configs) => {
                scrapeConfigs.push(...configs);
                reload();
            },
            reload,
            stop,
        };
    } catch (e) {
        await stop();
        throw withOutput(e);
    }
}

// Keep-alive, so that thousands of requests reuse a few sockets instead of using up ephemeral ports.
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/** What a load's requests carry beyond the port and path: headers (a route's host, the canary header) and a tally of who answered. */
export interface RequestOptions {
    readonly headers?: Readonly<Record<string, string>>;
    /** Counted per answer by the version the app answered with (VERSION_HEADER; `status <code>` when none: a router's own answer). */
    readonly tally?: Map<string, number>;
}

function get(port: number, path = "/", options: RequestOptions = {}): Promise<number> {
    return new Promise((resolve, reject) => {
        const req = http.get({ host: "127.0.0.1", port, path, agent, headers: options.headers }, (res) => {
            res.resume();
            res.on("end", () => {
                if (options.tally) {
                    const version = res.headers[VERSION_HEADER];
                    const key = typeof version === "string" ? version : `status ${res.statusCode}`;
                    options.tally.set(key, (options.tally.get(key) ?? 0) + 1);
                }
                resolve(res.statusCode ?? 0);
            });
        });
        req.setTimeout(REQUEST_MS, () => req.destroy(new Error(`GET 127.0.0.1:${port}${path}: no answer within ${REQUEST_MS} ms`)));
        req.on("error", (e: NodeJS.ErrnoException) => {
            // A kept-alive socket the server closed while this process was busy (a synchronous `pulumi
            // preview`, say) fails on reuse before the request reached the server: sent again on a new
            // socket, as Node's http docs advise (`request.reusedSocket`). Never counted twice.
            if (req.reusedSocket && e.code === "ECONNRESET") get(port, path, options).then(resolve, reject);
            else reject(e);
        });
    });
}

/** Kubelet-like probes: `n` requests to `paths` (podinfo's /healthz and /readyz by default) of `port`, in turn; not user requests, so never counted. */
export async function probes(port: number, n: number, paths: readonly string[] = podinfoService(false).probePaths): Promise<void> {
    for (let i = 0; i < n; i += paths.length) await Promise.all(paths.map((p) => get(port, p)));
}

/** Bounded load: exactly `n` requests to `path` of each port, 16 at a time per port, as fast as they are answered. */
export async function load(ports: number[], n: number, path = "/"): Promise<void> {
    await Promise.all(
        ports.map(async (port) => {
            let sent = 0;
            await Promise.all(
                Array.from({ length: 16 }, async () => {
                    while (sent < n) {
                        sent++;
                        await get(port, path);
                    }
                }),
            );
        }),
    );
}

/**
 * Steady bounded load: `perSecond` requests a second to `path` of each port for `seconds` seconds, the
 * i-th sent at i / perSecond s whether or not the earlier ones have been answered (a rate, as a load
 * Job's, not a closed loop); resolves once all are answered, rejects on the first failed request.
 */
export async function steadyLoad(ports: number[], perSecond: number, seconds: number, path = "/", options: RequestOptions = {}): Promise<void> {
    const total = Math.round(perSecond * seconds);
    if (!(perSecond > 0 && Number.isFinite(total) && total > 0)) throw new RangeError(`steadyLoad: ${perSecond}/s for ${seconds} s is not a bounded load`);
    const t0 = Date.now();
    const answered: Promise<unknown>[] = [];
    let failed: unknown;
    for (let i = 0; i < total && failed === undefined; ) {
        await sleep(t0 + (i * 1000) / perSecond - Date.now());
        // Every request due by now: a late timer sends the ones it held up at once, keeping the rate.
        const due = Math.min(total, Math.floor(((Date.now() - t0) * perSecond) / 1000) + 1);
        for (; i < due; i++) for (const port of ports) answered.push(get(port, path, options).catch((e) => (failed ??= e)));
    }
    await Promise.all(answered);
    if (failed !== undefined) throw failed;
}

/** Prometheus' scrape of the judge's replicas on 127.0.0.1:`ports`, as the judge's ServiceMonitor says: its own labels honoured over the target's. */
export function judgeScrapeConfig(ports: readonly number[]): Record<string, unknown> {
    const endpoint = (judgeServiceMonitorSpec().endpoints as any[])[0];
    return {
        job_name: "canary-judge",
        metrics_path: endpoint.path,
        honor_labels: endpoint.honorLabels,
        static_configs: [{ targets: ports.map((port) => `127.0.0.1:${port}`), labels: { namespace: "judge-namespace" } }],
    };
}

/**
 * The judge as the cluster runs it: the program's bundle on a plain node, its own process asking this
 * stack's Prometheus, on 127.0.0.1:`port`, requiring the bearer token in `tokenFile` when one is given
 * (without one the judge allows loopback only); resolves once it answers /healthz. Stopped with the
 * stack, or by killing the returned process (a replica lost).
 */
export async function startJudge(live: Live, port: number, tokenFile?: string): Promise<ChildProcess> {
    const file = path.join(live.dir, "judge.js");
    if (!fs.existsSync(file)) fs.writeFileSync(file, judgeBundle());
    const token = tokenFile === undefined ? [] : ["--token-file", tokenFile];
    const judge = await live.start(process.execPath, [file, "--prometheus", live.promUrl, "--listen", `127.0.0.1:${port}`, "--scrape-interval", live.scrapeInterval, ...token], null);
    await waitReady(`http://127.0.0.1:${port}/healthz`, 20_000);
    return judge;
}

/** A Service in front of the judge's replicas: where a connection went, per backend port. */
export interface Balancer {
    readonly port: number;
    /** Connections each backend took. */
    readonly served: Map<number, number>;
    /** The backend that took the latest connection: the one a kept-alive client (the controller) is talking to. */
    readonly last: () => number | undefined;
    close(): Promise<void>;
}

/**
 * A TCP round robin on 127.0.0.1 over `backends`, as a Service spreads connections over its ready
 * endpoints: a backend that refuses the connection (a killed replica, before the endpoint controller
 * drops it) is skipped for the next, so a lost replica costs no answer while another is up.
 */
export function startBalancer(backends: readonly number[]): Promise<Balancer> {
    const served = new Map(backends.map((b) => [b, 0]));
    let last: number | undefined;
    const sockets = new Set<net.Socket>();
    let next = 0;
    const connect = (client: net.Socket, tries: number) => {
        const port = backends[next++ % backends.length];
        const upstream = net.connect({ host: "127.0.0.1", port });
        sockets.add(upstream);
        upstream.once("close", () => sockets.delete(upstream));
        upstream.once("connect", () => {
            served.set(port, (served.get(port) ?? 0) + 1);
            last = port;
            client.pipe(upstream).pipe(client);
            upstream.on("error", () => client.destroy());
            client.once("close", () => upstream.destroy());
        });
        upstream.once("error", () => {
            if (upstream.connecting && tries + 1 < backends.length) connect(client, tries + 1);
            else client.destroy();
        });
    };
    const server = net.createServer((client) => {
        sockets.add(client);
        client.once("close", () => sockets.delete(client));
        // A client that goes away mid-request (the controller's timeout) must not take the lab down.
        client.on("error", () => client.destroy());
        client.pause();
        connect(client, 0);
    });
    return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () =>
            resolve({
                port: (server.address() as net.AddressInfo).port,
                served,
                last: () => last,
                close: () =>
                    new Promise<void>((r) => {
                        for (const s of sockets) s.destroy();
                        server.close(() => r());
                    }),
            }),
        );
    });
}

/**
 * Steady load at `path` of `ports` (`perSecond` each) in rounds of two seconds until `done` settles, as a
 * stage's traffic while `pulumi up` waits for its verdict; bounded by `maxSeconds` whatever happens.
 */
export async function loadWhile(done: Promise<unknown>, ports: number[], perSecond: number, maxSeconds = 1200, path = "/", options: RequestOptions = {}): Promise<void> {
    const over = settled(done);
    const until = Date.now() + maxSeconds * 1000;
    while (!over() && Date.now() < until) await steadyLoad(ports, perSecond, 2, path, options);
}
