/**
 * The `rollout` command: `npm run rollout -- <command> --stack <name> [options]`.
 *
 *   status                          the stage, weights, versions, the next stage and what it changes
 *   next | rollback | promote       edit Pulumi.<stack>.yaml in place and print the change
 *   analyze --prometheus URL        PROMOTE / HOLD / ROLLBACK for the stage so far
 *   run --prometheus URL [--apply]  analyze until a decision, then next or rollback (and `pulumi up`)
 *
 * Exit codes: 0 PROMOTE (or a command done), 1 ROLLBACK, 3 HOLD, 2 usage or config error.
 */
import { analyze, parseSince } from "./analyze";
import { applyStage, SelectStack, selectLocalStack } from "./apply";
import type { Judgement } from "./decide";
import { httpPrometheus, PrometheusClient } from "./prometheus";
import { describeEdit, Edit, loadStack, planNext, planPromote, planRollback, StackFile, UsageError, writeEdits } from "./stackFile";
import { nextStage, splitFor } from "./stages";
import type { StackConfig } from "../stacks/schema";

export const EXIT = { PROMOTE: 0, ROLLBACK: 1, USAGE: 2, HOLD: 3 } as const;

export interface CliIo {
    readonly out: (line: string) => void;
    readonly err: (line: string) => void;
    /** The project directory holding the stack files. */
    readonly root: string;
    readonly now: () => Date;
    readonly sleep: (ms: number) => Promise<void>;
    readonly prometheus: (url: string, timeoutMs: number) => PrometheusClient;
    readonly selectStack: SelectStack;
}

