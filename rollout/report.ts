/**
 * What the `rollout` command prints: each result as text lines and as one JSON value, built from the
 * same data so the two never disagree.
 */
import { NOT_ENOUGH_EVIDENCE, testsOf, type Judgement, type TrackCounts } from "../domain/decide";
import { forecastTests, likelyMisses, minutes, MORE_TRAFFIC_OR_TIME, requestsToPromote, ROLLOUT_MISS_LIMIT, type Forecast, type RolloutForecast } from "../domain/forecast";
import { nextStage, splitFor } from "../domain/stages";
import type { Track } from "../domain/tracks";
import type { StackConfig } from "../stacks/schema";
import type { LiveRun } from "./judged";
import { describeEdit, Edit, editKey, StackFile } from "./stackFile";

/** A result: text for people, a JSON value for scripts. */
export interface Report<J = unknown> {
    readonly lines: string[];
    readonly json: J;
}

/** What `pulumi up` does with an edited stack file. */
export type ChangeSummary = (c: StackConfig) => string;

/** What `pulumi up` changes when the weight moves to `to`: the routing resource of the stack's router. */
export function stageChangeSummary(c: StackConfig, to: number): string {
    const routing = {
        alb: "the weighted ALB listener rule",
        gateway: "the HTTPRoute's backend weights",
        nginx: "the canary Ingress's canary-weight annotation",
        istio: "the VirtualService's route weights",
    }[c.router];
    const analysis = c.analysis.enabled && to > 0 ? `, and starts the stage's AnalysisRun${c.loadTest.enabled ? " and load-test Job" : ""}` : "";
    const split = splitFor(to);
    return `stable ${split.stable}%, canary ${split.canary}%: \`pulumi up\` updates ${routing} and the stage rule (app:canary_weight:configured)${analysis}`;
}

/** What `pulumi up` does after `promote`: the stable rollout first, then traffic back to stable. */
export function promoteSummary(c: StackConfig): string {
    const stable = c.app.stable;
    return (
        `\`pulumi up\` rolls the stable Deployment out to ${stable.image} (version ${stable.version}, never below ${stable.replicas} ready ` +
        `pods), moves all traffic back to stable only once that rollout is ready, and scales the canary to 0 pods; ` +
        `promotedVersion becomes ${stable.version}`
    );
}

/** The chance of a decision before the deadline, as the forecast lines say it ("" when there is none). */
const inTime = (chance: number | null | undefined) => (chance === null || chance === undefined ? "" : `, a decision in time with a chance of about ${Math.round(100 * chance)}%`);

/** The forecast as a line, and its warning when the deadline probably cannot be met. */
export function forecastLines(f: Forecast | undefined, weight: number): string[] {
    if (f === undefined) return [`forecast for stage ${weight}: none yet (no canary requests or too few stable ones in the window)`];
    const when = f.seconds === null ? "never at no canary traffic" : `about ${minutes(f.seconds)} to a decision`;
    const why = f.test !== undefined ? ` (${f.canaryRequests} more canary requests for ${f.test} at ${f.canaryRate.toFixed(2)}/s)` : "";
    return [`forecast for stage ${weight}: ${when}${why}${inTime(f.inTimeChance)}`, ...(f.warning ? [`warning: ${f.warning}`] : []), ...rolloutLines(f.rollout)];
}

/** The rollout's chance of a decision at every stage from this one on, and its warning when the chance of none is above the limit. */
function rolloutLines(r: RolloutForecast | undefined): string[] {
    if (r === undefined) return [];
    const chance = r.inTimeChance === null ? "none at no canary traffic" : `about ${Math.round(100 * r.inTimeChance)}%`;
    return [`forecast for the rollout (stages ${r.stages.join(", ")}): a decision at every stage in time, ${chance}`, ...(r.warning ? [`warning: ${r.warning}`] : [])];
}

/** What the judge last told the stage's run, as Prometheus scraped it; a warning when the deadline probably cannot be met (`likelyMisses`). */
export function liveLines(live: LiveRun | null | Error, weight: number): string[] {
    if (live instanceof Error) return [`judge: unknown (${live.message})`];
    if (live === null) return [`judge: no run at weight ${weight} in Prometheus (the judge has not been asked about this stage, or is not scraped)`];
    const tests = live.tests.map((t) => `${t.test} LLR ${t.llr.toFixed(2)} (promote at ${t.promoteBound.toFixed(2)}, rollback at ${t.rollbackBound.toFixed(2)}; ${t.canaryRequests} canary, ${t.stableRequests} stable requests)`);
    const f = live.forecastSeconds;
    const left = live.deadlineLeftSeconds;
    const chance = live.inTimeChance;
    const rollout = live.rolloutInTimeChance;
    return [
        `judge: ${live.decision ?? "no decision"} for run ${live.run} (asked ${live.askedAt})${tests.length > 0 ? `: ${tests.join("; ")}` : ""}`,
        `forecast: ${f === null ? "none (no canary traffic to decide on, or no tests yet)" : `about ${minutes(f)} to a decision`}${left === null ? "" : `; ${minutes(left)} of the deadline left`}${inTime(chance)}` +
            (rollout === null ? "" : `; this and every later stage in time, about ${Math.round(100 * rollout)}%`),
        ...(left !== null && live.decision === "HOLD" && likelyMisses(chance) ? [`warning: at this traffic the stage will probably not decide before its deadline; ${MORE_TRAFFIC_OR_TIME}`] : []),
        ...(live.decision === "HOLD" && rollout !== null && 1 - rollout > ROLLOUT_MISS_LIMIT
            ? [`warning: at this traffic the rollout ends without a decision at some stage with a chance above ${100 * ROLLOUT_MISS_LIMIT}%; ${MORE_TRAFFIC_OR_TIME}`]
            : []),
    ];
}

