/**
 * A stage replayed look by look: the recorded counts of each look judged as the live judge judged them,
 * and what the benchmark's peers (Flagger's default, Kayenta's judge) would have done on the same
 * counts. Pure: `rollout/replay.ts` reads the looks from Prometheus or from a recording file (its
 * format and limits are here, `parseRecording`), and the judgement of each look is the caller's
 * `judgeLook` (rollout/analyze.ts), the one `analyze` and the judge service run.
 */
import { testsOf, type Decision, type Judgement, type StageContext, type TrackCounts } from "./decide";
import type { Forecast } from "./forecast";
import { FLAGGER, flaggerCheckPasses, KAYENTA_LIFETIME_STEPS, KAYENTA_STEP_SECONDS, kayentaJudgement, StepValues, stepValues } from "./kayenta";
import { DNS_LABEL, MAX_DEADLINE_SECONDS } from "./promql";
import type { RatioMetric } from "./ratios";
import { looksBeforeDeadline } from "./stages";
import type { Bucket } from "./stats";

/** The recording format's version: a reader refuses any other. */
export const RECORDING_VERSION = 1;
/** The most looks one replay reads or a recording holds: 30 minutes at 1 s, a day at 30 s (each look is 4 + 2 × ratios queries). */
export const MAX_LOOKS = 3000;
/** Buckets per track and look: prom-client's default histogram has 12, OpenTelemetry's 16. */
export const MAX_BUCKETS = 64;
/** The largest count a recording may hold: past 2^53 a count is no longer a whole number in JSON. */
const MAX_COUNT = Number.MAX_SAFE_INTEGER;

/** One look of a recording: its instant and both tracks' counts over the window from the recording's `from`, or null when Prometheus had no request series. */
export interface RecordedLook {
    readonly at: string;
    readonly counts: { readonly canary: TrackCounts; readonly stable: TrackCounts } | null;
}

/** A stage's counts per look, as `rollout replay --record` writes them (JSON, `+Inf` bucket bounds as the string "+Inf"). */
export interface Recording {
    readonly version: typeof RECORDING_VERSION;
    readonly namespace: string;
    readonly app: string;
    /** The window's start, RFC 3339: every look's counts are from here. */
    readonly from: string;
    /** Seconds between looks (the stack's canary:analysis.interval when recorded). */
    readonly intervalSeconds: number;
    /** How often Prometheus scraped the app: a look before two scrapes is HOLD. */
    readonly scrapeIntervalSeconds: number;
    /** The ratio metrics whose counters each look holds. */
    readonly ratios: readonly RatioMetric[];
    readonly looks: readonly RecordedLook[];
}

/** What a replay judges with: the stage, the look interval and deadline (canary:analysis), the ratio metrics. */
export interface ReplaySettings {
    readonly stage: Omit<StageContext, "seconds">;
    readonly intervalSeconds: number;
    readonly deadlineSeconds: number;
    readonly ratios: readonly RatioMetric[];
}

/** The judgement of one look: `judgeLook` of rollout/analyze.ts, given the window's start and the look's instant. */
export type JudgeLook = (counts: RecordedLook["counts"], since: Date, now: Date) => Judgement;
export type ForecastLook = (j: Judgement, windowSeconds: number) => Forecast | undefined;

export interface ReplayedLook {
    /** The look's number, from 1: the live run's measurement. */
    readonly look: number;
    readonly at: string;
    /** Seconds since the window's start. */
    readonly seconds: number;
    readonly judgement: Judgement;
    readonly forecast: Forecast | undefined;
}

export interface PeerVerdict {
    readonly policy: string;
    readonly decision: Decision;
    /** Seconds from the start to the decision, or to the range's end for HOLD. */
    readonly seconds: number;
    readonly why: string;
}

export interface Replay {
    readonly decision: Decision;
    /** How the stage ended: decided, the run's count of looks used up (Inconclusive), or the range ended first. */
    readonly end: "decided" | "deadline" | "range";
    readonly summary: string;
    readonly looks: readonly ReplayedLook[];
    readonly peers: readonly PeerVerdict[];
}

