/**
 * A picture of a stage's decision: each test's evidence (its log-likelihood ratio) against its two
 * boundaries, look by look, the decision marked. Pure: from the judge's answers (a replay's looks, or
 * the answers a live run collected) to SVG text, with no dependency; every text escaped, the size
 * bounded (at most `MAX_POINTS` points per test, the last always kept).
 */
import { testsOf, type Decision, type Judgement } from "./decide";

/** One test at one look: the evidence as judged against the boundary it heads for, and the boundaries. */
export interface ChartTest {
    readonly name: string;
    readonly llr: number;
    /** Rollback at or above `upper` (ln(1/α)); promote at or below `lower` (ln β). */
    readonly upper: number;
    readonly lower: number;
}

export interface ChartPoint {
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
export function chartPoint(seconds: number, j: Judgement): ChartPoint {
    const tests = testsOf(j).map((t) => ({ name: t.name, llr: t.sprt.llr >= 0 ? t.sprt.rollbackLlr : t.sprt.promoteLlr, upper: t.sprt.boundaries.upper, lower: t.sprt.boundaries.lower }));
    return { seconds, decision: j.decision, tests };
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
        `<text x="${LEFT}" y="34" fill="${COLOURS[decision]}">${escapeXml(last ? `${decision} at ${clock(last.seconds)} (look ${points.length})` : "no looks")}</text>`,
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
