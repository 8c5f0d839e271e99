/** prod runs only a canary version that dev has promoted (StackReference to dev's `promotedVersion`). */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { DEV_STACK, ofType, PROD_CANARY_PR, runProgram, RunOptions, stackFileConfig } from "./harness";

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
            stackOutputs: { "acme/canary/staging": { promotedVersion: "6.8.0" } },
        });
        assert.ifError(error);
        assert.ok(ofType(resources, REF).some((r) => r.inputs.name === "acme/canary/staging"));
    });

    it("no gate without a canary (after promotion) and none in dev; dev exports what prod reads", async () => {
        const promoted = await runProgram({ stack: "prod", config: { app: { stable: { image: "ghcr.io/stefanprodan/podinfo:6.8.0" } } }, stackOutputs: {} });
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
        // Adding the canary before dev promoted it is the refusal the README describes.
        const early = await runProgram({ stack: "prod", baseConfig: stackFileConfig("prod"), config: PROD_CANARY_PR, stackOutputs: {}, previous: null });
        assert.match(early.error?.message ?? "", /canary:app\.canary version 6\.8\.0 has not been promoted in organization\/canary\/dev \(it exports promotedVersion = nothing\)/);
    });

    it("a malformed gating stack name is a config error", async () => {
        const { error } = await runProgram({ stack: "prod", config: { promotion: { stack: "dev" } }, previous: null });
        assert.match(error?.message ?? "", /canary:promotion\.stack = "dev": must be a fully qualified stack name/);
    });
});