export const defaultIo = (root: string): CliIo => ({
    out: (l) => process.stdout.write(`${l}\n`),
    err: (l) => process.stderr.write(`${l}\n`),
    root,
    now: () => new Date(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    prometheus: httpPrometheus,
    selectStack: selectLocalStack,
});

const COMMANDS = ["status", "next", "rollback", "promote", "analyze", "run"] as const;
type Command = (typeof COMMANDS)[number];
const VALUE_FLAGS = ["stack", "prometheus", "since", "interval", "timeout", "query-timeout"] as const;
const BOOLEAN_FLAGS = ["json", "apply"] as const;

interface Args {
    readonly command: Command;
    readonly flags: Partial<Record<(typeof VALUE_FLAGS)[number], string>> & Partial<Record<(typeof BOOLEAN_FLAGS)[number], boolean>>;
}

export const USAGE = `usage: rollout <${COMMANDS.join("|")}> --stack <name> [--prometheus URL] [--since 15m|RFC3339] [--json] [--apply] [--interval 15s] [--timeout 30m]`;

export function parseArgs(argv: readonly string[]): Args {
    const [command, ...rest] = argv;
    if (!(COMMANDS as readonly string[]).includes(command)) throw new UsageError(`unknown command ${JSON.stringify(command ?? "")}\n${USAGE}`);
    const flags: Record<string, string | boolean> = {};
    for (let i = 0; i < rest.length; i++) {
        const name = rest[i].replace(/^--/, "");
        if (!rest[i].startsWith("--")) throw new UsageError(`unexpected argument ${JSON.stringify(rest[i])}\n${USAGE}`);
        if ((BOOLEAN_FLAGS as readonly string[]).includes(name)) flags[name] = true;
        else if ((VALUE_FLAGS as readonly string[]).includes(name)) {
            const value = rest[++i];
            if (value === undefined || value.startsWith("--")) throw new UsageError(`--${name} needs a value`);
            flags[name] = value;
        } else throw new UsageError(`unknown option --${name}\n${USAGE}`);
    }
    if (!flags.stack) throw new UsageError(`--stack is required\n${USAGE}`);
    return { command: command as Command, flags };
}

/** `30s`, `5m`, `1h` in milliseconds. */
function durationMs(flag: string, value: string | undefined, fallback: number): number {
    if (value === undefined) return fallback;
    const d = /^(\d+)(ms|s|m|h)$/.exec(value);
    if (!d) throw new UsageError(`--${flag} ${JSON.stringify(value)} is not a duration such as 30s, 5m or 1h`);
    return Number(d[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[d[2] as "ms" | "s" | "m" | "h"];
}

/** What `pulumi up` changes when the weight moves to `to`: the routing resource of the stack's router. */
export function stageChangeSummary(c: StackConfig, to: number): string {
    const routing = { alb: "the weighted ALB listener rule", nginx: "the canary Ingress's canary-weight annotation", istio: "the VirtualService's route weights" }[c.router];
    const analysis = c.analysis.enabled && to > 0 ? ", and starts the stage's AnalysisRun" : "";
    const split = splitFor(to);
    return `stable ${split.stable}%, canary ${split.canary}%: \`pulumi up\` updates ${routing} and the stage rule (app:canary_weight:configured)${analysis}`;
}

function status(s: StackFile, io: CliIo, json: boolean): number {
    const c = s.config;
    const next = c.canaryDiffers ? nextStage(c.weight, c.stages) : undefined;
    const split = splitFor(c.weight);
    const track = (t: "stable" | "canary") => ({ version: c.app[t].version, image: c.app[t].image, replicas: c.app[t].replicas });
    const view = {
        stack: s.stack,
        environment: c.environment,
        router: c.router,
        stage: c.weight,
        stages: c.stages,
        weights: split,
        stable: track("stable"),
        canary: c.canaryDiffers ? track("canary") : null,
        next: next ?? null,
        nextChange: next === undefined ? null : stageChangeSummary(c, next),
    };
    if (json) {
        io.out(JSON.stringify(view));
        return 0;
    }
    io.out(`stack ${s.stack} (environment ${c.environment}, router ${c.router})`);
    io.out(`stage: canary:weight ${c.weight} of [${c.stages.join(", ")}]; stable ${split.stable}%, canary ${split.canary}%`);
    io.out(`stable: ${c.app.name} ${c.app.stable.version} (${c.app.stable.image})`);
    io.out(c.canaryDiffers ? `canary: ${c.app.name} ${c.app.canary.version} (${c.app.canary.image})` : "canary: none (the canary is the stable version)");
    if (next !== undefined) io.out(`next: ${next}: ${stageChangeSummary(c, next)}`);
    else io.out(c.canaryDiffers ? "next: none; at 100, `promote` makes the canary the new stable" : "next: set canary:app.canary.image to start a rollout");
    return 0;
}

function edit(s: StackFile, edits: Edit[], io: CliIo): StackFile {
    const written = writeEdits(s, edits);
    for (const e of edits) io.out(`${written.file}: ${describeEdit(e)}`);
    if (edits.some((e) => e.key[0] === "weight")) io.out(stageChangeSummary(written.config, written.config.weight));
    return written;
}

function printJudgement(j: Judgement, io: CliIo, json: boolean): void {
    if (json) {
        // The +Inf bucket stays "+Inf" (JSON has no Infinity), as Prometheus writes it.
        const replacer = (_k: string, v: unknown) => (v === Infinity ? "+Inf" : v);
        io.out(JSON.stringify({ decision: j.decision, reasons: j.reasons, canary: j.canary, stable: j.stable, evidence: j.evidence }, replacer));
        return;
    }
    io.out(`decision: ${j.decision}`);
    io.out(`requests: canary ${j.canary.requests} (${j.canary.errors} 5xx), stable ${j.stable.requests} (${j.stable.errors} 5xx)`);
    // The reasons carry each test's evidence: ratios, intervals, LLR and the distance to each boundary.
    for (const r of j.reasons) io.out(`- ${r}`);
}

function progressLine(j: Judgement): string {
    const tests = [j.evidence.errors, j.evidence.latency].filter((t) => t !== undefined);
    if (tests.length === 0) return `HOLD: ${j.reasons[0]}`;
    return tests
        .map((t) => `${t.name} ${Math.round(100 * t.sprt.progress)}% toward ${t.sprt.llr >= 0 ? "rollback" : "promote"} (${t.canary.n} canary requests; ~${Math.round(t.expectedRequests.h0)} to promote a healthy one)`)
        .join("; ");
}

async function analyzeOnce(s: StackFile, a: Args, io: CliIo, since: Date): Promise<Judgement> {
    if (!a.flags.prometheus) throw new UsageError(`${a.command} needs --prometheus URL`);
    const client = io.prometheus(a.flags.prometheus, durationMs("query-timeout", a.flags["query-timeout"], 10_000));
    return analyze({ prometheus: client, metrics: s.config.metrics, scope: { namespace: s.config.app.namespace, app: s.config.app.name }, since, now: io.now(), stage: { weight: s.config.weight, stages: s.config.stages } });
}

function sinceOf(value: string, io: CliIo): Date {
    const since = parseSince(value, io.now());
    if (!since) throw new UsageError(`--since ${JSON.stringify(value)} is neither a duration (90s, 15m, 2h) nor a past RFC 3339 time`);
    return since;
}

async function run(s: StackFile, a: Args, io: CliIo): Promise<number> {
    // Default: the ServiceMonitor's scrape interval; looking more often sees no new data.
    const interval = durationMs("interval", a.flags.interval, 15_000);
    const deadline = io.now().getTime() + durationMs("timeout", a.flags.timeout, 30 * 60_000);
    // Without --since the stage is taken to start now: only evidence gathered from here on counts.
    const since = a.flags.since === undefined ? io.now() : sinceOf(a.flags.since, io);
    for (;;) {
        await io.sleep(interval);
        const j = await analyzeOnce(s, a, io, since);
        io.out(`${io.now().toISOString()} ${j.decision}: ${progressLine(j)}`);
        if (j.decision === "HOLD" && io.now().getTime() < deadline) continue;
        printJudgement(j, io, false);
        if (j.decision === "HOLD") {
            io.out(`no decision before the timeout: the stack file is unchanged`);
            return EXIT.HOLD;
        }
        if (j.decision === "PROMOTE" && s.config.weight === 100) {
            io.out("the last stage passed: run `promote` to make the canary the new stable");
            return EXIT.PROMOTE;
        }
        const written = edit(s, j.decision === "PROMOTE" ? planNext(s.config) : planRollback(s.config), io);
        if (a.flags.apply) {
            try {
                await applyStage(io.selectStack, io.root, s.stack, written.config.weight, io.out);
            } catch (e) {
                io.err(`pulumi up failed: ${(e as Error).message}`);
                return EXIT.USAGE;
            }
            io.out(`applied canary:weight ${written.config.weight} to stack ${s.stack}`);
        }
        return EXIT[j.decision];
    }
}

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
    try {
        const a = parseArgs(argv);
        const s = loadStack(io.root, a.flags.stack as string);
        switch (a.command) {
            case "status":
                return status(s, io, a.flags.json === true);
            case "next":
                return (edit(s, planNext(s.config), io), 0);
            case "rollback":
                return (edit(s, planRollback(s.config), io), 0);
            case "promote":
                return (edit(s, planPromote(s.config, s.doc), io), 0);
            case "analyze": {
                const j = await analyzeOnce(s, a, io, sinceOf(a.flags.since ?? "15m", io));
                printJudgement(j, io, a.flags.json === true);
                return EXIT[j.decision];
            }
            case "run":
                return await run(s, a, io);
        }
    } catch (e) {
        if (e instanceof UsageError) {
            io.err(`rollout: ${e.message}`);
            return EXIT.USAGE;
        }
        throw e;
    }
}
