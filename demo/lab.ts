/**
 * Service stacks on a local cluster, as the demo runs the dev stack and the cluster lane tests it and
 * more services beside it. `Lab` holds the cluster's pieces, all inside the lab's own network namespace
 * (scripts/netns.sh): the local control plane (demo/controlplane.ts) with the real Argo Rollouts
 * controller out of cluster, the Gateway API and prometheus-operator CRDs from their modules, Traefik
 * as the Gateway's data plane (demo/gateway.ts), a real app process for each app pod on the pod's own
 * IP (demo/pods.ts), a real Prometheus that finds those pods through the API server with each
 * ServiceMonitor's relabelling and scrapes Traefik too, the program's own judge bundle, and the project
 * copy the stacks run in through the toolchain's engine on a file backend (a platform stack too:
 * `platform()`). A `ServiceStack` drives one service's stack in it, one stage at a time, its traffic
 * sent to the Gateway with the route's host so that the stage's weights decide what each track gets.
 * Bring-your-own add-ons: no Helm release, no containers (kwok's node). Stopped by `stop()`.
 */
import { ChildProcess } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import * as YAML from "yaml";
import { serviceMonitorSpec } from "../components/delivery/workload";
import { ControlPlane, startControlPlane } from "./controlplane";
import { createGateway, GATEWAY, GATEWAY_PORT, gatewayBin, gatewayProgrammed, traefikArgs } from "./gateway";
import { ImageCatalog, podRequest, PodRunner } from "./pods";
import { countsSince } from "./split";
import { JUDGE_SERIES } from "../domain/promql";
import { changes, devWithoutAddOns, Engine, JUDGE_TEST_TOKEN, PLATFORM_DIR, previewSteps, projectCopy, Run, toolchainBin, writeStackConfig } from "./engine";
import { eventually, settled, sleep, strayProcesses } from "./host";
import { Balancer, DiscoveryServer, freePort, judgeScrapeConfig, Live, LiveTrack, loadWhile, serviceMonitorScrapeConfig, startBalancer, startJudge, startLive, steadyLoad, TS_NODE } from "./live";

/** The dev stack's (podinfo's) namespace. */
export const APP_NAMESPACE = "podinfo";
/** Requests a second to the Gateway while a stage is judged: the stage's weight decides each track's share. */
export const STAGE_RATE = 800;
/**
 * How long after the API server shows a route's new weights its requests are counted for the split:
 * Traefik applies the change from its watch of the API server a moment later (seen here: 0.2% of a 100
 * stage's requests, some 70 at 800 a second, still answered by stable just after the route moved).
 */
export const ROUTE_SETTLE_MS = 2000;
/**
 * The dev stack's canary header value here (canary:header.value): a fixed test value, as the judge's token
 * is, since the module proxy serves no pulumi-random provider and the toolchain has no random plugin.
 */
export const LAB_HEADER_VALUE = "labcanaryheader0123456789abcdefghij";
/** The requests a stage's header check sends through the Gateway with the canary header: 50 a second for 2 s. */
export const HEADER_PROBE = { perSecond: 50, seconds: 2 } as const;
/** The faulty build of the demo app the lab knows: this podinfo tag answers this share of its requests 500. */
export const FAULTY = { version: "6.10.0", errorRatio: 0.2 } as const;
/** The lab's pod network (demo/controlplane.ts `--cidr`; scripts/netns.sh puts it on the namespace's loopback). */
const POD_NETWORK_PROBE = "10.244.0.254";

/**
 * The images the lab runs, as processes: podinfo's as the demo app (FAULTY's tag with its faults), the
 * orders service's as app/ordersMain.ts.
 */
export const LAB_IMAGES: ImageCatalog = {
    "ghcr.io/stefanprodan/podinfo": { entry: path.join(__dirname, "..", "app", "main.ts"), warmPath: "/", tags: { [FAULTY.version]: ["--errorRatio", String(FAULTY.errorRatio)] } },
    "registry.example.com/orders": { entry: path.join(__dirname, "..", "app", "ordersMain.ts"), warmPath: "/orders" },
};

