/** prod runs only a canary version that dev has promoted (StackReference to dev's `promotedVersion`). */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { DEV_EVIDENCE, DEV_STACK, ofType, passedOn, promotedStage, PROD_CANARY_PR, PROMOTED_IMAGE, PROMOTED_PIN, runProgram, RunOptions, stackFileConfig, testDigest } from "./harness";

const REF = "pulumi:pulumi:StackReference";

/** Runs the program and collects what it logs as warnings. */
async function runCapturingWarnings(opts: RunOptions) {
    const warnings: string[] = [];
    const original = pulumi.log.warn;
    (pulumi.log as { warn: typeof pulumi.log.warn }).warn = async (msg: string) => {
        warnings.push(msg);
    };
    try {
        return { ...(await runProgram(opts)), warnings };
    } finally {
        (pulumi.log as { warn: typeof pulumi.log.warn }).warn = original;
    }
}

describe("promotion between stacks", () => {
    it("prod with the version dev promoted: verified, after reading dev's output", async () => {
        const { error, resources, outputs, warnings } = await runCapturingWarnings({ stack: "prod", config: { weight: 5 } });
        assert.ifError(error);
        assert.strictEqual(outputs.promotionCheck, "verified");
        assert.deepStrictEqual(ofType(resources, REF).map((r) => r.inputs.name).sort(), [DEV_STACK, "organization/canary/prod"]);
        assert.deepStrictEqual(warnings, []);
    });

    it("prod with a version dev has not promoted: fails before anything is created, naming both versions and the dev stack", async () => {
        const { error, resources } = await runProgram({ stack: "prod", config: { weight: 5 }, stackOutputs: { [DEV_STACK]: { promotedVersion: "6.7.1" } } });
        assert.strictEqual(error?.name, "ConfigError");
        assert.match(error?.message ?? "", /canary:app\.canary version 6\.8\.0 has not been promoted in organization\/canary\/dev \(it exports promotedVersion = 6\.7\.1\)/);
        assert.match(error?.message ?? "", /canary:promotion\.allowUnverified/);
        assert.deepStrictEqual(resources.map((r) => r.type), [REF, REF], "only the two stack reads");
    });

    it("a dev stack that exports nothing yet gates too", async () => {
        const { error } = await runProgram({ stack: "prod", stackOutputs: {} });
        assert.match(error?.message ?? "", /it exports promotedVersion = nothing/);
    });

    it("allowUnverified runs it, warns, and shows in the outputs (so in the preview)", async () => {
        const { error, outputs, warnings } = await runCapturingWarnings({
            stack: "prod",
            config: { weight: 5, promotion: { allowUnverified: true } },
            stackOutputs: { [DEV_STACK]: { promotedVersion: "6.7.1" } },
        });
        assert.ifError(error);
        assert.strictEqual(outputs.promotionCheck, "skipped (allowUnverified)");
        assert.strictEqual(warnings.length, 1);
        assert.match(warnings[0], /canary version 6\.8\.0 was not promoted in organization\/canary\/dev \(it promoted 6\.7\.1\)/);
    });

    it("reads the configured gating stack", async () => {
        const { error, resources } = await runProgram({
            stack: "prod",
            config: { promotion: { stack: "acme/canary/staging" } },
            stackOutputs: { "acme/canary/staging": { promotedVersion: "6.8.0", promotionEvidence: DEV_EVIDENCE } },
        });
        assert.ifError(error);
        assert.ok(ofType(resources, REF).some((r) => r.inputs.name === "acme/canary/staging"));
    });

    it("no gate without a canary (after promotion) and none in dev; dev exports what prod reads", async () => {
        const promoted = await runProgram({ stack: "prod", config: { app: { stable: { image: PROMOTED_PIN } } }, stackOutputs: {} });
        assert.ifError(promoted.error);
        assert.strictEqual(promoted.outputs.promotionCheck, "no canary");
        const dev = await runProgram({ stack: "dev" });
        assert.strictEqual(dev.outputs.promotionCheck, "not required");
        assert.deepStrictEqual(ofType(dev.resources, REF).map((r) => r.inputs.name), ["organization/canary/dev"], "dev reads only itself");
        assert.strictEqual(dev.outputs.promotedVersion, "6.7.1");
    });

    it("prod's first run: the shipped stack file runs stable only, with no dev stack to read and no previous stage", async () => {
        const { error, outputs, resources } = await runProgram({ stack: "prod", baseConfig: stackFileConfig("prod"), stackOutputs: {}, previous: null });
        assert.ifError(error);
        assert.deepStrictEqual([outputs.promotionCheck, outputs.stage, outputs.canaryVersion, outputs.stableVersion], ["no canary", 0, "6.7.1", "6.7.1"]);
        assert.ok(!ofType(resources, REF).some((r) => r.inputs.name === DEV_STACK), "nothing read from dev");
        // Adding the canary before dev promoted it is the refusal docs/promotion.md describes.
        const early = await runProgram({ stack: "prod", baseConfig: stackFileConfig("prod"), config: PROD_CANARY_PR, stackOutputs: {}, previous: null });
        assert.match(early.error?.message ?? "", /canary:app\.canary version 6\.8\.0 has not been promoted in organization\/canary\/dev \(it exports promotedVersion = nothing\)/);
    });

    it("a malformed gating stack name is a config error", async () => {
        const { error } = await runProgram({ stack: "prod", config: { promotion: { stack: "dev" } }, previous: null });
        assert.match(error?.message ?? "", /canary:promotion\.stack = "dev": must be a fully qualified stack name/);
    });
});

