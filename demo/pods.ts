/**
 * What a kubelet does for the lab's app pods, with processes instead of containers: kwok reports each pod
 * Running and gives it an IP from the lab's pod network (demo/controlplane.ts `--cidr`), and here, for
 * each such pod whose image the lab knows (`ImageCatalog`), a real app process is bound to that pod's IP
 * and its container's port, with the environment its spec gives (values, and Secret and ConfigMap
 * references read from the API server), started when the pod appears and stopped (SIGTERM, as a
 * container is) when it is deleted. So a Service's endpoints, a router's backends and Prometheus'
 * targets are the pods' own addresses, and a pod's process is what its Deployment's image says: the
 * stable version, the canary, or a faulty build. Needs the lab's network namespace (scripts/netns.sh),
 * where the pod network is local.
 */
import { ChildProcess } from "child_process";
import * as http from "http";
import type { ControlPlane } from "./controlplane";
import { listenerOf, sleep } from "./host";

/** What a known image runs here: the entry point (run with `--host <pod IP> --port <port> --version <tag>`) and any extra options. */
export interface ImageProgram {
    readonly entry: string;
    readonly args?: readonly string[];
}

/**
 * The programs of the images the lab knows, by repository, and per tag where one tag differs (a faulty
 * build); `warmPath` is where a new process is warmed before it counts as started (WARM_REQUESTS).
 */
export interface ImageCatalog {
    readonly [repository: string]: { readonly entry: string; readonly warmPath: string; readonly tags?: Readonly<Record<string, readonly string[]>> };
}

/**
 * Requests a new process answers before it is taken as started: a Node.js process, unlike the Go binary
 * its image stands for, answers its first few hundred requests slowly while V8 compiles the handler, and a
 * canary that starts with no traffic would be judged slower than a stable that has it warm. They go
 * to the process directly, before the route sends it any user's request, so no stage's window holds them.
 */
export const WARM_REQUESTS = 400;

/** A pod's process, as `PodRunner` runs it. */
export interface PodProcess {
    readonly namespace: string;
    readonly pod: string;
    /** The pod's `track` label. */
    readonly track: string;
    readonly version: string;
    readonly ip: string;
    readonly port: number;
    /** The process, once it listens (undefined while it starts, or if it failed to). */
    readonly process?: ChildProcess;
    /** Settles once the process listens and is warm (true), or has failed to start or was stopped first (false). */
    readonly ready: Promise<boolean>;
}

/** Starts an entry point as the lab starts its processes (Live.start), resolving once it prints its ready line. */
export type Launch = (entry: string, args: readonly string[], env: Readonly<Record<string, string>>) => Promise<ChildProcess>;

/** A crashed container's first restart back-off (kubernetes pkg/kubelet/kubelet.go: `backOffPeriod = time.Second * 10`). */
export const RESTART_BACKOFF_MS = 10_000;

/** How often the pods are listed: a new pod's process starts within this (plus its own start-up). */
const POLL_MS = 300;

/** The image's repository and tag; undefined for a digest-only or untagged reference. */
export function imageParts(image: string): { repository: string; tag: string } | undefined {
    const at = image.indexOf("@");
    const ref = at < 0 ? image : image.slice(0, at);
    const colon = ref.lastIndexOf(":");
    if (colon < 0 || ref.indexOf("/", colon) >= 0) return undefined;
    return { repository: ref.slice(0, colon), tag: ref.slice(colon + 1) };
}

/** The program for `image`, or undefined when the catalog does not know it. */
export function programFor(catalog: ImageCatalog, image: string): (ImageProgram & { version: string; warmPath: string }) | undefined {
    const parts = imageParts(image);
    const known = parts && catalog[parts.repository];
    if (!parts || !known) return undefined;
    return { entry: known.entry, args: known.tags?.[parts.tag] ?? [], version: parts.tag, warmPath: known.warmPath };
}

/**
 * One request to a pod's process on a connection of its own, never a pooled one: pods come and go on
 * the same addresses, and a kept-alive connection to a process that has since exited (fetch's pool keeps
 * one per address) fails a request meant for the new one ("other side closed", seen in the cluster lane).
 * Resolves with the status and the body; bounded by `timeoutMs`.
 */
