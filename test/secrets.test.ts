/**
 * Slack, PagerDuty and Grafana credentials and a configured canary header value reach the cluster only as secret outputs: inside Pulumi's
 * secret envelope, in Kubernetes Secrets, never in Helm values, ConfigMaps or stack outputs.
 */
import * as assert from "assert";
import { byName, isSecretEnvelope, ofType, runProgram } from "./harness";

const SLACK = "https://hooks.slack.com/services/T0000/B0000/secretsecretsecret";
const PAGERDUTY = "abcdef0123456789abcdef0123456789";
const GRAFANA = "correct-horse-battery-staple";
const HEADER_VALUE = "s3cr3theadervalue0123456789abcdefgh";
const SECRET_VALUES = [SLACK, PAGERDUTY, GRAFANA, HEADER_VALUE];

/** Paths where a secret value appears outside a secret envelope. */
function plaintextLeaks(v: unknown, path = ""): string[] {
    if (isSecretEnvelope(v)) return [];
    if (typeof v === "string") return SECRET_VALUES.some((s) => v.includes(s)) ? [path] : [];
    if (Array.isArray(v)) return v.flatMap((x, i) => plaintextLeaks(x, `${path}[${i}]`));
    if (v && typeof v === "object") return Object.entries(v).flatMap(([k, x]) => plaintextLeaks(x, `${path}.${k}`));
    return [];
}

describe("secrets reach the cluster only as secret outputs", () => {
    const run = () =>
        runProgram({
            stack: "prod",
            config: { slackWebhookUrl: SLACK, pagerdutyRoutingKey: PAGERDUTY, grafanaAdminPassword: GRAFANA, header: { enabled: true, value: HEADER_VALUE } },
            secretKeys: ["slackWebhookUrl", "pagerdutyRoutingKey", "grafanaAdminPassword"],
        });

    it("no registered resource carries a secret in plain text", async () => {
        const { error, resources } = await run();
        assert.ifError(error);
        const leaks = resources.flatMap((r) => plaintextLeaks(r.wireInputs).map((p) => `${r.type} ${r.name}${p}`));
        assert.deepStrictEqual(leaks, []);
    });

    it("the Secrets hold them, as secret outputs", async () => {
        const { resources } = await run();
        const receivers = byName(resources, "monitoring-receivers");
        assert.ok(isSecretEnvelope(receivers.wireInputs.stringData), "receivers' stringData is a secret");
        assert.deepStrictEqual(receivers.inputs.stringData, { "slack-webhook-url": SLACK, "pagerduty-routing-key": PAGERDUTY });
        const grafana = byName(resources, "monitoring-grafana-admin");
        assert.ok(isSecretEnvelope(grafana.wireInputs.stringData));
        assert.strictEqual(grafana.inputs.stringData["admin-password"], GRAFANA);
        assert.deepStrictEqual(ofType(resources, "random:index/randomPassword:RandomPassword").map((r) => r.name), ["delivery-judge-token"], "a configured password is used, not generated: only the judge's token is");
    });

    it("neither the Helm values nor the stack outputs contain them, but for the canary header's own secret output", async () => {
        const { resources, outputs, secretOutputs } = await run();
        const values = JSON.stringify(byName(resources, "monitoring-kube-prometheus-stack").inputs.values);
        const plainOutputs = JSON.stringify(Object.entries(outputs).filter(([k]) => !secretOutputs.includes(k)));
        for (const s of SECRET_VALUES) {
            assert.ok(!values.includes(s), "Helm values");
            assert.ok(!plainOutputs.includes(s), "stack outputs");
        }
        assert.ok(secretOutputs.includes("canaryHeader") && String(outputs.canaryHeader).endsWith(HEADER_VALUE), "testers read the header as a secret output");
        assert.match(values, /api_url_file/);
        assert.match(values, /routing_key_file/);
        assert.match(values, /"existingSecret":"grafana-admin"/);
    });

    it("without receivers there is no receivers Secret and a generated Grafana password", async () => {
        const { resources } = await runProgram({ stack: "dev" });
        assert.throws(() => byName(resources, "monitoring-receivers"));
        const password = byName(resources, "monitoring-grafana-password");
        assert.strictEqual(password.inputs.length, 24);
        assert.ok(isSecretEnvelope(byName(resources, "monitoring-grafana-admin").wireInputs.stringData));
    });

    it("a bad secret value is reported without its value", async () => {
        const { error, resources } = await runProgram({ stack: "dev", config: { pagerdutyRoutingKey: "hunter2" }, secretKeys: ["pagerdutyRoutingKey"], previous: null });
        assert.match(error?.message ?? "", /canary:pagerdutyRoutingKey = \[secret\]: must be a 32-character PagerDuty Events API v2 integration key/);
        assert.ok(!(error?.message ?? "").includes("hunter2"));
        assert.deepStrictEqual(resources, []);
    });
});
