/**
 * The demo's report (demo/report.ts): what a stage's row says of the engine's preview and of a failed
 * update; and the waiting every module of demo/ does (demo/host.ts).
 */
import * as assert from "assert";
import { eventually, settled, sleep } from "../demo/host";
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

describe("the demo's waiting", () => {
    it("eventually resolves with the first check that is neither undefined nor false", async () => {
        const answers = [undefined, false, 0, 7];
        let calls = 0;
        assert.strictEqual(await eventually("a value", async () => answers[calls++], { intervalMs: 1 }), 0);
        assert.strictEqual(calls, 3);
    });

    it("a throw fails the wait at once, unless it counts as not yet; the timeout names what, how long, and the last throw", async () => {
        let calls = 0;
        const broken = async (): Promise<boolean> => {
            calls++;
            throw new Error("connection refused");
        };
        await assert.rejects(eventually("the server", broken, { intervalMs: 1 }), /^Error: connection refused$/);
        assert.strictEqual(calls, 1);
        await assert.rejects(
            eventually("the server", broken, { intervalMs: 1, timeoutMs: 30, retryOnThrow: true }),
            /^Error: timed out after 30 ms waiting for the server \(the last check threw: connection refused\)$/,
        );
        assert.ok(calls > 2, `${calls} checks`);
        await assert.rejects(eventually("the route", async () => undefined, { intervalMs: 1, timeoutMs: 10 }), /^Error: timed out after 10 ms waiting for the route$/);
    });

    it("failEarly ends the wait before the next check, with its message", async () => {
        let calls = 0;
        const check = async () => {
            calls++;
            return undefined;
        };
        await assert.rejects(
            eventually("etcd /health", check, { intervalMs: 1, failEarly: () => (calls >= 2 ? "etcd exited (1)" : undefined) }),
            /^Error: gave up waiting for etcd \/health: etcd exited \(1\)$/,
        );
        assert.strictEqual(calls, 2);
    });

    it("settled says whether a promise has settled, either way", async () => {
        let resolve!: () => void;
        const resolved = settled(new Promise<void>((r) => (resolve = r)));
        const rejected = settled(Promise.reject(new Error("the update failed")));
        assert.strictEqual(resolved(), false);
        resolve();
        await sleep(0);
        assert.deepStrictEqual([resolved(), rejected()], [true, true]);
    });
});
