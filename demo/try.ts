/**
 * `npm run try`: the gate on this machine in two minutes, with no cluster. The demo app
 * as two tracks and the real Prometheus scraping them (demo/live.ts `startLive`, the unit lane's live
 * stack), and the real `rollout run` (rollout/bin.js, in a process of its own) judging each stage on
 * that traffic and writing the next one into a copy of the dev stack file: 5 → 25 → 50 → 100 on a
 * healthy canary, then the canary again with 20% of its requests answered 500 (app/faults.ts), which
 * it rolls back. What a cluster adds (`pulumi up` of each stage, Argo Rollouts asking the judge, the
 * route's weights) is `npm run demo`. Prints the demo's table (demo/report.ts), and the time it took.
 * Everything it starts is stopped at the end, on a failure and on Ctrl-C.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { DEFAULT_POLICY, Judgement } from "../domain/decide";
import { carriedLlrs, formatLlrs, GateAnswer, gateAnswer, VersionEvidence, withStage } from "../domain/evidence";
import { optionHelp, OptionSpec, parseOptions, stringOption, UsageError } from "../lib/args";
import { durationOption } from "../rollout/options";
import { exitOnProblem } from "../lib/system";
import { MAX_MIN_STAGE_MS } from "../rollout/context";
import { loadStack } from "../rollout/stackFile";
import type { Run } from "./engine";
import { removeTempDirs, ROOT } from "./host";
import { Live, loadWhile, putFaults, startLive } from "./live";
import { warm } from "./pods";
import { count, out, Report } from "./report";

/** The least time at a stage unless --min-stage says otherwise: four stages and a rollback in about two minutes. */
const MIN_STAGE = "15s";

const OPTIONS: OptionSpec[] = [
    { name: "min-stage", value: MIN_STAGE, help: `the least time each stage is judged before it may promote (rollout run --min-stage, 1s to 1h; default ${MIN_STAGE}, where a cluster's analysis waits 45s)` },
    { name: "help", help: "this help" },
];

/**
 * Requests a second to each track during a stage, as the full demo drives both tracks alike (its
 * kwok cluster has no router; the judge compares per request, so the split does not bias it). Twice
 * the demo's rate: the first stage needs some 4,000 canary requests to rule out twice stable's errors.
 */
const RATE = 200;
/** The faulty canary's share of 500s, as the full demo's. */
const FAULTY_ERROR_RATIO = 0.2;
/** The longest one `rollout run` may judge a stage: past it the stage is HOLD and the try fails, never hangs. */
const RUN_TIMEOUT = "2m";
const STACK = "dev";
/** The stage's key in the dev stack file (project `canary`). */
const WEIGHT_KEY = "canary:weight";

/** `rollout run`'s --json document: the judgement it decided on, the fields `gateAnswer` reads. */
type RunDocument = Pick<Judgement, "decision" | "reasons" | "canary" | "stable" | "evidence"> & { readonly error?: string };

/** Processes of the `rollout` command still running, stopped with the live stack on Ctrl-C. */
const commands = new Set<ChildProcess>();

