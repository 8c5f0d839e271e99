/**
 * Real command-line tools the tests run: promtool (Debian `prometheus`) and amtool
 * (`prometheus-alertmanager`). A missing tool fails the test with what to install; it never skips.
 * Also the numeric assertion the suites share.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** Asserts that `actual` is within `tolerance` of `expected`. */
export const close = (actual: number, expected: number, tolerance: number, what = "") => assert.ok(Math.abs(actual - expected) <= tolerance, `${what} ${actual} is not within ${tolerance} of ${expected}`);

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

let waitForBinary: string | undefined;

/**
 * Evaluates a `pulumi.com/waitFor` JSONPath against objects with tools/waitfor: theory/jsonpath, the
 * library pulumi-kubernetes uses, built once per run from the module pinned in tools/waitfor/go.mod.
 */
export function waitForMatches(annotation: string, objects: readonly unknown[]): boolean[] {
    if (!waitForBinary) {
        const out = path.join(tempDir("waitfor"), "waitfor");
        const built = runTool("go", ["build", "-o", out, "."], path.join(__dirname, "..", "tools", "waitfor"));
        if (built.status !== 0) throw new Error(`go build tools/waitfor failed: ${built.output}`);
        waitForBinary = out;
    }
    const r = spawnSync(waitForBinary, [annotation], { input: objects.map((o) => JSON.stringify(o)).join("\n") + "\n", encoding: "utf8" });
    if (r.status !== 0) throw new Error(`waitfor ${annotation}: ${r.stderr}`);
    return r.stdout.trim().split("\n").map((l) => l === "true");
}