/** A service the lab runs a stack of: its app, its namespace, its route's host, and what its processes need. */
export interface LabService {
    readonly app: string;
    readonly namespace: string;
    /** The route's host: what the Gateway matches the service's requests by. */
    readonly host: string;
    /** Headers `PUT /faults` needs. */
    readonly faultHeaders?: Readonly<Record<string, string>>;
}

export interface AnalysisRunObject {
    metadata: { name: string; creationTimestamp: string; labels?: Record<string, string> };
    spec: { terminate?: boolean };
    status?: {
        phase?: string;
        message?: string;
        metricResults?: { name: string; count?: number; error?: number; measurements?: { phase: string; value?: string; finishedAt?: string }[] }[];
    };
}

/** The judge's answer as Argo keeps it in a measurement (the web metric's JSON value). */
export interface JudgeAnswer {
    readonly decision: string;
    readonly reasons: readonly string[];
    readonly canaryRequests: number | null;
    readonly stableRequests: number | null;
    /** Its forecast (domain/forecast.ts): seconds from now to a decision, and the stage's seconds so far. */
    readonly forecast?: { readonly seconds: number | null; readonly elapsedSeconds: number } | null;
}

/** The first forecast of a stage the judge gave with traffic to forecast from: when it was given, and the gate's total time it foresaw, seconds. */
export interface FirstForecast {
    readonly atSeconds: number;
    readonly totalSeconds: number;
}

/**
 * The judge's first forecast for `run`, from the series it exports (`canary_judge_forecast_seconds`,
 * absent until there is canary traffic), as the lab's Prometheus scraped it: Argo keeps a run's last
 * measurements only, and they hold the gate's part of the answer, not its forecast.
 */
export async function firstForecast(promUrl: string, run: AnalysisRunObject): Promise<FirstForecast | undefined> {
    const start = Date.parse(run.metadata.creationTimestamp) / 1000;
    const q = new URLSearchParams({ query: `min by (run) (${JUDGE_SERIES.forecastSeconds}{run="${run.metadata.name}"})`, start: String(start), end: String(Date.now() / 1000), step: "1" });
    const r = await (await fetch(`${promUrl}/api/v1/query_range?${q}`)).json();
    const first: [number, string] | undefined = r?.data?.result?.[0]?.values?.[0];
    if (!first) return undefined;
    return { atSeconds: first[0] - start, totalSeconds: first[0] - start + Number(first[1]) };
}

function parseAnswer(value: string | undefined): JudgeAnswer | undefined {
    if (value === undefined) return undefined;
    try {
        const a = JSON.parse(value);
        return typeof a?.decision === "string" ? a : undefined;
    } catch {
        return undefined;
    }
}

export interface StageResult {
    /** The preview's changes, as `op name`. */
    readonly changed: string[];
    readonly up: Run;
    /** The run this `up` made, if it made one. */
    readonly run?: AnalysisRunObject;
    readonly answer?: JudgeAnswer;
    /** From the run's creation to the judge's last answer, seconds. */
    readonly gateSeconds?: number;
    /** The judge's first forecast of the stage (Argo keeps a run's last measurements only: the first seen while watching). */
    readonly forecast?: FirstForecast;
    /**
     * The stage's requests through the Gateway from ROUTE_SETTLE_MS after the route showed the stage's
     * weights to the end of the up, by the version that answered them (`status <code>` where the router answered itself).
     */
    readonly served: ReadonlyMap<string, number>;
    /** The route as first seen at the stage's weights, and the canary Deployment at that moment. */
    readonly routeMoved: { readonly seen: boolean; readonly canaryReady: boolean; readonly canaryStatus?: unknown };
}

/** A stage's line in a cluster test's table. */
export interface StageRow {
    readonly step: string;
    readonly up: number;
    readonly gate?: number;
    readonly decision?: string;
    readonly canaryRequests?: number;
    readonly phase?: string;
}

