/**
 * The stage model: a stage is the canary's share of weighted traffic, in percent.
 * Pure functions only; the program, the config validation and the `rollout` command share them.
 */

/** Default rollout stages, the canary weight of each `pulumi up` in turn. */
export const DEFAULT_STAGES: readonly number[] = [5, 25, 50, 100];

export interface TrafficSplit {
    readonly stable: number;
    readonly canary: number;
}

/** Stable gets what the canary does not, so the two always sum to 100. */
export function splitFor(weight: number): TrafficSplit {
    return { stable: 100 - weight, canary: weight };
}

/** The stage after `weight`, or undefined at the last stage. 0 (and any weight between stages) moves to the next larger stage. */
export function nextStage(weight: number, stages: readonly number[]): number | undefined {
    return stages.find((s) => s > weight);
}

/** What the stack last applied, read from its own outputs. */
export interface AppliedStage {
    readonly stage: number;
    readonly canaryVersion?: string;
    /** Which entry into a stage it was (`stageEntry`); undefined for a stack that applied it before entries were counted. */
    readonly entry?: number;
}

/**
 * The stack outputs an applied stage is read back from: by the program through a StackReference to
 * itself (stacks/previous.ts), by `rollout next` through `pulumi stack output` (rollout/apply.ts).
 */
export const APPLIED_OUTPUTS = { stage: "stage", canaryVersion: "canaryVersion", entry: "stageEntry" } as const;

/** The applied stage in those outputs' values, or undefined before the first successful `pulumi up` (no numeric `stage`). */
export function appliedStageOf(values: { readonly [K in keyof typeof APPLIED_OUTPUTS]?: unknown }): AppliedStage | undefined {
    const { stage, canaryVersion, entry } = values;
    if (typeof stage !== "number") return undefined;
    return { stage, canaryVersion: typeof canaryVersion === "string" ? canaryVersion : undefined, entry: typeof entry === "number" ? entry : undefined };
}

/**
 * Which entry into a stage this update is: the last applied one when the stack stays at that stage with
 * that version (a repeated `up`, or one after a failed run, which records nothing), the next one for
 * any move (a new stage, a new version, a rollback, and the same weight again after a rollback). So a
 * second try at a weight is told apart from the first, which the weight, version and attempt are not.
 */
export function stageEntry(applied: AppliedStage | undefined, weight: number, canaryVersion: string): number {
    const last = applied?.entry ?? 0;
    return applied !== undefined && applied.stage === weight && applied.canaryVersion === canaryVersion ? last : last + 1;
}

/**
 * The weights a stack may move to from what it last applied: stay, the next stage, or 0 (rollback).
 * A new canary version starts from 0 whatever the old one reached: its stages begin again.
 */
export function allowedWeights(previous: AppliedStage | undefined, canaryVersion: string, stages: readonly number[]): number[] {
    const from = previous && previous.canaryVersion === canaryVersion ? previous.stage : 0;
    const next = nextStage(from, stages);
    return [...new Set([0, from, ...(next === undefined ? [] : [next])])].sort((a, b) => a - b);
}

/**
 * Checks a stage move. Returns a message naming what was asked, what was applied and what is allowed,
 * or undefined when the move is allowed.
 */
export function checkTransition(
    previous: AppliedStage | undefined,
    weight: number,
    canaryVersion: string,
    stages: readonly number[],
    project = "canary",
): string | undefined {
    const allowed = allowedWeights(previous, canaryVersion, stages);
    if (allowed.includes(weight)) {
        return undefined;
    }
    const applied = previous
        ? `the stack last applied weight ${previous.stage} for canary version ${previous.canaryVersion ?? "(none)"}`
        : "the stack has not applied a stage yet";
    return (
        `${project}:weight = ${weight} skips a stage: ${applied}, so canary version ${canaryVersion} may move to ` +
        `${allowed.join(", ")} (0 is rollback). Set ${project}:allowStageSkip to true to skip on purpose.`
    );
}

/** The judge's looks in a stage's AnalysisRun: one per interval until the deadline (the metric's `count`), rounded up to a whole look. */
export const looksBeforeDeadline = (deadlineSeconds: number, intervalSeconds: number) => Math.ceil(deadlineSeconds / intervalSeconds);