const at = (from: Date, seconds: number) => new Date(from.getTime() + seconds * 1000);
const clock = (s: number) => (s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s` : `${Math.round(s)}s`);

/**
 * The instants the live run asked at: Argo Rollouts takes a metric's first measurement when the run
 * starts and each next one an interval after the last (analysis/analysis.go v1.8.0,
 * generateMetricTasks), so look k is at `from` + k × interval, k = 0 .. count - 1, and none past `to`.
 */
export function lookInstants(from: Date, to: Date, intervalSeconds: number, deadlineSeconds: number): Date[] {
    const count = looksBeforeDeadline(deadlineSeconds, intervalSeconds);
    const inRange = Math.floor((to.getTime() - from.getTime()) / 1000 / intervalSeconds) + 1;
    return Array.from({ length: Math.max(0, Math.min(count, inRange)) }, (_, k) => at(from, k * intervalSeconds));
}

/** The recording's looks at `settings.intervalSeconds`: every look when it is the recorded interval, every n-th at n times it; another interval is refused. */
function looksAt(r: Recording, intervalSeconds: number): RecordedLook[] {
    const every = intervalSeconds / r.intervalSeconds;
    if (!Number.isInteger(every)) throw new RangeError(`analysis.interval ${intervalSeconds}s is not a whole multiple of the recording's ${r.intervalSeconds}s: a replay can only leave recorded looks out`);
    return r.looks.filter((_, k) => k % every === 0);
}

/** The replay of a recorded stage under `settings`: each look judged until a decision, the run's count of looks, or the recording's end. */
export function replay(r: Recording, settings: ReplaySettings, judgeAt: JudgeLook, forecastAt: ForecastLook): Replay {
    const from = new Date(r.from);
    const unrecorded = settings.ratios.filter((m) => !r.ratios.some((x) => x.name === m.name && x.events === m.events && x.total === m.total));
    if (unrecorded.length > 0) throw new RangeError(`analysis.ratios: ${unrecorded.map((m) => m.name).join(", ")} not in the recording (it holds ${r.ratios.map((m) => m.name).join(", ") || "none"})`);
    const count = looksBeforeDeadline(settings.deadlineSeconds, settings.intervalSeconds);
    const recorded = looksAt(r, settings.intervalSeconds);
    const looks: ReplayedLook[] = [];
    for (const [k, l] of recorded.slice(0, count).entries()) {
        const now = new Date(l.at);
        const seconds = (now.getTime() - from.getTime()) / 1000;
        const judgement = judgeAt(l.counts, from, now);
        looks.push({ look: k + 1, at: l.at, seconds, judgement, forecast: forecastAt(judgement, Math.ceil(seconds)) });
        if (judgement.decision !== "HOLD") break;
    }
    const last = looks.at(-1);
    const decision: Decision = last?.judgement.decision ?? "HOLD";
    const end = decision !== "HOLD" ? "decided" : looks.length >= count ? "deadline" : "range";
    const peers = peerVerdicts(recorded.slice(0, count), from);
    return { decision, end, summary: summaryOf(looks, end, count, settings), looks, peers };
}

/** One line: when the gate decided and why, or why it did not. */
function summaryOf(looks: readonly ReplayedLook[], end: Replay["end"], count: number, s: ReplaySettings): string {
    const last = looks.at(-1);
    if (last === undefined) return `HOLD: the range holds no look of the stage`;
    const when = `at look ${last.look} (${clock(last.seconds)}, ${last.at})`;
    if (end === "decided") {
        const regressed = testsOf(last.judgement).filter((t) => t.sprt.outcome === "H1");
        const why = regressed.map((t) => `${t.name} (LLR ${t.sprt.rollbackLlr.toFixed(2)} ≥ ${t.sprt.boundaries.upper.toFixed(2)})`);
        return `${last.judgement.decision} ${when}: ${last.judgement.decision === "ROLLBACK" ? `a regression in ${why.join(", ")}` : "every test a PROMOTE waits for ruled its regression out"}`;
    }
    const traffic = looks.some((l) => (l.judgement.canary?.requests ?? 0) > 0) ? "" : ": no look saw a canary request (no traffic in the range)";
    if (end === "deadline") return `HOLD to the deadline (${count} looks at ${s.intervalSeconds}s, ${clock(s.deadlineSeconds)}): the run ends Inconclusive, and the stage is not rolled back${traffic}`;
    return `HOLD ${when}, the range's last look of ${count} before the deadline${traffic}`;
}

