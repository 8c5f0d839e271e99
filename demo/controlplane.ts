/**
 * A local Kubernetes control plane for the cluster lane, from the binaries scripts/controlplane.sh
 * builds out of Go modules: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok (a
 * fake Node whose pods turn Running and Ready without containers), and on request the real Argo
 * Rollouts controller out of cluster.
 *
 * Everything binds and talks to 127.0.0.1 only, on free ports, with its state in a temp dir. Each
 * process runs in its own process group under a small bash guard that kills it when this Node.js
 * process goes away, however it goes (its stdin pipe closes); `stop()` kills every group, is safe to
 * call twice, and runs on exit and on SIGINT/SIGTERM as well.
 *
 * One exception to "binds to 127.0.0.1": rollouts-controller v1.8.0 listens for /metrics and /healthz
 * on 0.0.0.0 (controller.go: listenAddr = "0.0.0.0:%d", no flag); it is given free ports, and nothing
 * ever connects to it but this module, on 127.0.0.1.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as net from "net";
import * as path from "path";
import * as YAML from "yaml";
import { eventually, scriptBin, sleep, tempDir } from "./host";

const HOST = "127.0.0.1";
/** The fake node kwok manages (it manages only nodes carrying this annotation). */
export const NODE_NAME = "kwok-node-0";
const KWOK_ANNOTATION = "kwok.x-k8s.io/node";

export interface ApiResponse {
    readonly status: number;
    readonly body: any;
    readonly text: string;
}

export interface ControlPlane {
    /** A kubeconfig file for the admin user (system:masters, by bearer token), CA pinned. */
    readonly kubeconfig: string;
    /** https://127.0.0.1:<port> */
    readonly server: string;
    /** The admin user's bearer token. */
    readonly token: string;
    /** The CA that signed the API server's serving certificate (PEM file). */
    readonly ca: string;
    /** The control plane's bin dir (scripts/controlplane.sh). */
    readonly bin: string;
    /** The temp dir holding certificates, tokens, etcd's data and every process's log. */
    readonly dir: string;
    /** An API request as the admin user; a JSON body is sent as JSON, a string as it is. */
    request(method: string, urlPath: string, body?: unknown, contentType?: string): Promise<ApiResponse>;
    /** Applies Argo Rollouts' CRDs (copied from its module's manifests/crds) and starts rollouts-controller. */
    startRolloutsController(): Promise<void>;
    /** Applies the CRDs scripts/controlplane.sh copied from a module (`gateway-api`, `prometheus-operator`): their version and names. */
    applyCrds(module: "gateway-api" | "prometheus-operator"): Promise<{ version: string; crds: string[] }>;
    /** The last lines of a process's log (etcd, kube-apiserver, ..., rollouts-controller). */
    log(name: string, lines?: number): string;
    /** Kills every process (TERM, then KILL after a grace period); safe to call twice. */
    stop(): Promise<void>;
}

export interface StartOptions {
    /** The bin dir; default: CANARY_CONTROLPLANE_BIN, else what scripts/controlplane.sh prints (building on a cold cache). */
    readonly bin?: string;
    /** How long each component may take to become ready, ms. */
    readonly readyTimeoutMs?: number;
}

/** The bin dir of scripts/controlplane.sh: built on first use (minutes when cold), seconds when warm. */
export function controlPlaneBin(): string {
    return process.env.CANARY_CONTROLPLANE_BIN || scriptBin("controlplane.sh");
}

/** The guard: runs "$@" with stdin from /dev/null and kills it (TERM, then KILL) once our stdin pipe closes. */
// (A background job's stdin is /dev/null in a non-interactive shell, hence the pipe kept on fd 3.)
const GUARD = `exec 3<&0
"$@" </dev/null 3<&- & c=$!
{ read -r _ <&3 || true; kill -TERM "$c" 2>/dev/null; sleep 5; kill -KILL "$c" 2>/dev/null; } &
w=$!
wait "$c"; s=$?
kill "$w" 2>/dev/null
exit "$s"`;

interface Proc {
    readonly name: string;
    readonly child: ChildProcess;
    readonly logFile: string;
    exit?: { code: number | null; signal: NodeJS.Signals | null };
    readonly exited: Promise<void>;
}

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.on("error", reject);
        srv.listen(0, HOST, () => {
            const port = (srv.address() as net.AddressInfo).port;
            srv.close(() => resolve(port));
        });
    });
}

