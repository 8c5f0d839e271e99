/**
 * Evidence that carries a version from one environment to the next: what the judge decided at each
 * stage, on how many requests, with which log-likelihood ratios and how much of the false-rollback
 * budget. Pure: the judge writes a stage's evidence into its answer, the program keeps it per version
 * from the stage's analysis results, and prod's gate reads it.
 */
import { testsOf, type Decision, type Judgement, type Llrs } from "./decide";
import { DNS_LABEL } from "./promql";
import { isPrototypeName } from "./ratios";

/** One stage's judgement, as the stage's analysis recorded it. */
export interface StageEvidence {
    readonly decision: Decision;
    readonly canaryRequests: number | null;
    readonly stableRequests: number | null;
    /**
     * Each test's log-likelihood ratio from this stage's own requests at the decision, by test name (the
     * tests that ran), and each second alternative's by its key (`errors~1.5`, `llrKey`).
     */
    readonly llr: Llrs;
    /** What each test carried in from the stages before (empty: the tests started at this stage). */
    readonly carried: Llrs;
    /** The false-rollback budget of the tests that judged this stage (`stageAlpha`). */
    readonly alpha: number;
}

/** What the judge answers for a gate to read: the evidence and the reasons, in one object. */
export interface GateAnswer extends StageEvidence {
    readonly reasons: readonly string[];
}

/**
 * Every alternative's evidence of a judgement, keyed as it is carried: the design's by the test's name,
 * a second alternative's by its `llrKey`. Each key's sum over the stages is that alternative's chain
 * likelihood ratio, the only kind the tests may go on from: the mixture is recomputed from the
 * summed components at every look, never carried itself, so it stays one fixed mixture of chains.
 */
function alternatives(j: Judgement): { key: string; stageLlr: number; carried: number }[] {
    return testsOf(j).flatMap((t) => [{ key: t.name, stageLlr: t.stageLlr, carried: t.carried }, ...(t.confirm ? [{ key: t.confirm.key, stageLlr: t.confirm.stageLlr, carried: t.confirm.carried }] : [])]);
}

export function gateAnswer(j: Judgement, alpha: number): GateAnswer {
    const all = alternatives(j);
    return {
        decision: j.decision,
        reasons: j.reasons,
        canaryRequests: j.canary?.requests ?? null,
        stableRequests: j.stable?.requests ?? null,
        llr: Object.fromEntries(all.map((a) => [a.key, a.stageLlr])),
        carried: Object.fromEntries(all.filter((a) => a.carried !== 0).map((a) => [a.key, a.carried])),
        alpha,
    };
}

/** One stack's own judgement of a version: the stages it rolled the version out through, and each judged stage's evidence, keyed by weight. */
export interface JudgedStages {
    readonly plan: readonly number[];
    readonly stages: Readonly<Record<string, StageEvidence>>;
}

/** An earlier wave's own judgement of the version, and the stack that made it. */
export interface WaveEvidence extends JudgedStages {
    readonly stack: string;
    /** The image that wave judged, by digest (`VersionEvidence.image`). */
    readonly image?: string;
}

/**
 * A version's evidence in one stack: its own stages, and, in a stack gated on another (a wave), the
 * earlier waves' own judgements it was admitted on, first wave first. Only the stack's own stages
 * count for the next wave's gate; the earlier waves' are carried so that every wave's verdicts stay
 * visible downstream.
 */
export interface VersionEvidence extends JudgedStages {
    readonly version: string;
    /**
     * The image the stages judged, by content: `repository@sha256:<64 hex>`, from the canary image the
     * stack's config pinned (the kubelet pulls that digest or nothing). Absent when the stack ran a tag:
     * the program cannot see which bytes a tag resolved to, so it claims none.
     */
    readonly image?: string;
    readonly upstream?: readonly WaveEvidence[];
}

/** The stages where canary and stable are compared: every one below 100 (at 100 stable gets no traffic). */
export function comparedStages(stages: readonly number[]): number[] {
    return stages.filter((s) => s < 100);
}

/** The compared stages a stage at `weight` comes after: those whose evidence it carries. */
const comparedBefore = (stages: readonly number[], weight: number) => comparedStages(stages).filter((s) => s < weight);

/**
 * What a version's evidence lacks for promotion: a PROMOTE at every compared stage, each on at least
 * `minCanaryRequests` canary requests. Empty when it has all of it.
 */
export function missingEvidence(e: VersionEvidence | undefined, version: string, minCanaryRequests: number): string[] {
    if (e === undefined || e.version !== version) return [`no evidence for version ${version}${e ? ` (the evidence is for ${e.version})` : ""}`];
    return comparedStages(e.plan).flatMap((stage) => {
        const s = e.stages[String(stage)];
        if (s === undefined) return [`stage ${stage}: not judged`];
        if (s.decision !== "PROMOTE") return [`stage ${stage}: ${s.decision}, not PROMOTE`];
        if ((s.canaryRequests ?? 0) < minCanaryRequests) return [`stage ${stage}: ${s.canaryRequests ?? 0} canary requests, fewer than ${minCanaryRequests}`];
        return [];
    });
}

/** The canary a stack runs, as evidence names it: its version, and its image by digest when pinned. */
export interface Judged {
    readonly version: string;
    readonly image?: string;
}

