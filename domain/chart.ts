/**
 * A picture of a stage's decision: each test's evidence (its log-likelihood ratio) against its two
 * boundaries, look by look, the decision marked. Pure: from the judge's judgements (a replay's looks,
 * `chartPoint`) or the answers a live run kept (the AnalysisRun's measurements, `answerPoint`) to SVG
 * text, with no dependency; every text escaped, the size bounded (at most `MAX_POINTS` points per
 * test, the last always kept).
 */
import { confirmRequired, DEFAULT_POLICY, llrKey, stageBetaOf, testAlphas, testsOf, testSides, type Decision, type DecisionPolicy, type Judgement, type StageContext } from "./decide";
import type { GateAnswer } from "./evidence";
import { anytimeBoundaries, sprt, type SprtResult } from "./stats";

/** One test at one look: the evidence as judged against the boundary it heads for, and the boundaries. */
export interface ChartTest {
    readonly name: string;
    readonly llr: number;
    /** Rollback at or above `upper` (ln(1/α)); promote at or below `lower` (ln β). */
    readonly upper: number;
    readonly lower: number;
}

export interface ChartPoint {
    /** The look's number in the run, from 1 (the run's measurement). */
    readonly look: number;
    /** Seconds since the stage's window started. */
    readonly seconds: number;
    readonly decision: Decision;
    readonly tests: readonly ChartTest[];
}

/** Points per test drawn at most: a stage of 3,000 looks stays a file of some hundred kilobytes. */
export const MAX_POINTS = 600;
/** Tests drawn at most: errors, latency, tail and 8 ratio metrics. */
const MAX_TESTS = 11;

/**
 * A look's tests as the chart draws them: the rollback side's LLR (the errors test's mixture) while it
 * is at or above 0, the promote side's (the slowest alternative a PROMOTE waits for) below, as the
 * judge compares them (`sprt` in domain/stats.ts) and as `progress` measures them.
 */
export function chartPoint(look: number, seconds: number, j: Judgement): ChartPoint {
    return { look, seconds, decision: j.decision, tests: testsOf(j).map((t) => chartTest(t.name, t.sprt)) };
}

const chartTest = (name: string, s: SprtResult): ChartTest => ({ name, llr: s.llr >= 0 ? s.rollbackLlr : s.promoteLlr, upper: s.boundaries.upper, lower: s.boundaries.lower });

/** The stage a live answer judged, as its run asked: the weight and stages (the judge's URL) and how many ratio metrics the stack names. */
export interface AnsweredStage extends Pick<StageContext, "weight" | "stages"> {
    readonly ratioCount: number;
}

/**
 * A look's point from the judge's answer as an AnalysisRun keeps it (`gateAnswer`: each alternative's
 * LLR from this stage's requests and what it carried in, the stage's α; no boundaries, no mixture).
 * The rest is derived as `judge` derives it, by its own functions: each test's part of α
 * (`testAlphas`), the stage's β (`stageBetaOf`), the errors test's mixture with its 1.5× alternative
 * and the sides a PROMOTE waits for (`testSides`). Tests are the answer's keys without an
 * alternative's `~factor`, in the answer's order (the judge's: errors, latency, tail, ratios).
 */
export function answerPoint(look: number, seconds: number, a: GateAnswer, stage: AnsweredStage, policy: DecisionPolicy = DEFAULT_POLICY): ChartPoint {
    const alphas = testAlphas(policy, a.alpha, stage.ratioCount);
    const beta = stageBetaOf(policy, stage);
    const total = (key: string) => (Object.hasOwn(a.llr, key) ? a.llr[key] : 0) + (Object.hasOwn(a.carried, key) ? a.carried[key] : 0);
    const confirmKey = llrKey("errors", policy.confirmFactor);
    const tests = Object.keys(a.llr)
        .filter((key) => !key.includes("~"))
        .map((name) => {
            const alpha = name === "errors" ? alphas.errors : name === "latency" ? alphas.latency : name === "tail" ? alphas.tail : alphas.ratio;
            const confirm = name === "errors" && Object.hasOwn(a.llr, confirmKey) ? { weight: policy.confirmWeight, llr: total(confirmKey), required: confirmRequired(stage) } : undefined;
            return chartTest(name, sprt(total(name), anytimeBoundaries(alpha, beta), testSides(total(name), confirm)));
        });
    return { look, seconds, decision: a.decision, tests };
}

export const escapeXml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c] as string);

