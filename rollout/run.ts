/**
 * `rollout run`: analyze the stage every interval until PROMOTE or ROLLBACK (or the timeout, HOLD),
 * then write `next` or `rollback` into the stack file and, with --apply, `pulumi up` it with the
 * project's policy pack. Everything that would stop it later (weight 0, a bad option, no working
 * Pulumi CLI or no policy pack, a timeout that ends before the first look could judge anything) is
 * refused before the first look. A stack file edited while it ran is not written over (`writeEdits`);
 * with --dry-run the decision's edit is only reported. The timeout counts from the
 * command's start and bounds every look, one that Prometheus never answers included.
 */
import { Options, stringOption, UsageError } from "../lib/args";
import { durationOption } from "./options";
import type { Judgement } from "../domain/decide";
import { hold, minimumWindowSeconds, parseSince } from "./analyze";
import { applyStage, policyPackOf } from "./apply";
import { analysisArgs, analyzeStage, CliIo, EXIT, refuseWeightZero } from "./context";
import { editReport, judgementReport, newStageSummary, progressLine, Report } from "./report";
import { planNext, planRollback, StackFile, writeEdits } from "./stackFile";

/** Checks the CLI the Automation API will run; a missing or broken one is a usage error now, not after the analysis. */
async function checkCli(io: CliIo, progress: (line: string) => void): Promise<void> {
    let version: string;
    try {
        version = await io.checkPulumi();
    } catch (e) {
        throw new UsageError(
            `--apply needs a working Pulumi CLI and \`pulumi version\` failed: ${(e as Error).message}\n` +
                "After `npm ci` the project's `pulumi` package provides it: run through `npm run rollout -- ...` (or put node_modules/.bin on PATH); see the README, \"On your cluster\"",
        );
    }
    progress(`pulumi CLI ${version}`);
}

/** The longest delay setTimeout takes; a longer one would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/**
 * The longest `--timeout` and `--interval`: a stage judged for more than a day is the stage's own
 * analysis's work (`canary:analysis.deadline`), not a command's, and both stay far below the timer's
 * limit (`MAX_TIMER_MS`, some 24 days), past which a sleep would end at once.
 */
export const MAX_RUN_TIMEOUT_MS = 24 * 3_600_000;
export const MAX_RUN_INTERVAL_MS = 3_600_000;

/** `look`, or undefined when it has not settled within `ms` (a real timer: the look is what may hang). */
export function within<T>(look: Promise<T>, ms: number): Promise<T | undefined> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), Math.min(MAX_TIMER_MS, Math.max(0, ms)))));
    return Promise.race([look, expired]).finally(() => clearTimeout(timer));
}

export async function runStage(s: StackFile, o: Options, io: CliIo, progress: (line: string) => void): Promise<{ code: number; report: Report }> {
    const start = io.now().getTime();
    refuseWeightZero(s, "run");
    const analysis = analysisArgs(o, io, s);
    // Default: the ServiceMonitor's scrape interval; looking more often sees no new data.
    const interval = durationOption(o, "interval", 15_000, 1000, MAX_RUN_INTERVAL_MS);
    const timeout = durationOption(o, "timeout", 30 * 60_000, 1000, MAX_RUN_TIMEOUT_MS);
    const timeoutRaw = stringOption(o, "timeout") ?? "30m";
    // Without --since the stage is taken to start now: only evidence gathered from here on counts.
    const sinceOption = stringOption(o, "since");
    const since = sinceOption === undefined ? io.now() : parseSince(sinceOption, io.now());
    const deadline = start + timeout;
    // The first look waits for a window of two scrapes: a shorter one can show no increase.
    const firstLook = Math.max(start, since.getTime() + minimumWindowSeconds(analysis.scrapeIntervalSeconds) * 1000);
    if (firstLook >= deadline) {
        const needed = Math.ceil((firstLook - start) / 1000);
        throw new UsageError(
            `run: --timeout ${timeoutRaw} ends before the first look can judge anything: the window since ${since.toISOString()} covers two scrape intervals ` +
                `(${minimumWindowSeconds(analysis.scrapeIntervalSeconds)}s) only ${needed}s from now. Give --timeout more than ${needed}s, or --since for a stage that started earlier`,
        );
    }
    const dryRun = o["dry-run"] === true;
    const policyPack = o.apply ? policyPackOf(io.root) : undefined;
    if (o.apply) await checkCli(io, progress);

    let next = firstLook;
    for (;;) {
        await io.sleep(Math.max(0, next - io.now().getTime()));
        const j: Judgement = (await within(analyzeStage(s, analysis, io, since), deadline - io.now().getTime())) ?? hold(`no answer from Prometheus before --timeout ${timeoutRaw} ran out`);
        progress(progressLine(io.now(), j));
        next = io.now().getTime() + interval;
        // The next look only if it starts before the timeout: a look after it would not be waited for.
        if (j.decision === "HOLD" && next < deadline) continue;

        const judged = judgementReport(j);
        const done = (code: number, lines: string[], extra: Record<string, unknown>) => ({
            code,
            report: { lines: [...judged.lines, ...lines], json: { ...(judged.json as object), ...extra } },
        });
        if (j.decision === "HOLD") return done(EXIT.HOLD, ["no decision before the timeout: the stack file is unchanged"], { edits: [], applied: false });
        if (j.decision === "PROMOTE" && s.config.weight === 100) {
            return done(EXIT.PROMOTE, ["the last stage passed: run `promote` to make the canary the new stable"], { edits: [], applied: false });
        }
        const edits = j.decision === "PROMOTE" ? planNext(s) : planRollback(s);
        let written: StackFile;
        try {
            written = writeEdits(s, edits, dryRun);
        } catch (e) {
            // The decision stands and is reported; the file is not written (changed meanwhile, or not writable).
            if (!(e instanceof UsageError)) throw e;
            return done(EXIT.USAGE, [e.message], { edits: [], applied: false, error: e.message });
        }
        const edited = editReport(written, edits, newStageSummary, dryRun);
        const { edits: editJson, change } = edited.json;
        // No policy pack: no --apply.
        if (policyPack === undefined) return done(EXIT[j.decision], edited.lines, { edits: editJson, change, applied: false });
        try {
            await applyStage(io.selectStack, io.root, s, written.config.weight, policyPack, progress);
        } catch (e) {
            const error = `pulumi up failed: ${(e as Error).message}`;
            return done(EXIT.USAGE, [...edited.lines, error], { edits: editJson, change, applied: false, error });
        }
        return done(EXIT[j.decision], [...edited.lines, `applied ${s.project}:weight ${written.config.weight} to stack ${s.stack}`], { edits: editJson, change, applied: true });
    }
}
