/**
 * The real Pulumi engine for the engine lane: the toolchain's CLI (scripts/toolchain.sh: the official
 * CLI, or the one built from Go modules) on a file backend in a temp dir with a passphrase. The
 * engine never reaches beyond this machine: no update check, no plugin downloads, no cloud backend.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { ROOT, tempDir } from "./host";

export interface Run {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
    readonly seconds: number;
}

/** The toolchain's bin dir; fails (never skips) when it cannot be had, with the script's own words. */
export function toolchainBin(): string {
    const r = spawnSync("bash", [path.join(ROOT, "scripts", "toolchain.sh")], { cwd: ROOT, encoding: "utf8", timeout: 60 * 60_000 });
    const bin = r.stdout.trim().split("\n").pop() ?? "";
    if (r.status !== 0 || !fs.existsSync(path.join(bin, "pulumi"))) {
        throw new Error(`npm run toolchain failed (exit ${r.status}): ${r.stderr.slice(-3000)}`);
    }
    return bin;
}

export class Engine {
    readonly env: NodeJS.ProcessEnv;
    readonly backend: string;

    constructor(readonly bin: string) {
        this.backend = tempDir("engine-state");
        const home = path.join(path.dirname(bin), "home");
        this.env = {
            ...process.env,
            PATH: `${bin}${path.delimiter}${process.env.PATH}`,
            // The toolchain's plugins (the provider built from Go modules); an official CLI downloads its own there.
            PULUMI_HOME: fs.existsSync(home) ? home : tempDir("engine-home"),
            PULUMI_BACKEND_URL: `file://${this.backend}`,
            PULUMI_CONFIG_PASSPHRASE: "engine-lane-passphrase",
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
            NO_COLOR: "1",
        };
    }

    /** `pulumi <args>` in `cwd`, timed. */
    run(args: readonly string[], cwd: string): Run {
        const start = process.hrtime.bigint();
        const r = spawnSync(path.join(this.bin, "pulumi"), ["--non-interactive", ...args], { cwd, env: this.env, encoding: "utf8", timeout: 15 * 60_000, maxBuffer: 256 * 1024 * 1024 });
        if (r.error) throw r.error;
        return { status: r.status, stdout: r.stdout, stderr: r.stderr, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
    }

    /** Like `run`, without blocking this process: a test keeps driving traffic and watching the cluster meanwhile. */
    start(args: readonly string[], cwd: string): Promise<Run> {
        return timed(path.join(this.bin, "pulumi"), ["--non-interactive", ...args], cwd, this.env);
    }

    /** Like `run`, failing with what the engine printed unless it exited 0. */
    ok(args: readonly string[], cwd: string): Run {
        return succeeded(args, this.run(args, cwd));
    }

    /** Like `ok`, without blocking this process (`start`). */
    async okAsync(args: readonly string[], cwd: string): Promise<Run> {
        return succeeded(args, await this.start(args, cwd));
    }
}

/** `r`, unless `pulumi <args>` exited other than 0: then an error with what the engine printed. */
function succeeded(args: readonly string[], r: Run): Run {
    if (r.status !== 0) throw new Error(`pulumi ${args.join(" ")} exited ${r.status}:\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}`);
    return r;
}

/** One step of `pulumi preview --json`: what the engine will do to one resource. */
export interface PreviewStep {
    readonly op: string;
    readonly urn: string;
    readonly type: string;
    readonly diffs: readonly string[];
}

/** The steps of `pulumi preview --json`, from the engine's own JSON. */
export function previewSteps(stdout: string): PreviewStep[] {
    const doc = JSON.parse(stdout) as { steps?: { op: string; urn: string; newState?: { type: string }; oldState?: { type: string }; diffs?: string[] }[] };
    return (doc.steps ?? []).map((s) => ({ op: s.op, urn: s.urn, type: s.newState?.type ?? s.oldState?.type ?? "", diffs: s.diffs ?? [] }));
}

/** The messages of `pulumi preview --json`'s diagnostics (the program's refusal among them), as printed, unescaped. */
export function previewDiagnostics(stdout: string): string[] {
    const doc = JSON.parse(stdout) as { diagnostics?: { message: string }[] };
    return (doc.diagnostics ?? []).map((d) => d.message);
}

/** The resource's name, the last part of its URN. */
export const urnName = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);

/**
 * The repository's dev stack config with the add-ons off (nothing fetched from remote chart
 * repositories): monitoring, Argo Rollouts, cert-manager, logging, tracing; the router's Gateway, the
 * Prometheus and the load test's target are the caller's to name.
 */
/** The external judge's bearer token in the engine and cluster lanes' stacks: a fixed test value (canary:analysis.judge.token). */
export const JUDGE_TEST_TOKEN = "lab-judge-token-0123456789abcdefghijklmnopqrstuv";