const minus = (a: TrackCounts, b: TrackCounts | undefined): TrackCounts => {
    if (b === undefined) return a;
    const before = new Map(b.buckets.map((x) => [x.le, x.count]));
    return { requests: a.requests - b.requests, errors: a.errors - b.errors, buckets: a.buckets.map((x) => ({ le: x.le, count: x.count - (before.get(x.le) ?? 0) })), resets: 0 };
};

/**
 * Each peer's verdict on the same counts: a minute's counts are the difference of the cumulative counts
 * at the last looks at or before its ends (`increase()` over each window, so a minute is approximate
 * where a look is not on it). Flagger's default: a check a minute (`flaggerCheckPasses`), its first
 * passed check moves the weight on, its 5th failed one rolls back. Kayenta's judge: the per-minute
 * error ratio and p99, judged every 5 minutes over the window so far, 30 minutes (`kayentaJudgement`).
 */
export function peerVerdicts(looks: readonly RecordedLook[], from: Date): PeerVerdict[] {
    const seconds = (l: RecordedLook) => (Date.parse(l.at) - from.getTime()) / 1000;
    const lastSeconds = looks.length > 0 ? seconds(looks[looks.length - 1]) : 0;
    const upTo = (t: number) => [...looks].reverse().find((l) => seconds(l) <= t);
    const minutes = Math.floor(lastSeconds / KAYENTA_STEP_SECONDS);
    const minute = (m: number) => {
        const end = upTo(m * 60)?.counts;
        const start = m > 1 ? upTo((m - 1) * 60)?.counts : undefined;
        return end ? { canary: minus(end.canary, start?.canary), stable: minus(end.stable, start?.stable) } : null;
    };
    let flagger: PeerVerdict | undefined;
    let failed = 0;
    const canary: StepValues[] = [];
    const baseline: StepValues[] = [];
    let kayenta: PeerVerdict | undefined;
    for (let m = 1; m <= minutes; m++) {
        const counts = minute(m);
        if (flagger === undefined) {
            const ok = counts !== null && flaggerCheckPasses(counts.canary);
            const rate = counts && counts.canary.requests > 0 ? `${(100 * (1 - counts.canary.errors / counts.canary.requests)).toFixed(2)}%` : "no requests";
            if (ok) flagger = { policy: "Flagger default", decision: "PROMOTE", seconds: m * 60, why: `check ${m}: success rate ${rate} ≥ ${100 * FLAGGER.minSuccessRate}%: the weight moves on ${FLAGGER.stepWeight}` };
            else if (++failed >= FLAGGER.threshold) flagger = { policy: "Flagger default", decision: "ROLLBACK", seconds: m * 60, why: `check ${m}: success rate ${rate}, the ${FLAGGER.threshold}th failed check` };
        }
        if (kayenta === undefined && m <= KAYENTA_LIFETIME_STEPS) {
            canary.push(stepValues(counts?.canary ?? { requests: 0, errors: 0, buckets: [] }));
            baseline.push(stepValues(counts?.stable ?? { requests: 0, errors: 0, buckets: [] }));
            const verdict = kayentaJudgement(canary, baseline);
            if (verdict === "fail") kayenta = { policy: "Kayenta judge", decision: "ROLLBACK", seconds: m * 60, why: `the judgement after ${m} minutes scores at most the marginal threshold` };
            if (verdict === "pass") kayenta = { policy: "Kayenta judge", decision: "PROMOTE", seconds: m * 60, why: `the ${KAYENTA_LIFETIME_STEPS}-minute analysis passes` };
        }
    }
    const held = (policy: string, why: string): PeerVerdict => ({ policy, decision: "HOLD", seconds: lastSeconds, why });
    return [
        flagger ?? held("Flagger default", `no check passed and ${failed} of ${FLAGGER.threshold} failed in ${minutes} minute(s)`),
        kayenta ?? held("Kayenta judge", `no judgement ended the analysis in ${minutes} minute(s) (one every 5, for ${KAYENTA_LIFETIME_STEPS})`),
    ];
}

