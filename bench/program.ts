/**
 * `npm run bench:program`: what a run of the program costs against a one-Deployment program's, under the
 * same mocks (test/harness.ts), each run a fresh Node.js process as the engine's language host starts one:
 * module loading and TypeScript are part of the cost. N rounds, each running the canary program (the dev
 * stack's config, as the suites run it) and the one-Deployment program (test/engine/one-deployment), in
 * alternating order, after one round not counted. Prints the medians of the process's wall time (spawn to
 * exit) and of the program's own time (its module loaded and evaluated until its outputs resolve), their
 * ratios, and the spread of the rounds' ratios: other work on the machine moves the figures, the ratio of
 * two runs back to back much less.
 *
 * ts-node is registered as tsconfig.json says (its `ts-node` section), as the engine's language host
 * registers it (@pulumi/pulumi cmd/run/run.js passes `project: tsconfig.json`); ts-node's own environment
 * variables (TS_NODE_TRANSPILE_ONLY, ...) reach the children.
 */
import { spawnSync } from "child_process";
import * as os from "os";
import * as path from "path";
import { numberOption, optionHelp, OptionSpec, parseOptions } from "../lib/args";
import { exitOnProblem } from "../lib/system";
import { quantile } from "./decisions";

const ROOT = path.join(__dirname, "..");
/** The child: one program under the harness's mocks (a test-side script, run by path, never imported). */
const CHILD = path.join(ROOT, "test", "mockRun.ts");
const PROGRAMS = ["canary", "one"] as const;
type Program = (typeof PROGRAMS)[number];

const OPTIONS: OptionSpec[] = [
    { name: "runs", value: "N", help: "rounds counted, each running both programs (default 7)" },
    { name: "json", help: "print one JSON document instead of the table" },
    { name: "help", help: "this help" },
];

interface Sample {
    readonly wallMs: number;
    readonly programMs: number;
    readonly resources: number;
}

function runOnce(program: Program): Sample {
    const started = process.hrtime.bigint();
    const r = spawnSync(process.execPath, ["-r", "ts-node/register", CHILD, program], { cwd: ROOT, encoding: "utf8", timeout: 10 * 60_000 });
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`the ${program} program under mocks exited ${r.status}: ${r.stderr.slice(-2000)}`);
    const out = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as { programMs: number; resources: number };
    return { wallMs, programMs: out.programMs, resources: out.resources };
}

interface Result {
    readonly runs: number;
    readonly programs: Record<Program, { resources: number; wallMs: number; wallP90Ms: number; programMs: number }>;
    /** canary ÷ one, of the medians. */
    readonly wallRatio: number;
    readonly programRatio: number;
    /** The rounds' own wall-time ratios: min, median, max. */
    readonly roundRatios: { min: number; median: number; max: number };
}

function measure(runs: number): Result {
    const samples: Record<Program, Sample[]> = { canary: [], one: [] };
    for (let round = 0; round <= runs; round++) {
        // Alternating order, so neither program always runs on a disk cache the other warmed.
        const order = round % 2 === 0 ? PROGRAMS : [...PROGRAMS].reverse();
        const got = Object.fromEntries(order.map((p) => [p, runOnce(p)])) as Record<Program, Sample>;
        if (round === 0) continue;
        for (const p of PROGRAMS) samples[p].push(got[p]);
    }
    const summary = (p: Program) => ({
        resources: samples[p][0].resources,
        wallMs: quantile(samples[p].map((s) => s.wallMs), 0.5),
        wallP90Ms: quantile(samples[p].map((s) => s.wallMs), 0.9),
        programMs: quantile(samples[p].map((s) => s.programMs), 0.5),
    });
    const programs = { canary: summary("canary"), one: summary("one") };
    const rounds = samples.canary.map((s, i) => s.wallMs / samples.one[i].wallMs);
    return {
        runs,
        programs,
        wallRatio: programs.canary.wallMs / programs.one.wallMs,
        programRatio: programs.canary.programMs / programs.one.programMs,
        roundRatios: { min: Math.min(...rounds), median: quantile(rounds, 0.5), max: Math.max(...rounds) },
    };
}

function main(argv: readonly string[]): void {
    const o = parseOptions(argv, OPTIONS, "bench:program");
    if (o.help) {
        process.stdout.write(["usage: npm run bench:program -- [options]: the program under mocks against a one-Deployment program, a fresh process each run", ...optionHelp(OPTIONS)].join("\n") + "\n");
        return;
    }
    const r = measure(numberOption(o, "runs", 7, 1, 100, true));
    const load = os.loadavg().map((l) => l.toFixed(1)).join(", ");
    if (o.json) {
        process.stdout.write(`${JSON.stringify({ node: process.version, cpus: os.cpus().length, loadAverage: os.loadavg(), ...r })}\n`);
        return;
    }
    process.stdout.write(`the program under mocks, a fresh process each run, ${r.runs} rounds after one not counted; ts-node as tsconfig.json says (Node.js ${process.version}, ${os.cpus().length} CPUs, load average ${load}); ms\n\n`);
    process.stdout.write(`${"program".padEnd(16)}resources  wall median  wall p90  program median\n`);
    for (const p of PROGRAMS) {
        const s = r.programs[p];
        process.stdout.write(`${(p === "canary" ? "canary (dev)" : "one Deployment").padEnd(16)}${String(s.resources).padStart(9)}  ${s.wallMs.toFixed(0).padStart(11)}  ${s.wallP90Ms.toFixed(0).padStart(8)}  ${s.programMs.toFixed(0).padStart(14)}\n`);
    }
    const x = (v: number) => `${v.toFixed(2)}x`;
    process.stdout.write(`\ncanary ÷ one: wall ${x(r.wallRatio)}, program ${x(r.programRatio)}; the rounds' wall ratios ${x(r.roundRatios.min)} to ${x(r.roundRatios.max)} (median ${x(r.roundRatios.median)})\n`);
}

if (require.main === module) exitOnProblem(() => main(process.argv.slice(2)));
