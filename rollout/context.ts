/**
 * What every `rollout` command shares: the exit codes, the injectable outside world (output, clock,
 * Prometheus, Pulumi), and the analysis options read once for `analyze` and `run`.
 */
import { Options, stringOption } from "../lib/args";
import { analyze } from "./analyze";
import { checkLocalPulumi, CheckPulumi, SelectStack, selectLocalStack } from "./apply";
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
    /** Resolves when a long-running command (`serve`) should stop: SIGTERM or SIGINT. */
    readonly stopped: () => Promise<void>;
}

export const defaultIo = (root: string): CliIo => ({
    out: (l) => process.stdout.write(`${l}\n`),
    err: (l) => process.stderr.write(`${l}\n`),
    root,
    now: () => new Date(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    prometheus: httpPrometheus,
    selectStack: selectLocalStack,
    checkPulumi: checkLocalPulumi,
    stopped: untilSignalled,
});

/** What `analyze` and `run` need from the options, read and checked once. */
export interface AnalysisArgs {
    readonly client: PrometheusClient;
    readonly scrapeIntervalSeconds: number;
}

export function analysisArgs(o: Options, io: CliIo): AnalysisArgs {
    const q = queryOptions(o);
    return { client: io.prometheus(stringOption(o, "prometheus") as string, q.queryTimeoutMs), scrapeIntervalSeconds: q.scrapeIntervalSeconds };
}

export function analyzeStage(s: StackFile, a: AnalysisArgs, io: CliIo, since: Date) {
    return analyze({
        prometheus: a.client,
        metrics: s.config.metrics,
        scope: { namespace: s.config.app.namespace, app: s.config.app.name },
        since,
        now: io.now(),
        stage: { weight: s.config.weight, stages: s.config.stages },
        ratios: s.config.analysis.ratios,
        scrapeIntervalSeconds: a.scrapeIntervalSeconds,
    });
}
