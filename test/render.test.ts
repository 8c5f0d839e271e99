/**
 * Render mode (`kubernetes:renderYamlToDirectory`): manifests for something else to apply. Nothing
 * here runs the stage's AnalysisRun, so `pulumi up` does not wait for it: the run is rendered, the
 * stage is recorded as rendered and unverified, and it adds no evidence that prod's check could read.
 * The engine lane (test/engine) runs the same through the real engine and provider.
 */
import * as assert from "assert";
import { runProgram } from "./harness";

const RUN = "kubernetes:argoproj.io/v1alpha1:AnalysisRun";
const render = { "@kubernetes:renderYamlToDirectory": "/tmp/canary-render" };

describe("render mode: the stage's analysis is rendered, never awaited, and the stage is recorded unverified", () => {
    it("the AnalysisRun is rendered without the wait annotations; the stage is recorded as rendered, not verified", async () => {
        const { error, resources, outputs } = await runProgram({ stack: "dev", config: { ...render, weight: 5 }, previous: { stage: 0, canaryVersion: "6.8.0" } });
        assert.ifError(error);
        const runs = resources.filter((r) => r.type === RUN);
        assert.strictEqual(runs.length, 1);
        assert.deepStrictEqual(runs[0].inputs.metadata.annotations, {});
        assert.strictEqual(outputs.stage, 5);
        assert.strictEqual(outputs.stageGate, "rendered, not verified (kubernetes:renderYamlToDirectory)");
        assert.strictEqual(outputs.canaryEvidence, undefined, "a rendered stage adds no evidence");
    });

    it("applied to a cluster, the same stage waits for its run and says it passed on the judge's PROMOTE", async () => {
        const { error, resources, outputs } = await runProgram({ stack: "dev", config: { weight: 5 }, previous: { stage: 0, canaryVersion: "6.8.0" } });
        assert.ifError(error);
        assert.ok(resources.find((r) => r.type === RUN)?.inputs.metadata.annotations["pulumi.com/waitFor"]);
        assert.strictEqual(outputs.stageGate, "passed on the judge's PROMOTE");
        const off = await runProgram({ stack: "dev", config: { weight: 5, analysis: { wait: false } }, previous: { stage: 0, canaryVersion: "6.8.0" } });
        assert.strictEqual(off.outputs.stageGate, "applied, not waited for (canary:analysis.wait false)");
        const zero = await runProgram({ stack: "dev", config: { ...render, weight: 0 } });
        assert.strictEqual(zero.outputs.stageGate, "no analysis at weight 0");
    });

    it("a weighted route that fails to update records no stage: the stack stays at the stage it had", async () => {
        const failed = await runProgram({ stack: "dev", config: { ...render, weight: 5 }, previous: { stage: 0, canaryVersion: "6.8.0" }, failResource: "route-httproute" });
        assert.match(failed.error?.message ?? "", /route-httproute failed/);
        assert.strictEqual(failed.outputs.stage, undefined);
        assert.strictEqual(failed.outputs.stageGate, undefined);
    });
});
