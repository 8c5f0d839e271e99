/**
 * The engine lane: the dev stack through the real Pulumi engine (the toolchain's CLI, language host and
 * Kubernetes provider) on a file backend, rendered to a directory with the add-ons off. Every assertion
 * reads what the engine itself printed or wrote: `pulumi preview --json`, the exit code and messages
 * of `pulumi up`, `pulumi stack output` and `pulumi stack export`, and the rendered manifests.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { ROOT } from "../harness";
import { loadSchemaModels, validateObject } from "../manifests";
import { tempDir } from "../tools";
import { Engine, PreviewStep, previewSteps, toolchainBin, urnName } from "./pulumi";

/** A stack's own config over the repository's dev file: the add-ons off, nothing fetched, rendered. */
function renderedDevConfig(manifests: string): Record<string, unknown> {
    const dev = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8")).config as Record<string, unknown>;
    return {
        ...dev,
        "canary:monitoring": { install: false, prometheusUrl: "http://prometheus-operated.monitoring.svc:9090" },
        "canary:analysis": { installController: false },
        "canary:tls": { installCertManager: false },
        "canary:logging": { enabled: false },
        "canary:tracing": { enabled: false },
        "canary:gateway": { install: false, parentRef: { name: "shared", namespace: "gateways" } },
        "canary:loadTest": { target: "https://shared.gateways.svc:443" },
        "kubernetes:renderYamlToDirectory": manifests,
    };
}

/** A project directory of its own: the repository's files linked in, the stack file written here. */
function projectCopy(): string {
    const dir = tempDir("engine-project");
    for (const entry of fs.readdirSync(ROOT)) {
        if (/^Pulumi\..+\.yaml$/.test(entry) || entry === ".git") continue;
        fs.symlinkSync(path.join(ROOT, entry), path.join(dir, entry));
    }
    return dir;
}

interface Row {
    readonly step: string;
    readonly changed: number;
    readonly preview: number;
    readonly up?: number;
}

/** The steps that change something, as `op name`; every run reads its own last outputs (the StackReference), which changes nothing. */
const changes = (steps: readonly PreviewStep[]) =>
    steps
        .filter((s) => s.op !== "same" && s.type !== "pulumi:pulumi:Stack" && !(s.op === "read" && s.type === "pulumi:pulumi:StackReference"))
        .map((s) => `${s.op} ${urnName(s.urn)}`)
        .sort();

/** What a stage move may touch: the weighted route, the stage rule, and the stage's own run and load Job. */
const STAGE_OBJECTS = ["route-httproute", "alerts-stage", "delivery-run", "load-job"];
const RUN_OBJECTS = ["delivery-run", "load-job"];

