/**
 * The `rollout` command: `npm run rollout -- <command> --stack <name> [options]` (`rollout help`
 * lists every command and option). Each command accepts only its own options; values are checked
 * before anything is read or written.
 *
 * Exit codes: 0 PROMOTE (or a command done), 1 ROLLBACK, 3 HOLD, 2 a usage or config error or the
 * machine's state (a port in use, a stack file missing, a directory or unreadable): one line, no stack
 * trace. Each command's help lists its own. With --json, stdout carries exactly one JSON document,
 * whatever the outcome (errors included); progress goes to stderr.
 */
import { optionHelp, Options, OptionSpec, parseOptions, stringOption, UsageError } from "../lib/args";
import { problemOf } from "../lib/system";
import { DEFAULT_POLICY } from "../domain/decide";
import { judgedForecast } from "../domain/forecast";
import { durationSeconds } from "../domain/duration";
import { parseSince, windowSecondsOf } from "./analyze";
import { analysisArgs, analyzeStage, CliIo, EXIT } from "./context";
import { liveRun } from "./judged";
import { PROMETHEUS_OPTION, PrometheusError, prometheusUrl, QUERY_OPTIONS } from "./prometheus";
import { toJson } from "../lib/json";
import { ChangeSummary, editReport, forecastLines, judgementReport, newStageSummary, promoteSummary, Report, retrySummary, statusReport } from "./report";
import { REPLAY_OPTIONS, replayCommand } from "./replay";
import { runStage } from "./run";
import { judgeSettings, runJudge, SERVE_OPTIONS } from "./serve";
import { PIN_OPTIONS, resolvePin } from "./pin";
import { checkPromotable, Edit, loadStack, planNext, planPromote, planRetry, planRollback, StackFile, writeEdits } from "./stackFile";

export { CliIo, defaultIo, EXIT } from "./context";

const STACK: OptionSpec = { name: "stack", value: "NAME", help: "the stack: its file is Pulumi.<NAME>.yaml in the current directory, its keys <project>:<key> with the name: of the Pulumi.yaml there (required)" };
const JSON_OPT: OptionSpec = { name: "json", help: "print one JSON document on stdout instead of text (also --json=true; --json=false is text)" };
const HELP: OptionSpec = { name: "help", help: "this help" };
const WINDOW: OptionSpec[] = [
    { name: "since", value: "WHEN", help: "the stage's start: a duration back from now (15m, 1h30m) or an RFC 3339 time with zone, at most 30 days (720h) back (analyze, next: 15m ago; run: now)" },
    { name: "carry", value: "TEST:LLR,...", help: "go on from the evidence of the stages this version passed (each test's LLR summed, as the stage's run gets it: errors:-3.2,latency:-3.1); default: start afresh" },
    ...QUERY_OPTIONS,
];
const ANALYSIS: OptionSpec[] = [PROMETHEUS_OPTION, ...WINDOW];
/** Prometheus for a command that works without it and, given it, says more. */
const LIVE: OptionSpec = { name: "prometheus", value: "URL", help: "Prometheus base URL: status shows the judge's live decision and forecast; next forecasts the next stage from the traffic since --since" };

/** An exit code and what it means for the command. */
type Exit = readonly [code: number, meaning: string];

const USAGE_MEANING = "a usage or config error, or the machine's state (a stack file missing, a directory, not readable or not writable): one line saying which";
const USAGE_EXIT: Exit = [EXIT.USAGE, USAGE_MEANING];
const done = (what: string): Exit[] => [[0, what], USAGE_EXIT];

interface CommandSpec {
    readonly summary: string;
    readonly options: readonly OptionSpec[];
    /** The exit codes this command can end with, in the order help lists them. */
    readonly exits: readonly Exit[];
    /** Works without a stack file (the judge service takes everything from its requests). */
    readonly stackless?: true;
}

