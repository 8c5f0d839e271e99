/**
 * Promotion between stacks: a stack with `canary:promotion.required` (prod, by default) may only run
 * a canary version that its gating stack has promoted (its `promotedVersion` output), on the gate's
 * own evidence, read through a StackReference. Gates chain into waves (dev → prod-us → prod-eu): each
 * stack is gated on the one before it, and the evidence the version was admitted on is carried on.
 * The gate's evidence names the image it judged by digest, and the canary must be that image: the
 * same repository and the same digest, not only a tag that reads like the version.
 */
import * as pulumi from "@pulumi/pulumi";
import { admittedOn, Judged, missingEvidence, VersionEvidence, WaveEvidence } from "../domain/evidence";
import { ConfigError } from "./config";
import { imageByDigest, parseImage, withDigest } from "./images";
import { PROMOTION_EVIDENCE_OUTPUT, PROMOTION_GATES_OUTPUT, selfStackName, stackNames } from "./previous";
import type { StackConfig } from "./schema";

/** The output the gating stack exports: the version that finished its canary there. */
export const PROMOTED_OUTPUT = "promotedVersion";

export type PromotionResult = "verified" | "not required" | "no canary" | "skipped (allowUnverified)";

/** How the stack's canary was admitted, and what it hands on. */
export interface Admission {
    readonly result: PromotionResult;
    /** The `promotionGates` output: the gate, then the gates behind it as last read (`knownGates`). */
    readonly gates: readonly string[];
    /** For a verified canary: the evidence chain it was admitted on, first wave first (`admittedOn`). */
    readonly upstream?: readonly WaveEvidence[];
}

/** The gating stack's name: configured, or the dev stack of this project and organization. */
export function promotionStackName(cfg: StackConfig): string {
    return cfg.promotion.stack ?? `${pulumi.getOrganization()}/${pulumi.getProject()}/dev`;
}

/**
 * Pure: why `gates` (this stack's gate first, then the gates behind it) cannot gate the stack `self`:
 * the gate is the stack itself, or the chain comes back to it, a cycle in which no stack could ever
 * promote a version first. Undefined when neither; the message names the key and its value.
 */
export function gateRefusal(cfg: StackConfig, self: string, gates: readonly string[]): string | undefined {
    const at = gates.indexOf(self);
    if (at === -1) return undefined;
    const value = cfg.promotion.stack === undefined ? `(not set: the default ${gates[0]})` : JSON.stringify(cfg.promotion.stack);
    const why =
        at === 0
            ? "is this stack itself; a stack is gated on the stack before it in its wave, e.g. <org>/canary/dev"
            : `closes a cycle, ${[self, ...gates.slice(0, at + 1)].join(" → ")} (each gated on the next, as each last exported ${PROMOTION_GATES_OUTPUT}), in which no stack could promote a version first; gate the first of them on a stack outside the cycle`;
    return `canary:promotion.stack = ${value}: ${why}`;
}

/** Pure: the refusal of a gate that is the stack itself, known from the config alone, before anything is read. */
export function selfGateRefusals(cfg: StackConfig, self: string): string[] {
    if (!cfg.promotion.required && cfg.promotion.stack === undefined) return [];
    return [gateRefusal(cfg, self, [promotionStackName(cfg)])].filter((r): r is string => r !== undefined);
}

/** Pure: the stack's canary as its evidence names it: the version, and the image by digest when the config pins one. */
export function judgedCanary(cfg: StackConfig): Judged {
    return { version: cfg.app.canary.version, image: imageByDigest(cfg.app.canary.image) };
}

/**
 * Pure: the promoted version's evidence, naming the digest its canary pods ran when its stages ran a tag.
 * A tag names no bytes, so such stages record no `image`; `rollout promote` then writes the stable image
 * as that repository and tag with the digest the canary's pods ran (read from kube-state-metrics, or
 * given with --digest), and the stable Deployment runs exactly those bytes. So when the stack's last
 * canary image (`ranAs`, its `canaryImage` output) is a tag and the stable image is the same repository
 * and tag plus a sha256 digest, the evidence names that digest: the stages judged that tag, and the
 * digest is what the tag was on their pods. Anything else leaves the evidence as it is.
 */
export function pinnedEvidence(e: VersionEvidence | undefined, ranAs: string | undefined, stableImage: string): VersionEvidence | undefined {
    const pinned = imageByDigest(stableImage);
    if (e === undefined || e.image !== undefined || ranAs === undefined || pinned === undefined) return e;
    const [ran, stable] = [parseImage(ranAs), parseImage(stableImage)];
    return ran.digest === undefined && ran.repository === stable.repository && ran.tag === stable.tag ? { ...e, image: pinned } : e;
}

/** The canary image with the gate's digest: the line to write, keeping the canary's tag as its label. */
function pinnedLike(canaryImage: string, promoted: string): string {
    const [repository, digest] = promoted.split("@");
    const { tag } = parseImage(canaryImage);
    return withDigest(tag !== undefined ? `${repository}:${tag}` : repository, digest);
}

/**
 * Pure: why the canary image is not the image the gate's evidence judged, or undefined when it is. The
 * comparison is by repository and digest (`imageByDigest`): a tag names whatever was pushed under it
 * last, and another repository's image is another image whatever its tag says.
 */
