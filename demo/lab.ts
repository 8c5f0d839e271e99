/**
 * Service stacks on a local cluster, as the demo runs the dev stack and the cluster lane tests it and
 * more services beside it. `Lab` holds the cluster's pieces: the local control plane
 * (demo/controlplane.ts) with the real Argo Rollouts controller out of cluster, the Gateway API and
 * prometheus-operator CRDs from their modules, a real Prometheus scraping each service's processes
 * labelled as its tracks, the program's own judge bundle on the host, and the project copy the stacks
 * run in through the toolchain's engine on a file backend (a platform stack too: `platform()`). A
 * `ServiceStack` drives one service's stack in it, one stage at a time. Bring-your-own add-ons: no
 * Helm release, no containers (kwok's node), no router data path: each service stack sends its
 * stage's traffic to its two tracks itself. Everything is on 127.0.0.1 and stopped by `stop()`.
 */
import { ChildProcess } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ControlPlane, startControlPlane } from "./controlplane";
import { changes, devWithoutAddOns, Engine, JUDGE_TEST_TOKEN, PLATFORM_DIR, previewSteps, projectCopy, Run, toolchainBin, writeStackConfig } from "./engine";
import { settled, sleep } from "./host";
import { Balancer, freePort, judgeScrapeConfig, Live, LiveService, LiveTrack, loadWhile, putFaults, startBalancer, startJudge, startLive } from "./live";

/** The dev stack's (podinfo's) namespace. */
export const APP_NAMESPACE = "podinfo";
/** Requests a second to each track while a stage is judged: the judge compares the two tracks' rates, not their share. */
export const STAGE_RATE = 100;

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
    const value = run?.status?.metricResults?.find((m) => m.name === "judge")?.measurements?.at(-1)?.value;
    if (value === undefined) return undefined;
    try {
        const a = JSON.parse(value);
        return typeof a?.decision === "string" ? a : undefined;
    } catch {
        return undefined;
    }
}

