/**
 * An upgrade keeps every resource: the dev stack as the program before the library made it (0.1, commit
 * `BEFORE_LIBRARY`: every component top-level) is previewed and updated by this program, whose
 * components sit under `CanaryService` with aliases to their old URNs. Through the real engine: the
 * preview must show no replacement and no deletion, only the new component, and the update must leave
 * nothing to do.
 */
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../harness";
import { tempDir } from "../../demo/host";
import { ADD_ONS_OFF, Engine, previewSteps, projectCopy, stackFileConfig, toolchainBin, urnName, writeStackConfig } from "../../demo/engine";

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

describe("the real Pulumi engine: an upgrade from the program before the library replaces nothing", function () {
    this.timeout(60 * 60_000);

    it("today's dev stack, previewed and updated by this program: no replacement, no deletion, then nothing to do", () => {
        const engine = new Engine(toolchainBin());
        const manifests = path.join(tempDir("engine-upgrade-manifests"), "out");
        const lane = { ...ADD_ONS_OFF, "canary:gateway": { install: false, parentRef: { name: "shared", namespace: "gateways" } }, "kubernetes:renderYamlToDirectory": manifests };
        // The stack as the old program made it: its own stack file, a stage applied.
        const before = programAt(BEFORE_LIBRARY);
        engine.ok(["stack", "init", "dev"], before);
        const beforeFile = path.join(before, "Pulumi.dev.yaml");
        const oldConfig = { ...stackFileConfig(beforeFile), ...lane };
        writeStackConfig(beforeFile, { ...oldConfig, "canary:weight": 0 });
        engine.ok(["up", "--yes", "--skip-preview"], before);
        writeStackConfig(beforeFile, { ...oldConfig, "canary:weight": 5 });
        engine.ok(["up", "--yes", "--skip-preview"], before);

        // The same stack, with this program and this release's dev stack file (its passphrase salt kept).
        const after = projectCopy();
        const afterFile = path.join(after, "Pulumi.dev.yaml");
        fs.copyFileSync(beforeFile, afterFile);
        writeStackConfig(afterFile, { ...stackFileConfig(path.join(ROOT, "Pulumi.dev.yaml")), ...lane, "canary:weight": 5 });
        engine.ok(["stack", "select", "dev"], after);
        const steps = previewSteps(engine.ok(["preview", "--json", "--diff"], after).stdout);
        const ops = new Map<string, string[]>();
        for (const s of steps) ops.set(s.op, [...(ops.get(s.op) ?? []), urnName(s.urn)]);
        console.log(`  the upgrade's preview: ${[...ops].map(([op, names]) => `${op} ${names.length}`).join(", ")}; updated: ${(ops.get("update") ?? []).join(", ") || "none"}`);
        assert.deepStrictEqual(steps.filter((s) => DESTRUCTIVE.includes(s.op)).map((s) => `${s.op} ${s.urn}`), [], "an upgrade replaces or deletes nothing");
        assert.deepStrictEqual(steps.filter((s) => s.op === "create").map((s) => s.type), ["canary:index:CanaryService"], "it creates only the component the old resources move under");
        assert.ok((ops.get("same") ?? []).length > 20, "the old resources are the same resources, by their aliases");
        engine.ok(["up", "--yes", "--skip-preview"], after);
        engine.ok(["preview", "--expect-no-changes"], after);
    });
});
