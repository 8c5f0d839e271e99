/**
 * The host the demo and the test lanes run on: the real command-line tools they need (a missing one
 * fails with what to install; nothing is skipped), the repository's root, and temp dirs removed at the end.
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

const INSTALL_HINT: Record<string, string> = {
    go: "Go 1.23 or newer (the machine image has it; https://go.dev/doc/install)",
    promtool: "apt-get install prometheus",
    amtool: "apt-get install prometheus-alertmanager",
    prometheus: "apt-get install prometheus",
};

/** Runs a tool; throws (failing the test) if it is not installed. */
export function runTool(tool: string, args: string[], cwd?: string, env: NodeJS.ProcessEnv = process.env): ToolResult {
    const r = spawnSync(tool, args, { cwd, env, encoding: "utf8", timeout: 120_000 });
    if (r.error && (r.error as NodeJS.ErrnoException).code === "ENOENT") {
        throw new Error(`${tool} is not installed: ${INSTALL_HINT[tool] ?? "install it"} (.ci/run does this)`);
    }
    if (r.error) throw r.error;
    return { status: r.status, output: `${r.stdout}${r.stderr}`, stdout: r.stdout };
}

/** Fails at once, naming the package, when `tool` is missing: before a test waits on a server that never starts. */
export function requireTool(tool: string, env: NodeJS.ProcessEnv = process.env): void {
    const r = runTool(tool, ["--version"], undefined, env);
    if (r.status !== 0) throw new Error(`${tool} --version failed (${r.status}): ${r.output}`);
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
