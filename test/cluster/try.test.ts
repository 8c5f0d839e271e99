/**
 * `npm run try` end to end (demo/try.ts): the demo app's two tracks, the real Prometheus and the real
 * `rollout run` walking 5 → 25 → 50 → 100 on a healthy canary, then rolling back a faulty one, with a
 * short least time per stage (`--min-stage 3s`) so that the unit lane stays short; and Ctrl-C, which
 * must leave nothing running. And `rollout --min-stage`, the option that makes the stages that short.
 */
import * as assert from "assert";
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import { eventually, ROOT } from "../../demo/host";
import { DEFAULT_POLICY } from "../../domain/decide";
import { parseOptions } from "../../lib/args";
import { CliIo, COMMANDS, defaultIo, main } from "../../rollout/cli";
import { analysisArgs } from "../../rollout/context";
import { loadStack } from "../../rollout/stackFile";

const TS_NODE = path.join(ROOT, "node_modules", "ts-node", "dist", "bin.js");

/** demo/try.ts as `npm run try -- <args>` runs it, its output collected. */
function startTry(args: readonly string[], env: NodeJS.ProcessEnv = process.env): { p: ChildProcess; output: () => string; exit: Promise<number | null> } {
    const p = spawn(process.execPath, [TS_NODE, "--transpile-only", path.join(ROOT, "demo", "try.ts"), ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    p.stdout!.on("data", (d) => (text += d));
    p.stderr!.on("data", (d) => (text += d));
    const exit = new Promise<number | null>((resolve) => p.on("close", (code) => resolve(code)));
    return { p, output: () => text, exit };
}

/** The table's rows: stage, decision and canary requests, in order. */
function rows(output: string): [string, string][] {
    return [...output.matchAll(/^(\d+)\s+.*?\s(PROMOTE|ROLLBACK|HOLD)\s+[\d,]+\s+\d+ s$/gm)].map((m) => [m[1], m[2]]);
}

/** Every port the try's header names (Prometheus and the two tracks), from its first lines. */
const portsOf = (output: string) => [...(/^ {2}Prometheus .*$/m.exec(output)?.[0] ?? "").matchAll(/:(\d{2,5})\b/g)].map((m) => Number(m[1]));

/** Whether anything still answers on 127.0.0.1:`port`. */
const answers = (port: number) =>
    fetch(`http://127.0.0.1:${port}/`).then(
        () => true,
        () => false,
    );

describe("npm run try", function () {
    // A run takes about a minute here at --min-stage 3s; bounded whatever happens.
    this.timeout(240_000);
    let running: ChildProcess | undefined;
    afterEach(() => running?.kill("SIGKILL"));

    it("promotes the healthy canary through every stage, rolls back the faulty one, exits 0 and leaves nothing running", async () => {
        const t = startTry(["--min-stage", "3s"]);
        running = t.p;
        const code = await t.exit;
        const output = t.output();
        assert.strictEqual(code, 0, output);
        assert.deepStrictEqual(
            rows(output),
            [
                ["5", "PROMOTE"],
                ["25", "PROMOTE"],
                ["50", "PROMOTE"],
                ["100", "PROMOTE"],
                ["5", "ROLLBACK"],
            ],
            output,
        );
        assert.match(output, /the stack file is back at 0/);
        assert.match(output, /^took \d+ s; nothing is left running$/m);
        const ports = portsOf(output);
        assert.strictEqual(ports.length, 3, output);
        for (const port of ports) assert.strictEqual(await answers(port), false, `127.0.0.1:${port} still answers after the try ended`);
    });

    it("Ctrl-C stops it with everything it started, exit 130", async () => {
        const t = startTry(["--min-stage", "30s"]);
        running = t.p;
        // Interrupted in its first stage, with `rollout run` and the load running.
        await eventually("the first stage", async () => /^stage\s+rollout run wrote/m.test(t.output()), { timeoutMs: 90_000, intervalMs: 200 });
        const ports = portsOf(t.output());
        assert.strictEqual(ports.length, 3, t.output());
        assert.ok(await answers(ports[0]), "Prometheus answers while the try runs");
        t.p.kill("SIGINT");
        assert.strictEqual(await t.exit, 130, t.output());
        assert.match(t.output(), /^stopped; nothing is left running$/m);
        for (const port of ports) assert.strictEqual(await answers(port), false, `127.0.0.1:${port} still answers after Ctrl-C`);
    });

    it("a bad option is one line naming it, exit 2, before anything starts", async () => {
        for (const [args, line] of [
            [["--min-stage", "2h"], "try: --min-stage 2h is too long: at most 1h\n"],
            [["--stages", "5"], "try: unknown option --stages (options here: --min-stage, --help)\n"],
        ] as const) {
            const t = startTry(args);
            running = t.p;
            assert.strictEqual(await t.exit, 2, t.output());
            assert.strictEqual(t.output(), line);
        }
    });

    it("when Prometheus cannot be built it says why, exit 1, before anything starts", async () => {
        // A PATH with nothing on it but node (run by its full path): no bash to run scripts/prometheus.sh, no go.
        const t = startTry([], { ...process.env, PATH: path.dirname(process.execPath) });
        running = t.p;
        assert.strictEqual(await t.exit, 1, t.output());
        assert.match(t.output(), /^try: scripts\/prometheus\.sh could not run: spawnSync bash ENOENT\n$/m);
        assert.doesNotMatch(t.output(), /^stage /m, "no stage started");
    });
});

describe("rollout --min-stage", () => {
    /** `rollout <argv>` in the repository, its exit code and every line it printed. */
    async function rollout(argv: string[]): Promise<{ code: number; lines: string[] }> {
        const lines: string[] = [];
        const io: CliIo = { ...defaultIo(ROOT), out: (l) => lines.push(l), err: (l) => lines.push(l) };
        return { code: await main(argv, io), lines };
    }

    it("sets the judge's least time at a stage, the default policy's otherwise", () => {
        const s = loadStack(ROOT, "dev");
        const policy = (argv: string[]) => analysisArgs(parseOptions(argv, COMMANDS.run.options, "run"), defaultIo(ROOT), s).policy;
        assert.deepStrictEqual(policy(["--prometheus", "http://127.0.0.1:9090", "--min-stage", "3s"]), { ...DEFAULT_POLICY, minStageSeconds: 3 });
        assert.deepStrictEqual(policy(["--prometheus", "http://127.0.0.1:9090"]), DEFAULT_POLICY);
    });

    it("is refused past its bounds, naming the option and the bound, before Prometheus is asked", async () => {
        for (const [value, why] of [
            ["2h", "--min-stage 2h is too long: at most 1h"],
            ["500ms", "--min-stage 500ms is too short: at least 1s"],
        ]) {
            // Port 9 (discard): were it asked, the answer would be HOLD (exit 3), not a usage error.
            const r = await rollout(["analyze", "--stack", "dev", "--prometheus", "http://127.0.0.1:9", "--min-stage", value]);
            assert.deepStrictEqual([r.code, r.lines.join("\n")], [2, `rollout: ${why}`]);
        }
    });
});