describe("the real Pulumi engine: the dev stack rendered, stage by stage", function () {
    this.timeout(60 * 60_000);
    let engine: Engine;
    let project: string;
    let manifests: string;
    let config: Record<string, unknown>;
    const rows: Row[] = [];

    const writeConfig = (extra: Record<string, unknown>) => {
        config = { ...config, ...extra };
        writeStackConfig(path.join(project, "Pulumi.dev.yaml"), config);
    };
    const outputs = () => JSON.parse(engine.ok(["stack", "output", "--json", "--show-secrets"], project).stdout) as Record<string, any>;

    /** One step as a user takes it: the preview diff, then `up`, then a preview that must find nothing. */
    const step = (name: string, extra: Record<string, unknown>): string[] => {
        writeConfig(extra);
        const preview = engine.ok(["preview", "--json", "--diff"], project);
        const changed = changes(previewSteps(preview.stdout));
        const up = engine.ok(["up", "--yes", "--skip-preview"], project);
        engine.ok(["preview", "--expect-no-changes"], project);
        rows.push({ step: name, changed: changed.length, preview: preview.seconds, up: up.seconds });
        return changed;
    };

    before(async () => {
        engine = new Engine(toolchainBin());
        project = projectCopy();
        manifests = path.join(tempDir("engine-manifests"), "out");
        config = renderedDevConfig(manifests);
        engine.ok(["stack", "init", "dev"], project);
        writeConfig({});
        await loadSchemaModels();
    });

    after(() => {
        if (rows.length === 0) return;
        const baseline = oneDeploymentPreview(engine);
        const stagePreviews = rows.filter((r) => r.step.includes("→")).map((r) => r.preview);
        const median = stagePreviews.sort((a, b) => a - b)[Math.floor(stagePreviews.length / 2)] ?? NaN;
        const line = (cells: (string | number)[]) => `  ${cells.map((c, i) => String(c).padEnd(i === 0 ? 30 : 12)).join("")}`;
        console.log(line(["step", "changed", "preview s", "up s"]));
        for (const r of rows) console.log(line([r.step, r.changed, r.preview.toFixed(1), r.up?.toFixed(1) ?? "-"]));
        console.log(`  a stage's preview (median) ${median.toFixed(1)} s; a one-Deployment program's preview ${baseline.toFixed(1)} s on the same engine: ${(median / baseline).toFixed(2)} x`);
    });

    it("the first up at weight 0 creates the stack's objects and records stage 0", () => {
        const created = step("first up at 0", {});
        assert.ok(created.length > 20 && created.every((c) => c.startsWith("create ")), created.join(", "));
        assert.ok(!created.some((c) => /delivery-run|load-job/.test(c)), "no run and no load at 0");
        const out = outputs();
        assert.strictEqual(out.stage, 0);
        assert.strictEqual(out.stageGate, "no analysis at weight 0");
    });

    it("0 → 5 → 25 → 50 → 100: each stage updates only the weighted route, the stage rule and the stage's run and Job", () => {
        let from = 0;
        for (const weight of [5, 25, 50, 100]) {
            const changed = step(`${from} → ${weight}`, { "canary:weight": weight });
            const touched = changed.map((c) => c.split(" ")[1]);
            assert.deepStrictEqual([...new Set(touched)].filter((n) => !STAGE_OBJECTS.includes(n)), [], changed.join(", "));
            assert.ok(changed.includes("update route-httproute") && changed.includes("update alerts-stage"), changed.join(", "));
            // The run and the Job are the stage's own objects: a new stage makes new ones.
            for (const c of changed.filter((c) => !c.startsWith("update "))) assert.ok(RUN_OBJECTS.includes(c.split(" ")[1]), c);
            const out = outputs();
            assert.strictEqual(out.stage, weight);
            assert.strictEqual(out.stageGate, "rendered, not verified (kubernetes:renderYamlToDirectory)");
            assert.strictEqual(out.canaryEvidence, undefined, "a rendered stage carries no evidence");
            const route = readManifest(manifests, "HTTPRoute", "podinfo");
            const weights = route.spec.rules.at(-1).backendRefs.map((b: { weight: number }) => b.weight);
            assert.deepStrictEqual(weights, [100 - weight, weight]);
            from = weight;
        }
    });

    it("promotion: stable takes the canary's image at weight 0; the stable Deployment is updated too, the run and Job deleted", () => {
        const canaryImage = (config["canary:app"] as any).canary.image as string;
        const app = config["canary:app"] as any;
        const changed = step("promotion", { "canary:weight": 0, "canary:app": { ...app, stable: { ...app.stable, image: canaryImage } } });
        assert.ok(changed.includes("update podinfo-stable"), changed.join(", "));
        assert.ok(changed.includes("delete delivery-run") && changed.includes("delete load-job"), changed.join(", "));
        const out = outputs();
        assert.strictEqual(out.stage, 0);
        assert.strictEqual(out.promotedVersion, "6.8.0");
    });
});

/** The rendered manifest of a kind and name (the provider writes one file per object). */
export function readManifest(dir: string, kind: string, name: string): any {
    for (const f of renderedFiles(dir)) {
        const o = YAML.parse(fs.readFileSync(f, "utf8"));
        if (o?.kind === kind && o.metadata?.name === name) return o;
    }
    throw new Error(`no rendered ${kind} ${name} in ${dir}`);
}

export function renderedFiles(dir: string): string[] {
    return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith(".yaml")).map((e) => path.join(e.parentPath, e.name));
}

/** The one-Deployment program's preview on the same engine, in seconds: the floor a stage's preview is compared with. */
function oneDeploymentPreview(engine: Engine): number {
    const dir = tempDir("engine-one");
    for (const f of ["Pulumi.yaml", "index.ts"]) fs.copyFileSync(path.join(ROOT, "test", "engine", "one-deployment", f), path.join(dir, f));
    for (const f of ["node_modules", "tsconfig.json", "package.json"]) fs.symlinkSync(path.join(ROOT, f), path.join(dir, f));
    engine.ok(["stack", "init", "one"], dir);
    writeStackConfig(path.join(dir, "Pulumi.one.yaml"), { "kubernetes:renderYamlToDirectory": path.join(dir, "out") });
    return engine.ok(["preview"], dir).seconds;
}

/** Writes a stack file's config, keeping what `pulumi stack init` put there (the passphrase's salt). */
function writeStackConfig(file: string, config: Record<string, unknown>): void {
    const current = fs.existsSync(file) ? (YAML.parse(fs.readFileSync(file, "utf8")) ?? {}) : {};
    fs.writeFileSync(file, YAML.stringify({ ...current, config }));
}

void validateObject;
