/**
 * The host the demo and the test lanes run on: the real command-line tools they need (a missing one
 * fails with what to install; nothing is skipped), the repository's root, temp dirs removed at the end,
 * and the waiting every other module of demo/ does (polling until something holds, noticing that a
 * promise settled).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export const ROOT = path.resolve(__dirname, "..");

export interface ToolResult {
    readonly status: number | null;
    /** stdout and stderr together, for messages. */
    readonly output: string;
    readonly stdout: string;
}

/** What scripts/prometheus.sh builds: the unit lane (test/hooks.ts) and `startLive` put them first on PATH. */
const PROMETHEUS_HINT = "scripts/prometheus.sh builds it from its Go module at the version kube-prometheus-stack deploys; the unit lane, the demo and the cluster lane run it and put its bin dir first on PATH";

const INSTALL_HINT: Record<string, string> = {
    go: "Go 1.26 (the wrapper modules under tools/ say go 1.26; https://go.dev/doc/install)",
    promtool: PROMETHEUS_HINT,
    amtool: PROMETHEUS_HINT,
    prometheus: PROMETHEUS_HINT,
    alertmanager: PROMETHEUS_HINT,
};

/** Runs a tool; throws (failing the test) if it is not installed. */
export function runTool(tool: string, args: string[], cwd?: string, env: NodeJS.ProcessEnv = process.env): ToolResult {
    const r = spawnSync(tool, args, { cwd, env, encoding: "utf8", timeout: 120_000 });
    if (r.error && (r.error as NodeJS.ErrnoException).code === "ENOENT") {
        throw new Error(`${tool} is not installed: ${INSTALL_HINT[tool] ?? "install it"}`);
    }
    if (r.error) throw r.error;
    return { status: r.status, output: `${r.stdout}${r.stderr}`, stdout: r.stdout };
}

/** Fails at once, naming the package, when `tool` is missing: before a test waits on a server that never starts. */
export function requireTool(tool: string, env: NodeJS.ProcessEnv = process.env): void {
    const r = runTool(tool, ["--version"], undefined, env);
    if (r.status !== 0) throw new Error(`${tool} --version failed (${r.status}): ${r.output}`);
}

/**
 * Runs one of the build scripts under scripts/ (toolchain.sh, controlplane.sh, prometheus.sh) and returns
 * the bin dir it prints last: built on first use (minutes when the cache is cold, its progress on our
 * stderr), seconds when warm.
 */
export function scriptBin(script: string): string {
    const r = spawnSync("bash", [path.join(ROOT, "scripts", script)], {
        cwd: ROOT,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
        timeout: 60 * 60_000,
    });
    if (r.error) throw new Error(`scripts/${script} could not run: ${r.error.message}`);
    if (r.status !== 0) throw new Error(`scripts/${script} failed (${r.status ?? r.signal}): its output above says why`);
    return r.stdout.trim().split("\n").pop()!;
}

let prometheusBin: string | undefined;

/**
 * Puts the bin dir of scripts/prometheus.sh (prometheus, promtool, alertmanager and amtool at the versions
 * the pinned kube-prometheus-stack deploys, each checked by the script to say its version) first on this
 * process's PATH, once, and returns it: every tool run after it, and every child process, finds those,
 * never an older distribution package further down the PATH.
 */
export function usePrometheusTools(): string {
    if (prometheusBin === undefined) {
        const bin = scriptBin("prometheus.sh");
        process.env.PATH = [bin, ...(process.env.PATH ?? "").split(path.delimiter).filter((d) => d !== bin)].join(path.delimiter);
        prometheusBin = bin;
    }
    return prometheusBin;
}

const created: string[] = [];

/** A fresh directory under the system's temp dir, removed by `removeTempDirs` after the run. */
export function tempDir(prefix: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `canary-${prefix}-`));
    created.push(dir);
    return dir;
}

