/**
 * `rollout replay`: the gate's decisions look by look over a past range, from Prometheus (each look
 * asks what the live judge would have asked at that instant: `readLook`, the window from --from) or
 * from a recording (`--recording FILE`, which `--record FILE` writes), each look judged by `judgeLook`,
 * the code `analyze` and the judge service run. The stage's settings are the stack file's (namespace,
 * app, metric contract, stages, canary:analysis.interval, deadline and ratios), `--set analysis.<key>=`
 * trying others through the same schema.
 */
import * as fs from "fs";
import * as path from "path";
import { DEFAULT_POLICY } from "../domain/decide";
import { carryProblem, parseLlrs } from "../domain/evidence";
import { judgedForecast } from "../domain/forecast";
import { chartPoint, evidenceSvg } from "../domain/chart";
import { durationSeconds } from "../domain/duration";
import { lookInstants, MAX_LOOKS, parseRecording, RecordedLook, Recording, RECORDING_VERSION, RecordingError, recordingJson, Replay, replay } from "../domain/replay";
import { Options, OptionSpec, stringOption, UsageError } from "../lib/args";
import { systemProblem } from "../lib/system";
import { validateStackConfig } from "../stacks/validate";
import type { StackConfig } from "../stacks/schema";
import { judgeLook, parseSince, readLook, tooShort } from "./analyze";
import type { CliIo } from "./context";
import { PrometheusError, queryOptions, QUERY_OPTIONS } from "./prometheus";
import { forecastLines, progressLine, Report } from "./report";
import { rawConfig, StackFile } from "./stackFile";

/** The largest recording read: 3,000 looks of two tracks with their buckets and ratios fit in a few MiB. */
export const MAX_RECORDING_BYTES = 16 * 1024 * 1024;

/** The canary:analysis keys a replay can try (`--set`): what changes the judge's looks or decisions. */
const SETTABLE = ["analysis.interval", "analysis.deadline", "analysis.ratios"] as const;

export const REPLAY_OPTIONS: readonly OptionSpec[] = [
    { name: "prometheus", value: "URL", help: "replay from this Prometheus (with --from; or --recording)" },
    { name: "from", value: "WHEN", help: "the stage's start: the window every look reads from; 15m, 2h or an RFC 3339 time with zone, at most 30 days back (with --prometheus)" },
    { name: "to", value: "WHEN", help: "the range's end, as --from (default now; looks stop at the stage's deadline)" },
    { name: "recording", value: "FILE", help: "replay a recording (--record wrote it) instead of asking Prometheus" },
    { name: "record", value: "FILE", help: "also write the looks' counts to FILE (JSON), to replay with --recording (with --prometheus)" },
    { name: "svg", value: "FILE", help: "write the chart of each test's evidence against its boundaries, the decision marked (SVG)" },
    { name: "weight", value: "N", help: "the stage replayed, one of canary:stages (default the stack's canary:weight)" },
    { name: "carry", value: "TEST:LLR,...", help: "the evidence the stage went on from, as for analyze (default none)" },
    { name: "set", value: "KEY=VALUE[;...]", help: `try another ${SETTABLE.join(", ")} on the same counts (validated by the stack's schema)` },
    ...QUERY_OPTIONS,
];

/** The stack's config with `--set`'s keys changed, validated by the program's schema; a key a replay cannot try is refused by its name. */
export function withSettings(s: StackFile, raw: string | undefined): StackConfig {
    if (raw === undefined) return s.config;
    const config = rawConfig(s.doc, path.basename(s.file), s.project);
    for (const pair of raw.split(";").filter((p) => p.trim() !== "")) {
        const eq = pair.indexOf("=");
        const key = (eq < 0 ? pair : pair.slice(0, eq)).trim();
        if (eq < 0) throw new UsageError(`--set ${JSON.stringify(pair)}: write KEY=VALUE, e.g. analysis.deadline=10m`);
        if (!(SETTABLE as readonly string[]).includes(key)) throw new UsageError(`--set ${key}: a replay can try ${SETTABLE.join(", ")} (the keys that change the judge's looks or decisions)`);
        const value = pair.slice(eq + 1);
        const decoded = key === "analysis.ratios" ? parseJson(value, key) : value;
        const analysis = typeof config.analysis === "object" && config.analysis !== null ? (config.analysis as Record<string, unknown>) : {};
        config.analysis = { ...analysis, [key.slice("analysis.".length)]: decoded };
    }
    const v = validateStackConfig(s.project, s.stack, config);
    if (!v.ok) throw new UsageError(`--set: ${v.message}`);
    return v.config;
}

function parseJson(value: string, key: string): unknown {
    try {
        return JSON.parse(value);
    } catch {
        throw new UsageError(`--set ${key}: ${JSON.stringify(value.slice(0, 60))} is not JSON (a list of ratio metrics as the stack file holds it)`);
    }
}