/** A stage's result as the table's row named `step`. */
export const stageRow = (step: string, s: Pick<StageResult, "up" | "run" | "answer" | "gateSeconds">): StageRow => ({
    step,
    up: s.up.seconds,
    gate: s.gateSeconds,
    decision: s.answer?.decision,
    canaryRequests: s.answer?.canaryRequests ?? undefined,
    phase: s.run?.status?.phase,
});

/** Ready as the provider's await means it: the rollout observed, every replica updated and available. */
export function deploymentReady(d: any): boolean {
    const s = d?.status ?? {};
    const want = d?.spec?.replicas ?? 1;
    return s.observedGeneration >= d?.metadata?.generation && (s.updatedReplicas ?? 0) === want && (s.availableReplicas ?? 0) === want && (s.replicas ?? 0) === want;
}

/** The judge's last answer in a run's status, if its last measurement is one. */
export function lastAnswer(run: AnalysisRunObject | undefined): JudgeAnswer | undefined {
    return parseAnswer(run?.status?.metricResults?.find((m) => m.name === "judge")?.measurements?.at(-1)?.value);
}

function runResult(run: AnalysisRunObject | undefined): Pick<StageResult, "run" | "answer" | "gateSeconds"> {
    const finished = run?.status?.metricResults?.find((m) => m.name === "judge")?.measurements?.at(-1)?.finishedAt;
    const gateSeconds = run && finished ? (Date.parse(finished) - Date.parse(run.metadata.creationTimestamp)) / 1000 : undefined;
    return { run, answer: lastAnswer(run), gateSeconds };
}

/** Fails unless this process runs in the lab's network namespace, where the pod network is local (scripts/netns.sh). */
function requirePodNetwork(): Promise<void> {
    return new Promise((resolve, reject) => {
        const probe = net.createServer();
        probe.once("error", () =>
            reject(new Error(`the lab needs its own network namespace, where ${POD_NETWORK_PROBE} is local: run it through scripts/netns.sh (npm run demo and npm run test:cluster do)`)),
        );
        probe.listen(0, POD_NETWORK_PROBE, () => probe.close(() => resolve()));
    });
}

export class Lab {
    private constructor(
        readonly cp: ControlPlane,
        readonly live: Live,
        readonly engine: Engine,
        /** The project dir the stacks run in: the repository's files linked in, the stack files its own. */
        readonly project: string,
        /** The judge's two replicas (as the installed judge runs two), by port, behind `balancer`. */
        private readonly judges: Map<number, ChildProcess>,
        /** The replicas' Service: what the stacks' analysis.judge.url names. */
        readonly balancer: Balancer,
        /** The file holding the judge's bearer token (the stacks' analysis.judge.token). */
        readonly tokenFile: string,
        /** What the CRDs came from, one line each. */
        readonly crds: readonly string[],
        /** The app pods' processes. */
        readonly pods: PodRunner,
        /** Where Prometheus finds the pods. */
        private readonly discovery: DiscoveryServer,
        /** Traefik's metrics port on 127.0.0.1. */
        readonly traefikMetricsPort: number,
    ) {}

