/**
 * The Alertmanager config the program renders, checked by the real amtool: `check-config`, and
 * `config routes test` for where each severity goes.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { alertmanagerConfig, ReceiverSettings } from "../components/alertmanager";
import { byName, runProgram } from "./harness";
import { runTool, tempDir } from "../demo/host";

const dir = tempDir("amtool");

function writeConfig(name: string, config: unknown): string {
    const file = path.join(dir, `${name}.yaml`);
    fs.writeFileSync(file, YAML.stringify(config));
    return file;
}

/** The receivers amtool routes a set of labels to. */
function routesFor(file: string, labels: Record<string, string>): string[] {
    const r = runTool("amtool", ["config", "routes", "test", `--config.file=${file}`, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)]);
    assert.strictEqual(r.status, 0, r.output);
    return r.stdout.trim().split(",").map((s) => s.trim()).sort();
}

describe("Alertmanager config (amtool)", function () {
    this.timeout(60_000);
    const variants: [string, ReceiverSettings][] = [
        ["no receivers", { pagerduty: false }],
        ["Slack only", { slackChannel: "#alerts", pagerduty: false }],
        ["PagerDuty only", { pagerduty: true }],
        ["Slack and PagerDuty", { slackChannel: "#alerts", pagerduty: true }],
    ];
    for (const [what, settings] of variants) {
        it(`${what}: passes amtool check-config`, () => {
            const r = runTool("amtool", ["check-config", writeConfig(what.replace(/\W+/g, "-"), alertmanagerConfig(settings))]);
            assert.strictEqual(r.status, 0, r.output);
            assert.match(r.output, /SUCCESS/);
        });
    }

    it("routes critical to PagerDuty and Slack, warning to Slack, info and the Watchdog nowhere", () => {
        const file = writeConfig("both", alertmanagerConfig({ slackChannel: "#alerts", pagerduty: true }));
        assert.deepStrictEqual(routesFor(file, { alertname: "CanaryHighErrorRate", severity: "critical" }), ["pagerduty", "slack"]);
        assert.deepStrictEqual(routesFor(file, { alertname: "CanaryHighLatency", severity: "warning" }), ["slack"]);
        assert.deepStrictEqual(routesFor(file, { alertname: "Something", severity: "info" }), ["null"]);
        assert.deepStrictEqual(routesFor(file, { alertname: "Watchdog", severity: "info" }), ["null"]);
    });

    it("without Slack, critical still pages and warning goes nowhere", () => {
        const file = writeConfig("pd", alertmanagerConfig({ pagerduty: true }));
        assert.deepStrictEqual(routesFor(file, { alertname: "X", severity: "critical" }), ["pagerduty"]);
        assert.deepStrictEqual(routesFor(file, { alertname: "X", severity: "warning" }), ["null"]);
    });

    it("critical inhibits warning of the same alert and namespace", () => {
        const inhibit = (alertmanagerConfig({ pagerduty: true }).inhibit_rules as any[])[0];
        assert.deepStrictEqual(inhibit, { source_matchers: ['severity = "critical"'], target_matchers: ['severity = "warning"'], equal: ["alertname", "namespace"] });
    });

    it("the config the program renders into the kube-prometheus-stack values passes amtool", async () => {
        const { error, resources } = await runProgram({
            stack: "prod",
            config: { slackWebhookUrl: "https://hooks.slack.com/services/T000/B000/XXXX", pagerdutyRoutingKey: "0123456789abcdef0123456789abcdef" },
            secretKeys: ["slackWebhookUrl", "pagerdutyRoutingKey"],
        });
        assert.ifError(error);
        const values = byName(resources, "monitoring-kube-prometheus-stack").inputs.values;
        const file = writeConfig("rendered", values.alertmanager.config);
        const r = runTool("amtool", ["check-config", file]);
        assert.strictEqual(r.status, 0, r.output);
        assert.deepStrictEqual(routesFor(file, { alertname: "X", severity: "critical" }), ["pagerduty", "slack"]);
        assert.deepStrictEqual(values.alertmanager.alertmanagerSpec.secrets, ["alertmanager-receivers"]);
    });
});
