/**
 * Waves across stacks under mocks: dev → prod-us → prod-eu, each gated on the one before it through
 * `canary:promotion.stack`. Every stack's outputs here are what the program exported in the run before,
 * handed to the next run's StackReferences, so the chain is the program's own.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { buildStackConfig } from "../stacks/config";
import { DEV_EVIDENCE, DEV_STACK, ofType, passedOn, PROMOTED_IMAGE, PROMOTED_PIN, promotedStage, ROOT, runProgram, RunOptions, testDigest } from "./harness";

const REF = "pulumi:pulumi:StackReference";
const PROD_US = "organization/canary/prod-us";
const PROD_EU = "organization/canary/prod-eu";
const PROMOTED = { app: { stable: { image: PROMOTED_PIN } } };
const NEXT_CANARY = { app: { stable: { image: PROMOTED_PIN }, canary: { image: `ghcr.io/stefanprodan/podinfo:6.9.0@${testDigest("9")}` } } };

type Outputs = Record<string, any>;

/** A prod wave stack: prod's stack file (with its canary PR) under another name, gated on `gate`. */
const wave = (name: string, gate: string | undefined, config: Record<string, unknown>, outputs: Record<string, Outputs>): RunOptions => ({
    stack: "prod",
    stackName: name.split("/")[2],
    config: { environment: "prod", ...(gate ? { promotion: { stack: gate } } : {}), ...config },
    stackOutputs: outputs,
});

/** Nothing but the stack reads was registered: a refusal leaves nothing half-applied. */
const onlyReads = (resources: { type: string; custom: boolean }[]) => resources.filter((r) => r.custom && r.type !== REF);

/**
 * One stack's whole canary of 6.8.0 as its `pulumi up`s make it: admitted at 0, each stage passed on
 * the judge's PROMOTE, then promoted. Returns each run's outputs, the promotion's last.
 */
async function rollOut(name: string, gate: string | undefined, outputs: Record<string, Outputs>): Promise<Outputs[]> {
    const runs: Outputs[] = [];
    let last: Outputs = {};
    const steps: [number, number | undefined][] = [[0, undefined], [5, 2400], [25, 3100], [50, 5200], [100, 6000]];
    for (const [i, [weight, requests]] of steps.entries()) {
        const r = await runProgram({
            ...wave(name, gate, { weight }, outputs),
            previous: i === 0 ? null : { stage: steps[i - 1][0], canaryVersion: "6.8.0" },
            previousEvidence: { canaryEvidence: last.canaryEvidence },
            previousGates: last.promotionGates,
            analysisStatus: requests === undefined ? undefined : passedOn(requests),
        });
        assert.ifError(r.error);
        runs.push((last = r.outputs));
    }
    const promoted = await runProgram({ ...wave(name, gate, { weight: 0, ...PROMOTED }, outputs), previous: { stage: 100, canaryVersion: "6.8.0" }, previousEvidence: { canaryEvidence: last.canaryEvidence }, previousGates: last.promotionGates });
    assert.ifError(promoted.error);
    return [...runs, promoted.outputs];
}

