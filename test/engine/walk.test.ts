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
import { tempDir } from "../../demo/host";
import { startLive, steadyLoad } from "../../demo/live";
import { changes, devWithoutAddOns, Engine, oneDeploymentCopy, previewSteps, projectCopy, rolloutCommand, toolchainBin, writeStackConfig } from "../../demo/engine";

interface Row {
    readonly step: string;
    /** Resources the step's preview showed changing; undefined where the step ran no preview of its own. */
    readonly changed?: number;
    readonly preview?: number;
    readonly up?: number;
}

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
        config = { ...devWithoutAddOns(), "canary:gateway": { install: false, parentRef: { name: "shared", namespace: "gateways" } }, "kubernetes:renderYamlToDirectory": manifests };
        engine.ok(["stack", "init", "dev"], project);
        writeConfig({});
        await loadSchemaModels();
    });

    after(() => {
        if (rows.length === 0) return;
        const baseline = oneDeploymentPreview(engine);
        const stagePreviews = rows.filter((r) => r.step.includes("→") && r.up !== undefined && r.preview !== undefined).map((r) => r.preview as number);
        const median = stagePreviews.sort((a, b) => a - b)[Math.floor(stagePreviews.length / 2)] ?? NaN;
        const line = (cells: (string | number)[]) => `  ${cells.map((c, i) => String(c).padEnd(i === 0 ? 30 : 12)).join("")}`;
        console.log(line(["step", "changed", "preview s", "up s"]));
        for (const r of rows) console.log(line([r.step, r.changed ?? "-", r.preview?.toFixed(1) ?? "-", r.up?.toFixed(1) ?? "-"]));
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

    /** A stage move as the engine shows it: only the stage's objects change, and the stack records the stage, unverified. */
    const move = (from: number, weight: number): string[] => {
        const changed = step(`${from} → ${weight}`, { "canary:weight": weight });
        const touched = changed.map((c) => c.split(" ")[1]);
        assert.deepStrictEqual([...new Set(touched)].filter((n) => !STAGE_OBJECTS.includes(n)), [], changed.join(", "));
        assert.ok(changed.includes("update route-httproute") && changed.includes("update alerts-stage"), changed.join(", "));
        // The run and the Job are the stage's own objects: a new stage makes new ones, or at 0 none.
        for (const c of changed.filter((c) => !c.startsWith("update "))) assert.ok(RUN_OBJECTS.includes(c.split(" ")[1]), c);
        const out = outputs();
        assert.strictEqual(out.stage, weight);
        assert.strictEqual(out.stageGate, weight === 0 ? "no analysis at weight 0" : "rendered, not verified (kubernetes:renderYamlToDirectory)");
        assert.strictEqual(out.canaryEvidence, undefined, "a rendered stage carries no evidence");
        const weights = readManifest(manifests, "HTTPRoute", "podinfo").object.spec.rules.at(-1).backendRefs.map((b: { weight: number }) => b.weight);
        assert.deepStrictEqual(weights, [100 - weight, weight]);
        return changed;
    };
    const runName = () => readManifest(manifests, "AnalysisRun").object.metadata.name as string;

    let firstRunAt5 = "";
    it("0 → 5 → 25 → 50: each stage updates only the weighted route and the stage rule, and makes the stage's run and Job", () => {
        move(0, 5);
        firstRunAt5 = runName();
        move(5, 25);
        move(25, 50);
    });

    it("a rollback 50 → 0 updates the route and the rule and deletes the stage's run and Job", () => {
        const changed = move(50, 0);
        assert.ok(changed.includes("delete delivery-run") && changed.includes("delete load-job"), changed.join(", "));
        assert.throws(() => readManifest(manifests, "AnalysisRun"), /no rendered AnalysisRun/);
    });

    it("a re-entry 0 → 5 is a new run, not the first try's", () => {
        const changed = move(0, 5);
        assert.ok(changed.includes("create delivery-run"), changed.join(", "));
        assert.notStrictEqual(runName(), firstRunAt5, "the second try at 5 must be judged on its own window");
    });

    it("a skip is refused with the program's message, no stack trace, no slower than a stage's preview", () => {
        writeConfig({ "canary:weight": 100 });
        const r = engine.run(["preview"], project);
        assert.notStrictEqual(r.status, 0);
        assert.match(r.stdout, /canary:weight = 100 skips a stage: the stack last applied weight 5/);
        assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at .*\(.*:\d+:\d+\)/, "no JS stack trace");
        rows.push({ step: "refused skip 5 → 100", changed: 0, preview: r.seconds });
        const stagePreview = Math.max(...rows.filter((row) => row.step.includes("→") && row.up !== undefined).map((row) => row.preview ?? 0));
        assert.ok(r.seconds <= stagePreview, `the refusal took ${r.seconds.toFixed(1)} s, a stage's preview at most ${stagePreview.toFixed(1)} s`);
        writeConfig({ "canary:weight": 5 });
    });

    it("a stage whose update fails records nothing: the next stage is refused naming the last applied one", () => {
        // The weighted route's rendered file made unwritable (a directory in its place): the route's update fails.
        const routeFile = readManifest(manifests, "HTTPRoute", "podinfo").file;
        fs.rmSync(routeFile);
        fs.mkdirSync(routeFile);
        writeConfig({ "canary:weight": 25 });
        const failed = engine.run(["up", "--yes", "--skip-preview"], project);
        assert.notStrictEqual(failed.status, 0, failed.stdout);
        assert.match(failed.stdout, /route-httproute/);
        assert.doesNotMatch(failed.stdout + failed.stderr, /\n\s+at .*\(.*:\d+:\d+\)/, "no JS stack trace");
        assert.strictEqual(outputs().stage, 5, "the failed stage is not recorded");
        writeConfig({ "canary:weight": 50 });
        const refused = engine.run(["preview"], project);
        assert.notStrictEqual(refused.status, 0);
        assert.match(refused.stdout, /canary:weight = 50 skips a stage: the stack last applied weight 5/);
        fs.rmdirSync(routeFile);
        writeConfig({ "canary:weight": 5 });
        engine.ok(["up", "--yes", "--skip-preview"], project);
    });

    it("5 → 25 → 50 → 100", () => {
        move(5, 25);
        move(25, 50);
        move(50, 100);
    });

    it("promotion: stable takes the canary's image at weight 0; the stable Deployment is updated too, the run and Job deleted", () => {
        const app = config["canary:app"] as any;
        const changed = step("promotion", { "canary:weight": 0, "canary:app": { ...app, stable: { ...app.stable, image: app.canary.image } } });
        // Stable takes the canary's image; the canary, now the same version, scales to 0 (stacks/schema.ts).
        assert.ok(changed.includes("update podinfo-stable") && changed.includes("update podinfo-canary"), changed.join(", "));
        assert.ok(changed.includes("delete delivery-run") && changed.includes("delete load-job"), changed.join(", "));
        assert.deepStrictEqual(changed.filter((c) => !/ (podinfo-stable|podinfo-canary|route-httproute|alerts-stage|delivery-run|load-job)$/.test(c)), [], changed.join(", "));
        assert.strictEqual(readManifest(manifests, "Deployment", "podinfo-canary").object.spec.replicas, 0);
        const out = outputs();
        assert.strictEqual(out.stage, 0);
        assert.strictEqual(out.promotedVersion, "6.8.0");
    });

    it("every rendered manifest validates against the upstream schemas the unit lane uses", () => {
        const files = renderedFiles(manifests);
        // The stable and canary Deployments, Services, PDB, NetworkPolicy, ServiceMonitor, the route, the rules, the
        // dashboard, the judge's token Secret and the load test's objects: at least 15 (the judge runs elsewhere here).
        assert.ok(files.length >= 15, `${files.length} rendered files`);
        for (const f of files) validateObject(path.relative(manifests, f), YAML.parse(fs.readFileSync(f, "utf8")));
    });

    it("a secret set with `pulumi config set --secret` never appears in plain text: not in the messages, the stack file, the state or the manifests", () => {
        const secret = "https://hooks.slack.com/services/T0000/B0000/engine-lane-plaintext";
        engine.ok(["config", "set", "--secret", "canary:slackWebhookUrl", secret], project);
        config = YAML.parse(fs.readFileSync(path.join(project, "Pulumi.dev.yaml"), "utf8")).config;
        // Without the monitoring stack the receiver's URL has no use: refused, the value shown as [secret].
        const refused = engine.run(["preview"], project);
        assert.notStrictEqual(refused.status, 0);
        assert.match(refused.stdout, /canary:slackWebhookUrl = \[secret\]: is used only when canary:monitoring.install is true/);
        const said = [refused.stdout, refused.stderr, fs.readFileSync(path.join(project, "Pulumi.dev.yaml"), "utf8"), engine.ok(["stack", "export"], project).stdout, engine.ok(["stack", "output", "--json"], project).stdout];
        for (const text of [...said, ...renderedFiles(manifests).map((f) => fs.readFileSync(f, "utf8"))]) {
            assert.ok(!text.includes(secret) && !text.includes(Buffer.from(secret).toString("base64")), "the secret in plain text");
        }
        engine.ok(["config", "rm", "canary:slackWebhookUrl"], project);
        config = YAML.parse(fs.readFileSync(path.join(project, "Pulumi.dev.yaml"), "utf8")).config;
    });

    it("the policy pack in the engine: dev passes; a :latest image in a stack the pack treats as prod fails the preview", () => {
        const pack = path.join(ROOT, "policy", "analyzer");
        const passed = engine.ok(["preview", "--policy-pack", pack], project);
        assert.match(passed.stdout, /Policies:\s+✅ canary@v0\.1\.0/);
        const app = config["canary:app"] as any;
        writeConfig({ "canary:weight": 0, "canary:app": { ...app, canary: { image: "ghcr.io/stefanprodan/podinfo:latest", version: "6.9.0" } } });
        const packConfig = path.join(tempDir("engine-policy"), "policy-config.json");
        fs.writeFileSync(packConfig, JSON.stringify({ "prod-images-pinned": { prodStacks: ["dev"] } }));
        const failed = engine.run(["preview", "--policy-pack", pack, "--policy-pack-config", packConfig], project);
        assert.notStrictEqual(failed.status, 0, failed.stdout);
        assert.match(failed.stdout, /prod-images-pinned/);
        assert.match(failed.stdout, /image ghcr\.io\/stefanprodan\/podinfo:latest is not pinned by digest/);
        writeConfig({ "canary:app": app });
    });

    it("`rollout run --apply` against a real Prometheus: PROMOTE at 5, the next stage written and applied through the Automation API with this CLI", async () => {
        const app = config["canary:app"] as any;
        step("new canary 6.9.0 at 0", { "canary:weight": 0, "canary:app": { ...app, canary: { image: "ghcr.io/stefanprodan/podinfo:6.9.0" } } });
        move(0, 5);
        const live = await startLive();
        try {
            // Both tracks healthy and busy for longer than the stage's least time (45 s), bounded.
            const traffic = steadyLoad([live.ports.stable, live.ports.canary], 100, 100);
            const args = ["run", "--stack", "dev", "--prometheus", live.promUrl, "--scrape-interval", live.scrapeInterval, "--interval", "2s", "--timeout", "150s", "--apply", "--json"];
            const run = await rolloutCommand(args, project, engine.env);
            await traffic;
            assert.strictEqual(run.status, 0, `${run.stdout}\n${run.stderr}`);
            const report = JSON.parse(run.stdout.trim().split("\n").pop()!);
            assert.strictEqual(report.decision, "PROMOTE", JSON.stringify(report.reasons));
            assert.strictEqual(report.applied, true);
            // The command's own time: the analysis until PROMOTE, then the Automation API's `up`.
            rows.push({ step: "rollout run --apply 5 → 25", up: run.seconds });
        } finally {
            await live.stop();
        }
        // The engine applied it: the stack is at 25, and the command still reads the stack file it wrote.
        const out = outputs();
        assert.strictEqual(out.stage, 25);
        assert.strictEqual(readManifest(manifests, "HTTPRoute", "podinfo").object.spec.rules.at(-1).backendRefs[1].weight, 25);
        const status = await rolloutCommand(["status", "--stack", "dev", "--json"], project, engine.env);
        assert.strictEqual(status.status, 0, status.stderr);
        assert.strictEqual(JSON.parse(status.stdout).stage, 25, status.stdout);
        config = YAML.parse(fs.readFileSync(path.join(project, "Pulumi.dev.yaml"), "utf8")).config;
        engine.ok(["preview", "--expect-no-changes"], project);
    });

    it("prod on the ambient kube context is refused before anything is registered", () => {
        const prod = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8")).config as Record<string, unknown>;
        delete prod["kubernetes:context"];
        engine.ok(["stack", "init", "prod"], project);
        writeStackConfig(path.join(project, "Pulumi.prod.yaml"), prod);
        const r = engine.run(["preview", "--stack", "prod", "--json"], project);
        assert.notStrictEqual(r.status, 0);
        assert.match(r.stdout + r.stderr, /a prod stack must name its cluster: set kubernetes:context/);
        assert.deepStrictEqual(
            previewSteps(r.stdout).filter((s) => s.type !== "pulumi:pulumi:Stack").map((s) => `${s.op} ${s.type}`),
            [],
            "nothing registered, not even the provider",
        );
        engine.ok(["stack", "select", "dev"], project);
    });
});

/** The rendered manifest of a kind (and name), and its file: the provider writes one file per object. */
function readManifest(dir: string, kind: string, name?: string): { file: string; object: any } {
    for (const file of renderedFiles(dir)) {
        const object = YAML.parse(fs.readFileSync(file, "utf8"));
        if (object?.kind === kind && (name === undefined || object.metadata?.name === name)) return { file, object };
    }
    throw new Error(`no rendered ${kind} ${name ?? ""} in ${dir}`);
}

function renderedFiles(dir: string): string[] {
    return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith(".yaml")).map((e) => path.join(e.parentPath, e.name));
}

/** The one-Deployment program's preview on the same engine, in seconds: the floor a stage's preview is compared with. */
function oneDeploymentPreview(engine: Engine): number {
    return engine.ok(["preview"], oneDeploymentCopy(engine)).seconds;
}