    /** Starts the control plane, the controller, the Gateway (Traefik), Prometheus, the pods' processes and the judge; no stack yet. */
    static async start(): Promise<Lab> {
        await requirePodNetwork();
        const engine = new Engine(toolchainBin());
        const traefik = path.join(gatewayBin(), "traefik");
        const cp = await startControlPlane();
        let live: Live | undefined;
        let stopBalancer: (() => Promise<void>) | undefined;
        let pods: PodRunner | undefined;
        try {
            await cp.startRolloutsController();
            const crds = ["argo-rollouts (its module's manifests/crds)"];
            for (const module of ["gateway-api", "prometheus-operator"] as const) {
                const applied = await cp.applyCrds(module);
                crds.push(`${module} v${applied.version}: ${applied.crds.length} CRDs`);
            }
            // Bring your own monitoring: its namespace (the dashboards' ConfigMaps go there) is the cluster's.
            const ns = await cp.request("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "monitoring" } });
            if (ns.status !== 201) throw new Error(`creating namespace monitoring: ${ns.status} ${ns.text}`);
            const judgePorts = [await freePort(), await freePort()];
            const traefikMetricsPort = await freePort();
            const traefikJob = { job_name: "traefik", static_configs: [{ targets: [`127.0.0.1:${traefikMetricsPort}`] }] };
            live = await startLive({ scrapeConfigs: [judgeScrapeConfig(judgePorts), traefikJob], podinfo: false });
            const tokenFile = path.join(live.dir, "judge-token");
            fs.writeFileSync(tokenFile, JUDGE_TEST_TOKEN, { mode: 0o600 });
            const discovery = { server: cp.server, ca: cp.ca, tokenFile: path.join(live.dir, "discovery-token") };
            fs.writeFileSync(discovery.tokenFile, cp.token, { mode: 0o600 });
            await createGateway(cp);
            await live.start(traefik, traefikArgs(cp, traefikMetricsPort), null);
            await gatewayProgrammed(cp);
            const started = live;
            pods = new PodRunner(cp, LAB_IMAGES, (entry, args, env) => started.start(TS_NODE, ["--transpile-only", entry, ...args], /listening/, env), (line) => process.stderr.write(`lab: ${line}\n`));
            pods.start();
            const judges = new Map<number, ChildProcess>();
            for (const port of judgePorts) judges.set(port, await startJudge(live, port, tokenFile));
            const balancer = await startBalancer(judgePorts);
            stopBalancer = () => balancer.close();
            return new Lab(cp, live, engine, projectCopy(), judges, balancer, tokenFile, crds, pods, discovery, traefikMetricsPort);
        } catch (e) {
            await pods?.stop();
            await stopBalancer?.();
            await live?.stop();
            await cp.stop();
            throw e;
        }
    }

    /** The Gateway's entry point, where a stage's traffic goes. */
    get gatewayUrl(): string {
        return `http://127.0.0.1:${GATEWAY_PORT}`;
    }

    get judgeUrl(): string {
        return `http://127.0.0.1:${this.balancer.port}`;
    }

    /** The judge replicas' ports and processes. */
    get judgeReplicas(): ReadonlyMap<number, ChildProcess> {
        return this.judges;
    }

    /**
     * What every service stack here sets whatever its app or platform: this cluster, the lab's judge
     * every 2 s (Prometheus scrapes every second here), a Gateway of its own naming, and no load Job.
     */
    serviceConfig(): Record<string, unknown> {
        return {
            "canary:gateway": { install: false, parentRef: { ...GATEWAY } },
            "canary:analysis": { interval: "2s", judge: { install: false, url: this.judgeUrl, token: JUDGE_TEST_TOKEN } },
            // No container runs a load Job here: each service stack sends its stage's traffic to the Gateway itself.
            "canary:loadTest": { enabled: false },
            "kubernetes:kubeconfig": this.cp.kubeconfig,
        };
    }

    /**
     * The repository's dev stack (podinfo) with its add-ons off, on this cluster and its Prometheus, the
     * controller the lab's, and the canary header on (LAB_HEADER_VALUE).
     */
    devStack(): ServiceStack {
        const own = this.serviceConfig();
        const app = devWithoutAddOns()["canary:app"] as { name: string; namespace: string; host: string };
        return this.serviceStack("dev", { app: app.name, namespace: app.namespace, host: app.host }, {
            ...devWithoutAddOns(),
            ...own,
            "canary:monitoring": { install: false, prometheusUrl: this.live.promUrl },
            "canary:analysis": { ...(own["canary:analysis"] as object), installController: false },
            "canary:header": { enabled: true, value: LAB_HEADER_VALUE },
        });
    }

    /**
     * Inits `stack` in the project copy, for `service`, with `config` in its stack file, and has
     * Prometheus discover its pods as its ServiceMonitor says (scraped every second here).
     */
    serviceStack(stack: string, service: LabService, config: Record<string, unknown>, trafficPath = "/"): ServiceStack {
        this.engine.ok(["stack", "init", stack], this.project);
        this.scrape(service);
        const stackOf = new ServiceStack(this, stack, service, trafficPath);
        stackOf.writeConfig(config);
        return stackOf;
    }

    /** Has Prometheus discover `service`'s pods through the API server as its ServiceMonitor says (scraped every second here). */
    scrape(service: LabService): void {
        this.live.addScrapeConfigs([serviceMonitorScrapeConfig(service.app, service.namespace, serviceMonitorSpec({ name: service.app }), this.discovery, this.live.scrapeInterval)]);
    }

    /**
     * Loads every PrometheusRule in the cluster into the lab's Prometheus, as prometheus-operator
     * would (each object's `spec` is a rule file), and reloads it: the rules then evaluate on the
     * pods' series. Returns the rule files' names.
     */
    async syncRules(): Promise<string[]> {
        const rules = (await this.get("/apis/monitoring.coreos.com/v1/prometheusrules")).items as { metadata: { namespace: string; name: string }; spec: unknown }[];
        const dir = path.join(this.live.dir, "rules");
        fs.rmSync(dir, { recursive: true, force: true });
        fs.mkdirSync(dir);
        const names = rules.map((r) => `${r.metadata.namespace}-${r.metadata.name}.yaml`);
        rules.forEach((r, i) => fs.writeFileSync(path.join(dir, names[i]), YAML.stringify(r.spec)));
        this.live.reload();
        return names;
    }

    /**
     * A platform stack (program platform/, project `platform`) on this cluster: `stack` inited with
     * `config` (its `platform:` keys) and brought up; the name its services' `canary:platform` gives.
     */
    platform(stack: string, config: Record<string, unknown>): { name: string; up: Run } {
        const dir = path.join(this.project, PLATFORM_DIR);
        this.engine.ok(["stack", "init", stack], dir);
        writeStackConfig(path.join(dir, `Pulumi.${stack}.yaml`), { ...config, "kubernetes:kubeconfig": this.cp.kubeconfig });
        const up = this.engine.ok(["up", "--yes", "--skip-preview", "--stack", stack], dir);
        return { name: `organization/platform/${stack}`, up };
    }

    async get(urlPath: string): Promise<any> {
        const r = await this.cp.request("GET", urlPath);
        if (r.status !== 200) throw new Error(`GET ${urlPath}: ${r.status} ${r.text}`);
        return r.body;
    }

    /** Kills the replica on `port` (SIGKILL: a lost pod) and starts it again on the same port after `downMs`. */
    async killJudge(port: number, downMs: number): Promise<void> {
        const replica = this.judges.get(port);
        if (!replica) throw new Error(`no judge replica on ${port}`);
        const exited = new Promise((r) => replica.once("exit", r));
        replica.kill("SIGKILL");
        await exited;
        await sleep(downMs);
        this.judges.set(port, await startJudge(this.live, port, this.tokenFile));
    }

    /**
     * Stops everything the lab started, then checks that nothing is left in its network namespace (which
     * holds only what the lab started): throws naming what is.
     */
    async stop(): Promise<void> {
        await this.pods.stop();
        await this.balancer.close();
        await this.live.stop();
        await this.cp.stop();
        const left = await strayProcesses();
        if (left.length > 0) throw new Error(`left running after the lab stopped: ${left.join("; ")}`);
    }
}

/**
 * One service's stack in the lab's project copy: its stack file, its stages, and its cluster objects
 * (in its namespace, named by its app). Its tracks are `live`'s processes, its stage's traffic goes
 * to `trafficPath` of them. Every engine command names the stack: stacks of one project may run at once.
 */
export class ServiceStack {
    config: Record<string, unknown> = {};

