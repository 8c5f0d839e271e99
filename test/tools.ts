/**
 * What the suites share besides the host's tools (demo/host.ts): the numeric assertion, and the
 * `pulumi.com/waitFor` JSONPath evaluated by the library the Kubernetes provider uses.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { runTool, tempDir } from "../demo/host";

/** Asserts that `actual` is within `tolerance` of `expected`. */
export const close = (actual: number, expected: number, tolerance: number, what = "") => assert.ok(Math.abs(actual - expected) <= tolerance, `${what} ${actual} is not within ${tolerance} of ${expected}`);

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
