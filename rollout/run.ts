/**
 * `rollout run`: analyze the stage every interval until PROMOTE or ROLLBACK (or the timeout, HOLD),
 * then write `next` or `rollback` into the stack file and, with --apply, `pulumi up` it. Everything
 * that would stop it later (weight 0, a bad option, no working Pulumi CLI) is refused before the
 * first look.
 */
import { durationOption, Options, stringOption, UsageError } from "../lib/args";
import { minimumWindowSeconds, parseSince } from "./analyze";
import { applyStage } from "./apply";
import { analysisArgs, analyzeStage, CliIo, EXIT } from "./context";
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

export async function runStage(s: StackFile, o: Options, io: CliIo, progress: (line: string) => void): Promise<{ code: number; report: Report }> {
    if (s.config.weight === 0) {
        throw new UsageError("run: canary:weight is 0, so there is no stage to analyse: `rollout next` writes the first stage and `pulumi up` applies it");
    }
    const analysis = analysisArgs(o, io, s);
    // Default: the ServiceMonitor's scrape interval; looking more often sees no new data.
    const interval = durationOption(o, "interval", 15_000, 1000);
    const timeout = durationOption(o, "timeout", 30 * 60_000, 1000);
    // Without --since the stage is taken to start now: only evidence gathered from here on counts.
    const sinceOption = stringOption(o, "since");
    const since = sinceOption === undefined ? io.now() : parseSince(sinceOption, io.now());
    if (o.apply) await checkCli(io, progress);

    const deadline = io.now().getTime() + timeout;
    // The first look waits for a window of two scrapes: a shorter one can show no increase.
    let wait = Math.max(0, since.getTime() + minimumWindowSeconds(analysis.scrapeIntervalSeconds) * 1000 - io.now().getTime());
    for (;;) {
        await io.sleep(wait);
        wait = interval;
        const j = await analyzeStage(s, analysis, io, since);
        progress(progressLine(io.now(), j));
        if (j.decision === "HOLD" && io.now().getTime() < deadline) continue;

        const judged = judgementReport(j);
        const done = (code: number, lines: string[], extra: Record<string, unknown>) => ({
            code,
            report: { lines: [...judged.lines, ...lines], json: { ...(judged.json as object), ...extra } },
        });
        if (j.decision === "HOLD") return done(EXIT.HOLD, ["no decision before the timeout: the stack file is unchanged"], { edits: [], applied: false });
        if (j.decision === "PROMOTE" && s.config.weight === 100) {
            return done(EXIT.PROMOTE, ["the last stage passed: run `promote` to make the canary the new stable"], { edits: [], applied: false });
        }
        const edits = j.decision === "PROMOTE" ? planNext(s.config) : planRollback(s.config);
        const written = writeEdits(s, edits);
        const edited = editReport(written, edits, newStageSummary);
        const { edits: editJson, change } = edited.json;
        if (!o.apply) return done(EXIT[j.decision], edited.lines, { edits: editJson, change, applied: false });
        try {
            await applyStage(io.selectStack, io.root, s.stack, written.config.weight, progress);
        } catch (e) {
            const error = `pulumi up failed: ${(e as Error).message}`;
            return done(EXIT.USAGE, [...edited.lines, error], { edits: editJson, change, applied: false, error });
        }
        return done(EXIT[j.decision], [...edited.lines, `applied canary:weight ${written.config.weight} to stack ${s.stack}`], { edits: editJson, change, applied: true });
    }
}
