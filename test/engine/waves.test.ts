/**
 * The engine lane for waves: three stacks of the project, dev → prod-us → prod-eu, on one file
 * backend, each gated on the one before through `canary:promotion.stack`, every StackReference read by
 * the real engine (the file backend's organization is `organization`). Rendered with the add-ons off,
 * as the walk is.
 *
 * This lane runs no judge, and a rendered stage records no evidence (by design: it can never carry a
 * version on). So the judged stages are written into the checkpoint (`pulumi stack export`, the one
 * output edited, `pulumi stack import`) where a stage's PROMOTE would have recorded them: dev's
 * promoted version's evidence, and prod-us's own stages before its promotion. Everything else is the
 * program's, through the engine: each gate's read and verdict, and the evidence chain each stack
 * records and exports.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { DEV_EVIDENCE, PROMOTED_IMAGE, promotedStage, testDigest } from "../harness";
import { tempDir } from "../../demo/host";
import type { VersionEvidence } from "../../domain/evidence";
import { devWithoutAddOns, Engine, previewDiagnostics, previewSteps, projectCopy, toolchainBin, writeStackConfig } from "../../demo/engine";

const ORG = "organization/canary";
const STACKS = ["dev", "prod-us", "prod-eu"] as const;
type Wave = (typeof STACKS)[number];
const IMAGE = "ghcr.io/stefanprodan/podinfo";
/** prod pins images by digest: the tests' stand-in digests, 6.8.0's the one dev's evidence names (`PROMOTED_IMAGE`). */
const DIGESTS: Record<string, string> = { "6.7.1": testDigest("7"), "6.8.0": testDigest("d"), "6.9.0": testDigest("9") };

