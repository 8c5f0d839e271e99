/**
 * The rule groups the program registers, checked by the real promtool: `check rules` on the rule
 * file, and `test rules` on the unit tests in test/promtool/ (every alert fires in one case and stays
 * quiet in another; recording rules are checked with promql_expr_test).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { ALERT_NAMES, isAlert, RuleGroup } from "../components/observability/rules";
import { PRESET_NAMES, type MetricPreset } from "../domain/promql";
import { byName, ROOT, runProgram } from "./harness";
import { runTool, tempDir } from "../demo/host";
import { highErrorRateAlert } from "./tools";

const SUITES = path.join(ROOT, "test", "promtool");

async function registeredGroups(weight: number, metrics: Record<string, unknown> = {}): Promise<{ app: RuleGroup[]; stage: RuleGroup[] }> {
    const { error, resources } = await runProgram({ stack: "dev", config: { weight, metrics } });
    assert.ifError(error);
    return { app: byName(resources, "alerts-rules").inputs.spec.groups, stage: byName(resources, "alerts-stage").inputs.spec.groups };
}

/**
 * One request series as each instrumentation exports it, written out here rather than from the presets,
 * so the rules are checked against the names the apps use and not against themselves: podinfo's
 * histogram (stefanprodan/podinfo pkg/api/http/metrics.go), OpenTelemetry's `http.server.request.duration`
 * through the Prometheus translation (attributes with `_` for `.`, the instrumentation scope's labels),
 * and Micrometer's `http.server.requests` timer (Spring Boot's tags).
 */
const SHAPES: Record<MetricPreset, { readonly count: string; readonly labels: (route: "user" | "probe", status: number) => string }> = {
    "prom-client": {
        count: "http_request_duration_seconds_count",
        labels: (route, status) => `path="${route === "user" ? "orders" : "healthz"}", method="GET", status="${status}"`,
    },
    opentelemetry: {
        count: "http_server_request_duration_seconds_count",
        labels: (route, status) =>
            `http_route="${route === "user" ? "/orders" : "/healthz"}", http_request_method="GET", http_response_status_code="${status}", url_scheme="http", network_protocol_version="1.1", otel_scope_name="@opentelemetry/instrumentation-http"`,
    },
    micrometer: {
        count: "http_server_requests_seconds_count",
        labels: (route, status) =>
            `uri="${route === "user" ? "/orders" : "/actuator/health"}", method="GET", status="${status}", outcome="${status >= 500 ? "SERVER_ERROR" : status >= 400 ? "CLIENT_ERROR" : "SUCCESS"}", exception="None"`,
    },
};

/**
 * The promtool suite of one preset's rules: the canary's 5xx on a user route fire CanaryHighErrorRate
 * although the probes' successes beside them would dilute the ratio under the threshold, and neither a
 * failing probe nor 4xx are the canary's errors.
 */
function presetSuite(preset: MetricPreset): unknown {
    const shape = SHAPES[preset];
    const series = (track: string, route: "user" | "probe", status: number, perMinute: number) => ({
        series: `${shape.count}{namespace="podinfo", app="podinfo", track="${track}", ${shape.labels(route, status)}}`,
        values: `0+${perMinute}x30`,
    });
    const canary = 'track:http_requests:rate5m{namespace="podinfo", app="podinfo", track="canary"}';
    return {
        rule_files: [`rules-${preset}.yaml`, "stage-25.yaml"],
        evaluation_interval: "1m",
        tests: [
            {
                name: `${preset}: the canary's 5xx fire, its probes are not counted`,
                interval: "1m",
                input_series: [series("stable", "user", 200, 600), series("canary", "user", 200, 540), series("canary", "user", 500, 60), series("stable", "probe", 200, 3000), series("canary", "probe", 200, 3000)],
                promql_expr_test: [{ expr: 'track:http_requests:rate5m{track="canary"}', eval_time: "10m", exp_samples: [{ labels: canary, value: 10 }] }],
                alert_rule_test: [highErrorRateAlert(10, "https://github.com/example/canary/blob/main/docs/runbooks")],
            },
            {
                name: `${preset}: a failing probe and 4xx are not the canary's errors`,
                interval: "1m",
                input_series: [series("stable", "user", 200, 600), series("canary", "user", 200, 540), series("canary", "user", 404, 60), series("canary", "probe", 500, 600)],
                promql_expr_test: [{ expr: 'track:http_errors:rate5m{track="canary"}', eval_time: "10m", exp_samples: [{ labels: 'track:http_errors:rate5m{namespace="podinfo", app="podinfo", track="canary"}', value: 0 }] }],
                alert_rule_test: [{ eval_time: "10m", alertname: "CanaryHighErrorRate", exp_alerts: [] }],
            },
        ],
    };
}