describe("promotion carries evidence: prod requires a PROMOTE at every compared stage of dev, on enough requests", () => {
    const withDev = (evidence: unknown) => ({ [DEV_STACK]: { promotedVersion: "6.8.0", promotionEvidence: evidence } });
    const customResources = (resources: { type: string; custom: boolean }[]) => resources.filter((r) => r.custom && r.type !== REF);

    it("refuses, before anything is registered, a version whose dev evidence lacks a stage, holds one, or has too few requests there, naming each", async () => {
        const { "50": _, ...twoStages } = DEV_EVIDENCE.stages;
        const cases: [unknown, RegExp][] = [
            [undefined, /without the evidence prod requires \(promotionEvidence\): no evidence for version 6\.8\.0/],
            [{ ...DEV_EVIDENCE, version: "6.7.1" }, /no evidence for version 6\.8\.0 \(the evidence is for 6\.7\.1\)/],
            [{ ...DEV_EVIDENCE, stages: twoStages }, /stage 50: not judged/],
            [{ ...DEV_EVIDENCE, stages: { ...DEV_EVIDENCE.stages, "25": promotedStage(300) } }, /stage 25: 300 canary requests, fewer than 1000/],
            [{ ...DEV_EVIDENCE, stages: { ...DEV_EVIDENCE.stages, "5": { ...promotedStage(4000), decision: "HOLD" } } }, /stage 5: HOLD, not PROMOTE/],
        ];
        for (const [evidence, message] of cases) {
            const { error, resources } = await runProgram({ stack: "prod", config: { weight: 5 }, stackOutputs: withDev(evidence) });
            assert.strictEqual(error?.name, "ConfigError");
            assert.match(error?.message ?? "", message);
            assert.match(error?.message ?? "", /canary:app\.canary version 6\.8\.0 was promoted in organization\/canary\/dev without the evidence/);
            assert.deepStrictEqual(customResources(resources), [], "nothing registered");
        }
    });

    it("canary:promotion.minCanaryRequests sets the bar; allowUnverified still overrides, visibly", async () => {
        const thin = { ...DEV_EVIDENCE, stages: { ...DEV_EVIDENCE.stages, "25": promotedStage(300) } };
        const lower = await runProgram({ stack: "prod", config: { weight: 5, promotion: { minCanaryRequests: 200 } }, stackOutputs: withDev(thin) });
        assert.ifError(lower.error);
        assert.strictEqual(lower.outputs.promotionCheck, "verified");
        const { error, outputs, warnings } = await runCapturingWarnings({ stack: "prod", config: { weight: 5, promotion: { allowUnverified: true } }, stackOutputs: withDev(thin) });
        assert.ifError(error);
        assert.strictEqual(outputs.promotionCheck, "skipped (allowUnverified)");
        assert.strictEqual(warnings.length, 1);
    });

    it("dev records each passed stage's evidence from its run, carries it stage to stage, and hands it on at promotion", async () => {
        const at5 = await runProgram({ stack: "dev", config: { weight: 5 }, previous: { stage: 0, canaryVersion: "6.8.0" }, analysisStatus: passedOn(2400) });
        assert.ifError(at5.error);
        assert.deepStrictEqual(at5.outputs.canaryEvidence, { version: "6.8.0", plan: [5, 25, 50, 100], stages: { "5": promotedStage(2400) } });
        const at25 = await runProgram({
            stack: "dev",
            config: { weight: 25 },
            previous: { stage: 5, canaryVersion: "6.8.0" },
            previousEvidence: { canaryEvidence: at5.outputs.canaryEvidence },
            analysisStatus: passedOn(3100),
        });
        assert.deepStrictEqual(Object.keys(at25.outputs.canaryEvidence.stages), ["5", "25"]);
        // Each stage's run carries in the evidence of the stages this version passed before it.
        const carryOf = (r: typeof at5) => ofType(r.resources, "kubernetes:argoproj.io/v1alpha1:AnalysisRun")[0].inputs.spec.args.find((a: { name: string }) => a.name === "carry").value;
        assert.strictEqual(carryOf(at5), "", "the first stage starts afresh");
        assert.strictEqual(carryOf(at25), "errors:-3.2000,latency:-3.1000");
        const at50 = await runProgram({ stack: "dev", config: { weight: 50 }, previous: { stage: 25, canaryVersion: "6.8.0" }, previousEvidence: { canaryEvidence: at25.outputs.canaryEvidence }, analysisStatus: passedOn(5200) });
        assert.strictEqual(carryOf(at50), "errors:-6.4000,latency:-6.2000");
        // Without this version's evidence for every stage before (a skipped stage, another version's), the stage starts afresh.
        const skipped = { ...at25.outputs.canaryEvidence, stages: { "25": promotedStage(3100) } };
        const afresh = await runProgram({ stack: "dev", config: { weight: 50 }, previous: { stage: 25, canaryVersion: "6.8.0" }, previousEvidence: { canaryEvidence: skipped }, analysisStatus: passedOn(5200) });
        assert.strictEqual(carryOf(afresh), "");
        // Evidence written before tests were keyed by name (a null LLR) carries what it has.
        const older = { ...at25.outputs.canaryEvidence, stages: { "5": { ...promotedStage(2400), llr: { errors: -3.2, latency: null } }, "25": promotedStage(3100) } };
        const fromOlder = await runProgram({ stack: "dev", config: { weight: 50 }, previous: { stage: 25, canaryVersion: "6.8.0" }, previousEvidence: { canaryEvidence: older }, analysisStatus: passedOn(5200) });
        assert.strictEqual(carryOf(fromOlder), "errors:-6.4000,latency:-3.1000");
        // A stage that did not pass writes nothing: the engine keeps the previous outputs.
        const failed = await runProgram({ stack: "dev", config: { weight: 50 }, previous: { stage: 25, canaryVersion: "6.8.0" }, analysisStatus: { phase: "Failed" } });
        assert.deepStrictEqual(failed.outputs, {});
        // Promotion: stable takes the canary; its evidence becomes the promoted version's.
        const promoted = await runProgram({
            stack: "dev",
            config: { weight: 0, app: { stable: { image: "ghcr.io/stefanprodan/podinfo:6.8.0" } } },
            previous: { stage: 100, canaryVersion: "6.8.0" },
            previousEvidence: { canaryEvidence: DEV_EVIDENCE },
        });
        assert.ifError(promoted.error);
        assert.deepStrictEqual([promoted.outputs.promotedVersion, promoted.outputs.promotionEvidence, promoted.outputs.canaryEvidence], ["6.8.0", DEV_EVIDENCE, undefined]);
        // A new canary starts its own evidence; the promoted version's stays.
        const next = await runProgram({
            stack: "dev",
            config: { weight: 5, app: { stable: { image: "ghcr.io/stefanprodan/podinfo:6.8.0" }, canary: { image: "ghcr.io/stefanprodan/podinfo:6.9.0" } } },
            previous: { stage: 0, canaryVersion: "6.8.0" },
            previousEvidence: { promotionEvidence: DEV_EVIDENCE },
            analysisStatus: passedOn(2000),
        });
        assert.ifError(next.error);
        assert.deepStrictEqual(next.outputs.canaryEvidence, { version: "6.9.0", plan: [5, 25, 50, 100], stages: { "5": promotedStage(2000) } });
        assert.deepStrictEqual(next.outputs.promotionEvidence, DEV_EVIDENCE);
    });
});

