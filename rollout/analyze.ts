/**
 * `rollout analyze`: reads canary and stable counts for the stage so far from Prometheus and judges
 * them (`decide.ts`). Anything wrong with the data is HOLD with the reason, never PROMOTE.
 */
import { DecisionPolicy, DEFAULT_POLICY, EMPTY_COUNTS, judge, Judgement, StageContext, TrackCounts } from "../domain/decide";
import { PrometheusClient, PrometheusError, Sample } from "./prometheus";
import { bucketCount, counterCount, counterResets, hasLatency, latencySecondsPerUnit, MetricNames, requestCount, SCRAPE_INTERVAL_SECONDS, Scope, SPLIT, SPLIT_TRACKS } from "../domain/promql";
import type { RatioMetric } from "../domain/ratios";
import { DurationError, durationMs } from "../domain/duration";
import { UsageError } from "../lib/args";
import type { Track } from "../domain/tracks";

const TRACK_LABEL = ["track"];

/** The instant queries that give one window's evidence; the window is whole seconds. */
export function evidenceQueries(m: MetricNames, scope: Scope, windowSeconds: number, ratios: readonly RatioMetric[] = []): Record<string, string> {
    const w = `${windowSeconds}s`;
    const counter = (metric: string) => counterCount(metric, scope, w, TRACK_LABEL, SPLIT_TRACKS);
    const buckets = bucketCount(m, scope, w, TRACK_LABEL, SPLIT);
    return {
        requests: requestCount(m, scope, w, TRACK_LABEL, SPLIT),
        errors: requestCount(m, scope, w, TRACK_LABEL, { ...SPLIT, errors: true }),
        // A source without a histogram has no latency evidence to read (`latencyUnjudged` says so in the answer).
        ...(buckets !== undefined ? { buckets } : {}),
        resets: counterResets(m, scope, w, TRACK_LABEL, SPLIT),
        ...Object.fromEntries(ratios.flatMap((r) => [[`${r.name}.events`, counter(r.events)], [`${r.name}.total`, counter(r.total)]])),
    };
}

const forTrack = (samples: Sample[], track: Track) => samples.filter((s) => s.labels.track === track);
/** `increase()` extrapolates to the window's edges; counts are whole requests. */
const count = (samples: Sample[], track: Track) => Math.round(forTrack(samples, track).reduce((a, s) => a + s.value, 0));

/** One track's counts; `secondsPerUnit` turns the histogram's bucket bounds into seconds (`latencySecondsPerUnit`). */
function countsOf(track: Track, r: Record<string, Sample[]>, ratios: readonly RatioMetric[], secondsPerUnit: number): TrackCounts {
    const buckets = forTrack(r.buckets ?? [], track)
        // Bounds by value, never by their text: Prometheus 3 stores a whole-number bound as "1.0" where
        // Prometheus 2 kept the text format's "1" (prometheus/prometheus docs/migration.md, "`le` and
        // `quantile` label values"); test/e2e.test.ts checks it on the chart's Prometheus.
        .map((s) => ({ le: s.labels.le === "+Inf" ? Infinity : Number(s.labels.le) * secondsPerUnit, count: Math.round(s.value) }))
        .filter((b) => !Number.isNaN(b.le))
        .sort((a, b) => a.le - b.le);
    const base = { requests: count(r.requests, track), errors: count(r.errors, track), buckets, resets: count(r.resets, track) };
    if (ratios.length === 0) return base;
    // No events series yet is none counted; no total series leaves the ratio unjudged (`judge` holds).
    return { ...base, ratios: Object.fromEntries(ratios.map((m) => [m.name, { events: count(r[`${m.name}.events`], track), total: count(r[`${m.name}.total`], track) }])) };
}

export interface AnalyzeOptions {
    readonly prometheus: PrometheusClient;
    readonly metrics: MetricNames;
    readonly scope: Scope;
    /** The start of the stage (the window's start). */
    readonly since: Date;
    readonly now: Date;
    /** The stage being judged (its weight, the stages, what it carries in); the window is its time so far. */
    readonly stage: Omit<StageContext, "seconds">;
    /** The ratio metrics judged beside errors and latency (`canary:analysis.ratios`). */
    readonly ratios?: readonly RatioMetric[];
    /** How often Prometheus scrapes the app (default the ServiceMonitor's, 15 s). */
    readonly scrapeIntervalSeconds?: number;
    readonly policy?: DecisionPolicy;
}

/**
 * What `analyze`, `run` and the judge (`serve`) say at weight 0, where no canary takes traffic: one
 * refusal (exit 2, or the judge's 400), never a judgement of a stage that does not exist.
 */
