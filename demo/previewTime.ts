/**
 * A stage's `pulumi preview` through the real engine against the one-Deployment program's, as the engine
 * lane's table compares them (test/engine/walk.test.ts), without the rest of the lane: the dev stack with
 * the add-ons off, rendered to a directory, applied once at weight 0, then previewed at weight 5 (the move
 * 0 → 5) N times, each round back to back with a preview of test/engine/one-deployment. Prints the medians,
 * their ratio and the spread of the rounds' ratios.
 *
 *   ts-node --transpile-only demo/previewTime.ts --bin <toolchain bin dir> [--runs N]
 *
 * `--bin` is the toolchain's bin dir (scripts/toolchain.sh prints it; without `--bin` it is run for it).
 */
import * as os from "os";
import * as path from "path";
import { numberOption, optionHelp, OptionSpec, parseOptions, stringOption } from "../lib/args";
import { exitOnProblem } from "../lib/system";
import { devWithoutAddOns, Engine, oneDeploymentCopy, projectCopy, toolchainBin, writeStackConfig } from "./engine";
import { removeTempDirs, tempDir } from "./host";

const OPTIONS: OptionSpec[] = [
    { name: "bin", value: "DIR", help: "the toolchain's bin dir (default: what scripts/toolchain.sh prints)" },
    { name: "runs", value: "N", help: "rounds, each a preview of both programs (default 5)" },
    { name: "help", help: "this help" },
];

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The dev stack applied at 0 and configured at 5: each preview shows the stage move. */
function canaryProject(engine: Engine): string {
    const project = projectCopy();
    const config = {
        ...devWithoutAddOns(),
        "canary:gateway": { install: false, parentRef: { name: "shared", namespace: "gateways" } },
        "kubernetes:renderYamlToDirectory": path.join(tempDir("preview-manifests"), "out"),
    };
    engine.ok(["stack", "init", "dev"], project);
    writeStackConfig(path.join(project, "Pulumi.dev.yaml"), config);
    engine.ok(["up", "--yes", "--skip-preview"], project);
    writeStackConfig(path.join(project, "Pulumi.dev.yaml"), { ...config, "canary:weight": 5 });
    return project;
}

function main(argv: readonly string[]): void {
    const o = parseOptions(argv, OPTIONS, "previewTime");
    if (o.help) {
        process.stdout.write(["usage: ts-node --transpile-only demo/previewTime.ts [options]: a stage's preview against the one-Deployment program's", ...optionHelp(OPTIONS)].join("\n") + "\n");
        return;
    }
    const runs = numberOption(o, "runs", 5, 1, 50, true);
    const engine = new Engine(stringOption(o, "bin") ?? toolchainBin());
    try {
        const canary = canaryProject(engine);
        const one = oneDeploymentCopy(engine);
        const rounds: { canary: number; one: number }[] = [];
        for (let i = 0; i < runs; i++) {
            // Alternating order: neither program always runs right after the other warmed a cache.
            const order = i % 2 === 0 ? (["canary", "one"] as const) : (["one", "canary"] as const);
            const seconds = Object.fromEntries(order.map((p) => [p, engine.ok(["preview"], p === "canary" ? canary : one).seconds]));
            rounds.push({ canary: seconds.canary, one: seconds.one });
        }
        const c = median(rounds.map((r) => r.canary));
        const b = median(rounds.map((r) => r.one));
        const ratios = rounds.map((r) => r.canary / r.one);
        const load = os.loadavg().map((l) => l.toFixed(1)).join(", ");
        process.stdout.write(`pulumi preview, ${runs} rounds (load average ${load}); seconds\n`);
        for (const r of rounds) process.stdout.write(`  stage 0 → 5 ${r.canary.toFixed(1).padStart(6)}   one Deployment ${r.one.toFixed(1).padStart(6)}   ${(r.canary / r.one).toFixed(2)}x\n`);
        process.stdout.write(`median: a stage's preview ${c.toFixed(1)} s, the one-Deployment program's ${b.toFixed(1)} s: ${(c / b).toFixed(2)}x (rounds ${Math.min(...ratios).toFixed(2)}x to ${Math.max(...ratios).toFixed(2)}x)\n`);
    } finally {
        removeTempDirs();
    }
}

if (require.main === module) exitOnProblem(() => main(process.argv.slice(2)));