export function imageRefusal(cfg: StackConfig, gate: string, evidence: VersionEvidence): string | undefined {
    const image = cfg.app.canary.image;
    const mine = imageByDigest(image);
    // The gate's output is data from another stack: only a well-formed repository@sha256:<hex> names an image.
    const judged = typeof evidence.image === "string" && imageByDigest(evidence.image) === evidence.image ? evidence.image : undefined;
    if (judged === undefined) {
        return (
            `canary:app.canary.image = ${image}: ${gate} promoted version ${evidence.version} by tag, and its ${PROMOTION_EVIDENCE_OUTPUT} names no image digest, so nothing says which bytes its stages judged. ` +
            `Pin the digest in ${gate}: promote there with \`rollout promote --prometheus URL\`, which pins the tag to the digest its canary pods ran (kube-state-metrics' kube_pod_container_info image_id), ` +
            `or, promoted by tag already, set its canary:app.stable.image and canary:app.canary.image to <repository>:${evidence.version}@sha256:<that digest> (kubectl get pods -l track=canary -o jsonpath='{..imageID}' while the canary ran) and \`pulumi up\` it; ` +
            `then set this stack's canary:app.canary.image to the same image`
        );
    }
    if (mine === judged) return undefined;
    const what = mine === undefined ? "names no digest" : parseImage(mine).repository !== parseImage(judged).repository ? `is ${mine}, another repository` : `is ${mine}, another digest`;
    return `canary:app.canary.image = ${image} ${what}: ${gate} promoted ${judged} (${PROMOTION_EVIDENCE_OUTPUT}.image), the image its stages judged. Set canary:app.canary.image to ${pinnedLike(image, judged)}`;
}

/**
 * Pure: the verdict for a canary against the gating stack's promoted version and its evidence: a
 * PROMOTE at every compared stage there, each on at least `canary:promotion.minCanaryRequests` canary
 * requests, for the very image this stack runs (by digest). Throws a ConfigError naming the stack, the
 * versions or images and what is missing otherwise.
 */
export function judgePromotion(cfg: StackConfig, gate: string, promoted: string | undefined, evidence?: VersionEvidence): PromotionResult {
    if (!cfg.promotion.required) return "not required";
    if (!cfg.canaryDiffers) return "no canary";
    const canary = cfg.app.canary.version;
    const missing = promoted === canary ? missingEvidence(evidence, canary, cfg.promotion.minCanaryRequests) : [];
    const otherImage = promoted === canary && missing.length === 0 ? imageRefusal(cfg, gate, evidence as VersionEvidence) : undefined;
    if (promoted === canary && missing.length === 0 && otherImage === undefined) return "verified";
    if (cfg.promotion.allowUnverified) return "skipped (allowUnverified)";
    if (otherImage !== undefined) throw new ConfigError(`${otherImage}, or set canary:promotion.allowUnverified to true to run it anyway.`);
    const why =
        promoted !== canary
            ? `has not been promoted in ${gate} (it exports ${PROMOTED_OUTPUT} = ${promoted ?? "nothing"})`
            : `was promoted in ${gate} without the evidence prod requires (${PROMOTION_EVIDENCE_OUTPUT}): ${missing.join("; ")}`;
    throw new ConfigError(
        `canary:app.canary version ${canary} ${why}. Promote ${canary} there through every stage first, or set canary:promotion.allowUnverified to true to run it anyway.`,
    );
}

/**
 * Pure: the gates a stack stands behind when it does not read its gate in this run: the configured
 * gate, and behind it what the stack read last time, while that was read through the same gate.
 */
export function knownGates(cfg: StackConfig, previous: readonly string[]): string[] {
    if (!cfg.promotion.required) return [];
    const gate = promotionStackName(cfg);
    return previous[0] === gate ? [...previous] : [gate];
}

/**
 * Reads the gating stack (only when the check applies: a stack without a canary needs nothing from
 * it, so prod's first run works before dev exists), refuses a cycle of gates, and judges the canary.
 * `previousGates` is the stack's own last `promotionGates` output.
 */
export async function checkPromotion(cfg: StackConfig, previousGates: readonly string[]): Promise<Admission> {
    if (!cfg.promotion.required || !cfg.canaryDiffers) return { result: judgePromotion(cfg, "", undefined), gates: knownGates(cfg, previousGates) };
    const gate = promotionStackName(cfg);
    const ref = new pulumi.StackReference("promotion-gate", { name: gate });
    const [{ value }, evidence, behind] = await Promise.all([PROMOTED_OUTPUT, PROMOTION_EVIDENCE_OUTPUT, PROMOTION_GATES_OUTPUT].map((n) => ref.getOutputDetails(n)));
    const gates = [gate, ...stackNames(behind.value)];
    const cycle = gateRefusal(cfg, selfStackName(), gates);
    if (cycle) throw new ConfigError(cycle);
    const gateEvidence = evidence.value as VersionEvidence | undefined;
    const result = judgePromotion(cfg, gate, typeof value === "string" ? value : undefined, gateEvidence);
    if (result === "skipped (allowUnverified)") {
        const judged = gateEvidence?.image ? `, judged as ${gateEvidence.image}` : "";
        pulumi.log.warn(`canary version ${cfg.app.canary.version} was not promoted in ${gate} (it promoted ${value ?? "nothing"}${judged}) as the image ${cfg.app.canary.image}; running it because canary:promotion.allowUnverified is true`);
    }
    return { result, gates, upstream: result === "verified" && gateEvidence ? admittedOn(gate, gateEvidence) : undefined };
}