/** The add-ons off, as stack config keys over a dev stack file: what the engine and cluster lanes run. */
export const ADD_ONS_OFF: Readonly<Record<string, unknown>> = {
    "canary:monitoring": { install: false, prometheusUrl: "http://prometheus-operated.monitoring.svc:9090" },
    // The judge as a service elsewhere, with its token in the config: the installed judge's token is a
    // @pulumi/random RandomPassword, and the module proxy does not serve pulumi-random's provider
    // (github.com/pulumi/pulumi-random/provider/v4: 403), so the toolchain has no random plugin.
    "canary:analysis": { installController: false, judge: { install: false, url: "http://canary-judge.podinfo.svc:8080", token: JUDGE_TEST_TOKEN } },
    "canary:tls": { installCertManager: false },
    "canary:logging": { enabled: false },
    "canary:tracing": { enabled: false },
    "canary:loadTest": { target: "https://shared.gateways.svc:443" },
};

/** A stack file's `config:` map. */
export const stackFileConfig = (file: string): Record<string, unknown> => YAML.parse(fs.readFileSync(file, "utf8")).config as Record<string, unknown>;

export function devWithoutAddOns(): Record<string, unknown> {
    return { ...stackFileConfig(path.join(ROOT, "Pulumi.dev.yaml")), ...ADD_ONS_OFF };
}

/** The platform stack's program, a project of its own (Pulumi.yaml `name: platform`) under the repository's. */
export const PLATFORM_DIR = "platform";
const STACK_FILE = /^Pulumi\..+\.yaml$/;

/** `dir`'s entries linked into `copy`, but its stack files (and .git): those are the copy's own. */
function linkEntries(dir: string, copy: string): void {
    for (const entry of fs.readdirSync(dir)) {
        if (STACK_FILE.test(entry) || entry === ".git") continue;
        fs.symlinkSync(path.join(dir, entry), path.join(copy, entry));
    }
}

/**
 * A project directory of its own: the repository's files linked in, the stack files written here. The
 * platform stack's program (platform/) is a directory of its own too, its entries linked, so that its
 * stack files are written here and never into the repository.
 */
export function projectCopy(): string {
    const dir = tempDir("engine-project");
    linkEntries(ROOT, dir);
    fs.unlinkSync(path.join(dir, PLATFORM_DIR));
    fs.mkdirSync(path.join(dir, PLATFORM_DIR));
    linkEntries(path.join(ROOT, PLATFORM_DIR), path.join(dir, PLATFORM_DIR));
    return dir;
}

/**
 * The one-Deployment program (test/engine/one-deployment) in a directory of its own, its stack `one`
 * initialized to render into `out/` there: the floor a stage's preview is compared with. It runs with the
 * project's packages and tsconfig.json (transpiled as the program is: ts-node with swc).
 */
export function oneDeploymentCopy(engine: Engine): string {
    const dir = tempDir("engine-one");
    for (const f of ["Pulumi.yaml", "index.ts"]) fs.copyFileSync(path.join(ROOT, "test", "engine", "one-deployment", f), path.join(dir, f));
    for (const f of ["node_modules", "tsconfig.json", "package.json"]) fs.symlinkSync(path.join(ROOT, f), path.join(dir, f));
    engine.ok(["stack", "init", "one"], dir);
    writeStackConfig(path.join(dir, "Pulumi.one.yaml"), { "kubernetes:renderYamlToDirectory": path.join(dir, "out") });
    return dir;
}

/** Writes a stack file's config, keeping what `pulumi stack init` put there (the passphrase's salt). */
export function writeStackConfig(file: string, config: Record<string, unknown>): void {
    const current = fs.existsSync(file) ? (YAML.parse(fs.readFileSync(file, "utf8")) ?? {}) : {};
    fs.writeFileSync(file, YAML.stringify({ ...current, config }));
}

/** The steps that change something, as `op name`; every run reads its own last outputs (the StackReference), which changes nothing. */
export const changes = (steps: readonly PreviewStep[]) =>
    steps
        .filter((s) => s.op !== "same" && s.type !== "pulumi:pulumi:Stack" && !(s.op === "read" && s.type === "pulumi:pulumi:StackReference"))
        .map((s) => `${s.op} ${urnName(s.urn)}`)
        .sort();

const running = new Set<ChildProcess>();
process.once("exit", () => {
    for (const p of running) p.kill("SIGTERM");
});

/** A command run to its end without blocking this process, timed, its output kept. */
export function timed(cmd: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
    return new Promise((resolve, reject) => {
        const start = process.hrtime.bigint();
        const p = spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
        // An update this process started never outlives it (a failed test, Ctrl-C): the engine cancels on TERM.
        running.add(p);
        p.on("exit", () => running.delete(p));
        let stdout = "";
        let stderr = "";
        p.stdout.on("data", (d) => (stdout += d));
        p.stderr.on("data", (d) => (stderr += d));
        p.on("error", reject);
        p.on("exit", (status) => resolve({ status, stdout, stderr, seconds: Number(process.hrtime.bigint() - start) / 1e9 }));
    });
}

/** The `rollout` command as a user runs it in the project directory, with the engine's environment (its CLI first on PATH). */
export function rolloutCommand(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
    return timed(path.join(ROOT, "node_modules", ".bin", "ts-node"), ["--transpile-only", path.join(ROOT, "rollout", "main.ts"), ...args], cwd, env);
}
