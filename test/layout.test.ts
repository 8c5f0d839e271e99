/**
 * Imports only go down: domain ← stacks (config) ← components ← the program; the `rollout` command,
 * the benchmark, the demo app and the policy pack sit on top; lib/ (entry-point helpers) imports
 * nothing of the project. Read from the sources themselves.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "./harness";

/** Project folders (or `index`) each source file imports from. */
function projectImports(file: string): string[] {
    const text = fs.readFileSync(file, "utf8");
    const specs = [...text.matchAll(/^(?:import|export)\s(?:[^;]*?from\s+)?"(\.[^"]*)"/gms)].map((m) => m[1]);
    return specs.map((s) => {
        const rel = path.relative(ROOT, path.resolve(path.dirname(file), s));
        return rel.split(path.sep)[0] === "index" ? "index" : rel.split(path.sep)[0];
    });
}

const sources = (folder: string) =>
    fs
        .readdirSync(path.join(ROOT, folder))
        .filter((f) => f.endsWith(".ts"))
        .map((f) => path.join(ROOT, folder, f));

/** What each layer may import (besides packages). */
const ALLOWED: Record<string, readonly string[]> = {
    lib: ["lib"],
    domain: ["domain"],
    stacks: ["domain", "stacks"],
    components: ["lib", "domain", "stacks", "components"],
    policy: ["domain", "stacks", "policy"],
    rollout: ["lib", "domain", "stacks", "rollout"],
    // The demo and the cluster and engine lanes it shares its pieces with: on top, beside the command.
    demo: ["lib", "domain", "stacks", "components", "rollout", "demo"],
    bench: ["lib", "domain", "app", "bench"],
    app: ["lib", "app"],
};

describe("layout: imports only go down", () => {
    for (const [folder, allowed] of Object.entries(ALLOWED)) {
        it(`${folder}/ imports only ${allowed.join(", ")}`, () => {
            const files = sources(folder);
            assert.ok(files.length > 0, `${folder}/ has sources`);
            for (const f of files) {
                const bad = projectImports(f).filter((i) => !allowed.includes(i));
                assert.deepStrictEqual(bad, [], `${path.relative(ROOT, f)} imports ${bad.join(", ")}`);
            }
        });
    }

    it("the program imports the layers below it, never the command", () => {
        const bad = projectImports(path.join(ROOT, "index.ts")).filter((i) => !["domain", "stacks", "components"].includes(i));
        assert.deepStrictEqual(bad, []);
    });

    it("rollout/ is the command only: the shared domain modules live in domain/", () => {
        for (const moved of ["stages.ts", "promql.ts", "tracks.ts", "decide.ts", "stats.ts"]) {
            assert.ok(fs.existsSync(path.join(ROOT, "domain", moved)), `domain/${moved}`);
            assert.ok(!fs.existsSync(path.join(ROOT, "rollout", moved)), `rollout/${moved}`);
        }
    });
});