    constructor(
        readonly lab: Lab,
        readonly stack: string,
        readonly service: LabService,
        readonly trafficPath: string,
    ) {}

    get namespace(): string {
        return this.service.namespace;
    }

    get app(): string {
        return this.service.app;
    }

    /** Merges `extra` into the stack's config and writes the stack file. */
    writeConfig(extra: Record<string, unknown>): void {
        this.config = { ...this.config, ...extra };
        writeStackConfig(path.join(this.lab.project, `Pulumi.${this.stack}.yaml`), this.config);
    }

    outputs(): Record<string, any> {
        return JSON.parse(this.lab.engine.ok(["stack", "output", "--json", "--show-secrets", "--stack", this.stack], this.lab.project).stdout);
    }

    /** `pulumi preview --expect-no-changes` of this stack: fails on any change. */
    noChanges(): Run {
        return this.lab.engine.ok(["preview", "--expect-no-changes", "--stack", this.stack], this.lab.project);
    }

    async routeWeights(): Promise<number[] | undefined> {
        const r = await this.lab.cp.request("GET", `/apis/gateway.networking.k8s.io/v1/namespaces/${this.namespace}/httproutes/${this.app}`);
        return r.body?.spec?.rules?.at(-1)?.backendRefs?.map((b: { weight: number }) => b.weight);
    }