export function podRequest(ip: string, port: number, method: string, urlPath: string, headers: Readonly<Record<string, string>> = {}, timeoutMs = 5000): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        const req = http.request({ host: ip, port, method, path: urlPath, headers, agent: false }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (d: string) => body.length < 4096 && (body += d));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${ip}:${port}${urlPath}: no answer within ${timeoutMs} ms`)));
        req.on("error", reject);
        req.end();
    });
}

/** WARM_REQUESTS GETs of `warmPath`, four at a time; any answer will do (a faulty build's 500s too). */
export async function warm(ip: string, port: number, warmPath: string): Promise<void> {
    let sent = 0;
    const one = async () => {
        while (sent++ < WARM_REQUESTS) await podRequest(ip, port, "GET", warmPath);
    };
    await Promise.all([one(), one(), one(), one()]);
}

interface EnvSource {
    readonly name?: string;
    readonly value?: string;
    readonly valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } };
    readonly secretRef?: { name: string };
    readonly configMapRef?: { name: string };
    readonly prefix?: string;
}

/** What the runner keeps of a pod's process: what it shows, and what it needs to stop it. */
interface Entry extends PodProcess {
    process?: ChildProcess;
    /** The process once spawned and listening; undefined if it failed (then it has exited, or was killed). */
    readonly started: Promise<ChildProcess | undefined>;
    /** Whether it has been warmed: only then is it among `running`. */
    warm: boolean;
}

const address = (p: { ip: string; port: number }) => `${p.ip}:${p.port}`;
const alive = (child: ChildProcess | undefined): child is ChildProcess => child !== undefined && child.exitCode === null && child.signalCode === null;

export class PodRunner {
    /** The pods' processes, by pod UID: starting, running, or crashed and in their restart back-off. */
    private readonly processes = new Map<string, Entry>();
    /** Processes of pods that have gone, until they have exited: their addresses are not free before. */
    private readonly stopping = new Set<Entry>();
    private stopped = false;
    private loop?: Promise<void>;
    /** The last listing's failure, if the last listing failed: said once, not on every poll. */
    private problem?: string;

    constructor(
        private readonly cp: Pick<ControlPlane, "request">,
        private readonly catalog: ImageCatalog,
        private readonly launch: Launch,
        private readonly log: (line: string) => void,
    ) {}

    start(): void {
        this.loop = (async () => {
            while (!this.stopped) {
                await this.sync().then(
                    () => (this.problem = undefined),
                    (e: Error) => {
                        if (this.problem !== e.message) this.log(`pods: ${e.message}`);
                        this.problem = e.message;
                    },
                );
                await sleep(POLL_MS);
            }
        })();
    }

    /** The running, warmed processes of `namespace`'s pods of `track` (all tracks if not given). */
    running(namespace: string, track?: string): PodProcess[] {
        return [...this.processes.values()].filter((p) => p.namespace === namespace && (track === undefined || p.track === track) && p.warm && alive(p.process));
    }

    /** The process of pod `namespace`/`pod`, in whatever state: undefined if none has been started for it yet. */
    of(namespace: string, pod: string): PodProcess | undefined {
        return [...this.processes.values()].find((p) => p.namespace === namespace && p.pod === pod);
    }

    /**
     * Kills `namespace`'s `track` processes (SIGKILL: a crashed container). Their pods stay Running and in
     * the Service's endpoints, so a router's connections to them are refused, until each is started
     * again after RESTART_BACKOFF_MS, as a kubelet restarts a crashed container.
     */
    kill(namespace: string, track: string): number {
        const victims = this.running(namespace, track);
        for (const p of victims) p.process!.kill("SIGKILL");
        return victims.length;
    }

    async stop(): Promise<void> {
        this.stopped = true;
        await this.loop;
        const all = [...this.processes.values(), ...this.stopping];
        this.processes.clear();
        await Promise.all(all.map((p) => this.end(p)));
    }

    private async sync(): Promise<void> {
        const r = await this.cp.request("GET", "/api/v1/pods");
        if (r.status !== 200) throw new Error(`listing pods: ${r.status} ${r.text}`);
        const pods = (r.body.items as any[]).flatMap((pod) => {
            const container = pod.spec?.containers?.[0];
            const program = container && programFor(this.catalog, container.image);
            return program && pod.metadata.deletionTimestamp === undefined ? [{ pod, container, program }] : [];
        });
        // Gone pods first: kwok hands a deleted pod's IP to the next pod at once, as the old process stops.
        const seen = new Set(pods.map(({ pod }) => pod.metadata.uid as string));
        for (const [uid, p] of this.processes) {
            if (seen.has(uid)) continue;
            this.processes.delete(uid);
            void this.end(p);
        }
        for (const { pod, container, program } of pods) {
            const uid: string = pod.metadata.uid;
            const port = container.ports?.[0]?.containerPort;
            if (this.processes.has(uid) || pod.status?.phase !== "Running" || !pod.status?.podIP || typeof port !== "number") continue;
            // A kubelet's sandbox keeps its address until torn down: the pod waits for the process still on it.
            const at = address({ ip: pod.status.podIP, port });
            if ([...this.processes.values(), ...this.stopping].some((p) => address(p) === at)) continue;
            // A Secret or ConfigMap not there yet holds this pod back, not the others (a kubelet's CreateContainerConfigError, retried).
            const env = await this.env(pod.metadata.namespace, container).catch((e: Error) => void this.log(`pods: ${pod.metadata.namespace}/${pod.metadata.name} waits: ${e.message}`));
            if (!env) continue;
            this.startProcess(uid, pod, port, program, env);
        }
    }

    private startProcess(uid: string, pod: any, port: number, program: ImageProgram & { version: string; warmPath: string }, env: Record<string, string>): void {
        const ip: string = pod.status.podIP;
        const launched = this.launch(program.entry, ["--host", ip, "--port", String(port), "--version", program.version, ...(program.args ?? [])], env);
        const started = launched.then(
            (child) => child,
            (e: Error) => {
                this.log(`pods: ${pod.metadata.namespace}/${pod.metadata.name} on ${ip}:${port}${e.message.includes("EADDRINUSE") ? ` (held by ${listenerOf(ip, port) ?? "nothing now"})` : ""}: ${e.message}`);
                return undefined;
            },
        );
        const entry: Entry = {
            namespace: pod.metadata.namespace,
            pod: pod.metadata.name,
            track: pod.metadata.labels?.track ?? "",
            version: program.version,
            ip,
            port,
            started,
            warm: false,
            ready: started.then(async (child) => {
                const current = () => this.processes.get(uid) === entry;
                // A failed start, a crash or `kill` leaves the pod Running: it is started again after the kubelet's back-off.
                const restartLater = () => setTimeout(() => current() && this.processes.delete(uid), RESTART_BACKOFF_MS).unref();
                if (!child || !current()) {
                    // Stopped before it started: `end` kills it.
                    if (current()) restartLater();
                    return false;
                }
                entry.process = child;
                child.once("exit", restartLater);
                // A pod gone (or the lab stopping) mid-warm-up resets its requests: said only while the pod is still wanted.
                await warm(ip, port, program.warmPath).catch((e: Error) => current() && this.log(`pods: warming ${entry.namespace}/${entry.pod}: ${e.message}`));
                entry.warm = current() && alive(child);
                return entry.warm;
            }),
        };
        this.processes.set(uid, entry);
    }

    /** Stops a pod's process (SIGTERM, as a container is; SIGKILL 5 s later), whenever it has started; its address is busy until it has exited. */
    private async end(p: Entry): Promise<void> {
        this.stopping.add(p);
        const child = await p.started;
        if (alive(child)) {
            const exited = new Promise((r) => child.once("exit", r));
            child.kill("SIGTERM");
            const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
            await exited;
            clearTimeout(timer);
        }
        this.stopping.delete(p);
    }

    /** The container's environment as a kubelet resolves it: values, Secret and ConfigMap keys, and envFrom. */
    private async env(namespace: string, container: { env?: EnvSource[]; envFrom?: EnvSource[] }): Promise<Record<string, string>> {
        const data = async (kind: "secrets" | "configmaps", name: string): Promise<Record<string, string>> => {
            const r = await this.cp.request("GET", `/api/v1/namespaces/${namespace}/${kind}/${name}`);
            if (r.status !== 200) throw new Error(`${namespace}/${name}: ${r.status}`);
            const raw: Record<string, string> = r.body.data ?? {};
            return kind === "secrets" ? Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Buffer.from(v, "base64").toString()])) : raw;
        };
        const env: Record<string, string> = {};
        for (const from of container.envFrom ?? []) {
            const values = from.secretRef ? await data("secrets", from.secretRef.name) : from.configMapRef ? await data("configmaps", from.configMapRef.name) : {};
            for (const [k, v] of Object.entries(values)) env[(from.prefix ?? "") + k] = v;
        }
        for (const e of container.env ?? []) {
            if (!e.name) continue;
            const ref = e.valueFrom?.secretKeyRef ?? e.valueFrom?.configMapKeyRef;
            if (ref) env[e.name] = (await data(e.valueFrom?.secretKeyRef ? "secrets" : "configmaps", ref.name))[ref.key] ?? "";
            else if (e.value !== undefined) env[e.name] = e.value;
        }
        return env;
    }
}