describe("the real Pulumi engine: a wave dev → prod-us → prod-eu on one file backend", function () {
    this.timeout(60 * 60_000);
    let engine: Engine;
    let project: string;
    const base: Partial<Record<Wave, Record<string, unknown>>> = {};
    const rows: [string, number][] = [];

    /** dev runs tags as its stack file does; the prod waves pin by digest. */
    const imageOf = (stack: Wave, version: string) => (stack === "dev" ? `${IMAGE}:${version}` : `${IMAGE}:${version}@${DIGESTS[version]}`);
    /** The stack's config: dev's without add-ons, rendered to its own directory; the prod waves in environment prod on the same router. */
    const configure = (stack: Wave, app: { stable: string; canary: string }, extra: Record<string, unknown> = {}) => {
        const dev = devWithoutAddOns();
        const config = {
            ...dev,
            ...base[stack],
            "canary:app": { ...(dev["canary:app"] as object), stable: { image: imageOf(stack, app.stable) }, canary: { image: imageOf(stack, app.canary) } },
            ...extra,
        };
        writeStackConfig(path.join(project, `Pulumi.${stack}.yaml`), config);
    };
    const timed = (step: string, args: string[]) => {
        const r = engine.run(args, project);
        rows.push([step, r.seconds]);
        return r;
    };
    const up = (stack: Wave) => {
        const r = timed(`up ${stack}`, ["up", "--yes", "--skip-preview", "--stack", stack]);
        assert.strictEqual(r.status, 0, `${r.stdout.slice(-4000)}\n${r.stderr.slice(-2000)}`);
    };
    /** A preview the program refuses: its messages, and nothing registered but the stack's reads. */
    const refused = (step: string, stack: Wave): string => {
        const r = timed(step, ["preview", "--json", "--stack", stack]);
        assert.notStrictEqual(r.status, 0, r.stdout);
        const registered = previewSteps(r.stdout).filter((s) => s.type !== "pulumi:pulumi:Stack" && s.type !== "pulumi:pulumi:StackReference");
        assert.deepStrictEqual(registered.map((s) => `${s.op} ${s.urn}`), [], "nothing registered");
        return previewDiagnostics(r.stdout).join("\n");
    };
    const outputs = (stack: Wave) => JSON.parse(engine.ok(["stack", "output", "--json", "--show-secrets", "--stack", stack], project).stdout) as Record<string, any>;

    /** Writes one output into the stack's checkpoint, where a judge's PROMOTE would have recorded it. */
    const recordJudged = (stack: Wave, output: string, value: VersionEvidence) => {
        const state = JSON.parse(engine.ok(["stack", "export", "--stack", stack], project).stdout);
        const root = state.deployment.resources.find((r: { type: string }) => r.type === "pulumi:pulumi:Stack");
        root.outputs = { ...root.outputs, [output]: value };
        const file = path.join(tempDir("engine-checkpoint"), `${stack}.json`);
        fs.writeFileSync(file, JSON.stringify(state));
        engine.ok(["stack", "import", "--stack", stack, "--file", file], project);
    };

    before(() => {
        engine = new Engine(toolchainBin());
        project = projectCopy();
        for (const stack of STACKS) {
            // The lanes' external judge (devWithoutAddOns), and prod's images by digest.
            const analysis = devWithoutAddOns()["canary:analysis"] as { judge: Record<string, unknown> };
            const judge = { ...analysis.judge, image: `docker.io/library/node:22.23.3-alpine@${testDigest("0")}` };
            const prod = stack === "dev" ? {} : { "canary:environment": "prod", "canary:router": "gateway", "canary:analysis": { ...analysis, judge } };
            const gate = stack === "prod-eu" ? { "canary:promotion": { stack: `${ORG}/prod-us` } } : {};
            base[stack] = {
                "canary:gateway": { install: false, parentRef: { name: "shared", namespace: "gateways" } },
                "kubernetes:renderYamlToDirectory": path.join(tempDir(`engine-${stack}`), "out"),
                ...prod,
                ...gate,
            };
            engine.ok(["stack", "init", stack], project);
        }
    });

    after(() => {
        for (const [step, seconds] of rows) console.log(`  ${step.padEnd(44)}${seconds.toFixed(1)} s`);
        console.log(`  total ${rows.reduce((s, [, t]) => s + t, 0).toFixed(1)} s`);
    });

    const devWave = { stack: `${ORG}/dev`, image: PROMOTED_IMAGE, plan: DEV_EVIDENCE.plan, stages: DEV_EVIDENCE.stages };

    it("prod-us reads dev through the engine: refused while dev's promotion has no judged evidence, verified once it has", () => {
        // dev promotes 6.8.0: its stable runs it.
        configure("dev", { stable: "6.8.0", canary: "6.8.0" });
        up("dev");
        assert.strictEqual(outputs("dev").promotedVersion, "6.8.0");
        configure("prod-us", { stable: "6.7.1", canary: "6.8.0" });
        // Rendered, dev judged nothing: the version cannot go on.
        const message = refused("preview prod-us, dev unjudged (refused)", "prod-us");
        assert.match(message, /canary:app\.canary version 6\.8\.0 was promoted in organization\/canary\/dev without the evidence prod requires \(promotionEvidence\): no evidence for version 6\.8\.0/);
        recordJudged("dev", "promotionEvidence", DEV_EVIDENCE);
        up("prod-us");
        const us = outputs("prod-us");
        assert.strictEqual(us.promotionCheck, "verified");
        assert.deepStrictEqual(us.promotionGates, [`${ORG}/dev`]);
        assert.deepStrictEqual(us.canaryEvidence, { version: "6.8.0", image: PROMOTED_IMAGE, plan: [5, 25, 50, 100], stages: {}, upstream: [devWave] }, "dev's evidence carried from the admission on");
    });

    it("prod-eu is refused while prod-us has not promoted the version, naming prod-us and what it exports", () => {
        configure("prod-eu", { stable: "6.7.1", canary: "6.8.0" });
        const message = refused("preview prod-eu, prod-us at 0 (refused)", "prod-eu");
        assert.match(message, /canary:app\.canary version 6\.8\.0 has not been promoted in organization\/canary\/prod-us \(it exports promotedVersion = 6\.7\.1\)/);
    });

    const usStages = { "5": promotedStage(2600), "25": promotedStage(3300), "50": promotedStage(5400) };

    it("after prod-us promotes on its own stages, prod-eu is admitted and carries dev's and prod-us's evidence", () => {
        recordJudged("prod-us", "canaryEvidence", { ...outputs("prod-us").canaryEvidence, stages: usStages });
        configure("prod-us", { stable: "6.8.0", canary: "6.8.0" });
        up("prod-us");
        const us = outputs("prod-us");
        assert.deepStrictEqual([us.promotedVersion, us.promotionGates], ["6.8.0", [`${ORG}/dev`]]);
        assert.deepStrictEqual(us.promotionEvidence, { version: "6.8.0", image: PROMOTED_IMAGE, plan: [5, 25, 50, 100], stages: usStages, upstream: [devWave] });
        up("prod-eu");
        const eu = outputs("prod-eu");
        assert.strictEqual(eu.promotionCheck, "verified");
        assert.deepStrictEqual(eu.promotionGates, [`${ORG}/prod-us`, `${ORG}/dev`]);
        assert.deepStrictEqual(eu.canaryEvidence.upstream, [devWave, { stack: `${ORG}/prod-us`, image: PROMOTED_IMAGE, plan: [5, 25, 50, 100], stages: usStages }]);
    });

    it("prod-us re-pointed at prod-eu is refused as a cycle, read from prod-eu's exported gates", () => {
        configure("prod-us", { stable: "6.8.0", canary: "6.9.0" }, { "canary:promotion": { stack: `${ORG}/prod-eu` } });
        const message = refused("preview prod-us gated on prod-eu (refused)", "prod-us");
        assert.match(message, /canary:promotion\.stack = "organization\/canary\/prod-eu": closes a cycle, organization\/canary\/prod-us → organization\/canary\/prod-eu → organization\/canary\/prod-us/);
    });
});