export const COMMANDS: Readonly<Record<string, CommandSpec>> = {
    status: {
        summary: "the stage, weights, versions, the next stage and what applying it changes; with --prometheus the judge's live decision",
        options: [STACK, LIVE, JSON_OPT, HELP],
        exits: done("the status is shown (with --prometheus also when Prometheus could not say: the judge is then unknown)"),
    },
    next: {
        summary: "write the next stage into the stack file; with --prometheus first say how long it needs at the current traffic",
        options: [STACK, LIVE, ...WINDOW, JSON_OPT, HELP],
        exits: done("the next stage is written"),
    },
    rollback: { summary: "write canary:weight 0 into the stack file", options: [STACK, JSON_OPT, HELP], exits: done("canary:weight 0 is written") },
    retry: {
        summary: "start a new analysis run for the current stage (canary:analysis.attempt + 1), after one that failed or was inconclusive",
        options: [STACK, JSON_OPT, HELP],
        exits: done("the next attempt is written"),
    },
    promote: {
        summary: "from 100 only: stable takes the canary's image (and version), weight 0; a canary given as a tag is pinned to the digest its pods ran (--prometheus or --digest) or promoted --unpinned",
        options: [STACK, ...PIN_OPTIONS, JSON_OPT, HELP],
        exits: done("the promotion is written"),
    },
    analyze: {
        summary: "PROMOTE, HOLD or ROLLBACK for the stage so far",
        options: [STACK, ...ANALYSIS, JSON_OPT, HELP],
        exits: [
            [EXIT.PROMOTE, "PROMOTE: the stage may advance"],
            [EXIT.ROLLBACK, "ROLLBACK: the canary is worse than stable"],
            [EXIT.HOLD, "HOLD: no decision yet (not enough evidence, or Prometheus could not say)"],
            USAGE_EXIT,
        ],
    },
    run: {
        summary: "analyze every interval until a decision, then write next or rollback (and apply it with --apply)",
        options: [
            STACK,
            ...ANALYSIS,
            { name: "interval", value: "15s", help: "time between looks, 1s to 1h (default 15s, the scrape interval)" },
            { name: "timeout", value: "30m", help: "give up with HOLD this long after the start, a look in flight included, 1s to 24h (default 30m; `pulumi up` after a decision is not counted)" },
            { name: "apply", help: "then `pulumi up` the stack through the Automation API with the policy pack policy/analyzer, as CI does (needs the Pulumi CLI and the pack: checked first)" },
            JSON_OPT,
            HELP,
        ],
        exits: [
            [EXIT.PROMOTE, "PROMOTE: the next stage is written (and applied with --apply)"],
            [EXIT.ROLLBACK, "ROLLBACK: canary:weight 0 is written (and applied with --apply)"],
            [EXIT.HOLD, "HOLD: no decision before --timeout; the stack file is unchanged"],
            [EXIT.USAGE, `${USAGE_MEANING}; or the stack file changed while it ran (nothing written); or \`pulumi up\` failed`],
        ],
    },
    replay: {
        summary: "the gate's decisions look by look over a past range, from Prometheus (--from, --to) or a recording (--record writes one), with the forecast and what Flagger's default and Kayenta's judge would have done; --svg draws it",
        options: [STACK, ...REPLAY_OPTIONS, JSON_OPT, HELP],
        exits: [
            [EXIT.PROMOTE, "PROMOTE: the gate would have promoted the stage"],
            [EXIT.ROLLBACK, "ROLLBACK: the gate would have rolled it back"],
            [EXIT.HOLD, "HOLD: no decision in the range, or to the deadline (the run ends Inconclusive)"],
            [EXIT.USAGE, `${USAGE_MEANING}; or a recording refused (the field named), or a look Prometheus could not answer`],
        ],
    },
    serve: {
        summary: "the judge as an HTTP service: GET /judge?namespace=&app=&weight=&since=[&run=] (with Authorization: Bearer <token> under --token-file) answers analyze's decision as JSON, until SIGTERM",
        options: [...SERVE_OPTIONS, JSON_OPT, HELP],
        exits: [
            [0, "stopped by SIGTERM or SIGINT"],
            [EXIT.USAGE, "a usage error (a non-loopback --listen without --token-file, a token file that cannot be read or holds no token), or the machine's state (the --listen port in use, an address not on this host): one line saying which"],
        ],
        stackless: true,
    },
};

const exitLines = (exits: readonly Exit[]) => exits.map(([code, meaning]) => `  ${code}  ${meaning}`);