export const NO_STAGE_AT_ZERO = "there is no stage to analyse at weight 0: `rollout next` writes the first stage and `pulumi up` applies it";

/** HOLD with nothing read: the counts are unknown, not zero. */
export function hold(reason: string): Judgement {
    return { decision: "HOLD", reasons: [reason], canary: null, stable: null, evidence: {} };
}

/** The shortest window that can show an increase: two scrapes. */
export const minimumWindowSeconds = (scrapeIntervalSeconds: number) => 2 * scrapeIntervalSeconds;

/** The window from `since` to `now` in whole seconds, as it is judged (and forecast from). */
export const windowSecondsOf = (since: Date, now: Date) => Math.ceil((now.getTime() - since.getTime()) / 1000);

/** What one look read: both tracks' counts, or null when Prometheus had no request series for the scope (an empty vector). */
export type LookCounts = { readonly canary: TrackCounts; readonly stable: TrackCounts } | null;

/** Whether the window from `since` to `now` is too short to show an increase (then nothing is read). */
export const tooShort = (o: Pick<AnalyzeOptions, "since" | "now" | "scrapeIntervalSeconds">) => windowSecondsOf(o.since, o.now) < minimumWindowSeconds(o.scrapeIntervalSeconds ?? SCRAPE_INTERVAL_SECONDS);

/** One look's counts from Prometheus at `now` over the window from `since`; a PrometheusError when it cannot answer. */
export async function readLook(o: Pick<AnalyzeOptions, "prometheus" | "metrics" | "scope" | "since" | "now" | "ratios"> & { readonly weight?: number }): Promise<LookCounts> {
    const ratios = o.ratios ?? [];
    const queries = evidenceQueries(o.metrics, o.scope, windowSecondsOf(o.since, o.now), ratios);
    const at = async (t: Date): Promise<Record<string, Sample[]>> => Object.fromEntries(await Promise.all(Object.entries(queries).map(async ([k, q]) => [k, await o.prometheus.query(q, t)] as const)));
    const results = await at(o.now);
    if (results.requests.length === 0) return null;
    const unit = latencySecondsPerUnit(o.metrics);
    const stable = stableBaselineBefore(o.weight) ? await at(o.since) : results;
    return { canary: countsOf("canary", results, ratios, unit), stable: countsOf("stable", stable, ratios, unit) };
}

/**
 * Whether the stable's counts come from before the stage: at weight 100 the route sends stable nothing,
 * so over the stage's own window it has no baseline and no test could ever decide (seen first with real
 * traffic through the lab's Gateway: the 100 stage held until its deadline). Its counts are then read
 * over a window of the same length that ends where the stage starts (the same queries, evaluated at
 * `since`): what stable answered while it still had traffic. The tests compare rates per request, so
 * two windows of different times are compared as two samples; carried evidence still needs this
 * stage's own to lean to no regression.
 */
export const stableBaselineBefore = (weight: number | undefined): boolean => weight !== undefined && weight >= 100;

/**
 * The judgement of one look's counts: what `analyze` answers once it has read them, and what `rollout
 * replay` answers for a recorded look. A window shorter than two scrapes is HOLD whatever was read.
 */
/**
 * The policy for a source: one without a latency histogram judges the errors only and says why in every
 * answer (`latencyUnjudged`).
 */
export function policyFor(m: MetricNames | undefined, policy: DecisionPolicy = DEFAULT_POLICY): DecisionPolicy {
    return m === undefined || hasLatency(m) ? policy : { ...policy, latencyUnjudged: `the ${m.router?.name} source has no latency histogram (CloudWatch keeps none per target group): errors only` };
}

export function judgeLook(counts: LookCounts, o: Omit<AnalyzeOptions, "prometheus" | "metrics"> & { readonly metrics?: MetricNames }): Judgement {
    const windowSeconds = windowSecondsOf(o.since, o.now);
    const minimum = minimumWindowSeconds(o.scrapeIntervalSeconds ?? SCRAPE_INTERVAL_SECONDS);
    // A shorter window gives empty vectors, which would read like a label problem; this names the cause.
    if (tooShort(o)) {
        const ready = new Date(o.since.getTime() + minimum * 1000).toISOString();
        return hold(`the window since ${o.since.toISOString()} is ${windowSeconds}s, shorter than two scrape intervals (${minimum}s): nothing to judge before ${ready}`);
    }
    if (counts === null) {
        return {
            ...hold(`Prometheus has no request series for namespace="${o.scope.namespace}", app="${o.scope.app}" in the last ${windowSeconds}s (empty vector): check the scrape target and its labels`),
            canary: EMPTY_COUNTS,
            stable: EMPTY_COUNTS,
        };
    }
    return judge(counts.canary, counts.stable, { ...o.stage, seconds: windowSeconds }, policyFor(o.metrics, o.policy), o.ratios ?? []);
}

