/**
 * Imports only go down: domain ← stacks (config) ← components ← the library (program/) ← the stack
 * programs (index.ts, platform/); the `rollout` command,
 * the benchmark, the demo app and the policy pack sit on top; lib/ (entry-point helpers) imports
 * nothing of the project. Inside components/, one folder per concern, and the concerns import each
 * other in one direction only. Read from the sources themselves.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "./harness";

/** The project files (relative to the root, without `.ts`) a source file imports. */
function importedModules(file: string): string[] {
    const text = fs.readFileSync(file, "utf8");
    const specs = [...text.matchAll(/^(?:import|export)\s(?:[^;]*?from\s+)?"(\.[^"]*)"/gms)].map((m) => m[1]);
    return specs.map((s) => path.relative(ROOT, path.resolve(path.dirname(file), s)).split(path.sep).join("/"));
}

/** Project folders (or `index`) each source file imports from. */
const projectImports = (file: string): string[] => importedModules(file).map((m) => m.split("/")[0]);

/** Every `.ts` file under a folder, subfolders included. */
function sources(folder: string): string[] {
    return fs
        .readdirSync(path.join(ROOT, folder), { withFileTypes: true })
        .flatMap((e) => (e.isDirectory() ? sources(path.join(folder, e.name)) : e.name.endsWith(".ts") ? [path.join(ROOT, folder, e.name)] : []));
}

/** What each layer may import (besides packages). */
const ALLOWED: Record<string, readonly string[]> = {
    lib: ["lib"],
    domain: ["domain"],
    stacks: ["domain", "stacks"],
    components: ["lib", "domain", "stacks", "components"],
    // The library's programs (CanaryService, CanaryPlatform): what index.ts, platform/ and a team's program build.
    program: ["lib", "domain", "stacks", "components", "program"],
    platform: ["program"],
    examples: [],
    policy: ["domain", "stacks", "policy"],
    rollout: ["lib", "domain", "stacks", "rollout"],
    // The demo and the cluster and engine lanes it shares its pieces with: on top, beside the command.
    // It runs the repo's own services (app/) and reads their contract: the orders service's key variable and paths.
    demo: ["lib", "domain", "stacks", "components", "rollout", "app", "demo"],
    bench: ["lib", "domain", "app", "bench"],
    app: ["lib", "app"],
    // The docs generators read the config schema: stacks and what it stands on.
    scripts: ["domain", "stacks", "scripts"],
};

/**
 * The concern folders under components/ and which others each may import: platform/ is at the
 * bottom; routing/ and observability/ stand on it and not on each other; delivery/ stands on both
 * platform/ and routing/ (the load test sends to the router's entry). Nothing imports delivery/.
 */
const CONCERNS: Record<string, readonly string[]> = {
    platform: [],
    routing: ["platform"],
    observability: ["platform"],
    delivery: ["platform", "routing"],
};

/** One cycle in a directed graph, as the path that closes it (`[a, b, a]`), or undefined. */
function findCycle(graph: Readonly<Record<string, readonly string[]>>): string[] | undefined {
    const done = new Set<string>();
    const visit = (node: string, stack: string[]): string[] | undefined => {
        const at = stack.indexOf(node);
        if (at >= 0) return [...stack.slice(at), node];
        if (done.has(node)) return undefined;
        for (const next of graph[node] ?? []) {
            const cycle = visit(next, [...stack, node]);
            if (cycle) return cycle;
        }
        done.add(node);
        return undefined;
    };
    for (const node of Object.keys(graph)) {
        const cycle = visit(node, []);
        if (cycle) return cycle;
    }
    return undefined;
}

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

    it("the stack program is the library's: it imports program/ only, never the command", () => {
        assert.deepStrictEqual(projectImports(path.join(ROOT, "index.ts")).filter((i) => i !== "program"), []);
    });

    it("rollout/ is the command only: the shared domain modules live in domain/", () => {
        for (const moved of ["stages.ts", "promql.ts", "tracks.ts", "decide.ts", "stats.ts"]) {
            assert.ok(fs.existsSync(path.join(ROOT, "domain", moved)), `domain/${moved}`);
            assert.ok(!fs.existsSync(path.join(ROOT, "rollout", moved)), `rollout/${moved}`);
        }
    });
});

describe("layout: components/ is one folder per concern", () => {
    const entries = fs.readdirSync(path.join(ROOT, "components"), { withFileTypes: true });

    it(`holds only the concern folders ${Object.keys(CONCERNS).join(", ")}`, () => {
        assert.deepStrictEqual(entries.filter((e) => !e.isDirectory()).map((e) => e.name), [], "no file directly in components/");
        assert.deepStrictEqual(entries.map((e) => e.name).sort(), Object.keys(CONCERNS).sort());
    });

    for (const [concern, allowed] of Object.entries(CONCERNS)) {
        it(`components/${concern}/ imports only ${[concern, ...allowed].join(", ")} of components/`, () => {
            const files = sources(path.join("components", concern));
            assert.ok(files.length > 0, `components/${concern}/ has sources`);
            for (const f of files) {
                const bad = importedModules(f)
                    .filter((m) => m.startsWith("components/"))
                    .map((m) => m.split("/")[1])
                    .filter((c) => c !== concern && !allowed.includes(c));
                assert.deepStrictEqual(bad, [], `${path.relative(ROOT, f)} imports components/${bad.join(", components/")}`);
            }
        });

        it(`components/${concern}/README.md has one row per file, and only those`, () => {
            const readme = fs.readFileSync(path.join(ROOT, "components", concern, "README.md"), "utf8");
            const named = [...readme.matchAll(/^\| `([A-Za-z]+\.ts)` \|/gm)].map((m) => m[1]).sort();
            const files = sources(path.join("components", concern)).map((f) => path.basename(f)).sort();
            assert.deepStrictEqual(named, files);
        });
    }
});

describe("layout: domain/ has no import cycle", () => {
    it("findCycle finds a cycle and none where there is none", () => {
        assert.deepStrictEqual(findCycle({ a: ["b"], b: ["c"], c: ["a"] }), ["a", "b", "c", "a"]);
        assert.deepStrictEqual(findCycle({ a: ["a"] }), ["a", "a"]);
        assert.strictEqual(findCycle({ a: ["b", "c"], b: ["c"], c: [] }), undefined);
    });

    it("no module of domain/ imports itself back through others", () => {
        const files = sources("domain");
        assert.ok(files.length > 1, "domain/ has sources");
        const graph = Object.fromEntries(
            files.map((f) => [path.relative(ROOT, f).replace(/\.ts$/, ""), importedModules(f).filter((m) => m.startsWith("domain/"))]),
        );
        assert.strictEqual(findCycle(graph), undefined, `domain/ imports in a circle: ${findCycle(graph)?.join(" → ")}`);
    });
});