/** A stage's live decision, as its AnalysisRun recorded it. */
export interface LiveDecision {
    readonly decision: Decision;
    /** The run's look that decided (its count of measurements then). */
    readonly look: number;
    /** Seconds from the window's start to that look's ask: the measurement's start, as Kubernetes records it (whole seconds, rounded down). */
    readonly seconds: number;
}

export interface Agreement {
    readonly agrees: boolean;
    /** The replay's deciding look less the live one, in intervals; null when they did not both decide the same way. */
    readonly looksApart: number | null;
    readonly message: string;
}

/**
 * Whether a replay of a stage decides as its live judge did: ROLLBACK at the same look or one apart,
 * PROMOTE at the same look, or one apart where both waited for the stage's least time
 * (`minStageSeconds`) and decided at their first look past it (the cluster lane's check). Looks are compared by time, not by number: a
 * live run takes its first look when the controller starts it, after the window's start, and each next
 * one an interval after the last finished (analysis/analysis.go v1.8.0), so its numbers drift from the
 * replay's even grid from the window's start (`lookInstants`). The live look is taken at the middle of
 * its recorded second; the replay's look nearest it, in intervals, is the same look.
 */
export function agreement(
    live: LiveDecision,
    r: Pick<Replay, "decision" | "summary"> & { readonly looks: readonly Pick<ReplayedLook, "look" | "seconds">[] },
    intervalSeconds: number,
    minStageSeconds?: number,
): Agreement {
    const deciding = r.looks.at(-1);
    const liveText = `the live judge ${live.decision} at its look ${live.look} (${live.seconds}s into the window)`;
    if (live.decision === "HOLD") return { agrees: false, looksApart: null, message: `${liveText}: the live judge did not decide, there is nothing to compare` };
    if (r.decision !== live.decision || deciding === undefined) return { agrees: false, looksApart: null, message: `${liveText}; the replay ${r.summary}` };
    const apart = Math.round((deciding.seconds - (live.seconds + 0.5)) / intervalSeconds);
    const replayText = `the replay ${r.decision} at look ${deciding.look} (${deciding.seconds}s)`;
    if (apart === 0) return { agrees: true, looksApart: 0, message: `${replayText}, the same look as ${liveText}` };
    const why =
        `a live look reads what Prometheus had ingested by its ask, the replay reads the same instants after the fact (a scrape of the ask's last second that arrived later is in it), ` +
        `and a boundary crossed between two looks is seen by the first look after it on either grid`;
    // A PROMOTE that waited for the stage's least time comes at the first look past it, on either grid:
    // the two grids' looks around that instant may be one interval apart.
    const atLeastTime = live.decision === "PROMOTE" && minStageSeconds !== undefined && deciding.seconds >= minStageSeconds && deciding.seconds - intervalSeconds < minStageSeconds;
    const leastTime = `the PROMOTE waited for the stage's least time (${minStageSeconds}s), and each grid decided at its first look past it (the live looks drift from the replay's even grid, and Kubernetes records their times to the second)`;
    const agrees = Math.abs(apart) === 1 && (live.decision === "ROLLBACK" || atLeastTime);
    return { agrees, looksApart: apart, message: `${replayText}, ${Math.abs(apart)} look(s) ${apart > 0 ? "after" : "before"} ${liveText}${agrees ? `: ${atLeastTime ? leastTime : why}` : ""}` };
}

