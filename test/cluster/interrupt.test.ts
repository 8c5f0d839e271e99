/**
 * Ctrl-C on `npm run demo` in the middle of an update: everything the demo started goes, and its network
 * namespace with it. The demo is started as `npm run demo` ends (scripts/netns.sh, a namespace of its own,
 * inside the lane's), in a process group of its own, and interrupted the way a terminal does: SIGINT to
 * the whole group, while the engine is applying the first stage. Then no process is left in the demo's
 * namespace, which the kernel removes with its last process.
 */
import * as assert from "assert";
import { spawn } from "child_process";
import * as path from "path";
import { eventually, networkNamespace, processesInNamespace, ROOT } from "../../demo/host";

describe("Ctrl-C on the demo, mid-update", function () {
    this.timeout(10 * 60_000);

    it("stops every process the demo started, the engine's included, and its network namespace goes with them", async () => {
        // Without CANARY_NETNS, scripts/netns.sh makes the demo a namespace of its own, as `npm run demo` does.
        const { CANARY_NETNS: _, ...env } = process.env;
        const demo = spawn("bash", [path.join(ROOT, "scripts", "netns.sh"), process.execPath, path.join(ROOT, "node_modules", "ts-node", "dist", "bin.js"), "--transpile-only", path.join(ROOT, "demo", "main.ts")], {
            cwd: ROOT,
            env,
            detached: true,
            stdio: ["ignore", "pipe", "pipe"],
        });
        let output = "";
        demo.stdout.on("data", (d) => (output += d));
        demo.stderr.on("data", (d) => (output += d));
        const exit = new Promise<number | null>((resolve) => demo.on("exit", (code, signal) => resolve(code ?? (signal === null ? null : -1))));
        let ns: string | undefined;
        try {
            // The table's header row: the lab is up and the first stage's update is starting.
            await eventually("the demo's lab up", async () => /^stage\s+pulumi up changed/m.test(output), { timeoutMs: 5 * 60_000, intervalMs: 500, failEarly: () => (demo.exitCode !== null ? `the demo exited ${demo.exitCode}: ${output.slice(-3000)}` : undefined) });
            // netns.sh execs into the demo: the same pid, now in the demo's namespace.
            ns = networkNamespace(demo.pid!);
            assert.ok(ns && ns !== networkNamespace("self"), `the demo runs in a namespace of its own: ${ns}`);
            // The engine mid-update: the CLI, its language host and the Kubernetes provider are running.
            await eventually("pulumi up running in the demo's namespace", async () => processesInNamespace(ns!).some((p) => /pulumi-resource-kubernetes/.test(p)), { timeoutMs: 120_000, intervalMs: 200 });
            const before = processesInNamespace(ns);
            process.kill(-demo.pid!, "SIGINT");
            const code = await Promise.race([exit, new Promise<string>((r) => setTimeout(() => r("still running 60 s after SIGINT"), 60_000))]);
            assert.strictEqual(code, 130, `the demo's exit: ${code}; ${output.slice(-2000)}`);
            // The namespace goes with its last process: none may be left, however long it takes them to stop (bounded).
            const left = await eventually("no process left in the demo's namespace", async () => processesInNamespace(ns!).length === 0 || undefined, { timeoutMs: 30_000, intervalMs: 500 }).catch(() => processesInNamespace(ns!));
            assert.deepStrictEqual(left, true, `left running after Ctrl-C: ${JSON.stringify(left)}`);
            console.log(`      interrupted with ${before.length} processes in its namespace (the engine's among them); none left`);
        } finally {
            if (demo.exitCode === null && demo.signalCode === null) process.kill(-demo.pid!, "SIGKILL");
            if (ns) for (const p of processesInNamespace(ns)) process.kill(Number(p.split(" ")[0]), "SIGKILL");
        }
    });
});
