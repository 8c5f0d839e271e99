/**
 * One run of a program under the harness's mocks, in a process of its own, for `npm run bench:program`
 * (bench/program.ts spawns it by path): `canary`, the program with the dev stack's config as the suites
 * run it, or `one`, the one-Deployment program (test/engine/one-deployment). Prints one JSON line: the
 * milliseconds from before the program's module is loaded until its outputs are resolved, the resources
 * it registered, the milliseconds since the process started, and the packages the process loaded.
 */
import * as path from "path";
import { ROOT, runProgram, RunOptions } from "./harness";

const PROGRAMS: Record<string, RunOptions> = {
    canary: { stack: "dev" },
    // The one-Deployment program reads only where to render; under mocks nothing is written there.
    one: { stack: "dev", program: { module: path.join(ROOT, "test", "engine", "one-deployment", "index.ts"), project: "one-deployment" }, baseConfig: { "@kubernetes:renderYamlToDirectory": "/nonexistent/rendered" } },
};

/** The packages (`zod`, `@pulumi/aws`) with a module in the require cache, sorted. */
function loadedPackages(): string[] {
    const names = Object.keys(require.cache).map((f) => /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f.slice(f.lastIndexOf("node_modules/")))?.[1]);
    return [...new Set(names.filter((n): n is string => n !== undefined))].sort();
}

async function main(which: string): Promise<void> {
    const opts = PROGRAMS[which];
    if (opts === undefined) throw new Error(`mockRun: the program must be one of ${Object.keys(PROGRAMS).join(", ")}, got ${JSON.stringify(which)}`);
    const started = performance.now();
    const r = await runProgram(opts);
    const programMs = performance.now() - started;
    if (r.error) throw r.error;
    process.stdout.write(`${JSON.stringify({ program: which, programMs, resources: r.resources.length, processMs: performance.now(), packages: loadedPackages() })}\n`);
}

main(process.argv[2]).catch((e) => {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
});
