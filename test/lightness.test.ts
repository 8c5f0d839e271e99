/**
 * The program stays light: a run loads only what its stack needs. In a fresh process, as the
 * engine's language host starts one (the suites' own process has loaded everything by now): the dev
 * stack, through the Gateway API, never loads @pulumi/aws, the largest package the program could load.
 * The figures are the benchmark's (`npm run bench:program`), never a timed test.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { ROOT } from "./harness";

describe("the program's run loads only what its stack needs", () => {
    it("the dev stack (router gateway) registers its resources without loading @pulumi/aws", () => {
        const r = spawnSync(process.execPath, ["-r", "ts-node/register", path.join(ROOT, "test", "mockRun.ts"), "canary"], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
        assert.strictEqual(r.status, 0, r.stderr);
        const run = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as { resources: number; packages: string[] };
        assert.ok(run.resources > 40, `registered ${run.resources} resources`);
        assert.ok(run.packages.includes("@pulumi/kubernetes"), run.packages.join(", "));
        assert.ok(!run.packages.includes("@pulumi/aws"), `loaded @pulumi/aws: ${run.packages.join(", ")}`);
    });
});