describe("waves across stacks: dev → prod-us → prod-eu, each gated on the one before", () => {
    let dev: Outputs;
    let usRuns: Outputs[];
    let us: Outputs;
    let eu: Outputs;

    before(async () => {
        // dev's promotion of 6.8.0, from its canary's evidence (the promotion suite walks dev's stages).
        const promoted = await runProgram({ stack: "dev", config: { weight: 0, ...PROMOTED }, previous: { stage: 100, canaryVersion: "6.8.0" }, previousEvidence: { canaryEvidence: DEV_EVIDENCE } });
        assert.ifError(promoted.error);
        dev = promoted.outputs;
        assert.deepStrictEqual([dev.promotedVersion, dev.promotionEvidence, dev.promotionGates], ["6.8.0", DEV_EVIDENCE, []]);
    });

    it("prod-eu is refused before prod-us has promoted the version, naming prod-us and what it exports, with nothing registered", async () => {
        const before = await runProgram(wave(PROD_EU, PROD_US, { weight: 0 }, { [DEV_STACK]: dev }));
        assert.strictEqual(before.error?.name, "ConfigError");
        assert.match(before.error?.message ?? "", /canary:app\.canary version 6\.8\.0 has not been promoted in organization\/canary\/prod-us \(it exports promotedVersion = nothing\)/);
        assert.deepStrictEqual(onlyReads(before.resources), []);
        assert.deepStrictEqual(ofType(before.resources, REF).map((r) => r.inputs.name).sort(), [PROD_EU, PROD_US], "prod-eu reads itself and prod-us, never dev");
    });

    it("prod-us, gated on dev, records dev's evidence from its admission on and adds its own stage by stage", async () => {
        usRuns = await rollOut(PROD_US, undefined, { [DEV_STACK]: dev });
        us = usRuns[usRuns.length - 1];
        const devWave = { stack: DEV_STACK, image: PROMOTED_IMAGE, plan: DEV_EVIDENCE.plan, stages: DEV_EVIDENCE.stages };
        assert.deepStrictEqual(usRuns[0].canaryEvidence, { version: "6.8.0", image: PROMOTED_IMAGE, plan: [5, 25, 50, 100], stages: {}, upstream: [devWave] }, "admitted at 0 on dev's evidence");
        assert.deepStrictEqual(Object.keys(usRuns[3].canaryEvidence.stages), ["5", "25", "50"]);
        assert.deepStrictEqual(usRuns.map((o) => o.promotionCheck), ["verified", "verified", "verified", "verified", "verified", "no canary"]);
        assert.deepStrictEqual([us.promotedVersion, us.promotionGates], ["6.8.0", [DEV_STACK]]);
        assert.deepStrictEqual(us.promotionEvidence, {
            version: "6.8.0",
            image: PROMOTED_IMAGE,
            plan: [5, 25, 50, 100],
            stages: { "5": promotedStage(2400), "25": promotedStage(3100), "50": promotedStage(5200), "100": promotedStage(6000) },
            upstream: [devWave],
        });
    });

    it("prod-eu is still refused while prod-us is at 100, and accepted once it promoted, carrying dev's and prod-us's evidence", async () => {
        const at100 = usRuns[4];
        const early = await runProgram(wave(PROD_EU, PROD_US, { weight: 0 }, { [DEV_STACK]: dev, [PROD_US]: at100 }));
        assert.match(early.error?.message ?? "", /has not been promoted in organization\/canary\/prod-us \(it exports promotedVersion = 6\.7\.1\)/);
        const euRuns = await rollOut(PROD_EU, PROD_US, { [DEV_STACK]: dev, [PROD_US]: us });
        const eu0 = euRuns[0];
        eu = euRuns[euRuns.length - 1];
        assert.strictEqual(eu0.promotionCheck, "verified");
        assert.deepStrictEqual(eu0.promotionGates, [PROD_US, DEV_STACK], "prod-eu stands behind prod-us, and prod-us behind dev");
        const carried = eu0.canaryEvidence.upstream.map((w: { stack: string; image: string; stages: Record<string, unknown> }) => [w.stack, w.image, Object.keys(w.stages)]);
        assert.deepStrictEqual(carried, [[DEV_STACK, PROMOTED_IMAGE, ["5", "25", "50"]], [PROD_US, PROMOTED_IMAGE, ["5", "25", "50", "100"]]], "every earlier wave's verdicts and the digest each judged, first wave first");
        assert.strictEqual(eu.promotionEvidence.image, PROMOTED_IMAGE, "the digest goes on with the version");
    });

    it("prod-eu compares its canary with the digest prod-us promoted: the promoted tag with other bytes is refused, naming both and prod-us", async () => {
        const other = `ghcr.io/stefanprodan/podinfo:6.8.0@${testDigest("e")}`;
        const { error, resources } = await runProgram(wave(PROD_EU, PROD_US, { weight: 0, app: { canary: { image: other } } }, { [DEV_STACK]: dev, [PROD_US]: us }));
        assert.strictEqual(error?.name, "ConfigError");
        assert.ok(error?.message.startsWith(`canary:app.canary.image = ${other} is ghcr.io/stefanprodan/podinfo@${testDigest("e")}, another digest: organization/canary/prod-us promoted ${PROMOTED_IMAGE}`), error?.message);
        assert.deepStrictEqual(onlyReads(resources), []);
    });

    it("prod-eu requires prod-us's own PROMOTE evidence: dev's, carried in prod-us's upstream, does not stand in for it", async () => {
        const { "50": _, ...noFifty } = us.promotionEvidence.stages;
        const cases: [Outputs, RegExp][] = [
            [{ ...us, promotionEvidence: { ...us.promotionEvidence, stages: {} } }, /without the evidence prod requires \(promotionEvidence\): stage 5: not judged; stage 25: not judged; stage 50: not judged/],
            [{ ...us, promotionEvidence: { ...us.promotionEvidence, stages: noFifty } }, /stage 50: not judged/],
            [{ ...us, promotionEvidence: { ...us.promotionEvidence, stages: { ...us.promotionEvidence.stages, "25": promotedStage(40) } } }, /stage 25: 40 canary requests, fewer than 1000/],
        ];
        for (const [gate, message] of cases) {
            const { error, resources } = await runProgram(wave(PROD_EU, PROD_US, { weight: 0 }, { [PROD_US]: gate }));
            assert.strictEqual(error?.name, "ConfigError");
            assert.match(error?.message ?? "", message);
            assert.deepStrictEqual(onlyReads(resources), []);
        }
    });

    it("a stack cannot be its own gate: refused from the config alone, before anything is read", async () => {
        const named = await runProgram(wave(PROD_US, PROD_US, { weight: 0 }, {}));
        assert.strictEqual(named.error?.name, "ConfigError");
        assert.match(named.error?.message ?? "", /canary:promotion\.stack = "organization\/canary\/prod-us": is this stack itself/);
        assert.deepStrictEqual(named.resources, [], "not even a stack read");
        // A dev stack told to require promotion would by default be gated on itself.
        const byDefault = await runProgram({ stack: "dev", config: { promotion: { required: true } } });
        assert.match(byDefault.error?.message ?? "", /canary:promotion\.stack = \(not set: the default organization\/canary\/dev\): is this stack itself/);
        assert.deepStrictEqual(byDefault.resources, []);
    });

    it("a cycle of gates is refused by name, from the gates the gate exports, with nothing registered", async () => {
        assert.deepStrictEqual([eu.promotedVersion, eu.promotionGates], ["6.8.0", [PROD_US, DEV_STACK]], "the promotion run keeps the gates it last read");
        // prod-us re-pointed at prod-eu: two stacks, each gated on the other.
        const two = await runProgram({ ...wave(PROD_US, PROD_EU, NEXT_CANARY, { [PROD_EU]: eu }), previousGates: us.promotionGates });
        assert.strictEqual(two.error?.name, "ConfigError");
        assert.match(two.error?.message ?? "", /canary:promotion\.stack = "organization\/canary\/prod-eu": closes a cycle, organization\/canary\/prod-us → organization\/canary\/prod-eu → organization\/canary\/prod-us \(each gated on the next/);
        assert.deepStrictEqual(onlyReads(two.resources), []);
        // dev gated on prod-eu: three stacks around.
        const three = await runProgram({ stack: "dev", config: { ...NEXT_CANARY, promotion: { required: true, stack: PROD_EU } }, stackOutputs: { [PROD_EU]: eu } });
        assert.match(three.error?.message ?? "", /closes a cycle, organization\/canary\/dev → organization\/canary\/prod-eu → organization\/canary\/prod-us → organization\/canary\/dev/);
        assert.deepStrictEqual(onlyReads(three.resources), []);
    });

    it("the three-stack example in docs/promotion.md is valid config: prod-us on dev by default, prod-eu on prod-us", () => {
        const page = fs.readFileSync(path.join(ROOT, "docs", "promotion.md"), "utf8");
        const section = page.slice(page.indexOf("## Waves across stacks")).split(/\n## /)[0];
        const files = [...section.matchAll(/`Pulumi\.([\w-]+)\.yaml`[^`]*```yaml\n([\s\S]*?)```/g)].map(([, stack, text]) => {
            const raw = Object.fromEntries(Object.entries<unknown>(YAML.parse(text).config).filter(([k]) => k.startsWith("canary:")).map(([k, v]) => [k.slice("canary:".length), v]));
            const cfg = buildStackConfig("canary", stack, raw);
            return [stack, cfg.environment, cfg.promotion.required, cfg.promotion.stack];
        });
        assert.deepStrictEqual(files, [
            ["prod-us", "prod", true, undefined],
            ["prod-eu", "prod", true, "acme/canary/prod-us"],
        ]);
    });
});