/** Every exit code once, with the commands that can end with it when not all can. */
function allExits(): Exit[] {
    const names = Object.keys(COMMANDS);
    return [EXIT.PROMOTE, EXIT.ROLLBACK, EXIT.HOLD, EXIT.USAGE].map((code) => {
        const takers = names.filter((n) => COMMANDS[n].exits.some(([c]) => c === code));
        const meaning = { [EXIT.PROMOTE]: "PROMOTE, or the command is done", [EXIT.ROLLBACK]: "ROLLBACK", [EXIT.HOLD]: "HOLD: no decision yet", [EXIT.USAGE]: USAGE_MEANING }[code];
        return [code, takers.length === names.length ? meaning : `${meaning} [${takers.join(", ")}]`] as const;
    });
}

/** Every option once, its help naming the commands that take it when not all do. */
function allOptions(): OptionSpec[] {
    const names = Object.keys(COMMANDS);
    const seen = new Map<string, OptionSpec>();
    for (const c of Object.values(COMMANDS)) for (const o of c.options) seen.set(o.name, o);
    return [...seen.values()].map((o) => {
        const takers = names.filter((n) => COMMANDS[n].options.some((x) => x.name === o.name));
        return takers.length === names.length ? o : { ...o, help: `${o.help} [${takers.join(", ")}]` };
    });
}

export function helpText(command?: string): string {
    if (command !== undefined && COMMANDS[command]) {
        const c = COMMANDS[command];
        return [`usage: rollout ${command}${c.stackless ? "" : " --stack NAME"} [options]`, "", c.summary, "", "options:", ...optionHelp(c.options), "", "exit codes:", ...exitLines(c.exits)].join("\n");
    }
    const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
    return [
        "usage: rollout <command> --stack NAME [options]      (npm run -s rollout -- <command> ...)",
        "",
        "commands:",
        ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
        `  ${"help".padEnd(width)}  this help; \`rollout help <command>\` or \`rollout <command> --help\` for a command's options`,
        "",
        "options (and the commands that take them):",
        ...optionHelp(allOptions()),
        "",
        "Options take --name value or --name=value.",
        "",
        "exit codes (and the commands that end with them; each command's help says what they mean there):",
        ...exitLines(allExits()),
    ].join("\n");
}

export interface Args {
    readonly command: string;
    readonly options: Options;
}

const unknownCommand = (command: string) => new UsageError(`unknown command ${JSON.stringify(command)}: the commands are ${Object.keys(COMMANDS).join(", ")} (rollout help)`);

/** `--json`, `--json=true` or a value that is not `false`: the answer, errors included, is to be JSON. */
const JSON_FLAG = /^--json(=(?!false$).*)?$/s;
export const jsonRequested = (argv: readonly string[]) => argv.some((a) => JSON_FLAG.test(a));

export function parseArgs(argv: readonly string[]): Args | { readonly help: string } {
    const [command, ...rest] = argv;
    if (command === undefined) throw new UsageError(`no command given: the commands are ${Object.keys(COMMANDS).join(", ")} (rollout help)`);
    if (command === "help" || command === "--help" || command === "-h") {
        // `help [command] [--json]`: a command it does not know is a mistake, not a request for the general help.
        parseOptions(rest.filter((a) => a.startsWith("--")), [JSON_OPT], "help");
        const names = rest.filter((a) => !a.startsWith("--"));
        if (names.length > 1) throw new UsageError(`help takes one command, not ${names.length} (${names.join(" ")})`);
        if (names[0] !== undefined && !COMMANDS[names[0]]) throw unknownCommand(names[0]);
        return { help: helpText(names[0]) };
    }
    if (!COMMANDS[command]) throw unknownCommand(command);
    const options = parseOptions(rest, COMMANDS[command].options, command);
    if (options.help) return { help: helpText(command) };
    if (!options.stack && !COMMANDS[command].stackless) throw new UsageError(`${command}: --stack is required`);
    if (!options.prometheus && COMMANDS[command].options.includes(PROMETHEUS_OPTION)) throw new UsageError(`${command}: --prometheus URL is required`);
    if (options.prometheus) prometheusUrl(stringOption(options, "prometheus") as string);
    return { command, options };
}