/** The real `rollout` command (its bin, as `npm run rollout` runs it) in `dir`, the stack file's directory; its output as a row of the report takes it. */
function rollout(dir: string, args: readonly string[]): Promise<Run> {
    const t0 = Date.now();
    return new Promise((resolve, reject) => {
        const p = spawn(process.execPath, [path.join(ROOT, "rollout", "bin.js"), ...args], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
        commands.add(p);
        let stdout = "";
        let stderr = "";
        p.stdout!.on("data", (d) => (stdout += d));
        p.stderr!.on("data", (d) => (stderr += d));
        p.on("error", reject);
        p.on("close", (status) => {
            commands.delete(p);
            resolve({ status, stdout, stderr, seconds: (Date.now() - t0) / 1000 });
        });
    });
}

/** A command that must succeed: anything but exit 0 fails the try with its own words. */
async function mustRun(dir: string, args: readonly string[]): Promise<void> {
    const r = await rollout(dir, args);
    if (r.status !== 0) throw new Error(`rollout ${args.join(" ")} exited ${r.status}: ${(r.stderr || r.stdout).trim()}`);
}

/** The stack file's weight: what the command wrote. */
const weightOf = (dir: string) => loadStack(dir, STACK).config.weight;

interface TryResult {
    readonly promoted: boolean;
    readonly rolledBack: boolean;
}

interface StageRun {
    readonly doc: RunDocument;
    readonly run: Run;
}

/**
 * One stage: `rollout run` with load on both tracks until it decides. A decision is exit 0 (PROMOTE)
 * or 1 (ROLLBACK); anything else (HOLD at the timeout, a usage error) fails the try with the command's words.
 */
async function stage(live: Live, dir: string, minStage: string, carry: string): Promise<StageRun> {
    const args = ["run", "--stack", STACK, "--prometheus", live.promUrl, "--scrape-interval", live.scrapeInterval, "--interval", live.scrapeInterval];
    const running = rollout(dir, [...args, "--min-stage", minStage, "--timeout", RUN_TIMEOUT, "--json", ...(carry === "" ? [] : ["--carry", carry])]);
    await loadWhile(running, [live.ports.stable, live.ports.canary], RATE);
    const run = await running;
    const doc = JSON.parse(run.stdout || "{}") as RunDocument;
    if (run.status !== 0 && run.status !== 1) throw new Error(`rollout run exited ${run.status}: ${doc.error ?? (doc.decision ? `${doc.decision}: ${doc.reasons.join("; ")}` : run.stderr.trim())}`);
    return { doc, run };
}

async function walk(live: Live, dir: string, minStage: string, t0: number): Promise<TryResult> {
    const report = new Report({ changed: "rollout run wrote", last: "at" });
    const stages = loadStack(dir, STACK).config.stages;
    const podinfo = live.services.get("podinfo")!;
    // The canary as its evidence names it: the version its track runs (demo/live.ts).
    const canary = { version: podinfo.versions.canary };
    /** A row: the stage, what run wrote, its decision and requests; the last column the time since the start. */
    const row = (weight: number, s: StageRun, answer: GateAnswer) =>
        report.stage(String(weight), {
            // Nothing at the last stage: `run` leaves the promotion to `rollout promote`.
            changed: weightOf(dir) === weight ? [] : [`write ${WEIGHT_KEY}=${weightOf(dir)}`],
            // The row's failure line is for a command that failed, which `stage` has thrown on; a ROLLBACK (exit 1) is the gate's answer.
            up: { ...s.run, status: 0, seconds: (Date.now() - t0) / 1000 },
            answer,
            gateSeconds: s.run.seconds,
        });
    report.header();
    // The first stage as a person writes it: `rollout next` from 0.
    await mustRun(dir, ["next", "--stack", STACK]);
    let evidence: VersionEvidence | undefined;
    let promoted = false;
    for (let weight = weightOf(dir); ; weight = weightOf(dir)) {
        // The evidence of the stages passed, as the stage's AnalysisRun is given it (`carry`).
        const s = await stage(live, dir, minStage, formatLlrs(carriedLlrs(evidence, canary.version, stages, weight)));
        // The stage's evidence as the judge answers it (its budget, the 0 here, is neither carried nor shown).
        const answer = gateAnswer(s.doc as Judgement, 0);
        evidence = withStage(evidence, canary, stages, weight, answer);
        row(weight, s, answer);
        promoted = s.doc.decision === "PROMOTE";
        // At the last stage `run` writes nothing: the canary may become stable (`rollout promote`).
        if (!promoted || weight === stages[stages.length - 1]) break;
    }
    if (promoted) report.note(`${canary.version} passed ${stages.join(", ")}: \`rollout promote\` would make it stable (npm run demo does, through pulumi up)`);
    out();
    out(`the canary again, now with ${FAULTY_ERROR_RATIO * 100}% of its requests answered 500 (PUT /faults, app/faults.ts), from a fresh stack file at 0`);
    writeStackFile(dir);
    await putFaults(podinfo, "canary", `errorRatio=${FAULTY_ERROR_RATIO}`);
    await mustRun(dir, ["next", "--stack", STACK]);
    const faulty = await stage(live, dir, minStage, "");
    row(stages[0], faulty, gateAnswer(faulty.doc as Judgement, 0));
    const rolledBack = faulty.doc.decision === "ROLLBACK" && weightOf(dir) === 0;
    if (rolledBack) report.note("the stack file is back at 0: the next `pulumi up` would send every request to stable");
    out();
    out(
        promoted && rolledBack
            ? `PROMOTE through ${stages.join(", ")} for the healthy canary; ROLLBACK at ${stages[0]} for the faulty one, after ${count(faulty.doc.canary?.requests)} canary requests.`
            : `the try did not go as it should: promoted ${promoted}, rolled back ${rolledBack}; see the logs`,
    );
    out(`logs: ${report.dir} (each rollout run's output)`);
    return { promoted, rolledBack };
}

/** A fresh copy of this repository's dev stack file and its Pulumi.yaml (the project's name) in `dir`. */
function writeStackFile(dir: string): void {
    for (const file of ["Pulumi.yaml", `Pulumi.${STACK}.yaml`]) fs.copyFileSync(path.join(ROOT, file), path.join(dir, file));
}

/** Stops everything started: the `rollout` commands, then the live stack (its processes and Prometheus). */
async function stopAll(live: Live | undefined): Promise<void> {
    for (const p of commands) p.kill("SIGTERM");
    await live?.stop();
    removeTempDirs();
}

async function tryGate(minStage: string): Promise<TryResult> {
    // From the process's start: the time a person waits includes ts-node compiling this file.
    const t0 = Date.now() - process.uptime() * 1000;
    out("canary try: the gate on this machine, no cluster: the demo app as two tracks, a real Prometheus, and `rollout run` judging each stage");
    let live: Live | undefined;
    // Ctrl-C before the live stack is up: its processes are killed when this one exits (demo/live.ts).
    const interrupted = () => {
        out("interrupted: stopping everything");
        void stopAll(live).then(() => {
            out("stopped; nothing is left running");
            process.exit(130);
        });
    };
    process.once("SIGINT", interrupted);
    process.once("SIGTERM", interrupted);
    try {
        live = await startLive();
        // Both tracks warmed before the first stage's window, as a cluster's pods are (demo/pods.ts `warm`):
        // a cold Node.js process answers its first requests slowly, and the latency test would see it.
        await Promise.all([warm("127.0.0.1", live.ports.stable, "/"), warm("127.0.0.1", live.ports.canary, "/")]);
        writeStackFile(live.dir);
        const { versions } = live.services.get("podinfo")!;
        out(`  Prometheus  ${live.promUrl} (${live.scrapeInterval} scrapes), the demo app as stable ${versions.stable} (:${live.ports.stable}) and canary ${versions.canary} (:${live.ports.canary}), ${RATE} requests a second to each during a stage`);
        out(`  stack file  ${path.join(live.dir, `Pulumi.${STACK}.yaml`)}: a copy of this repository's dev stack, which rollout run edits`);
        out(`  the gate    rollout run asks Prometheus every ${live.scrapeInterval}; a stage promotes after at least ${minStage} (--min-stage; a cluster's analysis waits ${DEFAULT_POLICY.minStageSeconds}s)`);
        out(`  ready in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
        out();
        const result = await walk(live, live.dir, minStage, t0);
        return result;
    } finally {
        await stopAll(live);
        process.off("SIGINT", interrupted);
        process.off("SIGTERM", interrupted);
        out(`took ${((Date.now() - t0) / 1000).toFixed(0)} s; nothing is left running`);
    }
}

async function main(argv: readonly string[]): Promise<void> {
    const o = parseOptions(argv, OPTIONS, "try");
    if (o.help) {
        out(["usage: npm run try [-- options]", ...optionHelp(OPTIONS)].join("\n"));
        return;
    }
    // Checked here, so a bad value is one line before anything starts (rollout run checks it again).
    try {
        durationOption(o, "min-stage", 0, 1000, MAX_MIN_STAGE_MS);
    } catch (e) {
        throw new UsageError(`try: ${(e as Error).message}`);
    }
    let ok = false;
    try {
        const r = await tryGate(stringOption(o, "min-stage") ?? MIN_STAGE);
        ok = r.promoted && r.rolledBack;
    } catch (e) {
        // A missing tool, a process that did not start, a stage that did not decide: one line, its own words.
        process.stderr.write(`try: ${(e as Error).message}\n`);
    }
    process.exit(ok ? 0 : 1);
}

// A bad option is exit 2 with one line (lib/system.ts); anything else that fails is exit 1 (above).
exitOnProblem(() => main(process.argv.slice(2)));
