/**
 * An upgrade keeps every resource: a dev stack as the program before the library made it (commit
 * `BEFORE_LIBRARY`: every component top-level) is previewed and updated by this program, whose
 * components sit under `CanaryService` with aliases to their old URNs. Through the real engine: at
 * weight 0 (today's dev stack file) the preview shows no replacement and no deletion, only the new
 * component; mid-stage, only the stage's own run and load Job are new (this release asks the judge with
 * the metric contract's new parameters, a new question, so a new run with its own window). Each update
 * then leaves nothing to do.
 */
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../harness";
import { tempDir } from "../../demo/host";
import { ADD_ONS_OFF, Engine, PreviewStep, previewSteps, projectCopy, stackFileConfig, toolchainBin, urnName, writeStackConfig } from "../../demo/engine";

/** The last commit before the library (CanaryService): the program whose stacks exist today. */
const BEFORE_LIBRARY = "11a0d74";
/** What an upgrade may never do to an existing resource. */
const DESTRUCTIVE = ["replace", "create-replacement", "delete-replaced", "delete", "discard"];

/** The program as it was at `commit`, in a directory of its own, on this checkout's packages. */
function programAt(commit: string): string {
    const dir = tempDir("engine-before");
    try {
        execFileSync("git", ["-C", ROOT, "rev-parse", "--verify", `${commit}^{commit}`], { stdio: "pipe" });
    } catch {
        throw new Error(`the upgrade check needs the repository's history back to ${commit} (a full clone, not a shallow one)`);
    }
    const archive = path.join(tempDir("engine-before-tar"), "program.tar");
    execFileSync("git", ["-C", ROOT, "archive", "--format=tar", "-o", archive, commit]);
    execFileSync("tar", ["-x", "-f", archive, "-C", dir]);
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
    return dir;
}

/** The stage's own objects: made anew whenever the stage's question (the judge's ask) or the load generator's code changes. */
const STAGE_OBJECTS = ["delivery-run", "load-job", "load-code"];

describe("the real Pulumi engine: an upgrade from the program before the library replaces nothing", function () {
    this.timeout(60 * 60_000);
    let engine: Engine;
    let oldProgram: string;
    let newProgram: string;
    const manifests = () => path.join(tempDir("engine-upgrade-manifests"), "out");
    const lane = () => ({ ...ADD_ONS_OFF, "canary:gateway": { install: false, parentRef: { name: "shared", namespace: "gateways" } }, "kubernetes:renderYamlToDirectory": manifests() });

    before(() => {
        engine = new Engine(toolchainBin());
        oldProgram = programAt(BEFORE_LIBRARY);
        newProgram = projectCopy();
    });

    /**
     * The stack `stack` as the old program made it at each of `weights` (its own stack file), then
     * previewed by this program with this release's dev stack file (the passphrase's salt kept): the steps.
     */
    function upgrade(stack: string, weights: number[]): PreviewStep[] {
        const extra = { ...lane(), ...(stack === "dev" ? {} : { "canary:environment": "dev" }) };
        const beforeFile = path.join(oldProgram, `Pulumi.${stack}.yaml`);
        engine.ok(["stack", "init", stack], oldProgram);
        const oldConfig = { ...stackFileConfig(path.join(oldProgram, "Pulumi.dev.yaml")), ...extra };
        for (const weight of weights) {
            writeStackConfig(beforeFile, { ...oldConfig, "canary:weight": weight });
            engine.ok(["up", "--yes", "--skip-preview"], oldProgram);
        }
        const afterFile = path.join(newProgram, `Pulumi.${stack}.yaml`);
        fs.copyFileSync(beforeFile, afterFile);
        writeStackConfig(afterFile, { ...stackFileConfig(path.join(ROOT, "Pulumi.dev.yaml")), ...extra, "canary:weight": weights[weights.length - 1] });
        engine.ok(["stack", "select", stack], newProgram);
        const steps = previewSteps(engine.ok(["preview", "--json", "--show-sames"], newProgram).stdout);
        const ops = new Map<string, string[]>();
        for (const s of steps) ops.set(s.op, [...(ops.get(s.op) ?? []), urnName(s.urn)]);
        console.log(`  ${stack} at ${weights.join(" → ")}, previewed by this program: ${[...ops].map(([op, names]) => `${op} ${names.length}`).join(", ")}; replaced: ${(ops.get("replace") ?? []).join(", ") || "none"}; updated: ${(ops.get("update") ?? []).join(", ") || "none"}`);
        assert.deepStrictEqual(steps.filter((s) => s.op === "create").map((s) => s.type), ["canary:index:CanaryService"], "it creates only the component the old resources move under");
        // The old resources are kept by their aliases: the same, or updated in place.
        assert.ok([...(ops.get("same") ?? []), ...(ops.get("update") ?? [])].length > 20, "the old resources are kept, by their aliases");
        return steps;
    }

    /** The update goes through, and the next preview finds nothing to do. */
    function upThenNothing(stack: string): void {
        engine.ok(["stack", "select", stack], newProgram);
        engine.ok(["up", "--yes", "--skip-preview"], newProgram);
        engine.ok(["preview", "--expect-no-changes"], newProgram);
    }

    it("today's dev stack (weight 0, as Pulumi.dev.yaml has it): no replacement and no deletion; then nothing to do", () => {
        const steps = upgrade("dev", [0]);
        assert.deepStrictEqual(steps.filter((s) => DESTRUCTIVE.includes(s.op)).map((s) => `${s.op} ${s.urn}`), [], "an upgrade replaces or deletes nothing");
        upThenNothing("dev");
    });

    it("a stack upgraded mid-stage (weight 5): only the stage's own run and load Job are made anew (the judge's ask changed); nothing else", () => {
        const steps = upgrade("mid", [0, 5]);
        const destructive = steps.filter((s) => DESTRUCTIVE.includes(s.op));
        assert.deepStrictEqual(destructive.filter((s) => !STAGE_OBJECTS.includes(urnName(s.urn))).map((s) => `${s.op} ${s.urn}`), [], "nothing but the stage's own objects");
        assert.ok(destructive.every((s) => s.op === "replace"), destructive.map((s) => s.op).join(", "));
        upThenNothing("mid");
    });
});
