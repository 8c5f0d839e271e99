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
import * as path from "path";
import { optionHelp, Options, OptionSpec, parseOptions, stringOption, UsageError } from "../lib/args";
import { problemOf } from "../lib/system";
import { DEFAULT_POLICY } from "../domain/decide";
import { judgedForecast } from "../domain/forecast";
import { allowedWeights } from "../domain/stages";
import { durationSeconds } from "../domain/duration";
import { parseSince, windowSecondsOf } from "./analyze";
import { analysisArgs, analyzeStage, CliIo, EXIT, refuseWeightZero } from "./context";
import { liveRun } from "./judged";
import { PROMETHEUS_OPTION, PrometheusError, prometheusUrl, QUERY_OPTIONS } from "./prometheus";
import { toJson } from "../lib/json";
import { ChangeSummary, editReport, forecastLines, judgementReport, newStageSummary, promoteSummary, Report, retrySummary, statusReport } from "./report";
import { REPLAY_OPTIONS, replayCommand } from "./replay";
import { runStage, within } from "./run";
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
const ANALYSIS: OptionSpec[] = [
    PROMETHEUS_OPTION,
    ...WINDOW,
    { name: "min-stage", value: "45s", help: "the least time at a stage before it may promote, 1s to 1h (default 45s, as the stage's analysis judges; shorter only to try the gate: a regression that shows at the stage's load needs time to show)" },
];
/** Prometheus for a command that works without it and, given it, says more. */
const LIVE: OptionSpec = { name: "prometheus", value: "URL", help: "Prometheus base URL (optional): status shows the judge's live decision and forecast" };
const NEXT_LIVE: OptionSpec = {
    name: "prometheus",
    value: "URL",
    help: "Prometheus base URL (optional): next first judges the window since --since and refuses when Prometheus cannot be read or the window judges ROLLBACK, then forecasts the next stage",
};
const FORCE: OptionSpec[] = [
    { name: "force-unreachable", help: "with --prometheus: write the next stage though Prometheus cannot be read (the window is then not checked)" },
    { name: "force-rollback", help: "with --prometheus: write the next stage though the current window judges ROLLBACK" },
];
/** Every command that writes a file takes it: the same checks and refusals, then the report of what would be written. */
const DRY_RUN: OptionSpec = { name: "dry-run", help: "say what would be written and write nothing (the files stay byte for byte)" };

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
        summary:
            "write the next stage into the stack file, never past the stage the stack applied last (read from its outputs with `pulumi stack output`, or said that it could not be checked); with --prometheus first check the current window and say how long the next stage needs",
        options: [STACK, NEXT_LIVE, ...WINDOW, ...FORCE, DRY_RUN, JSON_OPT, HELP],
        exits: [
            [0, "the next stage is written"],
            [EXIT.ROLLBACK, "with --prometheus: the current window judges ROLLBACK, nothing written (--force-rollback writes anyway)"],
            [EXIT.USAGE, `${USAGE_MEANING}; or the file's stage is not the one the stack applied last (\`pulumi up\` it first); or, with --prometheus, Prometheus cannot be read (--force-unreachable writes anyway)`],
        ],
    },
    rollback: { summary: "write canary:weight 0 into the stack file (at 0 already: says so, writes nothing)", options: [STACK, DRY_RUN, JSON_OPT, HELP], exits: done("canary:weight 0 is written, or was 0 already") },
    retry: {
        summary: "start a new analysis run for the current stage (canary:analysis.attempt + 1), after one that failed or was inconclusive",
        options: [STACK, DRY_RUN, JSON_OPT, HELP],
        exits: done("the next attempt is written"),
    },
    promote: {
        summary: "from 100 only: stable takes the canary's image (and version), weight 0; a canary given as a tag is pinned to the digest its pods ran (--prometheus or --digest) or promoted --unpinned",
        options: [STACK, ...PIN_OPTIONS, DRY_RUN, JSON_OPT, HELP],
        exits: done("the promotion is written"),
    },
    analyze: {
        summary: "PROMOTE, HOLD or ROLLBACK for the stage so far (refused at weight 0: no stage to judge)",
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
            { ...DRY_RUN, help: "judge as usual, then say what would be written and write nothing (not with --apply)" },
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
        options: [STACK, ...REPLAY_OPTIONS, { ...DRY_RUN, help: "replay as usual, then say what --record and --svg would write and write nothing" }, JSON_OPT, HELP],
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

/**
 * Every option once per meaning, its help naming the commands that take it when not all do: an option
 * that means something else in some commands (--prometheus: required to judge, optional for next and
 * status) gets a line for each meaning, never one command's help for all.
 */
function allOptions(): OptionSpec[] {
    const names = Object.keys(COMMANDS);
    const seen = new Map<string, OptionSpec>();
    for (const c of Object.values(COMMANDS)) for (const o of c.options) seen.set(`${o.name}\0${o.help}`, o);
    // An option's meanings side by side, in the order the option first appears.
    const order = [...new Set([...seen.values()].map((o) => o.name))];
    const specs = [...seen.values()].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
    return specs.map((o) => {
        const takers = names.filter((n) => COMMANDS[n].options.some((x) => x.name === o.name && x.help === o.help));
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
        // `help --help` is help too.
        parseOptions(rest.filter((a) => a.startsWith("--")), [JSON_OPT, HELP], "help");
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
    const forced = FORCE.map((f) => f.name).find((f) => options[f]);
    if (forced && !options.prometheus) throw new UsageError(`${command}: --${forced} overrides a refusal of --prometheus, and no --prometheus is given`);
    if (options["dry-run"] && options.apply) throw new UsageError(`${command}: --dry-run writes nothing, so --apply has no stage to apply: give one of them`);
    if (options.prometheus) prometheusUrl(stringOption(options, "prometheus") as string);
    return { command, options };
}


/** Runs one command; returns its exit code and its report. */
async function dispatch(a: Args, io: CliIo, progress: (line: string) => void): Promise<{ code: number; report: Report }> {
    if (a.command === "serve") return serve(a.options, io);
    const s = loadStack(io.root, stringOption(a.options, "stack") as string);
    const dryRun = a.options["dry-run"] === true;
    const edit = (edits: Edit[], summarize: ChangeSummary = newStageSummary) => ({ code: 0, report: editReport(writeEdits(s, edits, dryRun), edits, summarize, dryRun) });
    switch (a.command) {
        case "status":
            return { code: 0, report: statusReport(s, a.options.prometheus ? await judgeSays(s, a.options, io) : undefined) };
        case "next": {
            const edits = planNext(s);
            const to = edits[0].to as number;
            const applied = await appliedCheck(s, io, to);
            // Judged before the stack file is written: the window and the forecast read the stage as it still is.
            const ahead = a.options.prometheus ? await nextGate(s, a.options, io, to) : undefined;
            if (ahead?.refused) return ahead.refused;
            const { report } = edit(edits);
            const lines = [applied.line, ...(ahead?.lines ?? []), ...report.lines];
            return { code: 0, report: { lines, json: { ...report.json, applied: applied.json, ...(ahead ? { window: ahead.window, forecast: ahead.forecast ?? null } : {}) } } };
        }
        case "rollback": {
            const edits = planRollback(s);
            if (edits.length > 0) return edit(edits);
            const line = `${s.project}:weight is 0 already: nothing to roll back, ${path.basename(s.file)} is unchanged`;
            return { code: 0, report: { lines: [line], json: { stack: s.stack, file: s.file, edits: [], change: line, dryRun } } };
        }
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
            refuseWeightZero(s, "analyze");
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

/** The longest wait for `pulumi stack output`: past it, the applied stage is said to be unchecked. */
const APPLIED_READ_TIMEOUT_MS = 60_000;

/**
 * `next`'s first check: the move from the stage the stack applied last (its `stage` output) must be
 * one the program allows (`allowedWeights`: stay, the next stage or 0), so two `next` without a
 * `pulumi up` between are refused, as the program would refuse the skip at `up`, only later. When the
 * outputs cannot be read (no backend logged in, no stack, no CLI), it says so in one line and goes on.
 */
async function appliedCheck(s: StackFile, io: CliIo, to: number): Promise<{ line: string; json: Record<string, unknown> }> {
    const read = (await within(io.readApplied({ stackName: s.stack, workDir: io.root }), APPLIED_READ_TIMEOUT_MS)) ?? { unknown: `no answer from \`pulumi stack output\` within ${APPLIED_READ_TIMEOUT_MS / 1000}s` };
    if ("unknown" in read) return { line: `applied stage: could not check (${read.unknown}); going on`, json: { checked: false, why: read.unknown } };
    const { applied } = read;
    const c = s.config;
    const json = { checked: true, stage: applied?.stage ?? null, canaryVersion: applied?.canaryVersion ?? null };
    const said = applied === undefined ? "the stack has applied no stage yet" : `the stack applied ${s.project}:weight ${applied.stage} last (canary version ${applied.canaryVersion ?? "(none)"})`;
    if (allowedWeights(applied, c.app.canary.version, c.stages).includes(to)) return { line: `applied stage: ${said}`, json };
    if (c.allowStageSkip) return { line: `applied stage: ${said}; ${s.project}:allowStageSkip is true, so ${to} is written all the same`, json };
    throw new UsageError(
        `next: ${said}, and ${path.basename(s.file)} says ${c.weight} (canary version ${c.app.canary.version}): \`pulumi up\` the file's stage before the next \`next\`, which would write ${to} and skip a stage; nothing written`,
    );
}

/**
 * `next --prometheus`: the current window, judged before anything is written. An unreachable
 * Prometheus is refused (exit 2), not taken for "no forecast yet", and a ROLLBACK in the window is
 * refused (exit 1), each unless forced by name; then the next stage's forecast from this stage's
 * window (the traffic, the tests' rates, what it would carry).
 */
async function nextGate(s: StackFile, o: Options, io: CliIo, weight: number) {
    const args = analysisArgs(o, io, s);
    const url = stringOption(o, "prometheus") as string;
    const now = io.now();
    const since = parseSince(stringOption(o, "since") ?? "15m", now);
    // A window too short to judge reads nothing, so reachability is asked on its own first.
    const unreachable = await args.client.query("vector(1)", now).then(
        () => undefined,
        (e: Error) => {
            if (e instanceof PrometheusError) return e.message;
            throw e;
        },
    );
    const forced: string[] = [];
    if (unreachable !== undefined) {
        const why = `Prometheus at ${url} cannot be read: ${unreachable}`;
        if (!o["force-unreachable"]) throw new UsageError(`next: ${why}. The current window is not checked for a ROLLBACK, so nothing is written: start Prometheus or correct --prometheus, or give --force-unreachable`);
        forced.push(`${why}; the window is not checked (--force-unreachable)`);
    }
    const j = await analyzeStage(s, args, io, since);
    const judged = judgementReport(j);
    if (j.decision === "ROLLBACK" && !o["force-rollback"]) {
        const refusal = `next refused: the current window judges ROLLBACK, so nothing is written: \`rollout rollback\` writes weight 0, or give --force-rollback to write ${weight} all the same`;
        return { refused: { code: EXIT.ROLLBACK, report: { lines: [...judged.lines, refusal], json: { ...(judged.json as object), edits: [], refused: refusal } } } };
    }
    if (j.decision === "ROLLBACK") forced.push("the current window judges ROLLBACK; written all the same (--force-rollback)");
    const forecast = judgedForecast(j, { windowSeconds: windowSecondsOf(since, now), weight, stages: s.config.stages, next: true, deadlineSeconds: durationSeconds(s.config.analysis.deadline), policy: DEFAULT_POLICY });
    return { forecast, window: { decision: j.decision, reasons: j.reasons, forced }, lines: [`current window: ${j.decision}`, ...forced, ...forecastLines(forecast, weight)] };
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