// ---- the recording file ---------------------------------------------------------------------------

/** What a recording's JSON is refused for: one message naming the field. */
export class RecordingError extends Error {
    constructor(field: string, problem: string) {
        super(`${field} ${problem}`);
        this.name = "RecordingError";
    }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

function instant(v: unknown, field: string): string {
    if (typeof v !== "string" || !RFC3339_UTC.test(v) || Number.isNaN(Date.parse(v)) || new Date(v).toISOString().slice(0, 19) !== v.slice(0, 19)) {
        throw new RecordingError(field, `must be an RFC 3339 UTC time such as 2026-11-22T10:00:00Z (got ${JSON.stringify(v)?.slice(0, 40)})`);
    }
    return v;
}

function count(v: unknown, field: string): number {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > MAX_COUNT) throw new RecordingError(field, `must be a whole number from 0 to ${MAX_COUNT} (got ${JSON.stringify(v) ?? String(v)})`);
    return v;
}

function seconds(v: unknown, field: string, max: number): number {
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0 || v > max) throw new RecordingError(field, `must be a number of seconds above 0, at most ${max} (got ${JSON.stringify(v) ?? String(v)})`);
    return v;
}

function fields(v: unknown, field: string, allowed: readonly string[]): Record<string, unknown> {
    if (!isObject(v)) throw new RecordingError(field, "must be an object");
    const extra = Object.keys(v).filter((k) => !allowed.includes(k));
    if (extra.length > 0) throw new RecordingError(`${field}.${extra[0]}`, `is not a field of a recording (${field === "recording" ? "" : `${field}: `}${allowed.join(", ")})`);
    return v;
}

function buckets(v: unknown, field: string): Bucket[] {
    if (!Array.isArray(v) || v.length > MAX_BUCKETS) throw new RecordingError(field, `must be a list of at most ${MAX_BUCKETS} buckets`);
    const out = v.map((b, i) => {
        const f = `${field}[${i}]`;
        const o = fields(b, f, ["le", "count"]);
        const le = o.le === "+Inf" ? Infinity : o.le;
        if (typeof le !== "number" || Number.isNaN(le) || le < 0) throw new RecordingError(`${f}.le`, `must be a bucket bound: a number from 0, or "+Inf" (got ${JSON.stringify(o.le)})`);
        return { le, count: count(o.count, `${f}.count`) };
    });
    for (let i = 1; i < out.length; i++) {
        if (!(out[i].le > out[i - 1].le)) throw new RecordingError(`${field}[${i}].le`, "must be above the bucket before it: buckets are sorted by bound, each once");
    }
    return out;
}

function track(v: unknown, field: string, ratios: readonly RatioMetric[]): TrackCounts {
    const o = fields(v, field, ["requests", "errors", "buckets", "resets", "ratios"]);
    const requests = count(o.requests, `${field}.requests`);
    const errors = count(o.errors, `${field}.errors`);
    if (errors > requests) throw new RecordingError(`${field}.errors`, `must be at most ${field}.requests (${requests})`);
    const base = { requests, errors, buckets: buckets(o.buckets, `${field}.buckets`), resets: count(o.resets, `${field}.resets`) };
    if (ratios.length === 0) {
        if (o.ratios !== undefined) throw new RecordingError(`${field}.ratios`, "is given, but the recording names no ratio metrics");
        return base;
    }
    const r = fields(o.ratios, `${field}.ratios`, ratios.map((m) => m.name));
    const entries = ratios.map((m) => {
        const c = fields(r[m.name], `${field}.ratios.${m.name}`, ["events", "total"]);
        return [m.name, { events: count(c.events, `${field}.ratios.${m.name}.events`), total: count(c.total, `${field}.ratios.${m.name}.total`) }] as const;
    });
    return { ...base, ratios: Object.fromEntries(entries) };
}

