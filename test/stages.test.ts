import * as assert from "assert";
import { allowedWeights, checkTransition, DEFAULT_STAGES, nextStage, splitFor, stageEntry } from "../domain/stages";

describe("stage model (pure)", () => {
    it("splits every weight so stable and canary sum to 100", () => {
        for (const w of [0, ...DEFAULT_STAGES, 1, 99]) {
            const s = splitFor(w);
            assert.strictEqual(s.canary, w);
            assert.strictEqual(s.stable + s.canary, 100);
        }
    });

    const nextCases: [number, number[], number | undefined][] = [
        [0, [5, 25, 50, 100], 5],
        [5, [5, 25, 50, 100], 25],
        [50, [5, 25, 50, 100], 100],
        [100, [5, 25, 50, 100], undefined],
        [10, [5, 25, 50, 100], 25],
        [0, [100], 100],
    ];
    for (const [from, stages, want] of nextCases) {
        it(`next stage after ${from} in [${stages}] is ${want}`, () => assert.strictEqual(nextStage(from, stages), want));
    }

    const moves: [string, { stage: number; canaryVersion?: string } | undefined, number, string, boolean][] = [
        ["first stage from nothing", undefined, 5, "2.0.0", true],
        ["stay at 0 before the first up", undefined, 0, "2.0.0", true],
        ["skip from nothing to 25", undefined, 25, "2.0.0", false],
        ["next stage", { stage: 5, canaryVersion: "2.0.0" }, 25, "2.0.0", true],
        ["stay", { stage: 25, canaryVersion: "2.0.0" }, 25, "2.0.0", true],
        ["rollback from 50", { stage: 50, canaryVersion: "2.0.0" }, 0, "2.0.0", true],
        ["skip 25 to 100", { stage: 25, canaryVersion: "2.0.0" }, 100, "2.0.0", false],
        ["back from 50 to 25 is not a stage move", { stage: 50, canaryVersion: "2.0.0" }, 25, "2.0.0", false],
        ["promotion: 100 to 0", { stage: 100, canaryVersion: "2.0.0" }, 0, "2.0.0", true],
        ["past the last stage there is no next", { stage: 100, canaryVersion: "2.0.0" }, 100, "2.0.0", true],
        ["a new version starts again at the first stage", { stage: 50, canaryVersion: "2.0.0" }, 5, "3.0.0", true],
        ["a new version may not inherit the old one's stage", { stage: 50, canaryVersion: "2.0.0" }, 50, "3.0.0", false],
    ];
    for (const [what, previous, weight, version, ok] of moves) {
        it(`${what}: ${ok ? "allowed" : "refused"}`, () => {
            const msg = checkTransition(previous, weight, version, DEFAULT_STAGES);
            assert.strictEqual(msg === undefined, ok, msg);
            if (!ok) {
                assert.match(msg as string, new RegExp(`canary:weight = ${weight} skips a stage`));
                assert.match(msg as string, /canary:allowStageSkip/);
            }
        });
    }

    it("names the weights a skip may use instead", () => {
        assert.deepStrictEqual(allowedWeights({ stage: 5, canaryVersion: "2" }, "2", DEFAULT_STAGES), [0, 5, 25]);
        assert.match(checkTransition({ stage: 5, canaryVersion: "2" }, 50, "2", DEFAULT_STAGES) as string, /may move to 0, 5, 25/);
    });

    const entries: [string, { stage: number; canaryVersion?: string; entry?: number } | undefined, number, string, number][] = [
        ["the stack's first stage", undefined, 5, "2", 1],
        ["the same stage again (a repeated up, or after a failed run)", { stage: 5, canaryVersion: "2", entry: 4 }, 5, "2", 4],
        ["the next stage", { stage: 5, canaryVersion: "2", entry: 4 }, 25, "2", 5],
        ["a rollback", { stage: 25, canaryVersion: "2", entry: 5 }, 0, "2", 6],
        ["the same weight again after the rollback", { stage: 0, canaryVersion: "2", entry: 6 }, 5, "2", 7],
        ["a new version at the same weight", { stage: 5, canaryVersion: "2", entry: 7 }, 5, "3", 8],
        ["a stack that applied stages before entries were counted", { stage: 5, canaryVersion: "2" }, 5, "2", 0],
        ["... and its next stage", { stage: 5, canaryVersion: "2" }, 25, "2", 1],
    ];
    for (const [what, previous, weight, version, want] of entries) {
        it(`stage entry: ${what} → ${want}`, () => assert.strictEqual(stageEntry(previous, weight, version), want));
    }
});
