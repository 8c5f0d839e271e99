import * as assert from "assert";
import { BURN_WINDOWS, burnFactor, errorBudget, sloWindows } from "../components/observability/slo";

describe("SLO burn-rate windows (pure)", () => {
    it("derives the SRE Workbook factors from budget share, period and window", () => {
        assert.deepStrictEqual(
            BURN_WINDOWS.map((w) => [w.long, w.short, burnFactor(w, 30), w.severity]),
            [
                ["1h", "5m", 14.4, "critical"],
                ["6h", "30m", 6, "critical"],
                ["1d", "2h", 3, "warning"],
                ["3d", "6h", 1, "warning"],
            ],
        );
    });

    it("scales the factors with the SLO period", () => {
        assert.deepStrictEqual(BURN_WINDOWS.map((w) => burnFactor(w, 28)), [13.44, 5.6, 2.8, 0.9333333333]);
    });

    it("the error budget is 1 - objective, without float noise", () => {
        assert.strictEqual(errorBudget(0.999), 0.001);
        assert.strictEqual(errorBudget(0.9995), 0.0005);
    });

    it("records each window once", () => {
        assert.deepStrictEqual(sloWindows(), ["5m", "1h", "30m", "6h", "2h", "1d", "3d"]);
    });
});
