/**
 * Promotion between stacks: prod may only run a canary version that the dev stack has promoted
 * (its `promotedVersion` output), read through a StackReference.
 */
import * as pulumi from "@pulumi/pulumi";
import { missingEvidence, VersionEvidence } from "../domain/evidence";
import { ConfigError } from "./config";
import { PROMOTION_EVIDENCE_OUTPUT } from "./previous";
import type { StackConfig } from "./schema";

/** The output the gating stack exports: the version that finished its canary there. */
export const PROMOTED_OUTPUT = "promotedVersion";

export type PromotionResult = "verified" | "not required" | "no canary" | "skipped (allowUnverified)";

/** The gating stack's name: configured, or the dev stack of this project and organization. */
export function promotionStackName(cfg: StackConfig): string {
    return cfg.promotion.stack ?? `${pulumi.getOrganization()}/${pulumi.getProject()}/dev`;
}

/**
 * Pure: the verdict for a canary version against the gating stack's promoted version and its evidence:
 * a PROMOTE at every compared stage there, each on at least `canary:promotion.minCanaryRequests` canary
 * requests. Throws a ConfigError naming the stack, the versions and what is missing otherwise.
 */
export function judgePromotion(cfg: StackConfig, gate: string, promoted: string | undefined, evidence?: VersionEvidence): PromotionResult {
    if (!cfg.promotion.required) return "not required";
    if (!cfg.canaryDiffers) return "no canary";
    const canary = cfg.app.canary.version;
    const missing = promoted === canary ? missingEvidence(evidence, canary, cfg.promotion.minCanaryRequests) : [];
    if (promoted === canary && missing.length === 0) return "verified";
    if (cfg.promotion.allowUnverified) return "skipped (allowUnverified)";
    const why =
        promoted !== canary
            ? `has not been promoted in ${gate} (it exports ${PROMOTED_OUTPUT} = ${promoted ?? "nothing"})`
            : `was promoted in ${gate} without the evidence prod requires (${PROMOTION_EVIDENCE_OUTPUT}): ${missing.join("; ")}`;
    throw new ConfigError(
        `canary:app.canary version ${canary} ${why}. Promote ${canary} there through every stage first, or set canary:promotion.allowUnverified to true to run it anyway.`,
    );
}

/** Reads the gating stack's promoted version (only when the check applies) and judges the canary. */
export async function checkPromotion(cfg: StackConfig): Promise<PromotionResult> {
    if (!cfg.promotion.required || !cfg.canaryDiffers) return judgePromotion(cfg, "", undefined);
    const gate = promotionStackName(cfg);
    const ref = new pulumi.StackReference("promotion-gate", { name: gate });
    const [{ value }, evidence] = await Promise.all([ref.getOutputDetails(PROMOTED_OUTPUT), ref.getOutputDetails(PROMOTION_EVIDENCE_OUTPUT)]);
    const result = judgePromotion(cfg, gate, typeof value === "string" ? value : undefined, evidence.value as VersionEvidence | undefined);
    if (result === "skipped (allowUnverified)") {
        pulumi.log.warn(`canary version ${cfg.app.canary.version} was not promoted in ${gate} (it promoted ${value ?? "nothing"}); running it because canary:promotion.allowUnverified is true`);
    }
    return result;
}