/** Runs one command; returns its exit code and its report. */
async function dispatch(a: Args, io: CliIo, progress: (line: string) => void): Promise<{ code: number; report: Report }> {
    if (a.command === "serve") return serve(a.options, io);
    const s = loadStack(io.root, stringOption(a.options, "stack") as string);
    const edit = (edits: Edit[], summarize: ChangeSummary = newStageSummary) => ({ code: 0, report: editReport(writeEdits(s, edits), edits, summarize) });
    switch (a.command) {
        case "status":
            return { code: 0, report: statusReport(s, a.options.prometheus ? await judgeSays(s, a.options, io) : undefined) };
        case "next": {
            const edits = planNext(s);
            // Said before the stack file is written: the forecast reads the stage as it still is.
            const ahead = a.options.prometheus ? await nextForecast(s, a.options, io, edits[0].to as number) : undefined;
            const { report } = edit(edits);
            return { code: 0, report: ahead ? { lines: [...ahead.lines, ...report.lines], json: { ...report.json, forecast: ahead.forecast ?? null } } : report };
        }
        case "rollback":
            return edit(planRollback(s));
        case "retry":
            return edit(planRetry(s), retrySummary);
        case "promote": {
            checkPromotable(s);
            const pin = await resolvePin(s, a.options, io);
            const { report } = edit(planPromote(s, pin.digest), promoteSummary);
            return { code: 0, report: { lines: [`image: ${pin.source}`, ...report.lines], json: { ...report.json, pin: { digest: pin.digest ?? null, source: pin.source } } } };
        }
        case "replay": {
            const r = await replayCommand(s, a.options, io);
            return { code: EXIT[r.decision], report: r.report };
        }
        case "analyze": {
            const since = parseSince(stringOption(a.options, "since") ?? "15m", io.now());
            const j = await analyzeStage(s, analysisArgs(a.options, io, s), io, since);
            return { code: EXIT[j.decision], report: judgementReport(j) };
        }
        default:
            return runStage(s, a.options, io, progress);
    }
}

/** What the judge last told the stage's run, from Prometheus; the error when Prometheus could not say. */
async function judgeSays(s: StackFile, o: Options, io: CliIo) {
    const client = analysisArgs(o, io, s).client;
    return liveRun(client, { namespace: s.config.app.namespace, app: s.config.app.name }, s.config.weight, io.now()).catch((e: Error) => {
        if (e instanceof PrometheusError) return e;
        throw e;
    });
}

/** The next stage's forecast from this stage's window (the traffic, the tests' rates, what it would carry). */
async function nextForecast(s: StackFile, o: Options, io: CliIo, weight: number) {
    const now = io.now();
    const since = parseSince(stringOption(o, "since") ?? "15m", now);
    const j = await analyzeStage(s, analysisArgs(o, io, s), io, since);
    const forecast = judgedForecast(j, { windowSeconds: windowSecondsOf(since, now), weight, stages: s.config.stages, next: true, deadlineSeconds: durationSeconds(s.config.analysis.deadline), policy: DEFAULT_POLICY });
    return { forecast, lines: forecastLines(forecast, weight) };
}

/** `serve`: the judge until SIGTERM or SIGINT (`io.stopped()`). */
async function serve(o: Options, io: CliIo): Promise<{ code: number; report: Report }> {
    await runJudge(judgeSettings(o), io);
    return { code: 0, report: { lines: ["judge stopped"], json: { stopped: true } } };
}

/**
 * Runs the command `argv`; resolves with its exit code. A usage error or the machine's state is one
 * line (`rollout: ...`) on stderr, exit 2; a bug also prints its stack trace there. Under --json
 * stdout gets one JSON document whatever happens: the report, the help, or `{error, exit}`.
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
    const json = jsonRequested(argv);
    try {
        const args = parseArgs(argv);
        if ("help" in args) {
            io.out(json ? toJson({ help: args.help }) : args.help);
            return 0;
        }
        const { code, report } = await dispatch(args, io, json ? io.err : io.out);
        if (json) io.out(toJson(report.json));
        else report.lines.forEach((l) => io.out(l));
        return code;
    } catch (e) {
        const problem = problemOf(e);
        if (problem === undefined) io.err(`rollout: a bug, please report it: ${(e as Error).stack ?? e}`);
        else if (!json) io.err(`rollout: ${problem}`);
        if (json) io.out(toJson({ error: problem ?? `a bug: ${(e as Error).message ?? e}`, exit: EXIT.USAGE }));
        return EXIT.USAGE;
    }
}