/** Removes every directory `tempDir` made (mocha's root `afterAll`, test/hooks.ts). */
export function removeTempDirs(): void {
    for (const dir of created.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface EventuallyOptions {
    /** How long to poll before failing, ms. */
    readonly timeoutMs?: number;
    /** The pause between two polls, ms. */
    readonly intervalMs?: number;
    /** Whether a throw from the check counts as "not yet" (a server not listening yet) rather than failing the wait. */
    readonly retryOnThrow?: boolean;
    /** Asked before every poll: a message fails the wait at once (a process it waits on has died), as the message says. */
    readonly failEarly?: () => string | undefined;
}

/**
 * Polls `check` until it returns a value other than undefined or false, and resolves with it; fails
 * after `timeoutMs` (default 120 s) naming `what` it waited for (and the last check's throw, if it
 * threw), or as soon as `failEarly` has a message. Polled every `intervalMs` (default 250 ms), at
 * least once.
 */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, options: EventuallyOptions = {}): Promise<T> {
    const { timeoutMs = 120_000, intervalMs = 250, retryOnThrow = false, failEarly } = options;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const early = failEarly?.();
        if (early !== undefined) throw new Error(`gave up waiting for ${what}: ${early}`);
        let threw: unknown;
        try {
            const v = await check();
            if (v !== undefined && v !== false) return v;
        } catch (e) {
            if (!retryOnThrow) throw e;
            threw = e;
        }
        if (Date.now() > deadline) {
            const last = threw === undefined ? "" : ` (the last check threw: ${threw instanceof Error ? threw.message : String(threw)})`;
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last}`);
        }
        await sleep(intervalMs);
    }
}

/** Whether `promise` has settled yet, either way: for a loop that runs until it has (an update ending, say). */
export function settled(promise: Promise<unknown>): () => boolean {
    let over = false;
    const end = () => {
        over = true;
    };
    promise.then(end, end);
    return () => over;
}

/** The network namespace a process is in (`net:[inode]`), or undefined when it has gone (or is a zombie). */
export function networkNamespace(pid: number | "self"): string | undefined {
    try {
        return fs.readlinkSync(`/proc/${pid}/ns/net`);
    } catch {
        return undefined;
    }
}

/** A process's command line, bounded, or "(gone)" when it exited before it was read. */
function commandOf(pid: number): string {
    try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim().slice(0, 160);
    } catch {
        return "(gone)";
    }
}

/** The processes in network namespace `ns` (but `except`), as `pid command`. */
export function processesInNamespace(ns: string, except: ReadonlySet<number> = new Set()): string[] {
    const found: string[] = [];
    for (const entry of fs.readdirSync("/proc")) {
        const pid = Number(entry);
        if (!Number.isInteger(pid) || except.has(pid) || networkNamespace(pid) !== ns) continue;
        found.push(`${pid} ${commandOf(pid)}`);
    }
    return found;
}

/** This process and its ancestors: what started it (scripts/netns.sh execs into its command, npx runs mocha as a child). */
function selfAndAncestors(): Set<number> {
    const chain = new Set<number>();
    for (let pid = process.pid; pid > 1 && !chain.has(pid); ) {
        chain.add(pid);
        pid = Number(/^\d+ \(.*\) \S+ (\d+)/s.exec(fs.readFileSync(`/proc/${pid}/stat`, "utf8"))?.[1] ?? 0);
    }
    return chain;
}

/**
 * The processes left in this process's network namespace, beside it and its ancestors, once they have
 * had `withinMs` to go: none after a lab has stopped, as the lab's namespace holds only what it started.
 */
export async function strayProcesses(withinMs = 10_000): Promise<string[]> {
    const ns = networkNamespace("self")!;
    const deadline = Date.now() + withinMs;
    for (;;) {
        const left = processesInNamespace(ns, selfAndAncestors());
        if (left.length === 0 || Date.now() > deadline) return left;
        await sleep(250);
    }
}

/**
 * The process listening on `ip`:`port` (IPv4) in this network namespace, as `pid command`, or undefined:
 * the socket from /proc/net/tcp (state 0A, LISTEN; the address in the kernel's byte order), its holder
 * from the processes' descriptors. Says who holds an address a pod's process could not bind.
 */
export function listenerOf(ip: string, port: number): string | undefined {
    const hex = (n: number, width: number) => n.toString(16).toUpperCase().padStart(width, "0");
    const address = `${hex(Buffer.from(ip.split(".").map(Number).reverse()).readUInt32BE(0), 8)}:${hex(port, 4)}`;
    const wildcard = `00000000:${hex(port, 4)}`;
    const inodes = new Set<string>();
    for (const line of fs.readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
        const f = line.trim().split(/\s+/);
        if (f[3] === "0A" && (f[1] === address || f[1] === wildcard)) inodes.add(`socket:[${f[9]}]`);
    }
    if (inodes.size === 0) return undefined;
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        let fds: string[];
        try {
            fds = fs.readdirSync(`/proc/${entry}/fd`);
        } catch {
            continue;
        }
        for (const fd of fds) {
            let target: string;
            try {
                target = fs.readlinkSync(`/proc/${entry}/fd/${fd}`);
            } catch {
                continue;
            }
            if (inodes.has(target)) return `${entry} ${commandOf(Number(entry))}`;
        }
    }
    return "(a socket no process here holds)";
}
