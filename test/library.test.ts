/**
 * The library a team imports: the package builds as `npm ci` builds it (`prepare`: tsc -p
 * tsconfig.lib.json), the example team program (examples/own-service) type-checks against it by package
 * name, and run under mocks it checks stages as the stack program does, under its own project's keys.
 */
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { bundleEntry } from "../lib/bundle";
import { JUDGE_ENTRY } from "../components/delivery/judge";
import { LOAD_ENTRY } from "../components/delivery/loadTest";
import { byName, ROOT, runProgram } from "./harness";

const tsc = (project: string) => execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", project], { cwd: ROOT, encoding: "utf8", stdio: "pipe" });
const PACKAGE = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
/** The example's stack file, as `pulumi up` would read it: keys without the `checkout:` prefix. */
const EXAMPLE_STACK = { weight: 0, app: { stable: { image: "registry.example.com/checkout:1.4.0" }, canary: { image: "registry.example.com/checkout:1.5.0" } } };
const PLATFORM_OUTPUTS = {
    prometheusUrl: "http://prometheus.monitoring:9090",
    monitoringNamespace: "monitoring",
    serviceMonitorLabels: {},
    ruleLabels: {},
    logging: true,
    tracing: false,
    rollouts: true,
    gateway: { parentRef: { name: "shared", namespace: "gateways", sectionName: "http" }, namespace: "gateways", entry: "http://canary-envoy.gateways.svc:80" },
};

describe("the library: a team's program imports the package", function () {
    this.timeout(180_000);
    before(() => tsc("tsconfig.lib.json"));

    it("the package's entry is the built library, with its types", () => {
        assert.deepStrictEqual(PACKAGE.exports["."], { types: "./dist/lib/program/index.d.ts", default: "./dist/lib/program/index.js" });
        const library = require(path.join(ROOT, PACKAGE.exports["."].default));
        for (const name of ["CanaryService", "CanaryPlatform", "checkTransition", "splitFor", "CanaryWorkload", "GatewayRouting", "ConfigError", "readStackArgs"]) assert.ok(library[name], name);
    });

    it("the example program type-checks against the package by its name", () => {
        assert.match(fs.readFileSync(path.join(ROOT, "examples/own-service/index.ts"), "utf8"), /from "canary"/);
        tsc("examples/own-service/tsconfig.json");
    });

    it("the package ships every source the cluster's bundles are built from", () => {
        const shipped = (f: string) => PACKAGE.files.some((entry: string) => f === entry || f.startsWith(`${entry}/`));
        for (const entry of [JUDGE_ENTRY, LOAD_ENTRY]) {
            const sources = bundleEntry(entry).inputs.filter((f) => !f.startsWith("node_modules/"));
            assert.deepStrictEqual(sources.filter((f) => !shipped(f)), [], entry);
        }
    });

    const runExample = (config: Record<string, unknown>, previous?: { stage: number; canaryVersion: string }) =>
        runProgram({ program: "example", stack: "dev", baseConfig: EXAMPLE_STACK, config, stackOutputs: { "acme/platform/dev": PLATFORM_OUTPUTS }, ...(previous ? { previous } : {}) });

    it("run under mocks, it builds the team's service on its platform", async () => {
        const r = await runExample({ weight: 5 }, { stage: 0, canaryVersion: "1.5.0" });
        assert.ifError(r.error);
        assert.deepStrictEqual(byName(r.resources, "checkout-canary").inputs.spec.template.spec.containers[0].image, "registry.example.com/checkout:1.5.0");
        assert.deepStrictEqual(byName(r.resources, "route-httproute").inputs.spec.parentRefs, [PLATFORM_OUTPUTS.gateway.parentRef]);
        assert.strictEqual(r.outputs.stage, 5);
    });

    it("its stage checks are the stack program's, under its own project's keys", async () => {
        const skip = await runExample({ weight: 50 }, { stage: 5, canaryVersion: "1.5.0" });
        assert.match(String(skip.error), /checkout:weight = 50 skips a stage: the stack last applied weight 5 for canary version 1\.5\.0, so canary version 1\.5\.0 may move to 0, 5, 25/);
        const bad = await runExample({ weight: 5, analysis: { deadline: "forever" } }, { stage: 0, canaryVersion: "1.5.0" });
        assert.match(String(bad.error), /checkout:analysis\.deadline = "forever"/);
        // Another key named in a message is named under the project's prefix too.
        const cross = await runExample({ weight: 7 }, { stage: 0, canaryVersion: "1.5.0" });
        assert.match(String(cross.error), /checkout:weight = 7: must be 0 or one of checkout:stages/);
        assert.deepStrictEqual(bad.resources.filter((x) => x.custom && x.type !== "pulumi:pulumi:StackReference"), [], "nothing but the platform's outputs read");
    });
});
