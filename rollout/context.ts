/**
 * What every `rollout` command shares: the exit codes, the injectable outside world (output, clock,
 * Prometheus, Pulumi), and the analysis options read once for `analyze` and `run`.
 */
import { DecisionPolicy, DEFAULT_POLICY, type Llrs } from "../domain/decide";
import { carryProblem, parseLlrs } from "../domain/evidence";
import { Options, stringOption, UsageError } from "../lib/args";
import { analyze, NO_STAGE_AT_ZERO } from "./analyze";
import { checkLocalPulumi, CheckPulumi, ReadApplied, readLocalApplied, SelectStack, selectLocalStack } from "./apply";
import { durationOption } from "./options";
import { httpPrometheus, PrometheusClient, queryOptions } from "./prometheus";
import { untilSignalled } from "./serve";
import type { StackFile } from "./stackFile";

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
    readonly checkPulumi: CheckPulumi;
    /** The stage the stack applied last, from its outputs (`rollout next` refuses to move past it). */
    readonly readApplied: ReadApplied;
    /** Resolves when a long-running command (`serve`) should stop: SIGTERM or SIGINT. */
    readonly stopped: () => Promise<void>;
}

/**
 * The process's own outside world; the project is `root`, by default the current directory, read
 * when a command first needs it, so a directory removed under the shell is a one-line error too.
 */
export const defaultIo = (root?: string): CliIo => ({
    out: (l) => process.stdout.write(`${l}\n`),
    err: (l) => process.stderr.write(`${l}\n`),
    get root() {
        return root ?? process.cwd();
    },
    now: () => new Date(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    prometheus: httpPrometheus,
    selectStack: selectLocalStack,
    checkPulumi: checkLocalPulumi,
    readApplied: readLocalApplied,
    stopped: untilSignalled,
});

/** What `analyze` and `run` need from the options, read and checked once. */
export interface AnalysisArgs {
    readonly client: PrometheusClient;
    readonly scrapeIntervalSeconds: number;
    /** `--carry`: the evidence the stage's tests go on from, as the stage's run is given it. */
    readonly carried?: Llrs;
    /** The judge's policy: the default with `--min-stage` as its least time at a stage. */
    readonly policy: DecisionPolicy;
}

/**
 * The longest `--min-stage`: a stage held for more than an hour before it may promote is the stage
 * analysis's deadline's business (`canary:analysis.deadline`), not the least time's.
 */
export const MAX_MIN_STAGE_MS = 3_600_000;

export function analysisArgs(o: Options, io: CliIo, s: StackFile): AnalysisArgs {
    const q = queryOptions(o);
    const raw = stringOption(o, "carry");
    let carried: Llrs | undefined;
    try {
        carried = raw === undefined ? undefined : parseLlrs(raw);
    } catch (e) {
        throw new UsageError(`--carry ${(e as Error).message}`);
    }
    const problem = carryProblem(carried, s.config.weight, s.config.stages);
    if (problem) throw new UsageError(`--carry: ${problem}`);
    // `--min-stage` shortens a stage only where a person asks (`npm run try` walks four stages in two
    // minutes); the judge service and the stage's AnalysisRun keep the default.
    const minStageSeconds = durationOption(o, "min-stage", DEFAULT_POLICY.minStageSeconds * 1000, 1000, MAX_MIN_STAGE_MS) / 1000;
    return {
        client: io.prometheus(stringOption(o, "prometheus") as string, q.queryTimeoutMs),
        scrapeIntervalSeconds: q.scrapeIntervalSeconds,
        policy: { ...DEFAULT_POLICY, minStageSeconds },
        ...(carried ? { carried } : {}),
    };
}

/** Refuses a stack at weight 0 (`NO_STAGE_AT_ZERO`), naming the command and the key. */
export function refuseWeightZero(s: StackFile, command: string): void {
    if (s.config.weight === 0) throw new UsageError(`${command}: ${s.project}:weight is 0, so ${NO_STAGE_AT_ZERO}`);
}

export function analyzeStage(s: StackFile, a: AnalysisArgs, io: CliIo, since: Date) {
    return analyze({
        prometheus: a.client,
        metrics: s.config.metrics,
        scope: { namespace: s.config.app.namespace, app: s.config.app.name },
        since,
        now: io.now(),
        stage: { weight: s.config.weight, stages: s.config.stages, ...(a.carried ? { carried: a.carried } : {}) },
        ratios: s.config.analysis.ratios,
        scrapeIntervalSeconds: a.scrapeIntervalSeconds,
        policy: a.policy,
    });
}