/** A recording file: at most `MAX_RECORDING_BYTES`, JSON, every field checked (`parseRecording`); any problem one line naming the file and the field. */
export function readRecording(file: string): Recording {
    let text: string;
    try {
        const fd = fs.openSync(file, "r");
        try {
            const buf = Buffer.alloc(MAX_RECORDING_BYTES + 1);
            let n = 0;
            for (let got = -1; got !== 0 && n < buf.length; n += got) got = fs.readSync(fd, buf, n, buf.length - n, null);
            if (n > MAX_RECORDING_BYTES) throw new UsageError(`--recording ${file} is larger than ${MAX_RECORDING_BYTES} bytes: a recording holds at most ${MAX_LOOKS} looks`);
            text = buf.toString("utf8", 0, n);
        } finally {
            fs.closeSync(fd);
        }
    } catch (e) {
        const problem = e instanceof UsageError ? undefined : systemProblem(e, `cannot read ${file}`);
        if (problem === undefined) throw e;
        throw new UsageError(`--recording: ${problem}`);
    }
    let json: unknown;
    try {
        json = JSON.parse(text);
    } catch (e) {
        throw new UsageError(`--recording ${file} is not JSON: ${(e as Error).message}`);
    }
    try {
        return parseRecording(json);
    } catch (e) {
        if (e instanceof RecordingError) throw new UsageError(`--recording ${file}: ${e.message}`);
        throw e;
    }
}

/** The looks from Prometheus, as a recording: each at its instant, over the window from `from`; a look Prometheus cannot answer ends the replay (exit 2), naming it. */
async function recordFromPrometheus(c: StackConfig, o: Options, io: CliIo, intervalSeconds: number, deadlineSeconds: number, weight: number): Promise<Recording> {
    const now = io.now();
    const raw = stringOption(o, "from");
    if (raw === undefined) throw new UsageError("replay: --from is required with --prometheus (the stage's start)");
    const from = parseSince(raw, now, "from");
    const to = stringOption(o, "to") === undefined ? now : parseSince(stringOption(o, "to") as string, now, "to");
    if (to <= from) throw new UsageError(`--to ${to.toISOString()} is not after --from ${from.toISOString()}`);
    const instants = lookInstants(from, to, intervalSeconds, deadlineSeconds);
    if (instants.length > MAX_LOOKS) throw new UsageError(`the range holds ${instants.length} looks at ${intervalSeconds}s; a replay reads at most ${MAX_LOOKS}: a shorter range (--to) or --set analysis.interval=`);
    const q = queryOptions(o);
    const prometheus = io.prometheus(stringOption(o, "prometheus") as string, q.queryTimeoutMs);
    const scope = { namespace: c.app.namespace, app: c.app.name };
    const looks: RecordedLook[] = [];
    for (const t of instants) {
        const look = { prometheus, metrics: c.metrics, scope, since: from, now: t, ratios: c.analysis.ratios, scrapeIntervalSeconds: q.scrapeIntervalSeconds, weight };
        try {
            looks.push({ at: t.toISOString(), counts: tooShort(look) ? null : await readLook(look) });
        } catch (e) {
            if (e instanceof PrometheusError) throw new UsageError(`Prometheus could not answer the look at ${t.toISOString()}: ${e.message}`);
            throw e;
        }
    }
    return { version: RECORDING_VERSION, ...scope, from: from.toISOString(), intervalSeconds, scrapeIntervalSeconds: q.scrapeIntervalSeconds, ratios: c.analysis.ratios, looks };
}

/** Writes `text` to `file` (option `--name`), a problem of the machine's one line. */
function writeOut(file: string, text: string, name: string): void {
    try {
        fs.writeFileSync(file, text);
    } catch (e) {
        const problem = systemProblem(e, `cannot write ${file}`);
        if (problem === undefined) throw e;
        throw new UsageError(`--${name}: ${problem}`);
    }
}

/** The stage replayed: the stack's settings (with --set), the weight, what it carried in. */
function stageOf(c: StackConfig, o: Options) {
    const rawWeight = stringOption(o, "weight");
    const weight = rawWeight === undefined ? c.weight : Number(rawWeight);
    if (!c.stages.includes(weight) || weight <= 0) throw new UsageError(`--weight ${rawWeight ?? weight}: must be one of canary:stages (${c.stages.join(", ")}); the stack is at ${c.weight}`);
    const rawCarry = stringOption(o, "carry");
    let carried;
    try {
        carried = rawCarry === undefined ? undefined : parseLlrs(rawCarry);
    } catch (e) {
        throw new UsageError(`--carry ${(e as Error).message}`);
    }
    const problem = carryProblem(carried, weight, c.stages);
    if (problem) throw new UsageError(`--carry: ${problem}`);
    return { weight, stages: c.stages, ...(carried ? { carried } : {}) };
}