    /** Until a run made after `before` (run names; default: any run not yet finished) has its first measurement: a stage being judged. */
    measuring(before: ReadonlySet<string> = new Set()): Promise<AnalysisRunObject> {
        return eventually(`a run of ${this.stack} measuring`, async () =>
            (await this.runs()).find((r) => !before.has(r.metadata.name) && !["Successful", "Failed", "Error", "Inconclusive"].includes(r.status?.phase ?? "") && (r.status?.metricResults?.[0]?.count ?? 0) >= 1),
        );
    }

    /**
     * Until every Running pod of the namespace has its process started and warmed: kwok reports a pod
     * Ready before its process has answered its warm-up requests (demo/pods.ts WARM_REQUESTS).
     */
    processesWarm(): Promise<true> {
        return eventually(`${this.namespace}'s pods' processes warm`, async () => {
            const pods = ((await this.lab.get(`/api/v1/namespaces/${this.namespace}/pods`)).items as any[]).filter((p) => !p.metadata.deletionTimestamp && p.status?.phase === "Running");
            const processes = pods.map((p) => this.lab.pods.of(this.namespace, p.metadata.name));
            // One still waiting for its address, or failed to start (it is started again), is not warm yet.
            return (await Promise.all(processes.map((q) => q?.ready ?? false))).every(Boolean);
        });
    }

    async runs(): Promise<AnalysisRunObject[]> {
        return (await this.lab.get(`/apis/argoproj.io/v1alpha1/namespaces/${this.namespace}/analysisruns`)).items;
    }

    /** Sets the injected faults of every process of a track's pods at run time (`PUT /faults`, app/faults.ts); fails if the track has none. */
    async faults(track: LiveTrack, query: string): Promise<void> {
        // Each pod's process started and warm first: a new pod's may still wait for its address.
        await this.processesWarm();
        const processes = this.lab.pods.running(this.namespace, track);
        if (processes.length === 0) throw new Error(`${this.namespace} has no running ${track} pod`);
        for (const p of processes) {
            const r = await podRequest(p.ip, p.port, "PUT", `/faults?${query}`, { ...this.service.faultHeaders });
            if (r.status !== 200) throw new Error(`PUT /faults?${query} on ${p.namespace}/${p.pod}: ${r.status} ${r.body}`);
        }
    }

    /**
     * Traffic to the Gateway with the route's host until `done` settles, STAGE_RATE requests a second,
     * each answer counted in `tally` by the version that answered.
     */
    traffic(done: Promise<unknown>, tally = new Map<string, number>()): Promise<void> {
        return loadWhile(done, [GATEWAY_PORT], STAGE_RATE, undefined, this.trafficPath, { headers: { host: this.service.host }, tally });
    }