export async function analyze(o: AnalyzeOptions): Promise<Judgement> {
    if (tooShort(o)) return judgeLook(null, o);
    try {
        return judgeLook(await readLook({ ...o, weight: o.stage.weight }), o);
    } catch (e) {
        if (e instanceof PrometheusError) return hold(e.message);
        throw e;
    }
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-](\d{2}):(\d{2}))$/;

/**
 * The longest window a stage is judged over, from `--since` (or the judge's `since=`) to now: every
 * evidence query reads `[<window>s]` of the app's series, and a window far longer than any stage
 * (`canary:analysis.deadline`, 30m by default) is a mistake; an unbounded one became an Invalid Date
 * and `[NaNs]` queries.
 */
export const MAX_WINDOW_SECONDS = 30 * 86_400;

/**
 * Whether the fields of an RFC 3339 time name a real calendar time: `Date` rolls 2026-02-30 over to
 * March 2 and 24:00 to the next day, where RFC 3339 (section 5.7) allows neither.
 */
function onCalendar(m: RegExpExecArray): boolean {
    const [, year, month, day, hour, minute, second, , , offsetHour, offsetMinute] = m.map(Number);
    const t = new Date(0);
    // setUTCFullYear, not Date.UTC: Date.UTC reads the years 0-99 as 1900-1999.
    t.setUTCFullYear(year, month - 1, day);
    t.setUTCHours(hour, minute, second);
    const offsetOk = m[8] === "Z" || (offsetHour <= 23 && offsetMinute <= 59);
    return offsetOk && t.getUTCFullYear() === year && t.getUTCMonth() === month - 1 && t.getUTCDate() === day && t.getUTCHours() === hour && t.getUTCMinutes() === minute && t.getUTCSeconds() === second;
}

/** An RFC 3339 time with its zone that names a real calendar time (`onCalendar`), or undefined: `--since` and the judge's `since=`. */
export function rfc3339Instant(value: string): Date | undefined {
    const m = RFC3339.exec(value);
    if (!m) return undefined;
    const t = new Date(value);
    return Number.isNaN(t.getTime()) || !onCalendar(m) ? undefined : t;
}

/** Milliseconds back from now in a Go duration (`90s`, `1h30m`), 0 or more; undefined for a text that is none (an RFC 3339 time, say). */
function durationBack(value: string): number | undefined {
    try {
        const ms = durationMs(value);
        return ms >= 0 ? ms : undefined;
    } catch (e) {
        if (e instanceof DurationError && e.outOfRange) return Infinity;
        if (e instanceof DurationError) return undefined;
        throw e;
    }
}

/**
 * `--since` (or `option`: replay's `--from`, `--to`): a duration back from now (`90s`, `15m`, `1h30m`) or a past RFC 3339 time with its zone, at
 * most `MAX_WINDOW_SECONDS` back.
 */
export function parseSince(value: string, now: Date, option = "since"): Date {
    const form = "a duration back from now (90s, 15m, 2h) or an RFC 3339 time with its zone (2026-11-22T10:00:00Z, 2026-11-22T11:00:00+01:00)";
    const tooFar = `more than ${MAX_WINDOW_SECONDS / 86_400} days (${MAX_WINDOW_SECONDS / 3600}h) back: a stage's window is at most that long`;
    const back = durationBack(value);
    if (back !== undefined) {
        if (back > MAX_WINDOW_SECONDS * 1000) throw new UsageError(`--${option} ${value} is ${tooFar}`);
        return new Date(now.getTime() - back);
    }
    if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value)) throw new UsageError(`--${option} ${JSON.stringify(value)} has no time zone: add Z (UTC) or an offset such as +01:00`);
    if (!RFC3339.test(value)) throw new UsageError(`--${option} ${JSON.stringify(value)} is not ${form}`);
    const t = rfc3339Instant(value);
    if (t === undefined) throw new UsageError(`--${option} ${JSON.stringify(value)} is not a time on the calendar (months 01-12, the month's days, hours 00-23, minutes and seconds 00-59)`);
    if (t > now) throw new UsageError(`--${option} ${value} is in the future (now is ${now.toISOString()})`);
    if (now.getTime() - t.getTime() > MAX_WINDOW_SECONDS * 1000) throw new UsageError(`--${option} ${value} is ${tooFar} (now is ${now.toISOString()})`);
    return t;
}