describe("promotion by digest: prod runs the very image dev promoted", () => {
    const OTHER = testDigest("e");
    const prodWith = (image: string, config: Record<string, unknown> = {}) => runProgram({ stack: "prod", config: { weight: 5, ...config, app: { canary: { image } } } });
    const customResources = (resources: { type: string; custom: boolean }[]) => resources.filter((r) => r.custom && r.type !== REF);

    it("the promoted tag from another repository is refused (the check compared version strings only)", async () => {
        const { error, resources } = await prodWith("docker.io/someone-else/not-podinfo:6.8.0");
        assert.strictEqual(error?.name, "ConfigError");
        assert.match(error?.message ?? "", /canary:app\.canary\.image = "docker\.io\/someone-else\/not-podinfo:6\.8\.0": must be pinned by digest in environment prod \(canary:pinnedImages is true\)/);
        assert.deepStrictEqual(customResources(resources), [], "nothing registered");
        // Where the config lets a tag through, the promotion check itself refuses it, naming both images.
        const lax = await prodWith("docker.io/someone-else/not-podinfo:6.8.0", { pinnedImages: false });
        assert.strictEqual(lax.error?.name, "ConfigError");
        assert.ok(
            lax.error?.message.startsWith(`canary:app.canary.image = docker.io/someone-else/not-podinfo:6.8.0 names no digest: organization/canary/dev promoted ${PROMOTED_IMAGE} (promotionEvidence.image), the image its stages judged. Set canary:app.canary.image to ghcr.io/stefanprodan/podinfo:6.8.0@${testDigest("d")}`),
            lax.error?.message,
        );
        assert.deepStrictEqual(customResources(lax.resources), []);
    });

    it("the promoted tag with another digest, or another repository with the promoted digest, is refused before anything is registered, naming both", async () => {
        const cases: [string, string][] = [
            [`ghcr.io/stefanprodan/podinfo:6.8.0@${OTHER}`, `is ghcr.io/stefanprodan/podinfo@${OTHER}, another digest: organization/canary/dev promoted ${PROMOTED_IMAGE}`],
            [`docker.io/someone-else/not-podinfo:6.8.0@${testDigest("d")}`, `is docker.io/someone-else/not-podinfo@${testDigest("d")}, another repository: organization/canary/dev promoted ${PROMOTED_IMAGE}`],
        ];
        for (const [image, why] of cases) {
            const { error, resources } = await prodWith(image);
            assert.strictEqual(error?.name, "ConfigError");
            assert.ok(error?.message.startsWith(`canary:app.canary.image = ${image} ${why} (promotionEvidence.image)`), error?.message);
            assert.match(error?.message ?? "", /or set canary:promotion\.allowUnverified to true/);
            assert.deepStrictEqual(customResources(resources), [], "nothing registered");
        }
        // The same bytes under the promoted repository pass whatever the tag beside the digest says.
        const relabelled = await runProgram({ stack: "prod", config: { weight: 5, app: { canary: { image: `ghcr.io/stefanprodan/podinfo@${testDigest("d")}`, version: "6.8.0" } } } });
        assert.ifError(relabelled.error);
        assert.strictEqual(relabelled.outputs.promotionCheck, "verified");
    });

    it("dev promoted by tag: its evidence names no digest, and prod refuses it, saying how to pin it in dev", async () => {
        const { image: _, ...byTag } = DEV_EVIDENCE;
        const { error, resources } = await runProgram({ stack: "prod", config: { weight: 5 }, stackOutputs: { [DEV_STACK]: { promotedVersion: "6.8.0", promotionEvidence: byTag } } });
        assert.strictEqual(error?.name, "ConfigError");
        assert.match(error?.message ?? "", /organization\/canary\/dev promoted version 6\.8\.0 by tag, and its promotionEvidence names no image digest/);
        assert.match(error?.message ?? "", /Pin the digest in organization\/canary\/dev: promote there with `rollout promote --prometheus URL`, which pins the tag to the digest its canary pods ran/);
        assert.match(error?.message ?? "", /or, promoted by tag already, set its canary:app\.stable\.image and canary:app\.canary\.image to <repository>:6\.8\.0@sha256:<that digest>/);
        assert.match(error?.message ?? "", /kube_pod_container_info image_id/);
        assert.deepStrictEqual(customResources(resources), []);
        // Another stack's output is data: a malformed image there names nothing.
        const forged = await runProgram({ stack: "prod", config: { weight: 5 }, stackOutputs: { [DEV_STACK]: { promotedVersion: "6.8.0", promotionEvidence: { ...DEV_EVIDENCE, image: "ghcr.io/stefanprodan/podinfo:6.8.0" } } } });
        assert.match(forged.error?.message ?? "", /names no image digest/);
    });

    it("dev's stages ran a tag and `rollout promote` pinned it to the digest the pods ran: the promotion names that digest, prod runs it and refuses another", async () => {
        const TAG = "ghcr.io/stefanprodan/podinfo:6.8.0";
        const { image: _, ...byTag } = DEV_EVIDENCE;
        // What `promote --prometheus` writes: both tracks as the tag pinned to the digest; the stack last ran the tag.
        const promote = (canaryImage: string, stable = PROMOTED_PIN) =>
            runProgram({
                stack: "dev",
                config: { weight: 0, app: { stable: { image: stable }, canary: { image: stable } } },
                previous: { stage: 100, canaryVersion: "6.8.0" },
                previousEvidence: { canaryEvidence: byTag },
                previousCanaryImage: canaryImage,
            });
        const promoted = await promote(TAG);
        assert.ifError(promoted.error);
        assert.deepStrictEqual([promoted.outputs.promotedVersion, promoted.outputs.promotionEvidence, promoted.outputs.canaryImage], ["6.8.0", { ...byTag, image: PROMOTED_IMAGE }, PROMOTED_PIN]);
        // The next run reads its own promotion back and keeps the digest.
        const again = await runProgram({
            stack: "dev",
            config: { weight: 0, app: { stable: { image: PROMOTED_PIN }, canary: { image: PROMOTED_PIN } } },
            previous: { stage: 0, canaryVersion: "6.8.0" },
            previousEvidence: { promotionEvidence: promoted.outputs.promotionEvidence },
            previousCanaryImage: PROMOTED_PIN,
        });
        assert.deepStrictEqual(again.outputs.promotionEvidence, promoted.outputs.promotionEvidence);
        // Promoted by tag earlier (`promote --unpinned`): the same two lines written by hand pin it the same way.
        const byHand = await runProgram({
            stack: "dev",
            config: { weight: 0, app: { stable: { image: PROMOTED_PIN }, canary: { image: PROMOTED_PIN } } },
            previous: { stage: 0, canaryVersion: "6.8.0" },
            previousEvidence: { promotionEvidence: byTag },
            previousCanaryImage: TAG,
        });
        assert.deepStrictEqual(byHand.outputs.promotionEvidence, { ...byTag, image: PROMOTED_IMAGE });
        // prod admits that digest, and refuses the tag with other bytes.
        const gate = { [DEV_STACK]: { promotedVersion: "6.8.0", promotionEvidence: promoted.outputs.promotionEvidence } };
        const same = await runProgram({ stack: "prod", config: { weight: 5, app: { canary: { image: PROMOTED_PIN } } }, stackOutputs: gate });
        assert.ifError(same.error);
        assert.strictEqual(same.outputs.promotionCheck, "verified");
        const other = await runProgram({ stack: "prod", config: { weight: 5, app: { canary: { image: `${TAG}@${OTHER}` } } }, stackOutputs: gate });
        assert.strictEqual(other.error?.name, "ConfigError");
        assert.ok(other.error?.message.startsWith(`canary:app.canary.image = ${TAG}@${OTHER} is ghcr.io/stefanprodan/podinfo@${OTHER}, another digest: organization/canary/dev promoted ${PROMOTED_IMAGE}`), other.error?.message);
        // A digest is recorded only for the repository and tag the stages ran: another repository's, another tag's, or a tag promoted as it is name none.
        for (const [ran, stable] of [
            ["docker.io/someone-else/podinfo:6.8.0", PROMOTED_PIN],
            ["ghcr.io/stefanprodan/podinfo:latest", PROMOTED_PIN],
            [TAG, TAG],
        ]) {
            const r = await promote(ran, stable);
            assert.ifError(r.error);
            assert.deepStrictEqual(r.outputs.promotionEvidence, byTag, `${ran} → ${stable}`);
        }
    });

    it("dev records the digest its pinned canary ran, stage by stage, and hands it on at promotion; a tag records none; new bytes start afresh", async () => {
        const pinned = { app: { canary: { image: PROMOTED_PIN } } };
        const at5 = await runProgram({ stack: "dev", config: { weight: 5, ...pinned }, previous: { stage: 0, canaryVersion: "6.8.0" }, analysisStatus: passedOn(2400) });
        assert.ifError(at5.error);
        assert.deepStrictEqual(at5.outputs.canaryEvidence, { version: "6.8.0", image: PROMOTED_IMAGE, plan: [5, 25, 50, 100], stages: { "5": promotedStage(2400) } });
        const at25 = await runProgram({ stack: "dev", config: { weight: 25, ...pinned }, previous: { stage: 5, canaryVersion: "6.8.0" }, previousEvidence: { canaryEvidence: at5.outputs.canaryEvidence }, analysisStatus: passedOn(3100) });
        assert.deepStrictEqual([at25.outputs.canaryEvidence.image, Object.keys(at25.outputs.canaryEvidence.stages)], [PROMOTED_IMAGE, ["5", "25"]]);
        // The tag in the shipped Pulumi.dev.yaml: evidence with the version only.
        const byTag = await runProgram({ stack: "dev", config: { weight: 5 }, previous: { stage: 0, canaryVersion: "6.8.0" }, analysisStatus: passedOn(2400) });
        assert.ok(!("image" in byTag.outputs.canaryEvidence), JSON.stringify(byTag.outputs.canaryEvidence));
        // Same version, other bytes (a digest pinned after stages ran on the tag, or another digest): the stages judged something else.
        for (const before of [byTag.outputs.canaryEvidence, { ...at5.outputs.canaryEvidence, image: `ghcr.io/stefanprodan/podinfo@${OTHER}` }]) {
            const again = await runProgram({ stack: "dev", config: { weight: 5, ...pinned }, previous: { stage: 5, canaryVersion: "6.8.0" }, previousEvidence: { canaryEvidence: before }, analysisStatus: passedOn(2000) });
            assert.deepStrictEqual(again.outputs.canaryEvidence, { version: "6.8.0", image: PROMOTED_IMAGE, plan: [5, 25, 50, 100], stages: { "5": promotedStage(2000) } });
        }
        const promoted = await runProgram({
            stack: "dev",
            config: { weight: 0, app: { stable: { image: PROMOTED_PIN }, canary: { image: PROMOTED_PIN } } },
            previous: { stage: 100, canaryVersion: "6.8.0" },
            previousEvidence: { canaryEvidence: DEV_EVIDENCE },
        });
        assert.ifError(promoted.error);
        assert.deepStrictEqual([promoted.outputs.promotedVersion, promoted.outputs.promotionEvidence.image], ["6.8.0", PROMOTED_IMAGE]);
    });
});