/**
 * The evidence recorded for this canary, or undefined for another: another version, or the same
 * version as other bytes (another digest, or a digest where the stages ran a tag), whose stages
 * judged something else and so start again.
 */
export function evidenceFor(previous: VersionEvidence | undefined, canary: Judged): VersionEvidence | undefined {
    return previous?.version === canary.version && previous.image === canary.image ? previous : undefined;
}

/** The evidence's name of the canary: the image only when there is a digest to name. */
const named = (c: Judged) => ({ version: c.version, ...(c.image !== undefined ? { image: c.image } : {}) });

/** A canary's evidence with one more stage (another canary starts empty); what it was admitted on stays. */
export function withStage(previous: VersionEvidence | undefined, canary: Judged, plan: readonly number[], weight: number, stage: StageEvidence): VersionEvidence {
    const same = evidenceFor(previous, canary);
    return { ...same, ...named(canary), plan, stages: { ...same?.stages, [String(weight)]: stage } };
}

/**
 * The evidence chain a gate hands on with a version it promoted: what the gate was admitted on, then
 * the gate's own judgement, first wave first.
 */
export function admittedOn(gate: string, e: VersionEvidence): WaveEvidence[] {
    return [...(e.upstream ?? []), { stack: gate, ...(e.image !== undefined ? { image: e.image } : {}), plan: e.plan, stages: e.stages }];
}

/** A canary's evidence recording the chain it was admitted on (another canary starts with no stages of its own). */
export function withUpstream(previous: VersionEvidence | undefined, canary: Judged, plan: readonly number[], upstream: readonly WaveEvidence[]): VersionEvidence {
    const same = evidenceFor(previous, canary);
    return { ...same, ...named(canary), plan, stages: same?.stages ?? {}, upstream };
}

/**
 * What a stage's tests carry in: each test's own log-likelihood ratios summed over the compared
 * stages before `weight`, when this version passed every one of them with a PROMOTE on record.
 * Undefined otherwise (the first stage, a new version, a stage skipped or passed without evidence):
 * the tests start afresh, with a fresh test's budget.
 */
export function carriedLlrs(e: VersionEvidence | undefined, version: string, stages: readonly number[], weight: number): Llrs | undefined {
    const before = comparedBefore(stages, weight);
    if (e?.version !== version || before.length === 0) return undefined;
    const passed = before.map((s) => e.stages[String(s)]);
    if (passed.some((s) => s?.decision !== "PROMOTE")) return undefined;
    return passed.reduce<Llrs>((sum, s) => sumLlrs(sum, s.llr), {});
}

/** Two sets of log-likelihood ratios added test by test (a value that is not a finite number, as in evidence recorded before tests were keyed by name, adds nothing). */
function sumLlrs(a: Llrs | undefined, b: Llrs): Llrs {
    const sums: Record<string, number> = { ...a };
    // Own keys only: `constructor` with no evidence yet starts from 0, not from Object's constructor.
    for (const [name, llr] of Object.entries(b)) if (Number.isFinite(llr)) sums[name] = (Object.hasOwn(sums, name) ? sums[name] : 0) + llr;
    return sums;
}

/** Why evidence cannot be carried into this stage (the first compared stage has none before it), or undefined. */
export function carryProblem(carried: Llrs | undefined, weight: number, stages: readonly number[]): string | undefined {
    return carried !== undefined && comparedBefore(stages, weight).length === 0 ? `the first stage (${weight}) has no stages before it to carry evidence from` : undefined;
}

/** Carried evidence as one URL-safe argument, `errors:-3.0512,errors~1.5:-1.2034,latency:-4.1003`; "" for none. */
export function formatLlrs(l: Llrs | undefined): string {
    return Object.entries(l ?? {})
        .map(([name, llr]) => `${name}:${llr.toFixed(4)}`)
        .join(",");
}

/** A test's name, or a test's name and an alternative's factor (`errors~1.5`). */
function isLlrKey(key: string): boolean {
    const [name, factor, ...rest] = key.split("~");
    return DNS_LABEL.test(name) && !isPrototypeName(name) && rest.length === 0 && (factor === undefined || (/^\d+(\.\d+)?$/.test(factor) && Number(factor) > 0));
}

/**
 * Reads `formatLlrs`' form; "" is nothing carried. Throws an Error naming the bad part: one that is
 * not `test:llr`, a test named like an Object.prototype member, or a test given twice (which of the
 * two would count is no one's guess).
 */
export function parseLlrs(raw: string): Llrs | undefined {
    if (raw === "") return undefined;
    const entries = raw.split(",").map((part) => {
        const [name, value, ...rest] = part.split(":");
        const llr = Number(value);
        if (!isLlrKey(name) || rest.length > 0 || value === undefined || value.trim() === "" || !Number.isFinite(llr)) {
            throw new Error(`${JSON.stringify(part)} is not test:llr or test~factor:llr with a test name other than constructor, e.g. errors:-3.05 or errors~1.5:-1.2`);
        }
        return [name, llr] as const;
    });
    const seen = new Set<string>();
    for (const [name] of entries) {
        if (seen.has(name)) throw new Error(`${JSON.stringify(name)} is given twice: each test's evidence once`);
        seen.add(name);
    }
    return Object.fromEntries(entries);
}