/** `rollout replay`: its exit code is the replayed decision's (0 PROMOTE, 1 ROLLBACK, 3 HOLD). */
export async function replayCommand(s: StackFile, o: Options, io: CliIo): Promise<{ decision: Replay["decision"]; report: Report }> {
    const source = [stringOption(o, "prometheus") && "--prometheus", stringOption(o, "recording") && "--recording"].filter(Boolean);
    if (source.length !== 1) throw new UsageError(`replay: give one of --prometheus URL (with --from) or --recording FILE${source.length > 1 ? ", not both" : ""}`);
    if (stringOption(o, "recording") !== undefined) {
        const extra = ["from", "to", "record", "query-timeout", "scrape-interval"].filter((n) => o[n] !== undefined);
        if (extra.length > 0) throw new UsageError(`replay: --${extra[0]} is for a replay from Prometheus; a recording holds its own range and scrape interval`);
    }
    const c = withSettings(s, stringOption(o, "set"));
    const stage = stageOf(c, o);
    const intervalSeconds = durationSeconds(c.analysis.interval);
    const deadlineSeconds = durationSeconds(c.analysis.deadline);
    const recordingFile = stringOption(o, "recording");
    const recording = recordingFile !== undefined ? readRecording(recordingFile) : await recordFromPrometheus(c, o, io, intervalSeconds, deadlineSeconds, stage.weight);
    if (recording.namespace !== c.app.namespace || recording.app !== c.app.name) {
        throw new UsageError(`--recording ${recordingFile}: it records ${recording.namespace}/${recording.app}, the stack judges ${c.app.namespace}/${c.app.name}`);
    }
    const scope = { namespace: recording.namespace, app: recording.app };
    let result: Replay;
    try {
        result = replay(
            recording,
            { stage, intervalSeconds, deadlineSeconds, ratios: c.analysis.ratios },
            (counts, since, now) => judgeLook(counts, { scope, metrics: c.metrics, since, now, stage, ratios: c.analysis.ratios, scrapeIntervalSeconds: recording.scrapeIntervalSeconds }),
            (j, windowSeconds) => judgedForecast(j, { windowSeconds, weight: stage.weight, stages: stage.stages, deadlineSeconds, policy: DEFAULT_POLICY }),
        );
    } catch (e) {
        if (e instanceof RangeError) throw new UsageError(`--set ${e.message}`);
        throw e;
    }
    // --dry-run: the replay as usual; the files it would write are only named.
    const dryRun = o["dry-run"] === true;
    const record = stringOption(o, "record");
    if (record !== undefined && !dryRun) writeOut(record, recordingJson(recording), "record");
    const svg = stringOption(o, "svg");
    const title = `${scope.namespace}/${scope.app} at weight ${stage.weight}, from ${recording.from}`;
    if (svg !== undefined && !dryRun) writeOut(svg, evidenceSvg(title, result.looks.map((l) => chartPoint(l.look, l.seconds, l.judgement))), "svg");
    return { decision: result.decision, report: replayReport(result, { title, intervalSeconds, deadlineSeconds, weight: stage.weight, record, svg, dryRun }) };
}

export function replayReport(r: Replay, o: { title: string; intervalSeconds: number; deadlineSeconds: number; weight: number; record?: string; svg?: string; dryRun?: boolean }): Report {
    const would = o.dryRun ? "would write " : "";
    const deciding = r.looks.at(-1);
    const lines = [
        `replay of ${o.title}: a look every ${o.intervalSeconds}s, deadline ${o.deadlineSeconds}s`,
        ...r.looks.flatMap((l) => [`look ${l.look} +${l.seconds}s ${progressLine(new Date(l.at), l.judgement)}`, `    ${forecastLines(l.forecast, o.weight)[0]}`]),
        `decision: ${r.summary}`,
        ...(deciding ? deciding.judgement.reasons.map((x) => `- ${x}`) : []),
        "on the same counts:",
        ...r.peers.map((p) => `  ${p.policy}: ${p.decision} at ${p.seconds}s (${p.why})`),
        ...(o.record ? [`${would}recording: ${o.record}`] : []),
        ...(o.svg ? [`${would}chart: ${o.svg}`] : []),
        ...(o.dryRun && (o.record || o.svg) ? ["dry run: nothing written"] : []),
    ];
    const json = {
        decision: r.decision,
        end: r.end,
        summary: r.summary,
        looks: r.looks.map((l) => ({ look: l.look, at: l.at, seconds: l.seconds, decision: l.judgement.decision, reasons: l.judgement.reasons, canary: l.judgement.canary, stable: l.judgement.stable, evidence: l.judgement.evidence, forecast: l.forecast ?? null })),
        peers: r.peers,
        recording: o.record ?? null,
        svg: o.svg ?? null,
        dryRun: o.dryRun === true,
    };
    return { lines, json };
}
