/**
 * `npm run bench:cli`: how long the `rollout` command takes, start to exit, as a person runs it: N
 * runs each of `rollout --help` and `rollout status --stack dev` (the project's own stack file),
 * through the bin (`node rollout/bin.js`, what `npm run rollout` and the package's bin run) and
 * through ts-node (`rollout/main.ts`, what the bin falls back to). Prints the median and p90 in
 * milliseconds, and which way the bin started (ROLLOUT_START=1, rollout/bin.js) on every run.
 */
import { spawnSync } from "child_process";
import * as os from "os";
import * as path from "path";
import { numberOption, optionHelp, OptionSpec, parseOptions } from "../lib/args";
import { exitOnProblem } from "../lib/system";
import { quantile } from "./decisions";

const ROOT = path.join(__dirname, "..");
const OPTIONS: OptionSpec[] = [
    { name: "runs", value: "N", help: "runs of each command on each path (default 15)" },
    { name: "json", help: "print one JSON document instead of the table" },
    { name: "help", help: "this help" },
];

const PATHS = {
    bin: [process.execPath, path.join(ROOT, "rollout", "bin.js")],
    "ts-node": [path.join(ROOT, "node_modules", ".bin", "ts-node"), "--transpile-only", path.join(ROOT, "rollout", "main.ts")],
} as const;
const COMMANDS = [["--help"], ["status", "--stack", "dev"]];

interface Timing {
    readonly path: keyof typeof PATHS;
    readonly command: string;
    readonly runs: number;
    readonly medianMs: number;
    readonly p90Ms: number;
    /** How the bin said it started, each way once (the ts-node path says nothing). */
    readonly started: string[];
}

/** One command, `runs` times on one path, after a run not counted (it may build the bundle). */
function time(way: keyof typeof PATHS, args: readonly string[], runs: number): Timing {
    const [command, ...pre] = PATHS[way];
    const once = () => {
        const started = process.hrtime.bigint();
        const r = spawnSync(command, [...pre, ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, ROLLOUT_START: "1" } });
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        if (r.status !== 0) throw new Error(`${way} ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
        return { ms, started: r.stderr.split("\n").filter((l) => l.startsWith("rollout start: ")) };
    };
    const first = once();
    const timed = Array.from({ length: runs }, once);
    const ms = timed.map((t) => t.ms);
    return {
        path: way,
        command: `rollout ${args.join(" ")}`,
        runs,
        medianMs: quantile(ms, 0.5),
        p90Ms: quantile(ms, 0.9),
        started: [...new Set([...first.started.map((l) => `first run: ${l}`), ...timed.flatMap((t) => t.started)])],
    };
}

function main(argv: readonly string[]): void {
    const o = parseOptions(argv, OPTIONS, "bench:cli");
    if (o.help) {
        process.stdout.write(["usage: npm run bench:cli -- [options]: the rollout command's start to exit, bin against ts-node", ...optionHelp(OPTIONS)].join("\n") + "\n");
        return;
    }
    const runs = numberOption(o, "runs", 15, 1, 1000, true);
    const rows = (Object.keys(PATHS) as (keyof typeof PATHS)[]).flatMap((way) => COMMANDS.map((c) => time(way, c, runs)));
    if (o.json) {
        process.stdout.write(`${JSON.stringify({ node: process.version, cpus: os.cpus().length, loadAverage: os.loadavg(), rows })}\n`);
        return;
    }
    // The machine's load beside the figures: on a shared machine it moves them more than anything here.
    const load = os.loadavg().map((l) => l.toFixed(1)).join(", ");
    process.stdout.write(`rollout, start to exit, ${runs} runs each after one not counted (Node.js ${process.version}, ${os.cpus().length} CPUs, load average ${load}); ms\n\n`);
    const width = Math.max(...rows.map((r) => `${r.path}  ${r.command}`.length));
    process.stdout.write(`${"path  command".padEnd(width)}  median     p90\n`);
    for (const r of rows) process.stdout.write(`${`${r.path}  ${r.command}`.padEnd(width)}  ${r.medianMs.toFixed(0).padStart(6)}  ${r.p90Ms.toFixed(0).padStart(6)}\n`);
    process.stdout.write(`\nhow the bin started:\n${[...new Set(rows.flatMap((r) => r.started))].map((l) => `  ${l}`).join("\n")}\n`);
}

if (require.main === module) exitOnProblem(() => main(process.argv.slice(2)));
