/**
 * What the stack applied last, read from its own outputs through a StackReference to itself.
 * Reading it is a read of the stack's last checkpoint: nothing is created in the cluster or in AWS.
 */
import * as pulumi from "@pulumi/pulumi";
import type { VersionEvidence } from "../domain/evidence";
import { APPLIED_OUTPUTS, appliedStageOf, type AppliedStage } from "../domain/stages";

/** Output names the program exports and reads back on the next run. */
export const STAGE_OUTPUT = APPLIED_OUTPUTS.stage;
export const CANARY_VERSION_OUTPUT = APPLIED_OUTPUTS.canaryVersion;
/** The stack's entry into its stage (`stageEntry`), part of the stage's AnalysisRun name. */
export const STAGE_ENTRY_OUTPUT = APPLIED_OUTPUTS.entry;
/** The current canary's evidence, stage by stage; and the promoted version's, which another stack's gate reads. */
export const CANARY_EVIDENCE_OUTPUT = "canaryEvidence";
export const PROMOTION_EVIDENCE_OUTPUT = "promotionEvidence";
/** The canary image as the config named it: after a promotion, the tag the promoted version's stages ran (`pinnedEvidence`). */
export const CANARY_IMAGE_OUTPUT = "canaryImage";
/** The stage's AnalysisRun as the stack applied it: its name and its window's start (`since`), reused by a repeated `up` of the same run. */
export const STAGE_RUN_OUTPUT = "stageRun";
/** The gates a stack stands behind, nearest first, as far as it read them: how the next wave's gate sees a cycle of gates. */
export const PROMOTION_GATES_OUTPUT = "promotionGates";

/** A stage's AnalysisRun: its name and the RFC 3339 instant its window starts at. */
export interface StageRun {
    readonly name: string;
    readonly since: string;
}

/** What the stack's last successful `pulumi up` exported that the next one builds on. */
export interface Previous {
    /** The applied stage; undefined before the first successful `pulumi up`. */
    readonly applied?: AppliedStage;
    readonly canaryEvidence?: VersionEvidence;
    readonly promotionEvidence?: VersionEvidence;
    /** The canary image the stack ran last (`CANARY_IMAGE_OUTPUT`); undefined before the first run. */
    readonly canaryImage?: string;
    /** The stage's run the stack applied last (`STAGE_RUN_OUTPUT`); undefined at weight 0 or before the first run. */
    readonly stageRun?: StageRun;
    /** The gates the stack exported last (`PROMOTION_GATES_OUTPUT`); empty before its first `pulumi up`. */
    readonly gates: readonly string[];
}

/** The fully qualified name of the running stack. */
export function selfStackName(): string {
    return `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
}

/** The stack names in an output value: a list of strings, or nothing. */
export const stackNames = (v: unknown): string[] => (Array.isArray(v) ? v.filter((n): n is string => typeof n === "string") : []);

const asEvidence = (v: unknown): VersionEvidence | undefined => (typeof v === "object" && v !== null && typeof (v as VersionEvidence).version === "string" ? (v as VersionEvidence) : undefined);

/** A window's start as the run's `since` argument: an RFC 3339 UTC instant to the second, e.g. 2026-12-06T21:00:00Z. */
export function formatSince(d: Date): string {
    return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** A `stageRun` output as the program wrote it, or nothing: a value of any other shape is ignored, and the run starts a new window. */
export function asStageRun(v: unknown): StageRun | undefined {
    if (typeof v !== "object" || v === null) return undefined;
    const { name, since } = v as Record<string, unknown>;
    if (typeof name !== "string" || typeof since !== "string") return undefined;
    // Only what formatSince writes: a date that does not exist (02-30) would roll over.
    const at = new Date(since);
    return !Number.isNaN(at.getTime()) && formatSince(at) === since ? { name, since } : undefined;
}

/** The previous stage and evidence, read once through one reference to the stack itself. */
export async function readPrevious(): Promise<Previous> {
    const self = new pulumi.StackReference("applied-stage", { name: selfStackName() });
    const names = [STAGE_OUTPUT, CANARY_VERSION_OUTPUT, STAGE_ENTRY_OUTPUT, CANARY_EVIDENCE_OUTPUT, PROMOTION_EVIDENCE_OUTPUT, PROMOTION_GATES_OUTPUT, STAGE_RUN_OUTPUT, CANARY_IMAGE_OUTPUT];
    const [stage, version, entry, canaryEvidence, promotionEvidence, gates, stageRun, canaryImage] = await Promise.all(names.map((n) => self.getOutputDetails(n)));
    return {
        applied: appliedStageOf({ stage: stage.value, canaryVersion: version.value, entry: entry.value }),
        canaryEvidence: asEvidence(canaryEvidence.value),
        promotionEvidence: asEvidence(promotionEvidence.value),
        gates: stackNames(gates.value),
        stageRun: asStageRun(stageRun.value),
        canaryImage: typeof canaryImage.value === "string" ? canaryImage.value : undefined,
    };
}