async function freePorts(n: number): Promise<number[]> {
    const ports = new Set<number>();
    while (ports.size < n) ports.add(await freePort());
    return [...ports];
}

function tail(file: string, lines = 40): string {
    try {
        return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
        return "(no log)";
    }
}

function groupAlive(pid: number): boolean {
    try {
        process.kill(-pid, 0);
        return true;
    } catch {
        return false;
    }
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
    if (pid === undefined) return;
    try {
        process.kill(-pid, signal);
    } catch {
        // already gone
    }
}

/** A plain HTTP(S) GET to 127.0.0.1, bounded in time; resolves with the status (0 when unreachable). */
function probe(url: string, options: https.RequestOptions = {}): Promise<{ status: number; text: string }> {
    return new Promise((resolve) => {
        const u = new URL(url);
        if (u.hostname !== HOST) throw new Error(`refusing to probe ${url}: 127.0.0.1 only`);
        const mod = u.protocol === "https:" ? https : http;
        const req = mod.request(url, { method: "GET", timeout: 5000, ...options }, (res) => {
            let text = "";
            res.setEncoding("utf8");
            res.on("data", (d) => (text += d));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", () => resolve({ status: 0, text: "" }));
        req.end();
    });
}

function openssl(dir: string, args: string[]): void {
    const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8", timeout: 60_000 });
    if (r.error && (r.error as NodeJS.ErrnoException).code === "ENOENT") {
        throw new Error("openssl is not installed: the control plane's CA and serving certificate are made with it (apt-get install openssl)");
    }
    if (r.status !== 0) throw new Error(`openssl ${args.join(" ")} failed: ${r.stderr}`);
}

function kubeconfigFor(server: string, caFile: string, user: string, token: string): string {
    return JSON.stringify(
        {
            apiVersion: "v1",
            kind: "Config",
            clusters: [{ name: "canary", cluster: { server, "certificate-authority": caFile } }],
            users: [{ name: user, user: { token } }],
            contexts: [{ name: "canary", context: { cluster: "canary", user } }],
            "current-context": "canary",
        },
        null,
        2,
    );
}

const live = new Set<Proc>();
const stateDirs = new Set<string>();
let handlersInstalled = false;

/** Synchronous last resort (process exit, Ctrl-C): KILL every process group still running. */
function killAllNow(): void {
    for (const p of live) killGroup(p.child.pid, "SIGKILL");
}

/** On a signal: KILL everything, then remove the state dirs (mocha's root afterAll does not run then). */
function killAllAndRemove(): void {
    killAllNow();
    for (const dir of stateDirs) fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

function installHandlers(): void {
    if (handlersInstalled) return;
    handlersInstalled = true;
    process.on("exit", killAllNow);
    for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]] as const) {
        process.once(signal, () => {
            killAllAndRemove();
            process.exit(code);
        });
    }
}

/** Starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok; resolves when a Node is Ready. */
export async function startControlPlane(options: StartOptions = {}): Promise<ControlPlane> {
    const bin = options.bin ?? controlPlaneBin();
    const readyMs = options.readyTimeoutMs ?? 120_000;
    const dir = tempDir("cluster");
    stateDirs.add(dir);
    installHandlers();
    const procs: Proc[] = [];
    let stopping: Promise<void> | undefined;

    const launch = (name: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc => {
        const logFile = path.join(dir, `${name}.log`);
        const fd = fs.openSync(logFile, "a");
        const child = spawn("bash", ["-c", GUARD, name, path.join(bin, name), ...args], {
            cwd: dir,
            detached: true,
            stdio: ["pipe", fd, fd],
            // No proxy settings: everything is on 127.0.0.1.
            env: { PATH: process.env.PATH, HOME: dir, ...env },
        });
        fs.closeSync(fd);
        child.stdin?.on("error", () => undefined);
        let done!: () => void;
        const p: Proc = { name, child, logFile, exited: new Promise<void>((r) => (done = r)) };
        child.on("exit", (code, signal) => {
            // Stays in `live` until stop() saw its whole process group gone: the guard may exit before its child.
            p.exit = { code, signal };
            done();
        });
        child.on("error", () => done());
        procs.push(p);
        live.add(p);
        return p;
    };

    const stop = (): Promise<void> => {
        stopping ??= (async () => {
            // The API server's clients first, then the API server, then etcd: each TERM, KILL after 5 s.
            const order = (p: Proc) => (p.name === "etcd" ? 2 : p.name === "kube-apiserver" ? 1 : 0);
            for (const rank of [0, 1, 2]) {
                const group = procs.filter((p) => order(p) === rank);
                for (const p of group) if (!p.exit) killGroup(p.child.pid, "SIGTERM");
                const deadline = Date.now() + 5_000;
                while (Date.now() < deadline && group.some((p) => !p.exit || groupAlive(p.child.pid!))) await sleep(50);
                for (const p of group) killGroup(p.child.pid, "SIGKILL");
            }
            await Promise.race([Promise.all(procs.map((p) => p.exited)), sleep(5000)]);
            for (const p of procs) {
                p.child.stdin?.destroy();
                live.delete(p);
            }
        })();
        return stopping;
    };

    /** A process of this control plane that has exited, with its log's last lines: nothing waited on can come then. */
    const died = (): string | undefined => {
        const dead = procs.find((p) => p.exit);
        return dead && `${dead.name} exited (${dead.exit!.code ?? dead.exit!.signal}):\n${tail(dead.logFile)}`;
    };
    /** Polls `check` until it returns a value, failing early when a process died. */
    const until = <T>(what: string, check: () => Promise<T | undefined>): Promise<T> => eventually(what, check, { timeoutMs: readyMs, failEarly: died });

    try {
        // Certificates: a CA, the API server's serving certificate for 127.0.0.1, the service-account key pair.
        const pki = path.join(dir, "pki");
        fs.mkdirSync(pki);
        openssl(pki, ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=canary-cluster-ca"]);
        openssl(pki, ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "apiserver.key", "-out", "apiserver.csr", "-subj", "/CN=kube-apiserver"]);
        fs.writeFileSync(path.join(pki, "san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.96.0.1,DNS:kubernetes.default.svc\n");
        openssl(pki, ["x509", "-req", "-in", "apiserver.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "apiserver.crt", "-days", "2", "-extfile", "san.ext"]);
        const sa = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
        fs.writeFileSync(path.join(pki, "sa.key"), sa.privateKey.export({ type: "pkcs1", format: "pem" }));
        fs.writeFileSync(path.join(pki, "sa.pub"), sa.publicKey.export({ type: "spki", format: "pem" }));
        const caFile = path.join(pki, "ca.crt");
        const ca = fs.readFileSync(caFile);

        // Static tokens: the admin (system:masters) for the tests, kwok and the rollouts controller; the
        // controller-manager and the scheduler as the users the bootstrap RBAC roles are bound to.
        const tok = () => crypto.randomBytes(24).toString("hex");
        const token = tok();
        const kcmToken = tok();
        const schedulerToken = tok();
        fs.writeFileSync(
            path.join(pki, "tokens.csv"),
            [`${token},canary-admin,canary-admin,"system:masters"`, `${kcmToken},system:kube-controller-manager,kcm`, `${schedulerToken},system:kube-scheduler,scheduler`].join("\n") + "\n",
        );

        const [etcdPort, peerPort, apiPort, kcmPort, schedulerPort, kwokPort] = await freePorts(6);
        const server = `https://${HOST}:${apiPort}`;
        const kubeconfig = path.join(dir, "kubeconfig");
        fs.writeFileSync(kubeconfig, kubeconfigFor(server, caFile, "canary-admin", token));
        fs.writeFileSync(path.join(dir, "kcm.kubeconfig"), kubeconfigFor(server, caFile, "system:kube-controller-manager", kcmToken));
        fs.writeFileSync(path.join(dir, "scheduler.kubeconfig"), kubeconfigFor(server, caFile, "system:kube-scheduler", schedulerToken));

        const request = (method: string, urlPath: string, body?: unknown, contentType?: string): Promise<ApiResponse> =>
            new Promise((resolve, reject) => {
                const data = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
                const req = https.request(
                    `${server}${urlPath}`,
                    {
                        method,
                        ca,
                        timeout: 30_000,
                        headers: {
                            Authorization: `Bearer ${token}`,
                            Accept: "application/json",
                            ...(data === undefined ? {} : { "Content-Type": contentType ?? "application/json", "Content-Length": Buffer.byteLength(data) }),
                        },
                    },
                    (res) => {
                        let text = "";
                        res.setEncoding("utf8");
                        res.on("data", (d) => (text += d));
                        res.on("end", () => {
                            let parsed: unknown;
                            try {
                                parsed = JSON.parse(text);
                            } catch {
                                parsed = undefined;
                            }
                            resolve({ status: res.statusCode ?? 0, body: parsed, text });
                        });
                    },
                );
                req.on("timeout", () => req.destroy(new Error(`${method} ${urlPath}: no answer in 30 s`)));
                req.on("error", reject);
                if (data !== undefined) req.write(data);
                req.end();
            });

        // etcd
        launch("etcd", [
            "--name=canary",
            `--data-dir=${path.join(dir, "etcd")}`,
            `--listen-client-urls=http://${HOST}:${etcdPort}`,
            `--advertise-client-urls=http://${HOST}:${etcdPort}`,
            `--listen-peer-urls=http://${HOST}:${peerPort}`,
            `--initial-advertise-peer-urls=http://${HOST}:${peerPort}`,
            `--initial-cluster=canary=http://${HOST}:${peerPort}`,
            "--initial-cluster-state=new",
            "--log-level=warn",
            "--quota-backend-bytes=2147483648",
        ]);
        await until("etcd /health", async () => {
            const r = await probe(`http://${HOST}:${etcdPort}/health`);
            return r.status === 200 && /"health":"true"/.test(r.text) ? true : undefined;
        });

        // kube-apiserver
        launch("kube-apiserver", [
            `--etcd-servers=http://${HOST}:${etcdPort}`,
            `--bind-address=${HOST}`,
            `--advertise-address=${HOST}`,
            `--secure-port=${apiPort}`,
            `--tls-cert-file=${path.join(pki, "apiserver.crt")}`,
            `--tls-private-key-file=${path.join(pki, "apiserver.key")}`,
            `--client-ca-file=${caFile}`,
            `--token-auth-file=${path.join(pki, "tokens.csv")}`,
            "--authorization-mode=Node,RBAC",
            // PodSecurity is in the default set; named so that the lane fails loudly if it ever is not.
            "--enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,DefaultTolerationSeconds,PodSecurity,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ResourceQuota",
            // Privileged pods are allowed by the server, so that a refusal can only come from Pod Security admission.
            "--allow-privileged=true",
            "--service-cluster-ip-range=10.96.0.0/16",
            // The `kubernetes` Service's endpoints would be 127.0.0.1, which Endpoints validation refuses; nothing in cluster needs them.
            "--endpoint-reconciler-type=none",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            `--service-account-key-file=${path.join(pki, "sa.pub")}`,
            `--service-account-signing-key-file=${path.join(pki, "sa.key")}`,
            "--profiling=false",
            "--v=1",
        ]);
        await until("kube-apiserver /readyz", async () => {
            const r = await probe(`${server}/readyz`, { ca, headers: { Authorization: `Bearer ${token}` } });
            return r.status === 200 ? true : undefined;
        });

        // kube-controller-manager and kube-scheduler
        launch("kube-controller-manager", [
            `--kubeconfig=${path.join(dir, "kcm.kubeconfig")}`,
            `--bind-address=${HOST}`,
            `--secure-port=${kcmPort}`,
            "--leader-elect=false",
            "--use-service-account-credentials=true",
            `--service-account-private-key-file=${path.join(pki, "sa.key")}`,
            `--root-ca-file=${caFile}`,
            "--cluster-name=canary",
            "--profiling=false",
            "--v=1",
        ]);
        launch("kube-scheduler", [
            `--kubeconfig=${path.join(dir, "scheduler.kubeconfig")}`,
            `--bind-address=${HOST}`,
            `--secure-port=${schedulerPort}`,
            "--leader-elect=false",
            "--profiling=false",
            "--v=1",
        ]);
        for (const [name, port] of [["kube-controller-manager", kcmPort], ["kube-scheduler", schedulerPort]] as const) {
            await until(`${name} /healthz`, async () => {
                // Their serving certificates are self-signed, made at start; the probe stays on 127.0.0.1.
                const r = await probe(`https://${HOST}:${port}/healthz`, { rejectUnauthorized: false });
                return r.status === 200 ? true : undefined;
            });
        }

        // kwok, managing only the annotated fake node, which is created here.
        launch("kwok", [
            `--kubeconfig=${kubeconfig}`,
            "--manage-all-nodes=false",
            `--manage-nodes-with-annotation-selector=${KWOK_ANNOTATION}=fake`,
            `--server-address=${HOST}:${kwokPort}`,
            `--node-ip=${HOST}`,
            `--node-port=${kwokPort}`,
            "--cidr=10.244.0.1/24",
            "--node-lease-duration-seconds=40",
        ]);
        const node = {
            apiVersion: "v1",
            kind: "Node",
            metadata: {
                name: NODE_NAME,
                annotations: { [KWOK_ANNOTATION]: "fake", "node.alpha.kubernetes.io/ttl": "0" },
                labels: { "kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", type: "kwok" },
            },
            spec: {},
            status: {
                allocatable: { cpu: "32", memory: "256Gi", pods: "110" },
                capacity: { cpu: "32", memory: "256Gi", pods: "110" },
                nodeInfo: { architecture: "amd64", operatingSystem: "linux", kubeletVersion: "fake", kubeProxyVersion: "fake" },
            },
        };
        const created = await request("POST", "/api/v1/nodes", node);
        if (created.status !== 201) throw new Error(`creating Node ${NODE_NAME}: ${created.status} ${created.text}`);
        await until(`Node ${NODE_NAME} Ready (kwok)`, async () => {
            const r = await request("GET", `/api/v1/nodes/${NODE_NAME}`);
            const ready = r.body?.status?.conditions?.find((c: { type: string }) => c.type === "Ready");
            return ready?.status === "True" ? true : undefined;
        });
        // The controller-manager's service-account controller is working once `default` has its account.
        await until("ServiceAccount default/default", async () => ((await request("GET", "/api/v1/namespaces/default/serviceaccounts/default")).status === 200 ? true : undefined));

        /** Creates every CRD in a dir of scripts/controlplane.sh's crds/ and waits until each is Established. */
        const applyCrds = async (name: string): Promise<string[]> => {
            const crdDir = path.join(bin, "..", "crds", name);
            const names: string[] = [];
            for (const file of fs.readdirSync(crdDir).filter((f) => f.endsWith(".yaml")).sort()) {
                for (const doc of YAML.parseAllDocuments(fs.readFileSync(path.join(crdDir, file), "utf8"))) {
                    const crd = doc.toJSON();
                    // (Gateway API's dir also holds a ValidatingAdmissionPolicy for its upgrades: not a CRD.)
                    if (crd?.kind !== "CustomResourceDefinition") continue;
                    const r = await request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd);
                    if (r.status !== 201) throw new Error(`creating CRD ${crd.metadata?.name} from ${file}: ${r.status} ${r.text}`);
                    names.push(crd.metadata.name);
                }
            }
            for (const crd of names) {
                await until(`CRD ${crd} Established`, async () => {
                    const g = await request("GET", `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd}`);
                    return g.body?.status?.conditions?.some((c: { type: string; status: string }) => c.type === "Established" && c.status === "True") ? true : undefined;
                });
            }
            return names;
        };
        const crdDirs = () => fs.readdirSync(path.join(bin, "..", "crds"));

        let rollouts: Promise<void> | undefined;
        const startRolloutsController = (): Promise<void> => {
            rollouts ??= (async () => {
                await applyCrds("argo-rollouts");
                const ns = await request("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "argo-rollouts" } });
                if (ns.status !== 201 && ns.status !== 409) throw new Error(`creating namespace argo-rollouts: ${ns.status} ${ns.text}`);
                const [metricsPort, healthzPort] = await freePorts(2);
                launch(
                    "rollouts-controller",
                    [`--kubeconfig=${kubeconfig}`, "--leader-elect=false", `--metricsport=${metricsPort}`, `--healthzPort=${healthzPort}`, "--loglevel=info"],
                    { POD_NAMESPACE: "argo-rollouts" },
                );
                await until("rollouts-controller /healthz", async () => ((await probe(`http://${HOST}:${healthzPort}/healthz`)).status === 200 ? true : undefined));
            })();
            return rollouts;
        };

        return {
            kubeconfig,
            server,
            token,
            ca: caFile,
            bin,
            dir,
            request,
            startRolloutsController,
            applyCrds: async (prefix: string) => {
                const dir = crdDirs().find((d) => d.startsWith(`${prefix}-v`));
                if (!dir) throw new Error(`no ${prefix} CRDs in ${path.join(bin, "..", "crds")} (scripts/controlplane.sh copies them)`);
                return { version: dir.slice(prefix.length + 2), crds: await applyCrds(dir) };
            },
            log: (name: string, lines?: number) => tail(path.join(dir, `${name}.log`), lines),
            stop,
        };
    } catch (e) {
        await stop();
        throw e;
    }
}
