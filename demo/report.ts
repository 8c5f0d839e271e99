/** The demo's terminal report: a row per stage, the judge's reasons under it, each update's output and each judged stage's chart kept in a log dir. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runChart } from "./charts";
import type { Run } from "./engine";
import type { ServiceStack, StageResult } from "./lab";
import { describeSplit, split } from "./split";

export const out = (line = "") => process.stdout.write(`${line}\n`);

/** `update a, b; create c`: what a preview said the step changes, by operation. */
export function changeSummary(changed: readonly string[]): string {
    if (changed.length === 0) return "nothing";
    const byOp = new Map<string, string[]>();
    for (const c of changed) {
        const [op, name] = c.split(" ");
        byOp.set(op, [...(byOp.get(op) ?? []), name]);
    }
    // A first up creates dozens of objects: their count says enough.
    return [...byOp].map(([op, names]) => (names.length > 6 ? `${op} ${names.length} resources` : `${op} ${names.join(", ")}`)).join("; ");
}

/** The first lines of what the engine printed as the update's error: the program's own message. */
export function upError(up: Run): string {
    const lines = up.stdout.split("\n").map((l) => l.trim());
    const at = lines.findIndex((l) => /^error: /.test(l) && !/update failed|one or more errors/.test(l));
    return at < 0 ? `pulumi up exited ${up.status}` : lines[at].replace(/^error: /, "");
}

/** How much of what a step changed a row shows (the whole list is in the step's log). */
const CHANGED_WIDTH = 61;
/** How much of a judge's reason a row shows. */
const REASON_WIDTH = 130;

/** `text`, cut to `width` characters with an ellipsis. */
export function fit(text: string, width: number): string {
    return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

export const seconds = (s: number | undefined) => (s === undefined ? "-" : `${s.toFixed(0)} s`);
export const count = (n: number | null | undefined) => (n === undefined || n === null ? "-" : n.toLocaleString("en-US"));

/** The titles of the columns that differ between the demo (`pulumi up`) and `npm run try` (`rollout run`). */
export interface Columns {
    /** What the step changed. */
    readonly changed: string;
    /** The step's time. */
    readonly last: string;
}

export class Report {
    private readonly logs: string;
    private n = 0;

    constructor(private readonly columns: Columns = { changed: "pulumi up changed", last: "up" }) {
        this.logs = fs.mkdtempSync(path.join(os.tmpdir(), "canary-demo-"));
    }

    /** The table's header row. */
    header(): void {
        out(`${"stage".padEnd(14)}${this.columns.changed.padEnd(CHANGED_WIDTH + 1)}${"gate".padEnd(8)}${"judge".padEnd(10)}${"canary req".padEnd(12)}${this.columns.last}`);
    }

    get dir(): string {
        return this.logs;
    }

    /**
     * A row for a stage, its judge's reasons under it, and the update's output kept in the logs; with
     * `chart` (a file name without its .svg, e.g. stage-05), the chart of the run's live answers too,
     * its path printed under the row.
     */
    stage(name: string, s: Pick<StageResult, "changed" | "up" | "run" | "answer" | "gateSeconds">, chart?: string): void {
        out(`${name.padEnd(14)}${fit(changeSummary(s.changed), CHANGED_WIDTH).padEnd(CHANGED_WIDTH + 1)}${seconds(s.gateSeconds).padEnd(8)}${(s.answer?.decision ?? "-").padEnd(10)}${count(s.answer?.canaryRequests).padEnd(12)}${seconds(s.up.seconds)}`);
        // The reasons' first words in the table (a line each, cut to fit a terminal); whole in the logs.
        for (const reason of s.answer?.reasons.slice(0, 3) ?? []) out(`${"".padEnd(14)}judge: ${fit(reason, REASON_WIDTH)}`);
        if (s.up.status !== 0) out(`${"".padEnd(14)}pulumi up failed: ${fit(upError(s.up), REASON_WIDTH)}`);
        this.n++;
        const file = `${String(this.n).padStart(2, "0")}-${name.replace(/[^A-Za-z0-9.]+/g, "-")}.txt`;
        fs.writeFileSync(path.join(this.logs, file), `${s.up.stdout}\n${s.up.stderr}\n${s.answer ? `the judge's answer:\n${JSON.stringify(s.answer, null, 2)}\n` : ""}`);
        const svg = chart !== undefined && s.run ? runChart(s.run) : undefined;
        if (svg !== undefined) {
            const at = path.join(this.logs, `${chart}.svg`);
            fs.writeFileSync(at, svg);
            out(`${"".padEnd(14)}chart: ${at}`);
        }
    }

    /**
     * Under a stage's row: the split the Gateway made after the route moved, against the weight, and the
     * judge's first forecast of the gate's time against the time it took. Returns whether the split was
     * within its bound (true where there is nothing to hold: weight 0, no requests).
     */
    traffic(s: Pick<StageResult, "served" | "forecast" | "gateSeconds">, weight: number, canaryVersion: string): boolean {
        const sp = split(s.served, canaryVersion, weight);
        const routerAnswers = [...s.served].filter(([k]) => k.startsWith("status ")).map(([k, n]) => `${n} × ${k}`);
        if (sp.total > 0) this.note(`gateway: ${describeSplit(sp, weight)}${routerAnswers.length > 0 ? `; the router itself answered ${routerAnswers.join(", ")}` : ""}`);
        if (s.forecast) this.note(`forecast at ${seconds(s.forecast.atSeconds)}: a decision at ${seconds(s.forecast.totalSeconds)}; it took ${seconds(s.gateSeconds)}`);
        return sp.total === 0 || sp.withinBound;
    }

    /**
     * Under a stage's row: what the canary header's requests through the Gateway got (`ServiceStack.headerAnswers`).
     * Returns whether every one was answered by `canaryVersion`.
     */
    async canaryHeader(stack: Pick<ServiceStack, "headerAnswers">, canaryVersion: string): Promise<boolean> {
        const answers = await stack.headerAnswers();
        const total = [...answers.values()].reduce((a, b) => a + b, 0);
        const held = total > 0 && answers.get(canaryVersion) === total;
        this.note(`canary header: ${[...answers].map(([v, n]) => `${n}/${total} answered by ${v}`).join(", ")}${held ? "" : `, not all by ${canaryVersion}`}`);
        return held;
    }

    note(line: string): void {
        out(`${"".padEnd(14)}${line}`);
    }
}

