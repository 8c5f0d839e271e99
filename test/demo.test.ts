/** The demo's report (demo/report.ts): what a stage's row says of the engine's preview and of a failed update. */
import * as assert from "assert";
import { changeSummary, fit, upError } from "../demo/report";

describe("the demo's report", () => {
    it("sums up a preview's changes by operation, counting long lists", () => {
        assert.strictEqual(changeSummary([]), "nothing");
        assert.strictEqual(changeSummary(["update route-httproute", "update alerts-stage", "create delivery-run"]), "update route-httproute, alerts-stage; create delivery-run");
        const many = Array.from({ length: 9 }, (_, i) => `create r${i}`);
        assert.strictEqual(changeSummary([...many, "delete old"]), "create 9 resources; delete old");
    });

    it("cuts a long reason to the row's width with an ellipsis", () => {
        assert.strictEqual(fit("short", 10), "short");
        assert.strictEqual(fit("0123456789abc", 10), "012345678…");
    });

    it("names a failed update by the program's own error line, not the engine's summary", () => {
        const stdout = [
            "Updating (dev):",
            "    kubernetes:argoproj.io/v1alpha1:AnalysisRun delivery-run  **failed** 1 error",
            "Diagnostics:",
            "  canary:delivery:ProgressiveDelivery (delivery):",
            "    error: the stage's analysis podinfo-6-9-0-w5-e1-abc123 ended Failed; judge Failed: 1 failed; last answer: ROLLBACK: errors: 20.1% vs 0.0%",
            "  pulumi:pulumi:Stack (canary-dev):",
            "    error: update failed",
        ].join("\n");
        assert.strictEqual(upError({ status: 255, stdout, stderr: "", seconds: 1 }), "the stage's analysis podinfo-6-9-0-w5-e1-abc123 ended Failed; judge Failed: 1 failed; last answer: ROLLBACK: errors: 20.1% vs 0.0%");
        assert.strictEqual(upError({ status: 255, stdout: "no diagnostics", stderr: "", seconds: 1 }), "pulumi up exited 255");
    });
});