describe("promtool: the registered rules", function () {
    this.timeout(120_000);
    let dir: string;

    before(async () => {
        dir = tempDir("promtool");
        const at25 = await registeredGroups(25);
        const at0 = await registeredGroups(0);
        fs.writeFileSync(path.join(dir, "rules.yaml"), YAML.stringify({ groups: at25.app }));
        fs.writeFileSync(path.join(dir, "stage-25.yaml"), YAML.stringify({ groups: at25.stage }));
        fs.writeFileSync(path.join(dir, "stage-0.yaml"), YAML.stringify({ groups: at0.stage }));
        assert.deepStrictEqual(at0.app, at25.app, "only the stage rule depends on the weight");
        for (const f of fs.readdirSync(SUITES)) fs.copyFileSync(path.join(SUITES, f), path.join(dir, f));
        for (const preset of PRESET_NAMES) {
            fs.writeFileSync(path.join(dir, `rules-${preset}.yaml`), YAML.stringify({ groups: (await registeredGroups(25, { preset })).app }));
            fs.writeFileSync(path.join(dir, `preset-${preset}.test.yaml`), YAML.stringify(presetSuite(preset)));
        }
    });

    it("pass `promtool check rules`", () => {
        const r = runTool("promtool", ["check", "rules", "rules.yaml", "stage-25.yaml", "stage-0.yaml"], dir);
        assert.strictEqual(r.status, 0, r.output);
        assert.match(r.output, /SUCCESS: \d+ rules found/);
    });

    it("pass `promtool test rules`: every alert fires when it should and stays quiet when it should", () => {
        const suites = fs.readdirSync(SUITES).filter((f) => f.endsWith(".test.yaml"));
        const r = runTool("promtool", ["test", "rules", ...suites], dir);
        assert.strictEqual(r.status, 0, r.output);
        assert.doesNotMatch(r.output, /FAILED/);
    });

    it("each preset's rules on series shaped as its instrumentation exports them: 5xx fire CanaryHighErrorRate, probes and 4xx are not counted", () => {
        const r = runTool("promtool", ["test", "rules", ...PRESET_NAMES.map((p) => `preset-${p}.test.yaml`)], dir);
        assert.strictEqual(r.status, 0, r.output);
        assert.doesNotMatch(r.output, /FAILED/);
        assert.strictEqual((r.output.match(/SUCCESS/g) ?? []).length, PRESET_NAMES.length, r.output);
    });

    it("the unit tests cover every alert both ways", () => {
        const fired = new Set<string>();
        const quiet = new Set<string>();
        for (const f of fs.readdirSync(SUITES).filter((x) => x.endsWith(".test.yaml"))) {
            const doc = YAML.parse(fs.readFileSync(path.join(SUITES, f), "utf8"));
            for (const t of doc.tests) {
                for (const a of t.alert_rule_test ?? []) (a.exp_alerts.length > 0 ? fired : quiet).add(a.alertname);
            }
        }
        // The Watchdog always fires: it has no quiet case by design.
        for (const name of ALERT_NAMES) {
            assert.ok(fired.has(name), `${name} has no firing case`);
            if (name !== "Watchdog") assert.ok(quiet.has(name), `${name} has no quiet case`);
        }
    });

    it("every alert the program defines is a row of docs/observability.md's alert table, with its severity and runbook_url", async () => {
        const { app } = await registeredGroups(25);
        const alerts = app.flatMap((g) => g.rules).filter(isAlert);
        assert.deepStrictEqual([...new Set(alerts.map((a) => a.alert))].sort(), [...ALERT_NAMES].sort());
        // The page's table, below its header `| alert | severity | fires when | runbook |`; two severities as `critical / warning`.
        const rows = [...fs.readFileSync(path.join(ROOT, "docs", "observability.md"), "utf8").matchAll(/^\| ([A-Z]\w+) \| ([a-z /]+) \|/gm)];
        const documented = new Map(rows.map(([, alert, severity]) => [alert, severity.split(" / ")]));
        assert.deepStrictEqual([...documented.keys()].sort(), [...ALERT_NAMES].sort(), "docs/observability.md's alerts");
        for (const a of alerts) {
            assert.ok(["critical", "warning", "info"].includes(a.labels.severity), `${a.alert} severity`);
            assert.ok(documented.get(a.alert)?.includes(a.labels.severity), `${a.alert}: severity ${a.labels.severity}, docs/observability.md says ${documented.get(a.alert)?.join(" / ")}`);
            assert.strictEqual(a.annotations.runbook_url, `https://github.com/example/canary/blob/main/docs/runbooks/${a.alert}.md`);
            assert.ok(fs.existsSync(path.join(ROOT, "docs", "runbooks", `${a.alert}.md`)), `docs/runbooks/${a.alert}.md is missing`);
        }
    });
});
