/**
 * The Prometheus the suites run is the one the chart deploys: scripts/prometheus.sh's versions are the
 * pinned kube-prometheus-stack's, its wrapper modules require exactly those, and the tools the suites
 * find first on PATH (test/hooks.ts) are the built ones saying those versions. And the build steps the
 * scripts share (scripts/steps.sh): one line per step, the go tool's noise in the step's log, a failing
 * command stopping its step and printing that log.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { CHARTS } from "../components/platform/versions";
import { ROOT, runTool, tempDir, usePrometheusTools } from "../demo/host";

const script = fs.readFileSync(path.join(ROOT, "scripts", "prometheus.sh"), "utf8");

/** A `NAME=value` line of scripts/prometheus.sh. */
function scriptVar(name: string): string {
    const m = new RegExp(`^${name}=(\\S+)$`, "m").exec(script);
    assert.ok(m, `scripts/prometheus.sh sets no ${name}`);
    return m[1];
}

/** The version a wrapper module's go.mod requires `module` at. */
function required(wrapper: string, module: string): string | undefined {
    const gomod = fs.readFileSync(path.join(ROOT, "tools", wrapper, "go.mod"), "utf8");
    return new RegExp(`^\\s+${module.replace(/[.]/g, "\\.")} (v\\S+)`, "m").exec(gomod)?.[1];
}

describe("scripts/prometheus.sh: Prometheus and Alertmanager at the chart's versions", () => {
    it("names the kube-prometheus-stack pin its versions were read from", () => {
        assert.strictEqual(scriptVar("CHART_VERSION"), CHARTS.kubePrometheusStack.version, "bump the versions in scripts/prometheus.sh with the chart (read them from the chart's values.yaml)");
    });

    it("builds from wrapper modules that require exactly those versions", () => {
        // Prometheus v3.X.Y is tagged v3.X.Y but published as the Go module version v0.3XX.Y (X two digits).
        const [major, minor, patch] = scriptVar("PROMETHEUS_VERSION").split(".").map(Number);
        assert.strictEqual(major, 3);
        assert.strictEqual(required("prometheus", "github.com/prometheus/prometheus"), `v0.${300 + minor}.${patch}`);
        assert.strictEqual(required("alertmanager", "github.com/prometheus/alertmanager"), `v${scriptVar("ALERTMANAGER_VERSION")}`);
    });

    it("puts the built tools first on PATH, each saying its pinned version", () => {
        const bin = usePrometheusTools();
        const want: Record<string, string> = {
            prometheus: scriptVar("PROMETHEUS_VERSION"),
            promtool: scriptVar("PROMETHEUS_VERSION"),
            alertmanager: scriptVar("ALERTMANAGER_VERSION"),
            amtool: scriptVar("ALERTMANAGER_VERSION"),
        };
        for (const [tool, version] of Object.entries(want)) {
            assert.strictEqual(runTool("bash", ["-c", `command -v ${tool}`]).stdout.trim(), path.join(bin, tool), `the ${tool} found first on PATH`);
            const r = runTool(tool, ["--version"]);
            assert.strictEqual(r.status, 0, r.output);
            assert.match(r.output.split("\n")[0], new RegExp(`^${tool}, version ${version.replace(/\./g, "\\.")} `));
        }
    });
});

describe("scripts/steps.sh: the build scripts' steps", () => {
    /** Runs `step out thing <body>` as the scripts do (set -euo pipefail, `say` on stderr) in a fresh cache. */
    function runStep(body: string) {
        const cache = tempDir("steps");
        const r = spawnSync(
            "bash",
            ["-c", `set -euo pipefail; say() { echo "test: $*" >&2; }; cache=$1; . scripts/steps.sh; work() { ${body}; }; step out "the thing" work; echo "after the step"`, "bash", cache],
            { cwd: ROOT, encoding: "utf8", timeout: 30_000 },
        );
        return { ...r, cache, log: path.join(cache, "logs", "out.log") };
    }

    it("prints one line with its time; what the step printed goes to its log", () => {
        const r = runStep(`echo "go: downloading example.com/m v1.0.0"; echo compiled >&2; touch "$cache/out"`);
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stderr, /^test: \d\d:\d\d:\d\d built the thing in \d+ s \(log: .*out\.log\)\n$/);
        assert.strictEqual(r.stdout, "after the step\n");
        assert.strictEqual(fs.readFileSync(r.log, "utf8"), "go: downloading example.com/m v1.0.0\ncompiled\n");
    });

    it("is skipped when its output exists", () => {
        const r = runStep(`touch "$cache/out"`);
        assert.strictEqual(r.status, 0, r.stderr);
        const again = spawnSync("bash", ["-c", `set -euo pipefail; say() { echo "test: $*" >&2; }; cache=$1; . scripts/steps.sh; step out "the thing" false`, "bash", r.cache], { cwd: ROOT, encoding: "utf8" });
        assert.strictEqual(again.status, 0, again.stderr);
        assert.strictEqual(again.stderr, "");
    });

    it("stops at a failing command in the middle, prints the log without the downloads, and stops the script", () => {
        const r = runStep(`echo "go: downloading example.com/m v1.0.0"; echo "main.go:1: undefined: x" >&2; false; touch "$cache/out"`);
        assert.notStrictEqual(r.status, 0);
        assert.ok(!fs.existsSync(path.join(r.cache, "out")), "the command after the failing one ran");
        assert.doesNotMatch(r.stdout, /after the step/);
        assert.match(r.stderr, /building the thing FAILED after \d+ s \(exit 1\); its log, .*out\.log, ends:\nmain\.go:1: undefined: x\n$/);
    });
});