function runResult(run: AnalysisRunObject | undefined): Pick<StageResult, "run" | "answer" | "gateSeconds"> {
    const finished = run?.status?.metricResults?.find((m) => m.name === "judge")?.measurements?.at(-1)?.finishedAt;
    const gateSeconds = run && finished ? (Date.parse(finished) - Date.parse(run.metadata.creationTimestamp)) / 1000 : undefined;
    return { run, answer: lastAnswer(run), gateSeconds };
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
    ) {}

    /** Starts the control plane, the controller, Prometheus, the demo apps and the judge; no stack yet. */
    static async start(): Promise<Lab> {
        const engine = new Engine(toolchainBin());
        const cp = await startControlPlane();
        let live: Live | undefined;
        let stopBalancer: (() => Promise<void>) | undefined;
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
            // A third app as the canary header's preview track: its requests are never the canary's.
            live = await startLive({ scrapeConfigs: [judgeScrapeConfig(judgePorts)], preview: true });
            const tokenFile = path.join(live.dir, "judge-token");
            fs.writeFileSync(tokenFile, JUDGE_TEST_TOKEN, { mode: 0o600 });
            const judges = new Map<number, ChildProcess>();
            for (const port of judgePorts) judges.set(port, await startJudge(live, port, tokenFile));
            const balancer = await startBalancer(judgePorts);
            stopBalancer = () => balancer.close();
            return new Lab(cp, live, engine, projectCopy(), judges, balancer, tokenFile, crds);
        } catch (e) {
            await stopBalancer?.();
            await live?.stop();
            await cp.stop();
            throw e;
        }
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
            "canary:gateway": { install: false, parentRef: { name: "shared", namespace: "gateways" } },
            "canary:analysis": { interval: "2s", judge: { install: false, url: this.judgeUrl, token: JUDGE_TEST_TOKEN } },
            // No router data path to send a load Job's requests through: each service stack sends its stage's traffic.
            "canary:loadTest": { enabled: false },
            "kubernetes:kubeconfig": this.cp.kubeconfig,
        };
    }

    /** The repository's dev stack (podinfo) with its add-ons off, on this cluster and its Prometheus, the controller the lab's. */
    devStack(): ServiceStack {
        const own = this.serviceConfig();
        return this.serviceStack("dev", this.live.services.get("podinfo")!, {
            ...devWithoutAddOns(),
            ...own,
            "canary:monitoring": { install: false, prometheusUrl: this.live.promUrl },
            "canary:analysis": { ...(own["canary:analysis"] as object), installController: false },
        });
    }

    /** Inits `stack` in the project copy, for the service whose tracks are `live`, with `config` in its stack file. */
    serviceStack(stack: string, live: LiveService, config: Record<string, unknown>, trafficPath = "/"): ServiceStack {
        this.engine.ok(["stack", "init", stack], this.project);
        const service = new ServiceStack(this, stack, live, trafficPath);
        service.writeConfig(config);
        return service;
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

    async stop(): Promise<void> {
        await this.balancer.close();
        await this.live.stop();
        await this.cp.stop();
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
        readonly live: LiveService,
        readonly trafficPath: string,
    ) {}

    get namespace(): string {
        return this.live.namespace;
    }

    get app(): string {
        return this.live.app;
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

    async runs(): Promise<AnalysisRunObject[]> {
        return (await this.lab.get(`/apis/argoproj.io/v1alpha1/namespaces/${this.namespace}/analysisruns`)).items;
    }

    /** Sets a track's injected faults at run time (`PUT /faults`, app/faults.ts). */
    faults(track: LiveTrack, query: string): Promise<void> {
        return putFaults(this.live, track, query);
    }

    /** Traffic to both tracks until `done` settles. */
    traffic(done: Promise<unknown>): Promise<void> {
        return loadWhile(done, [this.live.ports.stable, this.live.ports.canary], STAGE_RATE, undefined, this.trafficPath);
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
        const watched = Promise.all([this.watchRoute([100 - weight, weight], up), this.watchNewRun(before, up)]);
        // The update runs to its end whatever happens beside it: nothing may start while it runs. (The
        // watchers are settled here too, so that one failing meanwhile is not an unhandled rejection.)
        const side = await Promise.allSettled([this.traffic(up), during?.(), watched]);
        const [routeMoved, run] = await watched;
        const result = { changed, up: await up, ...run, routeMoved };
        const failed = side.find((s): s is PromiseRejectedResult => s.status === "rejected");
        if (failed) throw failed.reason;
        return result;
    }

    /**
     * The run made since `before` (run names), its judge's last answer and how long the gate took:
     * looked at every 500 ms until `done` settles and once more after, the run as last seen (also
     * when a rollback then deleted it).
     */
    async watchNewRun(before: ReadonlySet<string>, done: Promise<unknown>): Promise<Pick<StageResult, "run" | "answer" | "gateSeconds">> {
        const over = settled(done);
        let seen: AnalysisRunObject | undefined;
        for (;;) {
            // Asked before the look, so that the last look starts after `done` settled: the run as the update left it.
            const last = over();
            seen = (await this.runs()).find((r) => !before.has(r.metadata.name)) ?? seen;
            if (last) return runResult(seen);
            await sleep(500);
        }
    }

    /** Polls the route every 100 ms while `done` is pending: the first moment it shows `weights`, with the canary Deployment then. */
    private async watchRoute(weights: number[], done: Promise<unknown>): Promise<StageResult["routeMoved"]> {
        const over = settled(done);
        for (;;) {
            if (JSON.stringify(await this.routeWeights()) === JSON.stringify(weights)) {
                const d = (await this.lab.cp.request("GET", `/apis/apps/v1/namespaces/${this.namespace}/deployments/${this.app}-canary`)).body;
                return { seen: true, canaryReady: deploymentReady(d), canaryStatus: d?.status };
            }
            if (over()) return { seen: false, canaryReady: false };
            await sleep(100);
        }
    }
}