export function statusReport(s: StackFile, live?: LiveRun | null | Error): Report {
    const c = s.config;
    const next = c.canaryDiffers ? nextStage(c.weight, c.stages) : undefined;
    const split = splitFor(c.weight);
    const track = (t: Track) => ({ version: c.app[t].version, image: c.app[t].image, replicas: c.app[t].replicas });
    const json = {
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
        ...(live !== undefined ? { judge: live instanceof Error ? { error: live.message } : live } : {}),
    };
    const lines = [
        `stack ${s.stack} (environment ${c.environment}, router ${c.router})`,
        `stage: ${s.project}:weight ${c.weight} of [${c.stages.join(", ")}]; stable ${split.stable}%, canary ${split.canary}%`,
        `stable: ${c.app.name} ${c.app.stable.version} (${c.app.stable.image})`,
        c.canaryDiffers ? `canary: ${c.app.name} ${c.app.canary.version} (${c.app.canary.image})` : "canary: none (the canary is the stable version)",
        next !== undefined
            ? `next: ${next}: ${stageChangeSummary(c, next)}`
            : c.canaryDiffers
              ? "next: none; at 100, `promote` makes the canary the new stable"
              : `next: set ${s.project}:app.canary.image to start a rollout`,
        ...(live !== undefined ? liveLines(live, c.weight) : []),
    ];
    return { lines, json };
}

/** What `pulumi up` does after `retry`: the same weights, a new run of the stage's analysis. */
export function retrySummary(c: StackConfig): string {
    return `\`pulumi up\` keeps the weights (stable ${100 - c.weight}%, canary ${c.weight}%) and starts a new AnalysisRun for the stage (attempt ${c.analysis.attempt})`;
}

/** What `pulumi up` does after `next` or `rollback`: the new stage's weights. */
export const newStageSummary: ChangeSummary = (c) => stageChangeSummary(c, c.weight);

export interface EditJson {
    readonly stack: string;
    readonly file: string;
    readonly edits: { key: string; from: unknown; to: unknown }[];
    readonly change: string;
    /** `--dry-run`: the edits are what would be written; the file is unchanged. */
    readonly dryRun: boolean;
}

/** The edits written to the stack file (with `dryRun`, that would be) and what applying them changes. */
export function editReport(written: StackFile, edits: readonly Edit[], summarize: ChangeSummary, dryRun = false): Report<EditJson> {
    const change = summarize(written.config);
    const edited = edits.map((e) => `${dryRun ? "would write " : ""}${written.file}: ${describeEdit(written.project, e)}`);
    return {
        lines: [...edited, change, ...(dryRun ? ["dry run: nothing written, the stack file is unchanged"] : [])],
        json: { stack: written.stack, file: written.file, edits: edits.map((e) => ({ key: editKey(written.project, e), from: e.from ?? null, to: e.to })), change, dryRun },
    };
}

const countsLine = (t: TrackCounts) => `${t.requests} (${t.errors} 5xx)`;

export function judgementReport(j: Judgement): Report {
    const requests =
        j.canary && j.stable ? `requests: canary ${countsLine(j.canary)}, stable ${countsLine(j.stable)}` : "requests: unknown (nothing could be read from Prometheus)";
    // The reasons carry each test's evidence: ratios, intervals, LLR and the distance to each boundary.
    return {
        lines: [`decision: ${j.decision}`, requests, ...j.reasons.map((r) => `- ${r}`)],
        json: { decision: j.decision, reasons: j.reasons, canary: j.canary, stable: j.stable, evidence: j.evidence },
    };
}

/**
 * One line per look of `run`: the decision once, then how far each test has come and, for the tests a
 * PROMOTE waits for, the forecast's further canary requests to promote a healthy canary from where the
 * test stands (its own drift, the slower alternative where 1.5× is waited for: `requestsToPromote`).
 */
export function progressLine(at: Date, j: Judgement): string {
    const tests = testsOf(j);
    const more = new Map(forecastTests(j).map((f) => [f.name, Math.ceil(requestsToPromote(f))]));
    const toPromote = (name: string) => (more.has(name) ? `; ~${more.get(name)} more to promote a healthy one` : "; rolls back only");
    const detail =
        tests.length === 0
            ? j.reasons[0]
            : tests.map((t) => `${t.name} ${Math.round(100 * t.sprt.progress)}% toward ${t.sprt.llr >= 0 ? "rollback" : "promote"} (${t.canary.n} canary requests${toPromote(t.name)})`).join("; ");
    const waiting = (j.holds ?? []).filter((h) => h !== NOT_ENOUGH_EVIDENCE);
    return `${at.toISOString()} ${j.decision}: ${detail}${waiting.length > 0 && tests.length > 0 ? `; ${waiting.join("; ")}` : ""}`;
}