const WIDTH = 760;
const PANEL = 120;
const LEFT = 56;
const RIGHT = 150;
const TOP = 44;
const GAP = 26;
const COLOURS = { ROLLBACK: "#c62828", PROMOTE: "#2e7d32", HOLD: "#6d6d6d" } as const;
const fmt = (n: number) => (Number.isFinite(n) ? Number(n.toFixed(1)).toString() : "0");
const clock = (s: number) => (s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s` : `${Math.round(s)}s`);

/** Every n-th point and the last, so that at most `MAX_POINTS` remain. */
function thinned<T>(xs: readonly T[]): T[] {
    const every = Math.ceil(xs.length / MAX_POINTS);
    return xs.filter((_, i) => i % every === 0 || i === xs.length - 1);
}

/**
 * The chart of a stage: a panel per test (as the last look names them), its LLR over time between its
 * rollback boundary (red, dashed) and promote boundary (green, dashed), and the decision at the last
 * look marked across the panels. `title` and the decision line are the only free text.
 */
export function evidenceSvg(title: string, points: readonly ChartPoint[]): string {
    const last = points.at(-1);
    const names = [...new Set(points.flatMap((p) => p.tests.map((t) => t.name)))].slice(0, MAX_TESTS);
    const span = Math.max(1, last?.seconds ?? 1);
    const plotWidth = WIDTH - LEFT - RIGHT;
    const x = (s: number) => LEFT + (plotWidth * Math.max(0, s)) / span;
    const height = TOP + Math.max(1, names.length) * (PANEL + GAP) + 20;
    const decision = last?.decision ?? "HOLD";
    const out: string[] = [
        `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
        `<title>${escapeXml(title)}</title>`,
        `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
        `<text x="${LEFT}" y="18" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
        `<text x="${LEFT}" y="34" fill="${COLOURS[decision]}">${escapeXml(last ? `${decision} at ${clock(last.seconds)} (look ${last.look})${points[0].look > 1 ? `; looks ${points[0].look} to ${last.look} drawn` : ""}` : "no looks")}</text>`,
    ];
    if (names.length === 0) out.push(`<text x="${LEFT}" y="${TOP + 40}">no test ran: no canary requests, or too few stable ones, at any look</text>`);
    names.forEach((name, i) => {
        const top = TOP + i * (PANEL + GAP) + 10;
        const series = thinned(points.flatMap((p) => p.tests.filter((t) => t.name === name).map((t) => ({ seconds: p.seconds, ...t }))));
        const at = series.at(-1) as (typeof series)[number];
        const hi = Math.max(at.upper, ...series.map((t) => t.llr)) * 1.1;
        const lo = Math.min(at.lower, ...series.map((t) => t.llr)) * 1.1;
        const y = (v: number) => top + (PANEL * (hi - v)) / (hi - lo || 1);
        out.push(
            `<g>`,
            `<text x="${LEFT}" y="${top - 4}" font-weight="bold">${escapeXml(name)}</text>`,
            `<rect x="${LEFT}" y="${top}" width="${plotWidth}" height="${PANEL}" fill="none" stroke="#bbbbbb"/>`,
            `<line x1="${LEFT}" x2="${LEFT + plotWidth}" y1="${fmt(y(0))}" y2="${fmt(y(0))}" stroke="#dddddd"/>`,
            `<line x1="${LEFT}" x2="${LEFT + plotWidth}" y1="${fmt(y(at.upper))}" y2="${fmt(y(at.upper))}" stroke="${COLOURS.ROLLBACK}" stroke-dasharray="6 4"/>`,
            `<text x="${LEFT + plotWidth + 6}" y="${fmt(y(at.upper) + 4)}" fill="${COLOURS.ROLLBACK}">rollback ${at.upper.toFixed(2)}</text>`,
            `<line x1="${LEFT}" x2="${LEFT + plotWidth}" y1="${fmt(y(at.lower))}" y2="${fmt(y(at.lower))}" stroke="${COLOURS.PROMOTE}" stroke-dasharray="6 4"/>`,
            `<text x="${LEFT + plotWidth + 6}" y="${fmt(y(at.lower) + 4)}" fill="${COLOURS.PROMOTE}">promote ${at.lower.toFixed(2)}</text>`,
            `<text x="${LEFT - 6}" y="${fmt(y(0) + 4)}" text-anchor="end">0</text>`,
            `<polyline fill="none" stroke="#1565c0" stroke-width="2" points="${series.map((t) => `${fmt(x(t.seconds))},${fmt(y(t.llr))}`).join(" ")}"/>`,
            `<circle cx="${fmt(x(at.seconds))}" cy="${fmt(y(at.llr))}" r="3" fill="#1565c0"/>`,
            `<text x="${fmt(x(at.seconds) - 4)}" y="${fmt(y(at.llr) - 6)}" text-anchor="end">LLR ${at.llr.toFixed(2)}</text>`,
            `</g>`,
        );
    });
    if (last && names.length > 0) {
        const bottom = TOP + names.length * (PANEL + GAP);
        out.push(
            `<line x1="${fmt(x(last.seconds))}" x2="${fmt(x(last.seconds))}" y1="${TOP}" y2="${bottom}" stroke="${COLOURS[decision]}" stroke-width="2"/>`,
            `<text x="${LEFT}" y="${bottom + 8}">0s</text>`,
            `<text x="${LEFT + plotWidth}" y="${bottom + 8}" text-anchor="end">${clock(span)}</text>`,
        );
    }
    out.push(`</svg>`);
    return `${out.join("\n")}\n`;
}
