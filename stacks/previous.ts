/**
 * What the stack applied last, read from its own outputs through a StackReference to itself.
 * Reading it is a read of the stack's last checkpoint: nothing is created in the cluster or in AWS.
 */
import * as pulumi from "@pulumi/pulumi";
import type { VersionEvidence } from "../domain/evidence";
import type { AppliedStage } from "../domain/stages";

/** Output names the program exports and reads back on the next run. */
export const STAGE_OUTPUT = "stage";
export const CANARY_VERSION_OUTPUT = "canaryVersion";
/** The stack's entry into its stage (`stageEntry`), part of the stage's AnalysisRun name. */
export const STAGE_ENTRY_OUTPUT = "stageEntry";
/** The current canary's evidence, stage by stage; and the promoted version's, which another stack's gate reads. */
export const CANARY_EVIDENCE_OUTPUT = "canaryEvidence";
export const PROMOTION_EVIDENCE_OUTPUT = "promotionEvidence";
/** The gates a stack stands behind, nearest first, as far as it read them: how the next wave's gate sees a cycle of gates. */
export const PROMOTION_GATES_OUTPUT = "promotionGates";

/** What the stack's last successful `pulumi up` exported that the next one builds on. */
export interface Previous {
    /** The applied stage; undefined before the first successful `pulumi up`. */
    readonly applied?: AppliedStage;
    readonly canaryEvidence?: VersionEvidence;
    readonly promotionEvidence?: VersionEvidence;
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

/** The previous stage and evidence, read once through one reference to the stack itself. */
export async function readPrevious(): Promise<Previous> {
    const self = new pulumi.StackReference("applied-stage", { name: selfStackName() });
    const names = [STAGE_OUTPUT, CANARY_VERSION_OUTPUT, STAGE_ENTRY_OUTPUT, CANARY_EVIDENCE_OUTPUT, PROMOTION_EVIDENCE_OUTPUT, PROMOTION_GATES_OUTPUT];
    const [stage, version, entry, canaryEvidence, promotionEvidence, gates] = await Promise.all(names.map((n) => self.getOutputDetails(n)));
    return {
        applied:
            typeof stage.value === "number"
                ? { stage: stage.value, canaryVersion: typeof version.value === "string" ? version.value : undefined, entry: typeof entry.value === "number" ? entry.value : undefined }
                : undefined,
        canaryEvidence: asEvidence(canaryEvidence.value),
        promotionEvidence: asEvidence(promotionEvidence.value),
        gates: stackNames(gates.value),
    };
}