function ratioMetrics(v: unknown): RatioMetric[] {
    if (!Array.isArray(v) || v.length > 8) throw new RecordingError("ratios", "must be a list of at most 8 ratio metrics");
    const metric = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
    return v.map((m, i) => {
        const o = fields(m, `ratios[${i}]`, ["name", "events", "total", "bad"]);
        for (const k of ["name", "events", "total"] as const) if (typeof o[k] !== "string" || !metric.test(o[k] as string) || o[k] === "constructor") throw new RecordingError(`ratios[${i}].${k}`, `must be a metric name (got ${JSON.stringify(o[k])})`);
        if (o.bad !== "up" && o.bad !== "down") throw new RecordingError(`ratios[${i}].bad`, `must be up or down (got ${JSON.stringify(o.bad)})`);
        return { name: o.name as string, events: o.events as string, total: o.total as string, bad: o.bad };
    });
}

/**
 * A recording from its JSON value, checked field by field: every count a whole number (no NaN, no
 * negative), looks in time order one interval apart and at most `MAX_LOOKS`; the first problem is a
 * RecordingError naming the field. The file's size is the reader's bound (`MAX_RECORDING_BYTES`).
 */
export function parseRecording(json: unknown): Recording {
    const o = fields(json, "recording", ["version", "namespace", "app", "from", "intervalSeconds", "scrapeIntervalSeconds", "ratios", "looks"]);
    if (o.version !== RECORDING_VERSION) throw new RecordingError("version", `must be ${RECORDING_VERSION}, the format this command reads (got ${JSON.stringify(o.version)})`);
    for (const k of ["namespace", "app"] as const) if (typeof o[k] !== "string" || !DNS_LABEL.test(o[k] as string)) throw new RecordingError(k, `must be a DNS label such as podinfo (got ${JSON.stringify(o[k])})`);
    const from = instant(o.from, "from");
    const intervalSeconds = seconds(o.intervalSeconds, "intervalSeconds", 3600);
    const scrapeIntervalSeconds = seconds(o.scrapeIntervalSeconds, "scrapeIntervalSeconds", 300);
    const ratios = ratioMetrics(o.ratios);
    if (!Array.isArray(o.looks) || o.looks.length === 0 || o.looks.length > MAX_LOOKS) throw new RecordingError("looks", `must be a list of 1 to ${MAX_LOOKS} looks`);
    const looks = o.looks.map((l, i): RecordedLook => {
        const f = `looks[${i}]`;
        const x = fields(l, f, ["at", "counts"]);
        const when = instant(x.at, `${f}.at`);
        const expected = Date.parse(from) + i * intervalSeconds * 1000;
        if (Date.parse(when) !== expected) throw new RecordingError(`${f}.at`, `must be ${new Date(expected).toISOString()}: look ${i} is ${i} intervals of ${intervalSeconds}s after from (looks in time order, none left out)`);
        if (x.counts === null) return { at: when, counts: null };
        const c = fields(x.counts, `${f}.counts`, ["canary", "stable"]);
        return { at: when, counts: { canary: track(c.canary, `${f}.counts.canary`, ratios), stable: track(c.stable, `${f}.counts.stable`, ratios) } };
    });
    if ((Date.parse(looks[looks.length - 1].at) - Date.parse(from)) / 1000 > MAX_DEADLINE_SECONDS) throw new RecordingError("looks", `must end within ${MAX_DEADLINE_SECONDS / 86_400} days of from (the longest deadline)`);
    return { version: RECORDING_VERSION, namespace: o.namespace as string, app: o.app as string, from, intervalSeconds, scrapeIntervalSeconds, ratios, looks };
}

/** A recording as JSON text: `+Inf` bounds as the string "+Inf" (JSON has no Infinity). */
export const recordingJson = (r: Recording) => `${JSON.stringify(r, (k, v) => (k === "le" && v === Infinity ? "+Inf" : v), 1)}\n`;
