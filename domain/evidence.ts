/**
 * Evidence that carries a version from one environment to the next: what the judge decided at each
 * stage, on how many requests, with which log-likelihood ratios and how much of the false-rollback
 * budget. Pure: the judge writes a stage's evidence into its answer, the program keeps it per version
 * from the stage's analysis results, and prod's gate reads it.
 */
import type { Decision, Judgement } from "./decide";

/** One stage's judgement, as the stage's analysis recorded it. */
export interface StageEvidence {
    readonly decision: Decision;
    readonly canaryRequests: number | null;
    readonly stableRequests: number | null;
    /** Each test's log-likelihood ratio at the decision (the tail test's when it ran). */
    readonly llr: { readonly errors: number | null; readonly latency: number | null; readonly tail?: number };
    /** The share of the false-rollback budget this stage spent. */
    readonly alpha: number;
}

/** What the judge answers for a gate to read: the evidence and the reasons, in one object. */
export interface GateAnswer extends StageEvidence {
    readonly reasons: readonly string[];
}

export function gateAnswer(j: Judgement, alpha: number): GateAnswer {
    return {
        decision: j.decision,
        reasons: j.reasons,
        canaryRequests: j.canary?.requests ?? null,
        stableRequests: j.stable?.requests ?? null,
        llr: { errors: j.evidence.errors?.sprt.llr ?? null, latency: j.evidence.latency?.sprt.llr ?? null, ...(j.evidence.tail ? { tail: j.evidence.tail.sprt.llr } : {}) },
        alpha,
    };
}

/** A version's evidence: the stages it is rolled out through, and each judged stage's evidence, keyed by weight. */
export interface VersionEvidence {
    readonly version: string;
    readonly plan: readonly number[];
    readonly stages: Readonly<Record<string, StageEvidence>>;
}

/** The stages where canary and stable are compared: every one below 100 (at 100 stable gets no traffic). */
export function comparedStages(stages: readonly number[]): number[] {
    return stages.filter((s) => s < 100);
}

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

/** A version's evidence with one more stage (a new version starts empty). */
export function withStage(previous: VersionEvidence | undefined, version: string, plan: readonly number[], weight: number, stage: StageEvidence): VersionEvidence {
    const stages = previous?.version === version ? previous.stages : {};
    return { version, plan, stages: { ...stages, [String(weight)]: stage } };
}