    /**
     * What a tester with the canary header gets: HEADER_PROBE's requests through the Gateway with the
     * route's host and the header as the stack's `canaryHeader` output gives it (`name: value`, read as
     * `pulumi stack output canaryHeader --show-secrets` reads it), the answers counted by version.
     */
    async headerAnswers(): Promise<Map<string, number>> {
        const line: unknown = this.outputs().canaryHeader;
        const colon = typeof line === "string" ? line.indexOf(": ") : -1;
        if (typeof line !== "string" || colon < 1) throw new Error(`${this.stack}: no canaryHeader output (canary:header.enabled): ${JSON.stringify(line)}`);
        const tally = new Map<string, number>();
        const headers = { host: this.service.host, [line.slice(0, colon)]: line.slice(colon + 2) };
        await steadyLoad([GATEWAY_PORT], HEADER_PROBE.perSecond, HEADER_PROBE.seconds, this.trafficPath, { headers, tally });
        return tally;
    }

    /**
     * One stage as a user applies it: the stack file changed by `extra`, the preview's diff, then
     * `pulumi up` with the stage's traffic flowing until it ends (the cluster watched meanwhile), and
     * `during` alongside it (a fault, a termination, a judge restart). Nothing is asserted here. The
     * engine runs beside this process, so another stack's stage may run at the same time.
     */
    async stage(extra: Record<string, unknown>, during?: () => Promise<void>): Promise<StageResult> {
        this.writeConfig(extra);
        const preview = await this.lab.engine.okAsync(["preview", "--json", "--diff", "--stack", this.stack], this.lab.project);
        const changed = changes(previewSteps(preview.stdout));
        const weight = this.config["canary:weight"] as number;
        const before = new Set((await this.runs()).map((r) => r.metadata.name));
        const up = this.lab.engine.start(["up", "--yes", "--skip-preview", "--stack", this.stack], this.lab.project);
        const all = new Map<string, number>();
        let atMove: Map<string, number> | undefined;
        const watched = Promise.all([this.watchRoute([100 - weight, weight], up, () => void setTimeout(() => (atMove = new Map(all)), ROUTE_SETTLE_MS)), this.watchNewRun(before, up)]);
        // The update runs to its end whatever happens beside it: nothing may start while it runs. (The
        // watchers are settled here too, so that one failing meanwhile is not an unhandled rejection.)
        const side = await Promise.allSettled([this.traffic(up, all), during?.(), watched]);
        const [routeMoved, run] = await watched;
        const result = { changed, up: await up, ...run, routeMoved, served: atMove ? countsSince(all, atMove) : new Map<string, number>() };
        const failed = side.find((s): s is PromiseRejectedResult => s.status === "rejected");
        if (failed) throw failed.reason;
        return result;
    }

    /**
     * The run made since `before` (run names), its judge's last answer and how long the gate took:
     * looked at every 500 ms until `done` settles and once more after, the run as last seen (also
     * when a rollback then deleted it).
     */
    async watchNewRun(before: ReadonlySet<string>, done: Promise<unknown>): Promise<Pick<StageResult, "run" | "answer" | "gateSeconds" | "forecast">> {
        const over = settled(done);
        let seen: AnalysisRunObject | undefined;
        for (;;) {
            // Asked before the look, so that the last look starts after `done` settled: the run as the update left it.
            const last = over();
            seen = (await this.runs()).find((r) => !before.has(r.metadata.name)) ?? seen;
            if (last) return { ...runResult(seen), forecast: seen && (await firstForecast(this.lab.live.promUrl, seen)) };
            await sleep(500);
        }
    }

    /** Polls the route every 100 ms while `done` is pending: the first moment it shows `weights` (`moved` is called then), with the canary Deployment then. */
    private async watchRoute(weights: number[], done: Promise<unknown>, moved: () => void): Promise<StageResult["routeMoved"]> {
        const over = settled(done);
        for (;;) {
            if (JSON.stringify(await this.routeWeights()) === JSON.stringify(weights)) {
                moved();
                const d = (await this.lab.cp.request("GET", `/apis/apps/v1/namespaces/${this.namespace}/deployments/${this.app}-canary`)).body;
                return { seen: true, canaryReady: deploymentReady(d), canaryStatus: d?.status };
            }
            if (over()) return { seen: false, canaryReady: false };
            await sleep(100);
        }
    }
}
