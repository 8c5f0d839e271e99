/**
 * A stage's chart from its AnalysisRun: the judge's live answers as Argo Rollouts kept them in the
 * run's measurements, each drawn against its boundaries (domain/chart.ts, `answerPoint`). The demo
 * writes one per judged stage into its logs; the cluster lane reads the live decision from the same
 * answers to compare a replay with it.
 *
 * Argo Rollouts v1.8.0 keeps a metric's last 10 measurements (analysis/analysis.go,
 * DefaultMeasurementHistoryLimit; the run sets no measurementRetention), Error ones included, and
 * counts the others in `count`: so the last kept answer is look `count`, and a stage of more looks
 * shows its last ones only (the chart says which).
 */
import { answerPoint, AnsweredStage, evidenceSvg } from "../domain/chart";
import type { GateAnswer } from "../domain/evidence";

/** The parts of an AnalysisRun (argoproj.io/v1alpha1) a chart reads: the run's arguments, the judge metric's URL, its measurements. */
export interface RunParts {
    readonly metadata: { readonly name: string; readonly namespace?: string };
    readonly spec?: {
        readonly args?: readonly { readonly name: string; readonly value?: string }[];
        readonly metrics?: readonly { readonly name: string; readonly provider?: { readonly web?: { readonly url?: string } } }[];
    };
    readonly status?: {
        readonly metricResults?: readonly {
            readonly name: string;
            readonly count?: number;
            readonly measurements?: readonly { readonly phase: string; readonly value?: string; readonly startedAt?: string; readonly finishedAt?: string }[];
        }[];
    };
}

/** One answer the run kept: its look's number in the run, when it was asked, and the answer. */
export interface MeasuredAnswer {
    readonly look: number;
    /** Seconds from the window's start (the run's `since`) to the measurement's start, as Kubernetes records it: whole seconds. */
    readonly seconds: number;
    readonly answer: GateAnswer;
}

export interface RunAnswers {
    readonly name: string;
    /** The window's start, the run's `since` argument. */
    readonly since: string;
    /** The evidence the run carried in, its `carry` argument (`formatLlrs`; "" for none). */
    readonly carry: string;
    readonly stage: AnsweredStage;
    readonly answers: readonly MeasuredAnswer[];
}

/** The measurement phases Argo counts in `count` (Error is not: analysis/analysis.go v1.8.0, assessMetricStatus). */
const COUNTED = ["Successful", "Failed", "Inconclusive"];

function answerOf(value: string | undefined): GateAnswer | undefined {
    if (value === undefined) return undefined;
    try {
        const a = JSON.parse(value);
        return typeof a?.decision === "string" && typeof a.llr === "object" && a.llr !== null && typeof a.alpha === "number" ? { ...a, carried: a.carried ?? {} } : undefined;
    } catch {
        return undefined;
    }
}

/**
 * The judge's answers a run kept, with its stage as it asked (weight and carry from its arguments,
 * stages and ratio metrics from the judge's URL: components/delivery/analysis.ts, `judgeUrl`), or
 * undefined for a run that is not a stage's judge run.
 */
export function runAnswers(object: { readonly metadata: { readonly name: string } }): RunAnswers | undefined {
    // The run as the API server returned it (the lab's AnalysisRunObject names only what its own checks read).
    const run = object as RunParts;
    const arg = (name: string) => run.spec?.args?.find((a) => a.name === name)?.value;
    const since = arg("since");
    const weight = Number(arg("weight"));
    const url = run.spec?.metrics?.find((m) => m.name === "judge")?.provider?.web?.url;
    const result = run.status?.metricResults?.find((m) => m.name === "judge");
    if (since === undefined || Number.isNaN(Date.parse(since)) || !Number.isInteger(weight) || url === undefined || result === undefined) return undefined;
    const query = new URL(url).searchParams;
    const stages = (query.get("stages") ?? "").split(",").map(Number);
    const counted = (result.measurements ?? []).filter((m) => COUNTED.includes(m.phase));
    const answers = counted.flatMap((m, i): MeasuredAnswer[] => {
        const answer = answerOf(m.value);
        const at = m.startedAt ?? m.finishedAt;
        // The last counted measurement is look `count`: the ones before it count down from there.
        const look = (result.count ?? counted.length) - (counted.length - 1 - i);
        return answer && at ? [{ look, seconds: (Date.parse(at) - Date.parse(since)) / 1000, answer }] : [];
    });
    return { name: run.metadata.name, since, carry: arg("carry") ?? "", stage: { weight, stages, ratioCount: query.getAll("ratio").length }, answers };
}

/** The chart of a run's live answers (SVG), or undefined when the run kept none. */
export function runChart(run: { readonly metadata: { readonly name: string; readonly namespace?: string } }): string | undefined {
    const r = runAnswers(run);
    if (r === undefined || r.answers.length === 0) return undefined;
    const title = `${run.metadata.namespace ?? ""}${run.metadata.namespace ? "/" : ""}${r.name} at weight ${r.stage.weight}: the judge's live answers, from ${r.since}`;
    return evidenceSvg(title, r.answers.map((m) => answerPoint(m.look, m.seconds, m.answer, r.stage)));
}

/** A stage's chart's name in the demo's logs: `stage-05`, `faulty-05`, `stage-100` (two digits at least, so they sort by weight). */
export const chartName = (kind: "stage" | "faulty" | "crash", weight: number) => `${kind}-${String(weight).padStart(2, "0")}`;
